"""Helpdesk integrations end to end, on both databases: vendors' sample payloads signed as each
vendor signs them, posted to a real server whose delivery worker emails a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect
from sqlmodel import func, select

from streamsrv import migrate
from streamsrv.embedded_redis import EmbeddedRedis
from streamsrv.integrations.retention import erase_stale
from streamsrv.integrations.store import LOG_SIZE, SEAL_PURPOSE
from streamsrv.models import Agent, AuditLog, Integration, IntegrationDelivery, Interaction, UnmappedEvent
from streamsrv.security.sealed import Sealer
from tests.conftest import fresh_database
from tests.email_support import MailStack, mail_stack, parts, unique_email
from tests.integration_support import (
    AGENT_IDS,
    SAMPLES,
    STALE,
    TICKET_IDS,
    Hook,
    connect,
    deliver,
    make_desk,
    sample,
    signed,
    unsigned,
)
from tests.streaming import make_key
from tests.support import TIMEOUT

CONNECTORS = list(SAMPLES)
# The vendors that sign the body; the others send the shared secret in a header.
SIGNING = ("zendesk", "intercom", "helpscout")


@pytest.fixture(scope="module")
def stack(
    backend: str, tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[MailStack]:
    yield from mail_stack(backend, tmp_path_factory.mktemp("helpdesk"), redis_server)


@pytest.fixture
def api(stack: MailStack) -> Iterator[httpx.Client]:
    with stack.api() as client:
        yield client


def interactions_of(stack: MailStack, account_id: int) -> list[Interaction]:
    with stack.db.session() as s:
        return list(s.exec(select(Interaction).where(Interaction.account_id == account_id)).all())


def log_of(api: httpx.Client, hook: Hook) -> list[dict[str, Any]]:
    r = api.get(f"/api/v1/integrations/{hook.id}/deliveries")
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_a_solved_zendesk_ticket_emails_the_survey_to_the_requester(
    stack: MailStack, api: httpx.Client
) -> None:
    desk = make_desk(stack.db, stack.org.org_id)
    hook = connect(api, "zendesk", desk.account_id)
    assert hook.url == f"{stack.settings.public_url}/api/v1/integrations/zendesk/{hook.id}/events"
    customer = unique_email()

    r = deliver(hook, "zendesk", sample("zendesk", customer))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "accepted"

    [message] = stack.inbox.wait_for(customer)
    text, html = parts(message)
    assert "Maria Lopez" in text and "Maria Lopez" in html
    assert f"{stack.settings.public_url}/f/" in text
    # The requester's language (Zendesk sends its name) writes the email in Spanish.
    assert message["Subject"] == "¿Qué tal le atendió Maria?"
    [interaction] = interactions_of(stack, desk.account_id)
    assert interaction.id == r.json()["interaction_id"]
    assert interaction.agent_id == desk.agent_id
    assert interaction.external_id == "zendesk:35436"
    assert interaction.source == "zendesk"
    assert interaction.customer_email == customer and interaction.customer_name == "Cara Diaz"
    assert interaction.ticket_url == "https://acme.zendesk.com/agent/tickets/35436"
    assert interaction.locale == "es"
    got = api.get(f"/api/v1/interactions/{interaction.id}").json()
    assert got["request"]["delivery"]["channel"] == "email"

    [entry] = log_of(api, hook)
    assert entry["status"] == "accepted" and entry["http_status"] == 201
    assert entry["interaction_id"] == interaction.id and entry["event_id"] == "35436"


@pytest.mark.parametrize("connector", CONNECTORS)
def test_each_vendor_sample_signed_right_wrong_and_not_at_all(
    stack: MailStack, api: httpx.Client, connector: str
) -> None:
    desk = make_desk(stack.db, stack.org.org_id)
    hook = connect(api, connector, desk.account_id)
    customer = unique_email()
    body = sample(connector, customer, desk.agent_email)

    wrong = deliver(hook, connector, body, secret="not-" + hook.secret)
    assert wrong.status_code == 401, wrong.text
    missing = httpx.post(
        hook.target, content=body, headers=unsigned(signed(connector, hook.secret, body)), timeout=TIMEOUT
    )
    assert missing.status_code == 401, missing.text
    assert "missing" in missing.json()["error"]["message"]
    refused = 2
    if connector in SIGNING:
        # A body altered after signing fails like a wrong secret.
        headers = signed(connector, hook.secret, body)
        tampered = httpx.post(
            hook.target, content=body.replace(b"Cara", b"Carl"), headers=headers, timeout=TIMEOUT
        )
        assert tampered.status_code == 401
        refused += 1
    assert interactions_of(stack, desk.account_id) == []
    assert [e["status"] for e in log_of(api, hook)] == ["rejected"] * refused

    right = deliver(hook, connector, body)
    assert right.status_code == 201, right.text
    [interaction] = interactions_of(stack, desk.account_id)
    assert interaction.agent_id == desk.agent_id
    assert interaction.external_id == f"{connector}:{TICKET_IDS[connector]}"
    assert interaction.customer_email == customer
    assert interaction.ticket_url is not None and interaction.ticket_url.startswith("https://")
    assert TICKET_IDS[connector] in interaction.ticket_url
    stack.inbox.wait_for(customer)

    again = deliver(hook, connector, body)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "duplicate"
    assert len(interactions_of(stack, desk.account_id)) == 1
    assert [e["status"] for e in log_of(api, hook)][:2] == ["duplicate", "accepted"]


def test_stale_or_future_zendesk_timestamps_are_refused(stack: MailStack, api: httpx.Client) -> None:
    desk = make_desk(stack.db, stack.org.org_id)
    hook = connect(api, "zendesk", desk.account_id)
    body = sample("zendesk", unique_email())
    now = datetime.now(UTC)
    for when in (now - STALE, now + STALE):
        r = deliver(hook, "zendesk", body, when=when)
        assert r.status_code == 401, r.text
        assert "5 minutes" in r.json()["error"]["message"]
    assert interactions_of(stack, desk.account_id) == []


def test_malformed_payloads_answer_422_naming_the_field(stack: MailStack, api: httpx.Client) -> None:
    desk = make_desk(stack.db, stack.org.org_id)
    hook = connect(api, "zendesk", desk.account_id)
    cases = {
        b"not json": "body",
        b"[1, 2]": "body",
        b'{"status": "Solved"}': "ticket_id",
        b'{"ticket_id": "9", "status": "Solved", "requester": "me"}': "requester",
        sample("zendesk", "not-an-address"): "customer.email",
    }
    for body, field in cases.items():
        r = deliver(hook, "zendesk", body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.json()["error"]["fields"], (body, r.text)
    assert interactions_of(stack, desk.account_id) == []
    log = log_of(api, hook)
    assert {e["status"] for e in log} == {"invalid"} and len(log) == len(cases)
    assert all(e["reason"] for e in log)


def test_a_ticket_not_solved_is_ignored(stack: MailStack, api: httpx.Client) -> None:
    desk = make_desk(stack.db, stack.org.org_id)
    for connector, swap in (
        ("zendesk", {'"Solved"': '"Pending"'}),
        ("freshdesk", {'"Resolved"': '"Open"'}),
        ("intercom", {"conversation.admin.closed": "conversation.admin.replied"}),
        ("helpscout", {'"closed"': '"active"'}),
    ):
        hook = connect(api, connector, desk.account_id)
        r = deliver(hook, connector, sample(connector, unique_email(), desk.agent_email, **swap))
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "ignored" and r.json()["reason"]
    assert interactions_of(stack, desk.account_id) == []


def test_unknown_agent_waits_until_mapped_then_proceeds(stack: MailStack, api: httpx.Client) -> None:
    desk = make_desk(stack.db, stack.org.org_id, known=False)
    hook = connect(api, "zendesk", desk.account_id)
    customer = unique_email()
    body = sample("zendesk", customer)

    r = deliver(hook, "zendesk", body)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "unmapped"
    unmapped_id = r.json()["unmapped_id"]
    # A redelivery keeps the one waiting event.
    assert deliver(hook, "zendesk", body).status_code == 202
    assert interactions_of(stack, desk.account_id) == []

    listed = api.get("/api/v1/integrations/unmapped").json()["items"]
    mine = [u for u in listed if u["integration_id"] == hook.id]
    assert [u["id"] for u in mine] == [unmapped_id]
    assert mine[0]["helpdesk_agent"] == {
        "id": AGENT_IDS["zendesk"],
        "email": "maria.lopez@acme.example",
        "name": "Maria Lopez",
    }
    assert mine[0]["ticket_url"] == "https://acme.zendesk.com/agent/tickets/35436"

    elsewhere = make_desk(stack.db, stack.org.org_id, known=False)
    wrong = api.post(
        f"/api/v1/integrations/unmapped/{unmapped_id}/map", json={"agent_id": elsewhere.agent_id}
    )
    assert wrong.status_code == 422 and "agent_id" in wrong.json()["error"]["fields"]

    mapped = api.post(
        f"/api/v1/integrations/unmapped/{unmapped_id}/map", json={"agent_id": desk.agent_id, "remember": True}
    )
    assert mapped.status_code == 200, mapped.text
    assert mapped.json()["status"] == "mapped"
    [interaction] = interactions_of(stack, desk.account_id)
    assert interaction.agent_id == desk.agent_id and mapped.json()["interaction_id"] == interaction.id
    assert interaction.ticket_url == "https://acme.zendesk.com/agent/tickets/35436"
    stack.inbox.wait_for(customer)
    assert (
        api.post(
            f"/api/v1/integrations/unmapped/{unmapped_id}/map", json={"agent_id": desk.agent_id}
        ).status_code
        == 409
    )
    assert api.get("/api/v1/integrations/unmapped").json()["items"] == [
        u for u in api.get("/api/v1/integrations/unmapped").json()["items"] if u["integration_id"] != hook.id
    ]
    with stack.db.session() as s:
        agent = s.get(Agent, desk.agent_id)
        assert agent is not None and agent.external_ids == {"zendesk": AGENT_IDS["zendesk"]}
        audit = s.exec(
            select(AuditLog).where(
                AuditLog.action == "integration.event_mapped", AuditLog.target == f"agent:{desk.agent_id}"
            )
        ).all()
        assert len(audit) == 1

    # Remembered: the next ticket of this helpdesk agent maps by itself.
    later = unique_email()
    r = deliver(hook, "zendesk", sample("zendesk", later, **{"35436": "35437"}))
    assert r.status_code == 201, r.text
    assert len(interactions_of(stack, desk.account_id)) == 2
    stack.inbox.wait_for(later)


def test_unknown_disabled_or_mismatched_integrations_all_answer_the_same_404(
    stack: MailStack, api: httpx.Client
) -> None:
    desk = make_desk(stack.db, stack.org.org_id)
    hook = connect(api, "zendesk", desk.account_id)
    body = sample("zendesk", unique_email())
    headers = signed("zendesk", hook.secret, body)
    base = stack.settings.public_url
    answers = [
        httpx.post(
            f"{base}/api/v1/integrations/zendesk/999999/events",
            content=body,
            headers=headers,
            timeout=TIMEOUT,
        ),
        httpx.post(
            f"{base}/api/v1/integrations/freshdesk/{hook.id}/events",
            content=body,
            headers=headers,
            timeout=TIMEOUT,
        ),
        httpx.post(
            f"{base}/api/v1/integrations/nodesk/{hook.id}/events",
            content=body,
            headers=headers,
            timeout=TIMEOUT,
        ),
    ]
    assert api.delete(f"/api/v1/integrations/{hook.id}").status_code == 204
    answers.append(httpx.post(hook.target, content=body, headers=headers, timeout=TIMEOUT))
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1
    assert api.get(f"/api/v1/integrations/{hook.id}").status_code == 404
    assert interactions_of(stack, desk.account_id) == []


def test_a_body_over_the_limit_answers_413(stack: MailStack, api: httpx.Client) -> None:
    desk = make_desk(stack.db, stack.org.org_id)
    hook = connect(api, "freshdesk", desk.account_id)
    body = b'{"pad": "' + b"x" * (stack.settings.max_body_bytes + 10) + b'"}'
    r = deliver(hook, "freshdesk", body)
    assert r.status_code == 413
    assert interactions_of(stack, desk.account_id) == []


def test_the_secret_is_sealed_shown_once_and_rotates(stack: MailStack, api: httpx.Client) -> None:
    desk = make_desk(stack.db, stack.org.org_id)
    unknown = api.post(
        "/api/v1/integrations", json={"connector": "nodesk", "account_id": desk.account_id, "name": "x"}
    )
    assert unknown.status_code == 422 and "connector" in unknown.json()["error"]["fields"]

    hook = connect(api, "intercom", desk.account_id)
    with stack.db.session() as s:
        row = s.get(Integration, hook.id)
        assert row is not None and hook.secret not in row.secret_sealed
        assert Sealer(stack.settings.secret_key, SEAL_PURPOSE).unseal(row.secret_sealed) == hook.secret
    listed = api.get("/api/v1/integrations")
    assert listed.status_code == 200 and hook.secret not in listed.text
    one = api.get(f"/api/v1/integrations/{hook.id}").json()
    assert "secret" not in one and one["url"] == hook.url and one["connector"] == "intercom"

    rotated = api.post(f"/api/v1/integrations/{hook.id}/rotate-secret")
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    new_secret = rotated.json()["secret"]
    assert new_secret != hook.secret
    body = sample("intercom", unique_email(), desk.agent_email)
    assert deliver(hook, "intercom", body).status_code == 401
    assert deliver(hook, "intercom", body, secret=new_secret).status_code == 201
    with stack.db.session() as s:
        actions = s.exec(
            select(AuditLog.action).where(AuditLog.target == f"integration:{hook.id}").order_by(AuditLog.id)
        ).all()
    assert list(actions) == ["integration.created", "integration.secret_rotated"]


def test_outcomes_are_counted_in_metrics(stack: MailStack, api: httpx.Client) -> None:
    desk = make_desk(stack.db, stack.org.org_id)
    hook = connect(api, "gorgias", desk.account_id)
    deliver(hook, "gorgias", sample("gorgias", unique_email()), secret="wrong")
    text = httpx.get(f"{stack.settings.public_url}/metrics", timeout=TIMEOUT).text
    assert 'streamsrv_integration_events_total{connector="gorgias",status="rejected"}' in text


def test_waiting_events_are_scoped_to_the_callers_accounts(stack: MailStack, api: httpx.Client) -> None:
    mine, theirs = (
        make_desk(stack.db, stack.org.org_id, known=False),
        make_desk(stack.db, stack.org.org_id, known=False),
    )
    for desk in (mine, theirs):
        hook = connect(api, "zendesk", desk.account_id)
        assert deliver(hook, "zendesk", sample("zendesk", unique_email())).status_code == 202
    limited = make_key(stack.db, stack.org.org_id, ["admin"], [mine.account_id])
    with stack.api(limited) as client:
        items = client.get("/api/v1/integrations/unmapped").json()["items"]
        assert {i["account_id"] for i in items} == {mine.account_id}
        listed = client.get("/api/v1/integrations").json()["items"]
        assert {i["account_id"] for i in listed} == {mine.account_id}
        other = client.post(
            "/api/v1/integrations",
            json={"connector": "zendesk", "account_id": theirs.account_id, "name": "x"},
        )
        assert other.status_code == 422 and "account_id" in other.json()["error"]["fields"]
    with stack.db.session() as s:
        count = s.exec(
            select(func.count())
            .select_from(UnmappedEvent)
            .where(UnmappedEvent.account_id == theirs.account_id)
        ).one()
    assert count == 1


def test_the_helpdesks_own_signing_secret_can_be_set(stack: MailStack, api: httpx.Client) -> None:
    desk = make_desk(stack.db, stack.org.org_id)
    hook = connect(api, "zendesk", desk.account_id)
    zendesk_made = "dGhpcyBpcyB6ZW5kZXNrJ3Mgc2lnbmluZyBzZWNyZXQ="
    short = api.put(f"/api/v1/integrations/{hook.id}/secret", json={"secret": "short"})
    assert short.status_code == 422 and "secret" in short.json()["error"]["fields"]
    r = api.put(f"/api/v1/integrations/{hook.id}/secret", json={"secret": zendesk_made})
    assert r.status_code == 200, r.text
    assert "secret" not in r.json() and zendesk_made not in r.text
    body = sample("zendesk", unique_email())
    assert deliver(hook, "zendesk", body).status_code == 401
    assert deliver(hook, "zendesk", body, secret=zendesk_made).status_code == 201
    with stack.db.session() as s:
        actions = s.exec(select(AuditLog.action).where(AuditLog.target == f"integration:{hook.id}")).all()
    assert "integration.secret_set" in actions


def test_the_delivery_log_keeps_the_last_100_calls(stack: MailStack, api: httpx.Client) -> None:
    desk = make_desk(stack.db, stack.org.org_id)
    hook = connect(api, "gorgias", desk.account_id)
    body = sample("gorgias", unique_email(), **{'"closed"': '"open"'})
    with httpx.Client(timeout=TIMEOUT) as client:
        for n in range(LOG_SIZE + 5):
            headers = signed("gorgias", hook.secret if n % 2 else "wrong", body)
            assert client.post(hook.target, content=body, headers=headers).status_code in (200, 401)
    log = log_of(api, hook)
    assert len(log) == LOG_SIZE
    assert log[0]["status"] == "rejected" and log[1]["status"] == "ignored"
    assert [e["id"] for e in log] == sorted((e["id"] for e in log), reverse=True)
    with stack.db.session() as s:
        stored = s.exec(
            select(func.count())
            .select_from(IntegrationDelivery)
            .where(IntegrationDelivery.integration_id == hook.id)
        ).one()
    assert stored == LOG_SIZE


def test_waiting_events_lose_the_customers_details_after_the_retention_period(
    stack: MailStack, api: httpx.Client
) -> None:
    desk = make_desk(stack.db, stack.org.org_id, known=False, contact_retention_days=1)
    hook = connect(api, "zendesk", desk.account_id)
    customer = unique_email()
    r = deliver(hook, "zendesk", sample("zendesk", customer))
    assert r.status_code == 202, r.text
    unmapped_id = r.json()["unmapped_id"]
    with stack.db.session() as s:
        erase_stale(s, datetime.now(UTC))
        fresh = s.get(UnmappedEvent, unmapped_id)
        assert fresh is not None and fresh.contact_erased_at is None, "within the period: kept"
    with stack.db.session() as s:
        erase_stale(s, datetime.now(UTC) + timedelta(days=2))
    with stack.db.session() as s:
        row = s.get(UnmappedEvent, unmapped_id)
        assert row is not None and row.contact_erased_at is not None
        assert customer not in str(row.interaction) and row.interaction["customer"] == {}
    [listed] = [u for u in api.get("/api/v1/integrations/unmapped").json()["items"] if u["id"] == unmapped_id]
    assert listed["customer_name"] is None
    # Still mappable: the interaction is recorded, with no address to email.
    mapped = api.post(f"/api/v1/integrations/unmapped/{unmapped_id}/map", json={"agent_id": desk.agent_id})
    assert mapped.status_code == 200, mapped.text
    [interaction] = interactions_of(stack, desk.account_id)
    assert interaction.customer_email is None


def test_integrations_migration_goes_both_ways(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as database:

        def shape() -> tuple[set[str], set[str]]:
            found = inspect(database.engine)
            return set(found.get_table_names()), {c["name"] for c in found.get_columns("interactions")}

        tables, columns = shape()
        assert {"integrations", "integration_deliveries", "integration_unmapped"} <= tables
        assert "ticket_url" in columns
        migrate.downgrade(database.engine, "0009")
        tables, columns = shape()
        assert not {"integrations", "integration_deliveries", "integration_unmapped"} & tables
        assert "ticket_url" not in columns
        migrate.upgrade(database.engine)
        assert "integration_unmapped" in shape()[0]
