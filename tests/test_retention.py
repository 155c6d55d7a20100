"""Personal data: contact details kept for the account's retention period, then erased by the
hourly job; one customer's erased on request. On SQLite and PostgreSQL, with a real server, Redis
and relay: the database rows, the outbox copies and replays of the streams all lose them, while
ratings and comments stay.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis
from sqlalchemy import inspect, text, update
from sqlmodel import col, select

from streamsrv import migrate
from streamsrv.app import create_app, scheduled_jobs
from streamsrv.config import Settings
from streamsrv.context import AppContext
from streamsrv.db import Database
from streamsrv.deliveries.schedule import Scheduler
from streamsrv.embedded_redis import EmbeddedRedis
from streamsrv.history import ERASED_SLACK_MS, PUBLISH_SCRIPT, History, Keys, publish_args
from streamsrv.models import (
    AuditLog,
    CaseNote,
    Delivery,
    FeedbackRequest,
    Interaction,
    OutboxEvent,
    RecoveryCase,
    Response,
    Role,
    utcnow,
)
from streamsrv.relay import Pending, to_outgoing
from streamsrv.retention.erase import erase_contacts
from streamsrv.security.tokens import Signer
from streamsrv.templating import make_templates
from streamsrv.tenancy import create_org
from tests.conftest import Tenant, fresh_database, make_settings
from tests.dashboard_support import Site, make_site
from tests.streaming import make_key
from tests.support import TIMEOUT, LiveServer, async_wait_until, wait_until
from tests.test_admin_api import error, ok
from tests.test_hidden_history import cursors_after, replay
from tests.test_recovery import staff

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Customer:
    email: str
    name: str
    phone: str

    @staticmethod
    def new(name: str) -> Customer:
        token = secrets.token_hex(4)
        return Customer(f"{name.lower()}.{token}@example.com", f"{name} {token}", f"+1 555 {token}")

    def as_json(self) -> dict[str, str]:
        return {"email": self.email, "name": self.name, "phone": self.phone}

    def found_in(self, text: str) -> bool:
        return any(value in text for value in (self.email, self.name, self.phone))


@dataclass
class Floor:
    """Two accounts of one organization (``site``) and an ingest client."""

    tenant: Tenant
    db: Database
    site: Site
    ingest: httpx.Client

    def feedback(
        self, customer: Customer | None, rating: int, comment: str, account: int | None = None
    ) -> dict[str, Any]:
        account_id = account or self.site.account_id
        agent = self.site.agent_ids[0] if account_id == self.site.account_id else self.site.other_agent_id
        body: dict[str, Any] = {
            "account_id": account_id,
            "agent_id": agent,
            "channel": "phone",
            "external_id": f"T-{secrets.token_hex(6)}",
            "rating": rating,
            "comment": comment,
        }
        if customer is not None:
            body["customer"] = customer.as_json()
        return dict(ok(self.ingest.post("/api/v1/feedback", json=body), 201)["response"])

    def request(self, customer: Customer) -> dict[str, Any]:
        """An interaction whose survey email waits (the account sends a week later)."""
        body = {
            "account_id": self.site.account_id,
            "agent_id": self.site.agent_ids[1],
            "channel": "chat",
            "external_id": f"T-{secrets.token_hex(6)}",
            "customer": customer.as_json(),
        }
        return dict(ok(self.ingest.post("/api/v1/interactions", json=body), 201))


@contextmanager
def floor_of(tenant: Tenant, db: Database) -> Iterator[Floor]:
    site = make_site(db, tenant.org_id)
    for account_id in (site.account_id, site.other_account_id):
        ok(tenant.api.patch(f"/api/v1/accounts/{account_id}", json={"send_delay_minutes": 7 * 24 * 60}))
    with tenant.client(make_key(db, tenant.org_id, ["ingest", "read"])) as ingest:
        yield Floor(tenant, db, site, ingest)


@pytest.fixture
def floor(tenant: Tenant, db: Database) -> Iterator[Floor]:
    with floor_of(tenant, db) as made:
        yield made


def backdate(db: Database, interaction_id: int, days: float, now: datetime) -> None:
    """Move an interaction, its requests and its answers ``days`` into the past."""
    when = now - timedelta(days=days)
    with db.session() as s:
        s.execute(
            update(Interaction)
            .where(col(Interaction.id) == interaction_id)
            .values(created_at=when, occurred_at=when)
        )
        s.execute(
            update(FeedbackRequest)
            .where(col(FeedbackRequest.interaction_id) == interaction_id)
            .values(created_at=when)
        )
        s.execute(
            update(Response).where(col(Response.interaction_id) == interaction_id).values(created_at=when)
        )


def held(db: Database, interaction_id: int) -> dict[str, Any]:
    """What the database holds of an interaction's customer, with its requests' addresses."""
    with db.session() as s:
        row = s.get(Interaction, interaction_id)
        assert row is not None
        emails = s.exec(
            select(FeedbackRequest.customer_email).where(FeedbackRequest.interaction_id == interaction_id)
        ).all()
        return {
            "email": row.customer_email,
            "name": row.customer_name,
            "phone": row.customer_phone,
            "erased": row.contact_erased_at is not None,
            "request_emails": sorted(e for e in emails if e is not None),
        }


def is_erased(db: Database, interaction_id: int) -> bool:
    state = held(db, interaction_id)
    empty = state["email"] is None and state["name"] is None and state["phone"] is None
    assert empty == state["erased"] and (not empty or not state["request_emails"]), state
    return empty


def answers(db: Database, interaction_ids: list[int]) -> list[tuple[int, str]]:
    with db.session() as s:
        rows = s.exec(
            select(Response.rating, Response.comment)
            .where(col(Response.interaction_id).in_(interaction_ids))
            .order_by(col(Response.id))
        ).all()
        return [(rating, comment) for rating, comment in rows]


def audit_rows(db: Database, org_id: int, action: str) -> list[AuditLog]:
    with db.session() as s:
        return list(
            s.exec(
                select(AuditLog)
                .where(AuditLog.org_id == org_id, AuditLog.action == action)
                .order_by(col(AuditLog.id))
            ).all()
        )


def case_of(db: Database, response_id: int) -> RecoveryCase:
    with db.session() as s:
        case = s.exec(select(RecoveryCase).where(RecoveryCase.response_id == response_id)).first()
        assert case is not None
        return case


def work_case(db: Database, case_id: int, author_id: int, customer: Customer) -> None:
    """What recovery staff write down: notes quoting the customer, an outcome, a resolution."""
    with db.session() as s:
        s.add(
            CaseNote(
                org_id=case_of_org(db, case_id),
                case_id=case_id,
                author_id=author_id,
                text=f"Contact attempt: No answer \u2014 called {customer.phone}",
            )
        )
        s.add(
            CaseNote(
                org_id=case_of_org(db, case_id),
                case_id=case_id,
                author_id=author_id,
                text=f"Emailed {customer.email} instead",
            )
        )
        s.execute(
            update(RecoveryCase)
            .where(col(RecoveryCase.id) == case_id)
            .values(contact_outcome="no_answer", resolution=f"Refund sent to {customer.name}")
        )


def case_of_org(db: Database, case_id: int) -> int:
    with db.session() as s:
        case = s.get(RecoveryCase, case_id)
        assert case is not None
        return case.org_id


def deliveries_of(db: Database, interaction_id: int) -> list[Delivery]:
    with db.session() as s:
        ids = s.exec(select(FeedbackRequest.id).where(FeedbackRequest.interaction_id == interaction_id)).all()
        refs = [f"request:{i}" for i in ids]
        return list(s.exec(select(Delivery).where(col(Delivery.ref).in_(refs))).all())


def outbox_text(db: Database, org_id: int) -> str:
    with db.session() as s:
        payloads = s.exec(select(OutboxEvent.payload).where(OutboxEvent.org_id == org_id)).all()
        return orjson.dumps(list(payloads)).decode()


# --- The setting -----------------------------------------------------------------------------------


def test_retention_period_is_an_account_setting_with_bounds(tenant: Tenant) -> None:
    api = tenant.api
    created = ok(api.post("/api/v1/accounts", json={"name": f"Acme {secrets.token_hex(3)}"}), 201)
    assert created["contact_retention_days"] == 30
    path = f"/api/v1/accounts/{created['id']}"
    assert ok(api.patch(path, json={"contact_retention_days": 365}))["contact_retention_days"] == 365
    for bad in (0, 3651, -1, "soon", None):
        body = error(api.patch(path, json={"contact_retention_days": bad}), 422)
        assert "contact_retention_days" in body["fields"], body
    assert ok(api.get(path))["contact_retention_days"] == 365
    other = ok(
        api.post(
            "/api/v1/accounts", json={"name": f"Acme {secrets.token_hex(3)}", "contact_retention_days": 1}
        ),
        201,
    )
    assert other["contact_retention_days"] == 1


# --- The scheduled job ---------------------------------------------------------------------------------


@dataclass
class Node:
    settings: Settings
    db: Database
    tenant: Tenant

    def context(self, db: Database) -> AppContext:
        return AppContext(
            settings=self.settings, db=db, signer=Signer(self.settings.secret_key), templates=make_templates()
        )


@pytest.fixture
def node(backend: str, tmp_path: Path, redis_server: EmbeddedRedis) -> Iterator[Node]:
    """A server on a database of its own whose scheduler is off: the test runs the job itself, at
    the moments it chooses."""
    with fresh_database(backend, tmp_path) as database:
        settings = make_settings(
            database.url, redis_server.url, tmp_path, worker=False, relay_poll_interval=0.2
        )
        with database.session() as session:
            org = create_org(
                session, "Retained", f"admin-{secrets.token_hex(4)}@example.com", "correct horse battery"
            )
        live = LiveServer(create_app(settings)).start()
        try:
            with httpx.Client(
                base_url=live.url, headers={"Authorization": f"Bearer {org.api_key}"}, timeout=TIMEOUT
            ) as api:
                yield Node(settings, database, Tenant(org=org, server=live, api=api))
        finally:
            live.stop()


@pytest.fixture
def node_floor(node: Node) -> Iterator[Floor]:
    with floor_of(node.tenant, node.db) as made:
        yield made


async def run_job_on_two_nodes(node: Node, now: datetime) -> None:
    """Both nodes' schedulers tick at ``now``: exactly one of them runs the retention job."""
    other = Database(node.db.url)
    try:
        a = Scheduler(node.db, "node-a", scheduled_jobs(node.context(node.db)))
        b = Scheduler(other, "node-b", scheduled_jobs(node.context(other)))
        ran = await asyncio.gather(a.run_due(now), b.run_due(now))
    finally:
        other.dispose()
    # Each scheduled job (retention among them) runs once, on one node or the other.
    jobs = sorted(job.name for job in scheduled_jobs(node.context(node.db)))
    assert "retention" in jobs and sorted(name for names in ran for name in names) == jobs, ran


