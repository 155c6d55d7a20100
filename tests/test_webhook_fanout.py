"""The webhook fan-out step on both databases, without a server: outbox rows marked in the
event's transaction become one delivery per endpoint, once, however often or on however many
nodes the step runs; and the relay's cleanup keeps rows that still wait for it."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from streamsrv import outbox
from streamsrv.app import wire_hooks
from streamsrv.db import Database
from streamsrv.history import Keys
from streamsrv.hooks import ContactsErased
from streamsrv.models import Delivery, Organization, OutboxEvent, WebhookEndpoint, utcnow
from streamsrv.outbound import endpoints, messages
from streamsrv.outbound.fanout import claim_query, fan_out
from streamsrv.outbound.messages import KIND
from streamsrv.redaction import ERASED_TEXT
from streamsrv.relay import CLEANUP_EVERY, SENT_RETENTION, Relay
from tests.conftest import fresh_database
from tests.support import TIMEOUT

EVENT = "case.opened"


@pytest.fixture
def fdb(backend: str, tmp_path: Path) -> Iterator[Database]:
    wire_hooks()
    with fresh_database(backend, tmp_path) as database:
        yield database


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Database]:
    """PostgreSQL only: SQLite has one writer, so two fan-outs cannot hold transactions open together."""
    wire_hooks()
    with fresh_database("postgresql", tmp_path) as database:
        yield database


def new_org(db: Database) -> int:
    with db.session() as session:
        org = Organization(name=f"Org {secrets.token_hex(3)}")
        session.add(org)
        session.flush()
        assert org.id is not None
    # Each test's database starts its ids afresh: what this process cached of another
    # database's organization with the same id must not count.
    endpoints.forget(org.id, None)
    return org.id


def add_endpoint(db: Database, org_id: int, events: list[str]) -> int:
    with db.session() as session:
        row = WebhookEndpoint(
            org_id=org_id, url="http://127.0.0.1:9/hooks", events=events, secret_sealed="unused-here"
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        endpoints.changed(session, org_id, row.id)
        return row.id


def emit(db: Database, org_id: int, n: int) -> list[int]:
    """Emit ``n`` events in one transaction; their outbox ids."""
    with db.session() as session:
        for i in range(n):
            outbox.emit(session, org_id, EVENT, [f"recovery:{i + 1}"], {"account_id": i + 1, "id": i})
    with db.session() as session:
        return list(
            session.exec(
                select(col(OutboxEvent.id))
                .where(col(OutboxEvent.org_id) == org_id)
                .order_by(col(OutboxEvent.id))
            ).all()
        )[-n:]


def deliveries(db: Database, org_id: int) -> list[Delivery]:
    with db.session() as session:
        return list(
            session.exec(
                select(Delivery).where(col(Delivery.org_id) == org_id, col(Delivery.kind) == KIND)
            ).all()
        )


def marked(db: Database, ids: list[int]) -> list[int]:
    with db.session() as session:
        return list(
            session.exec(
                select(col(OutboxEvent.id)).where(col(OutboxEvent.id).in_(ids), col(OutboxEvent.fanout))
            ).all()
        )


def test_events_are_marked_only_when_an_endpoint_wants_them(fdb: Database) -> None:
    org = new_org(fdb)
    quiet = emit(fdb, org, 2)
    assert marked(fdb, quiet) == []
    add_endpoint(fdb, org, ["case.resolved"])
    assert marked(fdb, emit(fdb, org, 2)) == []
    add_endpoint(fdb, org, [EVENT])
    wanted = emit(fdb, org, 2)
    assert marked(fdb, wanted) == wanted


def test_a_fan_out_run_again_creates_each_delivery_once(fdb: Database) -> None:
    org = new_org(fdb)
    first = add_endpoint(fdb, org, [EVENT])
    second = add_endpoint(fdb, org, [EVENT])
    ids = emit(fdb, org, 3)
    # Created after the events: it gets none of them.
    late = add_endpoint(fdb, org, [EVENT])
    with fdb.session() as session:
        assert fan_out(session) == (3, 6)
    assert marked(fdb, ids) == []
    # As if the step had run again over the same rows (a crash before the mark was cleared).
    with fdb.session() as session:
        session.execute(update(OutboxEvent).where(col(OutboxEvent.id).in_(ids)).values(fanout=True))
    with fdb.session() as session:
        # The six are offered again; the INSERT skips them.
        assert fan_out(session) == (3, 6)
    rows = deliveries(fdb, org)
    assert len(rows) == 6
    keys = sorted(str(d.dedupe_key) for d in rows)
    assert keys == sorted(f"msg_{i}_{e}" for i in ids for e in (first, second))
    assert all(d.payload["id"] == d.dedupe_key for d in rows)
    assert all(d.payload["data"]["id"] in (0, 1, 2) for d in rows)
    assert not [d for d in rows if d.payload["endpoint_id"] == late]


def test_two_nodes_fanning_out_side_by_side_create_each_delivery_once(pg: Database) -> None:
    org = new_org(pg)
    add_endpoint(pg, org, [EVENT])
    add_endpoint(pg, org, [EVENT])
    ids = emit(pg, org, 4)
    claimed = threading.Event()
    other_done = threading.Event()
    results: dict[str, tuple[int, int]] = {}

    def node_a() -> None:
        with pg.session() as session:
            results["a"] = fan_out(session)
            claimed.set()
            # Holds its claim until the other node has run: the rows are locked meanwhile.
            other_done.wait(TIMEOUT)

    a = threading.Thread(target=node_a)
    a.start()
    try:
        assert claimed.wait(TIMEOUT)
        with pg.session() as session:
            results["b"] = fan_out(session)
    finally:
        other_done.set()
        a.join(TIMEOUT)
    assert results == {"a": (4, 8), "b": (0, 0)}
    assert len(deliveries(pg, org)) == 8
    assert marked(pg, ids) == []


def test_the_relays_cleanup_keeps_rows_awaiting_fan_out(fdb: Database) -> None:
    org = new_org(fdb)
    add_endpoint(fdb, org, [EVENT])
    waiting, done = emit(fdb, org, 2)
    old = utcnow() - SENT_RETENTION - timedelta(hours=1)
    with fdb.session() as session:
        session.execute(
            update(OutboxEvent).where(col(OutboxEvent.id).in_([waiting, done])).values(sent_at=old)
        )
        session.execute(update(OutboxEvent).where(col(OutboxEvent.id) == done).values(fanout=False))
    # The cleanup needs no Redis; the client connects only when used.
    relay = Relay(fdb, "redis://127.0.0.1:1/0", Keys(f"t{secrets.token_hex(3)}"))
    try:
        relay._last_cleanup = time.monotonic() - CLEANUP_EVERY - 1
        relay._maybe_cleanup()
    finally:
        relay._redis.close()
    with fdb.session() as session:
        left = list(session.exec(select(col(OutboxEvent.id)).where(col(OutboxEvent.org_id) == org)).all())
    assert left == [waiting]


def test_erased_contacts_leave_unsent_messages(fdb: Database) -> None:
    org = new_org(fdb)
    add_endpoint(fdb, org, [EVENT])
    case = {
        "account_id": 1,
        "id": 5,
        "response": {"id": 41},
        "customer": {"name": "Ada", "email": "ada@example.com", "phone": None},
        "notes": [{"text": "called Ada on 555-0100"}],
    }
    with fdb.session() as session:
        outbox.emit(session, org, EVENT, ["recovery:1"], case)
    with fdb.session() as session:
        fan_out(session)
    with fdb.session() as session:
        erased = ContactsErased(org, [], [], [41], utcnow(), {})
        messages.on_contacts_erased(session, erased)
    assert erased.counts == {"deliveries": 1}
    (row,) = deliveries(fdb, org)
    assert row.payload["data"]["customer"] == {"name": None, "email": None, "phone": None, "erased": True}
    assert row.payload["data"]["notes"] == [{"text": ERASED_TEXT}]


def test_the_fan_out_query_reads_the_partial_index(backend: str, fdb: Database) -> None:
    """The outbox keeps a week of sent rows: a fan-out that scanned them would cost every run."""
    query = claim_query(500)
    with fdb.engine.connect() as conn:
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        if backend == "sqlite":
            plan = " ".join(str(r) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all())
        else:
            # The table is small here: stop the planner preferring a scan for that reason alone.
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(str(r) for r in conn.exec_driver_sql(f"EXPLAIN {sql}").all())
    assert "ix_outbox_fanout" in plan
