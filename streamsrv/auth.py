"""Who is calling, and what they may see.

An ``Identity`` is resolved once per request or websocket from a Bearer API key, a session
cookie (a login session kept on the server: ``streamsrv.logins``), or (for streams) a signed
stream token. Every query narrows by ``org_id`` and, through the role table in
``streamsrv.access``, by the caller's accounts, teams or agent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from streamsrv import access, logins
from streamsrv.access import SERVICE_ROLE
from streamsrv.cache import TTLCache
from streamsrv.errors import ApiError
from streamsrv.models import ApiKey, Role, User, utcnow
from streamsrv.security import apikeys
from streamsrv.security import csrf as csrf_mod

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from streamsrv.context import AppContext

SESSION_COOKIE = "streamsrv_session"

# What each user role may do through the API, in API-key scope terms.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    Role.admin: frozenset(apikeys.SCOPES),
    Role.manager: frozenset({"read", "streams"}),
    Role.client_viewer: frozenset({"read", "streams"}),
    Role.team_leader: frozenset({"read", "streams"}),
    Role.recovery: frozenset({"read", "streams"}),
    Role.agent: frozenset({"read", "streams"}),
}


@dataclass(frozen=True)
class Identity:
    org_id: int
    role: str
    scopes: frozenset[str]
    user_id: int | None = None
    api_key_id: int | None = None
    name: str = ""
    # Empty account_ids for admin (or an unrestricted API key) means every account of the org.
    account_ids: frozenset[int] = field(default_factory=frozenset)
    team_ids: frozenset[int] = field(default_factory=frozenset)
    agent_id: int | None = None
    via: str = "apikey"  # "apikey" | "session" | "stream_token" | "display"
    # Set for stream and display tokens: the only streams this identity may subscribe to.
    streams: frozenset[str] | None = None
    display_id: int | None = None
    # The login session a user identity stands on (cookie, or a stream token it issued).
    session_id: int | None = None

    @property
    def credentials(self) -> tuple[str, ...]:
        """What revoking would take away: live sockets are dropped by any of these names."""
        if self.display_id is not None:
            return (f"display:{self.display_id}",)
        if self.user_id is not None:
            if self.session_id is not None:
                return (f"user:{self.user_id}", f"session:{self.session_id}")
            return (f"user:{self.user_id}",)
        return (f"apikey:{self.api_key_id}",)

    @property
    def org_wide(self) -> bool:
        return access.org_wide(self)

    def has(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    def require(self, scope: str) -> None:
        if not self.has(scope):
            raise ApiError(403, f"this credential lacks the '{scope}' scope", code="forbidden")

    def require_admin(self) -> None:
        if self.role != Role.admin:
            raise ApiError(403, "only administrators may do this", code="forbidden")

    def sees_account(self, account_id: int) -> bool:
        return access.sees_account(self, account_id)


def user_identity(user: User, session_id: int | None = None) -> Identity:
    return Identity(
        org_id=user.org_id,
        role=user.role,
        scopes=ROLE_SCOPES.get(user.role, frozenset()),
        user_id=user.id,
        name=user.name or user.email,
        account_ids=frozenset(user.account_ids or ()),
        team_ids=frozenset(user.team_ids or ()),
        agent_id=user.agent_id,
        via="session",
        session_id=session_id,
    )


def key_identity(key: ApiKey) -> Identity:
    scopes = frozenset(key.scopes)
    return Identity(
        org_id=key.org_id,
        role=Role.admin if "admin" in scopes else SERVICE_ROLE,
        scopes=scopes,
        api_key_id=key.id,
        name=key.name,
        account_ids=frozenset(key.account_ids or ()),
        via="apikey",
    )


def lookup_api_key(session: Session, plaintext: str) -> ApiKey | None:
    prefix = apikeys.split(plaintext)
    if prefix is None:
        return None
    key = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if key is None or key.revoked_at is not None or not apikeys.matches(plaintext, key.key_hash):
        return None
    now = utcnow()
    # Recording every use would turn each read into a write; once a minute is enough to audit.
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        key.last_used_at = now
        session.add(key)
    return key


def session_login(ctx: AppContext, session: Session, cookie: str | None) -> logins.Login | None:
    """The user and login session of a session cookie, or None."""
    return logins.resolve(session, ctx.signer, cookie, ctx.settings.session_max_age)


def session_identity(ctx: AppContext, session: Session, cookie: str | None) -> Identity | None:
    login = session_login(ctx, session, cookie)
    return user_identity(login.user, login.session_id) if login is not None else None


def session_user(ctx: AppContext, session: Session, cookie: str | None) -> User | None:
    login = session_login(ctx, session, cookie)
    return login.user if login is not None else None


def make_session_cookie(ctx: AppContext, user: User) -> str:
    """Open a login session for ``user`` in a transaction of its own; the cookie's value.

    Blocking: for scripts and tests. Request handlers open sessions inside their own transaction
    with ``streamsrv.logins.open_session``.
    """
    with ctx.db.session() as session:
        return logins.open_session(session, ctx.signer, user, ctx.settings.session_max_age)


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(401, "Authorization header must be 'Bearer <api key>'")
    return value.strip()


class KeyCache:
    """API-key identities for a few seconds, so a busy integration does not cost a database
    round trip per call. Revoking a key clears it here at once and, through the control
    broadcast (``streamsrv.revocation.drop_credential``), on every other node. Entries are
    keyed by the key's hash: plaintext keys are not kept in memory."""

    TTL = 5.0
    MAX = 10_000

    def __init__(self) -> None:
        self._cache: TTLCache[str, Identity] = TTLCache(ttl=self.TTL, size=self.MAX)

    def get(self, key_text: str) -> Identity | None:
        return self._cache.get(apikeys.hash_key(key_text))

    def put(self, key_text: str, identity: Identity) -> None:
        self._cache.put(apikeys.hash_key(key_text), identity)

    def forget_key(self, api_key_id: int) -> None:
        self._cache.discard_where(lambda identity: identity.api_key_id == api_key_id)


KEY_CACHE = KeyCache()


async def authenticate(conn: HTTPConnection) -> Identity:
    """Resolve the caller of an API request, or raise 401."""
    ctx: AppContext = conn.app.state.ctx
    key_text = _bearer(conn)
    cookie = conn.cookies.get(SESSION_COOKIE)
    if key_text is None and cookie is None:
        raise ApiError(401, "authentication required: send 'Authorization: Bearer <api key>'")
    if key_text is not None and (cached := KEY_CACHE.get(key_text)) is not None:
        return cached

    def resolve(session: Session) -> Identity | None:
        if key_text is not None:
            key = lookup_api_key(session, key_text)
            return key_identity(key) if key else None
        return session_identity(ctx, session, cookie)

    identity = await ctx.db.run(resolve)
    if identity is None:
        raise ApiError(401, "invalid, revoked or expired credentials")
    if key_text is not None:
        KEY_CACHE.put(key_text, identity)
    if identity.via == "session" and conn.scope.get("method") not in ("GET", "HEAD", "OPTIONS"):
        # A browser carries the cookie on its own; demand proof the page itself sent this.
        if not csrf_mod.verify(conn, conn.headers.get(csrf_mod.HEADER)):
            raise ApiError(403, "missing or invalid CSRF token (X-CSRF-Token header)", code="csrf_failed")
    return identity
