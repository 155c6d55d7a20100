"""Input models for feedback collection and the checks that need the account's settings.

Two layers: pydantic models check shapes and bounds (strict ints, so ``"5"`` or ``true`` is never
a rating), and ``check_response`` checks a response against one account's survey: which optional
questions it asks, its reward catalogue and improvement areas, and which of those apply to the
chosen rating. Both raise ``ApiError(422)`` naming every offending field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator

from streamsrv import locales
from streamsrv.errors import ApiError
from streamsrv.http import parse_model
from streamsrv.ids import StrictId
from streamsrv.inputs import Instant
from streamsrv.models import Account, Channel, SendChannel

MAX_COMMENT = 2000
# Rewards are offered for great service, improvement areas after a poor one.
REWARD_MIN_RATING = 4
IMPROVEMENT_MAX_RATING = 3


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refusing it here keeps both backends identical (and no 500).
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


def web_link(value: str) -> str:
    """An http(s) URL shown as a link on the pages: any other scheme (javascript:) is refused."""
    value = value.strip()
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or any(c.isspace() for c in value):
        raise ValueError("must be an http:// or https:// URL")
    return value


WebLink = Annotated[Text, Field(max_length=500), AfterValidator(web_link)]


def customer_email(value: str) -> str:
    """A customer's address as stored: trimmed and in lower case (ValueError if it is none)."""
    value = value.strip().lower()
    local, at, domain = value.partition("@")
    # Survey emails go to it: an address no mail server could take is refused here.
    labels = domain.split(".")
    if not at or not local or len(labels) < 2 or not all(labels) or "@" in domain or " " in value:
        raise ValueError("is not an email address")
    return value


CustomerEmail = Annotated[Text, Field(max_length=254), AfterValidator(customer_email)]


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[Text, Field(max_length=254)] | None = None
    name: Annotated[Text, Field(max_length=200)] | None = None
    phone: Annotated[Text, Field(max_length=40)] | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return customer_email(value)

    @field_validator("name", "phone")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return (value.strip() or None) if value is not None else None


class ExternalAgentRef(BaseModel):
    """An agent named by a helpdesk's id for them, e.g. ``{"system": "zendesk", "id": "9123"}``."""

    model_config = ConfigDict(extra="forbid")

    # Restricted characters: the system name becomes a JSON path key in the lookup query.
    system: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$")]
    id: Annotated[Text, Field(min_length=1, max_length=200)]


class InteractionIn(BaseModel):
    """``POST /api/v1/interactions``: one service interaction that should be rated."""

    model_config = ConfigDict(extra="forbid")

    account_id: StrictId
    agent_id: StrictId | None = None
    agent_external_id: ExternalAgentRef | None = None
    channel: Channel
    external_id: Annotated[Text, Field(min_length=1, max_length=200)]
    customer: CustomerIn | None = None
    occurred_at: Instant | None = None
    source: Annotated[Text, Field(min_length=1, max_length=40)] | None = None
    # The customer's language ("es", "pt-BR"): the survey email is written in it.
    locale: (
        Annotated[str, Field(max_length=10, pattern=r"^\s*([A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*)?\s*$")]
        | None
    ) = None
    # The ticket in the helpdesk, linked from recovery cases, the dashboard and /coach.
    ticket_url: WebLink | None = None

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().replace("_", "-")
        if locales.match(value) is None:
            raise ValueError(f"unsupported language; use one of: {', '.join(locales.SUPPORTED)}")
        return value

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    def agent_fields(self) -> None:
        """Exactly one way of naming the agent must be used."""
        if (self.agent_id is None) == (self.agent_external_id is None):
            raise ApiError(
                422,
                "agent_id: give either agent_id or agent_external_id (exactly one)",
                fields={"agent_id": "give either agent_id or agent_external_id (exactly one)"},
            )


class InteractionCreate(InteractionIn):
    """``POST /api/v1/interactions``: an interaction, and how to ask this customer for feedback."""

    # "email": streamsrv emails the survey link; "none": the caller shows the link itself.
    # Default: the account's send_channel.
    send: SendChannel | None = None


