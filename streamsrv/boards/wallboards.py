"""What the wallboard pages show: the boards a user may open, what an administrator may put on
a screen, and the board behind a display's URL.

Board access follows the stream rules (``streamsrv.boards.board.authorize_board``), so a page
and its live stream never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from streamsrv.access import accounts_clause, teams_clause, visible
from streamsrv.auth import Identity
from streamsrv.boards import board
from streamsrv.boards.displays import load_display
from streamsrv.boards.stats import BoardScope
from streamsrv.context import AppContext
from streamsrv.models import Account, Team


@dataclass(frozen=True)
class BoardLink:
    href: str
    title: str
    kind: str


def board_links(session: Session, identity: Identity) -> list[BoardLink]:
    """Boards in this scope: the boards of the accounts and teams it reaches."""
    accounts = visible(
        select(Account).where(Account.org_id == identity.org_id), accounts_clause(identity)
    ).order_by(col(Account.name))
    teams = visible(select(Team).where(Team.org_id == identity.org_id), teams_clause(identity)).order_by(
        col(Team.name)
    )
    links = [BoardLink(f"/wallboard/account/{a.id}", a.name, "Account") for a in session.exec(accounts)]
    links += [BoardLink(f"/wallboard/team/{t.id}", t.name, "Team") for t in session.exec(teams)]
    return links


def board_targets(session: Session, identity: Identity) -> dict[str, list[dict[str, Any]]]:
    """What an administrator may put on a screen (for the "new display" form)."""
    accounts = session.exec(
        select(Account).where(Account.org_id == identity.org_id).order_by(col(Account.name))
    ).all()
    accounts = [a for a in accounts if a.id is not None and identity.sees_account(a.id)]
    names = {a.id: a.name for a in accounts}
    teams = session.exec(
        select(Team)
        .where(Team.org_id == identity.org_id, col(Team.account_id).in_(list(names)))
        .order_by(col(Team.name))
    ).all()
    return {
        "accounts": [{"id": a.id, "name": a.name} for a in accounts],
        "teams": [{"id": t.id, "name": f"{t.name} ({names[t.account_id]})"} for t in teams],
    }


def open_board(session: Session, identity: Identity, scope: BoardScope, target_id: int) -> str:
    """The board's title; 404 or 403 (``ApiError``) when it is missing or outside the scope."""
    board.authorize_board(session, identity, scope, target_id)
    return board.board_title(session, identity.org_id, scope, target_id)[0]


@dataclass(frozen=True)
class DisplayedBoard:
    scope: BoardScope
    target_id: int
    title: str


def displayed_board(ctx: AppContext, session: Session, token: str, display_id: int) -> DisplayedBoard | None:
    """The board a display URL shows, or None when the token is not this live display's."""
    display = load_display(ctx, session, token) if 0 < len(token) <= 500 else None
    if display is None or display.id != display_id:
        return None
    scope: BoardScope = "team" if display.scope == "team" else "account"
    title = board.board_title(session, display.org_id, scope, display.target_id)[0]
    return DisplayedBoard(scope, display.target_id, title)
