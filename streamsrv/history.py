"""Redis layout of the streams: capped history (Redis Streams), epochs and pub/sub channels.

One Lua script appends a whole relay batch to every target stream's history and PUBLISHes it, in
one round trip. A ``SET NX`` marker per outbox event makes a retried batch a no-op, so a relay
that crashed between Redis and its database commit never publishes an event twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from streamsrv.hub import Entry
from streamsrv.protocol import Cursor, EntryId, parse_entry_id
from streamsrv.redaction import redact_tail

PUBLISH_SCRIPT = """
local prefix = ARGV[1]
local maxlen = ARGV[2]
local ttl = tonumber(ARGV[3])
local dedupe_ttl = tonumber(ARGV[4])
local erased_slack_ms = tonumber(ARGV[5])
local n = tonumber(ARGV[6])
local i = 7
local published = 0
local hidden = prefix .. ':hidden'
local hidden_cap = 1000000
for _ = 1, n do
  local eid = ARGV[i]
  local tail = ARGV[i + 1]
  local quotes = ARGV[i + 2]
  local visibility = ARGV[i + 3]
  local contacts = ARGV[i + 4]
  local erased = ARGV[i + 5]
  local ns = tonumber(ARGV[i + 6])
  i = i + 7
  local fresh = redis.call('SET', prefix .. ':sent:' .. eid, '1', 'NX', 'EX', dedupe_ttl)
  if fresh then
    if visibility ~= '' then
      -- A moderator hid (+) or showed (-) a comment: replays consult this set. It has no time
      -- limit: a quoting entry may outlive any TTL on a stream that keeps being written to, and
      -- the set is small (hiding is rare); only its newest members are kept past a large cap.
      local now = tonumber(redis.call('TIME')[1])
      local rid = string.sub(visibility, 2)
      if string.sub(visibility, 1, 1) == '+' then
        redis.call('ZADD', hidden, now, rid)
        redis.call('ZREMRANGEBYRANK', hidden, 0, -hidden_cap - 1)
      else
        redis.call('ZREM', hidden, rid)
      end
    end
    for s = 0, ns - 1 do
      local stream = ARGV[i + s]
      local ekey = prefix .. ':e:' .. stream
      local hkey = prefix .. ':h:' .. stream
      local xkey = prefix .. ':x:' .. stream
      local epoch = redis.call('GET', ekey)
      if (not epoch) or redis.call('EXISTS', hkey) == 0 then
        -- A new history (first event, or Redis lost the old one): a new epoch tells clients
        -- holding older cursors that they must resync rather than trust a silent gap.
        local t = redis.call('TIME')
        epoch = string.format('%x%05x', tonumber(t[1]), tonumber(t[2]))
        redis.call('SET', ekey, epoch)
      end
      local fields = {'e', eid, 't', tail}
      if quotes ~= '' then
        fields[#fields + 1] = 'q'
        fields[#fields + 1] = quotes
      end
      if contacts ~= '' then
        fields[#fields + 1] = 'c'
        fields[#fields + 1] = contacts
      end
      local id = redis.call('XADD', hkey, 'MAXLEN', '~', maxlen, '*', unpack(fields))
      if erased ~= '' then
        -- Customers' contact details were erased: replays of this stream consult this set.
        -- Every entry that can carry them was published before (give or take the relay's lag
        -- for a change committed alongside the erasure), so a member goes once the history's
        -- oldest entry is newer than it by more than that.
        local t = redis.call('TIME')
        local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        for rid in string.gmatch(erased, '[^,]+') do
          redis.call('ZADD', xkey, string.format('%d', now_ms), rid)
        end
        local oldest = redis.call('XRANGE', hkey, '-', '+', 'COUNT', 1)
        local oldest_ms = tonumber(string.match(oldest[1][1], '^(%d+)'))
        redis.call('ZREMRANGEBYSCORE', xkey, '-inf', '(' .. string.format('%d', oldest_ms - erased_slack_ms))
      end
      -- The set lives exactly as long as the history it covers.
      redis.call('EXPIRE', xkey, ttl)
      redis.call('EXPIRE', hkey, ttl)
      redis.call('EXPIRE', ekey, ttl)
      redis.call('PUBLISH', prefix .. ':c:' .. stream, epoch .. ' ' .. id .. ' ' .. eid .. ' ' .. tail)
      published = published + 1
    end
  end
  i = i + ns
end
return published
"""

DEDUPE_TTL = 24 * 3600
# How much later than an erasure an event carrying the erased details may still be published: a
# change committed alongside the erasure, held up by a relay that was down or far behind.
ERASED_SLACK_MS = 3600 * 1000
READ_CONCURRENCY = 32
READ_ATTEMPTS = 3
REPLAY_PAGE = 1000


@dataclass(frozen=True)
class Keys:
    prefix: str

    def history(self, stream: str) -> str:
        return f"{self.prefix}:h:{stream}"

    def epoch(self, stream: str) -> str:
        return f"{self.prefix}:e:{stream}"

    def channel(self, stream: str) -> str:
        return f"{self.prefix}:c:{stream}"

    @property
    def channel_prefix(self) -> bytes:
        return f"{self.prefix}:c:".encode()

    def control(self, node: str) -> str:
        return f"{self.prefix}:ctl:{node}"

    @property
    def hidden(self) -> str:
        """Responses whose comments were hidden after their events were published."""
        return f"{self.prefix}:hidden"

    def erased(self, stream: str) -> str:
        """Responses whose customer's contact details were erased after this stream carried them."""
        return f"{self.prefix}:x:{stream}"


@dataclass(frozen=True)
class OutgoingEvent:
    event_id: int
    tail: bytes
    streams: Sequence[str]
    # Responses whose comment the event quotes ("12,40"), so a replay can redact them.
    quotes: str = ""
    # "+12" hides response 12's comment from replays, "-12" shows it again, "" changes nothing.
    visibility: str = ""
    # Responses whose customer's contact details the event carries ("12,40").
    contacts: str = ""
    # Responses whose customer's contact details are erased from its streams' replays ("12,40").
    erased: str = ""


def publish_args(keys: Keys, events: Sequence[OutgoingEvent], maxlen: int, ttl: int) -> list[Any]:
    args: list[Any] = [keys.prefix, maxlen, ttl, DEDUPE_TTL, ERASED_SLACK_MS, len(events)]
    for ev in events:
        args.extend(
            (
                ev.event_id,
                ev.tail,
                ev.quotes,
                ev.visibility,
                ev.contacts,
                ev.erased,
                len(ev.streams),
                *ev.streams,
            )
        )
    return args


class History:
    """Reads and writes stream history in Redis."""

    def __init__(self, redis: Redis, keys: Keys, maxlen: int, ttl: int) -> None:
        self.redis = redis
        self.keys = keys
        self.maxlen = maxlen
        self.ttl = ttl
        self._readers = asyncio.Semaphore(READ_CONCURRENCY)

    async def epoch(self, stream: str) -> str | None:
        raw = await self.redis.get(self.keys.epoch(stream))
        return raw.decode() if isinstance(raw, bytes) else raw

    async def read_after(self, stream: str, since: Cursor) -> list[Entry] | None:
        """Every entry after ``since``, or None when history cannot prove it is complete.

        Thousands of clients resuming at once queue here for a bounded number of Redis
        connections, and a transient error is retried, instead of failing into a resync."""
        for attempt in range(READ_ATTEMPTS):
            try:
                async with self._readers:
                    return await self._read_after(stream, since)
            except (RedisError, OSError):
                if attempt == READ_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _read_after(self, stream: str, since: Cursor) -> list[Entry] | None:
        key = self.keys.history(stream)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self.keys.epoch(stream))
            pipe.xrange(key, "-", "+", count=1)
            epoch_raw, oldest = await pipe.execute()
        if epoch_raw is None or epoch_raw.decode() != since.epoch:
            return None
        if oldest and parse_entry_id(oldest[0][0]) > since.entry:
            # Trimmed past the cursor: entries between the two may be gone.
            return None
        return await self.read_range(stream, since.entry)

    async def read_range(self, stream: str, after: EntryId | None) -> list[Entry]:
        """Entries strictly after ``after`` (all entries when None), oldest first."""
        key = self.keys.history(stream)
        start = "-" if after is None else f"({after[0]}-{after[1]}"
        out: list[Entry] = []
        tagged: list[Tagged] = []
        while True:
            page: list[tuple[bytes, dict[bytes, bytes]]] = await self.redis.xrange(
                key, start, "+", count=REPLAY_PAGE
            )  # type: ignore[assignment]
            for raw_id, fields in page:
                entry = parse_entry_id(raw_id)
                quotes, contacts = fields.get(b"q"), fields.get(b"c")
                if quotes or contacts:
                    tagged.append(Tagged(len(out), _ids(quotes), _ids(contacts)))
                out.append(Entry(entry=entry, event_id=int(fields[b"e"]), tail=fields[b"t"].decode()))
            if len(page) < REPLAY_PAGE:
                break
            last = out[-1].entry
            start = f"({last[0]}-{last[1]}"
        if tagged:
            await self._redact(stream, out, tagged)
        return out

    async def _redact(self, stream: str, out: list[Entry], tagged: list[Tagged]) -> None:
        """Rewrite the entries that quote a comment hidden, or carry contact details erased,
        since they were published."""
        quoted = sorted(set().union(*(t.quoted for t in tagged)))
        carried = sorted(set().union(*(t.carried for t in tagged)))
        async with self.redis.pipeline(transaction=False) as pipe:
            for rid in quoted:
                pipe.zscore(self.keys.hidden, rid)
            for rid in carried:
                pipe.zscore(self.keys.erased(stream), rid)
            scores = await pipe.execute()
        hidden = {rid for rid, score in zip(quoted, scores[: len(quoted)], strict=True) if score is not None}
        erased = {rid for rid, score in zip(carried, scores[len(quoted) :], strict=True) if score is not None}
        if not hidden and not erased:
            return
        for t in tagged:
            if t.quoted & hidden or t.carried & erased:
                entry = out[t.index]
                tail = redact_tail(entry.tail, t.quoted & hidden, t.carried & erased)
                out[t.index] = Entry(entry.entry, entry.event_id, tail)


@dataclass(frozen=True)
class Tagged:
    """A history entry that quotes comments or carries contact details, by response id."""

    index: int
    quoted: set[int]
    carried: set[int]


def _ids(tag: bytes | None) -> set[int]:
    return {int(rid) for rid in tag.split(b",")} if tag else set()
