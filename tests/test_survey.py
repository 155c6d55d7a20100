"""The survey page /f/{token}: rendering, one-click links, form submission, edits, closed links."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import httpx

from streamsrv.db import Database
from streamsrv.models import AgentPhoto, FeedbackRequest, Response, utcnow
from tests.conftest import Tenant
from tests.support import TIMEOUT
from tests.survey_support import (
    Setup,
    csrf_of,
    feedback_event_types,
    make_setup,
    new_request,
    outbox,
    request_row,
    responses_for,
)


def browser(tenant: Tenant) -> httpx.Client:
    """A customer's browser: no API key, keeps cookies."""
    return httpx.Client(base_url=tenant.server.url, timeout=TIMEOUT)


def path_of(url: str) -> str:
    return "/f/" + url.rsplit("/f/", 1)[1]


def submit(client: httpx.Client, path: str, data: dict[str, Any]) -> httpx.Response:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf_token": csrf_of(page), **data})


def started(tenant: Tenant, db: Database, **account: Any) -> tuple[Setup, dict[str, Any], str]:
    setup = make_setup(db, tenant.org_id, **account)
    body = new_request(tenant, setup)
    return setup, body, path_of(body["request"]["url"])


def test_page_shows_the_agent_and_the_form(tenant: Tenant, db: Database) -> None:
    _, _, path = started(tenant, db)
    with browser(tenant) as client:
        page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "Maria Lopez" in text and "Loves solving tricky billing questions." in text
    assert "climbing" in text and "jazz" in text
    assert 'class="avatar avatar-initials' in text and ">ML<" in text
    assert "<fieldset" in text and "<legend>" in text
    assert text.count('name="rating"') == 5
    assert 'maxlength="2000"' in text
    assert 'name="reward"' in text and 'name="improvement_areas"' in text
    # Optional questions appear only when the account asks them.
    assert 'name="nps"' not in text and 'name="csat"' not in text and 'name="fcr"' not in text
    assert "checked" not in text.split('name="rating"', 1)[1].split("</fieldset>", 1)[0]
    assert "streamsrv_csrf" in page.headers.get("set-cookie", "")
    # CSP-compatible: no inline styles or scripts.
    assert "style=" not in text and "<script>" not in text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_photo_choice(tenant: Tenant, db: Database) -> None:
    setup, _, path = started(tenant, db)
    from streamsrv.models import Agent

    with db.session() as s:
        agent = s.get(Agent, setup.agent_id)
        assert agent is not None
        agent.photo_url = "https://cdn.example.com/maria.jpg"
        s.add(agent)
    with browser(tenant) as client:
        assert 'src="https://cdn.example.com/maria.jpg"' in client.get(path).text
        with db.session() as s:
            s.add(
                AgentPhoto(agent_id=setup.agent_id, org_id=tenant.org_id, content_type="image/png", data=b"x")
            )
        assert f'src="/media/agents/{setup.agent_id}/photo"' in client.get(path).text


def test_optional_questions_when_enabled(tenant: Tenant, db: Database) -> None:
    _, body, path = started(tenant, db, ask_csat=True, ask_nps=True, ask_fcr=True)
    with browser(tenant) as client:
        text = client.get(path).text
        assert (
            text.count('name="nps"') == 11
            and text.count('name="csat"') == 5
            and text.count('name="fcr"') == 2
        )
        r = submit(
            client,
            path,
            {"rating": "2", "csat": "2", "nps": "4", "fcr": "no", "improvement_areas": ["speed"]},
        )
    assert r.status_code == 303, r.text
    (row,) = responses_for(db, body["interaction_id"])
    assert (row.csat, row.nps, row.fcr, row.improvement_areas) == (2, 4, False, ["speed"])


