"""The pure parts of survey emails: send times across daylight-saving changes, SMTP URLs and
failure classes, rendering and escaping, unsubscribe tokens, sealed passwords."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiosmtplib
import pytest

from streamsrv.deliveries.worker import PermanentFailure, TemporaryFailure
from streamsrv.mail.message import BadAddress, check_address, default_from
from streamsrv.mail.render import Renderer, email_agent
from streamsrv.mail.sendtime import send_time
from streamsrv.mail.smtp import BOUNCED, SmtpUrlError, classify, parse_smtp_url
from streamsrv.models import Account, Agent, SmtpSecurity
from streamsrv.security.sealed import Sealer, SealError

NY = "America/New_York"
BERLIN = "Europe/Berlin"
DAYTIME = {"start": "08:00", "end": "20:00", "days": [1, 2, 3, 4, 5, 6, 7]}
WEEKDAYS = {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_without_a_window_the_delay_alone_counts() -> None:
    occurred = utc(2026, 5, 4, 3, 0)
    assert send_time(occurred, 30, None, NY, occurred) == occurred + timedelta(minutes=30)


def test_never_in_the_past() -> None:
    now = utc(2026, 5, 4, 15, 0)  # 11:00 in New York, inside the window
    assert send_time(now - timedelta(days=3), 10, DAYTIME, NY, now) == now


def test_inside_the_window_it_is_sent_after_the_delay() -> None:
    occurred = utc(2026, 5, 4, 15, 0)  # 11:00 EDT
    assert send_time(occurred, 45, DAYTIME, NY, occurred) == utc(2026, 5, 4, 15, 45)


def test_the_window_opening_on_the_morning_the_clocks_go_forward() -> None:
    # Saturday 7 March 2026, 21:00 EST; New York moves to EDT at 2 am on Sunday 8 March.
    occurred = utc(2026, 3, 8, 2, 0)
    # 08:00 EDT (UTC-4) is 12:00 UTC; a fixed offset from the evening before would say 13:00.
    assert send_time(occurred, 0, DAYTIME, NY, occurred) == utc(2026, 3, 8, 12, 0)


def test_the_window_opening_on_the_morning_the_clocks_go_back() -> None:
    # Saturday 31 October 2026, 22:00 CEST (UTC+2); Berlin returns to CET on Sunday 25 October...
    # ... so use the real date: 24 October 22:00 CEST, clocks go back at 3 am on the 25th.
    occurred = utc(2026, 10, 24, 20, 0)
    # 08:00 CET (UTC+1) on Sunday 25 October is 07:00 UTC.
    assert send_time(occurred, 0, DAYTIME, BERLIN, occurred) == utc(2026, 10, 25, 7, 0)


def test_a_delay_that_crosses_the_change_keeps_wall_clock_hours() -> None:
    # Friday 6 March 2026, 19:30 EST, with a 12-hour delay: Saturday 07:30 EST is before the
    # window, so 08:00 EST on Saturday (13:00 UTC).
    occurred = utc(2026, 3, 7, 0, 30)
    assert send_time(occurred, 12 * 60, DAYTIME, NY, occurred) == utc(2026, 3, 7, 13, 0)


def test_weekday_windows_skip_the_weekend_across_the_change() -> None:
    # Friday 6 March 2026, 18:00 EST: after hours. Next weekday is Monday 9 March, already EDT.
    occurred = utc(2026, 3, 6, 23, 0)
    assert send_time(occurred, 0, WEEKDAYS, NY, occurred) == utc(2026, 3, 9, 13, 0)


def test_a_window_start_inside_the_skipped_hour_moves_past_the_gap() -> None:
    window = {"start": "02:30", "end": "05:00", "days": [7]}
    occurred = utc(2026, 3, 8, 5, 0)  # Sunday 00:00 EST
    assert send_time(occurred, 0, window, NY, occurred) == utc(2026, 3, 8, 7, 30)  # 03:30 EDT


@pytest.mark.parametrize(
    ("url", "host", "port", "security", "user", "password", "sender"),
    [
        ("smtp://127.0.0.1:2525", "127.0.0.1", 2525, SmtpSecurity.none, None, None, ""),
        (
            "smtp://apikey:p%40ss@smtp.sendgrid.net:587?starttls=true&from=noreply@acme.example",
            "smtp.sendgrid.net",
            587,
            SmtpSecurity.starttls,
            "apikey",
            "p@ss",
            "noreply@acme.example",
        ),
        ("smtp://relay.internal?starttls=true", "relay.internal", 587, SmtpSecurity.starttls, None, None, ""),
        ("smtps://u:p@smtp.example.com", "smtp.example.com", 465, SmtpSecurity.tls, "u", "p", ""),
        ("smtp://localhost", "localhost", 25, SmtpSecurity.none, None, None, ""),
    ],
)
def test_smtp_urls(
    url: str,
    host: str,
    port: int,
    security: SmtpSecurity,
    user: str | None,
    password: str | None,
    sender: str,
) -> None:
    target = parse_smtp_url(url)
    assert (target.host, target.port, target.security) == (host, port, security)
    assert (target.username, target.password, target.from_address) == (user, password, sender)
    assert "p@ss" not in repr(target), "the password stays out of logs"


@pytest.mark.parametrize("url", ["http://example.com", "smtp://", "smtp://host:99999"])
def test_unusable_smtp_urls(url: str) -> None:
    with pytest.raises(SmtpUrlError):
        parse_smtp_url(url)


def test_failure_classes() -> None:
    refused = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@b.c")]
    )
    bounce = classify(refused)
    assert isinstance(bounce, PermanentFailure) and str(bounce).startswith(BOUNCED + "550")
    deferred = classify(
        aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(452, "full", "a@b.c")])
    )
    assert isinstance(deferred, TemporaryFailure)
    assert isinstance(classify(aiosmtplib.SMTPDataError(451, "try later")), TemporaryFailure)
    data_refused = classify(aiosmtplib.SMTPDataError(554, "spam"))
    assert isinstance(data_refused, PermanentFailure) and not str(data_refused).startswith(BOUNCED)
    assert isinstance(classify(ConnectionRefusedError(111, "refused")), TemporaryFailure)
    assert isinstance(classify(aiosmtplib.SMTPConnectTimeoutError("slow")), TemporaryFailure)
    assert isinstance(classify(aiosmtplib.SMTPAuthenticationError(535, "bad login")), TemporaryFailure)


@pytest.mark.parametrize("address", ["a b@example.com", "@example.com", "x@localhost", "a@@example.com"])
def test_addresses_a_server_cannot_take(address: str) -> None:
    with pytest.raises(BadAddress):
        check_address(address)


def test_default_sender_address() -> None:
    assert default_from("https://feedback.acme.example") == "noreply@feedback.acme.example"
    assert default_from("http://127.0.0.1:8000") == "noreply@streamsrv.invalid"


def account(**values: object) -> Account:
    return Account(org_id=1, name="Acme <Retail>", **values)  # type: ignore[arg-type]


def agent(**values: object) -> Agent:
    base: dict[str, object] = {
        "org_id": 1,
        "account_id": 1,
        "team_id": 1,
        "name": "Maria Lopez",
        "bio": "Fixes <script>alert(1)</script> billing & more",
        "hobbies": ["jazz"],
    }
    return Agent(**(base | values))  # type: ignore[arg-type]


def render(kind: str = "initial", **values: object) -> tuple[str, str, str]:
    out = Renderer().survey_request(
        account=account(**values),
        agent=email_agent(agent(), "/media/agents/7/photo", "https://fb.example"),
        kind=kind,
        survey_url="https://fb.example/f/TOKEN",
        unsubscribe_url="https://fb.example/u/UNSUB",
        locale="en",
    )
    return out.subject, out.html, out.text


def test_html_is_escaped_and_text_is_not() -> None:
    subject, html, text = render()
    assert subject == "How did Maria do?"
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Acme &lt;Retail&gt;" in html
    assert "Fixes <script>alert(1)</script> billing & more" in text
    assert 'src="https://fb.example/media/agents/7/photo"' in html


def test_brand_colour_is_inlined() -> None:
    _, html, _ = render(brand_color="#0b5d1e")
    assert 'class="bar" style="background: #0b5d1e;' in html
    assert (
        'class="button" href="https://fb.example/f/TOKEN" style="display: inline-block;background: #0b5d1e;'
        in html
    )
    # Only the media query stays in a style block (clients that support it use it).
    head = html.split("</head>")[0]
    assert head.count("<style>") == 1 and "@media" in head and ".card {" not in head


def test_a_recovery_followup_asks_about_the_recovery() -> None:
    subject, html, text = render(kind="recovery_followup")
    assert subject == "How did we do at putting things right?"
    assert "You were helped by" not in html and "You were helped by" not in text
    assert "How did Maria do?" not in html


def test_strings_go_through_gettext() -> None:
    calls: list[str] = []

    def shout(message: str) -> str:
        calls.append(message)
        return "¡" + message

    out = Renderer().survey_request(
        account=account(),
        agent=email_agent(agent(), None, "https://fb.example"),
        kind="initial",
        survey_url="https://fb.example/f/T",
        unsubscribe_url="https://fb.example/u/U",
        locale="es",
        gettext=shout,
    )
    assert out.subject == "¡How did Maria do?"
    assert "¡Unsubscribe" in out.html and "¡Open the survey" in out.text
    assert {"How did %(name)s do?", "Unsubscribe", "You were helped by"} <= set(calls)


def test_sealed_passwords_need_the_same_secret_key() -> None:
    sealed = Sealer("key-one", "purpose").seal("hunter2")
    assert "hunter2" not in sealed
    assert Sealer("key-one", "purpose").unseal(sealed) == "hunter2"
    with pytest.raises(SealError):
        Sealer("key-two", "purpose").unseal(sealed)
    with pytest.raises(SealError):
        Sealer("key-one", "other purpose").unseal(sealed)
