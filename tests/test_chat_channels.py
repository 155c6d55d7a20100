"""Slack and Microsoft Teams channels end to end, on both databases: a real streamsrv server with
its delivery worker, and a real HTTP server standing in for Slack and Teams that checks bodies
as they do (Block Kit, the Adaptive Card envelope) and refuses a bad one with invalid_payload."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, update
from sqlmodel import col, select

from streamsrv.chat import channels, jobs
from streamsrv.embedded_redis import EmbeddedRedis
from streamsrv.models import NotificationChannel, RecoveryCase, Role, Team, utcnow
from streamsrv.outbound.safety import UnsafeTarget, check_url, resolve_and_check
from streamsrv.periods import zone
from tests.chat_support import ChatStack, Received, channel_deliveries, chat_stack, make_due_now
from tests.streaming import make_user
from tests.support import TIMEOUT, wait_until
from tests.survey_support import Setup, interaction_body, make_setup

EVIL = "<!channel> <http://evil|click> *bold* & <script>"
ESCAPED = "&lt;!channel&gt; &lt;http://evil|click&gt; *bold* &amp; &lt;script&gt;"
ALL_EVENTS = ["negative_response", "case_sla_breach", "shoutout", "great_moment", "daily_digest"]


@pytest.fixture(scope="module")
def stack(
    backend: str, tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[ChatStack]:
    yield from chat_stack(backend, tmp_path_factory.mktemp("chat"), redis_server)


@pytest.fixture
def api(stack: ChatStack) -> Iterator[httpx.Client]:
    with stack.api() as client:
        yield client


def setup_for(stack: ChatStack, **account: Any) -> Setup:
    account.setdefault("suppression_days", 0)
    return make_setup(stack.db, stack.org.org_id, **account)


def add_channel(
    stack: ChatStack, api: httpx.Client, kind: str, setup: Setup, events: list[str], **extra: Any
) -> tuple[dict[str, Any], str]:
    name = secrets.token_hex(6)
    body = {
        "kind": kind,
        "url": stack.receiver.url(kind, name),
        "account_id": setup.account_id,
        "events": events,
    }
    r = api.post("/api/v1/notification-channels", json={**body, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json()), f"/{kind}/{name}"


def answer(stack: ChatStack, api: httpx.Client, setup: Setup, **response: Any) -> dict[str, Any]:
    """An interaction with distinctive contact details, answered through the survey API."""
    body = interaction_body(setup, send="none")
    body["customer"] = {
        "email": "zelda.quux@contact.example",
        "name": "Zelda Quuxington",
        "phone": "+44 7700 900123",
    }
    created = api.post("/api/v1/interactions", json=body)
    assert created.status_code == 201, created.text
    token = created.json()["request"]["token"]
    r = httpx.post(f"{stack.server.url}/api/v1/responses/{token}", json=response, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    return dict(r.json())


def texts(got: Received) -> str:
    return got.raw.decode()


def assert_no_contact(*bodies: Received) -> None:
    for got in bodies:
        raw = texts(got)
        for detail in ("zelda", "Zelda", "Quuxington", "contact.example", "7700", "900123"):
            assert detail not in raw, f"{detail!r} leaked into {got.path}"


def slack_text(body: dict[str, Any]) -> str:
    parts = [body["text"]]
    for block in body["blocks"]:
        for obj in [
            block.get("text"),
            *(block.get("fields") or []),
            *[e.get("text") for e in block.get("elements", [])],
        ]:
            if obj:
                parts.append(obj["text"])
    return "\n".join(parts)


def card_text(body: dict[str, Any]) -> str:
    card = body["attachments"][0]["content"]
    return "\n".join(run["text"] for block in card["body"] for run in block.get("inlines", []))


def wait_status(stack: ChatStack, channel_id: int, status: str, count: int = 1) -> list[Any]:
    return wait_until(
        lambda: (
            len(d := [x for x in channel_deliveries(stack.db, channel_id) if x.status == status]) >= count
            and d
        ),
        timeout=TIMEOUT * 2,
    )


def case_of(stack: ChatStack, response_id: int) -> RecoveryCase:
    with stack.db.session() as s:
        case = s.exec(select(RecoveryCase).where(RecoveryCase.response_id == response_id)).one()
        s.expunge(case)
        return case


# --- events ------------------------------------------------------------------------------------------


def test_negative_response_posts_escaped_comment_agent_rating_and_case_link(
    stack: ChatStack, api: httpx.Client
) -> None:
    setup = setup_for(stack)
    slack, slack_path = add_channel(stack, api, "slack", setup, ["negative_response"])
    teams, teams_path = add_channel(stack, api, "teams", setup, ["negative_response"])
    stored = answer(stack, api, setup, rating=1, comment=EVIL, improvement_areas=["speed"])
    response_id = stored["response"]["id"]
    case = case_of(stack, response_id)
    link = f"{stack.settings.public_url}/recovery#case-{case.id}"

    [s] = stack.hooks.wait_for(slack_path)
    text = slack_text(s.body)
    assert "Maria Lopez" in text and "1\u2605 of 5" in text and "Chat" in text
    assert ESCAPED in text
    assert (
        "<!channel>" not in s.raw.decode()
        and "<http://evil" not in s.raw.decode()
        and "<script>" not in s.raw.decode()
    )
    # The comment is plain_text: Slack neither formats nor links it.
    comment_blocks = [b for b in s.body["blocks"] if b.get("text", {}).get("text", "").startswith("\u201c")]
    assert comment_blocks and comment_blocks[0]["text"]["type"] == "plain_text"
    assert [e["url"] for b in s.body["blocks"] if b["type"] == "actions" for e in b["elements"]] == [link]
    assert "Speed of response" in text and "speed\n" not in text

    [t] = stack.hooks.wait_for(teams_path)
    card = t.body["attachments"][0]["content"]
    assert EVIL in card_text(t.body), "a TextRun carries the text as it is, never as markdown"
    assert all(block["type"] == "RichTextBlock" for block in card["body"])
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open the recovery case", "url": link}]
    assert_no_contact(s, t)

    for channel in (slack, teams):
        wait_status(stack, channel["id"], "sent")
        log = api.get(f"/api/v1/notification-channels/{channel['id']}/deliveries").json()["items"]
        assert [(d["event"], d["status"], d["attempts"], d["last_error"]) for d in log] == [
            ("negative_response", "sent", 1, None)
        ]
    assert not stack.hooks.refused


def test_shoutout_and_great_moment(stack: ChatStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    _, path = add_channel(stack, api, "slack", setup, ["shoutout", "great_moment"])
    _, teams_path = add_channel(stack, api, "teams", setup, ["great_moment"])
    stored = answer(stack, api, setup, rating=5, comment="Wonderful & quick", reward="gift_card")
    [great] = stack.hooks.wait_for(path)
    text = slack_text(great.body)
    assert "Great moment for Maria Lopez" in text and "Gift card" in text and "gift_card" not in text
    assert "Wonderful &amp; quick" in text
    [card] = stack.hooks.wait_for(teams_path)
    assert "Gift card" in card_text(card.body) and "Wonderful & quick" in card_text(card.body)

    admin = make_user(stack.db, stack.org.org_id, Role.admin)
    with stack.user_api(admin) as client:
        r = client.post(
            "/api/v1/shoutouts",
            json={
                "agent_id": setup.agent_id,
                "response_id": stored["response"]["id"],
                "message": "Thanks <@U123>!",
            },
        )
        assert r.status_code == 201, r.text
    _, shout = stack.hooks.wait_for(path, 2)
    text = slack_text(shout.body)
    assert "Shout-out for Maria Lopez" in text and "Thanks &lt;@U123&gt;!" in text and "From: admin" in text
    assert_no_contact(great, card, shout)


def test_scoped_by_account_and_team(stack: ChatStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    other = setup_for(stack)
    with stack.db.session() as s:
        team = Team(org_id=stack.org.org_id, account_id=setup.account_id, name="Tier 2")
        s.add(team)
        s.flush()
        other_team = team.id
    _, account_path = add_channel(stack, api, "slack", setup, ["negative_response"])
    _, team_path = add_channel(stack, api, "slack", setup, ["negative_response"], team_id=setup.team_id)
    _, elsewhere_path = add_channel(stack, api, "slack", setup, ["negative_response"], team_id=other_team)
    _, other_path = add_channel(stack, api, "slack", other, ["negative_response"])
    _, quiet_path = add_channel(stack, api, "slack", setup, ["shoutout"])
    answer(stack, api, setup, rating=1, comment="slow")
    stack.hooks.wait_for(account_path)
    stack.hooks.wait_for(team_path)
    # The other account's answer arrives at its own channel only; by then ours would have too.
    answer(stack, api, other, rating=1, comment="late")
    stack.hooks.wait_for(other_path)
    assert len(stack.hooks.at(account_path)) == 1 and len(stack.hooks.at(other_path)) == 1
    assert stack.hooks.at(elsewhere_path) == [] and stack.hooks.at(quiet_path) == []


def test_sla_breach_from_the_periodic_job_once_per_case(stack: ChatStack, api: httpx.Client) -> None:
    setup = setup_for(stack, recovery_sla_minutes=60)
    channel, path = add_channel(stack, api, "teams", setup, ["case_sla_breach"])
    fresh = case_of(stack, answer(stack, api, setup, rating=2, comment="meh")["response"]["id"])
    late = case_of(stack, answer(stack, api, setup, rating=1, comment="bad")["response"]["id"])
    with stack.db.session() as s:
        s.execute(
            update(RecoveryCase)
            .where(col(RecoveryCase.id) == late.id)
            .values(opened_at=utcnow() - timedelta(minutes=90))
        )
    [sla_job, _] = jobs.periodic(stack.db)
    for _ in range(2):
        asyncio.run(sla_job.run(utcnow()))
    [got] = stack.hooks.wait_for(path)
    text = card_text(got.body)
    assert "past its SLA" in text and "Maria Lopez" in text
    actions = got.body["attachments"][0]["content"]["actions"]
    assert actions[0]["url"].endswith(f"/recovery#case-{late.id}")
    wait_status(stack, channel["id"], "sent")
    assert len(channel_deliveries(stack.db, channel["id"])) == 1, f"case {fresh.id} is within its SLA"
    assert_no_contact(got)


def test_daily_digest_for_an_account(stack: ChatStack, api: httpx.Client) -> None:
    setup = setup_for(stack, time_zone="Europe/Berlin")
    channel, path = add_channel(stack, api, "slack", setup, ["daily_digest"])
    for rating, comment in ((5, "Brilliant help"), (4, ""), (1, EVIL)):
        answer(stack, api, setup, rating=rating, comment=comment)
    tz = zone("Europe/Berlin")
    today = utcnow().astimezone(tz).date()
    morning = datetime(today.year, today.month, today.day, 7, 30, tzinfo=tz) + timedelta(days=1)
    [_, digest_job] = jobs.periodic(stack.db)
    asyncio.run(digest_job.run(morning.astimezone(zone("UTC"))))
    asyncio.run(digest_job.run((morning + timedelta(minutes=15)).astimezone(zone("UTC"))))
    # Queued as due at the job's (future) morning: brought forward to now.
    assert make_due_now(stack.db, channel["id"]) == 1
    [got] = stack.hooks.wait_for(path)
    text = slack_text(got.body)
    assert "Daily digest: " in text and today.isoformat() in text
    assert "Responses: 3" in text and "Average rating: 3.33\u2605" in text
    assert "Negative responses: 1" in text and "Maria Lopez (3.3\u2605, 3)" in text
    assert "Open recovery cases: 1" in text
    # The best and worst response of the day, the customer's words escaped for Slack.
    assert "Best of the day: Maria Lopez, 5\u2605 of 5: \u201cBrilliant help\u201d" in text
    assert f"Worst of the day: Maria Lopez, 1\u2605 of 5: \u201c{ESCAPED}\u201d" in text
    assert "<script>" not in got.raw.decode()
    wait_status(stack, channel["id"], "sent")
    assert len(channel_deliveries(stack.db, channel["id"])) == 1
    assert_no_contact(got)
    # Before seven in the account's zone nothing is sent.
    asyncio.run(digest_job.run((morning - timedelta(hours=2)).astimezone(zone("UTC"))))
    assert len(channel_deliveries(stack.db, channel["id"])) == 1


def test_daily_digest_at_the_report_hour_without_hidden_comments(stack: ChatStack, api: httpx.Client) -> None:
    setup = setup_for(stack, time_zone="Asia/Tokyo", report_hour=18)
    channel, path = add_channel(stack, api, "teams", setup, ["daily_digest"])
    hidden = answer(stack, api, setup, rating=1, comment="Private words 0790")
    r = api.post(
        f"/api/v1/responses/{hidden['response']['id']}/moderation", json={"hidden": True, "reason": "abuse"}
    )
    assert r.status_code == 200, r.text
    tz = zone("Asia/Tokyo")
    today = utcnow().astimezone(tz).date()
    evening = datetime(today.year, today.month, today.day, 18, 5, tzinfo=tz) + timedelta(days=1)
    [_, digest_job] = jobs.periodic(stack.db)
    # Seven in the morning is no longer the hour: the account's report hour is.
    asyncio.run(digest_job.run((evening - timedelta(hours=11)).astimezone(zone("UTC"))))
    assert channel_deliveries(stack.db, channel["id"]) == []
    asyncio.run(digest_job.run(evening.astimezone(zone("UTC"))))
    assert make_due_now(stack.db, channel["id"]) == 1
    [got] = stack.hooks.wait_for(path)
    text = card_text(got.body)
    assert "Worst of the day: " in text and "Maria Lopez, 1\u2605 of 5" in text
    assert "Private words" not in got.raw.decode() and "0790" not in got.raw.decode()
    assert "Best of the day: " in text


# --- delivery --------------------------------------------------------------------------------------


def test_slack_429_is_retried_after_retry_after(stack: ChatStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    channel, path = add_channel(stack, api, "slack", setup, ["negative_response"])
    stack.hooks.rate_limit[path.rsplit("/", 1)[1]] = 1
    answer(stack, api, setup, rating=1, comment="again")
    stack.hooks.wait_for(path, timeout=TIMEOUT * 3)
    [sent] = wait_status(stack, channel["id"], "sent")
    assert sent.attempts == 2
    assert len(stack.hooks.at(path)) == 1


def test_a_refused_body_fails_without_retrying(stack: ChatStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    channel, path = add_channel(stack, api, "slack", setup, ["negative_response"])
    stack.hooks.invalid.add(path.rsplit("/", 1)[1])
    answer(stack, api, setup, rating=1, comment="refused")
    [failed] = wait_status(stack, channel["id"], "failed")
    assert failed.attempts == 1 and failed.last_error == "HTTP 400: invalid_payload"
    assert stack.hooks.at(path) == []
    # The stand-in refuses what Slack would: a body without blocks.
    bad = httpx.post(
        stack.receiver.url("slack", "x"), json={"text": "hi", "blocks": [{"type": "nope"}]}, timeout=TIMEOUT
    )
    assert (bad.status_code, bad.text) == (400, "invalid_payload")


def test_a_deleted_channel_gets_nothing_more(stack: ChatStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    channel, path = add_channel(stack, api, "slack", setup, ["negative_response"])
    # Slack keeps answering 429 until the channel is gone, so no retry can slip through first.
    stack.hooks.rate_limit[path.rsplit("/", 1)[1]] = 1000
    answer(stack, api, setup, rating=1, comment="deleted meanwhile")
    wait_until(
        lambda: any(
            d.attempts == 1 and d.status == "scheduled" for d in channel_deliveries(stack.db, channel["id"])
        ),
        timeout=TIMEOUT * 2,
    )
    assert api.delete(f"/api/v1/notification-channels/{channel['id']}").status_code == 204
    make_due_now(stack.db, channel["id"])
    [suppressed] = wait_status(stack, channel["id"], "suppressed")
    assert suppressed.last_error == "the notification channel was deleted"
    assert stack.hooks.at(path) == []


def test_a_slow_channel_holds_up_only_itself(stack: ChatStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    _, slow_path = add_channel(stack, api, "slack", setup, ["negative_response"])
    _, quick_path = add_channel(stack, api, "teams", setup, ["negative_response"])
    release = threading.Event()
    stack.hooks.hold[slow_path.rsplit("/", 1)[1]] = release
    try:
        answer(stack, api, setup, rating=1, comment="one")
        answer(stack, api, setup, rating=2, comment="two")
        stack.hooks.wait_for(quick_path, 2)
        assert stack.hooks.at(slow_path) == []
    finally:
        release.set()
    assert len(stack.hooks.wait_for(slow_path, 2)) == 2


def test_ingest_asks_for_channels_once_per_cache_period(stack: ChatStack, api: httpx.Client) -> None:
    """The receiver runs for every outbox event: the channels are read once per organization and
    cache period, and a change on this node is seen at once."""
    setup = setup_for(stack)
    engine = stack.server.app.state.ctx.db.engine
    asked: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The receiver's lookup (the scheduled jobs read every channel, with no such filter).
        if "WHERE notification_channels.org_id" in statement:
            asked.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        channels.forget(stack.org.org_id)
        started = time.monotonic()
        for rating in (1, 2, 5, 4):
            answer(stack, api, setup, rating=rating, comment="counted")
        # Once, or once more per cache period a slow machine took.
        assert 1 <= len(asked) <= 1 + int((time.monotonic() - started) / channels.ROUTES_TTL), asked
        _, path = add_channel(stack, api, "slack", setup, ["negative_response"])
        answer(stack, api, setup, rating=1, comment="seen at once")
        stack.hooks.wait_for(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_test_message(stack: ChatStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    channel, path = add_channel(stack, api, "teams", setup, ["daily_digest"])
    r = api.post(f"/api/v1/notification-channels/{channel['id']}/test")
    assert r.status_code == 202, r.text
    [got] = stack.hooks.wait_for(path)
    assert "Test message from streamsrv" in card_text(got.body)


def test_a_receiver_down_and_back_gets_every_message_once(stack: ChatStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    channel, path = add_channel(stack, api, "slack", setup, ["negative_response"])
    for n in range(3):
        answer(stack, api, setup, rating=1, comment=f"before-{n}")
    stack.hooks.wait_for(path, 3)
    stack.receiver.stop()
    try:
        for n in range(3):
            answer(stack, api, setup, rating=1, comment=f"during-{n}")
        wait_until(
            lambda: (
                sum(
                    1
                    for d in channel_deliveries(stack.db, channel["id"])
                    if d.attempts >= 1 and d.status == "scheduled"
                )
                == 3
            ),
            timeout=TIMEOUT * 2,
        )
    finally:
        stack.receiver.start()
    assert make_due_now(stack.db, channel["id"]) == 3
    got = stack.hooks.wait_for(path, 6)
    wait_status(stack, channel["id"], "sent", 6)
    comments = sorted(
        c
        for r in got
        for c in ("before-0", "before-1", "before-2", "during-0", "during-1", "during-2")
        if c in r.raw.decode()
    )
    assert comments == ["before-0", "before-1", "before-2", "during-0", "during-1", "during-2"]
    assert len(stack.hooks.at(path)) == 6


# --- the API -------------------------------------------------------------------------------------


def test_channel_api_masks_seals_and_validates(stack: ChatStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    channel, path = add_channel(stack, api, "slack", setup, ALL_EVENTS)
    secret = path.rsplit("/", 1)[1]
    assert secret not in str(channel) and channel["url_masked"].endswith(secret[-4:])
    with stack.db.session() as s:
        row = s.get(NotificationChannel, channel["id"])
        assert row is not None and secret not in row.url_sealed
    assert api.get(f"/api/v1/notification-channels/{channel['id']}").json() == channel
    assert channel["id"] in [c["id"] for c in api.get("/api/v1/notification-channels").json()["items"]]

    good = {
        "kind": "slack",
        "url": "https://hooks.slack.com/services/T/B/x",
        "account_id": setup.account_id,
        "events": ["shoutout"],
    }
    for bad, field in (
        ({"kind": "discord"}, "kind"),
        ({"events": ["everything"]}, "events"),
        ({"events": []}, "events"),
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "https://user:pw@hooks.example.com/x"}, "url"),
        ({"url": "https://hooks.example.com/" + "x" * 2000}, "url"),
        ({"account_id": 999_999}, "account_id"),
        ({"team_id": 999_999}, "team_id"),
    ):
        r = api.post("/api/v1/notification-channels", json={**good, **bad})
        assert r.status_code == 422, (bad, r.text)
        assert field in r.json()["error"]["fields"] or field in r.json()["error"]["message"], r.text
    with stack.db.session() as s:
        count = len(
            s.exec(
                select(NotificationChannel).where(NotificationChannel.account_id == setup.account_id)
            ).all()
        )
    assert count == 1, "a refused request stores nothing"

    r = api.patch(
        f"/api/v1/notification-channels/{channel['id']}", json={"events": ["shoutout"], "kind": "teams"}
    )
    assert r.status_code == 200 and r.json()["events"] == ["shoutout"] and r.json()["kind"] == "teams"
    assert (
        api.patch(f"/api/v1/notification-channels/{channel['id']}", json={"url": "gopher://x"}).status_code
        == 422
    )
    audit = api.get("/api/v1/audit-log").json()
    actions = [e["action"] for e in audit["items"] if e["target"] == f"notification_channel:{channel['id']}"]
    assert {"notification_channel.created", "notification_channel.updated"} <= set(actions)
    assert secret not in str(audit)
    assert api.delete(f"/api/v1/notification-channels/{channel['id']}").status_code == 204
    assert api.get(f"/api/v1/notification-channels/{channel['id']}").status_code == 404


def test_outbound_safety_refuses_private_targets() -> None:
    with pytest.raises(UnsafeTarget, match="https://"):
        check_url("http://hooks.example.com/x", allow_private=False)
    assert check_url("http://127.0.0.1:8080/x", allow_private=True) == "http://127.0.0.1:8080/x"
    assert (
        check_url("HTTPS://Hooks.Slack.com/services/x", allow_private=False)
        == "https://hooks.slack.com/services/x"
    )
    for address in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "0.0.0.0", "224.0.0.1"):
        with pytest.raises(UnsafeTarget, match="non-public"):
            asyncio.run(resolve_and_check(address, 443, allow_private=False))
    assert asyncio.run(resolve_and_check("127.0.0.1", 443, allow_private=True)) == ["127.0.0.1"]
