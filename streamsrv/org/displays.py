"""Wallboard displays: named screens showing one team's or account's board, revocable.

Revoking commits first (``revoked_at`` set, version bumped, so the token stops authenticating
anywhere); the caller then closes the screen's live socket (``streamsrv.revocation``).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from streamsrv import audit as audit_log
from streamsrv.auth import Identity
from streamsrv.boards.displays import display_url
from streamsrv.context import AppContext
from streamsrv.errors import field_error, not_found
from streamsrv.models import Account, Display, Team, utcnow
from streamsrv.org.schemas import DisplayCreate, DisplayOptions, DisplayOut
from streamsrv.timefmt import iso


def display_out(ctx: AppContext, display: Display, target_name: str) -> DisplayOut:
    assert display.id is not None
    return DisplayOut(
        id=display.id,
        name=display.name,
        scope=display.scope,
        target_id=display.target_id,
        target_name=target_name,
        url=display_url(ctx, display),
        created_at=iso(display.created_at),
        top_n=display.top_n,
        below_top=display.below_top,
        shoutout_pin_minutes=display.shoutout_pin_minutes,
    )


def target_account(session: Session, org_id: int, scope: str, target_id: int) -> tuple[int, str] | None:
    """(account id, name) of the board a display shows, or None when it is not in this org."""
    if scope == "team":
        team = session.get(Team, target_id)
        return (team.account_id, team.name) if team is not None and team.org_id == org_id else None
    account = session.get(Account, target_id)
    if account is None or account.org_id != org_id:
        return None
    assert account.id is not None
    return account.id, account.name


def audit(session: Session, identity: Identity, action: str, display: Display) -> None:
    audit_log.record(
        session,
        identity,
        action,
        f"display:{display.id}",
        {
            "name": display.name,
            "scope": display.scope,
            "target_id": display.target_id,
            "top_n": display.top_n,
            "below_top": display.below_top,
            "shoutout_pin_minutes": display.shoutout_pin_minutes,
        },
    )


def create(ctx: AppContext, session: Session, identity: Identity, body: DisplayCreate) -> DisplayOut:
    target = target_account(session, identity.org_id, body.scope, body.target_id)
    if target is None or not identity.sees_account(target[0]):
        raise field_error("target_id", f"no such {body.scope} in this organization")
    display = Display(
        org_id=identity.org_id,
        name=body.name,
        scope=body.scope,
        target_id=body.target_id,
        top_n=body.top_n,
        below_top=body.below_top,
        shoutout_pin_minutes=body.shoutout_pin_minutes,
        created_by=identity.user_id,
    )
    session.add(display)
    session.flush()
    audit(session, identity, "display.created", display)
    return display_out(ctx, display, target[1])


def live_displays(ctx: AppContext, session: Session, identity: Identity) -> list[DisplayOut]:
    """The displays not revoked, of the boards in the caller's accounts."""
    rows = session.exec(
        select(Display)
        .where(Display.org_id == identity.org_id, col(Display.revoked_at).is_(None))
        .order_by(col(Display.id))
    ).all()
    out = []
    for display in rows:
        target = target_account(session, identity.org_id, display.scope, display.target_id)
        if target is not None and identity.sees_account(target[0]):
            out.append(display_out(ctx, display, target[1]))
    return out


def revoke(session: Session, identity: Identity, display_id: int) -> None:
    display = session.get(Display, display_id)
    if display is None or display.org_id != identity.org_id or display.revoked_at is not None:
        raise not_found("display")
    target = target_account(session, identity.org_id, display.scope, display.target_id)
    if target is not None and not identity.sees_account(target[0]):
        raise not_found("display")
    display.revoked_at = utcnow()
    display.version += 1
    session.add(display)
    audit(session, identity, "display.revoked", display)


def update_options(
    ctx: AppContext, session: Session, identity: Identity, display_id: int, body: DisplayOptions
) -> DisplayOut:
    """Change what a live display shows; its URL and token stay the same (the screen picks the
    options up with its next snapshot, at the latest at the next period rotation)."""
    display = session.get(Display, display_id)
    if display is None or display.org_id != identity.org_id or display.revoked_at is not None:
        raise not_found("display")
    target = target_account(session, identity.org_id, display.scope, display.target_id)
    if target is None or not identity.sees_account(target[0]):
        raise not_found("display")
    display.top_n = body.top_n
    display.below_top = body.below_top
    display.shoutout_pin_minutes = body.shoutout_pin_minutes
    session.add(display)
    session.flush()
    audit(session, identity, "display.updated", display)
    return display_out(ctx, display, target[1])