async def test_the_job_erases_exactly_what_is_past_the_period(node: Node, node_floor: Floor) -> None:
    db, tenant, floor = node.db, node.tenant, node_floor
    site = floor.site
    ok(tenant.api.patch(f"/api/v1/accounts/{site.other_account_id}", json={"contact_retention_days": 90}))
    now = utcnow()
    keys = ("old", "recent", "unanswered", "bounced", "pending", "followed", "longer")
    people = {key: Customer.new(key.title()) for key in keys}
    # Answered 31 days ago (30-day account): due; its 1-star answer opened a recovery case.
    old = floor.feedback(people["old"], 1, "Nobody called me back")
    # Answered 29 days ago: not yet.
    recent = floor.feedback(people["recent"], 5, "Lovely")
    # Asked 31 days ago, never answered: due, and its email (still waiting) is cancelled.
    unanswered = floor.request(people["unanswered"])
    # Asked 31 days ago, the email bounced (the error quotes the address): due.
    bounced = floor.request(people["bounced"])
    # Asked 29 days ago, never answered: not yet.
    pending = floor.request(people["pending"])
    # Answered 40 days ago, but a follow-up went out 10 days ago and is unanswered: not yet.
    followed = floor.feedback(people["followed"], 2, "Meh")
    # Answered 40 days ago on the 90-day account: not yet.
    longer = floor.feedback(people["longer"], 4, "Fine", account=site.other_account_id)
    # No contact details at all: nothing to erase, ever.
    anonymous = floor.feedback(None, 3, "No name given")
    for item, days in ((old, 31), (recent, 29), (followed, 40), (longer, 40), (anonymous, 400)):
        backdate(db, item["interaction_id"], days, now)
    for item, days in ((unanswered, 31), (bounced, 31), (pending, 29)):
        backdate(db, item["interaction_id"], days, now)
    with db.session() as s:
        source = s.exec(
            select(FeedbackRequest).where(FeedbackRequest.interaction_id == followed["interaction_id"])
        ).one()
        s.add(
            FeedbackRequest(
                org_id=source.org_id,
                account_id=source.account_id,
                interaction_id=source.interaction_id,
                agent_id=source.agent_id,
                kind="recovery_followup",
                customer_email=source.customer_email,
                nonce="",
                token_hash=secrets.token_hex(32),
                expires_at=now + 4 * DAY,
                created_at=now - 10 * DAY,
            )
        )
    case = case_of(db, old["id"])
    assert case.id is not None
    work_case(db, case.id, tenant.org.admin_user_id, people["old"])
    [waiting] = deliveries_of(db, unanswered["interaction_id"])
    assert waiting.status == "scheduled"
    [refused] = deliveries_of(db, bounced["interaction_id"])
    with db.session() as s:
        s.execute(
            update(Delivery)
            .where(col(Delivery.id) == refused.id)
            .values(
                status="failed", last_error=f"bounced: 550 5.1.1 <{people['bounced'].email}>: no such user"
            )
        )
    items = (old, recent, unanswered, bounced, pending, followed, longer)
    interactions = {key: item["interaction_id"] for key, item in zip(keys, items, strict=True)}
    before = answers(db, list(interactions.values()))

    await run_job_on_two_nodes(node, now)

    erased = {key for key, iid in interactions.items() if is_erased(db, iid)}
    assert erased == {"old", "unanswered", "bounced"}
    for key in ("recent", "pending", "followed", "longer"):
        state = held(db, interactions[key])
        assert (state["email"], state["name"], state["phone"]) == (
            people[key].email,
            people[key].name,
            people[key].phone,
        )
    assert answers(db, list(interactions.values())) == before, "ratings and comments stay"
    # The recovery case keeps its outcome and ratings; the staff's text goes with the details.
    with db.session() as s:
        notes = s.exec(select(CaseNote.text).where(CaseNote.case_id == case.id)).all()
        worked = s.get(RecoveryCase, case.id)
        assert worked is not None
    assert list(notes) == ["[erased]", "[erased]"]
    assert (worked.contact_outcome, worked.resolution, worked.before_rating) == ("no_answer", "[erased]", 1)
    listed = ok(tenant.api.get("/api/v1/recovery/cases", params={"account_id": site.account_id}))["items"]
    [shown] = [c for c in listed if c["id"] == case.id]
    assert shown["customer"] == {"name": None, "email": None, "phone": None, "erased": True}
    assert shown["response"]["comment"] == "Nobody called me back"
    [cancelled] = deliveries_of(db, unanswered["interaction_id"])
    assert (cancelled.status, cancelled.last_error) == (
        "cancelled",
        "the customer's contact details were erased",
    )
    [failed] = deliveries_of(db, bounced["interaction_id"])
    assert (failed.status, failed.last_error) == ("failed", "the customer's contact details were erased")
    [still] = deliveries_of(db, pending["interaction_id"])
    assert still.status == "scheduled"
    # Nothing of theirs is left in the outbox's copies of the events.
    text = outbox_text(db, tenant.org_id)
    assert not any(people[key].found_in(text) for key in erased)
    assert people["followed"].found_in(text), "other customers' details stay"
    # One audit row for the account that had something to erase, with counts and no address.
    [row] = audit_rows(db, tenant.org_id, "retention.erased")
    assert row.target == f"account:{site.account_id}" and row.actor_user_id is None
    assert row.details["retention_days"] == 30
    assert {k: row.details[k] for k in ("interactions", "requests", "deliveries", "cases", "notes")} == {
        "interactions": 3,
        "requests": 3,
        "deliveries": 2,
        "cases": 1,
        "notes": 2,
    }
    assert "@" not in orjson.dumps(row.details).decode()

    # Two days later the 29-day ones are due; the follow-up still holds its interaction.
    await run_job_on_two_nodes(node, now + 2 * DAY)
    erased = {key for key, iid in interactions.items() if is_erased(db, iid)}
    assert erased == {"old", "unanswered", "bounced", "recent", "pending"}
    # Fifty-one days later: the follow-up is 61 days old and the 90-day account's answer 91.
    await run_job_on_two_nodes(node, now + 51 * DAY)
    assert all(is_erased(db, iid) for iid in interactions.values())
    assert held(db, anonymous["interaction_id"]) == {
        "email": None,
        "name": None,
        "phone": None,
        "erased": False,
        "request_emails": [],
    }
    assert answers(db, list(interactions.values())) == before
    rows = audit_rows(db, tenant.org_id, "retention.erased")
    assert [r.target for r in rows] == [f"account:{site.account_id}"] * 3 + [
        f"account:{site.other_account_id}"
    ]
    # A later hour with nothing due erases and logs nothing.
    await run_job_on_two_nodes(node, now + 52 * DAY)
    assert len(audit_rows(db, tenant.org_id, "retention.erased")) == 4


