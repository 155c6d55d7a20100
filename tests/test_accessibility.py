"""Every page of the product, opened in the real headless Chromium by someone who may open it,
has no "serious" or "critical" accessibility violation found by axe-core.

``PAGES`` below is the list of pages: one row per page (or per state of a page worth checking on
its own), saying who opens it and how its URL is built. A new page is one more row;
``test_every_page_route_has_a_row`` fails while an HTML page route of the app has none.
Plain ``def`` tests only (see tests/browser.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select
from starlette.routing import BaseRoute, Mount, Route

from streamsrv.app import create_app
from streamsrv.auth import SESSION_COOKIE
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.embedded_redis import EmbeddedRedis
from streamsrv.models import QaEvaluation, QaTemplate, Response, Role, User, utcnow
from tests.accessibility_support import World, audit, build_world, demo_world, describe, failing
from tests.browser import new_context
from tests.streaming import store_response
from tests.support import LiveServer

# The sentinel the live pages set once their script has loaded its data and its socket is
# subscribed (static/js/stream.js), the same one their own page tests wait for.
LIVE = "#conn[data-state=live]"
TV = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class PageRow:
    name: str
    # Who opens it: a Role, or None for nobody logged in (customers, a TV, the login page).
    role: Role | None
    # The app's route this row checks (as in ``app.routes``); None for a URL no route serves.
    route: str | None
    url: Callable[[World], str]
    # A selector present once the page has settled (its script connected), if it has one.
    ready: str | None = None
    status: int = 200
    # "demo": served by a server in demo mode (the only one with the outbox).
    server: str = "app"
    viewport: dict[str, int] | None = None
    # Brings the page into a state of its own after it settled (an error shown, a dialog open).
    then: Callable[[Page], None] | None = None


def at(path: str) -> Callable[[World], str]:
    return lambda _: path


def qa_reviewed(w: World) -> int:
    """A scorecard and an evaluated interaction of the world's agent (with a comment to show)."""
    db = w.server.app.state.ctx.db
    response_id = store_response(
        db, utcnow(), org_id=w.org_id, account_id=w.account_id, team_id=w.team_id, agent_id=w.agent_id
    )
    with db.session() as s:
        response = s.get(Response, response_id)
        assert response is not None
        response.comment = "Quick and kind"
        reviewer = s.exec(select(User).where(User.org_id == w.org_id, User.role == Role.team_leader)).first()
        assert reviewer is not None and reviewer.id is not None
        card = QaTemplate(
            org_id=w.org_id,
            account_id=w.account_id,
            name="Chat quality",
            sections=[
                {
                    "name": "Opening",
                    "weight": 1,
                    "criteria": [
                        {"id": "c1", "name": "Greeting", "weight": 1, "kind": "yes_no", "auto_fail": False},
                        {
                            "id": "c2",
                            "name": "Solved it",
                            "weight": 1,
                            "kind": "scale_1_5",
                            "auto_fail": True,
                        },
                    ],
                }
            ],
        )
        s.add(card)
        s.flush()
        card.family_id = card.id
        assert card.id is not None
        s.add(
            QaEvaluation(
                org_id=w.org_id,
                account_id=w.account_id,
                team_id=w.team_id,
                agent_id=w.agent_id,
                interaction_id=response.interaction_id,
                template_id=card.id,
                reviewer_id=reviewer.id,
                answers={"c1": "yes", "c2": 4},
                comment="Good call",
                score=87.5,
            )
        )
        return response.interaction_id


def wrong_password(page: Page) -> None:
    page.fill("#email", "nobody@example.com")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_be_visible()


def survey_refused(page: Page) -> None:
    """A low rating and a comment over the limit (a script can set one; typing cannot)."""
    page.locator("label[for=rating-2]").click()
    page.locator("#comment").evaluate("(el) => { el.value = 'x'.repeat(el.maxLength + 1); }")
    page.locator(".submit").click()
    expect(page.locator(".field-error").first).to_be_visible()


def case_opened(page: Page) -> None:
    page.locator(".case .case-open").first.click()
    expect(page.locator(".cd")).to_be_visible()


def bar_drilled(page: Page) -> None:
    page.locator("#chart-distribution .col.r1").click()
    expect(page.locator("#drill")).to_be_visible()
    expect(page.locator("#response-list .feed-card").first).to_be_visible()


def moderation_asked(page: Page) -> None:
    page.locator("#response-list .feed-card .moderate").first.click()
    expect(page.locator("#moderate-dialog")).to_be_visible()


def adjustment_refused(page: Page) -> None:
    """The adjustment form sent empty: the error summary and each field's message."""
    page.click("#add-adjustment")
    expect(page.locator("#error-summary")).to_be_visible()


