"""The worker's sender for deliveries of kind ``report_email``: the daily digest and the weekly
summary, read from the database and rendered when they are sent.

They go the way every email goes: the organization's SMTP server or the server's default, one
kept connection per server, temporary failures retried for a day (``streamsrv.deliveries``). A
recipient who is no longer active, no longer in the role, or no longer sees the account gets
nothing (suppressed); an address on the report account's suppression list gets nothing; a
bounce puts the address on that list, as survey emails do.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import css_inline
from sqlmodel import Session

from streamsrv.deliveries.queue import Job
from streamsrv.deliveries.worker import PermanentFailure, Suppressed
from streamsrv.mail import suppressions
from streamsrv.mail.account_email import Outgoing, StaffEmailSender, staff_message
from streamsrv.mail.message import BadAddress, check_address
from streamsrv.mail.render import DEFAULT_BRAND, RenderedEmail, Renderer
from streamsrv.mail.smtp import BOUNCED
from streamsrv.models import Account, DeliveryStatus, Role, SuppressionReason, User, utcnow
from streamsrv.reports import digest
from streamsrv.reports.jobs import DAILY, KIND, WEEKLY

PRODUCT = "streamsrv"
STAR = "\u2605"
# Where each report's button leads (relative to STREAMSRV_PUBLIC_URL).
DAILY_PATH = "/coach"
WEEKLY_PATH = "/dashboard"


def stars(rating: int) -> str:
    return f"{rating}{STAR} of 5"


def average(value: float | None) -> str:
    return f"{value:.2f}{STAR}" if value is not None else "\u2013"


def percent(value: float | None) -> str:
    return f"{value:.1f}%" if value is not None else "\u2013"


def signed(value: float | None, unit: str = "") -> str:
    """A change against the week before: ``+0.25``, ``\u22121.5``, ``\u00b10`` or a dash."""
    if value is None:
        return "\u2013"
    if value == 0:
        return f"\u00b10{unit}"
    number = f"{abs(value):.2f}".rstrip("0").rstrip(".")
    return f"{'+' if value > 0 else chr(0x2212)}{number}{unit}"


FILTERS: dict[str, Any] = {"stars": stars, "average": average, "percent": percent, "signed": signed}


def _render(renderer: Renderer, name: str, values: dict[str, Any]) -> RenderedEmail:
    context = {**FILTERS, **values, "product": PRODUCT, "brand": DEFAULT_BRAND}
    html = renderer.env.get_template(f"{name}.html").render(context)
    text = renderer.env.get_template(f"{name}.txt").render(context)
    # No remote stylesheets: rendering must never wait on the network.
    inlined = css_inline.inline(html, load_remote_stylesheets=False, keep_at_rules=True)
    return RenderedEmail(str(values["subject"]), inlined, text)


def render_daily(renderer: Renderer, report: digest.LeaderDigest, name: str, url: str) -> RenderedEmail:
    subject = f"Your teams yesterday: {report.responses} responses ({report.day.isoformat()})"
    return _render(renderer, "report_daily", {"subject": subject, "report": report, "name": name, "url": url})


def render_weekly(renderer: Renderer, report: digest.WeeklySummary, name: str, url: str) -> RenderedEmail:
    subject = (
        f"{report.account}: your week of {report.first_day.isoformat()} to {report.last_day.isoformat()}"
    )
    changes = {
        "responses": report.this_week.responses - report.week_before.responses,
        "average": digest.change(report.this_week.average, report.week_before.average),
        "csat": digest.change(report.this_week.csat, report.week_before.csat),
        "nps": digest.change(report.this_week.nps, report.week_before.nps),
        "fcr": digest.change(report.this_week.fcr, report.week_before.fcr),
    }
    values = {"subject": subject, "report": report, "changes": changes, "name": name, "url": url}
    return _render(renderer, "report_weekly", values)


class ReportEmailSender(StaffEmailSender):
    kind = KIND

    def _url(self, path: str) -> str:
        return self.settings.public_url.rstrip("/") + path

    def prepare(self, session: Session, job: Job) -> Outgoing:
        """The message to send now, or Suppressed / PermanentFailure saying why not."""
        report = job.payload.get("report")
        user = session.get(User, job.payload.get("user_id"))
        account = session.get(Account, job.payload.get("account_id"))
        if user is None or user.org_id != job.org_id or account is None or account.org_id != job.org_id:
            raise Suppressed("the recipient or the account no longer exists")
        if not user.active:
            raise Suppressed("the recipient's login is deactivated")
        try:
            to_address = check_address(user.email)
        except BadAddress as exc:
            raise PermanentFailure(f"{BOUNCED}{exc}") from None
        if suppressions.find(session, account.id or 0, to_address) is not None:
            raise Suppressed("the address is on the account's suppression list")
        name = user.name or user.email
        if report == DAILY:
            if user.role != Role.team_leader:
                raise Suppressed("the recipient no longer leads teams")
            found = digest.leader_digest(
                session, user.org_id, user.team_ids, date.fromisoformat(job.payload["day"])
            )
            if found is None:
                raise Suppressed("the recipient no longer leads any team")
            rendered = render_daily(self.renderer, found, name, self._url(DAILY_PATH))
        elif report == WEEKLY:
            if user.role != Role.client_viewer or account.id not in user.account_ids:
                raise Suppressed("the recipient no longer sees this account")
            summary = digest.weekly_summary(session, account, date.fromisoformat(job.payload["week"]))
            rendered = render_weekly(self.renderer, summary, name, self._url(WEEKLY_PATH))
        else:
            raise PermanentFailure(f"unknown report {report!r}")
        return staff_message(
            session,
            self.settings,
            self.sealer,
            job.org_id,
            rendered,
            to_address,
            user.name,
            f"report.{job.id}",
        )

    def after(self, session: Session, job: Job, status: str, error: str | None) -> None:
        """A bounce puts the address on the report account's list, committed with the failure."""
        if status != DeliveryStatus.failed or not error or not error.startswith(BOUNCED):
            return
        user = session.get(User, job.payload.get("user_id"))
        account = session.get(Account, job.payload.get("account_id"))
        if user is None or account is None or account.id is None or not user.email:
            return
        suppressions.add(
            session,
            org_id=account.org_id,
            account_id=account.id,
            email=user.email,
            reason=SuppressionReason.bounced,
            now=utcnow(),
        )
