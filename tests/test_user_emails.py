"""One address, logins in two organizations: unique per organization, told apart by the password,
and a conflict never reveals that the address has a login elsewhere."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import inspect

from streamsrv import migrate
from streamsrv.db import Database
from streamsrv.tenancy import create_org
from tests.conftest import Tenant, fresh_database
from tests.login_support import Browser

PASSWORD_A = "correct horse battery"
PASSWORD_B = "another horse entirely"


def new_user(tenant: Tenant, email: str, password: str) -> dict[str, object]:
    r = tenant.api.post(
        "/api/v1/users", json={"email": email, "name": "Sam", "password": password, "role": "admin"}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def whoami(tab: Browser) -> dict[str, object]:
    r = tab.get("/api/v1/users/me", headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_one_address_in_two_organizations(tenant: Tenant, db: Database) -> None:
    email = f"sam-{secrets.token_hex(4)}@example.com"
    with db.session() as s:
        other = create_org(
            s, f"Other {secrets.token_hex(3)}", f"boss-{secrets.token_hex(4)}@example.com", PASSWORD_A
        )
    with tenant.client(other.api_key) as other_api:
        first = Tenant(org=other, server=tenant.server, api=other_api)
        made_there = new_user(first, email, PASSWORD_B)
        # The same address in this organization: created, no hint of the other one.
        made_here = new_user(tenant, email, PASSWORD_A)
        assert made_here["org_id"] == tenant.org_id and made_there["org_id"] == other.org_id
        # Within one organization it is still unique.
        again = tenant.api.post(
            "/api/v1/users", json={"email": email, "name": "Twin", "password": PASSWORD_A, "role": "admin"}
        )
        assert again.status_code == 409
    for password, org_id in ((PASSWORD_A, tenant.org_id), (PASSWORD_B, other.org_id)):
        with Browser(tenant.server.url) as tab:
            assert tab.login(email, password).status_code == 303
            assert whoami(tab)["org_id"] == org_id
    with Browser(tenant.server.url) as tab:
        wrong = tab.login(email, "neither of the two")
        unknown = tab.login(f"nobody-{secrets.token_hex(4)}@example.com", "neither of the two")
    assert wrong.status_code == unknown.status_code == 400
    assert "Wrong email or password." in wrong.text and "Wrong email or password." in unknown.text


def test_email_migration_goes_both_ways(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as database:

        def uniques() -> list[list[str]]:
            found = inspect(database.engine).get_unique_constraints("users")
            return sorted(sorted(c["column_names"]) for c in found)

        assert uniques() == [["email", "org_id"]]
        assert "by_customer" in {c["name"] for c in inspect(database.engine).get_columns("responses")}
        migrate.downgrade(database.engine, "0006")
        assert uniques() == [["email"]]
        assert "by_customer" not in {c["name"] for c in inspect(database.engine).get_columns("responses")}
        migrate.upgrade(database.engine)
        assert uniques() == [["email", "org_id"]]
