"""Helpers for the users, invitations and password reset tests: an organization with two
accounts, a team and an agent, links read from the emails aiosmtpd received, and browser logins."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from email.message import EmailMessage

from playwright.sync_api import Page
from sqlalchemy import update
from sqlmodel import col

from streamsrv.db import Database
from streamsrv.models import Account, AccountToken, Agent, Team, utcnow
from tests.email_support import parts

PASSWORD = "correct horse battery"
INVITE_LINK = re.compile(r"(https?://[^\s\"<>]+/invite/([A-Za-z0-9_.\-]+))")
RESET_LINK = re.compile(r"(https?://[^\s\"<>]+/password/reset/([A-Za-z0-9_.\-]+))")


@dataclass(frozen=True)
class Org:
    account_a: int
    account_b: int
    team: int
    agent: int


def make_org(db: Database, org_id: int) -> Org:
    tag = secrets.token_hex(3)
    with db.session() as s:
        a = Account(org_id=org_id, name=f"Acme Support {tag}")
        b = Account(org_id=org_id, name=f"Globex Care {tag}")
        s.add(a)
        s.add(b)
        s.flush()
        assert a.id is not None and b.id is not None
        team = Team(org_id=org_id, account_id=a.id, name=f"Night shift {tag}")
        s.add(team)
        s.flush()
        assert team.id is not None
        agent = Agent(org_id=org_id, account_id=a.id, team_id=team.id, name=f"Maria Lopez {tag}")
        s.add(agent)
        s.flush()
        assert agent.id is not None
        return Org(a.id, b.id, team.id, agent.id)


def link_in(message: EmailMessage, pattern: re.Pattern[str]) -> str:
    """The link in the text part, checked to be the same in the HTML part."""
    text, html = parts(message)
    found = pattern.search(text)
    assert found is not None, text
    assert found.group(1) in html
    return found.group(1)


def expire_tokens(db: Database, user_id: int) -> None:
    """Time moves on: the user's links are past their expiry."""
    with db.session() as s:
        s.execute(
            update(AccountToken).where(col(AccountToken.user_id) == user_id).values(expires_at=utcnow())
        )


def log_in(page: Page, base: str, email: str, password: str = PASSWORD, then: str = "/") -> None:
    page.goto(f"{base}/login?next={then}")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{then}")