async def test_the_job_erases_the_details_from_the_recovery_stream_history(
    node: Node, node_floor: Floor
) -> None:
    db, floor = node.db, node_floor
    stream = f"recovery:{floor.site.account_id}"
    gone, kept = Customer.new("Gone"), Customer.new("Kept")
    now = utcnow()
    old = floor.feedback(gone, 1, "first case")
    floor.feedback(kept, 1, "second case")
    backdate(db, old["interaction_id"], 31, now)
    redis = Redis.from_url(node.settings.redis_url)
    history = History(redis, Keys(node.settings.redis_prefix), 1000, 3600)

    async def text() -> str:
        return " ".join(e.tail for e in await history.read_range(stream, None))

    try:
        await async_wait_until(lambda: _contains(text, kept.email))
        assert gone.found_in(await text())
        await run_job_on_two_nodes(node, now)
        # The erasure's own event says so; from then on no replay carries the details.
        await async_wait_until(lambda: _contains(text, '"erased":true'))
        replayed = await text()
        assert not gone.found_in(replayed)
        assert kept.found_in(replayed) and "first case" in replayed
    finally:
        await redis.aclose()


async def _contains(read: Any, needle: str) -> bool:
    return needle in await read()


# --- Erasing one customer on request ------------------------------------------------------------------


