"""The password rule: wherever a password is set, common, trivial and personal ones are refused."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from streamsrv.security import password_policy
from streamsrv.security.password_policy import (
    COMMON,
    PATTERN,
    PERSONAL,
    TOO_SHORT,
    common_passwords,
    password_problem,
)
from tests.conftest import Tenant
from tests.login_support import Browser

GOOD = "a long enough password"


@pytest.mark.parametrize(
    ("password", "email", "name", "problem"),
    [
        ("short", "", "", TOO_SHORT),
        ("123456789", "", "", TOO_SHORT),
        ("qwertyuiop", "", "", PATTERN),
        ("1234567890", "", "", PATTERN),
        ("0987654321", "", "", PATTERN),
        ("abcdefghijk", "", "", PATTERN),
        ("aaaaaaaaaaaa", "", "", PATTERN),
        ("!!!!!!!!!!!!!!", "", "", PATTERN),
        ("abcabcabcabc", "", "", PATTERN),
        ("1212121212", "", "", PATTERN),
        ("1qaz2wsx3edc", "", "", PATTERN),
        ("password123", "", "", COMMON),
        ("Password2024!", "", "", COMMON),
        ("P@ssw0rd2024", "", "", COMMON),
        ("Pa55word!!!", "", "", COMMON),
        ("$ecret2024!", "", "", COMMON),
        ("iloveyou123", "", "", COMMON),
        ("Summer2025!!", "", "", COMMON),
        ("2024football", "", "", COMMON),
        ("mona is the best", "mona@example.com", "", PERSONAL),
        ("Simpson4ever!", "lisa@example.com", "Lisa Simpson", PERSONAL),
        ("lisa.simpson@example.com", "lisa.simpson@example.com", "", PERSONAL),
        ("call me m0na please", "mona@example.com", "", PERSONAL),
        ("administrator's own", "boss@acme.example", "Administrator", PERSONAL),
        (GOOD, "user-1a2b3c4d@example.com", "Mona", None),
        ("correct horse battery", "boss@acme.example", "Administrator", None),
        ("northwind-demo-2025", "", "", None),
        ("Tr0ub4dor&3 staple", "lisa@example.com", "Lisa", None),
        # A name too short to be told apart from ordinary words is not looked for.
        ("a long enough password", "al@example.com", "Al", None),
    ],
)
def test_password_rule(password: str, email: str, name: str, problem: str | None) -> None:
    assert password_problem(password, email, name) == problem


def test_common_list_is_a_few_hundred_lowercased_entries() -> None:
    common = common_passwords()
    assert 300 <= len(common) <= 1000
    assert all(entry == entry.strip().lower() and entry for entry in common)
    assert {"password", "123456", "qwerty", "iloveyou"} <= common
    assert password_policy.MIN_LENGTH == 10


def _user(email: str, password: str, name: str = "Mona", **extra: Any) -> dict[str, Any]:
    return {"email": email, "name": name, "password": password, "role": "admin", **extra}


def test_users_api_refuses_weak_passwords_naming_the_field(tenant: Tenant) -> None:
    api = tenant.api
    email = f"mona-{secrets.token_hex(3)}@example.com"
    for password in (
        "Password2024!",
        "qwertyuiop",
        "zzzzzzzzzzzz",
        "1234567890",
        f"{email}!",
        "I am Mona, hi",
    ):
        r = api.post("/api/v1/users", json=_user(email, password))
        assert r.status_code == 422, (password, r.text)
        body = r.json()["error"]
        assert body["code"] == "validation_error" and set(body["fields"]) == {"password"}, body
        assert body["message"].startswith("password: ")
    created = api.post("/api/v1/users", json=_user(email, GOOD))
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]

    for change in (
        {"password": "letmein2024!"},
        {"password": "mona loves tea"},
        # Checked against the name and email the user will have after this change.
        {"password": "Ms Jones rules", "name": "Mona Jones"},
        {"password": "quinn's new home", "email": f"quinn-{secrets.token_hex(3)}@example.com"},
    ):
        r = api.patch(f"/api/v1/users/{user_id}", json=change)
        assert r.status_code == 422, (change, r.text)
        assert set(r.json()["error"]["fields"]) == {"password"}
    # Refused changes changed nothing: the old password still logs in.
    with Browser(tenant.server.url) as browser:
        assert browser.login(email, GOOD).status_code == 303
    assert (
        api.patch(f"/api/v1/users/{user_id}", json={"password": "tea with milk, no sugar"}).status_code == 200
    )
    # A rename alone does not need a password check.
    assert api.patch(f"/api/v1/users/{user_id}", json={"name": "Mona Jones"}).status_code == 200
