"""Wallboard displays: named screens showing one team's or account's board, revocable.

Administrators (with the admin scope) manage the displays of their accounts; managers those of
their accounts' boards; team leaders those of their own teams' boards only (never an account
board). ``reaches`` is that rule for one board.

Revoking commits first (``revoked_at`` set, version bumped, so the token stops authenticating
anywhere); the caller then closes the screen's live socket (``streamsrv.revocation``).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from streamsrv import audit as audit_log
from streamsrv.access import Owner, in_scope
from streamsrv.auth import Identity
from streamsrv.boards.displays import display_url
from streamsrv.context import AppContext
from streamsrv.errors import ApiError, field_error, not_found
from streamsrv.models import Account, Display, Role, Team, utcnow
from streamsrv.org.common import require_writer
from streamsrv.org.schemas import DisplayCreate, DisplayOptions, DisplayOut
from streamsrv.timefmt import iso

# Users of these roles manage the displays of the boards in their own scope.
SCOPED_ROLES = frozenset({Role.manager, Role.team_leader})


def require_display_manager(identity: Identity) -> None:
    """Administrators with the admin scope; logged-in managers and team leaders (for their scope)."""
    if identity.role in SCOPED_ROLES and identity.user_id is not None:
        return
    if identity.role == Role.admin:
        require_writer(identity)
        return
    raise ApiError(403, "displays are managed by administrators, managers and team leaders", code="forbidden")


def reaches(identity: Identity, scope: str, target_id: int, account_id: int) -> bool:
    """Whether the board (``scope``, ``target_id``) of ``account_id`` is in the caller's scope."""
    team_id = target_id if scope == "team" else None
    if team_id is None and identity.role == Role.team_leader:
        return False
    return in_scope(identity, Owner(account_id, team_id))


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
    require_display_manager(identity)
    if body.scope == "account" and identity.role == Role.team_leader:
        raise field_error("scope", "team leaders create displays of their own teams' boards")
    target = target_account(session, identity.org_id, body.scope, body.target_id)
    if target is None or not reaches(identity, body.scope, body.target_id, target[0]):
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
    """The displays not revoked, of the boards in the caller's scope."""
    require_display_manager(identity)
    rows = session.exec(
        select(Display)
        .where(Display.org_id == identity.org_id, col(Display.revoked_at).is_(None))
        .order_by(col(Display.id))
    ).all()
    out = []
    for display in rows:
        target = target_account(session, identity.org_id, display.scope, display.target_id)
        if target is not None and reaches(identity, display.scope, display.target_id, target[0]):
            out.append(display_out(ctx, display, target[1]))
    return out


def revoke(session: Session, identity: Identity, display_id: int) -> None:
    require_display_manager(identity)
    display = session.get(Display, display_id)
    if display is None or display.org_id != identity.org_id or display.revoked_at is not None:
        raise not_found("display")
    target = target_account(session, identity.org_id, display.scope, display.target_id)
    if target is not None and not reaches(identity, display.scope, display.target_id, target[0]):
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
    require_display_manager(identity)
    target = target_account(session, identity.org_id, display.scope, display.target_id)
    if target is None or not reaches(identity, display.scope, display.target_id, target[0]):
        raise not_found("display")
    display.top_n = body.top_n
    display.below_top = body.below_top
    display.shoutout_pin_minutes = body.shoutout_pin_minutes
    session.add(display)
    session.flush()
    audit(session, identity, "display.updated", display)
    return display_out(ctx, display, target[1])


def board_choices(session: Session, identity: Identity) -> dict[str, list[tuple[int, str]]]:
    """The boards the caller may put on a screen: ``{"team": [(id, name)], "account": [...]}``."""
    require_display_manager(identity)
    accounts = session.exec(
        select(Account).where(Account.org_id == identity.org_id).order_by(col(Account.name))
    ).all()
    names = {a.id: a.name for a in accounts if a.id is not None}
    teams = session.exec(
        select(Team).where(Team.org_id == identity.org_id).order_by(col(Team.name), col(Team.id))
    ).all()
    return {
        "team": [
            (t.id, f"{t.name} ({names.get(t.account_id, '')})")
            for t in teams
            if t.id is not None and reaches(identity, "team", t.id, t.account_id)
        ],
        "account": [(i, n) for i, n in names.items() if i is not None and reaches(identity, "account", i, i)],
    }
