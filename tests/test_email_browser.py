"""Survey emails seen through a browser: a star link opens the survey with its rating chosen,
and the demo's ``/outbox`` shows caught emails in a sandboxed frame. Plain ``def`` tests only
(see tests/browser.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from streamsrv.context import LoginHints
from streamsrv.demo.smtp_catcher import SmtpCatcher
from streamsrv.embedded_redis import EmbeddedRedis, free_port
from streamsrv.mail.outbox import outbox_dir, recent
from streamsrv.models import Response, Role
from streamsrv.tenancy import create_org
from tests.conftest import fresh_database, make_settings
from tests.email_support import STAR_LINK, MailStack, live_server, mail_stack, parts, unique_email
from tests.streaming import make_user
from tests.support import TIMEOUT, wait_until
from tests.survey_support import interaction_body, make_setup

PASSWORD = "correct horse battery"


def answer_of(stack: MailStack, request_id: int) -> int | None:
    """The rating stored for a feedback request, or None while unanswered."""
    with stack.db.session() as session:
        row = session.exec(select(Response).where(Response.request_id == request_id)).first()
        return None if row is None else row.rating


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis) -> Iterator[MailStack]:
    yield from mail_stack("sqlite", tmp_path_factory.mktemp("mail"), redis_server)


def test_a_star_link_from_the_email_opens_the_survey_with_that_rating(stack: MailStack, page: Page) -> None:
    setup = make_setup(stack.db, stack.org.org_id)
    email = unique_email()
    with stack.api() as api:
        body = interaction_body(setup, customer={"email": email, "name": "Cara"})
        created = api.post("/api/v1/interactions", json=body)
        assert created.status_code == 201
    [message] = stack.inbox.wait_for(email)
    links = {int(n): f"{url}?rating={n}" for url, _, n in STAR_LINK.findall(parts(message)[1])}
    # A mail scanner fetching the link records nothing ...
    assert httpx.get(links[4], timeout=TIMEOUT).status_code == 200
    assert answer_of(stack, created.json()["request"]["id"]) is None
    # ... a person's browser showing it records the star at once.
    page.goto(links[4])
    expect(page.locator("#quick-notice")).to_be_visible()
    wait_until(lambda: answer_of(stack, created.json()["request"]["id"]) == 4)
    expect(page.locator("#agent-name")).to_have_text("Maria Lopez")
    expect(page.locator("#rating-4")).to_be_checked()
    for other in (1, 2, 3, 5):
        expect(page.locator(f"#rating-{other}")).not_to_be_checked()


@pytest.fixture
def demo(tmp_path: Path, redis_server: EmbeddedRedis) -> Iterator[tuple[str, str, str]]:
    """A server in demo mode whose emails land in the demo's own catcher: (url, admin, manager)."""
    with fresh_database("sqlite", tmp_path) as database:
        port = free_port()
        settings = make_settings(
            database.url,
            redis_server.url,
            tmp_path,
            public_url=f"http://127.0.0.1:{port}",
            delivery_poll_interval=0.1,
        )
        catcher = SmtpCatcher(outbox_dir(settings)).start()
        settings = settings.replace(smtp_url=catcher.url)
        with database.session() as session:
            org = create_org(session, "Demo", f"admin-{secrets.token_hex(4)}@example.com", PASSWORD)
        setup = make_setup(database, org.org_id, brand_color="#0b5d1e")
        # The demo hands over its logins; that is what makes a server the demo.
        live = live_server(settings, port, LoginHints(logins=(), password=PASSWORD))
        try:
            with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {org.api_key}"}) as api:
                body = interaction_body(setup, customer={"email": unique_email(), "name": "<b>Cara</b>"})
                assert api.post("/api/v1/interactions", json=body).status_code == 201
            wait_until(lambda: recent(outbox_dir(settings)), timeout=TIMEOUT * 2)
            manager = make_user(database, org.org_id, Role.manager, PASSWORD)
            yield live.url, org.admin_email, manager.email
        finally:
            live.stop()
            catcher.stop()


def test_the_demo_outbox_shows_caught_emails_sandboxed(demo: tuple[str, str, str], page: Page) -> None:
    base, admin, manager = demo
    page.goto(f"{base}/login?next=/outbox")
    page.fill("#email", admin)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/outbox")
    expect(page.locator(".outbox-list li").first).to_contain_text("How did Maria do?")
    expect(page.locator(".outbox-list .to").first).to_contain_text("<b>Cara</b>")
    frame = page.locator("iframe.preview")
    expect(frame).to_have_attribute("sandbox", "")
    expect(page.frame_locator("iframe.preview").locator(".question")).to_have_text("How did Maria do?")

    src = frame.get_attribute("src")
    assert src is not None
    html = page.request.get(base + src)
    assert html.status == 200
    assert "sandbox" in html.headers["content-security-policy"]

    with httpx.Client(base_url=base, timeout=TIMEOUT) as anonymous:
        assert anonymous.get("/outbox").status_code == 303
    other = page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        tab = other.new_page()
        tab.goto(f"{base}/login?next=/outbox")
        tab.fill("#email", manager)
        tab.fill("#password", PASSWORD)
        tab.click("button[type=submit]")
        tab.wait_for_load_state()
        assert tab.goto(f"{base}/outbox").status == 403  # type: ignore[union-attr]
    finally:
        other.close()


def test_the_outbox_exists_only_in_the_demo(stack: MailStack) -> None:
    assert httpx.get(f"{stack.server.url}/outbox", timeout=TIMEOUT).status_code == 404
