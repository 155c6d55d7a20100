"""Survey request emails end to end, on both databases: a real streamsrv server, a real SMTP
server (aiosmtpd), the real delivery worker; MIME parsed as a mail client would."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from streamsrv.embedded_redis import EmbeddedRedis
from streamsrv.models import Interaction, Response, SmtpSettings
from streamsrv.security.sealed import SMTP_CREDENTIALS, Sealer
from tests.email_support import (
    SENDER,
    STAR_LINK,
    MailStack,
    deliveries,
    mail_stack,
    make_due_now,
    parts,
    unique_email,
)
from tests.streaming import make_key
from tests.support import TIMEOUT, wait_until
from tests.survey_support import Setup, interaction_body, make_setup


@pytest.fixture(scope="module")
def stack(
    backend: str, tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[MailStack]:
    yield from mail_stack(backend, tmp_path_factory.mktemp("mail"), redis_server)


@pytest.fixture
def api(stack: MailStack) -> Iterator[httpx.Client]:
    with stack.api() as client:
        yield client


def setup_for(stack: MailStack, **account: Any) -> Setup:
    # Suppression by period is its own rule; most tests email one address more than once.
    account.setdefault("suppression_days", 0)
    return make_setup(stack.db, stack.org.org_id, **account)


def record(api: httpx.Client, setup: Setup, email: str | None, **overrides: Any) -> dict[str, Any]:
    body = interaction_body(setup, **overrides)
    body["customer"] = {"email": email, "name": "Cara Diaz"} if email else None
    r = api.post("/api/v1/interactions", json=body)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def delivery_of(api: httpx.Client, interaction_id: int) -> dict[str, Any]:
    r = api.get(f"/api/v1/interactions/{interaction_id}")
    assert r.status_code == 200, r.text
    return dict(r.json()["request"]["delivery"])


def wait_delivery(api: httpx.Client, interaction_id: int, status: str) -> dict[str, Any]:
    return wait_until(
        lambda: (d := delivery_of(api, interaction_id))["status"] == status and d, timeout=TIMEOUT * 2
    )


def response_count(stack: MailStack, interaction_id: int) -> int:
    with stack.db.session() as s:
        return int(
            s.exec(
                select(func.count()).select_from(Response).where(Response.interaction_id == interaction_id)
            ).one()
        )


def test_an_interaction_emails_the_survey_with_star_links(stack: MailStack, api: httpx.Client) -> None:
    setup = setup_for(
        stack, reply_to="help@acme.example", sender_name="Acme Care", email_footer="Acme Ltd, 1 Main St"
    )
    email = unique_email()
    answer = record(api, setup, email)
    assert answer["request"]["delivery"]["channel"] == "email"
    assert answer["request"]["delivery"]["status"] in ("scheduled", "sending", "sent")
    token = answer["request"]["token"]

    [message] = stack.inbox.wait_for(email)
    text, html = parts(message)
    assert message["Subject"] == "How did Maria do?"
    assert message["From"].addresses[0].addr_spec == SENDER
    assert message["From"].addresses[0].display_name == "Acme Care"
    assert str(message["Reply-To"]) == "help@acme.example"
    assert message["Message-ID"].startswith(f"<survey.{answer['request']['id']}.")
    for body in (text, html):
        assert "Maria Lopez" in body
        assert "Loves solving tricky billing questions." in body
        assert "climbing" in body
        assert "Acme Ltd, 1 Main St" in body
    stars = sorted({(t, int(n)) for _, t, n in STAR_LINK.findall(html)}, key=lambda x: x[1])
    assert stars == [(token, n) for n in range(1, 6)]
    assert f"{stack.settings.public_url}/f/{token}?rating=5" in text
    assert f'href="{stack.settings.public_url}/f/{token}"' in html
    # The CSS is inlined: the brand colour sits in style attributes, not only in a style block.
    assert 'style="' in html and "#2f5bea" in html

    unsubscribe = str(message["List-Unsubscribe"])
    assert unsubscribe.startswith(f"<{stack.settings.public_url}/u/") and unsubscribe.endswith(">")
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert unsubscribe[1:-1] in text

    # A star link opened by a scanner or a preview records nothing.
    link = f"{stack.settings.public_url}/f/{token}?rating=4"
    page = httpx.get(link, timeout=TIMEOUT)
    assert page.status_code == 200 and "Maria Lopez" in page.text
    assert response_count(stack, answer["interaction_id"]) == 0

    state = wait_delivery(api, answer["interaction_id"], "sent")
    assert state["attempts"] == 1 and state["last_error"] is None and state["sent_at"]


def test_a_replay_does_not_send_a_second_email(stack: MailStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    email = unique_email()
    first = record(api, setup, email, external_id="T-replay-1")
    second = record(api, setup, email, external_id="T-replay-1")
    assert second["interaction_id"] == first["interaction_id"]
    stack.inbox.wait_for(email)
    wait_delivery(api, first["interaction_id"], "sent")
    assert len(deliveries(stack.db, first["request"]["id"])) == 1
    assert len(stack.inbox.to(email)) == 1


def test_one_click_unsubscribe_suppresses_later_emails(stack: MailStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    email = unique_email()
    record(api, setup, email)
    [message] = stack.inbox.wait_for(email)
    url = str(message["List-Unsubscribe"])[1:-1]

    page = httpx.get(url, timeout=TIMEOUT)
    assert page.status_code == 200 and "Unsubscribe" in page.text
    assert email not in page.text, "the page shows the address masked"
    # As a mail client sends it (RFC 8058): no cookie, no CSRF token, the link is the credential.
    done = httpx.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=TIMEOUT,
    )
    assert done.status_code == 200 and "unsubscribed" in done.text
    again = httpx.post(url, content=b"List-Unsubscribe=One-Click", timeout=TIMEOUT)
    assert again.status_code == 200

    listed = api.get(f"/api/v1/accounts/{setup.account_id}/suppressions").json()["items"]
    assert [(i["email"], i["reason"]) for i in listed] == [(email, "unsubscribed")]

    later = record(api, setup, email)
    delivery = later["request"]["delivery"]
    assert delivery["status"] == "suppressed"
    assert "suppression list (unsubscribed)" in delivery["last_error"]
    assert later["request"]["status"] == "pending", "the link itself still works"
    assert len(stack.inbox.to(email)) == 1

    forged = httpx.post(url[:-3] + "xyz", timeout=TIMEOUT)
    assert forged.status_code == 404


def test_unsubscribe_still_works_after_the_address_is_erased(stack: MailStack, api: httpx.Client) -> None:
    """The link carries the address sealed: once retention (or an erasure request) has cleared it
    from the database, the customer's own email is the only copy, and it still opts them out."""
    setup = setup_for(stack)
    email = unique_email()
    record(api, setup, email)
    [message] = stack.inbox.wait_for(email)
    url = str(message["List-Unsubscribe"])[1:-1]
    assert email not in url and email.split("@")[0] not in url
    erased = api.post(f"/api/v1/accounts/{setup.account_id}/erasures", json={"email": email})
    assert erased.status_code == 200 and erased.json()["erased"]["requests"] == 1, erased.text

    page = httpx.get(url, timeout=TIMEOUT)
    assert page.status_code == 200 and "Unsubscribe" in page.text and email not in page.text
    done = httpx.post(url, content=b"List-Unsubscribe=One-Click", timeout=TIMEOUT)
    assert done.status_code == 200 and "unsubscribed" in done.text
    listed = api.get(f"/api/v1/accounts/{setup.account_id}/suppressions").json()["items"]
    assert [(i["email"], i["reason"]) for i in listed] == [(email, "unsubscribed")]
    assert record(api, setup, email)["request"]["delivery"]["status"] == "suppressed"


