"""The API's handler kernel: authenticate, authorise, parse and answer in one place.

``route`` takes the documentation arguments of ``streamsrv.http.endpoint`` (which it calls, so
the route is in the OpenAPI document as before) plus who may call: ``scope`` to require and,
after it, a ``guard`` such as ``require_writer``; ``auth="none"`` or ``"token"`` routes
authenticate nobody. Every request then goes through the same steps in the same order:

1. the caller's credential (401), its scope and the guard (403);
2. the path ids (404 outside 1..MAX_ID);
3. the query string, then the JSON body (400, 413, 422).

The handler receives a ``Call`` with all of that and is either a plain function
``handler(call, session)``, run inside one transaction (with ``idempotent=True`` run once more
when a concurrent twin won a unique-constraint race: ``streamsrv.survey.txn``), or an
``async def handler(call)`` for the few that must await something between or after
transactions (a password hash, an upload, a revocation broadcast); those open transactions
with ``await call.run(fn)``.

A handler returns the data to answer with (sent with the documented status), a ``Reply`` when
the status or headers vary, or a finished Starlette ``Response`` (files, CSV streams).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Unpack, cast

from pydantic import BaseModel
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from streamsrv.auth import Identity, authenticate
from streamsrv.errors import not_found
from streamsrv.http import Documented, endpoint, json_response, parse_query, read_json
from streamsrv.ids import MAX_ID
from streamsrv.models import utcnow
from streamsrv.survey.txn import run_idempotent

if TYPE_CHECKING:
    from streamsrv.context import AppContext

B = TypeVar("B", covariant=True)
Q = TypeVar("Q", covariant=True)
T = TypeVar("T")

Guard = Callable[[Identity], object]
SyncHandler = Callable[["Call[Any, Any]", Session], object]
AsyncHandler = Callable[["Call[Any, Any]"], Awaitable[object]]


@dataclass(frozen=True)
class Call(Generic[B, Q]):
    """One request, checked and parsed: ``B`` is the body model, ``Q`` the query model."""

    request: Request
    ctx: AppContext
    body: B
    query: Q
    ids: Mapping[str, int]
    caller: Identity | None
    now: datetime

    @property
    def identity(self) -> Identity:
        if self.caller is None:
            raise RuntimeError("this route authenticates no caller")
        return self.caller

    def id(self, name: str) -> int:
        return self.ids[name]

    async def run(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` in one transaction."""
        return await self.ctx.db.run(fn)


@dataclass(frozen=True)
class Reply:
    data: Any = None
    # None: the route's documented status.
    status: int | None = None
    location: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def created_or_replayed(data: Any, created: bool) -> Reply:
    """201 for what this request created, 200 when it found the same thing stored before."""
    return Reply(data, status=201 if created else 200)


def path_ids(request: Request) -> dict[str, int]:
    """The integer path parameters; one out of range names a row that cannot exist."""
    ids: dict[str, int] = {}
    for name, value in request.path_params.items():
        if isinstance(value, int):
            if not 1 <= value <= MAX_ID:
                raise not_found(name.removesuffix("_id").replace("_", " "))
            ids[name] = value
    return ids


def answer(result: object, status: int) -> Response:
    if isinstance(result, Response):
        return result
    reply = result if isinstance(result, Reply) else Reply(result)
    headers = dict(reply.headers)
    if reply.location is not None:
        headers["Location"] = reply.location
    status = reply.status or status
    if status == 204:
        return Response(status_code=204, headers=headers or None)
    return json_response(reply.data, status=status, headers=headers or None)


def _responder(
    handler: SyncHandler | AsyncHandler, idempotent: bool
) -> Callable[[Call[Any, Any]], Awaitable[object]]:
    if inspect.iscoroutinefunction(handler):
        assert not idempotent, "an async handler runs its own transactions"
        return cast(AsyncHandler, handler)
    in_transaction = cast(SyncHandler, handler)

    async def respond(call: Call[Any, Any]) -> object:
        def work(session: Session) -> object:
            return in_transaction(call, session)

        db = call.ctx.db
        return await (run_idempotent(db, work) if idempotent else db.run(work))

    return respond


def route(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    guard: Guard | None = None,
    identify: bool = True,
    read_as: type[BaseModel] | None = None,
    idempotent: bool = False,
    **doc: Unpack[Documented],
) -> Callable[[SyncHandler | AsyncHandler], Route]:
    """Declare an API route served by a kernel handler (see the module docstring).

    ``doc`` is what ``endpoint`` documents; of it, ``scope`` is also required of the caller, and
    ``body``, ``query`` and ``status`` drive the parsing and the answer. ``identify=False``: the
    handler identifies and checks its caller itself (boards also take a display token).
    ``read_as``: parse the body as this model instead of the documented one, for bodies that can
    only be validated against data the handler loads.
    """
    document = endpoint(method, path, summary=summary, tag=tag, **doc)
    scope, query, status = doc.get("scope"), doc.get("query"), doc.get("status", 200)
    body_model = read_as or doc.get("body")
    checks_caller = doc.get("auth", "apikey") == "apikey" and identify

    def wrap(handler: SyncHandler | AsyncHandler) -> Route:
        respond = _responder(handler, idempotent)

        async def serve(request: Request) -> Response:
            caller = None
            if checks_caller:
                caller = await authenticate(request)
                if scope is not None:
                    caller.require(scope)
                if guard is not None:
                    guard(caller)
            ids = path_ids(request)
            parsed_query = parse_query(request, query) if query is not None else None
            parsed_body = await read_json(request, body_model) if body_model is not None else None
            call: Call[Any, Any] = Call(
                request, request.app.state.ctx, parsed_body, parsed_query, ids, caller, utcnow()
            )
            return answer(await respond(call), status)

        serve.__name__ = serve.__qualname__ = handler.__name__
        return document(serve)

    return wrap
