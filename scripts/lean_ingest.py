"""The lean ingest reference: the floor that streamsrv's ingest is measured against.

    .venv/bin/python scripts/lean_ingest.py --database-url URL --api-key KEY --account-id N [--port P]

A bare Starlette app with one route, ``POST /api/v1/feedback``, taking the same JSON body as
streamsrv's ingest and checked as strictly (streamsrv's own ``FeedbackIn`` model and the
account's survey rules), behind the same kind of credential (``Authorization: Bearer <key>``,
compared in constant time with the key given here). Each accepted body becomes, in ONE
transaction, one ``interactions`` row, one ``responses`` row and one ``outbox`` row, written with
SQLAlchemy Core into the schema streamsrv's migrations create; the answer is 201 with the ids.

What it leaves out is everything streamsrv does on top of that: idempotent replays, the feedback
request row, standings, alerts, the relay to Redis and the websocket streams. That is why it is a
floor: an ingest that validates, stores and queues its event cannot do less work per response.

Served like ``streamsrv serve`` is served by ``scripts/bench.py``: uvicorn, one worker, the same
loop/http implementation choices (``auto``), the same backlog and log level. The database engine
is streamsrv's (``streamsrv.db.make_engine``: the same SQLite pragmas, WAL, and the same
PostgreSQL driver and pool), used the same way: a synchronous transaction in a worker thread,
one SQLite writer at a time in this process. ``GET /healthz`` answers 200 once it is serving.
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, insert, select
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamsrv import events, stream_names  # noqa: E402
from streamsrv.config import Settings  # noqa: E402
from streamsrv.db import make_engine  # noqa: E402
from streamsrv.errors import ApiError, error_body, field_error  # noqa: E402
from streamsrv.http import json_object, parse_model  # noqa: E402
from streamsrv.models import Account, Agent, Interaction, OutboxEvent  # noqa: E402
from streamsrv.models import Response as ResponseRow  # noqa: E402
from streamsrv.survey.validation import FeedbackIn, SurveyRules, check_response  # noqa: E402

INTERACTIONS: Table = Interaction.__table__  # type: ignore[attr-defined]
RESPONSES: Table = ResponseRow.__table__  # type: ignore[attr-defined]
OUTBOX: Table = OutboxEvent.__table__  # type: ignore[attr-defined]
AGENTS: Table = Agent.__table__  # type: ignore[attr-defined]
ACCOUNTS: Table = Account.__table__  # type: ignore[attr-defined]
JSON = {"content-type": "application/json"}


class Lean:
    """The one account the reference serves, read once at start: its org, survey and agents."""

    def __init__(self, engine: Engine, api_key: str, account_id: int, max_body: int) -> None:
        self.engine = engine
        self.key = api_key.encode()
        self.account_id = account_id
        self.max_body = max_body
        # As streamsrv's Database: one SQLite writer at a time in this process, handed over at once.
        self.turns = threading.Lock() if engine.dialect.name == "sqlite" else None
        with engine.connect() as conn:
            account = conn.execute(select(ACCOUNTS).where(ACCOUNTS.c.id == account_id)).mappings().one()
            self.org_id: int = account["org_id"]
            self.rules = SurveyRules(
                rewards=frozenset(str(r["code"]) for r in account["reward_catalogue"]),
                areas=frozenset(str(a["code"]) for a in account["improvement_areas"]),
                ask_csat=account["ask_csat"],
                ask_nps=account["ask_nps"],
                ask_fcr=account["ask_fcr"],
            )
            rows = conn.execute(
                select(AGENTS.c.id, AGENTS.c.team_id).where(AGENTS.c.account_id == account_id)
            )
            self.teams: dict[int, int] = {int(a): int(t) for a, t in rows}

    def authorised(self, request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.removeprefix("Bearer ").encode(), self.key)

    def parse(self, raw: bytes) -> tuple[FeedbackIn, int]:
        """The body, checked as streamsrv checks it; returns it and the agent's team."""
        if len(raw) > self.max_body:
            raise ApiError(413, f"request body is larger than {self.max_body} bytes")
        body = parse_model(FeedbackIn, json_object(raw))
        body.agent_fields()
        if body.agent_id is None:
            raise field_error("agent_id", "the lean reference names agents by id only")
        check_response(body.response_part(), self.rules)
        if body.account_id != self.account_id:
            raise ApiError(404, "account not found")
        team_id = self.teams.get(body.agent_id)
        if team_id is None:
            raise field_error("agent_id", "no such agent in this account")
        return body, team_id

    def store(self, body: FeedbackIn, team_id: int) -> dict[str, int]:
        """Three inserts, one commit."""
        now = datetime.now(UTC)
        agent_id = body.agent_id
        assert agent_id is not None
        customer = body.customer
        with self.turns or contextlib.nullcontext(), self.engine.begin() as conn:
            interaction_id = _insert(
                conn,
                INTERACTIONS,
                org_id=self.org_id,
                account_id=self.account_id,
                agent_id=agent_id,
                team_id=team_id,
                channel=str(body.channel),
                external_id=body.external_id,
                customer_email=customer.email if customer else None,
                customer_name=customer.name if customer else None,
                customer_phone=customer.phone if customer else None,
                locale=body.locale,
                source=body.source or "api",
                ticket_url=body.ticket_url,
                occurred_at=body.occurred_at or now,
                created_at=now,
            )
            response: dict[str, Any] = {
                "org_id": self.org_id,
                "account_id": self.account_id,
                "team_id": team_id,
                "agent_id": agent_id,
                "interaction_id": interaction_id,
                "channel": str(body.channel),
                "rating": body.rating,
                "comment": body.comment or "",
                "reward": body.reward,
                "improvement_areas": body.improvement_areas,
                "csat": body.csat,
                "nps": body.nps,
                "fcr": body.fcr,
                "source": body.source or "api",
                "created_at": body.responded_at or now,
                "updated_at": now,
            }
            response_id = _insert(conn, RESPONSES, **response)
            payload = {**response, "id": response_id, "created_at": response["created_at"].isoformat()}
            payload["updated_at"] = now.isoformat()
            outbox_id = _insert(
                conn,
                OUTBOX,
                org_id=self.org_id,
                type=events.FEEDBACK_RECEIVED,
                streams=stream_names.feedback(self.account_id, team_id, agent_id),
                payload=payload,
                created_at=now,
            )
        return {"interaction_id": interaction_id, "response_id": response_id, "outbox_id": outbox_id}

    async def ingest(self, request: Request) -> Response:
        try:
            if not self.authorised(request):
                raise ApiError(401, "missing or invalid API key")
            body, team_id = self.parse(await request.body())
            try:
                ids = await run_in_threadpool(self.store, body, team_id)
            except IntegrityError:
                # streamsrv replays such a body (idempotent on external_id); the reference only
                # stores new ones, and the benchmark sends each external_id once.
                raise ApiError(
                    409, "external_id: already stored; the lean reference does not replay"
                ) from None
        except ApiError as exc:
            return Response(error_body(exc.status, exc.message, exc.code, exc.fields), exc.status, JSON)
        return Response(orjson.dumps(ids), 201, JSON)


