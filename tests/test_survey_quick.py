"""One-click ratings and recovery follow-up wording, through the real server (no browser: the
page's script is exercised in tests/test_survey_browser.py)."""

from __future__ import annotations

from sqlmodel import col, select

from streamsrv.db import Database
from streamsrv.models import Response, User
from tests.conftest import Tenant
from tests.reaching_support import customer, followup_link, link, post_rating
from tests.survey_support import csrf_of, feedback_event_types, make_setup, request_row, responses_for


def test_a_get_never_records_but_the_page_asks_its_script_to(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    body, path = link(tenant, setup)
    with customer(tenant) as client:
        page = client.get(f"{path}?rating=5")
        bare = client.get(path)
    assert responses_for(db, body["interaction_id"]) == []
    assert request_row(db, body["request"]["id"]).status == "pending"
    assert f'data-quick-rating="5" data-quick-url="{path}/rating"' in page.text
    # The thanks line is in the page, hidden until the script has recorded the star.
    assert 'id="quick-notice" role="status" tabindex="-1" hidden' in page.text
    assert "data-quick-rating" not in bare.text and "quick-notice" not in bare.text


def test_quick_rating_records_once_and_edits_the_same_response(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    body, path = link(tenant, setup)
    with customer(tenant) as client:
        first = post_rating(client, path, 5)
        assert first.status_code == 201, first.text
        assert first.json() == {"rating": 5, "created": True, "changed": True}
        # Opening the same link again: nothing is written, nothing announced.
        again = post_rating(client, path, 5)
        assert again.status_code == 200 and again.json() == {"rating": 5, "created": False, "changed": False}
        page = client.get(f"{path}?rating=5")
        assert "data-quick-rating" not in page.text
        assert 'id="quick-notice" role="status" tabindex="-1">' in page.text
        assert "Thanks, your 5★ is recorded. Add a comment or suggest a reward?" in page.text
        assert "already answered" not in page.text
        # The optional questions then edit that response.
        sent = client.post(
            path,
            data={
                "csrf_token": csrf_of(page),
                "rating": "5",
                "reward": "coffee",
                "comment": "Quick and kind",
            },
        )
        assert sent.status_code == 303, sent.text
    (row,) = responses_for(db, body["interaction_id"])
    assert (row.rating, row.reward, row.comment, row.source, row.edit_count) == (
        5,
        "coffee",
        "Quick and kind",
        "survey",
        1,
    )
    assert feedback_event_types(db, tenant.org_id) == [
        "feedback.received",
        "feedback.updated",
        "reward.suggested",
    ]


def test_a_different_star_edits_and_keeps_what_still_applies(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id, ask_nps=True)
    body, path = link(tenant, setup)
    with customer(tenant) as client:
        page = client.get(path)
        data = {"csrf_token": csrf_of(page), "rating": "5", "reward": "lunch", "comment": "Great", "nps": "9"}
        assert client.post(path, data=data).status_code == 303
        changed = post_rating(client, path, 2)
        assert changed.status_code == 200 and changed.json()["changed"] is True
        assert post_rating(client, path, 2).json()["changed"] is False
    (row,) = responses_for(db, body["interaction_id"])
    # A reward needs 4-5 stars: it goes; the comment and NPS stay.
    assert (row.rating, row.reward, row.comment, row.nps, row.edit_count) == (2, None, "Great", 9, 1)


def test_quick_rating_refusals(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id, edit_window_hours=0)
    body, path = link(tenant, setup)
    with customer(tenant) as client:
        client.get(path)
        origin = {"Origin": str(client.base_url).rstrip("/"), "Accept": "application/json"}
        forged = client.post(f"{path}/rating", data={"rating": "5", "csrf_token": "forged"}, headers=origin)
        assert forged.status_code == 403 and forged.json()["error"]["code"] == "forbidden"
        bad = post_rating(client, path, 7)
        assert bad.status_code == 422 and "rating" in bad.json()["error"]["fields"]
        assert responses_for(db, body["interaction_id"]) == []
        assert post_rating(client, path, 4).status_code == 201
        # An edit window of 0 hours: the answer is final at once.
        page = client.get(path)
        assert page.status_code == 409
        late = client.post(
            f"{path}/rating",
            data={"rating": "1", "csrf_token": client.cookies["streamsrv_csrf"]},
            headers=origin,
        )
        assert late.status_code == 409
        missing = client.post(
            "/f/not-a-token/rating",
            data={"rating": "1", "csrf_token": client.cookies["streamsrv_csrf"]},
            headers=origin,
        )
        assert missing.status_code == 404
    (row,) = responses_for(db, body["interaction_id"])
    assert (row.rating, row.edit_count) == (4, 0)


def test_recovery_followup_wording_and_promise(tenant: Tenant, db: Database) -> None:
    setup, path, staff_id = followup_link(tenant, db, promo_code="SORRY10")
    with customer(tenant) as client:
        page = client.get(path)
        assert page.status_code == 200
        text = page.text
        assert "How did we do?" in text and "How satisfied are you with how we handled it?" in text
        assert "What could we still do better?" in text
        # No reward for the original agent and no "rate the agent" wording.
        assert 'name="reward"' not in text and "reward-section" not in text
        assert (
            "How would you rate" not in text
            and "Maria Lopez" not in text
            and "You were helped by" not in text
        )
        refused = client.post(
            f"/api/v1/responses/{path.rsplit('/', 1)[1]}", json={"rating": 5, "reward": "coffee"}
        )
        assert refused.status_code == 422
        assert refused.json()["error"]["fields"]["reward"] == "this survey does not offer rewards"
        sent = client.post(path, data={"csrf_token": csrf_of(page), "rating": "2"})
        assert sent.status_code == 303, sent.text
        thanks = client.get(f"{path}/thanks")
        assert "answer about how we handled your issue has been received" in thanks.text
        assert "Maria Lopez" not in thanks.text
        assert "Someone from our team will be in touch." in thanks.text
        # Nobody staffs recovery for the account any more: no promise.
        with db.session() as s:
            user = s.get(User, staff_id)
            assert user is not None
            user.active = False
            s.add(user)
        assert "will be in touch" not in client.get(f"{path}/thanks").text
    with db.session() as s:
        rows = s.exec(
            select(Response).where(Response.account_id == setup.account_id).order_by(col(Response.id))
        ).all()
    assert [(r.rating, r.source) for r in rows] == [(1, "api"), (2, "recovery_followup")]


def test_promise_after_a_first_answer(tenant: Tenant, db: Database) -> None:
    from streamsrv.models import Role
    from tests.streaming import make_user

    setup = make_setup(db, tenant.org_id, negative_threshold=2)
    with customer(tenant) as client:
        # No recovery staff yet: a poor answer gets no promise.
        _, path = link(tenant, setup)
        assert post_rating(client, path, 1).status_code == 201
        assert "will be in touch" not in client.get(f"{path}/thanks").text
        make_user(db, tenant.org_id, Role.recovery, account_ids=[setup.account_id])
        assert "Someone from our team will be in touch." in client.get(f"{path}/thanks").text
        # 3 stars is above the threshold: no case is opened, so nothing is promised.
        _, path = link(tenant, setup)
        assert post_rating(client, path, 3).status_code == 201
        assert "will be in touch" not in client.get(f"{path}/thanks").text
        _, path = link(tenant, setup)
        assert post_rating(client, path, 5).status_code == 201
        assert "will be in touch" not in client.get(f"{path}/thanks").text