def erase(api: httpx.Client, email: Any, account_id: int | None = None) -> httpx.Response:
    path = f"/api/v1/accounts/{account_id}/erasures" if account_id is not None else "/api/v1/erasures"
    return api.post(path, json={"email": email})


async def test_erasing_one_customer_removes_their_details_everywhere(
    tenant: Tenant, db: Database, floor: Floor
) -> None:
    site = floor.site
    dana, omar = Customer.new("Dana"), Customer.new("Omar")
    streams = [f"recovery:{site.account_id}", f"account:{site.account_id}"]
    # A cursor on each stream from before anything of theirs was published.
    cursors = await cursors_after(
        tenant, streams, lambda: floor.feedback(None, 1, "first marker"), "first marker"
    )
    asked = floor.request(dana)
    complaint = floor.feedback(dana, 1, "Still no refund")
    elsewhere = floor.feedback(dana, 5, "Great energy advice", account=site.other_account_id)
    other = floor.feedback(omar, 1, "Rude agent")
    case = case_of(db, complaint["id"])
    assert case.id is not None
    work_case(db, case.id, tenant.org.admin_user_id, dana)
    floor.feedback(None, 1, "second marker")
    for stream in streams:
        frames = await replay(tenant, stream, cursors[stream], "second marker")
        if stream.startswith("recovery:"):
            assert dana.email in orjson.dumps(frames).decode(), "the case events carried her details"

    # Upper-case and spaces are the same address, as it was stored.
    done = ok(erase(tenant.api, f"  {dana.email.upper()} ", site.account_id))
    assert done["erased"] == {
        "interactions": 2,
        "requests": 2,
        "deliveries": 1,
        "cases": 1,
        "notes": 2,
        "events": 1,
    }
    for item in (complaint, asked):
        assert is_erased(db, item["interaction_id"])
    [cancelled] = deliveries_of(db, asked["interaction_id"])
    assert cancelled.status == "cancelled"
    # Another account's interaction and another customer are untouched.
    assert held(db, elsewhere["interaction_id"])["email"] == dana.email
    assert held(db, other["interaction_id"])["email"] == omar.email
    assert answers(db, [complaint["interaction_id"]]) == [(1, "Still no refund")]
    text = outbox_text(db, tenant.org_id)
    assert omar.found_in(text) and not dana.found_in(text), "the outbox's copies of the case events"

    floor.feedback(None, 1, "third marker")
    for stream in streams:
        frames = await replay(tenant, stream, cursors[stream], "third marker")
        replayed = orjson.dumps(frames).decode()
        assert not dana.found_in(replayed), f"{stream} replayed her details"
        assert "Still no refund" in replayed, "her comment stays"
        if stream.startswith("recovery:"):
            assert omar.found_in(replayed), "other customers' details stay"
            mine = [f for f in frames if f["data"].get("response", {}).get("id") == complaint["id"]]
            assert [f["type"] for f in mine][:1] == ["case.opened"] and mine[-1]["type"] == "case.updated"
            assert all(f["data"]["customer"]["erased"] is True for f in mine)
            assert all(n["text"] == "[erased]" for f in mine for n in f["data"]["notes"])

    # The audit row: who, what, when, counts, and the address only as a keyed hash.
    [row] = audit_rows(db, tenant.org_id, "customer.erased")
    assert row.target == f"account:{site.account_id}" and row.actor_api_key_id is not None
    assert row.details["interactions"] == 2 and dana.email not in orjson.dumps(row.details).decode()
    assert len(row.details["email_hmac"]) == 64
    logged = ok(tenant.api.get("/api/v1/audit-log", params={"action": "customer.erased"}))["items"]
    assert [item["id"] for item in logged] == [done["audit_id"]]

    # Organization-wide: her answer on the other account goes too; asking again finds nothing.
    everywhere = ok(erase(tenant.api, dana.email))
    assert everywhere["erased"]["interactions"] == 1
    assert is_erased(db, elsewhere["interaction_id"])
    again = ok(erase(tenant.api, dana.email))
    assert set(again["erased"].values()) == {0}
    rows = audit_rows(db, tenant.org_id, "customer.erased")
    assert [r.target for r in rows[1:]] == [f"organization:{tenant.org_id}"] * 2
    assert rows[1].details["email_hmac"] == row.details["email_hmac"]
    assert held(db, other["interaction_id"])["email"] == omar.email


