"""What customers read, in their language: gettext catalogues, choosing the language, dates.

The catalogues are kept as ``.po`` sources in ``streamsrv/locale/<lang>/LC_MESSAGES/messages.po``
and compiled in memory the first time a language is needed, so a checkout and an installed wheel
behave the same and there is no compiled file to forget to rebuild. English is the source
language: its text is the message id and needs no catalogue.

Pages never install translations into the shared Jinja2 environment (concurrent requests would
see each other's language); each render gets its own callables from ``Translator.callables``.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

from streamsrv import locales

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"
# Browsers send at most a handful of languages; a longer header is not worth parsing.
MAX_ACCEPT_LANGUAGES = 20


def N_(message: str) -> str:
    """Marks text for the catalogues where it is defined; it is translated where it is shown."""
    return message


# The labels of the reward catalogue and improvement areas every account starts with
# (streamsrv.models): accounts that keep them get them translated without writing ``labels``.
BUILT_IN_LABELS = frozenset(
    {
        N_("High five"),
        N_("Coffee"),
        N_("Lunch"),
        N_("Gift card"),
        N_("Speed of response"),
        N_("Product knowledge"),
        N_("Courtesy"),
        N_("Clear explanation"),
        N_("Solved my problem"),
        N_("Follow-up"),
    }
)


@cache
def _catalogue(locale: str) -> gettext.NullTranslations:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    # Fuzzy entries are guesses a translator has not confirmed: the English text is better.
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@dataclass(frozen=True)
class Translator:
    """One language's messages and formats.

    ``gettext``, ``ngettext``, ``pgettext`` and ``npgettext`` have the signatures of the
    standard library's, so a Translator can be handed to Jinja2's
    ``install_gettext_translations`` or its methods to ``install_gettext_callables``.
    """

    locale: str
    catalogue: gettext.NullTranslations

    @property
    def direction(self) -> str:
        return locales.direction(self.locale)

    def gettext(self, message: str) -> str:
        return self.catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalogue.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self.catalogue.pgettext(context, message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self.catalogue.npgettext(context, singular, plural, n)

    def callables(self) -> dict[str, Callable[..., str]]:
        """The names the i18n extension and ``_()`` look up, for one render's context."""
        return {
            "_": self.gettext,
            "gettext": self.gettext,
            "ngettext": self.ngettext,
            "pgettext": self.pgettext,
            "npgettext": self.npgettext,
        }

    def format_datetime(self, value: datetime, time_zone: str) -> str:
        """A moment as this language writes it, in the account's zone, with the zone's offset:
        customers read it on their own clock, so the offset says which clock it is."""
        zone = _zone(time_zone)
        local = value.astimezone(zone)
        pattern = Locale.parse(self.locale).datetime_formats["medium"]
        moment = (
            str(pattern)
            .replace("'", "")
            .format(
                format_time(local, "short", locale=self.locale),
                format_date(local, "medium", locale=self.locale),
            )
        )
        return f"{moment} ({format_datetime(local, 'ZZZZ', locale=self.locale)})"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        # Account settings are validated, but a zone can disappear from an older tz database.
        return ZoneInfo("UTC")


def translator(locale: str) -> Translator:
    """The translator for ``locale`` (``"es"``, ``"pt-BR"``); unsupported ones get English."""
    return _translator(locales.match(locale) or locales.DEFAULT)


@cache
def _translator(supported: str) -> Translator:
    # Keyed by supported language only, so arbitrary tags cannot grow the cache.
    return Translator(supported, _catalogue(supported))


def accepted_languages(header: str | None) -> list[str]:
    """The tags of an ``Accept-Language`` header, most wanted first; ``q=0`` means "not this"."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:MAX_ACCEPT_LANGUAGES]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().replace("_", "-")
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(
    interaction_locale: str | None, accept_language: str | None, account_default: str | None
) -> str:
    """The language to address a customer in.

    First the interaction's language (the helpdesk knew whom it served), then the browser's
    ``Accept-Language``, then the account's default, then English.
    """
    chosen = locales.match(interaction_locale)
    if chosen:
        return chosen
    preferred = accepted_languages(accept_language)
    found = negotiate_locale(preferred, list(locales.SUPPORTED), sep="-") if preferred else None
    return locales.match(found) or locales.match(account_default) or locales.DEFAULT


def install(env: Environment) -> None:
    """Enable ``{% trans %}`` and ``_()`` in templates, in English unless a render says otherwise."""
    env.add_extension("jinja2.ext.i18n")
    env.install_null_translations(newstyle=False)  # type: ignore[attr-defined]