def test_period_suppression_is_recorded_on_the_delivery(stack: MailStack, api: httpx.Client) -> None:
    setup = setup_for(stack, suppression_days=7)
    email = unique_email()
    record(api, setup, email)
    second = record(api, setup, email)
    assert second["request"]["status"] == "suppressed"
    assert second["request"]["delivery"]["status"] == "suppressed"
    assert "within the account's 7 days" in second["request"]["delivery"]["last_error"]


def test_send_none_and_no_address_send_nothing(stack: MailStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    chosen = record(api, setup, unique_email(), send="none")
    assert chosen["request"]["delivery"] == {
        "channel": "none",
        "status": "not_sent",
        "reason": "not_requested",
    }
    anonymous = record(api, setup, None)
    assert anonymous["request"]["delivery"] == {
        "channel": "none",
        "status": "not_sent",
        "reason": "no_customer_email",
    }
    quiet = setup_for(stack, send_channel="none")
    account_default = record(api, quiet, unique_email())
    assert account_default["request"]["delivery"]["reason"] == "not_requested"
    forced = record(api, quiet, unique_email(), send="email")
    assert forced["request"]["delivery"]["channel"] == "email"


def test_an_answer_before_the_send_time_cancels_the_email(stack: MailStack, api: httpx.Client) -> None:
    setup = setup_for(stack, send_delay_minutes=60)
    occurred = datetime.now().astimezone()
    answer = record(api, setup, unique_email(), occurred_at=occurred.isoformat())
    delivery = answer["request"]["delivery"]
    assert delivery["status"] == "scheduled"
    send_at = datetime.fromisoformat(delivery["send_at"].replace("Z", "+00:00"))
    assert abs(send_at - (occurred + timedelta(minutes=60))) < timedelta(seconds=1)

    r = httpx.post(
        f"{stack.server.url}/api/v1/responses/{answer['request']['token']}",
        json={"rating": 5},
        timeout=TIMEOUT,
    )
    assert r.status_code == 201, r.text
    state = delivery_of(api, answer["interaction_id"])
    assert state["status"] == "cancelled"
    assert "answered" in state["last_error"]


def test_a_temporary_failure_is_retried_and_arrives_once(stack: MailStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    email = unique_email()
    stack.inbox.defer[email] = 1
    answer = record(api, setup, email)
    request_id = answer["request"]["id"]
    state = wait_until(
        lambda: (
            (d := delivery_of(api, answer["interaction_id"]))["attempts"] == 1
            and d["status"] == "scheduled"
            and d
        ),
        timeout=TIMEOUT * 2,
    )
    assert "451" in state["last_error"]
    assert make_due_now(stack.db, [request_id]) == 1
    stack.inbox.wait_for(email)
    state = wait_delivery(api, answer["interaction_id"], "sent")
    assert state["attempts"] == 2
    assert len(stack.inbox.to(email)) == 1


def test_a_permanent_refusal_fails_and_suppresses_the_address(stack: MailStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    email = unique_email()
    stack.inbox.refuse[email] = "550 5.1.1 no such user here"
    answer = record(api, setup, email)
    state = wait_delivery(api, answer["interaction_id"], "failed")
    assert state["last_error"].startswith("bounced: 550")
    assert state["attempts"] == 1
    listed = api.get(f"/api/v1/accounts/{setup.account_id}/suppressions").json()["items"]
    assert [(i["email"], i["reason"]) for i in listed] == [(email, "bounced")]
    later = record(api, setup, email)
    assert later["request"]["delivery"]["status"] == "suppressed"


def test_emails_wait_out_an_smtp_outage_and_arrive_exactly_once(stack: MailStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    addresses = [unique_email() for _ in range(20)]
    stack.smtp.stop()
    try:
        answers = [record(api, setup, a) for a in addresses]
        ids = [a["request"]["id"] for a in answers]

        def all_deferred() -> bool:
            rows = [d for i in ids for d in deliveries(stack.db, i)]
            return len(rows) == 20 and all(d.status == "scheduled" and d.attempts >= 1 for d in rows)

        wait_until(all_deferred, timeout=TIMEOUT * 3)
    finally:
        stack.smtp.start()
    assert make_due_now(stack.db, ids) == 20
    for address in addresses:
        stack.inbox.wait_for(address, timeout=TIMEOUT * 3)
    for answer in answers:
        wait_delivery(api, answer["interaction_id"], "sent")
    counts = Counter(str(m["To"]) for a in addresses for m in stack.inbox.to(a))
    assert len(counts) == 20 and set(counts.values()) == {1}


def test_the_organizations_own_smtp_server_is_used(stack: MailStack, api: httpx.Client) -> None:
    assert api.get("/api/v1/smtp-settings").status_code == 404
    put = api.put(
        "/api/v1/smtp-settings",
        json={
            "host": "127.0.0.1",
            "port": stack.smtp.port,
            "security": "none",
            "username": None,
            "password": "s3cret-pass",
            "from_address": "Care@Acme.example",
            "from_name": "Acme Care Team",
        },
    )
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["password_set"] is True and "password" not in body
    assert body["from_address"] == "care@acme.example"
    with stack.db.session() as s:
        row = s.get(SmtpSettings, stack.org.org_id)
        assert row is not None and row.password_sealed and "s3cret" not in row.password_sealed
        assert (
            Sealer(stack.settings.secret_key, SMTP_CREDENTIALS).unseal(row.password_sealed) == "s3cret-pass"
        )
    # Without a password the stored one stays; an explicit null clears it.
    kept = api.put(
        "/api/v1/smtp-settings",
        json={
            "host": "127.0.0.1",
            "port": stack.smtp.port,
            "security": "none",
            "from_address": "care@acme.example",
        },
    )
    assert kept.json()["password_set"] is True
    try:
        cleared = api.put(
            "/api/v1/smtp-settings",
            json={
                "host": "127.0.0.1",
                "port": stack.smtp.port,
                "security": "none",
                "from_address": "care@acme.example",
                "from_name": "Acme Care Team",
                "password": None,
            },
        )
        assert cleared.json()["password_set"] is False
        setup = setup_for(stack)
        email = unique_email()
        answer = record(api, setup, email)
        [message] = stack.inbox.wait_for(email)
        assert message["From"].addresses[0].addr_spec == "care@acme.example"
        assert message["From"].addresses[0].display_name == "Acme Care Team"
        assert deliveries(stack.db, answer["request"]["id"])[0].queue == f"smtp:org:{stack.org.org_id}"
    finally:
        assert api.delete("/api/v1/smtp-settings").status_code == 204
    assert api.get("/api/v1/smtp-settings").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"port": 70000}, "port"),
        ({"port": 0}, "port"),
        ({"security": "ssl"}, "security"),
        ({"host": "smtp.example.com/evil"}, "host"),
        ({"from_address": "not-an-address"}, "from_address"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_smtp_settings_are_refused_and_nothing_is_stored(
    stack: MailStack, api: httpx.Client, body: dict[str, Any], field: str
) -> None:
    good = {"host": "smtp.example.com", "port": 587, "security": "starttls", "from_address": "a@example.com"}
    r = api.put("/api/v1/smtp-settings", json=good | body)
    assert r.status_code == 422, r.text
    assert field in r.json()["error"]["fields"]
    assert api.get("/api/v1/smtp-settings").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"customer": {"email": "not an email"}}, "customer.email"),
        ({"customer": {"email": "nobody@nowhere"}}, "customer.email"),
        ({"customer": {"email": "two@@example.com"}}, "customer.email"),
        ({"customer": {"email": "dots@example..com"}}, "customer.email"),
        ({"locale": "xx"}, "locale"),
        ({"locale": "en-!!"}, "locale"),
        ({"send": "sms"}, "send"),
    ],
)
def test_bad_interactions_are_refused_and_nothing_is_stored(
    stack: MailStack, api: httpx.Client, overrides: dict[str, Any], field: str
) -> None:
    setup = setup_for(stack)
    body = interaction_body(setup, **overrides)
    r = api.post("/api/v1/interactions", json=body)
    assert r.status_code == 422, r.text
    assert field in r.json()["error"]["fields"]
    with stack.db.session() as s:
        assert (
            s.exec(select(Interaction).where(Interaction.external_id == body["external_id"])).first() is None
        )


