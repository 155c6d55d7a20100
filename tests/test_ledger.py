"""The reward ledger and monthly statements: every figure equals a recount from the responses."""

from __future__ import annotations

import csv
import io
import secrets
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import inspect
from sqlmodel import col, select

from streamsrv import migrate
from streamsrv.db import Database
from streamsrv.ledger import month_key, next_month
from streamsrv.models import (
    DEFAULT_REWARDS,
    FOLLOWUP_SOURCE,
    Account,
    AuditLog,
    Interaction,
    LedgerEntry,
    Response,
    utcnow,
)
from streamsrv.tenancy import create_org
from tests.conftest import Tenant, fresh_database
from tests.survey_support import Setup, interaction_body, make_setup, outbox

TZ = "America/New_York"
VALUES = {r["code"]: r["value"] for r in DEFAULT_REWARDS}
REWARDS = [None, *VALUES]


def ingest(
    tenant: Tenant, setup: Setup, external_id: str, agent_id: int, reward: str | None, at: datetime
) -> int:
    body = interaction_body(setup, agent_id=agent_id, channel="phone", external_id=external_id)
    body.update({"rating": 4, "reward": reward, "source": "zendesk", "responded_at": at.isoformat()})
    r = tenant.api.post("/api/v1/feedback", json=body)
    assert r.status_code in (200, 201), r.text
    return int(r.json()["response"]["id"])


def recount(db: Database, account_id: int, cap: int | None = None) -> dict[str, dict[str, Any]]:
    """Statements as they should be, from the responses alone (each agent's reward value cut to
    ``cap`` a month)."""
    months: dict[str, dict[str, Any]] = defaultdict(lambda: {"agents": defaultdict(dict), "total": 0})
    with db.session() as s:
        rows = s.exec(select(Response).where(Response.account_id == account_id)).all()
    for row in rows:
        if row.reward is None:
            continue
        month = months[month_key(row.created_at, TZ)]
        reward = month["agents"][row.agent_id].setdefault(row.reward, {"count": 0, "value": 0})
        reward["count"] += 1
        reward["value"] += VALUES[row.reward]
    for month in months.values():
        for rewards in month["agents"].values():
            value = sum(r["value"] for r in rewards.values())
            month["total"] += value if cap is None else min(value, cap)
    return months


def statement(tenant: Tenant, account_id: int, month: str) -> dict[str, Any]:
    r = tenant.api.get(f"/api/v1/accounts/{account_id}/statements/{month}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def assert_matches_recount(
    tenant: Tenant, db: Database, setup: Setup, months: list[str], cap: int | None = None
) -> None:
    expected = recount(db, setup.account_id, cap)
    for month in months:
        got = statement(tenant, setup.account_id, month)
        want = expected.get(month, {"agents": {}, "total": 0})
        assert got["status"] == "open"
        assert got["total"] == want["total"]
        by_agent = {a["agent_id"]: a for a in got["agents"]}
        assert set(by_agent) == {agent for agent, rewards in want["agents"].items() if rewards}
        for agent_id, rewards in want["agents"].items():
            assert by_agent[agent_id]["rewards"] == rewards
            assert by_agent[agent_id]["adjustments"] == 0
            value = sum(r["value"] for r in rewards.values())
            capped = 0 if cap is None else max(0, value - cap)
            assert by_agent[agent_id]["capped"] == capped
            assert by_agent[agent_id]["total"] == value - capped
        assert got["total"] == sum(a["total"] for a in got["agents"])


