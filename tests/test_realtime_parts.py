"""Small real-time building blocks in-process: backoff, the TTL cache, the rate limiter, and
the fast path's configuration and startup log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from streamsrv import cache
from streamsrv.auth import KEY_CACHE, Identity
from streamsrv.backoff import Backoff
from streamsrv.cache import TTLCache
from streamsrv.config import Settings
from streamsrv.revocation import forget_cached
from streamsrv.ws import ratelimit
from streamsrv.ws.fastpath import FastPath
from streamsrv.ws.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(cache.time, "monotonic", fake)
    return fake


# backoff ---------------------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap_within_its_jitter() -> None:
    backoff = Backoff(first=0.05, cap=2.0, jitter=0.2)
    bases = [0.05 * 2**i for i in range(8)]
    for base in bases:
        delay = backoff.next()
        expected = min(base, 2.0)
        assert expected * 0.8 <= delay < expected * 1.2
    backoff.reset()
    assert 0.04 <= backoff.next() < 0.06


def test_backoff_jitter_spreads_clients() -> None:
    delays = {Backoff(first=1.0, cap=5.0, jitter=0.5).next() for _ in range(50)}
    assert len(delays) > 40
    assert all(0.5 <= d < 1.5 for d in delays)


# TTL cache -------------------------------------------------------------------------------------


def test_ttl_cache_expires_entries(clock: Clock) -> None:
    ttl: TTLCache[str, int] = TTLCache(ttl=5.0, size=10)
    missing = object()
    ttl.put("a", 1)
    assert ttl.get("a") == 1
    clock.now += 4.9
    assert ttl.get("a") == 1
    clock.now += 0.2
    assert ttl.get("a") is None
    assert ttl.get("a", missing) is missing
    assert len(ttl) == 0  # an expired entry is dropped when met


def test_ttl_cache_starts_over_when_full(clock: Clock) -> None:
    ttl: TTLCache[int, int] = TTLCache(ttl=5.0, size=3)
    for i in range(3):
        ttl.put(i, i)
    ttl.put(3, 3)
    assert len(ttl) == 1 and ttl.get(3) == 3 and ttl.get(0) is None


def test_ttl_cache_discard_where() -> None:
    ttl: TTLCache[str, int] = TTLCache()
    for key, value in (("a", 1), ("b", 2), ("c", 1)):
        ttl.put(key, value)
    ttl.discard_where(lambda v: v == 1)
    assert (ttl.get("a"), ttl.get("b"), ttl.get("c")) == (None, 2, None)


def test_revocation_forgets_a_cached_api_key() -> None:
    identity = Identity(org_id=1, role="service", scopes=frozenset({"streams"}), api_key_id=77)
    other = Identity(org_id=1, role="service", scopes=frozenset({"streams"}), api_key_id=78)
    KEY_CACHE.put("ssk_test_revoked", identity)
    KEY_CACHE.put("ssk_test_kept", other)
    assert KEY_CACHE.get("ssk_test_revoked") == identity
    forget_cached("apikey:77")
    assert KEY_CACHE.get("ssk_test_revoked") is None
    assert KEY_CACHE.get("ssk_test_kept") == other
    forget_cached("user:78")  # not an API key: the cache is untouched
    assert KEY_CACHE.get("ssk_test_kept") == other


# rate limiter ----------------------------------------------------------------------------------


def test_rate_limiter_allows_a_burst_then_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = Clock()
    monkeypatch.setattr(ratelimit.time, "monotonic", fake)
    limiter = RateLimiter(burst=40, rate=20)
    assert all(limiter.allow() for _ in range(40))
    assert not limiter.allow()
    assert limiter.dropped == 1
    fake.now += 0.5  # 10 tokens
    assert sum(limiter.allow() for _ in range(20)) == 10
    assert limiter.dropped == 11


# fast path -------------------------------------------------------------------------------------


def test_fast_path_setting_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STREAMSRV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("STREAMSRV_SECRET_KEY", "x" * 32)
    monkeypatch.delenv("STREAMSRV_WS_FASTPATH", raising=False)
    assert Settings.from_env().ws_fastpath == "auto"
    monkeypatch.setenv("STREAMSRV_WS_FASTPATH", "off")
    assert Settings.from_env().ws_fastpath == "off"


def test_fast_path_mode_is_checked() -> None:
    with pytest.raises(ValueError, match="auto or off"):
        FastPath("on")


def test_fast_path_off_is_logged_once_at_startup(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="streamsrv.ws.fastpath")
    FastPath("off").log_startup()
    FastPath("auto").log_startup()  # auto is only known on the first connection
    messages = [r.getMessage() for r in caplog.records if r.name == "streamsrv.ws.fastpath"]
    assert messages == ["websocket fast path: off: plain ASGI sends (ws_fastpath=off)"]


def test_cli_passes_the_fast_path_choice_on() -> None:
    from streamsrv.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["serve"]).ws_fastpath is None
    assert parser.parse_args(["serve", "--ws-fastpath", "off"]).ws_fastpath == "off"
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--ws-fastpath", "fast"])
