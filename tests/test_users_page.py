"""Users and invitations in a real browser with a real SMTP server (aiosmtpd), on both
backends: an administrator invites on ``/admin/users``, the invitee follows the emailed link,
chooses a password and logs in; links are single use, expire and are voided by a resend;
"forgot your password?" answers alike for known and unknown addresses and resets once.
Plain ``def`` tests only (see tests/browser.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from streamsrv.embedded_redis import EmbeddedRedis
from streamsrv.models import Account, AccountToken, AuditLog, Delivery, Role, User
from streamsrv.org.users import UNUSABLE_PASSWORD
from tests.email_support import MailStack, mail_stack
from tests.streaming import make_user
from tests.support import TIMEOUT, wait_until
from tests.users_support import INVITE_LINK, PASSWORD, RESET_LINK, expire_tokens, link_in, log_in, make_org

NEW_PASSWORD = "violet tangerine orbit"


@pytest.fixture(scope="module")
def stack(
    backend: str, tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[MailStack]:
    yield from mail_stack(backend, tmp_path_factory.mktemp("users"), redis_server)


def user_by_email(stack: MailStack, email: str) -> User:
    with stack.db.session() as s:
        user = s.exec(select(User).where(User.org_id == stack.org.org_id, User.email == email)).one()
        s.expunge(user)
        return user


def invitee() -> str:
    return f"new-{secrets.token_hex(4)}@example.com"


def test_an_admin_invites_on_the_page_and_the_invitee_sets_a_password_and_logs_in(
    stack: MailStack, page: Page
) -> None:
    org = make_org(stack.db, stack.org.org_id)
    base = stack.server.url
    log_in(page, base, stack.org.admin_email, stack.org.admin_password, then="/admin/users")
    email = invitee()
    page.fill("#invite-email", email)
    page.fill("#invite-name", "Nina <b>Park</b>")
    page.select_option("#role", Role.manager.value)
    page.locator(f'input[name=account_ids][value="{org.account_a}"]').check()
    page.click("#invite-submit")
    page.wait_for_url(f"{base}/admin/users?done=invited")
    expect(page.locator("#users-notice")).to_have_text("Invitation sent.")
    user = user_by_email(stack, email)
    row = page.locator(f"#user-{user.id}")
    expect(row.locator(".user-name")).to_have_text("Nina <b>Park</b>")
    expect(row.locator(".user-role")).to_have_text("Manager")
    with stack.db.session() as s:
        account = s.get(Account, org.account_a)
        assert account is not None
        account_name = account.name
    expect(row.locator(".user-scope")).to_have_text(f"Accounts: {account_name}")
    expect(row.locator(".user-status")).to_contain_text("Invited (pending), link expires")
    assert user.active is False and user.password_hash == UNUSABLE_PASSWORD

    # The pending user cannot log in, with any password.
    with httpx.Client(base_url=base, timeout=TIMEOUT) as anon:
        form = anon.get("/login")
        token = anon.cookies["streamsrv_csrf"]
        assert form.status_code == 200
        tried = anon.post("/login", data={"email": email, "password": UNUSABLE_PASSWORD, "csrf_token": token})
        assert tried.status_code == 400

    [message] = stack.inbox.wait_for(email)
    assert "You are invited to" in str(message["Subject"])
    link = link_in(message, INVITE_LINK)
    secret_part = link.rsplit("/", 1)[1]
    # Only a hash is stored; the link is in no audit entry and no longer in the delivery row.
    with stack.db.session() as s:
        stored = s.exec(select(AccountToken).where(AccountToken.user_id == user.id)).all()
        audit = s.exec(select(AuditLog).where(AuditLog.org_id == stack.org.org_id)).all()
    assert stored and all(secret_part not in row.token_hash for row in stored)
    assert all(secret_part not in str(entry.details) + entry.target for entry in audit)
    wait_until(lambda: _scrubbed(stack, user.id))

    invitee_page = page.context.browser.new_context().new_page()  # type: ignore[union-attr]
    invitee_page.goto(link)
    expect(invitee_page.locator("#link-email")).to_have_text(email)
    # The policy refuses a weak password, with a message on the form.
    invitee_page.fill("#password", "password123")
    invitee_page.fill("#confirm", "password123")
    invitee_page.click("button[type=submit]")
    expect(invitee_page.locator("#link-errors")).to_contain_text("commonly used")
    invitee_page.fill("#password", NEW_PASSWORD)
    invitee_page.fill("#confirm", NEW_PASSWORD)
    invitee_page.click("button[type=submit]")
    invitee_page.wait_for_url(f"{base}/login?done=welcome")
    expect(invitee_page.locator("#login-notice")).to_contain_text("Your password is set")
    invitee_page.fill("#email", email)
    invitee_page.fill("#password", NEW_PASSWORD)
    invitee_page.click("button[type=submit]")
    invitee_page.wait_for_url(f"{base}/")

    # The link worked once.
    again = invitee_page.request.get(link)
    assert again.status == 410
    page.goto(f"{base}/admin/users")
    expect(page.locator(f"#user-{user.id} .user-status")).to_have_text("Active")
    invitee_page.context.close()


def _scrubbed(stack: MailStack, user_id: int | None) -> bool:
    with stack.db.session() as s:
        rows = s.exec(select(Delivery).where(Delivery.ref == f"user:{user_id}")).all()
        return bool(rows) and all("sealed" not in row.payload for row in rows)


def test_an_expired_or_resent_invitation_link_no_longer_works(stack: MailStack, page: Page) -> None:
    make_org(stack.db, stack.org.org_id)
    base = stack.server.url
    email = invitee()
    with stack.api() as api:
        made = api.post("/api/v1/users/invitations", json={"email": email, "name": "Omar", "role": "admin"})
        assert made.status_code == 201, made.text
        assert made.json()["status"] == "invited"
        user_id = made.json()["user"]["id"]
        assert made.json()["user"]["active"] is False
        # Inviting the same address twice in one organization: a clear 409.
        twice = api.post("/api/v1/users/invitations", json={"email": email, "role": "admin"})
        assert twice.status_code == 409
        assert "resend" in twice.json()["error"]["message"]
    first = link_in(stack.inbox.wait_for(email)[0], INVITE_LINK)

    log_in(page, base, stack.org.admin_email, stack.org.admin_password, then=f"/admin/users/{user_id}")
    page.click("#resend")
    page.wait_for_url(f"{base}/admin/users/{user_id}?done=resent")
    expect(page.locator("#user-notice")).to_contain_text("earlier one no longer works")
    second = link_in(stack.inbox.wait_for(email, count=2)[1], INVITE_LINK)
    assert second != first
    assert page.request.get(first).status == 410

    expire_tokens(stack.db, user_id)
    gone = page.request.get(second)
    assert gone.status == 410
    assert "no longer works" in gone.text()
    page.goto(f"{base}/admin/users")
    expect(page.locator(f"#user-{user_id} .user-status")).to_have_text("Invited, link expired or revoked")

    # Resending after expiry gives a link that works.
    with stack.api() as api:
        assert api.post(f"/api/v1/users/{user_id}/invitation").status_code == 200
    third = link_in(stack.inbox.wait_for(email, count=3)[2], INVITE_LINK)
    assert page.request.get(third).status == 200


def test_forgot_password_answers_alike_and_a_reset_works_once_and_ends_other_sessions(
    stack: MailStack, page: Page
) -> None:
    base = stack.server.url
    person = make_user(stack.db, stack.org.org_id, Role.manager, PASSWORD, account_ids=[])
    # A second browser holds a session that the reset must end.
    other = page.context.browser.new_context()  # type: ignore[union-attr]
    other_page = other.new_page()
    log_in(other_page, base, person.email)

    def ask(address: str) -> tuple[int, str]:
        with httpx.Client(base_url=base, timeout=TIMEOUT) as anon:
            anon.get("/password/forgot")
            answer = anon.post(
                "/password/forgot", data={"email": address, "csrf_token": anon.cookies["streamsrv_csrf"]}
            )
            return answer.status_code, answer.text

    unknown = f"nobody-{secrets.token_hex(4)}@example.com"
    assert ask(person.email) == ask(unknown)
    assert ask(unknown)[0] == 200
    stack.inbox.wait_for(person.email)
    assert stack.inbox.to(unknown) == []

    # The login page leads there; the browser asks too.
    page.goto(f"{base}/login")
    page.click("#forgot-link")
    page.wait_for_url(f"{base}/password/forgot")
    page.fill("#email", person.email)
    page.click("button[type=submit]")
    expect(page.locator("#forgot-sent")).to_contain_text("If an account exists")
    messages = stack.inbox.wait_for(person.email, count=2)
    links = [link_in(m, RESET_LINK) for m in messages]
    # Each request voided the one before: only the newest link works.
    assert page.request.get(links[0]).status == 410
    page.goto(links[-1])
    page.fill("#password", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/login?done=reset")
    expect(page.locator("#login-notice")).to_contain_text("every session ended")
    assert page.request.get(links[-1]).status == 410

    # The other browser's session ended.
    other_page.goto(f"{base}/settings")
    other_page.wait_for_url(f"{base}/login?next=/settings")
    other.close()
    log_in(page, base, person.email, NEW_PASSWORD, then="/settings")
    expect(page.locator("#my-email")).to_have_text(person.email)


def test_an_expired_reset_link_is_refused(stack: MailStack) -> None:
    person = make_user(stack.db, stack.org.org_id, Role.agent, PASSWORD)
    with httpx.Client(base_url=stack.server.url, timeout=TIMEOUT) as anon:
        anon.get("/password/forgot")
        csrf = anon.cookies["streamsrv_csrf"]
        assert (
            anon.post("/password/forgot", data={"email": person.email, "csrf_token": csrf}).status_code == 200
        )
        link = link_in(stack.inbox.wait_for(person.email)[0], RESET_LINK)
        assert anon.get(link).status_code == 200
        expire_tokens(stack.db, person.id or 0)
        refused = anon.post(
            link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf}
        )
        assert refused.status_code == 410
    with stack.db.session() as s:
        row = s.get(User, person.id)
        assert row is not None and row.password_hash == person.password_hash


def test_the_invite_form_works_from_the_keyboard_and_names_its_errors(stack: MailStack, page: Page) -> None:
    org = make_org(stack.db, stack.org.org_id)
    base = stack.server.url
    log_in(page, base, stack.org.admin_email, stack.org.admin_password, then="/admin/users")
    email = invitee()
    page.focus("#invite-email")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "invite-name"
    page.keyboard.type("Kim")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "role"
    # A team leader without a team: the form comes back with the message tied to its field.
    page.select_option("#role", Role.team_leader.value)
    page.focus("#invite-name")
    page.keyboard.press("Enter")
    expect(page.locator("#invite-errors")).to_be_visible()
    expect(page.locator("#team_ids-error")).to_have_text("a team leader needs at least one team")
    expect(page.locator("#invite-email")).to_have_value(email)
    expect(page.locator("fieldset.scope").nth(1)).to_have_attribute("aria-describedby", "team_ids-error")
    assert user_count(stack, email) == 0
    page.locator(f'input[name=team_ids][value="{org.team}"]').focus()
    page.keyboard.press("Space")
    page.focus("#invite-name")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/admin/users?done=invited")
    expect(page.locator("#users-notice")).to_have_attribute("role", "status")
    user = user_by_email(stack, email)
    assert user.role == Role.team_leader and user.team_ids == [org.team]


def user_count(stack: MailStack, email: str) -> int:
    with stack.db.session() as s:
        return len(s.exec(select(User).where(User.org_id == stack.org.org_id, User.email == email)).all())