operation = st.tuples(
    st.sampled_from(["answer", "answer", "reassign"]),
    st.integers(min_value=0, max_value=5),  # which ticket (a new one or an earlier one)
    st.integers(min_value=0, max_value=1),  # which agent a new ticket belongs to
    st.sampled_from(REWARDS),
    st.integers(min_value=0, max_value=70),  # days ago (new tickets only)
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=st.lists(operation, min_size=1, max_size=10),
    cap=st.one_of(st.none(), st.integers(min_value=0, max_value=60)),
)
def test_statements_equal_a_recount(
    tenant: Tenant, db: Database, ops: list[tuple[str, int, int, str | None, int]], cap: int | None
) -> None:
    """Random answers, edits (reward changed, removed, added) and reassignments, under a random
    monthly cap per agent (or none)."""
    now = utcnow()
    setup = make_setup(db, tenant.org_id, time_zone=TZ, created_at=now - timedelta(days=100))
    r = tenant.api.patch(f"/api/v1/accounts/{setup.account_id}", json={"reward_cap_per_agent": cap})
    assert r.status_code == 200, r.text
    assert r.json()["reward_cap_per_agent"] == cap
    tickets: list[tuple[str, int, datetime]] = []
    owners: dict[int, int] = {}
    for action, which, agent, reward, days_ago in ops:
        if action == "reassign":
            if which >= len(tickets):
                continue
            response_id = tickets[which][1]
            to = setup.other_agent_id if owners[response_id] == setup.agent_id else setup.agent_id
            r = tenant.api.post(
                f"/api/v1/responses/{response_id}/reassign", json={"agent_id": to, "reason": "Fix"}
            )
            assert r.status_code == 200, r.text
            owners[response_id] = to
            continue
        if which < len(tickets):
            external_id, _, at = tickets[which]
            ingest(tenant, setup, external_id, setup.agent_id, reward, at)
        else:
            external_id = f"T-{secrets.token_hex(5)}"
            agent_id = (setup.agent_id, setup.other_agent_id)[agent]
            at = (now - timedelta(days=days_ago, minutes=1)).replace(microsecond=0)
            response_id = ingest(tenant, setup, external_id, agent_id, reward, at)
            tickets.append((external_id, response_id, at))
            owners[response_id] = agent_id
    months = sorted({month_key(now - timedelta(days=d), TZ) for d in range(0, 75)})
    assert_matches_recount(tenant, db, setup, months, cap)
    with db.session() as s:
        entries = s.exec(select(LedgerEntry).where(LedgerEntry.account_id == setup.account_id)).all()
    # Only ever inserted: every reversal names an award of the same response and cancels it exactly.
    by_id = {e.id: e for e in entries}
    for entry in entries:
        if entry.kind == "reversal":
            original = by_id[entry.reverses_id]
            assert (original.kind, original.response_id) == ("award", entry.response_id)
            assert entry.amount_cents == -original.amount_cents


def test_edit_reverses_and_removal_leaves_nothing(tenant: Tenant, db: Database) -> None:
    now = utcnow()
    setup = make_setup(db, tenant.org_id, time_zone=TZ, created_at=now - timedelta(days=10))
    at = (now - timedelta(minutes=5)).replace(microsecond=0)
    ingest(tenant, setup, "T-edit", setup.agent_id, "lunch", at)
    ingest(tenant, setup, "T-edit", setup.agent_id, "coffee", at)
    month = month_key(at, TZ)
    got = statement(tenant, setup.account_id, month)
    assert got["agents"] == [
        {
            "agent_id": setup.agent_id,
            "rewards": {"coffee": {"count": 1, "value": 4}},
            "capped": 0,
            "adjustments": 0,
            "total": 4,
            "other_currencies": {},
        }
    ]
    response_id = ingest(tenant, setup, "T-edit", setup.agent_id, None, at)
    assert statement(tenant, setup.account_id, month)["total"] == 0
    with db.session() as s:
        kinds = [
            e.kind
            for e in s.exec(
                select(LedgerEntry)
                .where(LedgerEntry.response_id == response_id)
                .order_by(col(LedgerEntry.id))
            )
        ]
    assert kinds == ["award", "reversal", "award", "reversal"]
    assert len(outbox(db, tenant.org_id, "ledger.updated")) == 3


def test_close_sends_late_rewards_to_the_next_month(tenant: Tenant, db: Database) -> None:
    now = utcnow()
    setup = make_setup(db, tenant.org_id, time_zone=TZ, created_at=now - timedelta(days=80))
    last_month_at = (now - timedelta(days=40)).replace(microsecond=0)
    last = month_key(last_month_at, TZ)
    ingest(tenant, setup, "T-before", setup.agent_id, "lunch", last_month_at)
    r = tenant.api.post(f"/api/v1/accounts/{setup.account_id}/statements/{last}/close")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["total"]) == ("closed", 15)
    # A late answer about last month's ticket counts toward the next open month.
    ingest(tenant, setup, "T-late", setup.other_agent_id, "gift_card", last_month_at)
    closed = statement(tenant, setup.account_id, last)
    assert (closed["status"], closed["total"]) == ("closed", 15)
    following = statement(tenant, setup.account_id, next_month(last))
    assert following["status"] == "open" and following["total"] == 25
    assert following["agents"][0]["agent_id"] == setup.other_agent_id
    again = tenant.api.post(f"/api/v1/accounts/{setup.account_id}/statements/{last}/close")
    assert again.status_code == 409


