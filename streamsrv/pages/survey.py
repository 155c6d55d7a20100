"""The customer's survey page: ``/f/{token}`` (GET shows, POST records) and its thank-you page.

Works without JavaScript: stars are a radio group, both the reward and the improvement sections
are shown with headings saying when they apply, and the server is the judge of every rule. A GET
never records anything, even with ``?rating=N`` (mail scanners and link previews follow links).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.context import AppContext
from streamsrv.errors import ApiError
from streamsrv.models import utcnow
from streamsrv.security import csrf
from streamsrv.survey.responses import Survey, SurveyClosed, ensure_editable, open_survey, save_survey
from streamsrv.survey.validation import (
    IMPROVEMENT_MAX_RATING,
    MAX_COMMENT,
    REWARD_MIN_RATING,
    ResponseIn,
    response_errors,
)
from streamsrv.templating import render

STARS: list[tuple[int, str]] = [(1, "Very poor"), (2, "Poor"), (3, "Okay"), (4, "Good"), (5, "Excellent")]
AVATAR_COLOURS = 6

# What the customer reads for each field, instead of a validator's wording.
FRIENDLY: dict[str, str] = {
    "rating": "Please choose a rating from 1 to 5 stars.",
    "comment": f"Please keep your comment to {MAX_COMMENT} characters or fewer.",
    "csat": "Please choose a satisfaction score from 1 to 5.",
    "nps": "Please choose a score from 0 to 10.",
    "fcr": "Please answer yes or no.",
}

CLOSED_TEXT: dict[int, tuple[str, str]] = {
    404: ("This link doesn't work", "Please check that you opened the whole link from your message."),
    410: ("This survey has closed", "The time to give feedback on this conversation is over. Thank you!"),
    409: ("Your answer is saved", "Thank you! Answers can only be changed for a short time after sending."),
}


@dataclass
class FormValues:
    """What the form shows: typed values on a failed submit, the stored answer when editing."""

    rating: int | None = None
    comment: str = ""
    reward: str | None = None
    improvement_areas: list[str] = field(default_factory=list)
    csat: int | None = None
    nps: int | None = None
    fcr: bool | None = None

    @classmethod
    def of(cls, survey: Survey) -> FormValues:
        r = survey.response
        if r is None:
            return cls()
        return cls(r.rating, r.comment, r.reward, list(r.improvement_areas), r.csat, r.nps, r.fcr)

    @classmethod
    def parse(cls, form: FormData) -> tuple[FormValues, dict[str, str]]:
        """Read the submitted form; returns what could be read and the per-field problems."""
        errors: dict[str, str] = {}

        def number(name: str, low: int, high: int) -> int | None:
            raw = str(form.get(name) or "").strip()
            if not raw:
                return None
            if raw.isascii() and raw.isdigit() and low <= int(raw) <= high:
                return int(raw)
            errors[name] = FRIENDLY[name]
            return None

        values = cls(
            rating=number("rating", 1, 5),
            # Browsers count a line break as one character in maxlength but send two (CRLF).
            comment=str(form.get("comment") or "").replace("\r\n", "\n"),
            reward=str(form.get("reward") or "") or None,
            improvement_areas=[str(v) for v in form.getlist("improvement_areas") if v],
            csat=number("csat", 1, 5),
            nps=number("nps", 0, 10),
            fcr={"yes": True, "no": False}.get(str(form.get("fcr") or "")),
        )
        if values.rating is None:
            errors.setdefault("rating", FRIENDLY["rating"])
        if str(form.get("fcr") or "") not in ("", "yes", "no"):
            errors["fcr"] = FRIENDLY["fcr"]
        return values, errors

    def answer(self, survey: Survey) -> tuple[ResponseIn | None, dict[str, str]]:
        """Validate against the survey's account: the same rules as the JSON API."""
        try:
            data = ResponseIn.model_validate(
                {
                    "rating": self.rating,
                    "comment": self.comment or None,
                    "reward": self.reward,
                    "improvement_areas": self.improvement_areas,
                    "csat": self.csat,
                    "nps": self.nps,
                    "fcr": self.fcr,
                }
            )
        except ValidationError as exc:
            names = {str(e["loc"][0]) for e in exc.errors(include_url=False) if e["loc"]} or {"rating"}
            return None, {n: FRIENDLY.get(n, "Please check this answer.") for n in names}
        errors = response_errors(data, survey.rules)
        if "reward" in errors and data.reward in survey.rules.rewards:
            errors["reward"] = f"A reward can only be suggested with {REWARD_MIN_RATING} or 5 stars."
        if "improvement_areas" in errors and set(data.improvement_areas) <= survey.rules.areas:
            errors["improvement_areas"] = (
                f"Areas to improve can only be chosen with 1 to {IMPROVEMENT_MAX_RATING} stars."
            )
        return (None, errors) if errors else (data, {})


