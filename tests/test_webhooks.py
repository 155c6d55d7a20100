"""Outbound webhooks end to end, on both databases: a real streamsrv server with its delivery
worker, and a real HTTP receiver on a loopback port that verifies each signature the way a
customer's system would (``standardwebhooks``) and refuses what does not verify."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from streamsrv import outbox
from streamsrv.app import create_app
from streamsrv.embedded_redis import EmbeddedRedis, free_port
from streamsrv.models import AuditLog, Delivery, DeliveryStatus, WebhookEndpoint, utcnow
from streamsrv.outbound import endpoints, safety
from streamsrv.outbound.messages import queue_of
from tests.support import TIMEOUT, LiveServer, wait_until
from tests.survey_support import Setup, make_setup
from tests.webhook_support import (
    Consumer,
    HookStack,
    Received,
    Receiver,
    hook_stack,
    make_due_now,
    webhook_rows,
)


@pytest.fixture(scope="module")
def stack(
    backend: str, tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[HookStack]:
    yield from hook_stack(backend, tmp_path_factory.mktemp("hooks"), redis_server)


@pytest.fixture
def api(stack: HookStack) -> Iterator[httpx.Client]:
    with stack.api() as client:
        yield client


@pytest.fixture
def setup(stack: HookStack) -> Setup:
    return make_setup(stack.db, stack.org.org_id)


def subscribe(api: httpx.Client, url: str, **body: Any) -> dict[str, Any]:
    body.setdefault("events", ["feedback.received", "reward.suggested"])
    r = api.post("/api/v1/webhook-endpoints", json={"url": url, **body})
    assert r.status_code == 201, r.text
    created = dict(r.json())
    assert created["secret"].startswith("whsec_")
    return created


def feedback(api: httpx.Client, setup: Setup, rating: int = 5, **extra: Any) -> dict[str, Any]:
    r = api.post(
        "/api/v1/feedback",
        json={
            "account_id": setup.account_id,
            "agent_id": setup.agent_id,
            "channel": "phone",
            "external_id": f"W-{secrets.token_hex(6)}",
            "rating": rating,
            **extra,
        },
    )
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def tagged(stack: HookStack, tag: str) -> str:
    return f"{stack.receiver.url}?e={tag}"


def received_for(stack: HookStack, tag: str, type: str) -> list[dict[str, Any]]:
    return [r.payload for r in stack.receiver.consumer.of_type(type) if r.query == f"e={tag}"]


def log_of(api: httpx.Client, endpoint_id: int) -> list[dict[str, Any]]:
    r = api.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries")
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_a_response_reaches_the_endpoint_signed(stack: HookStack, api: httpx.Client, setup: Setup) -> None:
    tag = secrets.token_hex(4)
    created = subscribe(api, tagged(stack, tag))
    stack.receiver.consumer.secrets.append(created["secret"])
    answer = feedback(api, setup, rating=2)
    response_id = answer["response"]["id"] if "response" in answer else answer["id"]
    got = wait_until(lambda: received_for(stack, tag, "feedback.received"), timeout=TIMEOUT * 2)
    body = got[0]
    assert body["type"] == "feedback.received"
    assert body["timestamp"]
    assert body["data"]["id"] == response_id
    assert body["data"]["account_id"] == setup.account_id
    assert body["data"]["rating"] == 2
    message = next(r for r in stack.receiver.consumer.accepted if r.query == f"e={tag}")
    assert message.id.startswith("msg_")
    assert message.headers["webhook-signature"].startswith("v1,")
    assert message.headers["content-type"] == "application/json"
    # A consumer holding another secret refuses the message.
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJD" * 8).verify(message.body, message.headers)
    rows = wait_until(lambda: [d for d in log_of(api, created["id"]) if d["status"] == "sent"])
    assert rows[0]["event_type"] == "feedback.received"
    assert rows[0]["response_status"] == 204
    assert rows[0]["attempts"] == 1
    # The secret is shown once: never in a read.
    one = api.get(f"/api/v1/webhook-endpoints/{created['id']}").json()
    assert "secret" not in one and one["status"] == "active"
    assert created["id"] in [e["id"] for e in api.get("/api/v1/webhook-endpoints").json()["items"]]


def test_bad_input_is_refused_and_changes_nothing(stack: HookStack, api: httpx.Client) -> None:
    before = api.get("/api/v1/webhook-endpoints").json()["items"]
    r = api.post("/api/v1/webhook-endpoints", json={"url": stack.receiver.url, "events": ["feedback.eaten"]})
    assert r.status_code == 422 and "events" in r.json()["error"]["fields"], r.text
    r = api.post("/api/v1/webhook-endpoints", json={"url": stack.receiver.url, "events": []})
    assert r.status_code == 422 and "events" in r.json()["error"]["fields"], r.text
    for url in (
        "ftp://example.com/x",
        "https://user:pw@example.com/x",
        "https://",
        "x" * 2100,
        "javascript:alert(1)",
    ):
        r = api.post("/api/v1/webhook-endpoints", json={"url": url, "events": ["case.opened"]})
        assert r.status_code == 422 and "url" in r.json()["error"]["fields"], (url, r.text)
    r = api.post(
        "/api/v1/webhook-endpoints",
        json={"url": stack.receiver.url, "events": ["case.opened"], "account_ids": [999999]},
    )
    assert r.status_code == 422 and "account_ids" in r.json()["error"]["fields"], r.text
    assert api.get("/api/v1/webhook-endpoints").json()["items"] == before


def test_private_targets_are_refused_when_the_setting_is_off(stack: HookStack) -> None:
    for url in (
        "http://example.com/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/x",
        "https://[::1]/x",
        "https://[::ffff:192.168.0.1]/x",
        "https://localhost/x",
        "https://0.0.0.0/x",
    ):
        with pytest.raises(safety.UnsafeTarget):
            safety.check_url(url, allow_private=False)
    assert (
        safety.check_url("https://Hooks.Example.com/in?x=1", allow_private=False)
        == "https://hooks.example.com/in?x=1"
    )

    async def send_time() -> None:
        # The send-time check: a name resolving to loopback is refused before any connection.
        with pytest.raises(safety.UnsafeTarget, match=r"non-public address \((127\.0\.0\.1|::1)\)"):
            await safety.resolve_and_check("localhost", 443, allow_private=False)
        with pytest.raises(safety.UnsafeTarget):
            await safety.resolve_and_check("127.0.0.1", stack.receiver.port, allow_private=False)
        assert await safety.resolve_and_check("localhost", 443, allow_private=True)
        async with httpx.AsyncClient() as client:
            with pytest.raises(safety.UnsafeTarget):
                await safety.post_json(
                    client, stack.receiver.url, b"{}", {}, allow_private=False, timeout=TIMEOUT
                )

    asyncio.run(send_time())
    # The API refuses them too when the server runs with the default setting.
    strict = LiveServer(
        create_app(stack.settings.replace(outbound_allow_private=False, worker=False))
    ).start()
    try:
        with httpx.Client(
            base_url=strict.url, headers={"Authorization": f"Bearer {stack.org.api_key}"}, timeout=TIMEOUT
        ) as client:
            for url in (stack.receiver.url, "https://127.0.0.1:9/x", "https://localhost/x"):
                r = client.post("/api/v1/webhook-endpoints", json={"url": url, "events": ["case.opened"]})
                assert r.status_code == 422 and "url" in r.json()["error"]["fields"], r.text
    finally:
        strict.stop()


def test_an_endpoint_for_one_account_gets_only_its_events(
    stack: HookStack, api: httpx.Client, setup: Setup
) -> None:
    other = make_setup(stack.db, stack.org.org_id)
    tag = secrets.token_hex(4)
    created = subscribe(api, tagged(stack, tag), account_ids=[setup.account_id])
    stack.receiver.consumer.secrets.append(created["secret"])
    feedback(api, other)
    feedback(api, setup)
    # One endpoint's messages go out in order: once the second arrived, the first would have.
    got = wait_until(lambda: received_for(stack, tag, "feedback.received"), timeout=TIMEOUT * 2)
    assert {b["data"]["account_id"] for b in got} == {setup.account_id}
    assert len(webhook_rows(stack.db, created["id"])) == 1


def test_reward_suggested_carries_its_account(stack: HookStack, api: httpx.Client, setup: Setup) -> None:
    tag = secrets.token_hex(4)
    created = subscribe(api, tagged(stack, tag), events=["reward.suggested"], account_ids=[setup.account_id])
    stack.receiver.consumer.secrets.append(created["secret"])
    feedback(api, setup, rating=5, reward="coffee")
    got = wait_until(lambda: received_for(stack, tag, "reward.suggested"), timeout=TIMEOUT * 2)
    assert got[0]["data"]["account_id"] == setup.account_id
    assert got[0]["data"]["reward"]["code"] == "coffee"
    assert got[0]["data"]["reward"]["label"]


def test_the_test_event_goes_the_same_way(stack: HookStack, api: httpx.Client) -> None:
    tag = secrets.token_hex(4)
    created = subscribe(api, tagged(stack, tag), events=["case.opened"])
    stack.receiver.consumer.secrets.append(created["secret"])
    r = api.post(f"/api/v1/webhook-endpoints/{created['id']}/test")
    assert r.status_code == 202, r.text
    queued = r.json()
    got = wait_until(lambda: received_for(stack, tag, "webhook.test"), timeout=TIMEOUT * 2)
    assert got[0]["data"]["endpoint_id"] == created["id"]
    message = next(m for m in stack.receiver.consumer.accepted if m.query == f"e={tag}")
    assert message.id == queued["message_id"]
    rows = wait_until(lambda: [d for d in log_of(api, created["id"]) if d["status"] == "sent"])
    assert rows[0]["id"] == queued["delivery_id"] and rows[0]["event_type"] == "webhook.test"


def test_a_rotated_secret_signs_next_to_the_old_one_during_the_grace(
    stack: HookStack, api: httpx.Client
) -> None:
    tag = secrets.token_hex(4)
    created = subscribe(api, tagged(stack, tag), events=["case.opened"])
    old = created["secret"]
    r = api.post(f"/api/v1/webhook-endpoints/{created['id']}/rotate-secret", json={})
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != old and new.startswith("whsec_") and r.json()["previous_secret_until"]
    stack.receiver.consumer.secrets.append(new)
    api.post(f"/api/v1/webhook-endpoints/{created['id']}/test")
    first = wait_until(lambda: [m for m in stack.receiver.consumer.accepted if m.query == f"e={tag}"])[0]
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(first.body, first.headers)
    Webhook(new).verify(first.body, first.headers)
    # The grace is over: only the new secret signs.
    with stack.db.session() as s:
        s.execute(
            update(WebhookEndpoint)
            .where(col(WebhookEndpoint.id) == created["id"])
            .values(previous_until=utcnow() - timedelta(seconds=1))
        )
    endpoints.forget(stack.org.org_id, created["id"])
    api.post(f"/api/v1/webhook-endpoints/{created['id']}/test")

    def mine() -> list[Received]:
        return [m for m in stack.receiver.consumer.accepted if m.query == f"e={tag}"]

    second = wait_until(lambda: mine()[1:])[0]
    assert len(second.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(second.body, second.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(second.body, second.headers)


def test_every_message_arrives_across_a_receiver_restart(
    stack: HookStack, api: httpx.Client, setup: Setup
) -> None:
    tag = secrets.token_hex(4)
    created = subscribe(api, tagged(stack, tag), events=["feedback.received"])
    stack.receiver.consumer.secrets.append(created["secret"])
    sent = 0
    for _ in range(5):
        feedback(api, setup)
        sent += 1
    wait_until(lambda: len(received_for(stack, tag, "feedback.received")) >= 1, timeout=TIMEOUT * 2)
    # The receiver dies while messages are still flowing; ingest goes on regardless.
    stack.receiver.stop()
    try:
        for _ in range(10):
            feedback(api, setup)
            sent += 1
        wait_until(
            lambda: any(
                d.attempts >= 1 and d.status == DeliveryStatus.scheduled
                for d in webhook_rows(stack.db, created["id"])
            ),
            timeout=TIMEOUT * 2,
        )
    finally:
        stack.receiver.start()

    def all_arrived() -> bool:
        make_due_now(stack.db, created["id"])
        return len({r.id for r in stack.receiver.consumer.accepted if r.query == f"e={tag}"}) >= sent

    wait_until(all_arrived, timeout=TIMEOUT * 4, interval=0.2)
    rows = webhook_rows(stack.db, created["id"])
    ids = [r.id for r in stack.receiver.consumer.accepted if r.query == f"e={tag}"]
    # Every message exactly once by id. A message can only arrive twice if the receiver took it
    # and died before answering; the distinct ids are what a consumer deduplicates on.
    assert len(set(ids)) == sent == len(rows)
    assert set(ids) == {r.payload["id"] for r in rows}

    def all_sent() -> bool:
        return all(r.status == DeliveryStatus.sent for r in webhook_rows(stack.db, created["id"]))

    wait_until(all_sent)


def test_an_endpoint_failing_past_the_retry_window_is_disabled(stack: HookStack, api: httpx.Client) -> None:
    dead = f"http://127.0.0.1:{free_port()}/gone"
    created = subscribe(api, dead, events=["case.opened"])
    api.post(f"/api/v1/webhook-endpoints/{created['id']}/test")
    wait_until(
        lambda: any(
            d.attempts >= 1 and d.status == DeliveryStatus.scheduled
            for d in webhook_rows(stack.db, created["id"])
        ),
        timeout=TIMEOUT * 2,
    )
    # The 24 hours run out: the next failure gives up and disables the endpoint.
    with stack.db.session() as s:
        s.execute(
            update(Delivery)
            .where(
                col(Delivery.queue) == queue_of(created["id"]),
                col(Delivery.status) == DeliveryStatus.scheduled,
            )
            .values(due_at=utcnow(), give_up_at=utcnow())
        )
    one = wait_until(
        lambda: (
            (e := api.get(f"/api/v1/webhook-endpoints/{created['id']}").json())["status"] == "disabled" and e
        ),
        timeout=TIMEOUT * 2,
    )
    assert "retry window" in one["disabled_reason"] and one["disabled_at"]
    log = log_of(api, created["id"])
    assert log[0]["status"] == "failed" and "gave up" in log[0]["response_excerpt"]
    with stack.db.session() as s:
        entry = s.exec(
            select(AuditLog).where(
                AuditLog.target == f"webhook_endpoint:{created['id']}", AuditLog.action == "webhook.disabled"
            )
        ).first()
        assert entry is not None and entry.actor_user_id is None
    # Re-enabled through the API, it gets messages again.
    r = api.patch(f"/api/v1/webhook-endpoints/{created['id']}", json={"status": "active"})
    assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["disabled_reason"] is None
    r = api.patch(f"/api/v1/webhook-endpoints/{created['id']}", json={"status": "disabled"})
    assert r.status_code == 422


def test_a_receivers_answer_is_kept_short(stack: HookStack, api: httpx.Client) -> None:
    chatty = Receiver(Consumer(status=200, answer=b"<b>hello</b>" + b"x" * 200_000)).start()
    try:
        created = subscribe(api, chatty.url, events=["case.opened"])
        chatty.consumer.secrets.append(created["secret"])
        api.post(f"/api/v1/webhook-endpoints/{created['id']}/test")
        row = wait_until(
            lambda: [d for d in log_of(api, created["id"]) if d["status"] == "sent"], timeout=TIMEOUT * 2
        )[0]
        assert row["response_status"] == 200
        assert row["response_excerpt"].startswith("<b>hello</b>")
        assert len(row["response_excerpt"].encode()) <= 1024
    finally:
        chatty.stop()


def test_events_of_a_rolled_back_transaction_are_never_sent(
    stack: HookStack, api: httpx.Client, setup: Setup
) -> None:
    tag = secrets.token_hex(4)
    created = subscribe(api, tagged(stack, tag), events=["case.opened"], account_ids=[setup.account_id])
    stack.receiver.consumer.secrets.append(created["secret"])
    org = stack.org.org_id
    with pytest.raises(RuntimeError), stack.db.session() as s:
        outbox.emit(
            s,
            org,
            "case.opened",
            [f"recovery:{setup.account_id}"],
            {"account_id": setup.account_id, "id": -1},
        )
        raise RuntimeError("the cause failed")
    with stack.db.session() as s:
        outbox.emit(
            s, org, "case.opened", [f"recovery:{setup.account_id}"], {"account_id": setup.account_id, "id": 1}
        )
    got = wait_until(lambda: received_for(stack, tag, "case.opened"), timeout=TIMEOUT * 2)
    assert [b["data"]["id"] for b in got] == [1]
    assert len(webhook_rows(stack.db, created["id"])) == 1


def test_deleting_an_endpoint_stops_its_messages(stack: HookStack, api: httpx.Client) -> None:
    created = subscribe(api, f"http://127.0.0.1:{free_port()}/gone", events=["case.opened"])
    r = api.delete(f"/api/v1/webhook-endpoints/{created['id']}")
    assert r.status_code == 204
    assert api.get(f"/api/v1/webhook-endpoints/{created['id']}").status_code == 404
    assert api.post(f"/api/v1/webhook-endpoints/{created['id']}/test").status_code == 404


def test_a_hanging_receiver_holds_up_only_its_own_endpoint(stack: HookStack, api: httpx.Client) -> None:
    release = threading.Event()
    stuck = Receiver(Consumer(hold=release)).start()
    try:
        slow = subscribe(api, stuck.url, events=["case.opened"])
        stuck.consumer.secrets.append(slow["secret"])
        tag = secrets.token_hex(4)
        quick = subscribe(api, tagged(stack, tag), events=["case.opened"])
        stack.receiver.consumer.secrets.append(quick["secret"])
        api.post(f"/api/v1/webhook-endpoints/{slow['id']}/test")
        wait_until(
            lambda: any(d.status == DeliveryStatus.sending for d in webhook_rows(stack.db, slow["id"]))
        )
        api.post(f"/api/v1/webhook-endpoints/{quick['id']}/test")
        wait_until(lambda: received_for(stack, tag, "webhook.test"), timeout=TIMEOUT * 2)
        assert not stuck.consumer.accepted
        release.set()
        stuck.consumer.wait_for("webhook.test")
    finally:
        release.set()
        stuck.stop()


def test_endpoints_of_one_event_get_the_same_body(stack: HookStack, api: httpx.Client, setup: Setup) -> None:
    tags = [secrets.token_hex(4) for _ in range(3)]
    for tag in tags:
        created = subscribe(api, tagged(stack, tag), events=["case.resolved"], account_ids=[setup.account_id])
        stack.receiver.consumer.secrets.append(created["secret"])
    with stack.db.session() as s:
        payload = {"account_id": setup.account_id, "id": 77, "resolution": "Refunded"}
        outbox.emit(s, stack.org.org_id, "case.resolved", [f"recovery:{setup.account_id}"], payload)
    bodies = [wait_until(lambda tag=tag: received_for(stack, tag, "case.resolved"))[0] for tag in tags]  # type: ignore[misc]
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0]["data"] == {"account_id": setup.account_id, "id": 77, "resolution": "Refunded"}
    ids = {m.id for m in stack.receiver.consumer.accepted if m.query in {f"e={t}" for t in tags}}
    assert len(ids) == 3