def _insert(conn: Connection, table: Table, **values: Any) -> int:
    key = conn.execute(insert(table).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


async def healthz(_request: Request) -> Response:
    return Response(b'{"ok":true}', 200, JSON)


def create_app(lean: Lean) -> Starlette:
    handler: Callable[[Request], Any] = lean.ingest
    return Starlette(
        routes=[Route("/api/v1/feedback", handler, methods=["POST"]), Route("/healthz", healthz)]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="lean ingest reference (see docs/benchmarks.md)")
    parser.add_argument("--database-url", required=True, help="a database migrated by streamsrv")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--account-id", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    # As ``streamsrv serve``'s defaults, which the benchmark uses.
    parser.add_argument("--loop", default="auto", choices=["auto", "uvloop", "asyncio"])
    parser.add_argument("--http", default="auto", choices=["auto", "httptools", "h11"])
    parser.add_argument("--backlog", type=int, default=4096)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)

    import uvicorn

    # streamsrv's default body limit (its setting, read without reading the environment).
    max_body = int(Settings.model_fields["max_body_bytes"].default)
    engine = make_engine(args.database_url)
    app = create_app(Lean(engine, args.api_key, args.account_id, max_body))
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        workers=1,
        log_level=args.log_level,
        loop=args.loop,
        http=args.http,
        backlog=args.backlog,
        ws="none",
    )
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
