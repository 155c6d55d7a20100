"""Slows down password guessing without handing anyone a way to lock a user out.

Every login attempt takes a place in up to three Redis counters *before* its password is
checked, in one Lua script: either it fits under every limit and counts in all of them, or it is
refused (429) and counts nowhere. Concurrent guesses therefore cannot all slip past a check made
before the slow hash: at most the limit are ever checked. The counters, each over a window that
starts with its first attempt (15 minutes by default):

- ``client``: the pair (client address, email), 10 attempts. The familiar lockout, but it stops
  only the client that failed, not the owner of the email elsewhere.
- ``address``: one client address, 100 attempts across all emails: guessing many accounts, and
  the hashing it costs, from one place. IPv6 addresses count by their /64, which one customer
  usually holds whole.
- ``email``: one email from all addresses together, 50 attempts: guessing one account from many
  addresses.

A browser that logged in with this email before carries a signed device cookie; its attempts
count on that device only (``device``, 10 attempts) and none of the three above, so an attacker
flooding the email from anywhere else cannot keep its owner out of a known device. A login that
succeeds gives its place back to the shared counters and clears its own.

Keys are HMACs of email and address under the server's secret, so Redis holds neither. If Redis
is unreachable the login still works: locking everybody out during a Redis hiccup would be worse
than a short unthrottled window, and the bounded hasher still caps what a flood costs.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from streamsrv import metrics

log = logging.getLogger("streamsrv.login")

WINDOW_SECONDS = 15 * 60
MAX_PER_CLIENT = 10
MAX_PER_ADDRESS = 100
MAX_PER_EMAIL = 50

# KEYS: the counters; ARGV[1]: the window in seconds, ARGV[1 + i]: the limit of KEYS[i].
# Returns {0, 0} when the attempt was counted everywhere, else {i, ttl} of the first full one.
_RESERVE = """
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[i + 1]) then
    return {i, redis.call('TTL', KEYS[i])}
  end
end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 then
    redis.call('EXPIRE', KEYS[i], ARGV[1])
  end
end
return {0, 0}
"""

# KEYS: counters to give one place back to (never below zero, never re-created without a TTL);
# ARGV[1]: how many of the first KEYS to delete outright instead.
_RELEASE = """
for i = 1, #KEYS do
  if i <= tonumber(ARGV[1]) then
    redis.call('DEL', KEYS[i])
  elseif tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then
    redis.call('DECR', KEYS[i])
  end
end
return 0
"""


@dataclass(frozen=True)
class Limits:
    per_client: int = MAX_PER_CLIENT
    per_address: int = MAX_PER_ADDRESS
    per_email: int = MAX_PER_EMAIL
    window: int = WINDOW_SECONDS


@dataclass(frozen=True)
class Attempt:
    """Places taken for one attempt: ``own`` is the client's or device's counter, cleared when
    the login succeeds; ``shared`` are the address and email counters, given one place back."""

    own: str | None = None
    shared: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refused:
    limit: str  # "client", "address", "email" or "device"
    retry_after: int


def address_group(host: str | None) -> str:
    """What counts as one client address: an IPv4 address, or the /64 around an IPv6 one."""
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class LoginThrottle:
    def __init__(self, redis: Redis | None, prefix: str, secret: str, limits: Limits | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.limits = limits or Limits()
        self._key = hmac.new(secret.encode(), b"streamsrv login throttle", hashlib.sha256).digest()

    def digest(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()[:32]

    def email_digest(self, email: str) -> str:
        return self.digest("email:" + email.strip().lower())

    def _counter(self, kind: str, *parts: str) -> str:
        return f"{self.prefix}:login:{kind}:{self.digest(chr(0).join((kind, *parts)))}"

    async def reserve(self, email: str, address: str | None, device: str | None = None) -> Attempt | Refused:
        """Count this attempt before its password is checked, or refuse it (nothing counted).

        ``device``: the id from a valid device cookie issued for this very email, else None.
        """
        if self.redis is None:
            return Attempt()
        email = email.strip().lower()
        limits = self.limits
        if device is not None:
            names = ["device"]
            keys = [self._counter("device", device)]
            caps = [limits.per_client]
        else:
            group = address_group(address)
            names = ["client", "address", "email"]
            keys = [
                self._counter("client", group, email),
                self._counter("address", group),
                self._counter("email", email),
            ]
            caps = [limits.per_client, limits.per_address, limits.per_email]
        try:
            full, ttl = await self.redis.eval(_RESERVE, len(keys), *keys, limits.window, *caps)  # type: ignore[misc]
        except RedisError:
            log.warning("login throttle unavailable (Redis error); allowing the attempt", exc_info=True)
            return Attempt()
        if full:
            limit = names[int(full) - 1]
            metrics.LOGINS_THROTTLED.labels(limit).inc()
            return Refused(limit, int(ttl) if int(ttl) > 0 else limits.window)
        return Attempt(own=keys[0], shared=tuple(keys[1:]))

    async def succeeded(self, attempt: Attempt) -> None:
        """The password was right: this client starts afresh, and the shared counts forget it."""
        await self._give_back(attempt, clear_own=True)

    async def cancel(self, attempt: Attempt) -> None:
        """No password was checked after all: every place goes back."""
        await self._give_back(attempt, clear_own=False)

    async def _give_back(self, attempt: Attempt, clear_own: bool) -> None:
        if self.redis is None or attempt.own is None:
            return
        keys = [attempt.own, *attempt.shared]
        try:
            await self.redis.eval(_RELEASE, len(keys), *keys, int(clear_own))  # type: ignore[misc]
        except RedisError:
            log.warning("could not give a login attempt back to the throttle in Redis", exc_info=True)
