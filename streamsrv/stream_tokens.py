"""Stream tokens: signed, expiring grants to named streams, for embedding a live stream in a
helpdesk sidebar or on a TV without a login.

A token names its issuer (an API key, or a user and the login session they minted it from) and
the streams it grants. On use, the issuer is loaded again: a revoked key, a deactivated user, a
narrowed scope or the end of the issuing session (logout, "log out everywhere", a password
change) takes the grant down with it, so a token is never wider than its issuer is now.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from streamsrv import logins
from streamsrv.auth import Identity, key_identity, user_identity
from streamsrv.boards.displays import PREFIX as DISPLAY_PREFIX
from streamsrv.boards.displays import identity_from_display_token
from streamsrv.models import ApiKey, User
from streamsrv.security.tokens import STREAM, TokenError

if TYPE_CHECKING:
    from streamsrv.context import AppContext

MIN_TTL = 30


def issue(ctx: AppContext, identity: Identity, streams: list[str], ttl: int) -> tuple[str, int]:
    expires = int(time.time()) + ttl
    payload: dict[str, Any] = {"o": identity.org_id, "s": sorted(set(streams)), "exp": expires}
    if identity.user_id is not None:
        assert identity.session_id is not None, "a user mints stream tokens from a login session"
        payload["u"] = identity.user_id
        payload["sid"] = identity.session_id
    else:
        payload["k"] = identity.api_key_id
    return ctx.signer.dumps(STREAM, payload), expires


def _issuer(session: Session, payload: dict[str, Any]) -> Identity | None:
    org_id = payload.get("o")
    if "u" in payload:
        user = session.get(User, payload["u"])
        session_id = payload.get("sid")
        # Tokens minted before sessions were kept on the server name none: they cannot be tied
        # to one that still holds.
        if user is None or user.org_id != org_id or not isinstance(session_id, int):
            return None
        if not logins.still_open(session, session_id, user):
            return None
        return user_identity(user, session_id)
    key = session.get(ApiKey, payload.get("k"))
    if key is None or key.revoked_at is not None or key.org_id != org_id:
        return None
    return key_identity(key)


async def identity_from_token(ctx: AppContext, token: str) -> Identity | None:
    if token.startswith(DISPLAY_PREFIX):
        return await identity_from_display_token(ctx, token)
    try:
        payload = ctx.signer.loads(STREAM, token, max_age=ctx.settings.stream_token_max_ttl + 60)
    except TokenError:
        return None
    if not isinstance(payload, dict) or int(payload.get("exp", 0)) < time.time():
        return None
    issuer = await ctx.db.run(lambda session: _issuer(session, payload))
    if issuer is None or not issuer.has("streams"):
        return None
    return Identity(
        org_id=issuer.org_id,
        role=issuer.role,
        scopes=frozenset({"streams"}),
        user_id=issuer.user_id,
        api_key_id=issuer.api_key_id,
        name=issuer.name,
        account_ids=issuer.account_ids,
        team_ids=issuer.team_ids,
        agent_id=issuer.agent_id,
        via="stream_token",
        streams=frozenset(payload.get("s", ())),
        session_id=issuer.session_id,
    )
