"""``/admin/accounts``: the accounts' survey settings, rewards, improvement areas and alert rules.

Every value is checked by the schema the API uses (``AccountCreate`` / ``AccountUpdate``,
``AlertRulesIn``) and saved through the same feature functions (``streamsrv.org.accounts``,
``streamsrv.coaching.settings``), which check the caller's rights and write the audit log. A form
with mistakes comes back with a message next to each field and nothing stored.

Codes of new rewards and areas are made from their labels (``slug``); a row keeps its code once
it has one, so stored responses keep pointing at it.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv import branding, labels, locales, scorecard
from streamsrv.api.images import ALLOWED, sniff_image
from streamsrv.auth import Identity, user_identity
from streamsrv.coaching import settings as alert_settings
from streamsrv.coaching.schemas import AlertRulesIn
from streamsrv.errors import ApiError
from streamsrv.http import patch_changes
from streamsrv.ids import MAX_ID
from streamsrv.models import DEFAULT_IMPROVEMENT_AREAS, DEFAULT_REWARDS, Account, SendChannel, utcnow
from streamsrv.org import accounts
from streamsrv.org.common import get_in_org, require_org_admin, require_writer
from streamsrv.org.schemas import (
    ACCOUNT_NULLABLE,
    DEFAULT_CURRENCY,
    AccountCreate,
    AccountOut,
    AccountUpdate,
    PageQuery,
)
from streamsrv.pages.admin_forms import checked, csrf_ok, errors_of, expired, forbidden, posted, text
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.templating import error_page, render

PAGE = "/admin/accounts"
LOGO_FIELD = "logo"
MAX_ROWS = 40
ROW_KINDS = ("reward_catalogue", "improvement_areas")
ROW_FIELDS = {
    "reward_catalogue": ("code", "label", "value", "currency", "emoji"),
    "improvement_areas": ("code", "label"),
}
WEEKDAYS = (
    (1, "Monday"),
    (2, "Tuesday"),
    (3, "Wednesday"),
    (4, "Thursday"),
    (5, "Friday"),
    (6, "Saturday"),
    (7, "Sunday"),
)
LANGUAGES = {"en": "English", "es": "Español", "fr": "Français", "de": "Deutsch", "pt": "Português"}
CHANNELS = {
    SendChannel.email: "By email",
    SendChannel.none: "Not sent (links handed out by the contact center)",
}
# Scheduled reports (streamsrv.reports): the hour they go at and the weekly report's day.
REPORT_FIELDS = ("report_hour", "weekly_report_day")
REPORT_HOURS = tuple((h, f"{h:02d}:00") for h in range(24))
# Text and number inputs, named after the schema's fields.
SIMPLE = (
    "name",
    "negative_threshold",
    "suppression_days",
    "request_ttl_days",
    "edit_window_hours",
    "promo_code",
    "share_url",
    "leaderboard_min_responses",
    "recovery_sla_minutes",
    "send_channel",
    "send_delay_minutes",
    "sender_name",
    "reply_to",
    "email_footer",
    "default_locale",
    "time_zone",
    "brand_color",
    "survey_intro",
    "contact_retention_days",
    # --- statements (issue 13) ---
    "reward_cap_per_agent",
    # --- end statements ---
    *REPORT_FIELDS,
)
SWITCHES = ("ask_csat", "ask_nps", "ask_fcr", "agents_edit_profile")
ALERT_FIELDS = (
    "alert_rules-negative_rating-enabled",
    "alert_rules-low_streak-enabled",
    "alert_rules-low_streak-count",
    "alert_rules-recurring_area-enabled",
    "alert_rules-recurring_area-count",
    "alert_rules-recurring_area-days",
    "alert_rules-great_moment-enabled",
)


@cache
def time_zones() -> list[str]:
    return sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC")


def slug(label: str) -> str:
    """A code from a label: ``"Free coffee!"`` -> ``free_coffee`` (ASCII, at most 40 characters)."""
    ascii_ = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    code = re.sub(r"[^a-z0-9]+", "_", ascii_).strip("_")[:40].strip("_")
    return code or "item"


def unique_code(base: str, taken: set[str]) -> str:
    code, n = base, 2
    while code in taken:
        suffix = f"_{n}"
        code = base[: 40 - len(suffix)] + suffix
        n += 1
    taken.add(code)
    return code


@dataclass
class AccountForm:
    """What the form shows: the values as text, the rows, and the messages per field."""

    values: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]]
    errors: dict[str, str] = field(default_factory=dict)
    # Payload row index -> form row index, per catalogue (rows removed or blank are skipped).
    remap: dict[tuple[str, int], int] = field(default_factory=dict)

    def known(self) -> set[str]:
        names = set(SIMPLE) | set(SWITCHES) | {"send_window", "send_window-start", "send_window-end"}
        names |= {"send_window-days", "reward_catalogue", "improvement_areas"}
        for kind, rows in self.rows.items():
            for i, _ in enumerate(rows):
                names |= {f"{kind}-{i}-{name}" for name in ROW_FIELDS[kind] if name != "code"} | {
                    f"{kind}-{i}"
                }
        return names


def blank_row(kind: str, currency: str = DEFAULT_CURRENCY) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(ROW_FIELDS[kind], "")
    if kind == "reward_catalogue":
        # A new reward is in the catalogue's currency: an account's rewards use one.
        row["currency"] = currency
    row["remove"] = False
    return row


def form_of(account: dict[str, Any]) -> AccountForm:
    values: dict[str, Any] = {
        name: "" if account.get(name) is None else str(account[name]) for name in SIMPLE
    }
    values.update({name: bool(account.get(name)) for name in SWITCHES})
    window = account.get("send_window")
    values["send_window"] = window is not None
    window = window or {"start": "08:00", "end": "20:00", "days": [1, 2, 3, 4, 5]}
    values["send_window-start"] = window.get("start", "08:00")
    values["send_window-end"] = window.get("end", "20:00")
    values["send_window-days"] = {int(d) for d in window.get("days", [])}
    rows: dict[str, list[dict[str, Any]]] = {}
    for kind in ROW_KINDS:
        rows[kind] = []
        for item in account.get(kind) or []:
            row = blank_row(kind)
            row.update({k: "" if item.get(k) is None else str(item.get(k)) for k in ROW_FIELDS[kind]})
            if kind == "reward_catalogue" and not row["currency"]:
                row["currency"] = DEFAULT_CURRENCY
            rows[kind].append(row)
        rows[kind].append(blank_row(kind, _catalogue_currency(rows[kind])))
    return AccountForm(values, rows)


def _catalogue_currency(rows: list[dict[str, Any]]) -> str:
    return next((str(r["currency"]) for r in rows if r.get("currency")), DEFAULT_CURRENCY)


def new_account() -> dict[str, Any]:
    defaults = AccountCreate.model_construct(name="").model_dump()
    defaults.update(
        name="",
        reward_catalogue=[dict(r) for r in DEFAULT_REWARDS],
        improvement_areas=[dict(a) for a in DEFAULT_IMPROVEMENT_AREAS],
        send_window=None,
    )
    return defaults


def read_form(form: FormData) -> AccountForm:
    values: dict[str, Any] = {name: text(form, name) for name in SIMPLE}
    values.update({name: checked(form, name) for name in SWITCHES})
    values["send_window"] = checked(form, "send_window")
    values["send_window-start"] = text(form, "send_window-start", 10)
    values["send_window-end"] = text(form, "send_window-end", 10)
    values["send_window-days"] = {
        int(d)
        for d in form.getlist("send_window-days")
        if isinstance(d, str) and len(d) == 1 and d in "1234567"
    }
    rows: dict[str, list[dict[str, Any]]] = {}
    for kind in ROW_KINDS:
        rows[kind] = []
        for i in range(MAX_ROWS):
            if f"{kind}-{i}-label" not in form:
                break
            row: dict[str, Any] = {name: text(form, f"{kind}-{i}-{name}", 200) for name in ROW_FIELDS[kind]}
            row["remove"] = checked(form, f"{kind}-{i}-remove")
            rows[kind].append(row)
    return AccountForm(values, rows)


def payload_of(data: AccountForm, stored: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The JSON body the API would get for this form (codes made for new rows)."""
    body: dict[str, Any] = {}
    for name in SIMPLE:
        value = data.values[name]
        body[name] = None if value == "" and name in ACCOUNT_NULLABLE else value
    body.update({name: data.values[name] for name in SWITCHES})
    for name in REPORT_FIELDS:
        # A form without the reports block (an older page still open) keeps the stored values.
        if body[name] == "":
            del body[name]
    if data.values["send_window"]:
        body["send_window"] = {
            "start": data.values["send_window-start"],
            "end": data.values["send_window-end"],
            "days": sorted(data.values["send_window-days"]),
        }
    else:
        body["send_window"] = None
    for kind in ROW_KINDS:
        known = {str(item.get("code")): item for item in stored.get(kind, [])}
        kept = [
            (i, row)
            for i, row in enumerate(data.rows[kind])
            if not row["remove"] and (row["label"].strip() or row["code"] or (row.get("value") or "").strip())
        ]
        taken = {row["code"] for _, row in kept if row["code"]}
        items = []
        for n, (i, row) in enumerate(kept):
            data.remap[(kind, n)] = i
            code = row["code"] or unique_code(slug(row["label"]), taken)
            item: dict[str, Any] = {"code": code, "label": row["label"]}
            translations = known.get(code, {}).get("labels")
            if translations:
                item["labels"] = translations
            if kind == "reward_catalogue":
                item["value"] = row["value"].strip() or "0"
                item["currency"] = row["currency"]
                item["emoji"] = row["emoji"]
            items.append(item)
        body[kind] = items
    return body