PAGES: list[PageRow] = [
    PageRow("login", None, "/login", at("/login")),
    PageRow("login-failed", None, "/login", at("/login"), then=wrong_password),
    PageRow("home-admin", Role.admin, "/", at("/")),
    PageRow("home-agent", Role.agent, "/", at("/")),
    PageRow("live", Role.manager, "/live", at("/live"), LIVE),
    PageRow("me", Role.agent, "/me", at("/me"), LIVE),
    PageRow("coach", Role.team_leader, "/coach", lambda w: f"/coach?team_id={w.team_id}", LIVE),
    PageRow("recovery", Role.recovery, "/recovery", at("/recovery"), LIVE),
    PageRow("recovery-case", Role.recovery, "/recovery", at("/recovery"), LIVE, then=case_opened),
    PageRow("dashboard", Role.manager, "/dashboard", at("/dashboard"), LIVE),
    PageRow("dashboard-drill", Role.manager, "/dashboard", at("/dashboard"), LIVE, then=bar_drilled),
    PageRow("dashboard-moderate", Role.manager, "/dashboard", at("/dashboard"), LIVE, then=moderation_asked),
    PageRow("dashboard-client", Role.client_viewer, "/dashboard", at("/dashboard"), LIVE),
    PageRow("wallboard-index-admin", Role.admin, "/wallboard", at("/wallboard")),
    PageRow("wallboard-index-manager", Role.manager, "/wallboard", at("/wallboard")),
    PageRow(
        "wallboard-team",
        Role.manager,
        "/wallboard/team/{target_id:int}",
        lambda w: f"/wallboard/team/{w.team_id}",
        LIVE,
    ),
    PageRow(
        "wallboard-account",
        Role.manager,
        "/wallboard/account/{target_id:int}",
        lambda w: f"/wallboard/account/{w.account_id}",
        LIVE,
    ),
    PageRow(
        "wallboard-display",
        None,
        "/wallboard/display/{display_id:int}",
        lambda w: w.display_path,
        LIVE,
        viewport=TV,
    ),
    PageRow(
        "wallboard-display-revoked",
        None,
        "/wallboard/display/{display_id:int}",
        lambda w: f"/wallboard/display/{w.display_id}?token=revoked",
        status=401,
        viewport=TV,
    ),
    PageRow("admin-integrations", Role.admin, "/admin/integrations", at("/admin/integrations")),
    PageRow("qa-review", Role.team_leader, "/qa", lambda w: f"/qa?interaction_id={qa_reviewed(w)}"),
    PageRow("qa-mine", Role.agent, "/qa/mine", lambda w: (qa_reviewed(w), "/qa/mine")[1]),
    PageRow("statements", Role.manager, "/statements", lambda w: f"/statements?account={w.account_id}"),
    PageRow(
        "statements-refused",
        Role.manager,
        "/statements",
        lambda w: f"/statements?account={w.account_id}",
        then=adjustment_refused,
    ),
    PageRow(
        "statements-confirm-close",
        Role.manager,
        "/statements",
        lambda w: f"/statements?account={w.account_id}&confirm=close",
    ),
    PageRow(
        "statements-client",
        Role.client_viewer,
        "/statements",
        lambda w: f"/statements?account={w.account_id}",
    ),
    PageRow(
        "one-on-one",
        Role.team_leader,
        "/agents/{agent_id:int}/one-on-one",
        lambda w: (qa_reviewed(w), f"/agents/{w.agent_id}/one-on-one?period=30d")[1],
    ),
    PageRow(
        "one-on-one-agent",
        Role.agent,
        "/agents/{agent_id:int}/one-on-one",
        lambda w: f"/agents/{w.agent_id}/one-on-one?period=last_month",
    ),
    PageRow("admin-index", Role.admin, "/admin", at("/admin")),
    PageRow("admin-index-leader", Role.team_leader, "/admin", at("/admin")),
    PageRow("admin-accounts", Role.admin, "/admin/accounts", at("/admin/accounts")),
    PageRow("admin-account-new", Role.admin, "/admin/accounts/new", at("/admin/accounts/new")),
    PageRow(
        "admin-account",
        Role.admin,
        "/admin/accounts/{account_id:int}",
        lambda w: f"/admin/accounts/{w.account_id}",
    ),
    PageRow("admin-displays", Role.admin, "/admin/displays", at("/admin/displays")),
    PageRow("admin-displays-leader", Role.team_leader, "/admin/displays", at("/admin/displays")),
    PageRow("admin-api-keys", Role.admin, "/admin/api-keys", at("/admin/api-keys")),
    PageRow("admin-users", Role.admin, "/admin/users", at("/admin/users")),
    PageRow("admin-user", Role.admin, "/admin/users/{user_id:int}", lambda w: f"/admin/users/{w.user_id}"),
    PageRow("admin-teams", Role.admin, "/admin/teams", at("/admin/teams")),
    PageRow("admin-agents", Role.admin, "/admin/agents", at("/admin/agents")),
    PageRow("admin-agent-new", Role.admin, "/admin/agents/new", at("/admin/agents/new")),
    PageRow(
        "admin-agent", Role.admin, "/admin/agents/{agent_id:int}", lambda w: f"/admin/agents/{w.agent_id}"
    ),
    PageRow("admin-agents-import", Role.admin, "/admin/agents/import", at("/admin/agents/import")),
    PageRow("settings", Role.manager, "/settings", at("/settings")),
    PageRow("settings-profile", Role.agent, "/settings/profile", at("/settings/profile")),
    PageRow("invite", None, "/invite/{token}", lambda w: w.invite_path),
    PageRow("password-forgot", None, "/password/forgot", at("/password/forgot")),
    PageRow("password-reset", None, "/password/reset/{token}", lambda w: w.reset_path),
    PageRow("outbox", Role.admin, "/outbox", at("/outbox"), server="demo"),
    PageRow(
        "outbox-email",
        Role.admin,
        "/outbox/{key}/html",
        lambda w: f"/outbox/{w.outbox_key}/html",
        server="demo",
    ),
    PageRow("survey", None, "/f/{token}", lambda w: w.survey_path),
    PageRow("survey-phone", None, "/f/{token}", lambda w: w.survey_path, viewport=PHONE),
    PageRow("survey-refused", None, "/f/{token}", lambda w: w.survey_path, then=survey_refused),
    PageRow("survey-thanks", None, "/f/{token}/thanks", lambda w: f"{w.answered_path}/thanks"),
    PageRow("survey-gone", None, "/f/{token}", at("/f/not-a-real-token"), status=404),
    PageRow("unsubscribe", None, "/u/{token}", lambda w: w.unsubscribe_path),
    PageRow("error-403", Role.agent, "/dashboard", at("/dashboard"), status=403),
    PageRow("error-404", None, None, at("/no-such-page"), status=404),
]

