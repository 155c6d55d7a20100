"""The customer's survey page: ``/f/{token}`` (GET shows, POST records) and its thank-you page.

Works without JavaScript: stars are a radio group, both the reward and the improvement sections
are shown with headings saying when they apply, and the server is the judge of every rule. A GET
never records anything, even with ``?rating=N`` (mail scanners and link previews follow links);
the page's script records that star once a browser shows the page (``POST /f/{token}/rating``).

Every text a customer reads is translated (``streamsrv.i18n``) into the link's language; texts
defined here are marked with ``N_`` and translated when a page is rendered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv import i18n, labels
from streamsrv.context import AppContext
from streamsrv.errors import ApiError, field_error
from streamsrv.i18n import N_, Translator
from streamsrv.models import utcnow
from streamsrv.recovery.contact import will_contact
from streamsrv.security import csrf
from streamsrv.survey.edit_limit import TooManyEdits, edit_limit
from streamsrv.survey.presentation import Look, closed_look, survey_look
from streamsrv.survey.quick import record_rating
from streamsrv.survey.responses import Survey, SurveyClosed, ensure_editable, open_survey, save_survey
from streamsrv.survey.txn import run_idempotent
from streamsrv.survey.validation import (
    IMPROVEMENT_MAX_RATING,
    MAX_COMMENT,
    REWARD_MIN_RATING,
    ResponseIn,
    response_errors,
)
from streamsrv.templating import render

STARS: list[tuple[int, str]] = [
    (1, N_("Very poor")),
    (2, N_("Poor")),
    (3, N_("Okay")),
    (4, N_("Good")),
    (5, N_("Excellent")),
]
AVATAR_COLOURS = 6
# The numbers that messages below refer to by name; every message is formatted with all of them.
LIMITS: dict[str, int] = {
    "max_comment": MAX_COMMENT,
    "reward_min": REWARD_MIN_RATING,
    "improve_max": IMPROVEMENT_MAX_RATING,
}

# What the customer reads for each field, instead of a validator's wording.
FRIENDLY: dict[str, str] = {
    "rating": N_("Please choose a rating from 1 to 5 stars."),
    "comment": N_("Please keep your comment to %(max_comment)s characters or fewer."),
    "csat": N_("Please choose a satisfaction score from 1 to 5."),
    "nps": N_("Please choose a score from 0 to 10."),
    "fcr": N_("Please answer yes or no."),
}
CHECK_ANSWER = N_("Please check this answer.")
REWARD_NEEDS_STARS = N_("A reward can only be suggested with %(reward_min)s or 5 stars.")
AREAS_NEED_STARS = N_("Areas to improve can only be chosen with 1 to %(improve_max)s stars.")
TIMED_OUT = N_("Your session timed out. Please check your answer and send it again.")

CLOSED_TEXT: dict[int, tuple[str, str]] = {
    404: (N_("This link doesn't work"), N_("Please check that you opened the whole link from your message.")),
    410: (
        N_("This survey has closed"),
        N_("The time to give feedback on this conversation is over. Thank you!"),
    ),
    409: (
        N_("Your answer is saved"),
        N_("Thank you! Answers can only be changed for a short time after sending."),
    ),
    429: (
        N_("Please wait a moment"),
        N_("Your answer has been changed many times in a short while. Please try again in a minute."),
    ),
}
# The server is at its capacity (streamsrv.admission): nothing was recorded.
BUSY_TEXT = (
    N_("We are very busy right now"),
    N_("Your answer has not been sent yet. Please go back and send it again in a moment."),
)


def say(t: Translator, message: str) -> str:
    """A message of this module in the page's language, with its numbers filled in."""
    return t.gettext(message) % LIMITS


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
            return None, {n: FRIENDLY.get(n, CHECK_ANSWER) for n in names}
        # The customer reads these; the API's wording (with codes and lists) is for developers.
        errors = {name: CHECK_ANSWER for name in response_errors(data, survey.rules)}
        if "reward" in errors and data.reward in survey.rules.rewards:
            errors["reward"] = REWARD_NEEDS_STARS
        if "improvement_areas" in errors and set(data.improvement_areas) <= survey.rules.areas:
            errors["improvement_areas"] = AREAS_NEED_STARS
        return (None, errors) if errors else (data, {})


def initials(name: str) -> str:
    parts = [p for p in name.split() if p[:1].isalnum()]
    letters = (parts[0][:1] + (parts[-1][:1] if len(parts) > 1 else "")) if parts else "?"
    return letters.upper()


def avatar_class(name: str) -> str:
    # A stable colour per agent without inline styles (the CSP forbids them).
    digest = hashlib.sha256(name.encode()).digest()
    return f"avatar-c{digest[0] % AVATAR_COLOURS}"


