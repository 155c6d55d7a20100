"""Whether a connection may subscribe to a stream, decided server-side per ``sub``.

The decision itself is ``streamsrv.stream_auth.may_subscribe``; this module gathers its inputs
(the identity's reach, the stream's owner) with as few database round trips as possible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from streamsrv.auth import Identity
from streamsrv.cache import TTLCache
from streamsrv.protocol import StreamRef
from streamsrv.stream_auth import Owner, Reach, may_subscribe, resolve_owner, resolve_reach

if TYPE_CHECKING:
    from streamsrv.context import AppContext

MISSING: Any = object()


class AuthzCache:
    """A few seconds of memory for authorisation lookups, so that thousands of clients
    reconnecting at once (a node restart, a network blip) do not each cost database round trips.

    A change of a user's or key's own scope closes their sockets
    (``streamsrv.revocation.drop_credential``); a change of where a stream's subject sits (an
    agent moved) clears the organization's entries on every node
    (``streamsrv.revocation.reach_changed``) and re-checks its open subscriptions. One per
    application, beside the database its answers come from.
    """

    __slots__ = ("owners", "reaches")

    def __init__(self) -> None:
        self.owners: TTLCache[tuple[int, str], Owner] = TTLCache()
        self.reaches: TTLCache[Identity, Reach] = TTLCache()

    def forget_org(self, org_id: int) -> None:
        self.owners.discard_keys(lambda key: key[0] == org_id)
        self.reaches.discard_keys(lambda identity: identity.org_id == org_id)


class Authoriser:
    """One connection's answers, remembered for the connection's life on top of the caches."""

    __slots__ = ("_owners", "_reach", "cache", "ctx", "identity")

    def __init__(self, ctx: AppContext, identity: Identity) -> None:
        self.ctx = ctx
        self.cache: AuthzCache = ctx.services["authz"]
        self.identity = identity
        self._reach: Reach | None = None
        self._owners: dict[str, Owner | None] = {}

    def forget(self) -> None:
        """Ask again from now on: the organization changed."""
        self._reach = None
        self._owners = {}

    async def allows(self, ref: StreamRef) -> bool:
        identity, cache = self.identity, self.cache
        if self._reach is None:
            self._reach = cache.reaches.get(identity)
        if ref.name not in self._owners:
            self._owners[ref.name] = cache.owners.get((identity.org_id, ref.name), MISSING)
        if self._owners[ref.name] is MISSING or self._reach is None:

            def load(session: Session) -> tuple[Reach, Owner | None]:
                reach = self._reach or resolve_reach(session, identity)
                return reach, resolve_owner(session, identity.org_id, ref)

            reach, owner = await self.ctx.db.run(load)
            self._reach = reach
            self._owners[ref.name] = owner
            cache.reaches.put(identity, reach)
            if owner is not None:
                # Refusals are not remembered: a stream may come into existence any moment.
                cache.owners.put((identity.org_id, ref.name), owner)
        owner = self._owners[ref.name]
        reach = self._reach
        return owner is not None and reach is not None and may_subscribe(identity, reach, ref, owner)
