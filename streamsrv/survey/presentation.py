"""How a survey link's pages look to the customer: language, logo, accent colour.

The survey, thank-you and closed-link pages of one link share this look. It is worked out inside
the page's database transaction (the logo's version is a query) and handed to the template as
plain values, with the page's own translation callables, so nothing about one customer's
language lives anywhere shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from streamsrv import branding, i18n
from streamsrv.models import Account, Interaction, RequestStatus
from streamsrv.survey.responses import Survey, find_request


@dataclass(frozen=True)
class Look:
    translator: i18n.Translator
    account_name: str | None = None
    logo: str | None = None
    stylesheet: str | None = None

    def values(self) -> dict[str, Any]:
        """Template values every survey page needs: ``lang``, ``text_direction``, brand, ``_``."""
        return {
            "lang": self.translator.locale,
            "text_direction": self.translator.direction,
            "brand_logo": self.logo,
            "brand_stylesheet": self.stylesheet,
            "brand_name": self.account_name,
            **self.translator.callables(),
        }


def account_look(
    session: Session, account: Account, interaction_locale: str | None, accept_language: str | None
) -> Look:
    locale = i18n.negotiate(interaction_locale, accept_language, account.default_locale)
    return Look(
        translator=i18n.translator(locale),
        account_name=account.name,
        logo=branding.logo_url(session, account),
        stylesheet=branding.brand_stylesheet(account.brand_color),
    )


def survey_look(session: Session, survey: Survey, accept_language: str | None) -> Look:
    return account_look(session, survey.account, survey.interaction.locale, accept_language)


def closed_look(session: Session, token: str, accept_language: str | None) -> Look:
    """The look of a link that cannot be answered: its account's when the link is real (expired,
    or answered and past the edit window), else only the browser's language."""
    request = find_request(session, token)
    if request is not None and request.nonce and request.status != RequestStatus.suppressed:
        account = session.get(Account, request.account_id)
        interaction = session.get(Interaction, request.interaction_id)
        if account is not None and interaction is not None:
            return account_look(session, account, interaction.locale, accept_language)
    return Look(translator=i18n.translator(i18n.negotiate(None, accept_language, None)))
