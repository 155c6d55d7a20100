"""Open subscriptions follow changes of reach: when an agent moves, every node re-authorises the
open subscriptions of the organization and drops those no longer allowed with a ``forbidden``
error frame, before an event committed after the change could reach them.

Two applications on one database and one Redis are two nodes: the change is made through node
A's API while the sockets live on node B.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from streamsrv.app import create_app
from streamsrv.auth import SESSION_COOKIE, make_session_cookie
from streamsrv.client import Event, Failure, Item, Status, StreamClient
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.models import Role, Team, User
from tests.conftest import Tenant
from tests.streaming import emit_events_async, make_floor, make_user
from tests.support import TIMEOUT, LiveServer


@pytest.fixture(scope="module")
def node_b(settings: Settings, db: Database) -> Iterator[LiveServer]:
    live = LiveServer(create_app(settings)).start()
    yield live
    live.stop()


def session_client(tenant: Tenant, node: LiveServer, user: User, streams: list[str]) -> StreamClient:
    cookie = make_session_cookie(tenant.server.app.state.ctx, user)
    return StreamClient(node.ws_url + "/ws", cookie=f"{SESSION_COOKIE}={cookie}", streams=streams)


async def until(client: StreamClient, wanted: type[Item], stream: str, forbidden_events: str) -> Item:
    """The next ``wanted`` item about ``stream``; fails on an event of ``forbidden_events`` first."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            item = await client.next(TIMEOUT)
            if isinstance(item, Event):
                assert item.stream != forbidden_events, f"delivered after access ended: {item}"
            if isinstance(item, wanted) and getattr(item, "stream", None) == stream:
                return item


def move(tenant: Tenant, agent_id: int, team_id: int) -> None:
    r = tenant.api.patch(f"/api/v1/agents/{agent_id}", json={"team_id": team_id})
    assert r.status_code == 200, r.text
    assert r.json()["team_id"] == team_id


async def test_team_leader_loses_the_agent_who_moved_away(
    tenant: Tenant, db: Database, node_b: LiveServer
) -> None:
    floor = make_floor(db, tenant.org_id)
    moved, stays = floor.agent_ids
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    streams = [f"agent:{moved}", f"agent:{stays}", f"team:{floor.team_id}"]
    async with session_client(tenant, node_b, leader, streams) as client:
        await client.wait_subscribed(TIMEOUT)
        # To another team of another account, through node A.
        await asyncio.to_thread(move, tenant, moved, floor.other_team_id)
        # The change is broadcast before the PATCH answers and node B hears it on the same
        # Redis pub/sub connection as the stream's events: the refusal comes first.
        await emit_events_async(db, tenant.org_id, [f"agent:{moved}"], 1)
        failure = await until(client, Failure, f"agent:{moved}", forbidden_events=f"agent:{moved}")
        assert isinstance(failure, Failure) and failure.code == "forbidden"
        # The other subscriptions are untouched, and the dropped one stays dropped.
        await emit_events_async(db, tenant.org_id, [f"agent:{moved}"], 1, start=1)
        await emit_events_async(db, tenant.org_id, [f"agent:{stays}", f"team:{floor.team_id}"], 1, start=2)
        got = await until(client, Event, f"agent:{stays}", forbidden_events=f"agent:{moved}")
        assert isinstance(got, Event) and got.data["n"] == 2
        got = await until(client, Event, f"team:{floor.team_id}", forbidden_events=f"agent:{moved}")
        assert isinstance(got, Event) and got.data["n"] == 2


async def test_a_move_within_reach_keeps_the_subscription(
    tenant: Tenant, db: Database, node_b: LiveServer
) -> None:
    floor = make_floor(db, tenant.org_id)
    with db.session() as s:
        second = Team(org_id=tenant.org_id, account_id=floor.account_id, name="Team A2")
        s.add(second)
        s.flush()
        assert second.id is not None
        second_id = second.id
    agent = floor.agent_ids[0]
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id, second_id])
    async with session_client(tenant, node_b, leader, [f"agent:{agent}"]) as client:
        await client.wait_subscribed(TIMEOUT)
        await asyncio.to_thread(move, tenant, agent, second_id)
        await emit_events_async(db, tenant.org_id, [f"agent:{agent}"], 1)
        async with asyncio.timeout(TIMEOUT):
            while True:
                item = await client.next(TIMEOUT)
                assert not isinstance(item, Failure), item
                if isinstance(item, Event):
                    assert item.data["n"] == 0
                    break


async def test_an_agent_user_loses_the_board_of_the_team_they_left(
    tenant: Tenant, db: Database, node_b: LiveServer
) -> None:
    floor = make_floor(db, tenant.org_id)
    agent = floor.agent_ids[0]
    user = make_user(db, tenant.org_id, Role.agent, agent_id=agent)
    old_board, own = f"board:team:{floor.team_id}", f"agent:{agent}"
    async with session_client(tenant, node_b, user, [old_board, own]) as client:
        await client.wait_subscribed(TIMEOUT)
        await asyncio.to_thread(move, tenant, agent, floor.other_team_id)
        await emit_events_async(db, tenant.org_id, [old_board], 1)
        failure = await until(client, Failure, old_board, forbidden_events=old_board)
        assert isinstance(failure, Failure) and failure.code == "forbidden"
        await emit_events_async(db, tenant.org_id, [old_board, own], 1, start=1)
        got = await until(client, Event, own, forbidden_events=old_board)
        assert isinstance(got, Event) and got.data["n"] == 1


async def test_a_narrowed_user_is_disconnected_everywhere(
    tenant: Tenant, db: Database, node_b: LiveServer
) -> None:
    floor = make_floor(db, tenant.org_id)
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    stream = f"team:{floor.team_id}"
    async with session_client(tenant, node_b, leader, [stream]) as client:
        await client.wait_subscribed(TIMEOUT)
        r = await asyncio.to_thread(
            tenant.api.patch, f"/api/v1/users/{leader.id}", json={"team_ids": [floor.other_team_id]}
        )
        assert r.status_code == 200, r.text
        # The connection's identity itself is out of date: it is closed, and the client comes
        # back (if it may) as who the user is now.
        await emit_events_async(db, tenant.org_id, [stream], 1)
        async with asyncio.timeout(TIMEOUT):
            while True:
                item = await client.next(TIMEOUT)
                assert not isinstance(item, Event), f"delivered after the scope changed: {item}"
                if isinstance(item, Status) and item.state == "closed":
                    assert item.code == 4401
                    break