def test_adjustments_add_to_the_agent_total(tenant: Tenant, db: Database) -> None:
    now = utcnow()
    setup = make_setup(db, tenant.org_id, time_zone=TZ, created_at=now - timedelta(days=10))
    month = month_key(now, TZ)
    ingest(
        tenant, setup, "T-adj", setup.agent_id, "coffee", (now - timedelta(minutes=2)).replace(microsecond=0)
    )
    url = f"/api/v1/accounts/{setup.account_id}/statements/{month}/adjustments"
    r = tenant.api.post(
        url, json={"agent_id": setup.agent_id, "amount": "-1.50", "reason": "Duplicate coffee"}
    )
    assert r.status_code == 200, r.text
    (agent,) = r.json()["agents"]
    assert (agent["adjustments"], agent["total"], r.json()["total"]) == (-1.5, 2.5, 2.5)


def test_bad_input_is_refused_and_changes_nothing(tenant: Tenant, db: Database) -> None:
    now = utcnow()
    setup = make_setup(db, tenant.org_id, time_zone=TZ, created_at=now - timedelta(days=10))
    other = make_setup(db, tenant.org_id)
    month = month_key(now, TZ)
    base = f"/api/v1/accounts/{setup.account_id}/statements"
    future = next_month(month)
    assert tenant.api.get(f"{base}/{future}").status_code == 422
    assert tenant.api.get(f"{base}/{future}").json()["error"]["code"] == "month_not_started"
    for bad in ("2026-13", "2026-1", "last-month", "202611"):
        r = tenant.api.get(f"{base}/{bad}")
        assert r.status_code == 400, (bad, r.text)
        assert "month" in r.json()["error"]["fields"]
    adjust = f"{base}/{month}/adjustments"
    refused = [
        tenant.api.post(adjust, json={"agent_id": setup.agent_id, "amount": "5", "reason": "  "}),
        tenant.api.post(adjust, json={"agent_id": setup.agent_id, "amount": "5"}),
        tenant.api.post(adjust, json={"agent_id": other.agent_id, "amount": "5", "reason": "Bonus"}),
        tenant.api.post(
            f"{base}/{future}/adjustments",
            json={"agent_id": setup.agent_id, "amount": "5", "reason": "Bonus"},
        ),
        tenant.api.post(f"{base}/{future}/close"),
        tenant.api.post(f"{base}/not-a-month/close"),
    ]
    for r in refused:
        assert 400 <= r.status_code < 500, r.text
        assert r.json()["error"]["message"]
    with db.session() as s:
        assert not s.exec(select(LedgerEntry).where(LedgerEntry.account_id == setup.account_id)).all()
    assert statement(tenant, setup.account_id, month)["status"] == "open"


def reassign(tenant: Tenant, response_id: int, body: dict[str, Any]) -> Any:
    return tenant.api.post(f"/api/v1/responses/{response_id}/reassign", json=body)