def initials(name: str) -> str:
    parts = [p for p in name.split() if p[:1].isalnum()]
    letters = (parts[0][:1] + (parts[-1][:1] if len(parts) > 1 else "")) if parts else "?"
    return letters.upper()


def avatar_class(name: str) -> str:
    # A stable colour per agent without inline styles (the CSP forbids them).
    digest = hashlib.sha256(name.encode()).digest()
    return f"avatar-c{digest[0] % AVATAR_COLOURS}"


def survey_context(
    survey: Survey, values: FormValues, errors: dict[str, str], now: datetime
) -> dict[str, Any]:
    account = survey.account
    agent = survey.agent
    return {
        "token": survey.token,
        "account_name": account.name,
        "agent": {
            "name": agent.name,
            "bio": agent.bio,
            "hobbies": [h for h in agent.hobbies if isinstance(h, str) and h.strip()],
            "photo": survey.card.photo,
            "initials": initials(agent.name),
            "avatar_class": avatar_class(agent.name),
        },
        "stars": STARS,
        "rewards": account.reward_catalogue,
        "areas": account.improvement_areas,
        "ask_csat": account.ask_csat,
        "ask_nps": account.ask_nps,
        "ask_fcr": account.ask_fcr,
        "values": values,
        "errors": errors,
        "editing": survey.response is not None,
        "edit_deadline": survey.edit_deadline(),
        "max_comment": MAX_COMMENT,
        "reward_min": REWARD_MIN_RATING,
        "improve_max": IMPROVEMENT_MAX_RATING,
    }


def closed_page(request: Request, exc: ApiError) -> Response:
    title, message = CLOSED_TEXT.get(exc.status, ("Something is not right", exc.message))
    return render(
        request,
        "survey_gone.html",
        {"status": exc.status, "title": title, "message": message},
        status=exc.status,
    )


def preselected(request: Request) -> int | None:
    raw = request.query_params.get("rating", "")
    return int(raw) if raw in {"1", "2", "3", "4", "5"} else None


async def show_survey(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    token: str = request.path_params["token"]
    now = utcnow()

    def load(session: Session) -> Survey:
        survey = open_survey(session, token, now)
        ensure_editable(survey, now)
        return survey

    try:
        survey = await ctx.db.run(load)
    except SurveyClosed as exc:
        return closed_page(request, exc)
    values = FormValues.of(survey)
    values.rating = preselected(request) or values.rating
    return render(request, "survey.html", survey_context(survey, values, {}, now))


@dataclass
class Outcome:
    survey: Survey
    errors: dict[str, str]


async def submit_survey(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    token: str = request.path_params["token"]
    form = await request.form()
    try:
        values, form_errors = FormValues.parse(form)
        csrf_ok = csrf.verify(request, str(form.get(csrf.FIELD) or ""))
    finally:
        await form.close()
    now = utcnow()

    def record(session: Session) -> Outcome:
        survey = open_survey(session, token, now)
        ensure_editable(survey, now)
        if not csrf_ok or form_errors:
            return Outcome(survey, form_errors)
        data, errors = values.answer(survey)
        if data is None:
            return Outcome(survey, errors)
        save_survey(session, survey, data, source="survey", now=now)
        return Outcome(survey, {})

    try:
        outcome = await ctx.db.run(record)
    except SurveyClosed as exc:
        return closed_page(request, exc)
    if not csrf_ok:
        # Typically an expired or blocked cookie: show the form again (with a fresh token) rather
        # than losing what the customer typed.
        errors = {"form": "Your session timed out. Please check your answer and send it again."}
        return render(request, "survey.html", survey_context(outcome.survey, values, errors, now), status=403)
    if outcome.errors:
        context = survey_context(outcome.survey, values, outcome.errors, now)
        return render(request, "survey.html", context, status=422)
    return RedirectResponse(f"/f/{token}/thanks", status_code=303)


async def thanks(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    token: str = request.path_params["token"]
    now = utcnow()
    try:
        survey = await ctx.db.run(lambda session: open_survey(session, token, now))
    except SurveyClosed as exc:
        return closed_page(request, exc)
    response = survey.response
    if response is None:
        return RedirectResponse(f"/f/{token}", status_code=303)
    account = survey.account
    return render(
        request,
        "survey_thanks.html",
        {
            "token": token,
            "agent_name": survey.agent.name,
            "account_name": account.name,
            "rating": response.rating,
            "happy": response.rating >= REWARD_MIN_RATING,
            "share_url": account.share_url
            if (account.share_url or "").startswith(("https://", "http://"))
            else None,
            "promo_code": account.promo_code,
            "can_edit": survey.editable(now),
            "edit_deadline": survey.edit_deadline(),
        },
    )


routes: list[BaseRoute] = [
    Route("/f/{token}", show_survey, methods=["GET"], name="survey"),
    Route("/f/{token}", submit_survey, methods=["POST"], name="survey_submit"),
    Route("/f/{token}/thanks", thanks, methods=["GET"], name="survey_thanks"),
]
