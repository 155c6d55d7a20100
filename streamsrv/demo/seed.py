"""Seeding the demo organization in the caller's transaction: structure through the models,
history through the same survey service functions the API uses.

Idempotent: if an organization named ``Northwind BPO`` exists nothing is written, so
``streamsrv demo`` can be run again on the same database and keeps its history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from streamsrv.auth import Identity
from streamsrv.config import Settings
from streamsrv.demo import avatars
from streamsrv.demo.activity import add_activity
from streamsrv.demo.feedback import AccountProfile, AgentTarget, DrawnFeedback, draw_feedback
from streamsrv.demo.people import ACCOUNTS, DEMO_PASSWORD, EMAIL_DOMAIN, ORG_NAME, AccountSpec, first_name
from streamsrv.models import (
    Account,
    Agent,
    ApiKey,
    Organization,
    Role,
    SendChannel,
    Team,
    User,
    utcnow,
)
from streamsrv.periods import day_start, local_date, zone
from streamsrv.security.passwords import hash_password
from streamsrv.security.tokens import Signer
from streamsrv.survey.requests import record_interaction
from streamsrv.survey.responses import ingest_feedback, submit_by_token
from streamsrv.survey.validation import FeedbackIn, InteractionIn
from streamsrv.tenancy import new_api_key

# Answered contacts a day across the organization (weekends have fewer), from the first day of
# last month on: a closed month for the statements and the current month so far.
HISTORY_PER_DAY = 24
# The newest historical contact is this old: what happens after it is the live simulator's.
HISTORY_GAP_MINUTES = 10
TRAFFIC_KEY_NAME = "demo traffic simulator"


@dataclass(frozen=True)
class Login:
    role: str
    email: str
    password: str
    sees: str


@dataclass(frozen=True)
class SeedResult:
    org_id: int
    created: bool
    logins: list[Login]
    # Shown once, on the run that created it; later runs mint their own traffic key.
    ingest_api_key: str | None = None
    backfilled: int = 0


def email_for(local: str) -> str:
    return f"{local}@{EMAIL_DOMAIN}"


# (role, mailbox, display name, what they see); scopes are set once the accounts and teams exist.
USERS: tuple[tuple[Role, str, str, str], ...] = (
    (Role.admin, "admin", "Nadia Admin", "everything in Northwind BPO"),
    (Role.manager, "manager", "Marco Manager", "Aurora Telecom and Brightside Energy"),
    (Role.client_viewer, "client", "Clara Client (Aurora)", "Aurora Telecom only"),
    (Role.team_leader, "teamlead", "Theo Teamlead", "team Mobile Care (Aurora Telecom)"),
    (Role.recovery, "recovery", "Rita Recovery", "negative feedback of both accounts"),
    (Role.agent, "agent", "Maya Chen", "her own feedback (agent Maya Chen)"),
)


def find_demo_org(session: Session) -> Organization | None:
    return session.exec(select(Organization).where(Organization.name == ORG_NAME)).first()


def _add_account(session: Session, org_id: int, spec: AccountSpec) -> Account:
    account = Account(
        org_id=org_id,
        name=spec.name,
        ask_csat=spec.ask_csat,
        ask_nps=spec.ask_nps,
        ask_fcr=spec.ask_fcr,
        promo_code=spec.promo_code,
        time_zone=spec.time_zone,
    )
    if spec.rewards is not None:
        account.reward_catalogue = [dict(r) for r in spec.rewards]
    session.add(account)
    session.flush()
    return account


def _add_structure(
    session: Session, org_id: int, avatars_dir: Path
) -> tuple[list[Account], list[Team], list[Agent]]:
    accounts: list[Account] = []
    teams: list[Team] = []
    agents: list[Agent] = []
    for spec in ACCOUNTS:
        account = _add_account(session, org_id, spec)
        assert account.id is not None
        accounts.append(account)
        for team_spec in spec.teams:
            team = Team(org_id=org_id, account_id=account.id, name=team_spec.name)
            session.add(team)
            session.flush()
            assert team.id is not None
            teams.append(team)
            for n, person in enumerate(team_spec.agents, start=1):
                agent = Agent(
                    org_id=org_id,
                    account_id=account.id,
                    team_id=team.id,
                    name=person.name,
                    bio=person.bio,
                    hobbies=list(person.hobbies),
                    photo_url=avatars.ensure_avatar(person.name, avatars_dir),
                    external_ids={"zendesk": f"{team.id}{n:03d}", "freshdesk": avatars.slug(person.name)},
                )
                session.add(agent)
                agents.append(agent)
    session.flush()
    return accounts, teams, agents


def _add_users(
    session: Session, org_id: int, accounts: list[Account], teams: list[Team], agents: list[Agent]
) -> list[Login]:
    aurora = accounts[0]
    both = [a.id for a in accounts if a.id is not None]
    lead_team = teams[0]  # Mobile Care, the first team of Aurora Telecom
    agent_by_name = {a.name: a for a in agents}
    password_hash = hash_password(DEMO_PASSWORD)
    for role, mailbox, display, _ in USERS:
        user = User(
            org_id=org_id, email=email_for(mailbox), name=display, password_hash=password_hash, role=role
        )
        if role in (Role.manager, Role.recovery):
            user.account_ids = list(both)
        elif role == Role.client_viewer and aurora.id is not None:
            user.account_ids = [aurora.id]
        elif role == Role.team_leader and lead_team.id is not None:
            user.team_ids = [lead_team.id]
        elif role == Role.agent:
            user.agent_id = agent_by_name[display].id
        session.add(user)
    session.flush()
    return demo_logins()


def demo_logins() -> list[Login]:
    return [
        Login(role=str(role), email=email_for(mailbox), password=DEMO_PASSWORD, sees=sees)
        for role, mailbox, _, sees in USERS
    ]


def profile_of(account: Account) -> AccountProfile:
    assert account.id is not None
    return AccountProfile(
        account_id=account.id,
        name=account.name,
        reward_codes=tuple(str(r["code"]) for r in account.reward_catalogue),
        area_codes=tuple(str(a["code"]) for a in account.improvement_areas),
        ask_csat=account.ask_csat,
        ask_nps=account.ask_nps,
        ask_fcr=account.ask_fcr,
    )


def demo_targets(session: Session, org_id: int) -> list[AgentTarget]:
    """Every active agent of the organization with their account's survey settings."""
    accounts = {a.id: profile_of(a) for a in session.exec(select(Account).where(Account.org_id == org_id))}
    agents = session.exec(
        select(Agent).where(Agent.org_id == org_id, Agent.active == True).order_by(Agent.id)  # type: ignore[arg-type]  # noqa: E712
    ).all()
    return [
        AgentTarget(
            agent_id=a.id,
            name=a.name,
            first_name=first_name(a.name),
            team_id=a.team_id,
            account=accounts[a.account_id],
        )
        for a in agents
        if a.id is not None
    ]


