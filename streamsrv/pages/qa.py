"""``/qa``: a reviewer picks an interaction in their scope and scores it beside its feedback.

Team leaders, managers and administrators only; the form posts here, CSRF-protected, and goes
through ``streamsrv.qa.evaluations.evaluate``, as the API does. Bad answers re-show the form with
the reason and store nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import Identity, user_identity
from streamsrv.errors import ApiError
from streamsrv.ids import MAX_ID
from streamsrv.models import Role, utcnow
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.qa import evaluations
from streamsrv.qa.review import mine_view, review_view
from streamsrv.qa.schemas import EvaluationIn, ReplyIn
from streamsrv.qa.templates import REVIEWERS
from streamsrv.security import csrf
from streamsrv.templating import error_page, render

PAGE = "/qa"


def _id(raw: object) -> int | None:
    text = str(raw or "")
    if not text.isdigit() or len(text) > 10 or not 1 <= int(text) <= MAX_ID:
        return None
    return int(text)


async def _show(
    request: Request,
    identity: Identity,
    interaction_id: int | None,
    status: int = 200,
    **extra: Any,
) -> Response:
    try:
        view = await load(request, lambda session: review_view(session, identity, interaction_id))
    except ApiError:
        return error_page(request, 404, "Not found", "This interaction is not one you review.")
    return render(request, "qa.html", {**view, **extra}, status=status)


async def qa_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    if user.role not in REVIEWERS:
        return error_page(request, 403, "Not for your role", "QA reviews are for team leaders and managers.")
    raw = request.query_params.get("interaction_id")
    interaction_id = _id(raw) if raw else None
    if raw and interaction_id is None:
        return error_page(request, 404, "Not found", "This interaction does not exist.")
    saved = _id(request.query_params.get("saved"))
    return await _show(request, user_identity(user), interaction_id, saved=saved)


async def qa_evaluate(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    form = await request.form()
    if not csrf.verify(request, str(form.get(csrf.FIELD) or "")):
        return error_page(
            request, 403, "Please try again", "The form expired; reload the page and score it again."
        )
    if user.role not in REVIEWERS:
        return error_page(request, 403, "Not for your role", "QA reviews are for team leaders and managers.")
    identity = user_identity(user)
    interaction_id = _id(form.get("interaction_id"))
    if interaction_id is None:
        return error_page(request, 404, "Not found", "This interaction does not exist.")
    answers: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key.startswith("answer_") and isinstance(value, str) and value:
            answers[key.removeprefix("answer_")] = (
                int(value) if value.isdigit() and len(value) == 1 else value
            )
    fields = {"interaction_id": interaction_id, "template_id": _id(form.get("template_id")) or 0}
    try:
        body = EvaluationIn.model_validate(
            {**fields, "answers": answers, "comment": str(form.get("comment") or "")}
        )
        now = utcnow()
        saved = await load(request, lambda session: evaluations.evaluate(session, identity, body, now))
    except ValidationError as exc:
        message = "; ".join(str(e["msg"]) for e in exc.errors())
        return await _show(request, identity, interaction_id, 422, error=message, answers=answers)
    except ApiError as exc:
        if exc.status == 404:
            return error_page(request, 404, "Not found", "This interaction is not one you review.")
        return await _show(request, identity, interaction_id, exc.status, error=exc.message, answers=answers)
    return RedirectResponse(f"{PAGE}?interaction_id={interaction_id}&saved={saved['id']}", status_code=303)


MINE = "/qa/mine"


async def _show_mine(request: Request, identity: Identity, status: int = 200, **extra: Any) -> Response:
    items = await load(request, lambda session: mine_view(session, identity))
    return render(request, "qa_mine.html", {"items": items, **extra}, status=status)


async def mine_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(MINE)
    if user.role != Role.agent:
        return error_page(request, 403, "Not for your role", "This page shows an agent their own QA reviews.")
    return await _show_mine(request, user_identity(user), answered=_id(request.query_params.get("answered")))


async def mine_reply(request: Request) -> Response:
    evaluation_id = int(request.path_params["evaluation_id"])
    user = await current_user(request)
    if user is None:
        return to_login(MINE)
    form = await request.form()
    if not csrf.verify(request, str(form.get(csrf.FIELD) or "")):
        return error_page(
            request, 403, "Please try again", "The form expired; reload the page and answer again."
        )
    if user.role != Role.agent:
        return error_page(request, 403, "Not for your role", "This page shows an agent their own QA reviews.")
    if not 1 <= evaluation_id <= MAX_ID:
        return error_page(request, 404, "Not found", "This evaluation does not exist.")
    identity = user_identity(user)
    try:
        body = ReplyIn.model_validate(
            {"action": str(form.get("action") or ""), "comment": str(form.get("comment") or "")}
        )
        now = utcnow()
        await load(request, lambda session: evaluations.reply(session, identity, evaluation_id, body, now))
    except ValidationError as exc:
        message = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        return await _show_mine(request, identity, 422, error=message, error_id=evaluation_id)
    except ApiError as exc:
        if exc.status == 404:
            return error_page(request, 404, "Not found", "This evaluation does not exist.")
        return await _show_mine(request, identity, exc.status, error=exc.message, error_id=evaluation_id)
    return RedirectResponse(f"{MINE}?answered={evaluation_id}", status_code=303)


routes: list[BaseRoute] = [
    Route(PAGE, qa_page, methods=["GET"], name="qa"),
    Route(PAGE, qa_evaluate, methods=["POST"], name="qa_evaluate"),
    Route(MINE, mine_page, methods=["GET"], name="qa_mine"),
    Route(MINE + "/{evaluation_id:int}/reply", mine_reply, methods=["POST"], name="qa_mine_reply"),
]
