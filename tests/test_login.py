"""Login, logout, the home page and session invalidation, through a live server with real Redis."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from streamsrv.auth import SESSION_COOKIE
from tests.conftest import Tenant
from tests.login_support import Browser

PASSWORD = "a long enough password"


def make_user(tenant: Tenant, role: str = "manager", name: str = "Mona", **scope: Any) -> str:
    api = tenant.api
    if role in ("manager", "client_viewer", "recovery") and "account_ids" not in scope:
        scope["account_ids"] = [
            api.post("/api/v1/accounts", json={"name": f"A {secrets.token_hex(3)}"}).json()["id"]
        ]
    email = f"user-{secrets.token_hex(4)}@example.com"
    r = api.post(
        "/api/v1/users", json={"email": email, "name": name, "password": PASSWORD, "role": role, **scope}
    )
    assert r.status_code == 201, r.text
    return email


def user_id(tenant: Tenant, email: str) -> int:
    users = tenant.api.get("/api/v1/users").json()["items"]
    found: int = next(u["id"] for u in users if u["email"] == email)
    return found


def test_login_page_has_csrf_field_and_cookie(tenant: Tenant) -> None:
    with Browser(tenant.server.url) as browser:
        page = browser.get("/login?next=/dashboard")
        assert page.status_code == 200
        assert 'name="email"' in page.text and 'name="password"' in page.text
        assert 'name="next" value="/dashboard"' in page.text
        assert browser.csrf_token() == browser.cookies["streamsrv_csrf"]
        assert browser.set_cookies["streamsrv_csrf"]["httponly"]


def test_home_redirects_to_login_when_logged_out(tenant: Tenant) -> None:
    with Browser(tenant.server.url) as browser:
        r = browser.get("/")
        assert r.status_code == 303 and r.headers["location"] == "/login"
        browser.cookies[SESSION_COOKIE] = "forged.cookie.value"
        assert browser.get("/").status_code == 303


def test_login_success_sets_session_and_home_greets(tenant: Tenant) -> None:
    email = make_user(tenant, name="<script>alert('mona')</script>")
    with Browser(tenant.server.url) as browser:
        r = browser.login(email.upper(), PASSWORD)
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = browser.set_cookies[SESSION_COOKIE]
        assert cookie["httponly"] and cookie["samesite"].lower() == "lax" and cookie["path"] == "/"
        assert int(cookie["max-age"]) > 0 and not cookie["secure"]
        home = browser.get("/")
        assert home.status_code == 200
        assert "&lt;script&gt;alert(" in home.text and "<script>alert(" not in home.text
        assert "Manager" in home.text and 'href="/dashboard"' in home.text
        assert 'href="/me"' not in home.text and 'href="/wallboard"' in home.text
        # Already logged in: the login page sends the user on.
        assert browser.get("/login").status_code == 303


def test_login_redirects_only_to_safe_next(tenant: Tenant) -> None:
    email = make_user(tenant)
    for next_url, expected in [
        ("/dashboard?account=1", "/dashboard?account=1"),
        ("//evil.example.com/x", "/"),
        ("https://evil.example.com/", "/"),
        ("/\\evil.example.com", "/"),
        ("javascript:alert(1)", "/"),
    ]:
        with Browser(tenant.server.url) as browser:
            r = browser.login(email, PASSWORD, next_url=next_url)
            assert r.status_code == 303 and r.headers["location"] == expected, next_url


def test_home_links_follow_the_role(tenant: Tenant) -> None:
    api = tenant.api
    account_id = api.post("/api/v1/accounts", json={"name": "Acme"}).json()["id"]
    team = api.post("/api/v1/teams", json={"account_id": account_id, "name": "Night shift"}).json()
    agent = api.post("/api/v1/agents", json={"team_id": team["id"], "name": "Dana"}).json()
    cases = [
        (make_user(tenant, "agent", agent_id=agent["id"]), "/me", "Dana"),
        (make_user(tenant, "team_leader", team_ids=[team["id"]]), "/coach", "Night shift"),
        (make_user(tenant, "recovery", account_ids=[account_id]), "/recovery", "Acme"),
        (tenant.org.admin_email, "/wallboard", "Everything in your organization"),
    ]
    for email, link, scope_text in cases:
        password = "correct horse battery" if email == tenant.org.admin_email else PASSWORD
        with Browser(tenant.server.url) as browser:
            assert browser.login(email, password).status_code == 303
            home = browser.get("/").text
            assert f'href="{link}"' in home and scope_text in home, email


def test_wrong_credentials_get_one_generic_answer(tenant: Tenant) -> None:
    email = make_user(tenant)
    with Browser(tenant.server.url) as browser:
        wrong = browser.login(email, "not the password")
        unknown = browser.login(f"nobody-{secrets.token_hex(4)}@example.com", PASSWORD)
        for r in (wrong, unknown):
            assert r.status_code == 400
            assert "Wrong email or password." in r.text
            assert SESSION_COOKIE not in browser.cookies
        assert browser.post("/login", data={"csrf_token": browser.csrf_token()}).status_code == 400
        nul = browser.login("nobody\x00@example.com", PASSWORD)
        assert nul.status_code == 400 and "Wrong email or password." in nul.text


def test_login_without_valid_csrf_is_refused(tenant: Tenant) -> None:
    email = make_user(tenant)
    with Browser(tenant.server.url) as browser:
        browser.csrf_token()
        r = browser.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": "forged"})
        assert r.status_code == 403 and SESSION_COOKIE not in browser.cookies
        token = browser.csrf_token()
        r = browser.post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf_token": token},
            headers={"Origin": "https://evil.example.com"},
        )
        assert r.status_code == 403 and SESSION_COOKIE not in browser.cookies
    with Browser(tenant.server.url) as fresh:
        # No CSRF cookie at all (a cross-site form post from a page that never loaded ours).
        r = fresh.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": "x"})
        assert r.status_code == 403 and SESSION_COOKIE not in fresh.cookies


def test_login_throttle_after_ten_failures(tenant: Tenant) -> None:
    email = make_user(tenant)
    other = make_user(tenant)
    with Browser(tenant.server.url) as browser:
        for _ in range(10):
            assert browser.login(email, "wrong password!").status_code == 400
        blocked = browser.login(email, PASSWORD)
        assert blocked.status_code == 429
        assert "Too many failed attempts" in blocked.text and int(blocked.headers["retry-after"]) > 0
        assert SESSION_COOKIE not in browser.cookies
        # Other accounts are not affected.
        assert browser.login(other, PASSWORD).status_code == 303


def test_logout_clears_the_cookie_and_needs_csrf(tenant: Tenant) -> None:
    email = make_user(tenant)
    with Browser(tenant.server.url) as browser:
        browser.login(email, PASSWORD)
        assert browser.post("/logout", data={"csrf_token": "forged"}).status_code == 403
        assert browser.get("/").status_code == 200
        r = browser.post("/logout", data={"csrf_token": browser.cookies["streamsrv_csrf"]})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert SESSION_COOKIE not in browser.cookies
        assert browser.get("/").status_code == 303


def test_logout_everywhere_ends_other_sessions(tenant: Tenant) -> None:
    email = make_user(tenant)
    with Browser(tenant.server.url) as laptop, Browser(tenant.server.url) as phone:
        laptop.login(email, PASSWORD)
        phone.login(email, PASSWORD)
        r = laptop.post("/logout", data={"csrf_token": laptop.cookies["streamsrv_csrf"], "everywhere": "1"})
        assert r.status_code == 303
        assert phone.get("/").status_code == 303


def test_password_change_and_deactivation_end_sessions(tenant: Tenant) -> None:
    email = make_user(tenant)
    uid = user_id(tenant, email)
    new_password = "another long password"
    with Browser(tenant.server.url) as browser:
        browser.login(email, PASSWORD)
        assert browser.get("/").status_code == 200
        assert browser.get("/api/v1/users/me").status_code == 200
        r = tenant.api.patch(f"/api/v1/users/{uid}", json={"password": new_password})
        assert r.status_code == 200, r.text
        assert browser.get("/").status_code == 303
        assert browser.get("/api/v1/users/me").status_code == 401
        assert browser.login(email, PASSWORD).status_code == 400
        assert browser.login(email, new_password).status_code == 303
        assert browser.get("/").status_code == 200
        # A renamed user stays logged in: only password and deactivation end sessions.
        assert tenant.api.patch(f"/api/v1/users/{uid}", json={"name": "Mona L."}).status_code == 200
        assert "Mona L." in browser.get("/").text
        assert tenant.api.patch(f"/api/v1/users/{uid}", json={"active": False}).status_code == 200
        assert browser.get("/").status_code == 303
        assert browser.login(email, new_password).status_code == 400


def test_login_pages_refuse_oversized_forms(tenant: Tenant) -> None:
    with Browser(tenant.server.url) as browser:
        token = browser.csrf_token()
        r = browser.post("/login", data={"email": "x" * 70_000, "password": "y", "csrf_token": token})
        assert r.status_code == 413


def test_session_cookie_works_for_api_reads(tenant: Tenant) -> None:
    with Browser(tenant.server.url) as browser:
        browser.login(tenant.org.admin_email, "correct horse battery")
        r = browser.get("/api/v1/accounts")
        assert r.status_code == 200 and r.json()["items"] == []
    with httpx.Client(base_url=tenant.server.url) as anonymous:
        assert anonymous.get("/api/v1/users/me").status_code == 401
