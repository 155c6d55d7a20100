"""What the accessibility test needs: axe-core run inside the page, and a small org with
something on every page (responses, a recovery case, a display, a survey link, an event to map).

axe-core is vendored (``tests/vendor/axe.min.js``, see ``tests/vendor/README.md``) so the test
runs without network access. It is injected into each page after it settled and run over the
whole document; only its violations are asked for.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Page
from sqlmodel import select

from streamsrv.context import LoginHints
from streamsrv.db import Database
from streamsrv.demo.smtp_catcher import SmtpCatcher
from streamsrv.embedded_redis import EmbeddedRedis, free_port
from streamsrv.mail import unsubscribe
from streamsrv.mail.outbox import outbox_dir, recent
from streamsrv.models import AccountToken, FeedbackRequest, Role, TokenPurpose, User, utcnow
from streamsrv.org.invitations import SALTS
from streamsrv.org.users import UNUSABLE_PASSWORD
from streamsrv.security.tokens import token_hash
from streamsrv.tenancy import create_org
from tests.conftest import fresh_database, make_settings
from tests.email_support import live_server
from tests.integration_support import connect, deliver, make_desk, sample
from tests.login_support import Browser
from tests.streaming import make_floor, make_key, make_user
from tests.support import TIMEOUT, LiveServer, wait_until
from tests.survey_support import interaction_body, make_setup, new_request

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
PASSWORD = "correct horse battery"
# Impacts that fail the test; "moderate" and "minor" ones are reported but allowed.
FAILING = ("serious", "critical")
# Roles that log in; None opens a page with nobody logged in.
ROLES = (Role.admin, Role.manager, Role.client_viewer, Role.team_leader, Role.recovery, Role.agent)

_ids = itertools.count(1)


@dataclass
class World:
    """One org seen by one server: ids and links the URL builders of the page table use."""

    server: LiveServer
    org_id: int
    account_id: int
    team_id: int
    agent_id: int
    display_id: int
    display_path: str
    survey_path: str
    answered_path: str
    unsubscribe_path: str
    # Role -> the session cookie of a user of that role (logged in once, through the login form).
    sessions: dict[str, str] = field(default_factory=dict)
    # A user an administrator can open, and working emailed links (invitation, password reset).
    user_id: int = 0
    invite_path: str = ""
    reset_path: str = ""
    # Filled by the demo world only: the key of a caught email in the outbox.
    outbox_key: str = ""


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def log_in(base_url: str, email: str) -> str:
    with Browser(base_url) as browser:
        answer = browser.login(email, PASSWORD)
        assert answer.status_code == 303, answer.text
        assert browser.session is not None
        return browser.session


def post_feedback(api: httpx.Client, account_id: int, agent_id: int, rating: int, comment: str) -> None:
    answer = api.post(
        "/api/v1/feedback",
        json={
            "account_id": account_id,
            "agent_id": agent_id,
            "channel": "chat",
            "external_id": f"a11y-{next(_ids)}-{secrets.token_hex(3)}",
            "rating": rating,
            "comment": comment,
        },
    )
    assert answer.status_code == 201, answer.text


def build_world(server: LiveServer, db: Database) -> World:
    with db.session() as session:
        org = create_org(
            session, f"A11y {secrets.token_hex(3)}", f"admin-{secrets.token_hex(4)}@example.com", PASSWORD
        )
    floor = make_floor(db, org.org_id, agents=3)
    key = make_key(db, org.org_id, ["ingest"])
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {org.api_key}"}, timeout=TIMEOUT
    ) as api:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=TIMEOUT
        ) as ingest:
            for agent, rating, comment in (
                (0, 5, "Quick and friendly, thank you"),
                (1, 4, "Good help"),
                (0, 1, "Nobody solved my problem"),
                (2, 2, "Slow answer"),
            ):
                post_feedback(ingest, floor.account_id, floor.agent_ids[agent], rating, comment)
        created = api.post(
            "/api/v1/displays", json={"name": "Floor TV", "scope": "team", "target_id": floor.team_id}
        )
        assert created.status_code == 201, created.text
        display = created.json()
        # A helpdesk integration with an event waiting to be mapped (the page's form shows).
        desk = make_desk(db, org.org_id, known=False, send_channel="none")
        hook = connect(api, "zendesk", desk.account_id)
        assert deliver(hook, "zendesk", sample("zendesk")).status_code == 202
        # Survey links: one unanswered, one answered (its thanks page), and an unsubscribe link.
        setup = make_setup(db, org.org_id)
        unanswered = new_request(
            _Api(api),  # type: ignore[arg-type]
            setup,
            customer={"email": f"c{secrets.token_hex(4)}@example.com", "name": "Cara"},
        )
        answered = new_request(_Api(api), setup)  # type: ignore[arg-type]
        token = answered["request"]["token"]
        rated = httpx.post(f"{server.url}/api/v1/responses/{token}", json={"rating": 5}, timeout=TIMEOUT)
        assert rated.status_code == 201, rated.text

    ctx = server.app.state.ctx
    with db.session() as session:
        row = session.exec(
            select(FeedbackRequest).where(FeedbackRequest.id == unanswered["request"]["id"])
        ).one()
        unsubscribe_token = unsubscribe.token_for(
            ctx.signer, unsubscribe.address_sealer(ctx.settings.secret_key), row
        )

    manager = make_user(db, org.org_id, Role.manager, PASSWORD, account_ids=[floor.account_id])
    users = {
        Role.admin: org.admin_email,
        Role.manager: manager.email,
        Role.client_viewer: make_user(
            db, org.org_id, Role.client_viewer, PASSWORD, account_ids=[floor.account_id]
        ).email,
        Role.team_leader: make_user(
            db, org.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id]
        ).email,
        Role.recovery: make_user(
            db, org.org_id, Role.recovery, PASSWORD, account_ids=[floor.account_id]
        ).email,
        Role.agent: make_user(db, org.org_id, Role.agent, PASSWORD, agent_id=floor.agent_ids[0]).email,
    }
    return World(
        server=server,
        org_id=org.org_id,
        account_id=floor.account_id,
        team_id=floor.team_id,
        agent_id=floor.agent_ids[0],
        display_id=int(display["id"]),
        display_path=path_of(display["url"]),
        survey_path=path_of(unanswered["request"]["url"]),
        answered_path=path_of(answered["request"]["url"]),
        unsubscribe_path=f"/u/{unsubscribe_token}",
        user_id=int(manager.id or 0),
        invite_path=emailed_link(server, db, org.org_id, floor.account_id, TokenPurpose.invite),
        reset_path=emailed_link(server, db, org.org_id, floor.account_id, TokenPurpose.reset),
        sessions={str(role): log_in(server.url, email) for role, email in users.items()},
    )


def emailed_link(
    server: LiveServer, db: Database, org_id: int, account_id: int, purpose: TokenPurpose
) -> str:
    """The path of a working invitation or reset link for a new user (as its email would hold)."""
    secret = secrets.token_urlsafe(32)
    with db.session() as session:
        user = User(
            org_id=org_id,
            email=f"link-{secrets.token_hex(4)}@example.com",
            # A reset link is only for a user who has a password (not a pending invitation).
            password_hash=UNUSABLE_PASSWORD if purpose is TokenPurpose.invite else "set-elsewhere",
            role=Role.manager,
            account_ids=[account_id],
            active=purpose is TokenPurpose.reset,
        )
        session.add(user)
        session.flush()
        assert user.id is not None
        now = utcnow()
        session.add(
            AccountToken(
                org_id=org_id,
                user_id=user.id,
                purpose=purpose,
                token_hash=token_hash(secret),
                created_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )
    token = server.app.state.ctx.signer.dumps(SALTS[purpose], secret)
    return f"/invite/{token}" if purpose is TokenPurpose.invite else f"/password/reset/{token}"


@dataclass
class _Api:
    """What ``tests.survey_support.new_request`` uses of a tenant: its admin API client."""

    api: httpx.Client


def audit(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations for the document shown (every impact)."""
    page.add_script_tag(content=AXE)
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return list(result["violations"])


