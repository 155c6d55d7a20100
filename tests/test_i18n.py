"""Customer pages in the customer's language: catalogues, negotiation, translated pages, dates.

The catalogue tests read the real ``.po`` files and extract the real marked texts, so a text added
to a page without a translation fails here rather than reaching a customer in English.
"""

from __future__ import annotations

import gettext
import tomllib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from jinja2 import Environment
from sqlmodel import select

from streamsrv import i18n, labels, locales
from streamsrv.db import Database
from streamsrv.models import DEFAULT_IMPROVEMENT_AREAS, DEFAULT_REWARDS, Interaction, Response, utcnow
from streamsrv.survey.presentation import Look
from tests.conftest import Tenant
from tests.reaching_support import customer, lang_of, link, post_rating
from tests.survey_support import csrf_of, interaction_body, make_setup

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [lang for lang in locales.SUPPORTED if lang != locales.DEFAULT]

# One text from each page, as the language's catalogue says it.
SURVEY_TEXT = {
    "en": "Send feedback",
    "es": "Enviar opinión",
    "fr": "Envoyer mon avis",
    "de": "Feedback senden",
    "pt": "Enviar avaliação",
}
THANKS_TEXT = {
    "en": "Thank you!",
    "es": "¡Gracias!",
    "fr": "Merci\u00a0!",
    "de": "Vielen Dank!",
    "pt": "Obrigado!",
}
CLOSED_TEXT = {
    "en": "This survey has closed",
    "es": "Esta encuesta ha finalizado",
    "fr": "Cette enquête est terminée",
    "de": "Diese Umfrage ist beendet",
    "pt": "Esta pesquisa foi encerrada",
}


def extracted_messages() -> set[str | tuple[str, str]]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: set[str | tuple[str, str]] = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


# --- Catalogues ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_translates_every_marked_text(lang: str) -> None:
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=lang)
    wanted = extracted_messages()
    assert wanted, "no marked texts were extracted"
    have = {m.id for m in catalog if m.id}
    missing = sorted(map(str, wanted - have))
    assert not missing, f"run scripts/catalogues.sh and translate: {missing}"
    assert not sorted(map(str, have - wanted)), "obsolete entries: run scripts/catalogues.sh"
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{lang}: untranslated {message.id!r}"
        assert not message.fuzzy, f"{lang}: fuzzy {message.id!r}"
    # Placeholders (%(name)s) must match the English text's, or formatting would fail at render.
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, problems


def test_catalogues_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["streamsrv"]
    package = ROOT / "streamsrv"
    shipped = {p for pattern in globs for p in package.glob(pattern)}
    for lang in TRANSLATED:
        assert package / "locale" / lang / "LC_MESSAGES" / "messages.po" in shipped


# --- The translator --------------------------------------------------------------------------------


def test_translator_for_each_language() -> None:
    for lang, text in SURVEY_TEXT.items():
        t = i18n.translator(lang)
        assert t.locale == lang and t.direction == "ltr"
        assert t.gettext("Send feedback") == text
    assert i18n.translator("pt-BR").locale == "pt"
    assert i18n.translator("es_419").gettext("Yes") == "Sí"
    # Anything unsupported speaks English rather than failing.
    assert i18n.translator("zz").locale == "en" and i18n.translator("").gettext("Yes") == "Yes"
    de = i18n.translator("de")
    assert de.ngettext("star", "stars", 1) == "Stern" and de.ngettext("star", "stars", 4) == "Sterne"
    fr = i18n.translator("fr")
    assert fr.ngettext("star", "stars", 0) == "étoile" and fr.ngettext("star", "stars", 2) == "étoiles"
    # No message has a context yet: a contextual lookup falls back to the English text.
    assert fr.pgettext("button", "Yes") == "Yes" and fr.npgettext("x", "star", "stars", 3) == "stars"


def test_translator_plugs_into_jinja2() -> None:
    """The email renderer installs a Translator in its own Jinja2 environment."""
    es = i18n.translator("es")
    source = (
        "{% trans name=n %}How would you rate {{ name }}?{% endtrans %} {{ ngettext('star', 'stars', 2) }}"
    )
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    env.install_gettext_translations(es, newstyle=True)  # type: ignore[attr-defined]
    assert env.from_string(source).render(n="Ana & Co") == "¿Cómo valoraría a Ana &amp; Co? estrellas"
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        es.gettext, es.ngettext, newstyle=True, pgettext=es.pgettext, npgettext=es.npgettext
    )
    assert env.from_string("{{ _('No reward') }}").render() == "Sin recompensa"


