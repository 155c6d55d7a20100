"""POST /api/v1/responses/{token}, POST /api/v1/feedback (ingest) and GET /api/v1/feedback."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import col, select

from streamsrv.db import Database
from streamsrv.models import FeedbackRequest, Interaction, Response, utcnow
from streamsrv.tenancy import new_api_key
from tests.conftest import Tenant
from tests.support import TIMEOUT
from tests.survey_support import (
    Setup,
    feedback_event_types,
    interaction_body,
    make_setup,
    new_request,
    outbox,
    request_row,
    responses_for,
)

RESPONSE_KEYS = {
    "id",
    "account_id",
    "team_id",
    "agent_id",
    "agent",
    "interaction_id",
    "external_id",
    "ticket_url",
    "request_id",
    "channel",
    "channel_label",
    "rating",
    "comment",
    "comment_hidden",
    "reward",
    "reward_label",
    "improvement_areas",
    "improvement_area_labels",
    "csat",
    "nps",
    "fcr",
    "source",
    "edit_count",
    "created_at",
    "updated_at",
}


def respond(client: httpx.Client, token: str, body: Any) -> httpx.Response:
    return client.post(f"/api/v1/responses/{token}", json=body)


def anonymous(tenant: Tenant) -> httpx.Client:
    return tenant.client()


# --- POST /api/v1/responses/{token} -----------------------------------------------------------


def test_submit_then_edit_by_token(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id, ask_nps=True)
    issued = new_request(tenant, setup)
    token = issued["request"]["token"]
    with anonymous(tenant) as client:
        first = respond(client, token, {"rating": 5, "comment": "Great", "reward": "lunch", "nps": 10})
        assert first.status_code == 201, first.text
        resp = first.json()["response"]
        assert set(resp) == RESPONSE_KEYS
        assert resp["agent"] == {"id": setup.agent_id, "name": "Maria Lopez", "photo": None}
        assert (resp["rating"], resp["reward"], resp["nps"], resp["edit_count"]) == (5, "lunch", 10, 0)
        assert (resp["reward_label"], resp["channel_label"]) == ("Lunch", "Chat")
        assert resp["interaction_id"] == issued["interaction_id"]
        assert resp["request_id"] == issued["request"]["id"]
        assert resp["external_id"].startswith("T-") and resp["channel"] == "chat"
        # The same token twice: an edit of the same row, never a second one.
        again = respond(
            client, token, {"rating": 5, "comment": "Great, really", "reward": "lunch", "nps": 10}
        )
        assert again.status_code == 200, again.text
        assert again.json()["response"]["id"] == resp["id"]
        assert again.json()["response"]["edit_count"] == 1
        changed = respond(client, token, {"rating": 4, "reward": "gift_card"})
        assert changed.status_code == 200
    rows = responses_for(db, issued["interaction_id"])
    assert len(rows) == 1 and rows[0].edit_count == 2 and rows[0].comment == ""
    # The reward is announced when new and when changed, not on every edit.
    assert feedback_event_types(db, tenant.org_id) == [
        "feedback.received",
        "reward.suggested",
        "feedback.updated",
        "feedback.updated",
        "reward.suggested",
    ]
    last = outbox(db, tenant.org_id, "reward.suggested")[-1]
    assert last.payload["reward"]["code"] == "gift_card"
    assert last.streams == [f"agent:{setup.agent_id}", f"team:{setup.team_id}", f"account:{setup.account_id}"]


def test_concurrent_first_answers_make_one_row(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    issued = new_request(tenant, setup)
    token = issued["request"]["token"]
    codes: list[int] = []
    barrier = threading.Barrier(4)

    def call() -> None:
        with anonymous(tenant) as client:
            barrier.wait(timeout=TIMEOUT)
            codes.append(respond(client, token, {"rating": 3}).status_code)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=TIMEOUT * 4)
    assert sorted(codes) == [200, 200, 200, 201]
    assert len(responses_for(db, issued["interaction_id"])) == 1
    assert len(outbox(db, tenant.org_id, "feedback.received")) == 1


def test_invalid_answers_are_422_and_write_nothing(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id, ask_nps=True)
    issued = new_request(tenant, setup)
    token = issued["request"]["token"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": "five"}, "rating"),
        ({"rating": "5"}, "rating"),
        ({"rating": 4.0}, "rating"),
        ({"rating": True}, "rating"),
        ({}, "rating"),
        ({"rating": 4, "nps": 11}, "nps"),
        ({"rating": 4, "nps": -1}, "nps"),
        ({"rating": 4, "csat": 3}, "csat"),
        ({"rating": 4, "fcr": True}, "fcr"),
        ({"rating": 5, "reward": "yacht"}, "reward"),
        ({"rating": 2, "reward": "coffee"}, "reward"),
        ({"rating": 2, "improvement_areas": ["telepathy"]}, "improvement_areas"),
        ({"rating": 5, "improvement_areas": ["speed"]}, "improvement_areas"),
        ({"rating": 4, "comment": "x" * 2001}, "comment"),
        ({"rating": 4, "comment": "nul \x00"}, "comment"),
        ({"rating": 4, "colour": "blue"}, "colour"),
    ]
    with anonymous(tenant) as client:
        for body, field in cases:
            r = respond(client, token, body)
            assert r.status_code == 422, (body, r.text)
            assert field in r.json()["error"]["fields"], (body, r.text)
        ok = respond(client, token, {"rating": 4, "comment": "x" * 2000})
        assert ok.status_code == 201
        headers = {"content-type": "application/json"}
        assert client.post(f"/api/v1/responses/{token}", content=b"{nope", headers=headers).status_code == 400
        big = client.post(f"/api/v1/responses/{token}", json={"rating": 4, "comment": "y" * 70_000})
        assert big.status_code == 413
    (row,) = responses_for(db, issued["interaction_id"])
    assert row.edit_count == 0 and row.comment == "x" * 2000
    assert feedback_event_types(db, tenant.org_id) == ["feedback.received"]


def test_closed_links_by_api(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id, edit_window_hours=1)
    issued = new_request(tenant, setup)
    token = issued["request"]["token"]
    with anonymous(tenant) as client:
        r = respond(client, "no-such-token", {"rating": 5})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert respond(client, token, {"rating": 5}).status_code == 201
        with db.session() as s:
            row = s.exec(select(Response).where(Response.interaction_id == issued["interaction_id"])).one()
            row.created_at = utcnow() - timedelta(hours=2)
            s.add(row)
        r = respond(client, token, {"rating": 1})
        assert r.status_code == 409 and r.json()["error"]["code"] == "edit_window_closed"
        with db.session() as s:
            req = s.get(FeedbackRequest, issued["request"]["id"])
            assert req is not None
            req.expires_at = utcnow() - timedelta(minutes=1)
            s.add(req)
        r = respond(client, token, {"rating": 1})
        assert r.status_code == 410 and r.json()["error"]["code"] == "gone"
    (row,) = responses_for(db, issued["interaction_id"])
    assert row.rating == 5


def test_suppressed_request_has_no_working_token(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    new_request(tenant, setup, customer={"email": "same@example.com"})
    suppressed = new_request(tenant, setup, customer={"email": "same@example.com"})
    assert suppressed["request"]["token"] is None
    row = request_row(db, suppressed["request"]["id"])
    assert row.nonce == ""
    # Even the stored hash belongs to no token anyone knows; the lookup refuses it anyway.
    with anonymous(tenant) as client:
        assert respond(client, row.token_hash, {"rating": 5}).status_code == 404


# --- POST /api/v1/feedback (ingest) -----------------------------------------------------------


def ingest_body(setup: Setup, **overrides: Any) -> dict[str, Any]:
    body = interaction_body(setup, channel="phone", source="zendesk")
    body.update({"rating": 2, "comment": "Slow", "improvement_areas": ["speed"]})
    body.update(overrides)
    return body


def test_ingest_creates_everything_in_one_call(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id, suppression_days=30, created_at=utcnow() - timedelta(days=2))
    # The customer was asked recently: ingest is not subject to suppression.
    new_request(tenant, setup, customer={"email": "busy@example.com"})
    responded_at = (utcnow() - timedelta(hours=5)).replace(microsecond=0)
    body = ingest_body(setup, customer={"email": "busy@example.com"}, responded_at=responded_at.isoformat())
    r = tenant.api.post("/api/v1/feedback", json=body)
    assert r.status_code == 201, r.text
    resp = r.json()["response"]
    assert (resp["rating"], resp["source"], resp["channel"], resp["edit_count"]) == (2, "zendesk", "phone", 0)
    assert resp["created_at"].startswith(responded_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert request_row(db, resp["request_id"]).status == "responded"
    # Replay of the same interaction: updates that response.
    body.update(rating=3, comment="Fine after all", improvement_areas=[])
    again = tenant.api.post("/api/v1/feedback", json=body)
    assert again.status_code == 200, again.text
    assert again.json()["response"]["id"] == resp["id"]
    assert again.json()["response"]["edit_count"] == 1
    assert len(responses_for(db, resp["interaction_id"])) == 1
    assert feedback_event_types(db, tenant.org_id) == ["feedback.received", "feedback.updated"]


def test_concurrent_ingest_of_one_external_id_makes_one_answer(tenant: Tenant, db: Database) -> None:
    """Helpdesks retry on timeouts, so the same rating can arrive several times at once."""
    setup = make_setup(db, tenant.org_id)
    body = ingest_body(setup)
    results: list[httpx.Response] = []
    barrier = threading.Barrier(6)

    def call() -> None:
        with tenant.client(tenant.org.api_key) as client:
            barrier.wait(timeout=TIMEOUT)
            # list.append is atomic: no lock needed between the threads.
            results.append(client.post("/api/v1/feedback", json=body))

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=TIMEOUT * 4)
    assert sorted(r.status_code for r in results) == [200] * 5 + [201], [r.text for r in results]
    ids = {r.json()["response"]["id"] for r in results}
    assert len(ids) == 1
    interaction_id = results[0].json()["response"]["interaction_id"]
    assert len(responses_for(db, interaction_id)) == 1
    with db.session() as s:
        same = s.exec(
            select(Interaction).where(
                Interaction.account_id == setup.account_id, Interaction.external_id == body["external_id"]
            )
        ).all()
    assert len(same) == 1
    assert len(outbox(db, tenant.org_id, "feedback.received")) == 1


def test_ingest_answers_an_existing_pending_request(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    issued = new_request(tenant, setup)
    with db.session() as s:
        interaction = s.get(Interaction, issued["interaction_id"])
        assert interaction is not None
        external_id = interaction.external_id
    body = ingest_body(setup, external_id=external_id, rating=5, improvement_areas=[], reward="coffee")
    r = tenant.api.post("/api/v1/feedback", json=body)
    assert r.status_code == 201, r.text
    ingested = r.json()["response"]
    assert ingested["request_id"] == issued["request"]["id"]
    assert ingested["interaction_id"] == issued["interaction_id"]
    # The customer's link now edits that same answer.
    with anonymous(tenant) as client:
        edit = respond(client, issued["request"]["token"], {"rating": 4})
        assert edit.status_code == 200 and edit.json()["response"]["id"] == ingested["id"]
    assert len(responses_for(db, issued["interaction_id"])) == 1


def test_ingest_never_overwrites_the_customers_answer(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    by_link = new_request(tenant, setup)
    attached = new_request(tenant, setup)
    with db.session() as s:
        external = {
            i.id: i.external_id
            for i in s.exec(
                select(Interaction).where(
                    col(Interaction.id).in_([by_link["interaction_id"], attached["interaction_id"]])
                )
            ).all()
        }
    with anonymous(tenant) as client:
        assert (
            respond(client, by_link["request"]["token"], {"rating": 1, "comment": "Awful"}).status_code == 201
        )
    # Ingest answered first, then the customer changed it through the link: it is theirs now.
    first = ingest_body(
        setup, external_id=external[attached["interaction_id"]], rating=4, improvement_areas=[]
    )
    assert tenant.api.post("/api/v1/feedback", json=first).status_code == 201
    with anonymous(tenant) as client:
        assert respond(client, attached["request"]["token"], {"rating": 2}).status_code == 200
    events = len(outbox(db, tenant.org_id))
    for issued in (by_link, attached):
        body = ingest_body(
            setup, external_id=external[issued["interaction_id"]], rating=5, improvement_areas=[]
        )
        r = tenant.api.post("/api/v1/feedback", json=body)
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "answered_by_customer"
    assert [(r.rating, r.comment) for r in responses_for(db, by_link["interaction_id"])] == [(1, "Awful")]
    assert [r.rating for r in responses_for(db, attached["interaction_id"])] == [2]
    assert len(outbox(db, tenant.org_id)) == events


def test_ingest_validation_and_auth(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    with db.session() as s:
        _, read_only = new_api_key(s, tenant.org_id, "x", ["read"])
    cases: list[tuple[dict[str, Any], str]] = [
        ({"rating": 0}, "rating"),
        ({"rating": "five"}, "rating"),
        ({"reward": "coffee"}, "reward"),
        ({"agent_id": 999_999_999}, "agent_id"),
        ({"responded_at": (utcnow() + timedelta(days=1)).isoformat()}, "responded_at"),
        ({"nps": 7}, "nps"),
    ]
    for overrides, field in cases:
        r = tenant.api.post("/api/v1/feedback", json=ingest_body(setup, **overrides))
        assert r.status_code == 422 and field in r.json()["error"]["fields"], (overrides, r.text)
    with tenant.client(read_only) as client:
        assert client.post("/api/v1/feedback", json=ingest_body(setup)).status_code == 403
    with tenant.client("ssk_0011_wrong") as client:
        assert client.post("/api/v1/feedback", json=ingest_body(setup)).status_code == 401
    headers = {"content-type": "application/json"}
    assert tenant.api.post("/api/v1/feedback", content=b"{", headers=headers).status_code == 400
    assert outbox(db, tenant.org_id) == []
    assert tenant.api.get("/api/v1/feedback").json()["items"] == []


# --- GET /api/v1/feedback -----------------------------------------------------------------------


def ingest_many(tenant: Tenant, setup: Setup, n: int, **overrides: Any) -> list[int]:
    ids = []
    for i in range(n):
        body = ingest_body(setup, rating=1 + i % 5, improvement_areas=[], comment=f"#{i}", **overrides)
        r = tenant.api.post("/api/v1/feedback", json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["response"]["id"])
    return ids


def test_pagination_is_complete_and_stable(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    ids = ingest_many(tenant, setup, 23)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        r = tenant.api.get("/api/v1/feedback", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        seen.extend(item["id"] for item in page["items"])
        pages += 1
        if pages == 2:
            # Inserts between pages must neither repeat nor skip older rows.
            ingest_many(tenant, setup, 3)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    assert pages == 5


def test_filters_and_scope(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    other = make_setup(db, tenant.org_id)
    ingest_many(tenant, setup, 5)
    ingest_many(tenant, other, 2, channel="email")
    with db.session() as s:
        _, only_other = new_api_key(s, tenant.org_id, "client", ["read"], account_ids=[other.account_id])

    def get(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
        r = client.get("/api/v1/feedback", params=params)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    assert len(get(tenant.api)) == 7
    assert {i["account_id"] for i in get(tenant.api, account_id=setup.account_id)} == {setup.account_id}
    assert [i["rating"] for i in get(tenant.api, account_id=setup.account_id, rating=3)] == [3]
    assert sorted(i["rating"] for i in get(tenant.api, account_id=setup.account_id, min_rating=4)) == [4, 5]
    assert sorted(i["rating"] for i in get(tenant.api, account_id=setup.account_id, max_rating=2)) == [1, 2]
    assert len(get(tenant.api, channel="email")) == 2
    assert len(get(tenant.api, agent_id=setup.agent_id)) == 5
    assert len(get(tenant.api, team_id=other.team_id)) == 2
    now = utcnow()
    assert len(get(tenant.api, since=(now - timedelta(hours=1)).isoformat())) == 7
    assert get(tenant.api, until=(now - timedelta(hours=1)).isoformat()) == []
    with tenant.client(only_other) as client:
        assert {i["account_id"] for i in get(client)} == {other.account_id}
        assert get(client, account_id=setup.account_id) == []


def test_listing_errors(tenant: Tenant, db: Database) -> None:
    for params, field in [
        ({"cursor": "garbage!"}, "cursor"),
        ({"cursor": "WzEsMl0"}, None),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"rating": 9}, "rating"),
        ({"since": "last tuesday"}, "since"),
        ({"channel": "fax"}, "channel"),
    ]:
        r = tenant.api.get("/api/v1/feedback", params=params)
        if field is None:
            assert r.status_code == 200, r.text
            continue
        assert r.status_code == 422 and field in r.json()["error"]["fields"], (params, r.text)
    with db.session() as s:
        _, ingest_only = new_api_key(s, tenant.org_id, "x", ["ingest"])
    with tenant.client(ingest_only) as client:
        assert client.get("/api/v1/feedback").status_code == 403
    with tenant.client() as client:
        assert client.get("/api/v1/feedback").status_code == 401


def test_openapi_documents_the_endpoints(tenant: Tenant) -> None:
    spec = tenant.api.get("/api/v1/openapi.json").json()
    for path, method in [
        ("/api/v1/interactions", "post"),
        ("/api/v1/responses/{token}", "post"),
        ("/api/v1/feedback", "post"),
        ("/api/v1/feedback", "get"),
    ]:
        assert method in spec["paths"][path], path
    assert "ResponseOut" in spec["components"]["schemas"]