def test_get_never_records(tenant: Tenant, db: Database) -> None:
    _, body, path = started(tenant, db)
    with browser(tenant) as client:
        for query in ("", "?rating=5", "?rating=1", "?rating=9"):
            assert client.get(path + query).status_code == 200
        page = client.get(path + "?rating=5")
        assert client.head(path + "?rating=4").status_code == 200
    assert 'value="5"\n                 required checked' in page.text
    assert responses_for(db, body["interaction_id"]) == []
    assert outbox(db, tenant.org_id) == []
    assert request_row(db, body["request"]["id"]).status == "pending"


def test_form_submission_end_to_end(tenant: Tenant, db: Database) -> None:
    setup, body, path = started(tenant, db, promo_code="FRIEND10", share_url="https://acme.example/share")
    with browser(tenant) as client:
        r = submit(client, path, {"rating": "5", "comment": "Fantastic help!", "reward": "coffee"})
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"{path}/thanks"
        thanks = client.get(r.headers["location"])
    assert thanks.status_code == 200
    assert "Thank you" in thanks.text and "FRIEND10" in thanks.text
    assert 'href="https://acme.example/share"' in thanks.text
    assert f'href="{path}"' in thanks.text and "Edit my answer" in thanks.text

    (row,) = responses_for(db, body["interaction_id"])
    assert (row.rating, row.comment, row.reward, row.source, row.edit_count) == (
        5,
        "Fantastic help!",
        "coffee",
        "survey",
        0,
    )
    assert request_row(db, body["request"]["id"]).status == "responded"
    events = [e for e in outbox(db, tenant.org_id) if e.type.startswith(("feedback.", "reward."))]
    assert [e.type for e in events] == ["feedback.received", "reward.suggested"]
    streams = [f"agent:{setup.agent_id}", f"team:{setup.team_id}", f"account:{setup.account_id}"]
    assert all(e.streams == streams for e in events)
    assert events[0].payload["rating"] == 5 and events[0].payload["agent"]["name"] == "Maria Lopez"
    assert events[1].payload == {
        "response_id": row.id,
        "agent_id": setup.agent_id,
        "reward": {"code": "coffee", "label": "Coffee", "emoji": "\u2615"},
    }


def test_low_rating_thanks_has_no_promo(tenant: Tenant, db: Database) -> None:
    _, _, path = started(tenant, db, promo_code="FRIEND10")
    with browser(tenant) as client:
        r = submit(client, path, {"rating": "2", "improvement_areas": ["speed", "clarity"]})
        assert r.status_code == 303, r.text
        assert "FRIEND10" not in client.get(f"{path}/thanks").text


def test_validation_errors_rerender_escaped_and_record_nothing(tenant: Tenant, db: Database) -> None:
    _, body, path = started(tenant, db)
    comment = '<script>alert("x")</script> & more'
    with browser(tenant) as client:
        r = submit(client, path, {"rating": "2", "comment": comment, "reward": "coffee"})
        assert r.status_code == 422
        assert "<script>alert" not in r.text
        assert html.escape(comment, quote=False) in r.text or "&lt;script&gt;alert(&#34;x&#34;)" in r.text
        assert 'role="alert"' in r.text and "4 or 5 stars" in r.text
        assert 'href="#field-reward"' in r.text
        # What was typed is kept.
        assert 'value="2"\n                 required checked' in r.text
        r = submit(client, path, {"comment": "no stars"})
        assert r.status_code == 422 and "choose a rating" in r.text
        r = submit(client, path, {"rating": "5", "improvement_areas": ["speed"]})
        assert r.status_code == 422 and "1 to 3 stars" in r.text
        r = submit(client, path, {"rating": "5", "reward": "yacht"})
        assert r.status_code == 422
        r = submit(client, path, {"rating": "4", "comment": "x" * 2001})
        assert r.status_code == 422 and "2000 characters" in r.text
        r = submit(client, path, {"rating": "4", "nps": "8"})
        assert r.status_code == 422
    assert responses_for(db, body["interaction_id"]) == []
    assert outbox(db, tenant.org_id) == []


