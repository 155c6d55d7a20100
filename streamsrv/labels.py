"""The words people read for the codes the system keeps: one module, used by every page, export,
email, chat message and stream event.

Codes (``gift_card``, ``follow_up``, ``in_store``, ``team_leader``) are for programs; a person
reads a label. Rewards and improvement areas are labelled from the account's own catalogue (its
``labels`` translation, else our translation of a built-in label, else the label as written);
channels, roles and statuses from the tables below. A code nobody labelled is humanised
(``night_shift`` -> "Night shift"), never shown raw.

Labels are translated by the ``Translator`` of the page (the survey's language for customers):
catalogue labels through the account's ``labels`` and the built-in translations, the tables below
through the catalogues where they hold the text. Staff pages, exports and staff messages are
English (``STAFF``): users have no language setting yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from babel.numbers import format_currency
from jinja2 import Environment
from sqlmodel import Session, col, select

from streamsrv.i18n import BUILT_IN_LABELS, Translator, translator
from streamsrv.models import Account

# What staff pages, exports and staff messages are written in.
STAFF: Translator = translator("en")

CHANNEL_LABELS: dict[str, str] = {
    "phone": "Phone",
    "email": "Email",
    "chat": "Chat",
    "sms": "SMS",
    "social": "Social media",
    "in_store": "In store",
    "delivery": "Delivery",
    "other": "Other",
}

ROLE_LABELS: dict[str, str] = {
    "admin": "Administrator",
    "manager": "Manager",
    "client_viewer": "Client viewer",
    "team_leader": "Team leader",
    "recovery": "Recovery",
    "agent": "Agent",
    "service": "Service key",
    "display": "Display",
}

# The kinds of coaching alert (the rules that raise them).
ALERT_KIND_LABELS: dict[str, str] = {
    "negative_rating": "Negative rating",
    "low_streak": "Low streak",
    "recurring_area": "Recurring issue",
    "great_moment": "Great moment",
}

# Statuses of requests, recovery cases, deliveries, webhooks and unmapped helpdesk events.
STATUS_LABELS: dict[str, str] = {
    "pending": "Pending",
    "responded": "Responded",
    "suppressed": "Suppressed",
    "open": "Open",
    "claimed": "Claimed",
    "resolved": "Resolved",
    "scheduled": "Scheduled",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "active": "Active",
    "disabled": "Disabled",
    "mapped": "Mapped",
}


def humanise(code: object) -> str:
    """The fallback for a code no table knows: ``night_shift`` -> "Night shift"."""
    text = " ".join(str(code or "").replace("_", " ").replace("-", " ").split())
    return text[:1].upper() + text[1:]


def _tr(label: str, translate: Translator | None) -> str:
    return (translate or STAFF).gettext(label)


def item_label(item: Mapping[str, Any], translate: Translator | None = None) -> str:
    """A catalogue entry's label (reward or improvement area): the account's translation for the
    language, else ours of a built-in label, else the label as the account wrote it, else the
    humanised code."""
    t = translate or STAFF
    labels = item.get("labels")
    if isinstance(labels, Mapping):
        translated = labels.get(t.locale)
        if isinstance(translated, str) and translated.strip():
            return translated
    label = str(item.get("label") or "").strip()
    if not label:
        return humanise(item.get("code"))
    return t.gettext(label) if label in BUILT_IN_LABELS else label


def catalogue_label(code: str, catalogue: Iterable[Any], translate: Translator | None = None) -> str:
    """The label of ``code`` in a catalogue (a reward catalogue or improvement areas)."""
    for item in catalogue:
        if isinstance(item, Mapping) and item.get("code") == code:
            return item_label(item, translate)
    return humanise(code)


def channel_label(code: str, translate: Translator | None = None) -> str:
    label = CHANNEL_LABELS.get(code)
    return humanise(code) if label is None else _tr(label, translate)


# The blended scorecard (streamsrv.scorecard): its components, why an agent has no score, and
# the agent's answer to a QA review.
SCORECARD_COMPONENT_LABELS: dict[str, str] = {
    "rating": "Customer rating",
    "csat": "CSAT",
    "nps": "NPS",
    "fcr": "First-contact resolution",
    "qa": "QA score",
}
SCORECARD_REASON_LABELS: dict[str, str] = {
    "not_enough_responses": "Not enough responses",
    "no_data": "No data for the weighted measures",
}
QA_STATUS_LABELS: dict[str, str] = {
    "pending": "Awaiting the agent",
    "acknowledged": "Acknowledged",
    "disputed": "Disputed",
}


def scorecard_component_label(code: str, translate: Translator | None = None) -> str:
    label = SCORECARD_COMPONENT_LABELS.get(str(code))
    return humanise(code) if label is None else _tr(label, translate)


def scorecard_reason_label(code: str, translate: Translator | None = None) -> str:
    label = SCORECARD_REASON_LABELS.get(str(code))
    return humanise(code) if label is None else _tr(label, translate)


def qa_status_label(code: str, translate: Translator | None = None) -> str:
    label = QA_STATUS_LABELS.get(str(code))
    return humanise(code) if label is None else _tr(label, translate)


def role_label(code: str, translate: Translator | None = None) -> str:
    label = ROLE_LABELS.get(str(code))
    return humanise(code) if label is None else _tr(label, translate)


def alert_kind_label(code: str, translate: Translator | None = None) -> str:
    label = ALERT_KIND_LABELS.get(str(code))
    return humanise(code) if label is None else _tr(label, translate)


def status_label(code: str, translate: Translator | None = None) -> str:
    label = STATUS_LABELS.get(str(code))
    return humanise(code) if label is None else _tr(label, translate)


@dataclass(frozen=True)
class Vocabulary:
    """One account's labels in one language: its rewards, its improvement areas, the channels."""

    rewards: Sequence[Any] = ()
    areas: Sequence[Any] = ()
    translate: Translator = field(default_factory=lambda: STAFF)

    def reward(self, code: str) -> str:
        return catalogue_label(code, self.rewards, self.translate)

    def area(self, code: str) -> str:
        return catalogue_label(code, self.areas, self.translate)

    def area_list(self, codes: Iterable[str]) -> list[str]:
        return [self.area(c) for c in codes]

    def channel(self, code: str) -> str:
        return channel_label(code, self.translate)

    def label_fields(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """The label fields for a response-shaped dict: each code stays, its label goes next to it
        (``reward_label``, ``improvement_area_labels``, ``channel_label``)."""
        out: dict[str, Any] = {}
        if "channel" in item:
            channel = item.get("channel")
            out["channel_label"] = self.channel(str(channel)) if channel else None
        if "reward" in item:
            reward = item.get("reward")
            out["reward_label"] = self.reward(str(reward)) if reward else None
        if "improvement_areas" in item:
            out["improvement_area_labels"] = self.area_list(
                str(a) for a in item.get("improvement_areas") or ()
            )
        return out

    def labelled(self, item: dict[str, Any]) -> dict[str, Any]:
        return {**item, **self.label_fields(item)}


def vocabulary(account: Account | None, translate: Translator | None = None) -> Vocabulary:
    """The labels of ``account`` (None: only channels and humanised codes)."""
    t = translate or STAFF
    if account is None:
        return Vocabulary(translate=t)
    return Vocabulary(list(account.reward_catalogue or ()), list(account.improvement_areas or ()), t)


def vocabularies(session: Session, account_ids: Iterable[int]) -> dict[int, Vocabulary]:
    """The labels of each of these accounts, in one query."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    found = session.exec(select(Account).where(col(Account.id).in_(ids))).all()
    return {a.id: vocabulary(a) for a in found if a.id is not None}


def format_datetime(
    value: datetime | str | None, time_zone: str = "UTC", translate: Translator | None = None
) -> str:
    """A moment in one language's medium format, in ``time_zone``, with the zone's offset: the one
    date format of every page (the ``when`` filter)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (translate or STAFF).format_datetime(value, time_zone)


def format_money(value: float | int | None, currency: str) -> str:
    """An amount as people read it on staff pages: ``$1,234.50``, ``€4.00`` (English, like the
    rest of the staff pages; static/js/labels.js ``money`` writes the same)."""
    if value is None:
        return ""
    return format_currency(value, currency, locale="en")


def install_filters(env: Environment) -> None:
    """The template filters of this module: ``channel_label``, ``role_label``, ``status_label``
    ``when`` (``{{ moment|when(account.time_zone) }}``) and ``money``
    (``{{ amount|money(currency) }}``), so templates never write a code or format a date or an
    amount themselves."""
    env.filters["channel_label"] = channel_label
    env.filters["role_label"] = role_label
    env.filters["status_label"] = status_label
    env.filters["humanise"] = humanise
    env.filters["when"] = format_datetime
    env.filters["money"] = format_money
    env.filters["scorecard_component_label"] = scorecard_component_label
    env.filters["scorecard_reason_label"] = scorecard_reason_label
    env.filters["qa_status_label"] = qa_status_label