def add_row(data: AccountForm, kind: str) -> None:
    if kind in data.rows and len(data.rows[kind]) < MAX_ROWS:
        data.rows[kind].append(blank_row(kind, _catalogue_currency(data.rows[kind])))


def alert_form(rules: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, settings in rules.items():
        for key, value in settings.items():
            values[f"alert_rules-{name}-{key}"] = value if isinstance(value, bool) else str(value)
    return values


def _number(value: str) -> int | str:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) <= 6 else value


def read_alerts(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    values = {
        name: checked(form, name) if name.endswith("-enabled") else text(form, name, 20)
        for name in ALERT_FIELDS
    }
    body: dict[str, Any] = {}
    for name, value in values.items():
        _, rule, key = name.split("-")
        body.setdefault(rule, {})[key] = value if isinstance(value, bool) else _number(value)
    return values, body


TITLES = {
    "name": "Name",
    "negative_threshold": "Negative ratings",
    "suppression_days": "Pause between surveys",
    "request_ttl_days": "Survey link lifetime",
    "edit_window_hours": "Time to change an answer",
    "promo_code": "Promo code",
    "share_url": "Review link",
    "leaderboard_min_responses": "Answers before boards",
    "recovery_sla_minutes": "Recovery deadline",
    "send_channel": "How surveys reach customers",
    "send_delay_minutes": "Send delay",
    "sender_name": "Sender name",
    "reply_to": "Reply-to address",
    "email_footer": "Email footer",
    "default_locale": "Default language",
    "time_zone": "Time zone",
    "brand_color": "Accent colour",
    "survey_intro": "Survey introduction",
    "contact_retention_days": "Keep contact details",
    # --- statements (issue 13) ---
    "reward_cap_per_agent": "Monthly cap per agent",
    # --- end statements ---
    "report_hour": "Report hour",
    "weekly_report_day": "Weekly summary day",
    "send_window": "Send window",
    "send_window-start": "Send window from",
    "send_window-end": "Send window until",
    "send_window-days": "Send window days",
    "reward_catalogue": "Rewards",
    "improvement_areas": "Improvement areas",
    "alert_rules-low_streak-count": "Low ratings in a row",
    "alert_rules-recurring_area-count": "Times the area is picked",
    "alert_rules-recurring_area-days": "Within (days)",
}
ROW_TITLES = {"label": "label", "value": "value", "currency": "currency", "emoji": "emoji", "code": "label"}


def titles(data: AccountForm) -> dict[str, str]:
    """Readable names of the fields, for the error summary (rows by their number, not code)."""
    out = dict(TITLES)
    for kind, rows in data.rows.items():
        noun = "Reward" if kind == "reward_catalogue" else "Area"
        for i, _ in enumerate(rows):
            out[f"{kind}-{i}"] = f"{noun} {i + 1}"
            for name in ROW_FIELDS[kind]:
                out[f"{kind}-{i}-{name}"] = f"{noun} {i + 1} {ROW_TITLES[name]}"
    return out


# --- views -------------------------------------------------------------------------------------


def _identity_or_refusal(request: Request, identity: Identity, org_wide: bool = False) -> Response | None:
    try:
        (require_org_admin if org_wide else require_writer)(identity)
    except ApiError:
        return forbidden(
            request,
            "Creating accounts needs an administrator of the whole organization."
            if org_wide
            else "Account settings are managed by administrators.",
        )
    return None


def _account_id(request: Request) -> int | None:
    value: int = request.path_params["account_id"]
    return value if 1 <= value <= MAX_ID else None


def render_account(
    request: Request,
    identity: Identity,
    account: dict[str, Any] | None,
    data: AccountForm,
    alerts: dict[str, Any] | None = None,
    alert_errors: dict[str, str] | None = None,
    status: int = 200,
    logo: str | None = None,
    logo_errors: dict[str, str] | None = None,
    scorecard: dict[str, str] | None = None,
    scorecard_errors: dict[str, str] | None = None,
) -> Response:
    context = {
        "logo": logo,
        "logo_errors": logo_errors or {},
        "scorecard": scorecard if scorecard is not None else scorecard_form(account),
        "scorecard_errors": scorecard_errors or {},
        "scorecard_components": SCORECARD_COMPONENTS,
        "scorecard_titles": SCORECARD_TITLES,
        "account": account,
        "form": data,
        "errors": data.errors,
        "alerts": alerts,
        "alert_errors": alert_errors or {},
        "time_zones": [(zone, zone.replace("_", " ")) for zone in time_zones()],
        "titles": titles(data),
        "languages": [(code, LANGUAGES.get(code, code)) for code in locales.SUPPORTED],
        "channels": list(CHANNELS.items()),
        "weekdays": WEEKDAYS,
        "report_hours": REPORT_HOURS,
        "saved": request.query_params.get("saved", "")
        in ("settings", "alerts", "created", "logo", "scorecard"),
        "saved_what": request.query_params.get("saved", ""),
        "org_wide": identity.org_wide,
    }
    return render(request, "admin_account.html", context, status=status)


async def list_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    identity = user_identity(user)
    refusal = _identity_or_refusal(request, identity)
    if refusal is not None:
        return refusal
    page = await load(request, lambda s: accounts.listing(s, identity, PageQuery(limit=500)))
    return render(request, "admin_accounts.html", {"accounts": page.items, "org_wide": identity.org_wide})


async def new_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE + "/new")
    identity = user_identity(user)
    refusal = _identity_or_refusal(request, identity, org_wide=True)
    if refusal is not None:
        return refusal
    return render_account(request, identity, None, form_of(new_account()))


