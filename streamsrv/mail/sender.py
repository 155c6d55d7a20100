"""The worker's sender for deliveries of kind ``email``: survey requests.

Everything is decided again at send time from the rows, not from the payload: the address may
have unsubscribed, the customer may have answered, the organization may have set its own SMTP
server since the email was scheduled. The survey link is derived from the request's nonce (it is
stored nowhere), the email rendered and handed to SMTP; the outcome is recorded by the worker,
and a bounce puts the address on the account's suppression list in that same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from sqlmodel import Session

from streamsrv import branding, locales
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.deliveries.queue import Job
from streamsrv.deliveries.worker import PermanentFailure, Sender, Suppressed
from streamsrv.mail import suppressions, unsubscribe
from streamsrv.mail.message import BadAddress, Envelope, build_message, check_address, default_from
from streamsrv.mail.render import GetText, Renderer, email_agent, no_translations
from streamsrv.mail.smtp import BOUNCED, Connections, SmtpTarget, email_sender, resolve
from streamsrv.mail.survey_email import ANSWERED, KIND
from streamsrv.models import (
    Account,
    Agent,
    DeliveryStatus,
    FeedbackRequest,
    Interaction,
    RequestStatus,
    SmtpSettings,
    SuppressionReason,
    utcnow,
)
from streamsrv.security.sealed import SMTP_CREDENTIALS, Sealer
from streamsrv.security.tokens import Signer
from streamsrv.survey.cards import agent_card
from streamsrv.survey.requests import link_token, survey_url

# The gettext of a language (``app.wire_senders`` plugs in the survey's catalogues).
Translations = Callable[[str], GetText]


@dataclass(frozen=True)
class Outgoing:
    target: SmtpTarget
    message: EmailMessage


def email_locale(interaction: Interaction, account: Account) -> str:
    return locales.match(interaction.locale) or locales.match(account.default_locale) or locales.DEFAULT


class SurveyEmailSender:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        signer: Signer,
        *,
        translations: Translations = no_translations,
        renderer: Renderer | None = None,
        connections: Connections | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.signer = signer
        self.sealer = Sealer(settings.secret_key, SMTP_CREDENTIALS)
        self.address_sealer = unsubscribe.address_sealer(settings.secret_key)
        self.translations = translations
        self.renderer = renderer or Renderer()
        self.connections = connections or Connections()

    def sender(self) -> Sender:
        return email_sender(KIND, self.send, self.after, self.connections)

    async def send(self, job: Job) -> None:
        outgoing = await self.db.run(lambda session: self.prepare(session, job))
        await self.connections.send(outgoing.target, outgoing.message)

    def prepare(self, session: Session, job: Job) -> Outgoing:
        """The message to send now, or Suppressed / PermanentFailure saying why not."""
        now = utcnow()
        request = session.get(FeedbackRequest, job.payload.get("request_id"))
        if request is None or request.org_id != job.org_id:
            raise PermanentFailure("the feedback request no longer exists")
        if request.status == RequestStatus.responded:
            raise Suppressed(ANSWERED)
        if request.status == RequestStatus.suppressed:
            raise Suppressed("the request was suppressed")
        if request.expires_at <= now:
            raise PermanentFailure("the survey link expired before the email could be sent")
        token = link_token(self.signer, request)
        if token is None or not request.customer_email:
            raise PermanentFailure("the request has no survey link or no address to send it to")
        try:
            to_address = check_address(request.customer_email)
        except BadAddress as exc:
            raise PermanentFailure(f"{BOUNCED}{exc}") from None
        account = session.get(Account, request.account_id)
        interaction = session.get(Interaction, request.interaction_id)
        agent = session.get(Agent, request.agent_id)
        if account is None or interaction is None or agent is None:
            raise PermanentFailure("the request's account, interaction or agent no longer exists")
        assert account.id is not None
        listed = suppressions.find(session, account.id, to_address)
        if listed is not None:
            raise Suppressed(f"the address is on the account's suppression list ({listed.reason})")
        own = session.get(SmtpSettings, account.org_id)
        target = resolve(own, self.settings.smtp_url, self.sealer)
        locale = email_locale(interaction, account)
        unsubscribe_url = unsubscribe.url_for(
            self.settings, unsubscribe.token_for(self.signer, self.address_sealer, request)
        )
        rendered = self.renderer.survey_request(
            account=account,
            agent=email_agent(agent, agent_card(session, agent).photo, self.settings.public_url),
            kind=request.kind,
            survey_url=survey_url(self.settings, token),
            unsubscribe_url=unsubscribe_url,
            locale=locale,
            gettext=self.translations(locale),
            logo_url=branding.logo_url(session, account, self.settings.public_url),
        )
        if own is not None:
            from_address = target.from_address
        else:
            from_address = (
                self.settings.smtp_from or target.from_address or default_from(self.settings.public_url)
            )
        envelope = Envelope(
            from_address=from_address,
            from_name=account.sender_name or target.from_name or account.name,
            to_address=to_address,
            to_name=interaction.customer_name,
            reply_to=account.reply_to,
            unsubscribe_url=unsubscribe_url,
            message_key=f"survey.{request.id}.{job.id}",
        )
        return Outgoing(target, build_message(rendered, envelope, now))

    def after(self, session: Session, job: Job, status: str, error: str | None) -> None:
        """A bounce puts the address on the account's list, committed with the failure."""
        if status != DeliveryStatus.failed or not error or not error.startswith(BOUNCED):
            return
        request = session.get(FeedbackRequest, job.payload.get("request_id"))
        if request is None or not request.customer_email:
            return
        suppressions.add(
            session,
            org_id=request.org_id,
            account_id=request.account_id,
            email=request.customer_email,
            reason=SuppressionReason.bounced,
            now=utcnow(),
        )
