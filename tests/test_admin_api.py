"""The admin API against a live server: accounts, teams, agents, users, API keys, agent photos."""

from __future__ import annotations

import secrets
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from streamsrv.db import Database
from streamsrv.tenancy import create_org
from tests.conftest import Tenant
from tests.login_support import Browser
from tests.support import LiveServer

PASSWORD = "a long enough password"


def tiny_png() -> bytes:
    """A valid 1x1 PNG, built here so the test carries no binary fixture."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert set(body) == {"code", "message", "fields"}
    return body


def account(api: httpx.Client, name: str | None = None, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = ok(
        api.post("/api/v1/accounts", json={"name": name or f"Acme {secrets.token_hex(3)}", **extra}), 201
    )
    return result


def team(api: httpx.Client, account_id: int, name: str = "Tier 1") -> dict[str, Any]:
    result: dict[str, Any] = ok(api.post("/api/v1/teams", json={"account_id": account_id, "name": name}), 201)
    return result


def agent(api: httpx.Client, team_id: int, name: str = "Dana", **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = ok(
        api.post("/api/v1/agents", json={"team_id": team_id, "name": name, **extra}), 201
    )
    return result


def new_key(api: httpx.Client, scopes: list[str], account_ids: list[int] | None = None) -> str:
    body: dict[str, Any] = {"name": "test key", "scopes": scopes}
    if account_ids is not None:
        body["account_ids"] = account_ids
    key: str = ok(api.post("/api/v1/api-keys", json=body), 201)["key"]
    return key


def ids(listing: dict[str, Any]) -> set[int]:
    return {item["id"] for item in listing["items"]}


@pytest.fixture
def other_tenant(server: LiveServer, db: Database) -> Iterator[Tenant]:
    with db.session() as session:
        org = create_org(
            session, f"Other {secrets.token_hex(3)}", f"other-{secrets.token_hex(4)}@example.com"
        )
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {org.api_key}"}) as api:
        yield Tenant(org=org, server=server, api=api)


def test_account_crud_and_validation(tenant: Tenant) -> None:
    api = tenant.api
    created = account(
        api,
        "Acme Retail",
        negative_threshold=3,
        ask_nps=True,
        promo_code="THANKS10",
        share_url="https://example.com/review",
        reward_catalogue=[{"code": "coffee", "label": "Coffee", "emoji": "\u2615", "value": 4.5}],
    )
    assert created["org_id"] == tenant.org_id
    assert created["negative_threshold"] == 3 and created["ask_nps"] is True
    # A reward sent without a currency is in USD (accounts have no currency of their own).
    assert created["reward_catalogue"] == [
        {"code": "coffee", "label": "Coffee", "emoji": "\u2615", "value": 4.5, "currency": "USD"}
    ]
    # Omitted catalogues get the defaults.
    assert {a["code"] for a in created["improvement_areas"]} >= {"speed", "courtesy"}
    account_id = created["id"]

    assert ok(api.get(f"/api/v1/accounts/{account_id}")) == created
    listing = ok(api.get("/api/v1/accounts"))
    assert ids(listing) == {account_id} and listing["next_cursor"] is None

    patched = ok(api.patch(f"/api/v1/accounts/{account_id}", json={"name": "Acme", "promo_code": None}))
    assert patched["name"] == "Acme" and patched["promo_code"] is None
    assert patched["share_url"] == "https://example.com/review"

    other = account(api, "Globex")
    err = error(api.post("/api/v1/accounts", json={"name": "Acme"}), 409)
    assert "name" in err["fields"]
    error(api.patch(f"/api/v1/accounts/{other['id']}", json={"name": "Acme"}), 409)

    bad_values: list[tuple[dict[str, Any], str]] = [
        ({"negative_threshold": 5}, "negative_threshold"),
        ({"negative_threshold": 0}, "negative_threshold"),
        ({"share_url": "javascript:alert(1)"}, "share_url"),
        ({"suppression_days": -1}, "suppression_days"),
        ({"name": None}, "name"),
        ({"name": "   "}, "name"),
        ({"reward_catalogue": [{"code": "Bad Code!", "label": "x"}]}, "reward_catalogue.0.code"),
        (
            {"reward_catalogue": [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]},
            "reward_catalogue",
        ),
        ({"improvement_areas": [{"code": "speed"}]}, "improvement_areas.0.label"),
        ({"negativ_threshold": 3}, "negativ_threshold"),
        ({"name": "Acme\x00"}, "name"),
        ({"promo_code": "SAVE\n10"}, "promo_code"),
        (
            {"reward_catalogue": [{"code": "a", "label": "A", "currency": "ZZZ"}]},
            "reward_catalogue.0.currency",
        ),
        (
            {"reward_catalogue": [{"code": "a", "label": "A", "currency": "US"}]},
            "reward_catalogue.0.currency",
        ),
    ]
    for body, field in bad_values:
        err = error(api.patch(f"/api/v1/accounts/{account_id}", json=body), 422)
        assert field in err["fields"], (body, err)
    err = error(api.post("/api/v1/accounts", json={"negative_threshold": 2}), 422)
    assert "name" in err["fields"]

    assert error(api.post("/api/v1/accounts", content=b"{not json"), 400)["code"] == "bad_request"
    error(api.post("/api/v1/accounts", content=b"[1, 2]"), 400)
    error(api.post("/api/v1/accounts", json={"name": "x" * 70_000}), 413)
    error(api.get("/api/v1/accounts", params={"limit": 0}), 422)
    error(api.get("/api/v1/accounts", params={"cursor": "abc"}), 422)
    error(api.get("/api/v1/accounts", params={"cursor": "\u00b2"}), 422)
    error(api.get("/api/v1/accounts/999999999"), 404)
    error(api.get(f"/api/v1/accounts/{10**25}"), 404)
    error(api.patch(f"/api/v1/accounts/{10**25}", json={"name": "x"}), 404)
    # None of the refused requests changed anything.
    assert ok(api.get(f"/api/v1/accounts/{account_id}")) == patched
    # Each reward has its currency (ISO 4217, stored upper case).
    priced = api.patch(
        f"/api/v1/accounts/{account_id}",
        json={"reward_catalogue": [{"code": "lunch", "label": "Lunch", "value": 12, "currency": "eur"}]},
    )
    assert priced.status_code == 200, priced.text
    assert priced.json()["reward_catalogue"] == [
        {"code": "lunch", "label": "Lunch", "emoji": "", "value": 12, "currency": "EUR"}
    ]


def test_account_listing_pages_with_cursor(tenant: Tenant) -> None:
    made = {account(tenant.api)["id"] for _ in range(3)}
    first = ok(tenant.api.get("/api/v1/accounts", params={"limit": 2}))
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = ok(tenant.api.get("/api/v1/accounts", params={"limit": 2, "cursor": first["next_cursor"]}))
    assert second["next_cursor"] is None
    assert ids(first) | ids(second) == made


def test_team_crud(tenant: Tenant, other_tenant: Tenant) -> None:
    api = tenant.api
    acme, globex = account(api)["id"], account(api)["id"]
    t1 = team(api, acme, "Tier 1")
    assert t1["account_id"] == acme and t1["org_id"] == tenant.org_id
    t2 = team(api, globex, "Tier 1")  # the same name in another account is fine
    assert ok(api.get(f"/api/v1/teams/{t1['id']}")) == t1
    assert ids(ok(api.get("/api/v1/teams", params={"account_id": acme}))) == {t1["id"]}
    assert ids(ok(api.get("/api/v1/teams"))) == {t1["id"], t2["id"]}

    error(api.post("/api/v1/teams", json={"account_id": acme, "name": "Tier 1"}), 409)
    renamed = ok(api.patch(f"/api/v1/teams/{t1['id']}", json={"name": "Escalations"}))
    assert renamed["name"] == "Escalations"
    error(api.patch(f"/api/v1/teams/{t1['id']}", json={"account_id": globex}), 422)

    foreign_account = account(other_tenant.api)["id"]
    err = error(api.post("/api/v1/teams", json={"account_id": foreign_account, "name": "Sneaky"}), 422)
    assert "account_id" in err["fields"]
    err = error(api.post("/api/v1/teams", json={"account_id": "one", "name": "X"}), 422)
    assert "account_id" in err["fields"]


def test_agent_crud(tenant: Tenant) -> None:
    api = tenant.api
    acme, globex = account(api)["id"], account(api)["id"]
    t1, t2 = team(api, acme)["id"], team(api, globex)["id"]
    dana = agent(
        api,
        t1,
        "Dana <b>Scully</b>",
        bio="Loves a hard case.",
        hobbies=["climbing", "chess"],
        photo_url="https://cdn.example.com/dana.jpg",
        external_ids={"zendesk": "123"},
    )
    assert dana["account_id"] == acme and dana["team_id"] == t1
    assert dana["photo"] == "https://cdn.example.com/dana.jpg" and dana["has_uploaded_photo"] is False
    assert dana["name"] == "Dana <b>Scully</b>"  # stored as given; pages escape it
    assert ok(api.get(f"/api/v1/agents/{dana['id']}")) == dana

    moved = ok(api.patch(f"/api/v1/agents/{dana['id']}", json={"team_id": t2, "photo_url": None}))
    assert moved["team_id"] == t2 and moved["account_id"] == globex and moved["photo"] is None
    assert ids(ok(api.get("/api/v1/agents", params={"account_id": globex}))) == {dana["id"]}
    assert ids(ok(api.get("/api/v1/agents", params={"team_id": t1}))) == set()

    err = error(
        api.post("/api/v1/agents", json={"team_id": t1, "name": "Eve", "external_ids": {"zendesk": "123"}}),
        409,
    )
    assert "external_ids" in err["fields"]
    bad_values: list[tuple[dict[str, Any], str]] = [
        ({"photo_url": "javascript:alert(1)"}, "photo_url"),
        ({"photo_url": "ftp://example.com/a.png"}, "photo_url"),
        ({"bio": "x" * 501}, "bio"),
        ({"hobbies": ["x" * 41]}, "hobbies.0"),
        ({"team_id": 999999999}, "team_id"),
        ({"active": None}, "active"),
    ]
    for body, field in bad_values:
        err = error(api.patch(f"/api/v1/agents/{dana['id']}", json=body), 422)
        assert field in err["fields"], (body, err)
    inactive = ok(api.patch(f"/api/v1/agents/{dana['id']}", json={"active": False}))
    assert inactive["active"] is False
    assert ids(ok(api.get("/api/v1/agents", params={"active": "true"}))) == set()


def test_agent_photo_upload_and_serving(tenant: Tenant) -> None:
    api = tenant.api
    dana = agent(api, team(api, account(api)["id"])["id"], photo_url="https://cdn.example.com/dana.jpg")
    png = tiny_png()
    public = httpx.Client(base_url=tenant.server.url)

    # Before an upload there is nothing to serve; the API's `photo` is the linked URL.
    assert public.get(f"/media/agents/{dana['id']}/photo").status_code == 404
    assert dana["photo"] == "https://cdn.example.com/dana.jpg"

    uploaded = ok(
        api.post(f"/api/v1/agents/{dana['id']}/photo", files={"photo": ("me.png", png, "image/png")})
    )
    assert uploaded["has_uploaded_photo"] is True
    photo = httpx.URL(uploaded["photo"])
    assert photo.path == f"/media/agents/{dana['id']}/photo" and photo.params["v"] == "1"
    assert ok(api.get(f"/api/v1/agents/{dana['id']}"))["photo"] == uploaded["photo"]

    served = public.get(photo.path, params=dict(photo.params))
    assert served.status_code == 200 and served.content == png
    assert served.headers["content-type"] == "image/png"
    assert "immutable" in served.headers["cache-control"]
    again = public.get(photo.path, headers={"If-None-Match": served.headers["etag"]})
    assert again.status_code == 304

    # A raw body works too; the type comes from the bytes, not from what the client claims.
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    replaced = ok(
        api.post(f"/api/v1/agents/{dana['id']}/photo", content=gif, headers={"Content-Type": "image/png"})
    )
    assert httpx.URL(replaced["photo"]).params["v"] == "2"
    served = public.get(photo.path)
    assert served.content == gif and served.headers["content-type"] == "image/gif"

    err = error(
        api.post(
            f"/api/v1/agents/{dana['id']}/photo", files={"photo": ("x.png", b"hello, I am text", "image/png")}
        ),
        422,
    )
    assert "photo" in err["fields"]
    err = error(
        api.post(f"/api/v1/agents/{dana['id']}/photo", files={"picture": ("me.png", png, "image/png")}), 422
    )
    assert "photo" in err["fields"]
    error(
        api.post(
            f"/api/v1/agents/{dana['id']}/photo", content=b"\x89PNG\r\n\x1a\n" + b"0" * (2 * 1024 * 1024)
        ),
        413,
    )
    error(api.post("/api/v1/agents/999999999/photo", content=png), 404)
    error(public.post(f"/api/v1/agents/{dana['id']}/photo", content=png), 401)
    # Refused uploads left the second photo in place.
    assert public.get(photo.path).content == gif
    assert public.get("/media/agents/999999999/photo").status_code == 404
    assert public.get(f"/media/agents/{10**25}/photo").status_code == 404
    public.close()


def test_users_crud_and_scope_rules(tenant: Tenant, other_tenant: Tenant) -> None:
    api = tenant.api
    acme = account(api)["id"]
    t1 = team(api, acme)["id"]
    dana = agent(api, t1)["id"]
    email = f"Manager-{secrets.token_hex(3)}@Example.com"
    manager = ok(
        api.post(
            "/api/v1/users",
            json={
                "email": email,
                "name": "Mona",
                "password": PASSWORD,
                "role": "manager",
                "account_ids": [acme],
            },
        ),
        201,
    )
    assert manager["email"] == email.lower() and manager["account_ids"] == [acme]
    assert "password" not in manager and "password_hash" not in manager and "session_version" not in manager
    assert ok(api.get(f"/api/v1/users/{manager['id']}")) == manager
    assert manager["id"] in ids(ok(api.get("/api/v1/users", params={"role": "manager"})))
    assert manager["id"] not in ids(ok(api.get("/api/v1/users", params={"role": "agent"})))

    err = error(
        api.post(
            "/api/v1/users",
            json={"email": email.upper(), "password": PASSWORD, "role": "manager", "account_ids": [acme]},
        ),
        409,
    )
    assert "email" in err["fields"]

    def user_body(**extra: Any) -> dict[str, Any]:
        return {"email": f"u-{secrets.token_hex(4)}@example.com", "password": PASSWORD, **extra}

    foreign_team = team(other_tenant.api, account(other_tenant.api)["id"])["id"]
    bad: list[tuple[dict[str, Any], str]] = [
        (user_body(role="manager", password="short"), "password"),
        (user_body(role="manager"), "account_ids"),
        (user_body(role="manager", account_ids=[acme], team_ids=[t1]), "team_ids"),
        (user_body(role="team_leader"), "team_ids"),
        (user_body(role="team_leader", team_ids=[foreign_team]), "team_ids"),
        (user_body(role="recovery", account_ids=[999999999]), "account_ids"),
        (user_body(role="agent"), "agent_id"),
        (user_body(role="overlord"), "role"),
        (user_body(role="agent", agent_id=dana, email="not-an-email"), "email"),
    ]
    for body, field in bad:
        err = error(api.post("/api/v1/users", json=body), 422)
        assert field in err["fields"], (body, err)

    agent_user = ok(api.post("/api/v1/users", json=user_body(role="agent", agent_id=dana)), 201)
    assert agent_user["agent_id"] == dana
    error(api.post("/api/v1/users", json=user_body(role="agent", agent_id=dana)), 409)

    # Changing the role clears the scope fields the new role does not use.
    leader = ok(api.patch(f"/api/v1/users/{manager['id']}", json={"role": "team_leader", "team_ids": [t1]}))
    assert leader["role"] == "team_leader" and leader["team_ids"] == [t1] and leader["account_ids"] == []
    error(api.patch(f"/api/v1/users/{manager['id']}", json={"password": "short"}), 422)
    assert ok(api.get(f"/api/v1/users/{manager['id']}")) == leader

    # The organization's only administrator cannot be demoted or deactivated.
    admin_id = tenant.org.admin_user_id
    error(api.patch(f"/api/v1/users/{admin_id}", json={"active": False}), 409)
    error(api.patch(f"/api/v1/users/{admin_id}", json={"role": "manager", "account_ids": [acme]}), 409)


def test_api_keys_lifecycle_and_auth_errors(tenant: Tenant) -> None:
    api = tenant.api
    created = ok(api.post("/api/v1/api-keys", json={"name": "helpdesk", "scopes": ["ingest", "read"]}), 201)
    assert created["key"].startswith(created["prefix"] + "_")
    assert created["scopes"] == ["ingest", "read"] and created["revoked_at"] is None
    listing = ok(api.get("/api/v1/api-keys"))
    assert created["id"] in ids(listing)
    assert all("key" not in item and "key_hash" not in item for item in listing["items"])
    shown = ok(api.get(f"/api/v1/api-keys/{created['id']}"))
    assert "key" not in shown and shown["prefix"] == created["prefix"]

    err = error(api.post("/api/v1/api-keys", json={"name": "x", "scopes": ["superuser"]}), 422)
    assert "scopes" in err["fields"]
    error(api.post("/api/v1/api-keys", json={"name": "x", "scopes": []}), 422)
    err = error(
        api.post("/api/v1/api-keys", json={"name": "x", "scopes": ["read"], "account_ids": [999999999]}), 422
    )
    assert "account_ids" in err["fields"]

    with tenant.client(created["key"]) as helpdesk:
        ok(helpdesk.get("/api/v1/accounts"))
        assert error(helpdesk.post("/api/v1/accounts", json={"name": "Nope"}), 403)["code"] == "forbidden"
        error(helpdesk.get("/api/v1/users"), 403)
        error(helpdesk.get("/api/v1/api-keys"), 403)
        revoked = ok(api.delete(f"/api/v1/api-keys/{created['id']}"))
        assert revoked["revoked_at"] is not None
        assert error(helpdesk.get("/api/v1/accounts"), 401)["code"] == "unauthorized"
    assert ok(api.delete(f"/api/v1/api-keys/{created['id']}"))["revoked_at"] == revoked["revoked_at"]

    with tenant.client(new_key(api, ["ingest"])) as ingest_only:
        error(ingest_only.post("/api/v1/accounts", json={"name": "Nope"}), 403)
        error(ingest_only.get("/api/v1/accounts"), 403)
    with tenant.client("ssk_0123456789ab_not-a-real-secret") as wrong:
        error(wrong.get("/api/v1/accounts"), 401)
    with tenant.client() as anonymous:
        assert error(anonymous.get("/api/v1/teams"), 401)["code"] == "unauthorized"
        error(anonymous.get("/api/v1/accounts", headers={"Authorization": "Basic abc"}), 401)
    assert ids(ok(api.get("/api/v1/accounts"))) == set()


def test_scope_filtering_for_restricted_key_and_manager(tenant: Tenant) -> None:
    api = tenant.api
    acme, globex = account(api)["id"], account(api)["id"]
    acme_team, globex_team = team(api, acme)["id"], team(api, globex)["id"]
    acme_agent, globex_agent = agent(api, acme_team)["id"], agent(api, globex_team)["id"]

    with tenant.client(new_key(api, ["read"], account_ids=[acme])) as restricted:
        assert ids(ok(restricted.get("/api/v1/accounts"))) == {acme}
        assert ids(ok(restricted.get("/api/v1/teams"))) == {acme_team}
        assert ids(ok(restricted.get("/api/v1/agents"))) == {acme_agent}
        ok(restricted.get(f"/api/v1/agents/{acme_agent}"))
        error(restricted.get(f"/api/v1/accounts/{globex}"), 404)
        error(restricted.get(f"/api/v1/teams/{globex_team}"), 404)
        error(restricted.get(f"/api/v1/agents/{globex_agent}"), 404)
        error(restricted.patch(f"/api/v1/teams/{acme_team}", json={"name": "x"}), 403)

    # An admin key limited to one account manages that account only.
    with tenant.client(new_key(api, ["admin"], account_ids=[acme])) as acme_admin:
        ok(acme_admin.patch(f"/api/v1/teams/{acme_team}", json={"name": "Acme desk"}))
        error(acme_admin.patch(f"/api/v1/teams/{globex_team}", json={"name": "Mine now"}), 404)
        error(acme_admin.post("/api/v1/teams", json={"account_id": globex, "name": "x"}), 422)
        error(acme_admin.post("/api/v1/accounts", json={"name": "New"}), 403)
        error(acme_admin.post("/api/v1/api-keys", json={"name": "x", "scopes": ["admin"]}), 403)

    email = f"mgr-{secrets.token_hex(4)}@example.com"
    ok(
        api.post(
            "/api/v1/users",
            json={"email": email, "password": PASSWORD, "role": "manager", "account_ids": [acme]},
        ),
        201,
    )
    with Browser(tenant.server.url) as browser:
        assert browser.login(email, PASSWORD).status_code == 303
        session_api = browser
        assert ids(session_api.get("/api/v1/teams").json()) == {acme_team}
        assert ids(session_api.get("/api/v1/agents").json()) == {acme_agent}
        assert session_api.get(f"/api/v1/agents/{globex_agent}").status_code == 404
        me = session_api.get("/api/v1/users/me").json()
        assert me["email"] == email and me["role"] == "manager"
        # A manager does not administer, and a cookie-borne write needs the CSRF header anyway.
        csrf = browser.cookies["streamsrv_csrf"]
        r = browser.post(
            "/api/v1/teams", json={"account_id": acme, "name": "x"}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 403
        r = browser.post("/api/v1/teams", json={"account_id": acme, "name": "x"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"


def test_cross_org_isolation(tenant: Tenant, other_tenant: Tenant) -> None:
    api = tenant.api
    acme = account(api)["id"]
    t1 = team(api, acme)["id"]
    dana = agent(api, t1)["id"]
    user = ok(
        api.post(
            "/api/v1/users",
            json={
                "email": f"x-{secrets.token_hex(4)}@example.com",
                "password": PASSWORD,
                "role": "manager",
                "account_ids": [acme],
            },
        ),
        201,
    )
    key_id = ok(api.post("/api/v1/api-keys", json={"name": "k", "scopes": ["read"]}), 201)["id"]
    other = other_tenant.api
    for path in (
        f"/api/v1/accounts/{acme}",
        f"/api/v1/teams/{t1}",
        f"/api/v1/agents/{dana}",
        f"/api/v1/users/{user['id']}",
        f"/api/v1/api-keys/{key_id}",
    ):
        error(other.get(path), 404)
    error(other.patch(f"/api/v1/accounts/{acme}", json={"name": "Mine"}), 404)
    error(other.patch(f"/api/v1/teams/{t1}", json={"name": "Mine"}), 404)
    error(other.patch(f"/api/v1/agents/{dana}", json={"name": "Mine"}), 404)
    error(other.patch(f"/api/v1/users/{user['id']}", json={"name": "Mine"}), 404)
    error(other.delete(f"/api/v1/api-keys/{key_id}"), 404)
    error(other.post(f"/api/v1/agents/{dana}/photo", content=tiny_png()), 404)
    err = error(other.post("/api/v1/agents", json={"team_id": t1, "name": "Spy"}), 422)
    assert "team_id" in err["fields"]
    err = error(
        other.post(
            "/api/v1/users",
            json={
                "email": f"y-{secrets.token_hex(4)}@example.com",
                "password": PASSWORD,
                "role": "manager",
                "account_ids": [acme],
            },
        ),
        422,
    )
    assert "account_ids" in err["fields"]
    for path in ("/api/v1/accounts", "/api/v1/teams", "/api/v1/agents"):
        assert ids(ok(other.get(path))) == set()
    assert user["id"] not in ids(ok(other.get("/api/v1/users")))
    assert key_id not in ids(ok(other.get("/api/v1/api-keys")))
    # Nothing of the first organization changed.
    assert ok(api.get(f"/api/v1/accounts/{acme}"))["name"] != "Mine"
    assert ok(api.get(f"/api/v1/api-keys/{key_id}"))["revoked_at"] is None


def test_openapi_documents_admin_routes(tenant: Tenant) -> None:
    spec = ok(tenant.api.get("/api/v1/openapi.json"))
    paths = spec["paths"]
    for path, method in [
        ("/api/v1/accounts", "post"),
        ("/api/v1/accounts/{account_id}", "patch"),
        ("/api/v1/teams", "get"),
        ("/api/v1/agents/{agent_id}/photo", "post"),
        ("/media/agents/{agent_id}/photo", "get"),
        ("/api/v1/users/{user_id}", "patch"),
        ("/api/v1/api-keys/{key_id}", "delete"),
    ]:
        assert method in paths[path], (path, method)
    body = paths["/api/v1/accounts"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AccountCreate"}
    assert "ApiKeyCreated" in spec["components"]["schemas"]