# GET routes that never answer a page, so have no row: each with why.
NOT_PAGES: dict[str, str] = {
    "/healthz": "JSON health check for load balancers",
    "/readyz": "JSON readiness check for load balancers",
    "/metrics": "Prometheus metrics, plain text",
    "/favicon.ico": "the icon (SVG)",
    "/admin/agents/import/sample.csv": "a sample CSV file to download",
}
NOT_PAGE_PREFIXES: dict[str, str] = {
    "/api/": "the JSON API (errors are JSON too)",
    "/media/": "images: account logos and agent photos",
}


@pytest.fixture(scope="module")
def world(server: LiveServer, db: Database) -> World:
    return build_world(server, db)


@pytest.fixture(scope="module")
def demo(
    backend: str, tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[World]:
    with demo_world(backend, tmp_path_factory.mktemp("a11y-demo"), redis_server) as shown:
        yield shown


@pytest.mark.parametrize("row", PAGES, ids=lambda row: row.name)
def test_page_has_no_serious_accessibility_violation(
    row: PageRow,
    backend: str,
    request: pytest.FixtureRequest,
    browser: Browser,
) -> None:
    shown: World = request.getfixturevalue("demo" if row.server == "demo" else "world")
    base = shown.server.url
    options = {"viewport": row.viewport} if row.viewport else {}
    # The app's Content-Security-Policy forbids inline scripts: bypass it to inject axe-core.
    context = new_context(browser, bypass_csp=True, **options)
    try:
        if row.role is not None:
            context.add_cookies([{"name": SESSION_COOKIE, "value": shown.sessions[row.role], "url": base}])
        page = context.new_page()
        answer = page.goto(base + row.url(shown))
        assert answer is not None and answer.status == row.status, (answer and answer.status, page.url)
        assert page.url.startswith(base + row.url(shown).split("?")[0]), f"redirected to {page.url}"
        if row.ready is not None:
            expect(page.locator(row.ready)).to_be_attached()
        page.wait_for_load_state("networkidle")
        if row.then is not None:
            row.then(page)
            page.wait_for_load_state("networkidle")
        violations = audit(page)
    finally:
        context.close()
    serious = failing(violations)
    assert not serious, f"{row.name}: {len(serious)} serious or critical violation(s):\n{describe(serious)}"


def get_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[str]:
    """The path of every GET route, mounted ones included."""
    for route in routes:
        if isinstance(route, Route) and "GET" in (route.methods or ()):
            yield prefix + route.path
        elif isinstance(route, Mount):
            # Static file mounts have no routes; a mounted router's routes are walked.
            yield from get_routes(list(route.routes), prefix + route.path)


def test_every_page_route_has_a_row(tmp_path: Path) -> None:
    app = create_app(Settings(secret_key=secrets.token_urlsafe(32), data_dir=tmp_path))
    routes = set(get_routes(list(app.routes)))
    pages = {
        path for path in routes if path not in NOT_PAGES and not path.startswith(tuple(NOT_PAGE_PREFIXES))
    }
    covered = {row.route for row in PAGES if row.route is not None}
    assert sorted(pages - covered) == [], "page routes without a row in PAGES (or a reason in NOT_PAGES)"
    assert sorted(covered - routes) == [], "rows in PAGES for routes the app does not have"
    assert len({row.name for row in PAGES}) == len(PAGES), "two rows have the same name"