def test_csrf_is_required(tenant: Tenant, db: Database) -> None:
    _, body, path = started(tenant, db)
    with browser(tenant) as client:
        client.get(path)
        r = client.post(path, data={"rating": "5", "csrf_token": "forged"})
        assert r.status_code == 403
        assert 'name="csrf_token"' in r.text
    with browser(tenant) as fresh:
        assert fresh.post(path, data={"rating": "5"}).status_code == 403
    assert responses_for(db, body["interaction_id"]) == []


def test_edit_within_the_window_updates_the_same_row(tenant: Tenant, db: Database) -> None:
    _, body, path = started(tenant, db)
    with browser(tenant) as client:
        assert submit(client, path, {"rating": "3", "comment": "ok"}).status_code == 303
        page = client.get(path)
        assert page.status_code == 200
        assert "already answered" in page.text and ">ok</textarea>" in page.text
        assert 'value="3"\n                 required checked' in page.text
        r = submit(client, path, {"rating": "4", "comment": "better on reflection", "reward": "high_five"})
        assert r.status_code == 303
    (row,) = responses_for(db, body["interaction_id"])
    assert (row.rating, row.comment, row.reward, row.edit_count) == (
        4,
        "better on reflection",
        "high_five",
        1,
    )
    assert feedback_event_types(db, tenant.org_id) == [
        "feedback.received",
        "feedback.updated",
        "reward.suggested",
    ]


def test_edit_after_the_window_is_409(tenant: Tenant, db: Database) -> None:
    _, body, path = started(tenant, db, edit_window_hours=2)
    with browser(tenant) as client:
        assert submit(client, path, {"rating": "1"}).status_code == 303
        token = csrf_of(client.get(path))
        with db.session() as s:
            from sqlmodel import select

            row = s.exec(select(Response).where(Response.interaction_id == body["interaction_id"])).one()
            row.created_at = utcnow() - timedelta(hours=3)
            s.add(row)
        page = client.get(path)
        assert page.status_code == 409 and "Your answer is saved" in page.text
        r = client.post(path, data={"csrf_token": token, "rating": "5"})
        assert r.status_code == 409
        thanks = client.get(f"{path}/thanks")
        assert thanks.status_code == 200 and "Edit my answer" not in thanks.text
    (row,) = responses_for(db, body["interaction_id"])
    assert (row.rating, row.edit_count) == (1, 0)


def test_expired_and_unknown_links(tenant: Tenant, db: Database) -> None:
    _, body, path = started(tenant, db)
    with browser(tenant) as client:
        token = csrf_of(client.get(path))
        with db.session() as s:
            row = s.get(FeedbackRequest, body["request"]["id"])
            assert row is not None
            row.expires_at = utcnow() - timedelta(seconds=1)
            s.add(row)
        page = client.get(path)
        assert page.status_code == 410 and "This survey has closed" in page.text
        assert client.post(path, data={"csrf_token": token, "rating": "5"}).status_code == 410
        assert client.get(f"{path}/thanks").status_code == 410
        missing = client.get("/f/not-a-real-token")
        assert missing.status_code == 404 and "whole link" in missing.text
        assert client.get("/f/" + "x" * 300).status_code == 404
    assert responses_for(db, body["interaction_id"]) == []


def test_thanks_without_answer_goes_back_to_the_form(tenant: Tenant, db: Database) -> None:
    _, _, path = started(tenant, db)
    with browser(tenant) as client:
        r = client.get(f"{path}/thanks")
    assert r.status_code == 303 and r.headers["location"] == path


def test_static_assets_are_served(tenant: Tenant) -> None:
    with browser(tenant) as client:
        css = client.get("/static/css/survey.css")
        js = client.get("/static/js/survey.js")
    assert css.status_code == 200 and ".star-row" in css.text
    assert js.status_code == 200 and "updateSections" in js.text
