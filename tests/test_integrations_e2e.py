"""The whole integration loop against real parts, as the issue's "done" describes it.

A helpdesk (Zendesk's signed "ticket solved" webhook) creates the interaction; the survey email
reaches a real SMTP server; the customer answers 1 star through the link in it; the negative
answer reaches a Slack stand-in and a signed Standard Webhooks call reaches a consumer that
verifies it as any consumer would.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from streamsrv.embedded_redis import EmbeddedRedis
from tests import chat_support, webhook_support
from tests.email_support import STAR_LINK, MailStack, mail_stack, parts
from tests.integration_support import TICKET_IDS, connect, deliver, make_desk, sample
from tests.support import TIMEOUT, wait_until


@pytest.fixture(scope="module")
def stack(
    backend: str, tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[MailStack]:
    yield from mail_stack(backend, tmp_path_factory.mktemp("loop"), redis_server, outbound_allow_private=True)


@pytest.fixture(scope="module")
def slack() -> Iterator[chat_support.Receiver]:
    receiver = chat_support.Receiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="module")
def consumer() -> Iterator[webhook_support.Receiver]:
    receiver = webhook_support.Receiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


def test_a_solved_ticket_ends_as_a_slack_alert_and_a_signed_webhook(
    stack: MailStack, slack: chat_support.Receiver, consumer: webhook_support.Receiver, tmp_path: Path
) -> None:
    desk = make_desk(stack.db, stack.org.org_id)
    customer = f"cara-{secrets.token_hex(4)}@example.com"
    # The receivers serve the module (both databases): each run posts to its own channel.
    floor = f"floor-{secrets.token_hex(3)}"
    with stack.api() as api:
        hook = connect(api, "zendesk", desk.account_id)
        channel = api.post(
            "/api/v1/notification-channels",
            json={
                "kind": "slack",
                "url": slack.url("slack", floor),
                "account_id": desk.account_id,
                "events": ["negative_response"],
            },
        )
        assert channel.status_code == 201, channel.text
        endpoint = api.post(
            "/api/v1/webhook-endpoints",
            json={"url": consumer.url, "events": ["feedback.received"], "account_ids": [desk.account_id]},
        )
        assert endpoint.status_code == 201, endpoint.text
        consumer.consumer.secrets.append(endpoint.json()["secret"])

    # The helpdesk's call, signed as Zendesk signs it.
    ticket = f"{secrets.randbelow(10**8)}"
    body = sample("zendesk", customer=customer, **{f'"{TICKET_IDS["zendesk"]}"': f'"{ticket}"'})
    answer = deliver(hook, "zendesk", body)
    assert answer.status_code == 201, answer.text
    # The same call with a wrong secret is refused and records nothing more.
    assert deliver(hook, "zendesk", body, secret="not-the-secret").status_code == 401

    # The survey email reaches the customer, with the five star links.
    (email,) = stack.inbox.wait_for(customer)
    text, _html = parts(email)
    links = {int(m.group(3)): m.group(2) for m in STAR_LINK.finditer(text)}
    assert sorted(links) == [1, 2, 3, 4, 5]

    # The customer answers 1 star with a comment, through the link's survey.
    comment = f"Nobody called me back {secrets.token_hex(3)}"
    answered = httpx.post(
        f"{stack.server.url}/api/v1/responses/{links[1]}",
        json={"rating": 1, "comment": comment},
        timeout=TIMEOUT,
    )
    assert answered.status_code in (200, 201), answered.text

    # Slack hears about it: the comment, the agent, the rating, a link to the case; no contact details.
    (message,) = slack.hooks.wait_for(f"/slack/{floor}")
    raw = message.raw.decode()
    for expected in (comment, "Maria Lopez", "1\u2605", "/recovery#case-"):
        assert expected in raw
    assert customer not in raw and "Cara" not in raw

    # The consumer's system gets the signed event (the receiver verified the signature).
    (event,) = wait_until(
        lambda: [
            r
            for r in consumer.consumer.of_type("feedback.received")
            if r.payload["data"].get("comment") == comment
        ]
    )
    assert event.payload["data"]["rating"] == 1
    assert not consumer.consumer.rejected
