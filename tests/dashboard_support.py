"""Helpers for the dashboard and moderation tests: a two-account floor that asks every optional
question, feedback posted through the real ingest API, and a logged-in cookie client."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from streamsrv.db import Database
from streamsrv.models import Account, Agent, Role, Team
from tests.login_support import Browser
from tests.streaming import make_key, make_user

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Site:
    org_id: int
    account_id: int
    team_ids: list[int]
    agent_ids: list[int]  # agents[0], [1] in team 0; agents[2] in team 1
    other_account_id: int
    other_team_id: int
    other_agent_id: int


def make_site(db: Database, org_id: int) -> Site:
    with db.session() as s:
        accounts = [
            Account(
                org_id=org_id,
                name=f"{name} {secrets.token_hex(3)}",
                ask_csat=True,
                ask_nps=True,
                ask_fcr=True,
            )
            for name in ("Aurora", "Brightside")
        ]
        s.add_all(accounts)
        s.flush()
        a, b = (acc.id for acc in accounts)
        assert a is not None and b is not None
        teams = [
            Team(org_id=org_id, account_id=a, name="Mobile Care"),
            Team(org_id=org_id, account_id=a, name="Billing"),
            Team(org_id=org_id, account_id=b, name="Energy Help"),
        ]
        s.add_all(teams)
        s.flush()
        t = [team.id for team in teams]
        assert all(i is not None for i in t)
        agents = [
            Agent(org_id=org_id, account_id=a, team_id=t[0], name="Maya Chen"),  # type: ignore[arg-type]
            Agent(org_id=org_id, account_id=a, team_id=t[0], name="Omar Haddad"),  # type: ignore[arg-type]
            Agent(org_id=org_id, account_id=a, team_id=t[1], name="Lena Vogel"),  # type: ignore[arg-type]
            Agent(org_id=org_id, account_id=b, team_id=t[2], name="Ravi Patel"),  # type: ignore[arg-type]
        ]
        s.add_all(agents)
        s.flush()
        ids = [agent.id for agent in agents]
        return Site(org_id, a, [t[0], t[1]], ids[:3], b, t[2], ids[3])  # type: ignore[list-item,arg-type]


def ingest_key(db: Database, org_id: int) -> str:
    return make_key(db, org_id, ["ingest", "read"])


def post_feedback(api: httpx.Client, account_id: int, agent_id: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "account_id": account_id,
        "agent_id": agent_id,
        "channel": "chat",
        "external_id": f"ext-{secrets.token_hex(6)}",
        "rating": 5,
    }
    body.update(fields)
    r = api.post("/api/v1/feedback", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json()["response"])


class Session(Browser):
    """A logged-in browser tab for JSON calls: sends the CSRF header like the page's scripts."""

    def api(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("X-CSRF-Token", self.cookies.get("streamsrv_csrf", ""))
        headers.setdefault("Accept", "application/json")
        return self.request(method, url, headers=headers, **kwargs)


def logged_in(base_url: str, db: Database, org_id: int, role: Role, **scope: Any) -> Session:
    user = make_user(db, org_id, role, PASSWORD, **scope)
    tab = Session(base_url)
    r = tab.login(user.email, PASSWORD)
    assert r.status_code == 303, r.text
    tab.user_id = user.id  # type: ignore[attr-defined]
    return tab
