"""The world the authorization matrix runs in: two organizations, every kind of caller, and
real objects for every path parameter.

Each organization has two corners: account A (team TA, agents a1 and a2; every restricted
caller's scope lies here) and account B (team TB, agent b1; outside every restricted scope).
Everything else a route can name (users, keys, interactions, responses, alerts, recovery cases,
displays, survey and unsubscribe links, suppressed addresses) exists in both corners of both
organizations, made through the API or the models the way the product makes them.

Every name an organization stores carries its marker, and the names of corner B carry a second
one, so an answer can be searched for text it must not hold.
"""

from __future__ import annotations

import secrets
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from sqlmodel import select

from streamsrv.db import Database
from streamsrv.mail import unsubscribe
from streamsrv.models import (
    Account,
    Agent,
    Alert,
    CaseStatus,
    FeedbackRequest,
    RecoveryCase,
    Role,
    Team,
    User,
    WebhookEndpoint,
    utcnow,
)
from streamsrv.security.tokens import Signer
from streamsrv.tenancy import NewOrg, create_org, new_api_key
from tests.login_support import Browser
from tests.support import TIMEOUT

PASSWORD = "matrix-Vq7#tangerine-lattice"
CSRF_COOKIE = "streamsrv_csrf"
SESSION_COOKIE = "streamsrv_session"

Where = Literal["home", "far", "foreign"]
WHERES: tuple[Where, ...] = ("home", "far", "foreign")