def test_erasure_requests_that_are_refused_change_nothing(tenant: Tenant, db: Database, floor: Floor) -> None:
    site = floor.site
    dana = Customer.new("Dana")
    answered = floor.feedback(dana, 2, "Slow")
    iid = answered["interaction_id"]
    restricted = tenant.client(make_key(db, tenant.org_id, ["admin"], account_ids=[site.other_account_id]))
    reader = tenant.client(make_key(db, tenant.org_id, ["read", "ingest"]))
    elsewhere = other_org_client(tenant, db)
    with restricted, reader, elsewhere:
        for bad in ("not-an-address", "", "a@b", "two@@example.com", None, 42):
            body = error(erase(tenant.api, bad, site.account_id), 422)
            assert "email" in body["fields"], body
        body = error(tenant.api.post("/api/v1/erasures", json={"email": dana.email, "also": 1}), 422)
        assert "also" in body["fields"]
        # Outside the caller's scope, another organization's or no such account: 404.
        error(erase(restricted, dana.email, site.account_id), 404)
        error(erase(elsewhere, dana.email, site.account_id), 404)
        error(erase(tenant.api, dana.email, 2_000_000_000), 404)
        # Organization-wide needs an administrator of all of it; reading is not enough.
        error(erase(restricted, dana.email), 403)
        error(erase(reader, dana.email, site.account_id), 403)
        error(erase(reader, dana.email), 403)
        # The restricted key may erase in its own account (where she has nothing).
        assert set(ok(erase(restricted, dana.email, site.other_account_id))["erased"].values()) == {0}
    assert held(db, iid)["email"] == dana.email and not held(db, iid)["erased"]
    assert [r.target for r in audit_rows(db, tenant.org_id, "customer.erased")] == [
        f"account:{site.other_account_id}"
    ]