def test_right_to_left_ready() -> None:
    look = Look(translator=i18n.Translator("ar", gettext.NullTranslations()))
    assert look.values()["text_direction"] == "rtl" and look.values()["lang"] == "ar"
    assert locales.direction("he") == "rtl" and locales.direction("es") == "ltr"


def test_catalogue_labels() -> None:
    item = {"code": "tea", "label": "Tea break", "labels": {"es": "Un té", "fr": "  "}}
    assert labels.item_label(item, i18n.translator("es")) == "Un té"
    # A blank or missing translation falls back to the label itself.
    assert labels.item_label(item, i18n.translator("fr")) == "Tea break"
    assert labels.item_label({"code": "x", "label": "X"}, i18n.translator("de")) == "X"
    # The labels every account starts with come translated, unless the account says otherwise.
    assert labels.item_label({"code": "coffee", "label": "Coffee"}, i18n.translator("de")) == "Kaffee"
    coffee = {"code": "coffee", "label": "Coffee", "labels": {"es": "Un cafecito"}}
    assert labels.item_label(coffee, i18n.translator("es")) == "Un cafecito"
    assert labels.item_label({"code": "coffee", "label": "Coffee"}, i18n.translator("en")) == "Coffee"


def test_built_in_labels_are_the_model_defaults() -> None:
    defaults = {str(item["label"]) for item in [*DEFAULT_REWARDS, *DEFAULT_IMPROVEMENT_AREAS]}
    assert defaults == i18n.BUILT_IN_LABELS


def test_dates_in_the_language_and_the_account_zone() -> None:
    moment = datetime(2026, 11, 27, 13, 30, tzinfo=UTC)
    assert (
        i18n.translator("en").format_datetime(moment, "America/New_York")
        == "Nov 27, 2026, 8:30\u202fAM (GMT-05:00)"
    )
    assert i18n.translator("de").format_datetime(moment, "Europe/Berlin") == "27.11.2026, 14:30 (GMT+01:00)"
    assert i18n.translator("es").format_datetime(moment, "UTC") == "27 nov 2026, 13:30 (GMT+00:00)"
    assert i18n.translator("fr").format_datetime(moment, "No/Such_Zone").startswith("27 nov. 2026, 13:30")


# --- Negotiation -----------------------------------------------------------------------------------


def test_accept_language_parsing() -> None:
    assert i18n.accepted_languages("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5") == [
        "fr-CH",
        "fr",
        "en",
        "de",
    ]
    assert i18n.accepted_languages("de;q=0.2, es") == ["es", "de"]
    assert i18n.accepted_languages("en;q=0, pt_BR") == ["pt-BR"]
    assert i18n.accepted_languages("es;q=bogus, fr") == ["fr"]
    assert i18n.accepted_languages("") == [] and i18n.accepted_languages(None) == []


def test_negotiation_order() -> None:
    # The interaction's language first...
    assert i18n.negotiate("es", "de-DE,de;q=0.9", "fr") == "es"
    assert i18n.negotiate("pt-BR", None, "fr") == "pt"
    # ...then the browser's best supported language...
    assert i18n.negotiate(None, "de-CH, de;q=0.9, en;q=0.5", "fr") == "de"
    assert i18n.negotiate(None, "ja, pt-PT;q=0.8", "fr") == "pt"
    assert i18n.negotiate("xx", "es", "fr") == "es"
    # ...then the account's default, then English.
    assert i18n.negotiate(None, "ja, zh;q=0.9", "fr") == "fr"
    assert i18n.negotiate(None, None, "de") == "de"
    assert i18n.negotiate(None, None, None) == "en"


# --- The pages -------------------------------------------------------------------------------------


