"""Helpers for the "reaching customers" page tests: links in a language, one-click posts, logos,
and recovery follow-up links made through the real recovery workflow."""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any

import httpx
from sqlmodel import select

from streamsrv.db import Database
from streamsrv.models import RecoveryCase, Role
from streamsrv.security.csrf import COOKIE as CSRF_COOKIE
from tests.conftest import Tenant
from tests.login_support import Browser
from tests.streaming import make_user
from tests.support import TIMEOUT
from tests.survey_support import Setup, csrf_of, make_setup, new_request

PASSWORD = "correct horse battery"
HTML_LANG = re.compile(r'<html lang="([^"]+)" dir="([^"]+)">')


def path_of(url: str) -> str:
    return "/f/" + url.rsplit("/f/", 1)[1]


def link(tenant: Tenant, setup: Setup, **interaction: Any) -> tuple[dict[str, Any], str]:
    body = new_request(tenant, setup, **interaction)
    return body, path_of(body["request"]["url"])


def customer(tenant: Tenant, accept_language: str | None = None) -> httpx.Client:
    """A customer's browser without scripts: no API key, keeps cookies."""
    headers = {"Accept-Language": accept_language} if accept_language else {}
    return httpx.Client(base_url=tenant.server.url, headers=headers, timeout=TIMEOUT)


def lang_of(page: httpx.Response) -> tuple[str, str]:
    match = HTML_LANG.search(page.text)
    assert match, "the page has no <html lang dir>"
    return match.group(1), match.group(2)


def post_rating(client: httpx.Client, path: str, rating: int | str) -> httpx.Response:
    """What the page's script does with the star of a one-click link."""
    page = client.get(f"{path}?rating={rating}")
    return client.post(
        f"{path}/rating",
        data={"rating": str(rating), "csrf_token": csrf_of(page)},
        headers={"Accept": "application/json", "Origin": str(client.base_url).rstrip("/")},
    )


def png(width: int = 4, height: int = 2, rgb: tuple[int, int, int] = (26, 94, 32)) -> bytes:
    """A real, tiny PNG (browsers must be able to draw it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


class Staff:
    """A logged-in recovery person calling the JSON API as the recovery page does."""

    def __init__(self, tenant: Tenant, email: str) -> None:
        self.browser = Browser(tenant.server.url)
        response = self.browser.login(email, PASSWORD)
        assert response.status_code == 303, response.text

    def post(self, path: str) -> httpx.Response:
        return self.browser.post(path, headers={"X-CSRF-Token": self.browser.cookies[CSRF_COOKIE]})

    def close(self) -> None:
        self.browser.close()


def followup_link(tenant: Tenant, db: Database, **account: Any) -> tuple[Setup, str, int]:
    """A recovery follow-up link, made as recovery staff make it: a 1-star answer opens a case,
    a recovery user of the account claims it and sends the follow-up. Returns (setup, path, user id)."""
    setup = make_setup(db, tenant.org_id, **account)
    _, path = link(tenant, setup)
    with customer(tenant) as client:
        first = client.post(f"/api/v1/responses/{path.rsplit('/', 1)[1]}", json={"rating": 1})
    assert first.status_code == 201, first.text
    response_id = first.json()["response"]["id"]
    with db.session() as s:
        case = s.exec(select(RecoveryCase).where(RecoveryCase.response_id == response_id)).one()
        case_id = case.id
    user = make_user(db, tenant.org_id, Role.recovery, PASSWORD, account_ids=[setup.account_id])
    rita = Staff(tenant, user.email)
    try:
        assert rita.post(f"/api/v1/recovery/cases/{case_id}/claim").status_code == 200
        sent = rita.post(f"/api/v1/recovery/cases/{case_id}/followup")
        assert sent.status_code == 201, sent.text
    finally:
        rita.close()
    assert user.id is not None
    return setup, path_of(sent.json()["url"]), user.id