def other_org_client(tenant: Tenant, db: Database) -> httpx.Client:
    """An administrator of another organization on the same server."""
    with db.session() as session:
        org = create_org(
            session, "Elsewhere", f"admin-{secrets.token_hex(4)}@example.com", "correct horse battery"
        )
    return tenant.client(org.api_key)


def lock_waits(db: Database) -> int:
    """Sessions of this database waiting for a row another transaction holds (PostgreSQL)."""
    with db.session() as s:
        return int(
            s.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event IN ('transactionid', 'tuple')"
                )
            ).scalar_one()
        )


def test_a_case_worked_during_an_erasure_keeps_nothing_of_the_customer(
    backend: str, tenant: Tenant, db: Database, floor: Floor
) -> None:
    """A follow-up sent while an erasure is committing either waits for it (and finds no address)
    or is erased with it; it never keeps the address the erasure just removed. (SQLite takes one
    writer at a time, so there the follow-up simply waits for the erasure's commit: the same
    outcome must hold.)"""
    dana = Customer.new("Dana")
    complaint = floor.feedback(dana, 1, "Nobody listens")
    case = case_of(db, complaint["id"])
    worker = staff(tenant, db, Role.admin)
    try:
        assert worker.post(f"/api/v1/recovery/cases/{case.id}/claim").status_code == 200
        erased_uncommitted, commit = threading.Event(), threading.Event()

        def erase_slowly() -> None:
            with db.session() as s:
                erase_contacts(s, tenant.org_id, [complaint["interaction_id"]], utcnow())
                erased_uncommitted.set()
                commit.wait(TIMEOUT)

        answers_: dict[str, httpx.Response] = {}
        eraser = threading.Thread(target=erase_slowly)
        follower = threading.Thread(
            target=lambda: answers_.update(r=worker.post(f"/api/v1/recovery/cases/{case.id}/followup"))
        )
        eraser.start()
        assert erased_uncommitted.wait(TIMEOUT)
        follower.start()
        # The follow-up either finished at once or waits for the erasure's rows (PostgreSQL shows
        # the wait; SQLite's file lock does not, and any order gives the same outcome there).
        wait_until(lambda: "r" in answers_ or backend == "sqlite" or lock_waits(db) > 0)
        commit.set()
        eraser.join(TIMEOUT)
        follower.join(TIMEOUT)
    finally:
        worker.close()
    assert answers_["r"].status_code == 201, answers_["r"].text
    assert held(db, complaint["interaction_id"])["request_emails"] == []
    assert is_erased(db, complaint["interaction_id"])