async def create(request: Request) -> Response:
    checked_form = await posted(
        request, PAGE + "/new", lambda r, i: _identity_or_refusal(r, i, org_wide=True)
    )
    if isinstance(checked_form, Response):
        return checked_form
    identity, form = checked_form.identity, checked_form.form
    data = read_form(form)
    adding = text(form, "add", 40)
    if adding:
        add_row(data, adding)
        return render_account(request, identity, None, data)
    body = payload_of(data, new_account())
    try:
        made = AccountCreate.model_validate({k: v for k, v in body.items() if v is not None})
        out: AccountOut = await load(request, lambda s: accounts.create(s, identity, made))
    except (ValidationError, ApiError) as exc:
        data.errors = errors_of(exc, data.known(), data.remap)
        return render_account(request, identity, None, data, status=422)
    return RedirectResponse(f"{PAGE}/{out.id}?saved=created", status_code=303)


async def _load_account(request: Request, identity: Identity, account_id: int) -> AccountOut | Response:
    try:
        return await load(request, lambda s: accounts.get(s, identity, account_id))
    except ApiError:
        return error_page(request, 404, "Not found", "There is no such account.")


async def _posted_account(request: Request) -> tuple[Identity, FormData, int, AccountOut] | Response:
    """A posted account form: the login, CSRF and role checks, then the account it is about."""
    account_id = _account_id(request)
    checked_form = await posted(request, PAGE, _identity_or_refusal)
    if isinstance(checked_form, Response):
        return checked_form
    if account_id is None:
        return error_page(request, 404, "Not found", "There is no such account.")
    account = await _load_account(request, checked_form.identity, account_id)
    if isinstance(account, Response):
        return account
    return checked_form.identity, checked_form.form, account_id, account


