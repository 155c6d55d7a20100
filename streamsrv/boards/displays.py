"""Display tokens: a wallboard TV cannot log in, so its URL carries a signed, revocable token.

A token names its display and the display's version. Revoking sets ``revoked_at`` (and bumps
the version), after which the token no longer authenticates anything, and a broadcast closes the
screen's live socket on every node (``streamsrv.revocation``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from streamsrv import stream_names
from streamsrv.access import DISPLAY_ROLE
from streamsrv.auth import Identity
from streamsrv.models import Display
from streamsrv.security.tokens import DISPLAY, TokenError

if TYPE_CHECKING:
    from streamsrv.context import AppContext

PREFIX = "d."
# Display tokens do not expire by age (a TV runs for months); they end by revocation.
MAX_AGE = 10 * 365 * 24 * 3600


def board_stream(display: Display) -> str:
    return stream_names.board(display.scope, display.target_id)  # type: ignore[arg-type]


def issue_token(ctx: AppContext, display: Display) -> str:
    return PREFIX + ctx.signer.dumps(DISPLAY, {"o": display.org_id, "d": display.id, "v": display.version})


def load_display(ctx: AppContext, session: Session, token: str) -> Display | None:
    """The live display a token names, or None (forged, revoked, reissued)."""
    if not token.startswith(PREFIX):
        return None
    try:
        payload: Any = ctx.signer.loads(DISPLAY, token[len(PREFIX) :], max_age=MAX_AGE)
    except TokenError:
        return None
    if not isinstance(payload, dict):
        return None
    display = session.get(Display, payload.get("d"))
    if display is None or display.revoked_at is not None:
        return None
    if display.org_id != payload.get("o") or display.version != payload.get("v"):
        return None
    return display


def display_identity(display: Display) -> Identity:
    assert display.id is not None
    return Identity(
        org_id=display.org_id,
        role=DISPLAY_ROLE,
        scopes=frozenset({"streams"}),
        name=display.name,
        via="display",
        streams=frozenset({board_stream(display)}),
        display_id=display.id,
    )


async def identity_from_display_token(ctx: AppContext, token: str) -> Identity | None:
    def load(session: Session) -> Identity | None:
        display = load_display(ctx, session, token)
        return display_identity(display) if display is not None else None

    return await ctx.db.run(load)


def display_url(ctx: AppContext, display: Display) -> str:
    """The TV's address; tokens are deterministic from (id, version), so it can be shown again."""
    return f"{ctx.settings.public_url}/wallboard/display/{display.id}?token={issue_token(ctx, display)}"