def star(raw: str) -> int | None:
    """A rating from a link or a script: exactly one of the digits 1-5, nothing else."""
    return int(raw) if raw in {"1", "2", "3", "4", "5"} else None


@dataclass(frozen=True)
class QuickRating:
    """The star of a one-click link: recorded already (the stored answer has it), or to be
    posted by the page's script once a browser shows the page."""

    rating: int | None = None
    recorded: bool = False

    @classmethod
    def of(cls, request: Request, survey: Survey) -> QuickRating:
        rating = star(request.query_params.get("rating", ""))
        if rating is None:
            return cls()
        return cls(rating, survey.response is not None and survey.response.rating == rating)


def survey_context(
    survey: Survey, values: FormValues, errors: dict[str, str], look: Look, quick: QuickRating | None = None
) -> dict[str, Any]:
    account = survey.account
    agent = survey.agent
    t = look.translator
    deadline = survey.edit_deadline()
    quick = quick or QuickRating()
    return {
        **look.values(),
        "token": survey.token,
        "account_name": account.name,
        "followup": survey.followup,
        "intro": account.survey_intro.strip(),
        "agent": {
            "name": agent.name,
            "bio": agent.bio,
            "hobbies": [h for h in agent.hobbies if isinstance(h, str) and h.strip()],
            "photo": survey.card.photo,
            "initials": initials(agent.name),
            "avatar_class": avatar_class(agent.name),
        },
        "stars": [(value, t.gettext(label)) for value, label in STARS],
        "rewards": []
        if survey.followup
        else [dict(item, label=labels.item_label(item, t)) for item in account.reward_catalogue],
        "areas": [dict(area, label=labels.item_label(area, t)) for area in account.improvement_areas],
        "ask_csat": account.ask_csat,
        "ask_nps": account.ask_nps,
        "ask_fcr": account.ask_fcr,
        "values": values,
        "errors": {name: say(t, message) for name, message in errors.items()},
        "editing": survey.response is not None and not quick.recorded,
        "edit_deadline": t.format_datetime(deadline, account.time_zone) if deadline else None,
        "quick": quick,
        "max_comment": MAX_COMMENT,
        "reward_min": REWARD_MIN_RATING,
        "improve_max": IMPROVEMENT_MAX_RATING,
    }


def closed_page(request: Request, exc: ApiError, look: Look) -> Response:
    t = look.translator
    title, message = CLOSED_TEXT.get(exc.status, (N_("Something is not right"), exc.message))
    return page(
        request,
        "survey_gone.html",
        {**look.values(), "status": exc.status, "title": t.gettext(title), "message": t.gettext(message)},
        status=exc.status,
    )


def busy_page(request: Request, retry_after: int) -> Response:
    """The answer to a survey form refused at capacity: readable, translated, and without any
    database query (the database is what is busy)."""
    t = i18n.translator(i18n.negotiate(None, request.headers.get("accept-language"), None))
    title, message = BUSY_TEXT
    response = page(
        request,
        "survey_gone.html",
        {
            **Look(translator=t).values(),
            "status": 503,
            "title": t.gettext(title),
            "message": t.gettext(message),
        },
        status=503,
    )
    response.headers["retry-after"] = str(retry_after)
    return response


async def show_closed(request: Request, exc: ApiError) -> Response:
    ctx: AppContext = request.app.state.ctx
    token: str = request.path_params["token"]
    accept = request.headers.get("accept-language")
    look = await ctx.db.run(lambda session: closed_look(session, token, accept))
    response = closed_page(request, exc, look)
    response.headers.update(exc.headers)
    return response


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    response = render(request, name, context, status=status)
    # The language may come from the browser's Accept-Language.
    response.headers["vary"] = "Accept-Language"
    return response


@dataclass
class Loaded:
    survey: Survey
    look: Look


