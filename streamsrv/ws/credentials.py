"""Who is connecting: a ``?token=`` stream token, a Bearer API key, or a session cookie.

A browser sends its cookies on a websocket opened by any site, so a cookie is only accepted from
the product's own origin (``streamsrv.security.origin``: scheme, host and port); clients without
an ``Origin`` are not browsers and are not affected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session
from starlette.websockets import WebSocket

from streamsrv.auth import (
    KEY_CACHE,
    SESSION_COOKIE,
    Identity,
    key_identity,
    lookup_api_key,
    session_identity,
)
from streamsrv.security import origin as origins
from streamsrv.stream_tokens import identity_from_token

if TYPE_CHECKING:
    from streamsrv.context import AppContext


def cookie_from_foreign_origin(websocket: WebSocket, public_url: str) -> bool:
    """A session cookie (and no stream token) sent from another origin: refused with 4403."""
    if not websocket.cookies.get(SESSION_COOKIE) or websocket.query_params.get("token"):
        return False
    origin = websocket.headers.get("origin")
    if origin is None:
        return False
    return not origins.is_own(websocket, origin, public_url)


async def authenticate_ws(ctx: AppContext, websocket: WebSocket) -> Identity | None:
    token = websocket.query_params.get("token")
    header = websocket.headers.get("authorization", "")
    cookie = websocket.cookies.get(SESSION_COOKIE)
    if token:
        return await identity_from_token(ctx, token)
    if header.lower().startswith("bearer "):
        key_text = header[7:].strip()
        identity = KEY_CACHE.get(key_text)
        if identity is None:

            def by_key(session: Session) -> Identity | None:
                key = lookup_api_key(session, key_text)
                return key_identity(key) if key is not None else None

            identity = await ctx.db.run(by_key)
            if identity is not None:
                KEY_CACHE.put(key_text, identity)
        return identity if identity is not None and identity.has("streams") else None
    if cookie:

        def by_cookie(session: Session) -> Identity | None:
            return session_identity(ctx, session, cookie)

        return await ctx.db.run(by_cookie)
    return None