def tiny_png() -> bytes:
    """A valid 1x1 PNG, built here so the test carries no binary fixture."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


@dataclass
class Corner:
    """One account of an organization with everything in it that a route can name."""

    account: int
    team: int
    agent: int
    teammate: int = 0
    user: int = 0  # a manager of this account: the target of the user routes
    key: int = 0  # a read key restricted to this account
    interaction: int = 0
    token: str = ""  # a pending survey link
    answered_token: str = ""  # a survey link already answered
    unsubscribe_token: str = ""
    response: int = 0
    alert: int = 0
    case: int = 0
    display: int = 0  # a display showing this corner's team board


@dataclass
class Org:
    """One organization: its two corners, its bootstrap admin key and its people."""

    new: NewOrg
    marker: str
    far_marker: str
    a: Corner
    b: Corner
    users: dict[str, User] = field(default_factory=dict)

    @property
    def org_id(self) -> int:
        return self.new.org_id

    def names(self, corner: Corner) -> str:
        """What every name stored in ``corner`` carries."""
        return self.marker if corner is self.a else f"{self.marker} {self.far_marker}"

    @property
    def key(self) -> str:
        return self.new.api_key


@dataclass
class Who:
    """A caller: how it presents itself over HTTP and over the websocket."""

    name: str
    org: Org
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    user: User | None = None
    display_token: str | None = None
    stream_token: str | None = None
    # Text that must never appear in an answer to this caller (other organizations, other corners).
    forbidden_markers: tuple[str, ...] = ()
    # Logs in again: a fresh session for routes that end the one they are given.
    relogin: Callable[[], dict[str, str]] | None = None

    @property
    def csrf(self) -> str:
        return self.cookies[CSRF_COOKIE]


class World:
    """Both organizations, every caller, and the factories for objects a request uses up."""

    def __init__(self, base_url: str, db: Database, signer: Signer, secret_key: str) -> None:
        self.base_url = base_url
        self.db = db
        self.signer = signer
        self.address_sealer = unsubscribe.address_sealer(secret_key)
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=TIMEOUT)
        # (org, account) -> a webhook endpoint for that account, remade after a DELETE took it.
        self._webhooks: dict[tuple[int, int], int] = {}
        self.home = self._org("hq")
        self.foreign = self._org("fx")
        self.own_display = 0  # the display the display-token caller shows
        self.callers = self._callers()

    def close(self) -> None:
        self.http.close()

    # --- building ---------------------------------------------------------------------------

    def admin_api(self, org: Org) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {org.key}"}, timeout=TIMEOUT
        )

    def _org(self, tag: str) -> Org:
        marker, far_marker = f"{tag}{secrets.token_hex(4)}", f"{tag}far{secrets.token_hex(4)}"
        with self.db.session() as s:
            new = create_org(s, f"{marker} org", f"{marker}-admin@example.com", PASSWORD)
        with self.db.session() as s:
            corners = []
            for label, names in (("A", marker), ("B", f"{marker} {far_marker}")):
                account = Account(org_id=new.org_id, name=f"{names} account {label}")
                s.add(account)
                s.flush()
                assert account.id is not None
                team = Team(org_id=new.org_id, account_id=account.id, name=f"{names} team {label}")
                s.add(team)
                s.flush()
                assert team.id is not None
                agents = [
                    Agent(
                        org_id=new.org_id,
                        account_id=account.id,
                        team_id=team.id,
                        name=f"{names} agent {label}{n}",
                    )
                    for n in (1, 2)
                ]
                s.add_all(agents)
                s.flush()
                assert agents[0].id is not None and agents[1].id is not None
                corners.append(Corner(account.id, team.id, agents[0].id, agents[1].id))
        org = Org(new, marker, far_marker, corners[0], corners[1])
        a = org.a
        org.users = {
            "admin_acct": self._user(org, Role.admin, account_ids=[a.account]),
            "manager": self._user(org, Role.manager, account_ids=[a.account]),
            "client": self._user(org, Role.client_viewer, account_ids=[a.account]),
            "leader": self._user(org, Role.team_leader, team_ids=[a.team]),
            "recovery": self._user(org, Role.recovery, account_ids=[a.account]),
            "agent": self._user(org, Role.agent, agent_id=a.agent),
        }
        with self.admin_api(org) as api:
            for corner in (org.a, org.b):
                self._fill(org, corner, api)
        return org

    def _user(self, org: Org, role: Role, **scope: Any) -> User:
        from streamsrv.security.passwords import hash_password

        with self.db.session() as s:
            user = User(
                org_id=org.org_id,
                email=f"{role}-{secrets.token_hex(4)}@example.com",
                name=f"{org.marker} {role}",
                password_hash=hash_password(PASSWORD),
                role=role,
                **scope,
            )
            s.add(user)
            s.flush()
            s.expunge(user)
            return user

    def _fill(self, org: Org, corner: Corner, api: httpx.Client) -> None:
        names = org.names(corner)
        corner.user = self._user_row(org, corner, names)
        with self.db.session() as s:
            key, _ = new_api_key(s, org.org_id, f"{names} key", ["read"], [corner.account])
            assert key.id is not None
            corner.key = key.id
        issued = self.interaction(org, corner, api, customer=True)
        corner.interaction = issued["interaction_id"]
        corner.token = issued["request"]["token"]
        with self.db.session() as s:
            request = s.get(FeedbackRequest, issued["request"]["id"])
            assert request is not None
            corner.unsubscribe_token = unsubscribe.token_for(self.signer, self.address_sealer, request)
        answered = self.interaction(org, corner, api)["request"]["token"]
        r = self.http.post(f"/api/v1/responses/{answered}", json={"rating": 5, "comment": "Lovely"})
        assert r.status_code == 201, r.text
        corner.answered_token = answered
        corner.response = r.json()["response"]["id"]
        corner.case = self.case(org, corner, api)
        with self.db.session() as s:
            alert = s.exec(select(Alert).where(Alert.team_id == corner.team)).first()
            assert alert is not None and alert.id is not None
            corner.alert = alert.id
        corner.display = self.display(org, corner, api)
        # What the public routes serve must exist: a logo, a photo, an address on the list.
        assert (
            api.put(
                f"/api/v1/accounts/{corner.account}/logo",
                content=tiny_png(),
                headers={"Content-Type": "image/png"},
            ).status_code
            == 200
        )
        assert (
            api.post(
                f"/api/v1/agents/{corner.agent}/photo",
                content=tiny_png(),
                headers={"Content-Type": "image/png"},
            ).status_code
            == 200
        )

    def _user_row(self, org: Org, corner: Corner, names: str) -> int:
        user = self._user(org, Role.manager, account_ids=[corner.account])
        with self.db.session() as s:
            row = s.get(User, user.id)
            assert row is not None and row.id is not None
            row.name = f"{names} target user"
            s.add(row)
            return row.id

    # --- objects made on demand ---------------------------------------------------------------

    def interaction(
        self, org: Org, corner: Corner, api: httpx.Client | None = None, customer: bool = False
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "account_id": corner.account,
            "agent_id": corner.agent,
            "channel": "chat",
            "external_id": unique("mx"),
            "send": "none",
        }
        if customer:
            body["customer"] = {"email": f"{unique('cust')}@example.com", "name": "Cara"}
        with self._api(org, api) as client:
            r = client.post("/api/v1/interactions", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def case(
        self, org: Org, corner: Corner, api: httpx.Client | None = None, claimed_by: int | None = None
    ) -> int:
        """A fresh open recovery case (claimed by ``claimed_by`` when given)."""
        body = {
            "account_id": corner.account,
            "agent_id": corner.agent,
            "channel": "phone",
            "external_id": unique("case"),
            "rating": 1,
        }
        with self._api(org, api) as client:
            r = client.post("/api/v1/feedback", json=body)
        assert r.status_code == 201, r.text
        response_id = r.json()["response"]["id"]
        with self.db.session() as s:
            case = s.exec(select(RecoveryCase).where(RecoveryCase.response_id == response_id)).one()
            assert case.id is not None
            if claimed_by is not None:
                case.status = CaseStatus.claimed
                case.claimed_by = claimed_by
                case.claimed_at = utcnow()
                s.add(case)
            return case.id

    def display(self, org: Org, corner: Corner, api: httpx.Client | None = None) -> int:
        body = {"name": unique(f"{org.names(corner)} screen"), "scope": "team", "target_id": corner.team}
        with self._api(org, api) as client:
            r = client.post("/api/v1/displays", json=body)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def display_url(self, org: Org, corner: Corner) -> str:
        with self.admin_api(org) as api:
            r = api.post(
                "/api/v1/displays", json={"name": unique("tv"), "scope": "team", "target_id": corner.team}
            )
        assert r.status_code == 201, r.text
        return str(r.json()["url"])

    def key(self, org: Org, corner: Corner) -> int:
        with self.db.session() as s:
            key, _ = new_api_key(
                s, org.org_id, unique(f"{org.names(corner)} key"), ["read"], [corner.account]
            )
            assert key.id is not None
            return key.id

    def suppression(self, org: Org, corner: Corner) -> str:
        email = f"{unique('gone')}@example.com"
        with self.admin_api(org) as api:
            r = api.post(f"/api/v1/accounts/{corner.account}/suppressions", json={"email": email})
        assert r.status_code == 201, r.text
        return email

    def webhook(self, org: Org, corner: Corner) -> int:
        """An endpoint for ``corner``'s account: the one made before while it still exists."""
        known = self._webhooks
        endpoint_id = known.get((org.org_id, corner.account))
        if endpoint_id is not None:
            with self.db.session() as s:
                row = s.get(WebhookEndpoint, endpoint_id)
                if row is not None and row.account_ids == [corner.account]:
                    return int(endpoint_id)
        body = {
            "url": "https://hooks.example.com/matrix",
            "events": ["case.opened"],
            "account_ids": [corner.account],
        }
        with self.admin_api(org) as api:
            r = api.post("/api/v1/webhook-endpoints", json=body)
        assert r.status_code == 201, r.text
        known[(org.org_id, corner.account)] = int(r.json()["id"])
        return int(r.json()["id"])

    def ensure_smtp(self, org: Org) -> None:
        with self.admin_api(org) as api:
            r = api.put(
                "/api/v1/smtp-settings", json={"host": "smtp.example.com", "from_address": "fb@example.com"}
            )
        assert r.status_code == 200, r.text

    def ensure_logo(self, org: Org, corner: Corner) -> None:
        with self.admin_api(org) as api:
            r = api.put(
                f"/api/v1/accounts/{corner.account}/logo",
                content=tiny_png(),
                headers={"Content-Type": "image/png"},
            )
        assert r.status_code == 200, r.text

    def _api(self, org: Org, api: httpx.Client | None) -> AbstractContextManager[httpx.Client]:
        return nullcontext(api) if api is not None else self.admin_api(org)

    # --- callers ------------------------------------------------------------------------------

    def login(self, user: User) -> dict[str, str]:
        with Browser(self.base_url) as browser:
            r = browser.login(user.email, PASSWORD)
            assert r.status_code == 303, r.text
            return dict(browser.cookies)

    def _session(self, name: str, org: Org, user: User, forbidden: tuple[str, ...]) -> Who:
        return Who(
            name,
            org,
            cookies=self.login(user),
            user=user,
            forbidden_markers=forbidden,
            relogin=lambda: self.login(user),
        )

    def _callers(self) -> dict[str, Who]:
        home, foreign = self.home, self.foreign
        wide = (foreign.marker,)
        narrow = (foreign.marker, home.far_marker)
        admin = self._admin_user(home)
        outsider = self._admin_user(foreign)
        callers = [self._session("admin", home, admin, wide)]
        for name in ("admin_acct", "manager", "client", "leader", "recovery", "agent"):
            callers.append(self._session(name, home, home.users[name], narrow))
        callers.append(self._display(narrow))
        callers.append(self._stream_token(callers[0]))
        for name, scopes, accounts in (
            ("k_admin", ["admin"], None),
            ("k_ingest", ["ingest"], None),
            ("k_read", ["read"], None),
            ("k_streams", ["streams"], None),
            ("k_acct", ["ingest", "read", "streams"], [home.a.account]),
        ):
            with self.db.session() as s:
                _, plaintext = new_api_key(s, home.org_id, f"{home.marker} {name}", scopes, accounts)
            callers.append(
                Who(
                    name,
                    home,
                    headers={"Authorization": f"Bearer {plaintext}"},
                    forbidden_markers=narrow if accounts else wide,
                )
            )
        callers.append(Who("anon", home, forbidden_markers=narrow))
        callers.append(self._session("outsider", foreign, outsider, (home.marker,)))
        for who in callers:
            # Every browser has a CSRF cookie once it has seen a page; non-browsers may too.
            who.cookies.setdefault(CSRF_COOKIE, secrets.token_urlsafe(16))
        return {who.name: who for who in callers}

    def _admin_user(self, org: Org) -> User:
        with self.db.session() as s:
            user = s.get(User, org.new.admin_user_id)
            assert user is not None
            s.expunge(user)
            return user

    def _display(self, forbidden: tuple[str, ...]) -> Who:
        url = self.display_url(self.home, self.home.a)
        display_id = int(url.split("/wallboard/display/")[1].split("?")[0])
        token = url.split("token=")[1]
        who = Who(
            "display",
            self.home,
            headers={"Authorization": f"Bearer {token}"},
            display_token=token,
            forbidden_markers=forbidden,
        )
        self.own_display = display_id
        return who

    def _stream_token(self, admin: Who) -> Who:
        a, b = self.home.a, self.home.b
        streams = [f"team:{a.team}", f"board:team:{a.team}", f"account:{b.account}"]
        r = self.http.post(
            "/api/v1/stream-tokens",
            json={"streams": streams},
            headers={"X-CSRF-Token": admin.csrf, "Cookie": cookie_header(admin.cookies)},
        )
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        return Who(
            "stream_token",
            self.home,
            headers={"Authorization": f"Bearer {token}"},
            stream_token=token,
            forbidden_markers=(self.foreign.marker, self.home.far_marker),
        )

    # --- targets ------------------------------------------------------------------------------

    def where(self, where: Where) -> tuple[Org, Corner]:
        if where == "home":
            return self.home, self.home.a
        if where == "far":
            return self.home, self.home.b
        return self.foreign, self.foreign.a


def cookie_header(cookies: Mapping[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def walk_routes(routes: Any, prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """``(kind, method, path)`` of every route, mounts included: kind is http, ws or mount."""
    from starlette.routing import Mount, Route, WebSocketRoute

    for route in routes:
        if isinstance(route, Mount):
            inner = list(route.routes or [])
            if inner:
                yield from walk_routes(inner, prefix + route.path)
            else:
                yield "mount", "GET", prefix + route.path
        elif isinstance(route, Route):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield "http", method, prefix + route.path
        elif isinstance(route, WebSocketRoute):
            yield "ws", "GET", prefix + route.path
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}")
