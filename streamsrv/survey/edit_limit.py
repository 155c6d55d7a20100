"""How often one survey link may write: a burst for a customer finding their words, then a few a minute.

Every answer is announced on live screens, so a link replayed in a loop would flood the streams
(and push real events out of their history). Counts live in Redis, shared by every server
process, keyed by a hash of the link token (no tokens in Redis), in moving windows that expire on
their own. If Redis is unreachable the answer is still taken: losing a customer's answer during a
Redis hiccup would be worse than a short unlimited window.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from streamsrv.errors import ApiError
from streamsrv.security.tokens import token_hash

if TYPE_CHECKING:
    from streamsrv.context import AppContext

log = logging.getLogger("streamsrv.survey")

# A first answer, the one-click star and a few second thoughts fit in the burst; after it a
# customer can still correct themselves every minute or so, and a script is capped per hour.
RATES: tuple[RateLimitItem, ...] = (RateLimitItemPerMinute(5), RateLimitItemPerHour(20))


class TooManyEdits(ApiError):
    """429 with the seconds to wait; the survey page shows it as a page, the API as JSON."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            f"too many changes to this answer; try again in {retry_after} seconds",
            code="rate_limited",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


@dataclass
class EditLimit:
    redis: Redis | None
    prefix: str
    rates: tuple[RateLimitItem, ...] = RATES
    _limiter: MovingWindowRateLimiter | None = field(default=None, init=False, repr=False)

    def limiter(self) -> MovingWindowRateLimiter | None:
        if self._limiter is None and self.redis is not None:
            # The application's pool: no second set of connections (the stub types options as scalars).
            shared: dict[str, Any] = {"connection_pool": self.redis.connection_pool}
            storage = RedisStorage(
                "async+redis://",
                implementation="redispy",
                key_prefix=f"{self.prefix}:survey-writes",
                **shared,
            )
            self._limiter = MovingWindowRateLimiter(storage)
        return self._limiter

    async def check(self, token: str) -> None:
        """Count one write through ``token``; raise ``TooManyEdits`` when over a rate."""
        limiter = self.limiter()
        if limiter is None:
            return
        key = token_hash(token)
        try:
            for rate in self.rates:
                if not await limiter.hit(rate, key):
                    stats = await limiter.get_window_stats(rate, key)
                    raise TooManyEdits(max(1, math.ceil(stats.reset_time - time.time())))
        except (RedisError, StorageError):
            log.warning("survey edit limit unavailable (Redis error); taking the answer", exc_info=True)


def edit_limit(ctx: AppContext) -> EditLimit:
    """The process's limit (its limiter keeps one Redis script registration)."""
    found = ctx.services.get("edit_limit")
    if not isinstance(found, EditLimit):
        found = ctx.services["edit_limit"] = EditLimit(ctx.redis, ctx.settings.redis_prefix)
    return found