def test_pages_in_each_language(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    for lang in locales.SUPPORTED:
        body, path = link(tenant, setup, locale=lang)
        with customer(tenant) as client:
            page = client.get(path)
            assert page.status_code == 200
            assert lang_of(page) == (lang, "ltr")
            assert SURVEY_TEXT[lang] in page.text
            assert "accept-language" in page.headers["vary"].lower()
            sent = client.post(path, data={"csrf_token": csrf_of(page), "rating": "5"})
            assert sent.status_code == 303, sent.text
            thanks = client.get(f"{path}/thanks")
            assert lang_of(thanks) == (lang, "ltr") and THANKS_TEXT[lang] in thanks.text
            with db.session() as s:
                request = s.get(Interaction, body["interaction_id"])
                assert request is not None and request.locale == lang
        # The closed-link page of a known link speaks the link's language too.
        from streamsrv.models import FeedbackRequest

        with db.session() as s:
            row = s.get(FeedbackRequest, body["request"]["id"])
            assert row is not None
            row.expires_at = utcnow() - timedelta(seconds=1)
            s.add(row)
        with customer(tenant) as client:
            closed = client.get(path)
        assert closed.status_code == 410 and lang_of(closed) == (lang, "ltr")
        assert CLOSED_TEXT[lang] in closed.text


def test_accept_language_and_account_default(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id, default_locale="fr")
    _, path = link(tenant, setup)
    _, spanish_path = link(tenant, setup, locale="es")
    with customer(tenant, "de-AT, de;q=0.9, en;q=0.5") as client:
        assert lang_of(client.get(path))[0] == "de"
        # The helpdesk's language wins over the browser's.
        assert lang_of(client.get(spanish_path))[0] == "es"
    with customer(tenant, "ja, zh;q=0.8") as client:
        page = client.get(path)
        assert lang_of(page)[0] == "fr" and "Envoyer mon avis" in page.text
    with customer(tenant) as client:
        assert lang_of(client.get(path))[0] == "fr"
    # An unknown link has no account: the browser's language, else English.
    with customer(tenant, "pt-BR") as client:
        missing = client.get("/f/not-a-real-token")
        assert missing.status_code == 404 and lang_of(missing)[0] == "pt"
        assert "Este link não funciona" in missing.text


def test_translated_labels_errors_and_deadline(tenant: Tenant, db: Database) -> None:
    rewards = [
        {"code": "coffee", "label": "Coffee", "emoji": "\u2615", "value": 4, "labels": {"es": "Un café"}},
        {"code": "team_lunch", "label": "Team lunch", "emoji": "", "value": 15},
        {"code": "lunch", "label": "Lunch", "emoji": "", "value": 15},
    ]
    areas = [{"code": "speed", "label": "Speed of response", "labels": {"es": "Rapidez"}}]
    setup = make_setup(
        db,
        tenant.org_id,
        reward_catalogue=rewards,
        improvement_areas=areas,
        time_zone="America/Mexico_City",
        edit_window_hours=48,
    )
    body, path = link(tenant, setup, locale="es-MX")
    with customer(tenant) as client:
        page = client.get(path)
        assert "Un café" in page.text and "Team lunch" in page.text and "Almuerzo" in page.text
        assert "Rapidez" in page.text
        assert (
            "Coffee" not in page.text and "Speed of response" not in page.text and ">Lunch<" not in page.text
        )
        # Server-side errors are in the page's language, with their numbers filled in.
        refused = client.post(path, data={"csrf_token": csrf_of(page), "rating": "2", "reward": "coffee"})
        assert refused.status_code == 422
        assert "Solo se puede sugerir una recompensa con 4 o 5 estrellas." in refused.text
        assert post_rating(client, path, 3).status_code == 201
        again = client.get(path)
    with db.session() as s:
        row = s.exec(select(Response).where(Response.interaction_id == body["interaction_id"])).one()
    deadline = i18n.translator("es").format_datetime(
        row.created_at + timedelta(hours=48), "America/Mexico_City"
    )
    assert "(GMT-06:00)" in deadline
    assert f"Ya ha respondido. Puede modificar su respuesta hasta el {deadline}." in again.text


def test_interaction_locale_is_checked_and_stored(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    for bad in ("xx", "klingon", "e", "es-", "es es", "pt-BR-with-far-too-many-parts", 5):
        r = tenant.api.post("/api/v1/interactions", json=interaction_body(setup, locale=bad))
        assert r.status_code == 422, (bad, r.text)
        assert list(r.json()["error"]["fields"]) == ["locale"], r.text
    body, _ = link(tenant, setup, locale="pt_BR")
    ingested = tenant.api.post(
        "/api/v1/feedback", json={**interaction_body(setup, locale="de-AT"), "rating": 4}
    )
    assert ingested.status_code == 201, ingested.text
    with db.session() as s:
        stored = s.get(Interaction, body["interaction_id"])
        assert stored is not None and stored.locale == "pt-BR"
        from_ingest = s.get(Interaction, ingested.json()["response"]["interaction_id"])
        assert from_ingest is not None and from_ingest.locale == "de-AT"


def test_concurrent_pages_keep_their_own_language(tenant: Tenant, db: Database) -> None:
    """Each render gets its own translation callables: languages never leak between requests."""
    setup = make_setup(db, tenant.org_id)
    _, path = link(tenant, setup)
    wanted = ["es", "de", "fr", "pt", "en"] * 4

    def fetch(lang: str) -> tuple[str, str, bool]:
        with customer(tenant, lang) as client:
            page = client.get(path)
        return lang, lang_of(page)[0], SURVEY_TEXT[lang] in page.text

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(fetch, wanted))
    assert all(lang == got and found for lang, got, found in results), results
