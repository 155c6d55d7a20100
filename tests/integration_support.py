"""Helpdesk samples and how each vendor signs them, for the integration tests.

The samples in ``tests/fixtures/helpdesks`` are the vendors' documented payloads (Zendesk's is
the body docs/integrations.md asks admins to paste). Tests swap in their own customer and agent
addresses, then sign the exact bytes they send, as the vendor would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from streamsrv.db import Database
from streamsrv.models import Account, Agent, Role, Team, User
from streamsrv.security.passwords import hash_password
from tests.support import TIMEOUT

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "helpdesks"
SAMPLES = {
    "zendesk": "zendesk_ticket_solved.json",
    "freshdesk": "freshdesk_ticket_resolved.json",
    "gorgias": "gorgias_ticket_closed.json",
    "intercom": "intercom_conversation_admin_closed.json",
    "helpscout": "helpscout_convo_status.json",
    "kustomer": "kustomer_conversation_done.json",
    "salesforce": "salesforce_case_closed.json",
}
# The agent's id in each helpdesk's sample (Freshdesk's simple payload names agents by email only).
AGENT_IDS = {
    "zendesk": "381726354912",
    "gorgias": "612934",
    "intercom": "4810277",
    "helpscout": "4421",
    "kustomer": "5e1a9c0b7d2f3a4b5c6d7e8f",
    "salesforce": "0053t000007XyZaAAK",
}
TICKET_IDS = {
    "zendesk": "35436",
    "freshdesk": "3221",
    "gorgias": "40138712",
    "intercom": "147000233719",
    "helpscout": "2391938111",
    "kustomer": "5f9b2a1c3d4e5f6a7b8c9d0e",
    "salesforce": "5003t00001AbCdEAAV",
}
SAMPLE_CUSTOMER = "cara.diaz@example.com"
SAMPLE_AGENT = "maria.lopez@acme.example"


def sample(connector: str, customer: str | None = None, agent_email: str | None = None, **swap: str) -> bytes:
    raw = (FIXTURES / SAMPLES[connector]).read_text()
    raw = raw.replace(SAMPLE_CUSTOMER, customer or SAMPLE_CUSTOMER)
    raw = raw.replace(SAMPLE_AGENT, agent_email or SAMPLE_AGENT)
    for old, new in swap.items():
        raw = raw.replace(old, new)
    return raw.encode()


def zendesk_time(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed(connector: str, secret: str, body: bytes, when: datetime | None = None) -> dict[str, str]:
    """The headers the vendor sends with ``body`` when configured with ``secret``."""
    key = secret.encode()
    headers = {"Content-Type": "application/json"}
    if connector == "zendesk":
        stamp = zendesk_time(when)
        digest = hmac.new(key, stamp.encode() + body, hashlib.sha256).digest()
        headers["X-Zendesk-Webhook-Signature"] = base64.b64encode(digest).decode()
        headers["X-Zendesk-Webhook-Signature-Timestamp"] = stamp
    elif connector == "intercom":
        headers["X-Hub-Signature"] = "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest()
    elif connector == "helpscout":
        digest = hmac.new(key, body, hashlib.sha1).digest()
        headers["X-HelpScout-Signature"] = base64.b64encode(digest).decode()
        headers["X-HelpScout-Event"] = "convo.status"
    else:
        headers["X-Streamsrv-Secret"] = secret
    return headers


def unsigned(headers: dict[str, str]) -> dict[str, str]:
    proof = ("X-Zendesk-Webhook-Signature", "X-Hub-Signature", "X-HelpScout-Signature", "X-Streamsrv-Secret")
    return {k: v for k, v in headers.items() if k not in proof}


@dataclass(frozen=True)
class Desk:
    """An account with one agent known to every helpdesk, and that agent's login email."""

    account_id: int
    team_id: int
    agent_id: int
    other_agent_id: int
    agent_email: str


def make_desk(db: Database, org_id: int, known: bool = True, **account: object) -> Desk:
    """``known=False``: the agent has no helpdesk ids and no login, so events stay unmapped."""
    account.setdefault("suppression_days", 0)
    with db.session() as s:
        acc = Account(org_id=org_id, name=f"Helpdesk {secrets.token_hex(3)}", **account)  # type: ignore[arg-type]
        s.add(acc)
        s.flush()
        assert acc.id is not None
        team = Team(org_id=org_id, account_id=acc.id, name="Tier 1")
        s.add(team)
        s.flush()
        assert team.id is not None
        maria = Agent(
            org_id=org_id,
            account_id=acc.id,
            team_id=team.id,
            name="Maria Lopez",
            bio="Untangles billing questions.",
            external_ids=dict(AGENT_IDS) if known else {},
        )
        sam = Agent(org_id=org_id, account_id=acc.id, team_id=team.id, name="Sam Otieno")
        s.add_all([maria, sam])
        s.flush()
        assert maria.id is not None and sam.id is not None
        email = f"maria-{secrets.token_hex(4)}@acme.example"
        if known:
            s.add(
                User(
                    org_id=org_id,
                    email=email,
                    name="Maria Lopez",
                    password_hash=hash_password("correct horse battery"),
                    role=Role.agent,
                    agent_id=maria.id,
                )
            )
        return Desk(acc.id, team.id, maria.id, sam.id, email)


@dataclass(frozen=True)
class Hook:
    id: int
    secret: str
    # As the API answers it (from STREAMSRV_PUBLIC_URL), and where this test's server listens.
    url: str
    target: str


def connect(api: httpx.Client, connector: str, account_id: int) -> Hook:
    r = api.post(
        "/api/v1/integrations",
        json={"connector": connector, "account_id": account_id, "name": f"{connector} desk"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    path = "/api/v1/" + body["url"].split("/api/v1/", 1)[1]
    return Hook(body["id"], body["secret"], body["url"], str(api.base_url).rstrip("/") + path)


def deliver(
    hook: Hook, connector: str, body: bytes, secret: str | None = None, when: datetime | None = None
) -> httpx.Response:
    headers = signed(connector, hook.secret if secret is None else secret, body, when)
    return httpx.post(hook.target, content=body, headers=headers, timeout=TIMEOUT)


STALE = timedelta(minutes=6)
