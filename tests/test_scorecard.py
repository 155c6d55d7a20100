"""The blended scorecard through the real server and both databases: the account settings (API
and admin form, with refusals that change nothing), the dashboard breakdown's ``blended_score``
against a recount from the stored rows, and the CSV export's "Blended score" column."""

from __future__ import annotations

import csv
import io
import secrets
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlmodel import col, select

from streamsrv import migrate
from streamsrv.db import Database
from streamsrv.models import Account, QaEvaluation, Response, Role
from tests.coaching_support import user_client
from tests.conftest import Tenant, fresh_database
from tests.dashboard_support import Site, ingest_key, make_site, post_feedback
from tests.streaming import make_user
from tests.test_qa_api import CARD

WEIGHTS = {"rating": 60, "csat": 10, "nps": 10, "fcr": 0, "qa": 20}


def stored_settings(db: Database, account_id: int) -> tuple[dict[str, int], int]:
    with db.session() as s:
        account = s.get(Account, account_id)
        assert account is not None
        return dict(account.scorecard_weights), account.scorecard_min_responses


def test_weights_are_read_and_set_through_the_account_api(tenant: Tenant, db: Database) -> None:
    site = make_site(db, tenant.org_id)
    path = f"/api/v1/accounts/{site.account_id}"
    got = tenant.api.get(path).json()
    assert got["scorecard_weights"] == {"rating": 100, "csat": 0, "nps": 0, "fcr": 0, "qa": 0}
    assert got["scorecard_min_responses"] == 5
    r = tenant.api.patch(path, json={"scorecard_weights": WEIGHTS, "scorecard_min_responses": 3})
    assert r.status_code == 200, r.text
    assert r.json()["scorecard_weights"] == WEIGHTS and r.json()["scorecard_min_responses"] == 3
    # A set replaces the whole set: components left out count 0.
    r = tenant.api.patch(path, json={"scorecard_weights": {"rating": 50, "qa": 50}})
    assert r.status_code == 200 and r.json()["scorecard_weights"]["csat"] == 0
    assert stored_settings(db, site.account_id) == (
        {"rating": 50, "csat": 0, "nps": 0, "fcr": 0, "qa": 50},
        3,
    )

    before = stored_settings(db, site.account_id)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"scorecard_weights": {"rating": 60, "csat": 30}}, "scorecard_weights"),
        ({"scorecard_weights": {"rating": 60, "csat": 50}}, "scorecard_weights"),
        ({"scorecard_weights": {"rating": 101, "csat": -1}}, "scorecard_weights.rating"),
        ({"scorecard_weights": {"rating": 100, "speed": 0}}, "scorecard_weights.speed"),
        ({"scorecard_weights": {"rating": 99.5, "qa": 0.5}}, "scorecard_weights.rating"),
        ({"scorecard_weights": None}, "scorecard_weights"),
        ({"scorecard_min_responses": 0}, "scorecard_min_responses"),
        ({"scorecard_min_responses": 5, "scorecard_weights": {"qa": 10}}, "scorecard_weights"),
    ]
    for body, field in bad:
        r = tenant.api.patch(path, json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.json()["error"]["fields"], (body, r.text)
    r = tenant.api.patch(path, json={"scorecard_weights": {"rating": 60, "csat": 30}})
    assert "add up to 100" in r.json()["error"]["fields"]["scorecard_weights"]
    assert stored_settings(db, site.account_id) == before


def evaluate(tenant: Tenant, db: Database, site: Site, interaction_id: int, answers: dict[str, Any]) -> None:
    card = tenant.api.post(f"/api/v1/accounts/{site.account_id}/qa-templates", json=CARD)
    assert card.status_code == 201, card.text
    manager = make_user(db, tenant.org_id, Role.manager, account_ids=[site.account_id])
    with user_client(tenant, manager) as c:
        r = c.post(
            "/api/v1/qa-evaluations",
            json={"interaction_id": interaction_id, "template_id": card.json()["id"], "answers": answers},
        )
    assert r.status_code == 201, r.text


def seed(tenant: Tenant, db: Database, site: Site) -> None:
    """Agent 0: six answers of every kind and two QA reviews; agent 1: four answers (below a
    minimum of 5); agent 2: five ratings only, with no CSAT, NPS, FCR or QA to blend."""
    a, agents = site.account_id, site.agent_ids
    with tenant.client(ingest_key(db, tenant.org_id)) as api:
        first = post_feedback(api, a, agents[0], rating=5, csat=5, nps=10, fcr=True)
        post_feedback(api, a, agents[0], rating=4, csat=4, nps=9, fcr=True)
        post_feedback(api, a, agents[0], rating=3, csat=2, nps=7, fcr=False)
        second = post_feedback(api, a, agents[0], rating=5, csat=5, nps=3)
        post_feedback(api, a, agents[0], rating=2, fcr=True, channel="phone")
        post_feedback(api, a, agents[0], rating=4, csat=4, nps=10)
        for rating in (5, 5, 4, 1):
            post_feedback(api, a, agents[1], rating=rating, csat=5)
        for rating in (3, 4, 4, 5, 2):
            post_feedback(api, a, agents[2], rating=rating)
    evaluate(tenant, db, site, first["interaction_id"], {"c1": "yes", "c2": "yes", "c3": 3})
    evaluate(tenant, db, site, second["interaction_id"], {"c1": "no", "c2": "yes", "c3": 5})


def recount(db: Database, agent_id: int, weights: dict[str, int], minimum: int) -> float | None:
    """The blended score from the stored rows, computed here from its definition."""
    with db.session() as s:
        rows = s.exec(select(Response).where(Response.agent_id == agent_id)).all()
        qa = [e.score for e in s.exec(select(QaEvaluation).where(QaEvaluation.agent_id == agent_id)).all()]
    if len(rows) < minimum:
        return None
    values: dict[str, Fraction] = {
        "rating": (Fraction(sum(r.rating for r in rows), len(rows)) - 1) / 4 * 100,
    }
    csat = [r.csat for r in rows if r.csat is not None]
    if csat:
        values["csat"] = Fraction(100 * sum(1 for c in csat if c >= 4), len(csat))
    nps = [r.nps for r in rows if r.nps is not None]
    if nps:
        score = Fraction(100 * (sum(1 for n in nps if n >= 9) - sum(1 for n in nps if n <= 6)), len(nps))
        values["nps"] = (score + 100) / 2
    fcr = [r.fcr for r in rows if r.fcr is not None]
    if fcr:
        values["fcr"] = Fraction(100 * sum(1 for f in fcr if f), len(fcr))
    if qa:
        values["qa"] = sum((Fraction(q) for q in qa), Fraction(0)) / len(qa)
    present = {c: v for c, v in values.items() if weights[c] > 0}
    if not present:
        return None
    total = sum(weights[c] for c in present)
    return round(float(sum((v * weights[c] for c, v in present.items()), Fraction(0)) / total), 1)


def test_breakdown_and_export_agree_with_a_recount(tenant: Tenant, db: Database) -> None:
    site = make_site(db, tenant.org_id)
    r = tenant.api.patch(
        f"/api/v1/accounts/{site.account_id}",
        json={"scorecard_weights": WEIGHTS, "scorecard_min_responses": 5},
    )
    assert r.status_code == 200, r.text
    seed(tenant, db, site)
    params = {"account_id": site.account_id, "period": "7d"}
    out = tenant.api.get("/api/v1/dashboard/breakdown", params={**params, "by": "agent"})
    assert out.status_code == 200, out.text
    rows = {row["id"]: row for row in out.json()["items"]}
    expected = {agent: recount(db, agent, WEIGHTS, 5) for agent in site.agent_ids}
    assert expected[site.agent_ids[0]] is not None and expected[site.agent_ids[2]] is not None
    assert expected[site.agent_ids[1]] is None
    for agent in site.agent_ids:
        assert rows[agent]["blended_score"] == expected[agent], (agent, rows[agent])
    assert rows[site.agent_ids[1]]["blended_reason"] == "not_enough_responses"
    assert rows[site.agent_ids[1]]["blended_reason_label"] == "Not enough responses"
    # Only a rating to blend: the score is the rating's own 0-100 value (average 3.6 -> 65).
    assert rows[site.agent_ids[2]]["blended_score"] == 65.0
    teams = tenant.api.get("/api/v1/dashboard/breakdown", params={**params, "by": "team"}).json()
    assert all(row["blended_score"] is None for row in teams["items"])

    export = tenant.api.get("/api/v1/feedback.csv", params=params)
    assert export.status_code == 200
    table = list(csv.reader(io.StringIO(export.content.decode("utf-8"))))
    header = table[0]
    assert header[-1] == "Blended score"
    agent_col, blended_col = header.index("agent_id"), header.index("Blended score")
    seen = {int(line[agent_col]): line[blended_col] for line in table[1:]}
    for agent in site.agent_ids:
        want = expected[agent]
        assert seen[agent] == ("" if want is None else str(want)), (agent, seen[agent])

    # A lower minimum gives agent 1 a score; the weights' change shows at once.
    tenant.api.patch(f"/api/v1/accounts/{site.account_id}", json={"scorecard_min_responses": 4})
    again = tenant.api.get("/api/v1/dashboard/breakdown", params={**params, "by": "agent"}).json()
    row = next(r for r in again["items"] if r["id"] == site.agent_ids[1])
    assert row["blended_score"] == recount(db, site.agent_ids[1], WEIGHTS, 4)
    assert row["blended_reason"] is None


def test_the_admin_form_saves_weights_and_refuses_a_wrong_sum(tenant: Tenant, db: Database) -> None:
    site = make_site(db, tenant.org_id)
    admin = make_user(db, tenant.org_id, Role.admin)
    before = stored_settings(db, site.account_id)
    page = f"/admin/accounts/{site.account_id}"
    with user_client(tenant, admin) as c:
        token = c.headers["X-CSRF-Token"]
        form = {
            "csrf_token": token,
            "scorecard_weights-rating": "60",
            "scorecard_weights-csat": "10",
            "scorecard_weights-nps": "10",
            "scorecard_weights-fcr": "",
            "scorecard_weights-qa": "10",
            "scorecard_min_responses": "8",
        }
        r = c.post(f"{page}/scorecard", data=form)
        assert r.status_code == 422
        assert "add up to 100 % (these add up to 90 %)" in r.text
        assert 'id="scorecard_weights-rating" name="scorecard_weights-rating" value="60"' in r.text
        assert stored_settings(db, site.account_id) == before
        r = c.post(f"{page}/scorecard", data={**form, "scorecard_weights-rating": "x"})
        assert r.status_code == 422 and 'id="scorecard_weights-rating-error"' in r.text
        r = c.post(f"{page}/scorecard", data={**form, "scorecard_min_responses": "0"})
        assert r.status_code == 422 and 'id="scorecard_min_responses-error"' in r.text
        assert stored_settings(db, site.account_id) == before
        r = c.post(f"{page}/scorecard", data={**form, "csrf_token": secrets.token_hex(8)})
        assert r.status_code == 403
        r = c.post(f"{page}/scorecard", data={**form, "scorecard_weights-qa": "20"})
        assert r.status_code == 303 and r.headers["location"].endswith("?saved=scorecard#scorecard-title")
        assert stored_settings(db, site.account_id) == (
            {"rating": 60, "csat": 10, "nps": 10, "fcr": 0, "qa": 20},
            8,
        )
        shown = c.get(page)
        assert 'id="scorecard_weights-qa" name="scorecard_weights-qa" value="20"' in shown.text
    with db.session() as s:
        from streamsrv.models import AuditLog

        logged = s.exec(
            select(AuditLog).where(
                AuditLog.org_id == tenant.org_id, col(AuditLog.action) == "account.updated"
            )
        ).all()
    assert any("scorecard_weights" in (entry.details or {}).get("fields", []) for entry in logged)


def test_scorecard_migration_goes_both_ways(backend: str, tmp_path: Path) -> None:
    fields = {"scorecard_weights", "scorecard_min_responses"}
    with fresh_database(backend, tmp_path) as database:

        def columns() -> set[str]:
            return {c["name"] for c in inspect(database.engine).get_columns("accounts")}

        assert fields <= columns()
        migrate.downgrade(database.engine, "0019")
        assert not fields & columns()
        with database.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO organizations (name, created_at) VALUES ('Old', CURRENT_TIMESTAMP)")
            )
            org_id = conn.execute(text("SELECT max(id) FROM organizations")).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO accounts (org_id, name, negative_threshold, reward_catalogue, improvement_areas,"
                    " ask_csat, ask_nps, ask_fcr, suppression_days, request_ttl_days, edit_window_hours,"
                    " leaderboard_min_responses, recovery_sla_minutes, created_at)"
                    " VALUES (:org, 'Before', 2, '[]', '[]', false, false, false, 7, 14, 24, 5, 240,"
                    " CURRENT_TIMESTAMP)"
                ),
                {"org": org_id},
            )
        migrate.upgrade(database.engine)
        assert fields <= columns()
        with database.session() as s:
            before = s.exec(select(Account).where(Account.name == "Before")).one()
            # Accounts made before the scorecard start with the rating alone and a minimum of 5.
            assert before.scorecard_weights == {"rating": 100, "csat": 0, "nps": 0, "fcr": 0, "qa": 0}
            assert before.scorecard_min_responses == 5