def test_reassign_moves_the_reward_and_announces_it(tenant: Tenant, db: Database) -> None:
    now = utcnow()
    setup = make_setup(db, tenant.org_id, time_zone=TZ, created_at=now - timedelta(days=10))
    at = (now - timedelta(minutes=3)).replace(microsecond=0)
    response_id = ingest(tenant, setup, "T-move", setup.agent_id, "gift_card", at)
    before = len(outbox(db, tenant.org_id))
    r = reassign(
        tenant, response_id, {"agent_id": setup.other_agent_id, "reason": "Wrong agent on the ticket"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["agent_id"], r.json()["previous_agent_id"]) == (setup.other_agent_id, setup.agent_id)
    got = statement(tenant, setup.account_id, month_key(at, TZ))
    assert [(a["agent_id"], a["total"]) for a in got["agents"]] == [(setup.other_agent_id, 25)]
    assert_matches_recount(tenant, db, setup, [month_key(at, TZ)])
    types = [e.type for e in outbox(db, tenant.org_id)[before:]]
    assert types.count("feedback.reassigned") == 1
    assert types.count("ledger.updated") == 2 and types.count("stats.updated") == 2
    moved = next(e for e in outbox(db, tenant.org_id)[before:] if e.type == "feedback.reassigned")
    assert f"agent:{setup.agent_id}" in moved.streams and f"agent:{setup.other_agent_id}" in moved.streams
    with db.session() as s:
        entry = s.exec(select(AuditLog).where(AuditLog.action == "response.reassign")).all()
    assert any(e.target == f"response:{response_id}" for e in entry)
    # A later edit by the customer's system keeps the corrected attribution.
    ingest(tenant, setup, "T-move", setup.agent_id, "lunch", at)
    assert_matches_recount(tenant, db, setup, [month_key(at, TZ)])


def test_reassign_refuses_bad_input_and_changes_nothing(tenant: Tenant, db: Database) -> None:
    now = utcnow()
    setup = make_setup(db, tenant.org_id, time_zone=TZ, created_at=now - timedelta(days=10))
    other = make_setup(db, tenant.org_id)
    response_id = ingest(
        tenant, setup, "T-stay", setup.agent_id, "coffee", (now - timedelta(minutes=1)).replace(microsecond=0)
    )
    before = len(outbox(db, tenant.org_id))
    for body, status in (
        ({"agent_id": setup.other_agent_id, "reason": " "}, 422),
        ({"agent_id": setup.other_agent_id}, 422),
        ({"agent_id": other.agent_id, "reason": "Moved"}, 422),
        ({"agent_id": setup.agent_id, "reason": "Same"}, 409),
    ):
        r = reassign(tenant, response_id, body)
        assert r.status_code == status, r.text
    assert reassign(tenant, 999_999_999, {"agent_id": setup.other_agent_id, "reason": "x"}).status_code == 404
    assert len(outbox(db, tenant.org_id)) == before
    with db.session() as s:
        row = s.get(Response, response_id)
        assert row is not None and row.agent_id == setup.agent_id


def test_exports_hold_the_statement_totals(tenant: Tenant, db: Database) -> None:
    now = utcnow()
    setup = make_setup(db, tenant.org_id, time_zone=TZ, created_at=now - timedelta(days=10))
    at = (now - timedelta(minutes=4)).replace(microsecond=0)
    month = month_key(at, TZ)
    ingest(tenant, setup, "T-x1", setup.agent_id, "lunch", at)
    ingest(tenant, setup, "T-x2", setup.agent_id, "coffee", at)
    ingest(tenant, setup, "T-x3", setup.other_agent_id, "gift_card", at)
    base = f"/api/v1/accounts/{setup.account_id}/statements/{month}"
    adjust = {"agent_id": setup.other_agent_id, "amount": "-5", "reason": "Advance paid"}
    assert tenant.api.post(f"{base}/adjustments", json=adjust).status_code == 200
    data = statement(tenant, setup.account_id, month)
    assert data["total"] == 39
    r = tenant.api.get(f"{base}/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    header, body, totals = rows[0], rows[1:-1], rows[-1]
    assert header[:2] == ["Agent", "External ids"] and "Lunch: count" in header and "lunch" not in header
    by_name = {row[0]: row for row in body}
    assert by_name["Maria Lopez"][1] == "zendesk: zd-1"
    assert float(by_name["Maria Lopez"][-1]) == 19 and float(by_name["Sam Otieno"][-1]) == 20
    assert float(by_name["Sam Otieno"][header.index("Adjustments (USD)")]) == -5
    assert totals[0] == "Total" and float(totals[-1]) == data["total"]
    assert sum(float(row[-1]) for row in body) == data["total"]
    x = tenant.api.get(f"{base}/export.xlsx")
    assert x.status_code == 200
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert [str(c) for c in cells[0]] == header
    assert cells[-1][-1] == data["total"]
    assert sum(row[-1] for row in cells[1:-1]) == data["total"]


def test_a_hidden_comment_keeps_its_reward(tenant: Tenant, db: Database) -> None:
    now = utcnow()
    setup = make_setup(db, tenant.org_id, time_zone=TZ, created_at=now - timedelta(days=10))
    at = (now - timedelta(minutes=2)).replace(microsecond=0)
    response_id = ingest(tenant, setup, "T-hide", setup.agent_id, "lunch", at)
    r = tenant.api.post(
        f"/api/v1/responses/{response_id}/moderation", json={"hidden": True, "reason": "Names a colleague"}
    )
    assert r.status_code == 200, r.text
    assert statement(tenant, setup.account_id, month_key(at, TZ))["total"] == 15
    with db.session() as s:
        entries = s.exec(select(LedgerEntry).where(LedgerEntry.response_id == response_id)).all()
    assert [e.kind for e in entries] == ["award"]


def test_upgrade_writes_opening_awards_and_downgrades(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as database:
        # The organization and account are written with today's models, before going back.
        with database.session() as s:
            org = create_org(s, "Ledger org", "ledger-admin@example.com", "correct horse battery")
        setup = make_setup(database, org.org_id, time_zone=TZ)
        migrate.downgrade(database.engine, "0016")
        assert "ledger_entries" not in inspect(database.engine).get_table_names()
        at = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)  # still October in New York
        with database.session() as s:
            interaction = Interaction(
                org_id=setup.org_id,
                account_id=setup.account_id,
                agent_id=setup.agent_id,
                team_id=setup.team_id,
                channel="chat",
                external_id="T-old",
            )
            s.add(interaction)
            s.flush()
            assert interaction.id is not None
            for reward, source in (("lunch", "api"), (None, "api"), ("coffee", FOLLOWUP_SOURCE)):
                s.add(
                    Response(
                        org_id=setup.org_id,
                        account_id=setup.account_id,
                        team_id=setup.team_id,
                        agent_id=setup.agent_id,
                        interaction_id=interaction.id,
                        channel="chat",
                        rating=5,
                        reward=reward,
                        source=source,
                        created_at=at,
                        updated_at=at,
                    )
                )
        migrate.upgrade(database.engine)
        with database.session() as s:
            entries = s.exec(select(LedgerEntry)).all()
        assert [(e.reward, e.amount_cents, e.month, e.kind, e.agent_id) for e in entries] == [
            ("lunch", 1500, "2026-10", "award", setup.agent_id)
        ]


def test_the_cap_cuts_rewards_but_not_adjustments_and_shows_in_exports(tenant: Tenant, db: Database) -> None:
    now = utcnow()
    setup = make_setup(db, tenant.org_id, time_zone=TZ, created_at=now - timedelta(days=10))
    r = tenant.api.patch(f"/api/v1/accounts/{setup.account_id}", json={"reward_cap_per_agent": "30.50"})
    assert r.status_code == 200 and r.json()["reward_cap_per_agent"] == 30.5, r.text
    at = (now - timedelta(minutes=4)).replace(microsecond=0)
    month = month_key(at, TZ)
    for n, reward in enumerate(("gift_card", "lunch", "coffee")):  # 44 for Maria: 13.50 above the cap
        ingest(tenant, setup, f"T-cap{n}", setup.agent_id, reward, at)
    ingest(tenant, setup, "T-cap9", setup.other_agent_id, "lunch", at)
    base = f"/api/v1/accounts/{setup.account_id}/statements/{month}"
    adjust = {"agent_id": setup.agent_id, "amount": "10", "reason": "Team bonus"}
    r = tenant.api.post(f"{base}/adjustments", json=adjust)
    assert r.status_code == 200, r.text
    got = statement(tenant, setup.account_id, month)
    by_agent = {a["agent_id"]: a for a in got["agents"]}
    maria, sam = by_agent[setup.agent_id], by_agent[setup.other_agent_id]
    assert (maria["capped"], maria["adjustments"], maria["total"]) == (13.5, 10, 40.5)
    assert (sam["capped"], sam["total"]) == (0, 15)
    assert (got["cap"], got["total"]) == (30.5, 55.5)
    rows = list(csv.reader(io.StringIO(tenant.api.get(f"{base}/export.csv").text)))
    header = rows[0]
    capped_col = header.index("Capped (USD)")
    by_name = {row[0]: row for row in rows[1:-1]}
    assert float(by_name["Maria Lopez"][capped_col]) == 13.5 and float(by_name["Maria Lopez"][-1]) == 40.5
    assert float(rows[-1][capped_col]) == 13.5 and float(rows[-1][-1]) == 55.5
    # Closing keeps the cap the month was closed with; a later change does not rewrite it.
    assert tenant.api.post(f"{base}/close").status_code == 200
    r = tenant.api.patch(f"/api/v1/accounts/{setup.account_id}", json={"reward_cap_per_agent": None})
    assert r.status_code == 200 and r.json()["reward_cap_per_agent"] is None
    assert statement(tenant, setup.account_id, month)["total"] == 55.5
    for bad in ("-1", "12.345", "abc"):
        r = tenant.api.patch(f"/api/v1/accounts/{setup.account_id}", json={"reward_cap_per_agent": bad})
        assert r.status_code == 422 and "reward_cap_per_agent" in r.json()["error"]["fields"], r.text


def test_a_catalogue_uses_one_currency(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id, time_zone=TZ)
    mixed = [
        {"code": "coffee", "label": "Coffee", "value": 4, "currency": "USD"},
        {"code": "lunch", "label": "Lunch", "value": 15, "currency": "EUR"},
    ]
    r = tenant.api.patch(f"/api/v1/accounts/{setup.account_id}", json={"reward_catalogue": mixed})
    assert r.status_code == 422, r.text
    assert "reward_catalogue" in r.json()["error"]["fields"]
    r = tenant.api.post("/api/v1/accounts", json={"name": "Mixed money", "reward_catalogue": mixed})
    assert r.status_code == 422 and "reward_catalogue" in r.json()["error"]["fields"], r.text
    with db.session() as s:
        account = s.get(Account, setup.account_id)
        assert account is not None
        assert {item.get("currency", "USD") for item in account.reward_catalogue} == {"USD"}
        assert not s.exec(select(Account).where(Account.name == "Mixed money")).all()


def test_lines_in_another_currency_stay_out_of_the_total(tenant: Tenant, db: Database) -> None:
    """The catalogue changes currency in the middle of the month."""
    now = utcnow()
    setup = make_setup(db, tenant.org_id, time_zone=TZ, created_at=now - timedelta(days=10))
    at = (now - timedelta(minutes=4)).replace(microsecond=0)
    month = month_key(at, TZ)
    ingest(tenant, setup, "T-usd", setup.agent_id, "lunch", at)
    euros = [{**item, "currency": "EUR"} for item in DEFAULT_REWARDS]
    r = tenant.api.patch(f"/api/v1/accounts/{setup.account_id}", json={"reward_catalogue": euros})
    assert r.status_code == 200, r.text
    ingest(tenant, setup, "T-eur", setup.agent_id, "coffee", at)
    got = statement(tenant, setup.account_id, month)
    assert got["currency"] == "EUR" and got["total"] == 4
    (maria,) = got["agents"]
    assert maria["rewards"] == {"coffee": {"count": 1, "value": 4}} and maria["total"] == 4
    assert maria["other_currencies"]["USD"]["total"] == 15
    assert got["other_currencies"] == {"USD": {"total": 15}}
    rows = list(
        csv.reader(
            io.StringIO(
                tenant.api.get(f"/api/v1/accounts/{setup.account_id}/statements/{month}/export.csv").text
            )
        )
    )
    header = rows[0]
    other = header.index("Other currency, not in total (USD)")
    assert header[-1] == "Total (EUR)"
    assert float(rows[1][other]) == 15 and float(rows[1][-1]) == 4
    assert float(rows[-1][other]) == 15 and float(rows[-1][-1]) == 4


def test_earnings_are_the_agents_statement_row(tenant: Tenant, db: Database) -> None:
    now = utcnow()
    setup = make_setup(db, tenant.org_id, time_zone=TZ, created_at=now - timedelta(days=10))
    tenant.api.patch(f"/api/v1/accounts/{setup.account_id}", json={"reward_cap_per_agent": 20})
    at = (now - timedelta(minutes=4)).replace(microsecond=0)
    ingest(tenant, setup, "T-e1", setup.agent_id, "gift_card", at)
    ingest(tenant, setup, "T-e2", setup.agent_id, "coffee", at)
    r = tenant.api.get(f"/api/v1/agents/{setup.agent_id}/earnings")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["month"] == month_key(now, TZ) or body["month"] == month_key(at, TZ)
    assert (body["reward_value"], body["capped"], body["total"], body["total_text"]) == (29, 9, 20, "$20.00")
    assert {x["label"] for x in body["rewards"]} == {"Gift card", "Coffee"}
    other = tenant.api.get(f"/api/v1/agents/{setup.other_agent_id}/earnings", params={"month": body["month"]})
    assert other.status_code == 200 and other.json()["total"] == 0
    assert (
        tenant.api.get(f"/api/v1/agents/{setup.agent_id}/earnings", params={"month": "2026-13"}).status_code
        == 400
    )
    future = next_month(month_key(now, TZ))
    assert (
        tenant.api.get(f"/api/v1/agents/{setup.agent_id}/earnings", params={"month": future}).status_code
        == 422
    )
    assert tenant.api.get("/api/v1/agents/999999999/earnings").status_code == 404
