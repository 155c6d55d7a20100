"""The survey page in a real Chromium: one-click stars that count, follow-up wording, language,
logo and accent colour. Plain ``def`` tests only (see tests/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page
from sqlmodel import select

from streamsrv.db import Database
from streamsrv.models import RecoveryCase, Response
from tests.browser import new_context
from tests.conftest import Tenant
from tests.reaching_support import customer, followup_link, link, png
from tests.support import wait_until
from tests.survey_support import make_setup, responses_for

PHONE = {"width": 390, "height": 844}


@contextmanager
def phone(browser: Browser, **options: object) -> Iterator[Page]:
    context = new_context(browser, viewport=PHONE, is_mobile=True, has_touch=True, **options)
    try:
        yield context.new_page()
    finally:
        context.close()


def answers(db: Database, interaction_id: int) -> list[tuple[int, int, str | None, str]]:
    return [(r.rating, r.edit_count, r.reward, r.comment) for r in responses_for(db, interaction_id)]


def in_first_screen(page: Page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not rendered"
    return box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]


def test_one_click_star_counts_in_a_browser_and_not_for_a_scanner(
    tenant: Tenant, db: Database, browser: Browser
) -> None:
    setup = make_setup(db, tenant.org_id)
    body, path = link(tenant, setup)
    url = f"{tenant.server.url}{path}?rating=5"
    # A mail scanner follows the link without running scripts: nothing is recorded.
    with customer(tenant) as scanner:
        assert scanner.get(url).status_code == 200
    assert responses_for(db, body["interaction_id"]) == []

    with phone(browser) as page:
        page.goto(url)
        notice = page.locator("#quick-notice")
        notice.wait_for(state="visible")
        assert notice.inner_text() == "Thanks, your 5★ is recorded. Add a comment or suggest a reward?"
        assert wait_until(lambda: answers(db, body["interaction_id"])) == [(5, 0, None, "")]
        # Rating first, the optional questions after it, and Send within reach on the phone.
        assert page.locator("#rating-5").is_checked()
        assert page.locator(".reward-section").is_visible()
        assert in_first_screen(page, ".submit")
        page.locator("#comment").scroll_into_view_if_needed()
        assert in_first_screen(page, ".submit")

        # Reloading the same link neither adds a response nor counts an edit.
        page.reload()
        notice.wait_for(state="visible")
        assert page.locator("form[data-quick-rating]").count() == 0
        assert answers(db, body["interaction_id"]) == [(5, 0, None, "")]

        # The optional questions edit that same response.
        page.locator("label[for=reward-2]").click()
        page.locator("#comment").fill("Sorted in two minutes")
        page.locator(".submit").click()
        page.wait_for_url(f"**{path}/thanks")
        assert page.locator("#thanks-title").inner_text() == "Thank you!"
    assert answers(db, body["interaction_id"]) == [(5, 1, "coffee", "Sorted in two minutes")]


def test_recovery_followup_in_a_browser(tenant: Tenant, db: Database, browser: Browser) -> None:
    setup, path, _ = followup_link(tenant, db)
    with phone(browser) as page:
        page.goto(f"{tenant.server.url}{path}?rating=4")
        page.locator("#quick-notice").wait_for(state="visible")
        assert page.locator("#survey-title").inner_text() == "How did we do?"
        assert page.locator(".reward-section").count() == 0 and page.locator(".agent-card").count() == 0
        assert "How would you rate" not in page.content()
        assert in_first_screen(page, ".submit")

    def after_rating() -> int | None:
        with db.session() as s:
            case = s.exec(select(RecoveryCase).where(RecoveryCase.account_id == setup.account_id)).one()
            return case.after_rating

    assert wait_until(after_rating) == 4
    with db.session() as s:
        sources = s.exec(select(Response.source).where(Response.account_id == setup.account_id)).all()
    assert sorted(sources) == ["api", "recovery_followup"]


def test_spanish_by_interaction_and_by_browser_language(
    tenant: Tenant, db: Database, browser: Browser
) -> None:
    setup = make_setup(db, tenant.org_id)
    _, spanish = link(tenant, setup, locale="es")
    _, plain = link(tenant, setup)
    with phone(browser, locale="en-US") as page:
        page.goto(f"{tenant.server.url}{spanish}?rating=2")
        page.locator("#quick-notice").wait_for(state="visible")
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.locator("html").get_attribute("dir") == "ltr"
        assert page.locator(".submit").inner_text() == "Enviar opinión"
        assert page.locator("#quick-notice").inner_text().startswith("Gracias, su valoración de 2★")
        page.locator("#comment").fill("abc")
        assert page.locator("[data-counter-for=comment]").inner_text() == "Caracteres restantes: 1997"
    with phone(browser, locale="es-ES") as page:
        page.goto(f"{tenant.server.url}{plain}")
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.locator("#field-rating legend").inner_text().startswith("¿Cómo valoraría a Maria Lopez?")


def test_logo_and_accent_colour_in_a_browser(tenant: Tenant, db: Database, browser: Browser) -> None:
    setup = make_setup(db, tenant.org_id, brand_color="#1a5e20", survey_intro="Thanks for choosing Acme.")
    uploaded = tenant.api.put(f"/api/v1/accounts/{setup.account_id}/logo", content=png())
    assert uploaded.status_code == 200, uploaded.text
    _, path = link(tenant, setup)
    with phone(browser) as page:
        blocked: list[str] = []
        page.on(
            "console",
            lambda message: (
                blocked.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        page.goto(f"{tenant.server.url}{path}")
        logo = page.locator("img.survey-logo")
        assert wait_until(lambda: logo.evaluate("img => img.complete && img.naturalWidth") == 4)
        accent = page.locator(".submit").evaluate("el => getComputedStyle(el).backgroundColor")
        assert accent == "rgb(26, 94, 32)"
        assert page.locator(".survey-intro").inner_text() == "Thanks for choosing Acme."
        page.locator("label[for=rating-5]").click()
        page.locator(".submit").click()
        page.wait_for_url(f"**{path}/thanks")
        assert page.locator("img.survey-logo").is_visible()
        share = page.locator(".edit-link a").evaluate("el => getComputedStyle(el).color")
        assert share == "rgb(26, 94, 32)"
    assert blocked == []
