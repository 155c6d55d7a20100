"""Users, invitations and /settings over HTTP against the suite's live server (both backends):
CSRF on every form, who may invite (as ``POST /api/v1/users``: administrators of the whole
organization), scope checks, resend, the edit and deactivate forms, and the audit log."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import inspect
from sqlmodel import col, select

from streamsrv import migrate
from streamsrv.db import Database
from streamsrv.logs import HideLinkTokens, hide_link_token
from streamsrv.models import AccountToken, AuditLog, Role, User
from streamsrv.org.users import UNUSABLE_PASSWORD
from tests.conftest import Tenant, fresh_database
from tests.streaming import make_user
from tests.support import TIMEOUT
from tests.users_support import PASSWORD, make_org

CSRF = "streamsrv_csrf"


@contextmanager
def browser(tenant: Tenant, email: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    """An HTTP client logged in as ``email``, holding the CSRF cookie."""
    with httpx.Client(base_url=tenant.server.url, timeout=TIMEOUT) as client:
        client.get("/login")
        r = client.post(
            "/login", data={"email": email, "password": password, "csrf_token": client.cookies[CSRF]}
        )
        assert r.status_code == 303, r.text
        yield client


def users_named(db: Database, org_id: int, email: str) -> list[User]:
    with db.session() as s:
        return list(s.exec(select(User).where(User.org_id == org_id, User.email == email)).all())


def test_every_form_needs_its_csrf_token(tenant: Tenant, db: Database) -> None:
    org = make_org(db, tenant.org_id)
    target = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[org.account_a])
    with browser(tenant, tenant.org.admin_email, tenant.org.admin_password) as admin:
        invite = {"email": "forged@example.com", "role": "manager", "account_ids": str(org.account_a)}
        for data in (invite, {**invite, "csrf_token": "forged"}):
            assert admin.post("/admin/users/invite", data=data).status_code == 403
        assert users_named(db, tenant.org_id, "forged@example.com") == []
        edit = {"role": "client_viewer", "account_ids": str(org.account_b)}
        assert admin.post(f"/admin/users/{target.id}/edit", data=edit).status_code == 403
        assert admin.post(f"/admin/users/{target.id}/active", data={"active": "0"}).status_code == 403
        assert admin.post(f"/admin/users/{target.id}/invitation", data={}).status_code == 403
        assert admin.post("/settings/name", data={"name": "Forged"}).status_code == 403
        changed = {"current": tenant.org.admin_password, "password": "violet tangerine orbit", "confirm": "x"}
        assert admin.post("/settings/password", data=changed).status_code == 403
        # Another site's form is refused even with the right token (Origin).
        token = admin.cookies[CSRF]
        cross = admin.post(
            "/settings/name",
            data={"name": "Cross", "csrf_token": token},
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
    with httpx.Client(base_url=tenant.server.url, timeout=TIMEOUT) as anon:
        anon.get("/password/forgot")
        assert anon.post("/password/forgot", data={"email": target.email}).status_code == 403
        assert anon.post("/invite/whatever", data={"password": "x", "confirm": "x"}).status_code == 403
        assert (
            anon.post("/password/reset/whatever", data={"password": "x", "confirm": "x"}).status_code == 403
        )
    with db.session() as s:
        row = s.get(User, target.id)
        assert row is not None and row.role == Role.manager and row.active
        me = s.get(User, tenant.org.admin_user_id)
        assert me is not None and me.name != "Forged"


def test_a_manager_cannot_invite_an_admin_or_outside_their_accounts(tenant: Tenant, db: Database) -> None:
    org = make_org(db, tenant.org_id)
    manager = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[org.account_a])
    restricted_admin = make_user(db, tenant.org_id, Role.admin, PASSWORD, account_ids=[org.account_a])
    attempts = [
        {"email": "boss@example.com", "role": "admin"},
        {"email": "far@example.com", "role": "manager", "account_ids": [org.account_b]},
        {"email": "near@example.com", "role": "manager", "account_ids": [org.account_a]},
    ]
    for user in (manager, restricted_admin):
        with browser(tenant, user.email) as client:
            token = client.cookies[CSRF]
            assert client.get("/admin/users").status_code == 403
            for body in attempts:
                form = {
                    **body,
                    "account_ids": [str(i) for i in body.get("account_ids", [])],
                    "csrf_token": token,
                }
                assert client.post("/admin/users/invite", data=form).status_code == 403
                # The API answers the same, for the same rule.
                api = client.post("/api/v1/users/invitations", json=body, headers={"X-CSRF-Token": token})
                assert api.status_code == 403, api.text
            assert (
                client.post(f"/admin/users/{manager.id}/invitation", data={"csrf_token": token}).status_code
                == 403
            )
    for body in attempts:
        assert users_named(db, tenant.org_id, str(body["email"])) == []


def test_the_api_invites_checks_the_scope_and_resends(tenant: Tenant, db: Database) -> None:
    org = make_org(db, tenant.org_id)
    api = tenant.api
    empty = api.post("/api/v1/users/invitations", json={"email": "e@example.com", "role": "manager"})
    assert empty.status_code == 422 and "account_ids" in empty.json()["error"]["fields"]
    foreign = api.post(
        "/api/v1/users/invitations",
        json={"email": "e@example.com", "role": "manager", "account_ids": [999999]},
    )
    assert foreign.status_code == 422
    made = api.post(
        "/api/v1/users/invitations",
        json={"email": "Agent.One@Example.com", "name": "Agent One", "role": "agent", "agent_id": org.agent},
    )
    assert made.status_code == 201, made.text
    out = made.json()
    assert (
        out["status"] == "invited" and out["user"]["active"] is False and out["user"]["agent_id"] == org.agent
    )
    assert made.headers["location"] == f"/api/v1/users/{out['user']['id']}"
    user_id = out["user"]["id"]
    linked = api.post(
        "/api/v1/users/invitations", json={"email": "two@example.com", "role": "agent", "agent_id": org.agent}
    )
    assert linked.status_code == 409 and "agent_id" in linked.json()["error"]["fields"]
    # A pending user becomes active by accepting, not by PATCH.
    patched = api.patch(f"/api/v1/users/{user_id}", json={"active": True})
    assert patched.status_code == 409 and "active" in patched.json()["error"]["fields"]
    resent = api.post(f"/api/v1/users/{user_id}/invitation")
    assert resent.status_code == 200 and resent.json()["expires_at"] >= out["expires_at"]
    assert api.post("/api/v1/users/999999/invitation").status_code == 404
    assert api.post(f"/api/v1/users/{tenant.org.admin_user_id}/invitation").status_code == 409
    with db.session() as s:
        row = s.get(User, user_id)
        assert row is not None and row.password_hash == UNUSABLE_PASSWORD and not row.active
        actions = s.exec(
            select(AuditLog.action)
            .where(AuditLog.org_id == tenant.org_id, AuditLog.target == f"user:{user_id}")
            .order_by(col(AuditLog.id))
        ).all()
    assert actions == ["user.invited", "user.invitation_resent"]


def test_an_admin_edits_role_and_scope_and_deactivates_on_the_page(tenant: Tenant, db: Database) -> None:
    org = make_org(db, tenant.org_id)
    target = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[org.account_a])
    with browser(tenant, target.email) as victim:
        assert victim.get("/settings").status_code == 200
        with browser(tenant, tenant.org.admin_email, tenant.org.admin_password) as admin:
            token = admin.cookies[CSRF]
            page = admin.get(f"/admin/users/{target.id}")
            assert page.status_code == 200 and "Accounts: Acme Support" in page.text
            # A team leader needs teams: the form comes back with the message on the field.
            bad = admin.post(
                f"/admin/users/{target.id}/edit",
                data={"role": "team_leader", "account_ids": str(org.account_a), "csrf_token": token},
            )
            assert bad.status_code == 422
            assert re.search(r'id="team_ids-error">a team leader needs at least one team<', bad.text)
            good = admin.post(
                f"/admin/users/{target.id}/edit",
                data={"role": "team_leader", "team_ids": str(org.team), "csrf_token": token},
            )
            assert good.status_code == 303 and good.headers["location"].endswith("?done=saved")
            listing = admin.get("/admin/users")
            row = re.search(rf'<tr id="user-{target.id}".*?</tr>', listing.text, re.S)
            assert row is not None and "Team leader" in row.group(0) and "Teams: Night shift" in row.group(0)
            off = admin.post(f"/admin/users/{target.id}/active", data={"active": "0", "csrf_token": token})
            assert off.status_code == 303
            # Deactivation ends the user's sessions.
            assert victim.get("/settings").status_code == 303
            assert "Deactivated" in admin.get(f"/admin/users/{target.id}").text
            on = admin.post(f"/admin/users/{target.id}/active", data={"active": "1", "csrf_token": token})
            assert on.status_code == 303
    with db.session() as s:
        row_after = s.get(User, target.id)
        assert row_after is not None and row_after.active and row_after.role == Role.team_leader
        assert row_after.team_ids == [org.team] and row_after.account_ids == []
        actions = s.exec(
            select(AuditLog.action).where(
                AuditLog.org_id == tenant.org_id, AuditLog.target == f"user:{target.id}"
            )
        ).all()
    assert actions == ["user.updated", "user.updated", "user.updated"]


def test_settings_rename_and_change_password(tenant: Tenant, db: Database) -> None:
    person = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[])
    new_password = "violet tangerine orbit"
    with browser(tenant, person.email) as other, browser(tenant, person.email) as me:
        token = me.cookies[CSRF]
        page = me.get("/settings")
        assert page.status_code == 200 and person.email in page.text and "/settings/profile" not in page.text
        renamed = me.post("/settings/name", data={"name": "  Ada   <i>Lovelace</i> ", "csrf_token": token})
        assert renamed.status_code == 303
        assert "Ada &lt;i&gt;Lovelace&lt;/i&gt;" in me.get("/settings").text
        wrong = me.post(
            "/settings/password",
            data={
                "current": "not my password",
                "password": new_password,
                "confirm": new_password,
                "csrf_token": token,
            },
        )
        assert wrong.status_code == 400 and "not your current password" in wrong.text
        weak = me.post(
            "/settings/password",
            data={
                "current": PASSWORD,
                "password": "password123",
                "confirm": "password123",
                "csrf_token": token,
            },
        )
        assert weak.status_code == 422 and "commonly used" in weak.text
        done = me.post(
            "/settings/password",
            data={
                "current": PASSWORD,
                "password": new_password,
                "confirm": new_password,
                "csrf_token": token,
            },
        )
        assert done.status_code == 303
        # This browser carries on; the other session ended.
        assert me.get("/settings").status_code == 200
        assert other.get("/settings").status_code == 303
    with browser(tenant, person.email, new_password) as again:
        assert again.get("/settings").status_code == 200
    agent_user = make_user(
        db, tenant.org_id, Role.agent, PASSWORD, agent_id=make_org(db, tenant.org_id).agent
    )
    with browser(tenant, agent_user.email) as agent:
        assert 'href="/settings/profile"' in agent.get("/settings").text


def test_access_logs_never_show_a_link_token() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/invite/Ikx2.secret-part?x=1", "1.1", 200),
        None,
    )
    HideLinkTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /invite/[redacted]?x=1 HTTP/1.1" 200'
    assert hide_link_token("/password/reset/abc.def") == "/password/reset/[redacted]"
    assert hide_link_token("/password/forgot") == "/password/forgot"
    assert hide_link_token("/f/survey-token") == "/f/survey-token"


def test_account_tokens_migration_goes_both_ways(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as database:
        assert "account_tokens" in inspect(database.engine).get_table_names()
        migrate.downgrade(database.engine, "0013")
        assert "account_tokens" not in inspect(database.engine).get_table_names()
        migrate.upgrade(database.engine)
        columns = {c["name"] for c in inspect(database.engine).get_columns("account_tokens")}
        assert columns == {
            "id",
            "org_id",
            "user_id",
            "purpose",
            "token_hash",
            "created_at",
            "expires_at",
            "consumed_at",
        }
        # Only the hash is unique-indexed: two rows can never answer one link.
        uniques = inspect(database.engine).get_unique_constraints("account_tokens")
        assert [u["column_names"] for u in uniques] == [["token_hash"]]


def test_deactivating_an_invited_user_revokes_the_link(tenant: Tenant, db: Database) -> None:
    made = tenant.api.post(
        "/api/v1/users/invitations", json={"email": "revoked@example.com", "role": "admin"}
    )
    assert made.status_code == 201, made.text
    user_id = made.json()["user"]["id"]
    with db.session() as s:
        assert s.exec(select(AccountToken).where(AccountToken.user_id == user_id)).all() != []
    off = tenant.api.patch(f"/api/v1/users/{user_id}", json={"active": False})
    assert off.status_code == 200, off.text
    with db.session() as s:
        assert s.exec(select(AccountToken).where(AccountToken.user_id == user_id)).all() == []
    with browser(tenant, tenant.org.admin_email, tenant.org.admin_password) as admin:
        assert "Invited, link expired or revoked" in admin.get(f"/admin/users/{user_id}").text
    # Resending gives the person a working link again.
    assert tenant.api.post(f"/api/v1/users/{user_id}/invitation").status_code == 200