def failing(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v.get("impact") in FAILING]


def describe(violations: list[dict[str, Any]]) -> str:
    """One paragraph per rule: what it is, and where (the first few elements, and why)."""
    lines = []
    for v in violations:
        nodes = v["nodes"]
        lines.append(f"- {v['id']} ({v['impact']}, {len(nodes)} element(s)): {v['help']}")
        for node in nodes[:5]:
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary[:300]}")
            lines.append(f"      {' '.join(str(node.get('html', '')).split())[:300]}")
    return "\n".join(lines)


@contextmanager
def demo_world(backend: str, tmp: Path, redis: EmbeddedRedis) -> Iterator[World]:
    """A server in demo mode (the only one with ``/outbox``) whose survey emails land in the
    demo's own catcher; its world has the org's admin logged in and one caught email."""
    with fresh_database(backend, tmp) as database:
        port = free_port()
        settings = make_settings(
            database.url,
            redis.url,
            tmp,
            public_url=f"http://127.0.0.1:{port}",
            delivery_poll_interval=0.1,
        )
        catcher = SmtpCatcher(outbox_dir(settings)).start()
        settings = settings.replace(smtp_url=catcher.url)
        with database.session() as session:
            org = create_org(session, "Demo", f"admin-{secrets.token_hex(4)}@example.com", PASSWORD)
        setup = make_setup(database, org.org_id)
        # The demo hands over its logins; that is what makes a server the demo.
        live = live_server(settings, port, LoginHints(logins=(), password=PASSWORD))
        try:
            with httpx.Client(
                base_url=live.url, headers={"Authorization": f"Bearer {org.api_key}"}, timeout=TIMEOUT
            ) as api:
                body = interaction_body(setup, customer={"email": f"c{secrets.token_hex(4)}@example.com"})
                assert api.post("/api/v1/interactions", json=body).status_code == 201
            caught = wait_until(lambda: recent(outbox_dir(settings)), timeout=TIMEOUT * 2)
            yield World(
                server=live,
                org_id=org.org_id,
                account_id=setup.account_id,
                team_id=setup.team_id,
                agent_id=setup.agent_id,
                display_id=0,
                display_path="",
                survey_path="",
                answered_path="",
                unsubscribe_path="",
                sessions={str(Role.admin): log_in(live.url, org.admin_email)},
                outbox_key=caught[0].key,
            )
        finally:
            live.stop()
            catcher.stop()