async def show_survey(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    token: str = request.path_params["token"]
    accept = request.headers.get("accept-language")
    now = utcnow()

    def load(session: Session) -> Loaded:
        survey = open_survey(session, token, now)
        ensure_editable(survey, now)
        return Loaded(survey, survey_look(session, survey, accept))

    try:
        loaded = await ctx.db.run(load)
    except SurveyClosed as exc:
        return await show_closed(request, exc)
    survey = loaded.survey
    quick = QuickRating.of(request, survey)
    values = FormValues.of(survey)
    values.rating = quick.rating or values.rating
    return page(request, "survey.html", survey_context(survey, values, {}, loaded.look, quick))


@dataclass
class Outcome:
    survey: Survey
    look: Look
    errors: dict[str, str]


async def submit_survey(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    token: str = request.path_params["token"]
    accept = request.headers.get("accept-language")
    form = await request.form()
    try:
        values, form_errors = FormValues.parse(form)
        csrf_ok = csrf.verify(request, str(form.get(csrf.FIELD) or ""))
    finally:
        await form.close()
    if csrf_ok and not form_errors:
        try:
            await edit_limit(ctx).check(token)
        except TooManyEdits as exc:
            return await show_closed(request, exc)
    now = utcnow()

    def record(session: Session) -> Outcome:
        survey = open_survey(session, token, now)
        ensure_editable(survey, now)
        look = survey_look(session, survey, accept)
        if not csrf_ok or form_errors:
            return Outcome(survey, look, form_errors)
        data, errors = values.answer(survey)
        if data is None:
            return Outcome(survey, look, errors)
        save_survey(session, survey, data, source="survey", now=now)
        return Outcome(survey, look, {})

    try:
        outcome = await ctx.db.run(record)
    except SurveyClosed as exc:
        return await show_closed(request, exc)
    if not csrf_ok:
        # Typically an expired or blocked cookie: show the form again (with a fresh token) rather
        # than losing what the customer typed.
        context = survey_context(outcome.survey, values, {"form": TIMED_OUT}, outcome.look)
        return page(request, "survey.html", context, status=403)
    if outcome.errors:
        context = survey_context(outcome.survey, values, outcome.errors, outcome.look)
        return page(request, "survey.html", context, status=422)
    return RedirectResponse(f"/f/{token}/thanks", status_code=303)


async def submit_rating(request: Request) -> Response:
    """``POST /f/{token}/rating``: the star of a one-click link, posted by the page's script.

    Form fields ``rating`` and ``csrf_token``; answers JSON. The same star as the stored one
    changes nothing; errors are the API's JSON errors (404, 409, 410, 403, 422).
    """
    ctx: AppContext = request.app.state.ctx
    token: str = request.path_params["token"]
    form = await request.form()
    try:
        raw = str(form.get("rating") or "")
        csrf_ok = csrf.verify(request, str(form.get(csrf.FIELD) or ""))
    finally:
        await form.close()
    if not csrf_ok:
        raise ApiError(403, "the page's csrf_token is missing or does not match its cookie", code="forbidden")
    rating = star(raw)
    if rating is None:
        raise field_error("rating", "must be a whole number of stars from 1 to 5")
    await edit_limit(ctx).check(token)
    now = utcnow()
    # Two tabs opened from one email race to create the answer; the loser becomes a no-op.
    outcome = await run_idempotent(ctx.db, lambda session: record_rating(session, token, rating, now))
    return JSONResponse(
        {"rating": rating, "created": outcome.created, "changed": outcome.changed},
        status_code=201 if outcome.created else 200,
        headers={"cache-control": "no-store"},
    )


@dataclass
class Thanks:
    survey: Survey
    look: Look
    # May the page say that someone will be in touch (streamsrv.recovery.contact)?
    contact: bool


async def thanks(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    token: str = request.path_params["token"]
    accept = request.headers.get("accept-language")
    now = utcnow()

    def load(session: Session) -> Thanks:
        survey = open_survey(session, token, now)
        look = survey_look(session, survey, accept)
        response = survey.response
        contact = response is not None and will_contact(session, survey.account, survey.request, response)
        return Thanks(survey, look, contact)

    try:
        loaded = await ctx.db.run(load)
    except SurveyClosed as exc:
        return await show_closed(request, exc)
    survey = loaded.survey
    response = survey.response
    if response is None:
        return RedirectResponse(f"/f/{token}", status_code=303)
    account = survey.account
    t = loaded.look.translator
    deadline = survey.edit_deadline()
    return page(
        request,
        "survey_thanks.html",
        {
            **loaded.look.values(),
            "token": token,
            "agent_name": survey.agent.name,
            "account_name": account.name,
            "followup": survey.followup,
            "rating": response.rating,
            "happy": response.rating >= REWARD_MIN_RATING,
            "contact": loaded.contact,
            "share_url": account.share_url
            if (account.share_url or "").startswith(("https://", "http://"))
            else None,
            "promo_code": account.promo_code,
            "can_edit": survey.editable(now),
            "edit_deadline": t.format_datetime(deadline, account.time_zone) if deadline else None,
        },
    )


routes: list[BaseRoute] = [
    Route("/f/{token}", show_survey, methods=["GET"], name="survey"),
    Route("/f/{token}", submit_survey, methods=["POST"], name="survey_submit"),
    Route("/f/{token}/rating", submit_rating, methods=["POST"], name="survey_rating"),
    Route("/f/{token}/thanks", thanks, methods=["GET"], name="survey_thanks"),
]