def _interaction_in(
    target: AgentTarget, drawn: DrawnFeedback, external_id: str, when: datetime
) -> dict[str, Any]:
    return {
        "account_id": target.account.account_id,
        "agent_id": target.agent_id,
        "channel": drawn.channel,
        "external_id": external_id,
        "customer": {"email": drawn.customer_email, "name": drawn.customer_name},
        "occurred_at": when,
    }


def _backfill_one(
    session: Session,
    writer: HistoryWriter,
    target: AgentTarget,
    when: datetime,
    n: int,
    rng: random.Random,
    now: datetime,
) -> None:
    """One historical contact and its answer, through the same service code the API calls.

    The service functions are told the historical moment as their ``now``, so rows, events and
    expiry dates carry that time; ``now`` here is the moment of seeding, which nothing passes.
    """
    drawn = draw_feedback(rng, target)
    # Answered minutes to hours later, never after the seeding itself.
    answered = min(when + timedelta(minutes=rng.randint(2, 180)), now - timedelta(minutes=1))
    fields = _interaction_in(target, drawn, f"hist-{n:05d}", when)
    # Half came through the survey link, half through server-side ingest.
    if rng.random() < 0.5:
        issued = record_interaction(
            session,
            writer.signer,
            writer.settings,
            writer.identity,
            InteractionIn.model_validate(fields),
            when,
            # The link was handed over in the helpdesk long ago: no survey email to schedule.
            send=SendChannel.none,
        )
        if issued.token is None:
            return
        submit_by_token(session, issued.token, drawn.response_fields(), "survey", answered)
    else:
        data = FeedbackIn.model_validate(fields | drawn.response_fields())
        ingest_feedback(session, writer.signer, writer.settings, writer.identity, data, answered)


@dataclass(frozen=True)
class HistoryWriter:
    """What the service functions need to act for the demo organization."""

    settings: Settings
    signer: Signer
    identity: Identity

    @classmethod
    def for_org(cls, settings: Settings, org_id: int) -> HistoryWriter:
        identity = Identity(org_id=org_id, role=Role.admin, scopes=frozenset({"ingest"}), name="demo history")
        return cls(settings=settings, signer=Signer(settings.secret_key), identity=identity)


def month_start(now: datetime, time_zone: str | None) -> datetime:
    """Local midnight of the first day of the current month, in ``time_zone``."""
    tz = zone(time_zone)
    return day_start(local_date(now, tz).replace(day=1), tz)


def history_start(now: datetime, time_zone: str | None) -> datetime:
    """Local midnight of the first day of the previous calendar month, in ``time_zone``."""
    tz = zone(time_zone)
    today = local_date(now, tz)
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return day_start(first, tz)


