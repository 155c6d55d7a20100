"""A comment hidden by a moderator never comes back from stream history.

Events already published keep the comment they were published with; a replay (``sub`` with an
older ``since``) must show it redacted on every stream that quoted it: the agent's, team's and
account's feedback streams and the wallboard's praise ticker.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from redis.asyncio import Redis
from websockets.asyncio.client import connect

from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.history import History, Keys
from tests.conftest import Tenant
from tests.dashboard_support import ingest_key, make_site, post_feedback
from tests.support import TIMEOUT, async_wait_until

SECRET = "call me on 555-0100, Maya was wonderful"


async def replay(tenant: Tenant, stream: str, since: str, until: str) -> list[dict[str, Any]]:
    """Events of ``stream`` after ``since``, up to the first frame whose text contains ``until``."""
    url = tenant.server.ws_url + "/ws"
    headers = {"Authorization": f"Bearer {tenant.org.api_key}"}
    frames: list[dict[str, Any]] = []
    async with connect(url, additional_headers=headers, open_timeout=TIMEOUT) as ws:
        await ws.send(orjson.dumps({"op": "sub", "stream": stream, "since": since}).decode())
        while True:
            raw = await asyncio.wait_for(ws.recv(), TIMEOUT)
            frame = orjson.loads(raw)
            assert frame["op"] in ("subscribed", "event"), frame
            if frame["op"] == "event":
                frames.append(frame)
                if until in str(raw):
                    return frames


async def cursors_after(tenant: Tenant, streams: list[str], post: Any, marker: str) -> dict[str, str]:
    """Subscribe live, let ``post()`` publish ``marker``, and return each stream's cursor of it."""
    url = tenant.server.ws_url + "/ws"
    headers = {"Authorization": f"Bearer {tenant.org.api_key}"}
    found: dict[str, str] = {}
    async with connect(url, additional_headers=headers, open_timeout=TIMEOUT) as ws:
        for stream in streams:
            await ws.send(orjson.dumps({"op": "sub", "stream": stream}).decode())
        subscribed = 0
        while subscribed < len(streams):
            subscribed += orjson.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))["op"] == "subscribed"
        post()
        while len(found) < len(streams):
            raw = await asyncio.wait_for(ws.recv(), TIMEOUT)
            frame = orjson.loads(raw)
            if frame["op"] == "event" and marker in str(raw):
                found[frame["stream"]] = frame["id"]
    return found


async def test_replays_never_show_a_hidden_comment(tenant: Tenant, db: Database) -> None:
    site = make_site(db, tenant.org_id)
    agent = site.agent_ids[0]
    streams = [
        f"agent:{agent}",
        f"team:{site.team_ids[0]}",
        f"account:{site.account_id}",
        f"board:team:{site.team_ids[0]}",
    ]
    with tenant.client(ingest_key(db, tenant.org_id)) as api:
        # The cursor to resume from: each stream's newest entry before the secret arrives.
        cursors = await cursors_after(
            tenant,
            streams,
            lambda: post_feedback(api, site.account_id, agent, rating=5, comment="first marker"),
            "first marker",
        )
        secret = post_feedback(api, site.account_id, agent, rating=5, comment=SECRET)
        post_feedback(api, site.account_id, agent, rating=5, comment="second marker")

        before = {s: await replay(tenant, s, cursors[s], "second marker") for s in streams}
        for s in streams:
            assert SECRET in orjson.dumps(before[s]).decode(), f"{s} should quote the comment before hiding"

        hidden = tenant.api.post(
            f"/api/v1/responses/{secret['id']}/moderation", json={"hidden": True, "reason": "phone number"}
        )
        assert hidden.status_code == 200, hidden.text
        post_feedback(api, site.account_id, agent, rating=5, comment="third marker")

        for s in streams:
            frames = await replay(tenant, s, cursors[s], "third marker")
            text = orjson.dumps(frames).decode()
            assert SECRET not in text, f"{s} replayed the hidden comment"
            quoting = [f for f in frames if f["data"].get("id") == secret["id"]]
            for frame in quoting:
                assert frame["data"]["comment"] is None and frame["data"]["comment_hidden"] is True
            if s.startswith("board:"):
                # The ticker line for the hidden comment is gone; the standings stay.
                highlights = [
                    f["data"].get("highlight") for f in frames if f["type"] == "leaderboard.updated"
                ]
                assert all(h is None or h["response_id"] != secret["id"] for h in highlights)
                assert len(highlights) == 3
            else:
                assert [f["type"] for f in quoting][:1] == ["feedback.received"]

        shown = tenant.api.post(
            f"/api/v1/responses/{secret['id']}/moderation", json={"hidden": False, "reason": "reviewed"}
        )
        assert shown.status_code == 200
        post_feedback(api, site.account_id, agent, rating=5, comment="fourth marker")
        again = await replay(tenant, streams[0], cursors[streams[0]], "fourth marker")
        assert SECRET in orjson.dumps(again).decode(), "a comment shown again is replayed again"


async def test_catch_up_after_a_reconnect_is_redacted_too(
    tenant: Tenant, db: Database, settings: Settings
) -> None:
    """The hub's catch-up reads history the same way: an entry quoting a hidden comment that is
    read after the hiding comes back redacted (unit-level check of the read path)."""
    site = make_site(db, tenant.org_id)
    agent = site.agent_ids[0]
    with tenant.client(ingest_key(db, tenant.org_id)) as api:
        secret = post_feedback(api, site.account_id, agent, rating=2, comment=SECRET)
        assert (
            tenant.api.post(
                f"/api/v1/responses/{secret['id']}/moderation", json={"hidden": True, "reason": "x"}
            ).status_code
            == 200
        )
        post_feedback(api, site.account_id, agent, rating=4, comment="after marker")
    redis = Redis.from_url(settings.redis_url)
    try:
        history = History(redis, Keys(settings.redis_prefix), 1000, 3600)

        async def published() -> list[str]:
            # The relay publishes after the commit: wait until the last event is in history.
            texts = [e.tail for e in await history.read_range(f"account:{site.account_id}", None)]
            return texts if any('"after marker"' in t for t in texts) else []

        texts = await async_wait_until(published)
    finally:
        await redis.aclose()
    assert not any(SECRET in t for t in texts)