def test_the_email_is_written_in_the_interactions_language(stack: MailStack, api: httpx.Client) -> None:
    setup = setup_for(stack, default_locale="de")
    email = unique_email()
    answer = record(api, setup, email, locale="pt-BR")
    [message] = stack.inbox.wait_for(email)
    # The survey's catalogues: the subject and links are in the customer's language.
    assert message["Subject"] == "Como foi o atendimento de Maria?"
    text, html = parts(message)
    assert 'lang="pt"' in html and "Abrir o inquérito" in html and "Cancelar subscrição" in text
    with stack.db.session() as s:
        interaction = s.get(Interaction, answer["interaction_id"])
        assert interaction is not None and interaction.locale == "pt-BR"
    other = unique_email()
    record(api, setup, other)
    [fallback] = stack.inbox.wait_for(other)
    assert 'lang="de"' in parts(fallback)[1] and "Zur Umfrage" in parts(fallback)[1]


def test_suppression_list_api(stack: MailStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    base = f"/api/v1/accounts/{setup.account_id}/suppressions"
    first = api.post(base, json={"email": "One@Example.com"})
    assert first.status_code == 201, first.text
    assert first.json()["email"] == "one@example.com" and first.json()["reason"] == "manual"
    assert api.post(base, json={"email": "one@example.com"}).status_code == 200
    assert api.post(base, json={"email": "two@example.com", "reason": "bounced"}).status_code == 201
    page1 = api.get(base, params={"limit": 1}).json()
    page2 = api.get(base, params={"limit": 1, "cursor": page1["next_cursor"]}).json()
    assert [i["email"] for i in page1["items"] + page2["items"]] == ["one@example.com", "two@example.com"]
    assert page2["next_cursor"] is None
    bad = api.post(base, json={"email": "nope"})
    assert bad.status_code == 422 and "email" in bad.json()["error"]["fields"]

    reader = make_key(stack.db, stack.org.org_id, ["read"], [setup.account_id])
    outsider = make_key(stack.db, stack.org.org_id, ["read"], [setup.other_agent_id + 10_000])
    with stack.api(reader) as read_only, stack.api(outsider) as other:
        assert read_only.get(base).status_code == 200
        assert read_only.post(base, json={"email": "x@example.com"}).status_code == 403
        assert read_only.delete(f"{base}/one@example.com").status_code == 403
        assert other.get(base).status_code == 404

    assert api.delete(f"{base}/one@example.com").status_code == 204
    assert api.delete(f"{base}/one@example.com").status_code == 404
    assert [i["email"] for i in api.get(base).json()["items"]] == ["two@example.com"]


def test_metrics_show_email_deliveries(stack: MailStack) -> None:
    text = httpx.get(f"{stack.server.url}/metrics", timeout=TIMEOUT).text
    for status in ("sent", "failed", "suppressed"):
        assert f'streamsrv_deliveries_total{{kind="email",status="{status}"}}' in text
    assert 'streamsrv_delivery_queue_age_seconds{kind="email"}' in text


def test_unknown_interaction_is_404(stack: MailStack, api: httpx.Client) -> None:
    assert api.get("/api/v1/interactions/999999").status_code == 404