class ResponseIn(BaseModel):
    """The customer's answer: ``POST /api/v1/responses/{token}`` and the survey form."""

    model_config = ConfigDict(extra="forbid")

    rating: Annotated[int, Field(strict=True, ge=1, le=5)]
    comment: Annotated[Text, Field(max_length=MAX_COMMENT)] | None = None
    reward: Annotated[Text, Field(max_length=40)] | None = None
    improvement_areas: Annotated[list[Annotated[Text, Field(max_length=40)]], Field(max_length=20)] = Field(
        default_factory=list
    )
    csat: Annotated[int, Field(strict=True, ge=1, le=5)] | None = None
    nps: Annotated[int, Field(strict=True, ge=0, le=10)] | None = None
    fcr: StrictBool | None = None

    @field_validator("improvement_areas")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("reward")
    @classmethod
    def _blank_reward(cls, value: str | None) -> str | None:
        return value or None


class FeedbackIn(InteractionIn, ResponseIn):
    """``POST /api/v1/feedback``: an interaction and its rating, collected elsewhere, in one call."""

    model_config = ConfigDict(extra="forbid")

    responded_at: Instant | None = None

    def response_part(self) -> ResponseIn:
        return ResponseIn.model_validate(self.model_dump(include=set(ResponseIn.model_fields)))


@dataclass(frozen=True)
class SurveyRules:
    """What one account's survey accepts; built from an ``Account`` row, or directly in tests."""

    rewards: frozenset[str]
    areas: frozenset[str]
    ask_csat: bool = False
    ask_nps: bool = False
    ask_fcr: bool = False

    @classmethod
    def of(cls, account: Account) -> SurveyRules:
        return cls(
            rewards=frozenset(str(r["code"]) for r in account.reward_catalogue),
            areas=frozenset(str(a["code"]) for a in account.improvement_areas),
            ask_csat=account.ask_csat,
            ask_nps=account.ask_nps,
            ask_fcr=account.ask_fcr,
        )


def response_errors(data: ResponseIn, rules: SurveyRules) -> dict[str, str]:
    """Every account-level problem with ``data``, by field name (empty when it is acceptable)."""
    errors: dict[str, str] = {}
    if data.reward is not None:
        if not rules.rewards:
            errors["reward"] = "this survey does not offer rewards"
        elif data.reward not in rules.rewards:
            errors["reward"] = (
                f"unknown reward '{data.reward}'; choose one of: {', '.join(sorted(rules.rewards))}"
            )
        elif data.rating < REWARD_MIN_RATING:
            errors["reward"] = f"a reward can only be suggested with a rating of {REWARD_MIN_RATING} or 5"
    if data.improvement_areas:
        unknown = [a for a in data.improvement_areas if a not in rules.areas]
        if unknown:
            errors["improvement_areas"] = (
                f"unknown improvement area '{unknown[0]}'; choose from: {', '.join(sorted(rules.areas))}"
            )
        elif data.rating > IMPROVEMENT_MAX_RATING:
            errors["improvement_areas"] = (
                f"improvement areas apply only to ratings of 1 to {IMPROVEMENT_MAX_RATING}"
            )
    for name, asked in (("csat", rules.ask_csat), ("nps", rules.ask_nps), ("fcr", rules.ask_fcr)):
        if getattr(data, name) is not None and not asked:
            errors[name] = "this survey does not ask this question"
    return errors


def check_response(data: ResponseIn, rules: SurveyRules) -> None:
    errors = response_errors(data, rules)
    if errors:
        first, message = next(iter(errors.items()))
        raise ApiError(422, f"invalid {first}: {message}", fields=errors)


def parse_response(raw: Any, rules: SurveyRules) -> ResponseIn:
    """Shape check then account check: the single entry point used by the API and tests."""
    data = parse_model(ResponseIn, raw)
    check_response(data, rules)
    return data
