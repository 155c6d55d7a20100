"""The survey email's HTML and text, from Jinja2 templates under ``templates/email/``.

HTML is autoescaped (customer-facing text such as an agent's bio is never trusted), then its
``<style>`` block is inlined into ``style`` attributes with css-inline, because many mail
clients drop style blocks. Every visible string goes through ``_``: the ``gettext`` of the
email's language, given by the caller (identity until catalogues exist), with Jinja's new-style
``%(name)s`` placeholders, so the strings extract like any other template's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from streamsrv import locales
from streamsrv.models import Account, Agent, RequestKind
from streamsrv.paths import TEMPLATES_DIR

GetText = Callable[[str], str]
# The product's own blue (static/css/app.css --brand) when an account sets no colour.
DEFAULT_BRAND = "#2f5bea"
RATINGS = (1, 2, 3, 4, 5)


def identity(message: str) -> str:
    return message


def no_translations(locale: str) -> GetText:
    return identity


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class EmailAgent:
    name: str
    bio: str
    hobbies: list[str]
    # Absolute URL (mail clients have no base URL) or None.
    photo: str | None

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else self.name

    @property
    def initials(self) -> str:
        parts = [p for p in self.name.split() if p[:1].isalnum()]
        return ((parts[0][:1] + (parts[-1][:1] if len(parts) > 1 else "")) if parts else "?").upper()


def absolute(public_url: str, url: str | None) -> str | None:
    if not url:
        return None
    if url.startswith(("https://", "http://")):
        return url
    if url.startswith("/") and not url.startswith("//"):
        return public_url.rstrip("/") + url
    return None


def email_agent(agent: Agent, photo: str | None, public_url: str) -> EmailAgent:
    return EmailAgent(
        name=agent.name,
        bio=agent.bio,
        hobbies=[h for h in agent.hobbies if isinstance(h, str) and h.strip()],
        photo=absolute(public_url, photo),
    )


class Renderer:
    """One Jinja2 environment for all emails (compiled templates are cached in it)."""

    def __init__(self, directory: str | None = None) -> None:
        self.env = Environment(
            loader=FileSystemLoader(directory or str(TEMPLATES_DIR / "email")),
            # HTML is escaped; the plain-text part must not be (an "&" stays "&").
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def survey_request(
        self,
        *,
        account: Account,
        agent: EmailAgent,
        kind: str,
        survey_url: str,
        unsubscribe_url: str,
        locale: str,
        gettext: GetText | None = None,
        logo_url: str | None = None,
    ) -> RenderedEmail:
        """The email asking for feedback on ``agent`` (or, for a follow-up, on the recovery)."""
        translate = gettext or identity

        def _(message: str, **values: Any) -> str:
            text = translate(message)
            return text % values if values else text

        followup = kind == RequestKind.recovery_followup
        if followup:
            subject = _("How did we do at putting things right?")
        else:
            subject = _("How did %(name)s do?", name=agent.first_name)
        context: dict[str, Any] = {
            "_": _,
            "subject": subject,
            "followup": followup,
            "lang": locale,
            "dir": locales.direction(locale),
            "brand": account.brand_color or DEFAULT_BRAND,
            "account_name": account.name,
            "intro": account.survey_intro,
            "agent": agent,
            "stars": [(n, f"{survey_url}?rating={n}") for n in RATINGS],
            "survey_url": survey_url,
            "unsubscribe_url": unsubscribe_url,
            "footer": account.email_footer,
            "logo_url": logo_url,
        }
        html = self.env.get_template("survey_request.html").render(context)
        text = self.env.get_template("survey_request.txt").render(context)
        # No remote stylesheets: rendering must never wait on the network.
        inlined = css_inline.inline(html, load_remote_stylesheets=False, keep_at_rules=True)
        return RenderedEmail(subject, inlined, text)
