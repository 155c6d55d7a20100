"""Small HTTP helpers shared by every API module.

``endpoint`` turns a typed handler into a Starlette ``Route`` and records it for the OpenAPI
document, so the spec cannot drift from the routes (``streamsrv.kernel.route`` builds on it).
``read_json`` enforces the body limit and turns parse and validation failures into the API's
error shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict, TypeVar, Unpack

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from streamsrv.errors import ApiError, field_error

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[Request], Awaitable[Response]]


def _default(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    raise TypeError(f"cannot encode {type(obj).__name__}")


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(data), status_code=status, media_type="application/json", headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise ApiError(413, f"request body is larger than {limit} bytes")
        except ValueError:
            raise ApiError(400, "invalid Content-Length header") from None
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"request body is larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        # Nobody is left to answer; 400 keeps it out of the error log as a server fault.
        raise ApiError(400, "client disconnected before sending the whole body") from None
    return b"".join(chunks)


def _loc_name(loc: Sequence[int | str]) -> str:
    return ".".join(str(p) for p in loc) or "body"


def validation_error(exc: ValidationError, prefix: str = "") -> ApiError:
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        name = prefix + _loc_name(err["loc"])
        fields.setdefault(name, err["msg"])
    first = next(iter(fields.items()))
    return ApiError(422, f"invalid {first[0]}: {first[1]}", fields=fields)


def parse_model(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def json_object(raw: bytes) -> dict[str, Any]:
    """A request body that must be one JSON object, or the 400 that says what is wrong with it."""
    if not raw.strip():
        raise ApiError(400, "request body is empty; send a JSON object")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    return data


async def read_json(request: Request, model: type[M]) -> M:
    limit: int = request.app.state.ctx.settings.max_body_bytes
    raw = await read_body(request, limit)
    return parse_model(model, json_object(raw))


def patch_changes(body: BaseModel, nullable: Collection[str]) -> dict[str, Any]:
    """The fields a PATCH body actually sent; ``null`` only where clearing makes sense."""
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name not in nullable:
            raise field_error(name, "must not be null")
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        elif isinstance(value, list):
            value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
        changes[name] = value
    return changes


def parse_query(request: Request, model: type[M]) -> M:
    params: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        params[key] = values if len(values) > 1 else values[0]
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise validation_error(exc) from None


@dataclass
class EndpointDoc:
    method: str
    path: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    response_list: bool = False
    status: int = 200
    errors: tuple[int, ...] = ()
    # "apikey" (Bearer key or session cookie), "none" (public), or "token" (credential in path).
    auth: str = "apikey"
    scope: str | None = None
    content_type: str = "application/json"
    extra_responses: dict[int, str] = field(default_factory=dict)


REGISTRY: list[EndpointDoc] = []


class Documented(TypedDict, total=False):
    """What an endpoint declares for the OpenAPI document besides its method, path and summary."""

    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    response_list: bool
    status: int
    errors: tuple[int, ...]
    auth: str
    scope: str | None
    content_type: str
    extra_responses: dict[int, str]


def endpoint(
    method: str, path: str, *, summary: str, tag: str, **doc: Unpack[Documented]
) -> Callable[[Handler], Route]:
    """Declare an API route; the returned ``Route`` goes into the module's ``routes`` list."""

    def wrap(handler: Handler) -> Route:
        REGISTRY.append(EndpointDoc(method=method.upper(), path=path, summary=summary, tag=tag, **doc))
        return Route(path, handler, methods=[method.upper()], name=handler.__name__)

    return wrap