def test_retention_migration_goes_both_ways(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as database:

        def shape() -> tuple[set[str], set[str], set[str]]:
            found = inspect(database.engine)
            return (
                {c["name"] for c in found.get_columns("accounts")},
                {c["name"] for c in found.get_columns("interactions")},
                {i["name"] for i in found.get_indexes("interactions")},
            )

        accounts, interactions, indexes = shape()
        assert "contact_retention_days" in accounts and "contact_erased_at" in interactions
        assert "ix_interactions_contact_held" in indexes
        migrate.downgrade(database.engine, "0006")
        accounts, interactions, indexes = shape()
        assert "contact_retention_days" not in accounts and "contact_erased_at" not in interactions
        assert "ix_interactions_contact_held" not in indexes
        migrate.upgrade(database.engine)
        assert "ix_interactions_contact_held" in shape()[2]


async def test_a_stream_remembers_an_erasure_while_its_history_may_carry_the_details(
    redis_server: EmbeddedRedis,
) -> None:
    """The publish script's per-stream set: a busy stream keeps entries past its TTL, so an erased
    id stays as long as any entry old enough to carry it, and goes once the history has moved on
    by more than the relay's lag."""
    keys = Keys(f"t{secrets.token_hex(4)}")
    stream = "recovery:1"
    redis = Redis.from_url(redis_server.url)
    script = redis.register_script(PUBLISH_SCRIPT)
    eids = iter(range(1, 1000))

    def event(response_id: int, customer: dict[str, Any]) -> Any:
        payload = {"id": response_id, "response": {"id": response_id}, "customer": customer, "notes": []}
        row = Pending(next(eids), "case.updated", [stream], payload, utcnow())
        return to_outgoing(row)

    async def publish(*events: Any) -> None:
        await script(args=publish_args(keys, list(events), 1000, 3600))

    async def replayed() -> str:
        return " ".join(e.tail for e in await History(redis, keys, 1000, 3600).read_range(stream, None))

    dana = {"name": "Dana", "email": "dana@example.com", "phone": "555"}
    erased = {"name": None, "email": None, "phone": None, "erased": True}
    try:
        await publish(event(7, dana), event(8, {**dana, "email": "omar@example.com"}))
        await publish(event(7, erased))
        text = await replayed()
        assert "dana@example.com" not in text and "omar@example.com" in text
        assert await redis.zscore(keys.erased(stream), "7") is not None
        assert await redis.ttl(keys.erased(stream)) > 0, "the set expires with the history"
        # An erasure from long ago whose entries are all trimmed is dropped by the next erasure;
        # one whose entries may still be there (within the relay's lag) stays.
        now_ms = int(utcnow().timestamp() * 1000)
        await redis.zadd(keys.erased(stream), {"5": now_ms - ERASED_SLACK_MS - 60_000})
        await redis.zadd(keys.erased(stream), {"6": now_ms - ERASED_SLACK_MS + 60_000})
        await redis.xtrim(keys.history(stream), maxlen=0)
        await publish(event(8, erased))
        members = {m.decode() for m in await redis.zrange(keys.erased(stream), 0, -1)}
        assert members == {"6", "7", "8"}
    finally:
        await redis.aclose()
