"""POST /api/v1/interactions: links, idempotency, suppression, agents, auth and bad input."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import httpx
from sqlmodel import func, select

from streamsrv.db import Database
from streamsrv.models import FeedbackRequest, Interaction, utcnow
from streamsrv.security.tokens import token_hash
from streamsrv.tenancy import new_api_key
from tests.conftest import Tenant
from tests.support import TIMEOUT
from tests.survey_support import interaction_body, make_setup, new_request, request_row


def count_interactions(db: Database, account_id: int) -> tuple[int, int]:
    with db.session() as s:
        interactions = s.exec(
            select(func.count()).select_from(Interaction).where(Interaction.account_id == account_id)
        ).one()
        requests = s.exec(
            select(func.count()).select_from(FeedbackRequest).where(FeedbackRequest.account_id == account_id)
        ).one()
    return interactions, requests


def test_interaction_issues_a_link(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id, request_ttl_days=3)
    body = new_request(tenant, setup)
    req = body["request"]
    assert req["status"] == "pending"
    settings = tenant.server.app.state.ctx.settings
    assert req["url"] == f"{settings.public_url}/f/{req['token']}"
    expires = datetime.fromisoformat(req["expires_at"])
    assert abs(expires - (utcnow() + timedelta(days=3))) < timedelta(minutes=1)
    row = request_row(db, req["id"])
    # Only a hash of the token is stored, never the token itself.
    assert row.token_hash == token_hash(req["token"])
    assert req["token"] not in (row.nonce, row.token_hash)
    assert row.interaction_id == body["interaction_id"]
    assert row.kind == "initial"


def test_replay_returns_the_same_link_and_creates_nothing(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    payload = interaction_body(setup)
    first = tenant.api.post("/api/v1/interactions", json=payload)
    assert first.status_code == 201, first.text
    again = tenant.api.post("/api/v1/interactions", json=payload)
    assert again.status_code == 200, again.text
    # The email's state is live (the worker may have tried it meanwhile); all else is the same.
    first_body, again_body = first.json(), again.json()
    first_delivery = first_body["request"].pop("delivery")
    again_delivery = again_body["request"].pop("delivery")
    assert again_body == first_body
    assert again_delivery["channel"] == first_delivery["channel"] == "email"
    assert count_interactions(db, setup.account_id) == (1, 1)


def test_concurrent_first_calls_create_one_interaction(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    payload = interaction_body(setup)
    results: list[httpx.Response] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def call() -> None:
        with tenant.client(tenant.org.api_key) as client:
            barrier.wait(timeout=TIMEOUT)
            r = client.post("/api/v1/interactions", json=payload)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=TIMEOUT * 4)
    assert sorted(r.status_code for r in results) == [200] * 5 + [201], [r.text for r in results]
    assert len({r.json()["request"]["token"] for r in results}) == 1
    assert count_interactions(db, setup.account_id) == (1, 1)


def test_agent_by_helpdesk_id(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    body = interaction_body(setup, agent_id=None, agent_external_id={"system": "zendesk", "id": "zd-2"})
    r = tenant.api.post("/api/v1/interactions", json=body)
    assert r.status_code == 201, r.text
    assert request_row(db, r.json()["request"]["id"]).agent_id == setup.other_agent_id


def test_suppression_within_the_period(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id, suppression_days=7)
    other = make_setup(db, tenant.org_id)
    email = "Repeat.Customer@Example.com"
    first = new_request(tenant, setup, customer={"email": email})
    assert first["request"]["status"] == "pending"

    second = new_request(tenant, setup, customer={"email": email.lower()})
    assert second["request"]["status"] == "suppressed"
    assert second["request"]["token"] is None and second["request"]["url"] is None
    assert second["interaction_id"] != first["interaction_id"]
    # Suppressed requests do not extend the period and are stored for the record.
    assert request_row(db, second["request"]["id"]).status == "suppressed"
    # Another account of the same org may still ask this customer.
    assert new_request(tenant, other, customer={"email": email})["request"]["status"] == "pending"
    # Customers without email are never suppressed.
    assert new_request(tenant, setup, customer=None)["request"]["status"] == "pending"

    # Once the first request is older than the period, asking again is fine.
    with db.session() as s:
        row = s.get(FeedbackRequest, first["request"]["id"])
        assert row is not None
        row.created_at = utcnow() - timedelta(days=8)
        s.add(row)
    assert new_request(tenant, setup, customer={"email": email})["request"]["status"] == "pending"


def test_unknown_or_foreign_agent_and_account(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    other = make_setup(db, tenant.org_id)

    def post(**overrides: object) -> httpx.Response:
        return tenant.api.post("/api/v1/interactions", json=interaction_body(setup, **overrides))

    r = post(agent_id=999_999_999)
    assert r.status_code == 422 and "agent_id" in r.json()["error"]["fields"], r.text
    r = post(agent_id=other.agent_id)
    assert r.status_code == 422 and "agent_id" in r.json()["error"]["fields"], r.text
    r = post(agent_id=None, agent_external_id={"system": "zendesk", "id": "nobody"})
    assert r.status_code == 422 and "agent_external_id" in r.json()["error"]["fields"], r.text
    r = post(agent_external_id={"system": "zendesk", "id": "zd-1"})
    assert r.status_code == 422 and "agent_id" in r.json()["error"]["fields"], r.text
    r = post(agent_id=None)
    assert r.status_code == 422 and "agent_id" in r.json()["error"]["fields"], r.text
    r = post(account_id=999_999_999)
    assert r.status_code == 422 and "account_id" in r.json()["error"]["fields"], r.text
    assert count_interactions(db, setup.account_id) == (0, 0)


def test_other_org_account_is_unknown(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    with db.session() as s:
        from streamsrv.tenancy import create_org

        stranger = create_org(s, "Stranger", f"x-{setup.account_id}-{tenant.org_id}@example.org")
    r = httpx.post(
        f"{tenant.server.url}/api/v1/interactions",
        json=interaction_body(setup),
        headers={"Authorization": f"Bearer {stranger.api_key}"},
        timeout=TIMEOUT,
    )
    assert r.status_code == 422, r.text
    assert "account_id" in r.json()["error"]["fields"]


def test_auth_and_scope(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    other = make_setup(db, tenant.org_id)
    with db.session() as s:
        _, read_only = new_api_key(s, tenant.org_id, "x", ["read"])
        _, limited = new_api_key(s, tenant.org_id, "y", ["ingest"], account_ids=[other.account_id])
    body = interaction_body(setup)
    with tenant.client("ssk_deadbeef_nope") as bad:
        r = bad.post("/api/v1/interactions", json=body)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    with tenant.client() as anonymous:
        assert anonymous.post("/api/v1/interactions", json=body).status_code == 401
    with tenant.client(read_only) as client:
        r = client.post("/api/v1/interactions", json=body)
        assert r.status_code == 403, r.text
    with tenant.client(limited) as client:
        r = client.post("/api/v1/interactions", json=body)
        assert r.status_code == 403, r.text
        assert client.post("/api/v1/interactions", json=interaction_body(other)).status_code == 201
    assert count_interactions(db, setup.account_id) == (0, 0)


def test_bad_input(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    headers = {"content-type": "application/json"}
    r = tenant.api.post("/api/v1/interactions", content=b'{"account_id": ', headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    r = tenant.api.post("/api/v1/interactions", content=b"[1, 2]", headers=headers)
    assert r.status_code == 400
    big = interaction_body(setup, source="x" * 70_000)
    r = tenant.api.post("/api/v1/interactions", json=big)
    assert r.status_code == 413, r.text
    for field, value in [
        ("channel", "pigeon"),
        ("external_id", ""),
        ("external_id", "x" * 201),
        ("account_id", "1"),
        ("occurred_at", "yesterday"),
        ("customer", {"email": "not-an-email"}),
        ("external_id", "nul\x00byte"),
    ]:
        r = tenant.api.post("/api/v1/interactions", json=interaction_body(setup, **{field: value}))
        assert r.status_code == 422, (field, value, r.text)
        assert any(name.startswith(field) for name in r.json()["error"]["fields"]), r.text
    r = tenant.api.post("/api/v1/interactions", json={**interaction_body(setup), "surprise": 1})
    assert r.status_code == 422 and "surprise" in r.json()["error"]["fields"]
    assert count_interactions(db, setup.account_id) == (0, 0)
