"""Survey links written in a loop: rate-limited per token, and only visible changes are announced."""

from __future__ import annotations

from typing import Any

import httpx

from streamsrv.db import Database
from streamsrv.survey.edit_limit import RATES
from tests.conftest import Tenant
from tests.support import TIMEOUT
from tests.survey_support import csrf_of, make_setup, new_request, outbox, responses_for

BURST = RATES[0].amount
# What one write can announce at most: feedback.*, reward.suggested, stats.updated,
# leaderboard.updated, an alert and a recovery case event.
EVENTS_PER_WRITE = 6


def respond(client: httpx.Client, token: str, body: dict[str, Any]) -> httpx.Response:
    return client.post(f"/api/v1/responses/{token}", json=body)


def customer(tenant: Tenant) -> httpx.Client:
    return httpx.Client(base_url=tenant.server.url, timeout=TIMEOUT)


def test_rapid_edits_are_limited_per_token(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    issued = new_request(tenant, setup)
    other = new_request(tenant, setup)
    token = issued["request"]["token"]
    statuses: list[int] = []
    with customer(tenant) as client:
        for n in range(200):
            r = respond(client, token, {"rating": 5 if n % 2 else 4, "comment": f"edit {n}"})
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.json()["error"]["code"] == "rate_limited"
                assert 1 <= int(r.headers["retry-after"]) <= 3600
        # The limit is the link's, not the customer's: another link still answers.
        assert respond(client, other["request"]["token"], {"rating": 3}).status_code == 201
    written = [s for s in statuses if s in (200, 201)]
    assert statuses[0] == 201 and len(written) <= BURST
    assert set(statuses) <= {200, 201, 429}
    (row,) = responses_for(db, issued["interaction_id"])
    assert row.edit_count == len(written) - 1
    events = [e for e in outbox(db, tenant.org_id) if f"agent:{setup.agent_id}" in e.streams]
    assert len(events) <= (BURST + 1) * EVENTS_PER_WRITE


def test_identical_resubmissions_write_and_announce_nothing(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    issued = new_request(tenant, setup)
    token = issued["request"]["token"]
    answer = {"rating": 5, "comment": "Lovely", "reward": "coffee"}
    with customer(tenant) as client:
        assert respond(client, token, answer).status_code == 201
        before = len(outbox(db, tenant.org_id))
        (stored,) = responses_for(db, issued["interaction_id"])
        for _ in range(BURST - 1):
            again = respond(client, token, answer)
            assert again.status_code == 200, again.text
            assert again.json()["response"]["edit_count"] == 0
    assert len(outbox(db, tenant.org_id)) == before
    (row,) = responses_for(db, issued["interaction_id"])
    assert (row.edit_count, row.updated_at) == (0, stored.updated_at)


def test_edits_announce_only_what_changed(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    issued = new_request(tenant, setup)
    token = issued["request"]["token"]

    def types_after(body: dict[str, Any]) -> list[str]:
        seen = len(outbox(db, tenant.org_id))
        r = respond(client, token, body)
        assert r.status_code in (200, 201), r.text
        return [e.type for e in outbox(db, tenant.org_id)[seen:]]

    with customer(tenant) as client:
        first = types_after({"rating": 5, "comment": "Wonderful"})
        assert "leaderboard.updated" in first and "stats.updated" in first
        # A new comment on a 5: the answer changes, the floor's boards and ticker do not.
        assert types_after({"rating": 5, "comment": "Wonderful, truly"}) == ["feedback.updated"]
        # Another reward kind is announced; the boards only count whether there is one.
        assert "leaderboard.updated" in types_after(
            {"rating": 5, "comment": "Wonderful, truly", "reward": "coffee"}
        )
        rerated = types_after({"rating": 4, "comment": "Wonderful, truly", "reward": "coffee"})
    assert rerated[0] == "feedback.updated"
    assert "stats.updated" in rerated and "leaderboard.updated" in rerated
    highlights = [e for e in outbox(db, tenant.org_id, "leaderboard.updated") if "highlight" in e.payload]
    assert len(highlights) == 1


def test_survey_form_over_the_limit_shows_a_page(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    issued = new_request(tenant, setup)
    path = "/f/" + issued["request"]["url"].rsplit("/f/", 1)[1]
    with customer(tenant) as client:
        codes = []
        for n in range(BURST + 1):
            page = client.get(path)
            assert page.status_code == 200
            r = client.post(path, data={"csrf_token": csrf_of(page), "rating": str(1 + n % 5)})
            codes.append(r.status_code)
    assert codes == [303] * BURST + [429]
    assert int(r.headers["retry-after"]) >= 1
    assert "Please wait a moment" in r.text and "text/html" in r.headers["content-type"]
    (row,) = responses_for(db, issued["interaction_id"])
    assert row.edit_count == BURST - 1