@dataclass(frozen=True)
class Contact:
    when: datetime
    target: AgentTarget


def history_contacts(
    targets: list[AgentTarget], zones: dict[int, str], per_day: int, rng: random.Random, now: datetime
) -> list[Contact]:
    """When each historical contact happened: working hours on the account's own clock, from the
    first day of last month to a little before ``now``, fewer at weekends; oldest first."""
    by_account: dict[int, list[AgentTarget]] = {}
    for target in targets:
        by_account.setdefault(target.account.account_id, []).append(target)
    share = per_day / max(1, len(by_account))
    contacts: list[Contact] = []
    for account_id in sorted(by_account):
        members = by_account[account_id]
        # Some agents simply take more contacts than others.
        weights = [1 + (t.agent_id % 3) for t in members]
        tz = zone(zones.get(account_id))
        day = local_date(history_start(now, zones.get(account_id)), tz)
        last = local_date(now, tz)
        while day <= last:
            base = share * (0.6 if day.isoweekday() >= 6 else 1.0)
            for _ in range(max(0, round(base + rng.uniform(-3, 3)))):
                wall = datetime.combine(day, time(8), tzinfo=tz) + timedelta(hours=rng.uniform(0, 12))
                when = wall.astimezone(UTC)
                target = rng.choices(members, weights=weights, k=1)[0]
                if when < now - timedelta(minutes=HISTORY_GAP_MINUTES):
                    contacts.append(Contact(when, target))
            day += timedelta(days=1)
    contacts.sort(key=lambda c: (c.when, c.target.agent_id))
    return contacts


def backfill(
    session: Session,
    settings: Settings,
    org_id: int,
    per_day: int = HISTORY_PER_DAY,
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> int:
    """History since the first day of last month (about ``per_day`` answers a day, in working
    hours of each account's time zone), written oldest first through the service functions, so
    ledger lines, recovery cases, alerts and standings come from the same code as live traffic."""
    rng = rng or random.Random(2025)
    now = now or utcnow()
    targets = demo_targets(session, org_id)
    zones = {a.id: a.time_zone for a in session.exec(select(Account).where(Account.org_id == org_id)) if a.id}
    writer = HistoryWriter.for_org(settings, org_id)
    written = 0
    for contact in history_contacts(targets, zones, per_day, rng, now):
        _backfill_one(session, writer, contact.target, contact.when, written, rng, now)
        written += 1
    return written


def _restore_avatars(session: Session, org_id: int, avatars_dir: Path) -> None:
    """Pictures are files in the data directory: a database seeded elsewhere (or by an older
    version, which kept them in the package) gets them back, so its agents keep their faces."""
    for agent in session.exec(select(Agent).where(Agent.org_id == org_id)).all():
        if agent.photo_url == avatars.avatar_url(agent.name):
            avatars.ensure_avatar(agent.name, avatars_dir)


def seed_demo(
    session: Session,
    settings: Settings,
    *,
    with_history: bool = True,
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> SeedResult:
    """Create the demo organization unless it exists; returns its id and the logins.

    The same ``rng`` seed and ``now`` give the same history (``rng`` defaults to a fixed seed)."""
    existing = find_demo_org(session)
    if existing is not None and existing.id is not None:
        _restore_avatars(session, existing.id, settings.avatars_dir)
        return SeedResult(org_id=existing.id, created=False, logins=demo_logins())
    org = Organization(name=ORG_NAME)
    session.add(org)
    session.flush()
    assert org.id is not None
    accounts, teams, agents = _add_structure(session, org.id, settings.avatars_dir)
    logins = _add_users(session, org.id, accounts, teams, agents)
    _, ingest_key = new_api_key(session, org.id, "demo ingest", ["ingest", "read"])
    written = 0
    if with_history:
        rng = rng or random.Random(2025)
        now = now or utcnow()
        written = backfill(session, settings, org.id, rng=rng, now=now)
        starts = {a.id: month_start(now, a.time_zone) for a in accounts if a.id is not None}
        add_activity(session, settings, Signer(settings.secret_key), org.id, starts, rng, now)
    return SeedResult(
        org_id=org.id, created=True, logins=logins, ingest_api_key=ingest_key, backfilled=written
    )


def new_traffic_key(session: Session, org_id: int) -> str:
    """A fresh ingest key for this run of the simulator; earlier runs' keys are revoked."""
    now = utcnow()
    for key in session.exec(
        select(ApiKey).where(ApiKey.org_id == org_id, ApiKey.name == TRAFFIC_KEY_NAME)
    ).all():
        if key.revoked_at is None:
            key.revoked_at = now
            session.add(key)
    _, plaintext = new_api_key(session, org_id, TRAFFIC_KEY_NAME, ["ingest", "read"])
    return plaintext
