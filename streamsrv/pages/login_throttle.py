"""Slows down password guessing: after too many failures for one email, logins wait it out.

Counts live in Redis so every server process shares them, keyed by a hash of the email (no
addresses in Redis) and expiring on their own. If Redis is unreachable the login still works:
locking everybody out during a Redis hiccup would be worse than a short unthrottled window.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("streamsrv.login")

MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True)
class LoginThrottle:
    redis: Redis | None
    prefix: str
    max_failures: int = MAX_FAILURES
    window: int = WINDOW_SECONDS

    def _key(self, email: str) -> str:
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return f"{self.prefix}:login-failures:{digest}"

    async def blocked_for(self, email: str) -> int:
        """Seconds until this email may try again; 0 when it may try now."""
        if self.redis is None:
            return 0
        key = self._key(email)
        try:
            count = await self.redis.get(key)
            if count is None or int(count) < self.max_failures:
                return 0
            ttl = int(await self.redis.ttl(key))
        except RedisError:
            log.warning("login throttle unavailable (Redis error); allowing the attempt", exc_info=True)
            return 0
        return ttl if ttl > 0 else self.window

    async def record_failure(self, email: str) -> None:
        if self.redis is None:
            return
        key = self._key(email)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                # The window starts at the first failure and is not extended by later ones.
                # (SET NX EX then INCR rather than EXPIRE NX: that needs Redis 7.)
                pipe.set(key, 0, ex=self.window, nx=True)
                pipe.incr(key)
                await pipe.execute()
        except RedisError:
            log.warning("could not record a failed login in Redis", exc_info=True)

    async def reset(self, email: str) -> None:
        if self.redis is None:
            return
        try:
            await self.redis.delete(self._key(email))
        except RedisError:
            log.warning("could not reset the login throttle in Redis", exc_info=True)
