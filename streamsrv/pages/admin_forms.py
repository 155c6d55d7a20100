"""What the admin pages share: the login and CSRF checks of a form, the readable 403, and
turning a pydantic ``ValidationError`` (from the same schema the API uses) into a message per
form field.

Form fields are named after the schema's location of the value, joined by ``-``:
``negative_threshold``, ``send_window-start``, ``reward_catalogue-2-value``. An error's ``loc``
is mapped back onto the longest such name the form has.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from streamsrv.auth import Identity, user_identity
from streamsrv.errors import ApiError
from streamsrv.pages.session import current_user, to_login
from streamsrv.security import csrf
from streamsrv.templating import error_page

FORM_ERROR = "form"


def forbidden(request: Request, message: str) -> Response:
    return error_page(request, 403, "Not for your role", message)


def expired(request: Request) -> Response:
    return error_page(
        request, 403, "Please try again", "The form expired; reload the page and send it again."
    )


def csrf_ok(request: Request, form: FormData) -> bool:
    return csrf.verify(request, str(form.get(csrf.FIELD) or ""))


# A page's own role rule: a readable refusal for ``identity``, or None to go on.
Refusal = Callable[[Request, Identity], Response | None]


@dataclass(frozen=True)
class Posted:
    identity: Identity
    form: FormData


async def posted(request: Request, back: str, refusal: Refusal) -> Posted | Response:
    """What every admin form checks first, in this order: a logged-in user (else the login page,
    then back to ``back``), the CSRF token (before the role, so a forged form learns nothing),
    then the page's role rule. Returns the answer to send when one of them refuses."""
    user = await current_user(request)
    if user is None:
        return to_login(back)
    form = await request.form()
    if not csrf_ok(request, form):
        return expired(request)
    identity = user_identity(user)
    refused = refusal(request, identity)
    return refused if refused is not None else Posted(identity, form)


def text(form: FormData, name: str, limit: int = 5000) -> str:
    """One submitted value as text (files and missing fields are empty), cut to ``limit``."""
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def checked(form: FormData, name: str) -> bool:
    return form.get(name) == "on"


def field_id(loc: Sequence[Any], known: Collection[str], remap: Mapping[tuple[str, int], int]) -> str:
    """The form field an error location belongs to: the longest known prefix of ``loc``."""
    parts: list[str] = []
    best = str(loc[0]) if loc else FORM_ERROR
    for i, part in enumerate(loc):
        if isinstance(part, int) and i > 0 and (str(loc[i - 1]), part) in remap:
            part = remap[(str(loc[i - 1]), part)]
        parts.append(str(part))
        name = "-".join(parts)
        if name in known:
            best = name
    return best


def message(error: Mapping[str, Any]) -> str:
    text_ = str(error.get("msg", "is not valid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        text_ = text_.removeprefix(prefix)
    return text_[:1].upper() + text_[1:]


def errors_of(
    exc: ValidationError | ApiError,
    known: Collection[str],
    remap: Mapping[tuple[str, int], int] | None = None,
    prefix: str = "",
) -> dict[str, str]:
    """One message per form field (the first found), for a ``ValidationError`` or an
    ``ApiError`` naming fields; ``prefix`` is put before the schema's locations."""
    out: dict[str, str] = {}
    if isinstance(exc, ApiError):
        for name, text_ in exc.fields.items():
            key = prefix + name if prefix + name in known else FORM_ERROR
            out.setdefault(key, text_[:1].upper() + text_[1:])
        if not out:
            out[FORM_ERROR] = exc.message
        return out
    for error in exc.errors():
        loc = ([prefix.rstrip("-")] if prefix else []) + list(error.get("loc", ()))
        out.setdefault(field_id(loc, known, remap or {}), message(error))
    return out