async def _rules(request: Request, identity: Identity, account_id: int) -> dict[str, Any]:
    out = await load(request, lambda s: alert_settings.read_rules(s, identity, account_id))
    return out.alert_rules.model_dump(mode="json")


async def edit_page(request: Request) -> Response:
    account_id = _account_id(request)
    user = await current_user(request)
    if user is None:
        return to_login(f"{PAGE}/{request.path_params['account_id']}")
    identity = user_identity(user)
    refusal = _identity_or_refusal(request, identity)
    if refusal is not None:
        return refusal
    if account_id is None:
        return error_page(request, 404, "Not found", "There is no such account.")
    account = await _load_account(request, identity, account_id)
    if isinstance(account, Response):
        return account
    stored = account.model_dump(mode="json")
    rules = await _rules(request, identity, account_id)
    logo = await load(request, lambda s: branding.logo_url(s, account_id))
    return render_account(request, identity, stored, form_of(stored), alert_form(rules), logo=logo)


async def update(request: Request) -> Response:
    opened = await _posted_account(request)
    if isinstance(opened, Response):
        return opened
    identity, form, account_id, account = opened
    stored = account.model_dump(mode="json")
    rules = await _rules(request, identity, account_id)
    data = read_form(form)
    adding = text(form, "add", 40)
    if adding:
        add_row(data, adding)
        return render_account(request, identity, stored, data, alert_form(rules))
    body = payload_of(data, stored)
    try:
        changes = patch_changes(AccountUpdate.model_validate(body), ACCOUNT_NULLABLE)

        def save(session: Any) -> AccountOut:
            require_writer(identity, account_id)
            return accounts.update(session, identity, account_id, changes)

        await load(request, save)
    except (ValidationError, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.status == 404:
            return error_page(request, 404, "Not found", "There is no such account.")
        data.errors = errors_of(exc, data.known(), data.remap)
        return render_account(request, identity, stored, data, alert_form(rules), status=422)
    return RedirectResponse(f"{PAGE}/{account_id}?saved=settings", status_code=303)


async def update_alerts(request: Request) -> Response:
    opened = await _posted_account(request)
    if isinstance(opened, Response):
        return opened
    identity, form, account_id, account = opened
    values, body = read_alerts(form)
    try:
        rules = AlertRulesIn.model_validate(body)

        def save(session: Any) -> None:
            require_writer(identity, account_id)
            alert_settings.replace_rules(session, identity, account_id, rules)

        await load(request, save)
    except (ValidationError, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.status == 404:
            return error_page(request, 404, "Not found", "There is no such account.")
        errors = errors_of(exc, set(ALERT_FIELDS), prefix="alert_rules-")
        stored = account.model_dump(mode="json")
        return render_account(request, identity, stored, form_of(stored), values, errors, status=422)
    return RedirectResponse(f"{PAGE}/{account_id}?saved=alerts#alerts-title", status_code=303)


async def _read_logo(request: Request, limit: int) -> tuple[bool, bool, bytes]:
    """(CSRF token right, asked to remove, the file's bytes up to ``limit + 1``)."""
    async with request.form(max_files=1, max_fields=10, max_part_size=limit) as form:
        if not csrf_ok(request, form):
            return False, False, b""
        upload = form.get(LOGO_FIELD)
        data = await upload.read(limit + 1) if isinstance(upload, UploadFile) else b""
        return True, form.get("remove") == "1", data


async def update_logo(request: Request) -> Response:
    """Upload (multipart field ``logo``) or remove (``remove=1``) the account's logo, checked
    like the API's ``PUT /api/v1/accounts/{id}/logo``: by its first bytes, within the size limit."""
    account_id = _account_id(request)
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    limit = request.app.state.ctx.settings.max_upload_bytes
    token_ok, remove, data = await _read_logo(request, limit)
    if not token_ok:
        return expired(request)
    identity = user_identity(user)
    refusal = _identity_or_refusal(request, identity)
    if refusal is not None:
        return refusal
    if account_id is None:
        return error_page(request, 404, "Not found", "There is no such account.")
    account = await _load_account(request, identity, account_id)
    if isinstance(account, Response):
        return account
    media_type = sniff_image(data)
    problem = None
    if not remove:
        if not data:
            problem = "Choose an image file"
        elif len(data) > limit:
            problem = f"The image is larger than {limit // 1024} KB"
        elif media_type is None:
            problem = (
                f"Not a supported image: send one of {', '.join(t.split('/')[1].upper() for t in ALLOWED)}"
            )
    if problem is not None:
        stored = account.model_dump(mode="json")
        rules = await _rules(request, identity, account_id)
        logo = await load(request, lambda s: branding.logo_url(s, account_id))
        errors = {LOGO_FIELD: problem}
        return render_account(
            request,
            identity,
            stored,
            form_of(stored),
            alert_form(rules),
            status=422,
            logo=logo,
            logo_errors=errors,
        )

    def save(session: Any) -> None:
        require_writer(identity, account_id)
        row = get_in_org(session, Account, account_id, identity.org_id, "account")
        if remove:
            branding.delete_logo(session, row)
        else:
            assert media_type is not None
            branding.store_logo(session, row, media_type, data, utcnow())

    await load(request, save)
    return RedirectResponse(f"{PAGE}/{account_id}?saved=logo#logo-title", status_code=303)


# --- the blended scorecard's weights (a form of its own, like the alert rules) ------------------

SCORECARD_COMPONENTS = tuple((c, labels.scorecard_component_label(c)) for c in scorecard.COMPONENTS)
SCORECARD_FIELDS = (*(f"scorecard_weights-{c}" for c in scorecard.COMPONENTS), "scorecard_min_responses")
SCORECARD_TITLES = {
    "scorecard_weights": "Weights",
    "scorecard_min_responses": "Responses before a blended score",
    **{f"scorecard_weights-{c}": f"Weight of {label}" for c, label in SCORECARD_COMPONENTS},
}


def scorecard_form(account: dict[str, Any] | None) -> dict[str, str]:
    """The stored weights and minimum as the form's text values."""
    if account is None:
        return {}
    weights = scorecard.weights_of(account.get("scorecard_weights"))
    values = {f"scorecard_weights-{c}": str(weights[c]) for c in scorecard.COMPONENTS}
    values["scorecard_min_responses"] = str(
        account.get("scorecard_min_responses", scorecard.DEFAULT_MIN_RESPONSES)
    )
    return values


def read_scorecard(form: FormData) -> tuple[dict[str, str], dict[str, Any]]:
    """The form's values (as typed) and the API body they stand for; an empty weight is 0."""
    values = {name: text(form, name, 20) for name in SCORECARD_FIELDS}
    weights = {c: _number(values[f"scorecard_weights-{c}"] or "0") for c in scorecard.COMPONENTS}
    body = {
        "scorecard_weights": weights,
        "scorecard_min_responses": _number(values["scorecard_min_responses"]),
    }
    return values, body


async def update_scorecard(request: Request) -> Response:
    opened = await _posted_account(request)
    if isinstance(opened, Response):
        return opened
    identity, form, account_id, account = opened
    values, body = read_scorecard(form)
    try:
        changes = patch_changes(AccountUpdate.model_validate(body), ACCOUNT_NULLABLE)

        def save(session: Any) -> AccountOut:
            require_writer(identity, account_id)
            return accounts.update(session, identity, account_id, changes)

        await load(request, save)
    except (ValidationError, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.status == 404:
            return error_page(request, 404, "Not found", "There is no such account.")
        errors = errors_of(exc, {"scorecard_weights", *SCORECARD_FIELDS})
        stored = account.model_dump(mode="json")
        rules = await _rules(request, identity, account_id)
        return render_account(
            request,
            identity,
            stored,
            form_of(stored),
            alert_form(rules),
            status=422,
            scorecard=values,
            scorecard_errors=errors,
        )
    return RedirectResponse(f"{PAGE}/{account_id}?saved=scorecard#scorecard-title", status_code=303)


routes: list[BaseRoute] = [
    Route(PAGE, list_page, methods=["GET"], name="admin_accounts"),
    Route(PAGE, create, methods=["POST"], name="admin_accounts_create"),
    Route(PAGE + "/new", new_page, methods=["GET"], name="admin_accounts_new"),
    Route(PAGE + "/{account_id:int}", edit_page, methods=["GET"], name="admin_account"),
    Route(PAGE + "/{account_id:int}", update, methods=["POST"], name="admin_account_update"),
    Route(PAGE + "/{account_id:int}/alerts", update_alerts, methods=["POST"], name="admin_account_alerts"),
    Route(PAGE + "/{account_id:int}/logo", update_logo, methods=["POST"], name="admin_account_logo"),
    Route(
        PAGE + "/{account_id:int}/scorecard",
        update_scorecard,
        methods=["POST"],
        name="admin_account_scorecard",
    ),
]
