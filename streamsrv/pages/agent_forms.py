"""What the team, agent and profile pages share: reading their forms, the uploaded photo, and
turning validation errors into per-field messages."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response

from streamsrv.api.images import ALLOWED, sniff_image
from streamsrv.auth import Identity
from streamsrv.errors import ApiError
from streamsrv.ids import MAX_ID
from streamsrv.models import User
from streamsrv.org.common import require_writer
from streamsrv.security import csrf
from streamsrv.templating import error_page

PHOTO_FIELD = "photo"
# A form carries at most the photo (or the CSV file, or an import token) and a few fields.
MAX_FIELDS = 60


class FormProblem(Exception):
    """The form could not be read: too large or not a form."""


# What the error summary calls each field (a field's own message sits under its label).
LABELS = {
    "name": "Name",
    "email": "Work email",
    "team_id": "Team",
    "account_id": "Account",
    "active": "Active",
    "bio": "Bio",
    "hobbies": "Hobbies",
    "photo_url": "Photo URL",
    "photo": "Photo",
}


def label_of(name: str) -> str:
    if name.startswith("ext_"):
        return f"{name.removeprefix('ext_')} id"
    if name.startswith("team-"):
        return "Team name"
    return LABELS.get(name, name)


def _position(name: str) -> float:
    """Where the field is on its form, so the summary lists errors top to bottom."""
    order = list(LABELS)
    if name == "form":
        return -1
    if name.startswith("ext_"):
        return order.index("hobbies") + 0.5
    return order.index(name) if name in order else len(order)


@dataclass
class Errors:
    """Per-field messages of a form, in the order of the form."""

    fields: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)

    def summary(self) -> list[tuple[str, str]]:
        """(field, "Label: message") for the error summary; "form" for errors of no field."""
        ordered = sorted(self.fields.items(), key=lambda item: _position(item[0]))
        return [(n, m if n == "form" else f"{label_of(n)}: {m}") for n, m in ordered]

    def __bool__(self) -> bool:
        return bool(self.fields)


def _friendly(name: str, item: Mapping[str, Any]) -> str:
    kind = str(item.get("type", ""))
    ctx = item.get("ctx") or {}
    if name in ("team_id", "account_id") and kind in ("greater_than_equal", "int_parsing", "missing"):
        return f"choose {'a team' if name == 'team_id' else 'an account'}"
    if kind == "string_too_short":
        return "required"
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} entries"
    return str(item.get("msg", "invalid")).removeprefix("Value error, ")


def from_validation(exc: ValidationError, rename: Mapping[str, str] | None = None) -> Errors:
    """Pydantic's errors as field messages: ``external_ids.zendesk`` becomes ``ext_zendesk``."""
    errors = Errors()
    for item in exc.errors():
        loc = [str(part) for part in item.get("loc", ())]
        if not loc:
            continue
        name = loc[0]
        if name == "external_ids" and len(loc) > 1:
            name = f"ext_{loc[1]}"
        message = _friendly(name, item)
        errors.add((rename or {}).get(name, name), message)
    return errors


def from_api_error(exc: ApiError) -> Errors:
    errors = Errors()
    for name, message in (exc.fields or {}).items():
        # A helpdesk id clash names its helpdesk in the message; the form has no single field for it.
        errors.add("form" if name == "external_ids" else name, message)
    if not errors:
        errors.add("form", exc.message)
    return errors


async def read_form(request: Request, max_part_size: int) -> FormData:
    """The request's form; its uploaded files are closed by ``closes_form`` after the page."""
    try:
        form = await request.form(max_files=2, max_fields=MAX_FIELDS, max_part_size=max_part_size)
    except MultiPartException as exc:
        raise FormProblem(str(exc)) from None
    request.state.page_form = form
    return form


Endpoint = Callable[[Request], Awaitable[Response]]


def closes_form(handler: Endpoint) -> Endpoint:
    """``handler``, closing the temporary files of the form it read, whatever it answered."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        finally:
            form: FormData | None = getattr(request.state, "page_form", None)
            if form is not None:
                await form.close()

    return endpoint


async def read_photo(form: FormData, limit: int, errors: Errors) -> tuple[bytes, str] | None:
    """The uploaded image of the form's ``photo`` field, checked by its bytes; None if none sent."""
    upload = form.get(PHOTO_FIELD)
    if not isinstance(upload, UploadFile):
        return None
    data = await upload.read(limit + 1)
    if not data:
        return None
    if len(data) > limit:
        errors.add(PHOTO_FIELD, f"the photo is larger than {limit // (1024 * 1024)} MB")
        return None
    media_type = sniff_image(data)
    if media_type is None:
        errors.add(PHOTO_FIELD, "not a supported image: choose a PNG, JPEG, WebP or GIF file")
        return None
    assert media_type in ALLOWED
    return data, media_type


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def csrf_failed(request: Request, form: FormData) -> Response | None:
    if csrf.verify(request, text(form, csrf.FIELD)):
        return None
    return error_page(
        request, 403, "Please try again", "The form expired; reload the page and send it again."
    )


def writer_or_page(request: Request, user: User, identity: Identity) -> Response | None:
    """The same rule as the admin API: an administrator (for their accounts)."""
    try:
        require_writer(identity)
    except ApiError:
        return error_page(
            request, 403, "Not for your role", "Teams and agents are managed by administrators."
        )
    return None


def api_error_page(request: Request, exc: ApiError, what: str) -> Response:
    titles = {403: "Not for your role", 404: "Not found", 409: "Conflict", 422: "Cannot save it"}
    return error_page(request, exc.status, titles.get(exc.status, f"Cannot save {what}"), exc.message)


def parse_id(raw: str) -> int | None:
    if not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None
