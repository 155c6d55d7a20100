"""A board snapshot: standings for one team or account and period, plus the praise ticker.

Who may read a board follows the stream rules (``streamsrv.stream_auth``): whoever may
subscribe to ``board:team:{id}`` / ``board:account:{id}`` may load its snapshot, so the page and
its live stream can never disagree about access.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from streamsrv import stream_names
from streamsrv.auth import Identity
from streamsrv.boards.displays import load_display
from streamsrv.boards.scoring import board_mean, rank
from streamsrv.boards.standings import HIGHLIGHT_RATING, first_name
from streamsrv.boards.stats import BoardScope, board_totals
from streamsrv.errors import ApiError, not_found
from streamsrv.models import Account, Agent, Display, Response, Shoutout, Team, User
from streamsrv.periods import Period, period_bounds, zone
from streamsrv.stream_auth import may_subscribe, resolve_owner, resolve_reach
from streamsrv.stream_names import StreamRef
from streamsrv.timefmt import iso

if TYPE_CHECKING:
    from streamsrv.context import AppContext

TICKER_SIZE = 12
# The ticker looks back a week at most: praise from last month is not news on the floor.
TICKER_WINDOW = timedelta(days=7)
# A new shout-out stays pinned at the front of the ticker this long, unless a display says
# otherwise (``Display.shoutout_pin_minutes``): newer comments no longer push it out.
DEFAULT_PIN_MINUTES = 10


def authorize_board(session: Session, identity: Identity, scope: BoardScope, target_id: int) -> None:
    """404 for a board outside the org, 403 for one the identity may not watch."""
    ref = StreamRef(name=stream_names.board(scope, target_id), kind=f"board:{scope}", id=target_id)
    owner = resolve_owner(session, identity.org_id, ref)
    if owner is None:
        raise not_found(scope)
    if not may_subscribe(identity, resolve_reach(session, identity), ref, owner):
        raise ApiError(403, f"this {scope} board is outside your scope", code="forbidden")


def board_title(session: Session, org_id: int, scope: BoardScope, target_id: int) -> tuple[str, Account]:
    if scope == "team":
        team = session.get(Team, target_id)
        if team is None or team.org_id != org_id:
            raise not_found("team")
        account = session.get(Account, team.account_id)
        assert account is not None
        return team.name, account
    account = session.get(Account, target_id)
    if account is None or account.org_id != org_id:
        raise not_found("account")
    return account.name, account


def ticker(
    session: Session,
    org_id: int,
    scope: BoardScope,
    target_id: int,
    now: datetime,
    pin_minutes: int = DEFAULT_PIN_MINUTES,
) -> list[dict[str, Any]]:
    """Recent 5-star comments and shout-outs, newest first, plus every shout-out still pinned
    (posted less than ``pin_minutes`` ago) even when a dozen newer items came after it.
    Nothing negative ever lands here."""
    since = now - TICKER_WINDOW
    response_col = col(Response.team_id) if scope == "team" else col(Response.account_id)
    praise = session.exec(
        select(Response, Agent.name)
        .join(Agent, col(Agent.id) == col(Response.agent_id))
        .where(
            response_col == target_id,
            Response.org_id == org_id,
            col(Response.created_at) >= since,
            Response.rating == HIGHLIGHT_RATING,
            Response.comment != "",
            col(Response.comment_hidden).is_(False),
        )
        .order_by(col(Response.created_at).desc())
        .limit(TICKER_SIZE)
    ).all()
    items: list[dict[str, Any]] = [
        {
            "kind": "comment",
            "response_id": r.id,
            "agent_id": r.agent_id,
            "agent_name": first_name(name),
            "comment": r.comment,
            "at": iso(r.created_at),
        }
        for r, name in praise
    ]
    shout_col = col(Shoutout.team_id) if scope == "team" else col(Shoutout.account_id)
    shouts = session.exec(
        select(Shoutout, Agent.name, User.name)
        .join(Agent, col(Agent.id) == col(Shoutout.agent_id))
        .join(User, col(User.id) == col(Shoutout.author_id))
        .where(shout_col == target_id, Shoutout.org_id == org_id, col(Shoutout.created_at) >= since)
        .order_by(col(Shoutout.created_at).desc())
        .limit(TICKER_SIZE)
    ).all()
    items.extend(
        {
            "kind": "shoutout",
            "shoutout_id": s.id,
            "agent_id": s.agent_id,
            "agent_name": first_name(agent_name),
            "message": s.message,
            "author": first_name(author or ""),
            "at": iso(s.created_at),
        }
        for s, agent_name, author in shouts
    )
    items.sort(key=lambda i: str(i["at"]), reverse=True)
    pinned_since = iso(now - timedelta(minutes=pin_minutes))
    latest = items[:TICKER_SIZE]
    pinned = [
        i
        for i in items[TICKER_SIZE:]
        if i["kind"] == "shoutout" and pin_minutes and str(i["at"]) >= pinned_since
    ]
    return latest + pinned


def snapshot(
    session: Session,
    org_id: int,
    scope: BoardScope,
    target_id: int,
    period: Period,
    now: datetime,
    display: Display | None = None,
) -> dict[str, Any]:
    title, account = board_title(session, org_id, scope, target_id)
    tz = zone(account.time_zone)
    start, end = period_bounds(period, now, tz)
    totals = board_totals(session, org_id, scope, target_id, start)
    standings = rank(totals, account.leaderboard_min_responses)
    pin = display.shoutout_pin_minutes if display is not None else DEFAULT_PIN_MINUTES
    body = {
        "scope": scope,
        "target_id": target_id,
        "name": title,
        "account_id": account.id,
        "period": period,
        "period_start": iso(start),
        "period_end": iso(end),
        "time_zone": tz.key,
        "min_responses": account.leaderboard_min_responses,
        "mean": round(float(board_mean(totals)), 4),
        "stream": stream_names.board(scope, target_id),
        "standings": [asdict(s) for s in standings if s.rank is not None],
        "not_ranked": [asdict(s) for s in standings if s.rank is None],
        "ticker": ticker(session, org_id, scope, target_id, now, pin),
        "options": {"top_n": None, "below_top": "hidden", "shoutout_pin_minutes": pin},
    }
    if display is not None:
        body = with_display_options(body, display)
    return body


def with_display_options(body: dict[str, Any], display: Display) -> dict[str, Any]:
    """A display's privacy options applied before anything leaves the server: below the top
    ``top_n`` ranks (and in the not-ranked-yet list) agents are sent without name and photo, so
    the screen can show rank and score only ("anonymous") or leave them out ("hidden"). Their
    numbers stay, so that the screen still ranks live events exactly as the server does."""
    options = {
        "top_n": display.top_n,
        "below_top": display.below_top,
        "shoutout_pin_minutes": display.shoutout_pin_minutes,
    }
    out = {**body, "options": options}
    if display.top_n is None:
        return out
    top_n = display.top_n

    def private(standing: dict[str, Any]) -> dict[str, Any]:
        return {**standing, "name": "", "photo": None}

    out["standings"] = [s if s["rank"] <= top_n else private(s) for s in body["standings"]]
    out["not_ranked"] = [private(s) for s in body["not_ranked"]]
    return out


def member_snapshot(
    session: Session, identity: Identity, scope: BoardScope, target_id: int, period: Period, now: datetime
) -> dict[str, Any]:
    """The snapshot for a user or API key whose scope covers the board."""
    authorize_board(session, identity, scope, target_id)
    return snapshot(session, identity.org_id, scope, target_id, period, now)


def display_snapshot(
    ctx: AppContext,
    session: Session,
    token: str,
    scope: BoardScope,
    target_id: int,
    period: Period,
    now: datetime,
) -> dict[str, Any]:
    """The snapshot for the display token of a wallboard showing exactly this board."""
    display = load_display(ctx, session, token)
    if display is None:
        raise ApiError(401, "this display token is invalid or has been revoked", code="unauthorized")
    if display.scope != scope or display.target_id != target_id:
        raise ApiError(403, "this display shows another board", code="forbidden")
    return snapshot(session, display.org_id, scope, target_id, period, now, display)
