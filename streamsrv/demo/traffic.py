"""The traffic simulator: realistic feedback posted through the public API until cancelled.

About half goes through server-side ingest (``POST /api/v1/feedback``) and half through the
customer's path (``POST /api/v1/interactions``, then ``POST /api/v1/responses/{token}`` as the
survey page would), so the demo exercises both ways a rating reaches the streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from streamsrv.demo.feedback import AgentTarget, DrawnFeedback, draw_feedback

INGEST = "ingest"
SURVEY = "survey"
# Requests in flight at once; beyond it the simulator waits rather than piling up.
MAX_IN_FLIGHT = 32
REQUEST_TIMEOUT = 10.0


class TrafficError(Exception):
    """The server refused a simulated contact; the message says which call and why."""


@dataclass
class Outcome:
    path: str
    target: AgentTarget
    feedback: DrawnFeedback
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class TrafficStats:
    sent: int = 0
    errors: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    by_rating: Counter[int] = field(default_factory=Counter)
    last_error: str | None = None

    @property
    def average(self) -> float:
        total = sum(self.by_rating.values())
        return sum(r * n for r, n in self.by_rating.items()) / total if total else 0.0

    def record(self, outcome: Outcome) -> None:
        if outcome.ok:
            self.sent += 1
            self.by_path[outcome.path] += 1
            self.by_rating[outcome.feedback.rating] += 1
        else:
            self.errors += 1
            self.last_error = outcome.error


OnOutcome = Callable[[Outcome, TrafficStats], None]


UNANSWERED_PER_ANSWER = 2
UNANSWERED_CHANCE = 0.75


def interaction_fields(target: AgentTarget, drawn: DrawnFeedback, path: str) -> dict[str, Any]:
    customer: dict[str, Any] = {"email": drawn.customer_email, "name": drawn.customer_name}
    if drawn.channel in ("phone", "sms"):
        customer["phone"] = f"+1555{random.randrange(10**6, 10**7)}"
    occurred = datetime.now(UTC) - timedelta(seconds=random.randint(30, 1800))
    return {
        "account_id": target.account.account_id,
        "agent_id": target.agent_id,
        "channel": drawn.channel,
        "external_id": f"demo-{path}-{secrets.token_hex(8)}",
        "customer": customer,
        "occurred_at": occurred.isoformat(),
    }


def _check(response: httpx.Response, call: str) -> dict[str, Any]:
    if response.status_code >= 300:
        raise TrafficError(f"{call} answered {response.status_code}: {response.text[:200]}")
    data = response.json()
    if not isinstance(data, dict):
        raise TrafficError(f"{call} answered a non-object")
    return data


def bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


async def post_ingest(
    client: httpx.AsyncClient, api_key: str, target: AgentTarget, drawn: DrawnFeedback
) -> None:
    body = interaction_fields(target, drawn, INGEST) | drawn.response_fields()
    answer = await client.post("/api/v1/feedback", json=body, headers=bearer(api_key))
    _check(answer, "POST /api/v1/feedback")


async def create_request(client: httpx.AsyncClient, api_key: str, body: dict[str, Any]) -> dict[str, Any]:
    """Record an interaction; returns its feedback request (``token``, ``url``, ``status``)."""
    answer = await client.post("/api/v1/interactions", json=body, headers=bearer(api_key))
    data = _check(answer, "POST /api/v1/interactions")
    request = data.get("request")
    if not isinstance(request, dict) or not request.get("token"):
        raise TrafficError(f"POST /api/v1/interactions gave no feedback request: {data}")
    return request


async def post_survey(
    client: httpx.AsyncClient, api_key: str, target: AgentTarget, drawn: DrawnFeedback
) -> None:
    request = await create_request(client, api_key, interaction_fields(target, drawn, SURVEY))
    # The token is the customer's credential: the survey page posts without an API key.
    answer = await client.post(f"/api/v1/responses/{request['token']}", json=drawn.response_fields())
    _check(answer, "POST /api/v1/responses/{token}")
    # Most customers never answer: a few more surveyed interactions keep the dashboards' response
    # rate realistic (roughly one answer in two requests).
    for _ in range(UNANSWERED_PER_ANSWER):
        if random.random() < UNANSWERED_CHANCE:
            silent = interaction_fields(target, drawn, SURVEY)
            silent["customer"] = {"email": f"customer-{secrets.token_hex(6)}@example.com"}
            await create_request(client, api_key, silent)


async def simulate_one(
    client: httpx.AsyncClient, api_key: str, target: AgentTarget, rng: random.Random, survey_share: float
) -> Outcome:
    drawn = draw_feedback(rng, target)
    path = SURVEY if rng.random() < survey_share else INGEST
    outcome = Outcome(path=path, target=target, feedback=drawn)
    try:
        if path == SURVEY:
            await post_survey(client, api_key, target, drawn)
        else:
            await post_ingest(client, api_key, target, drawn)
    except (TrafficError, httpx.HTTPError, ValueError) as exc:
        outcome.error = str(exc) or type(exc).__name__
    return outcome


def next_delay(rng: random.Random, rate: float) -> float:
    """Seconds to the next contact: ``1/rate`` on average, with jitter so it looks organic."""
    return rng.uniform(0.4, 1.6) / rate


async def run_traffic(
    base_url: str,
    api_key: str,
    targets: Sequence[AgentTarget],
    rate: float = 1.0,
    *,
    max_count: int | None = None,
    max_seconds: float | None = None,
    max_errors: int | None = None,
    survey_share: float = 0.5,
    rng: random.Random | None = None,
    on_outcome: OnOutcome | None = None,
    stop: asyncio.Event | None = None,
) -> TrafficStats:
    """Post feedback at about ``rate`` per second until cancelled, stopped or a limit is reached.

    Setting ``stop`` ends the run gracefully: nothing new starts and requests already on the
    wire finish, so the server never sees a client vanish mid-request. Cancelling is abrupt.

    ``max_count`` counts stored responses (failed attempts are retried with new contacts);
    ``max_errors`` (default: ``max_count`` if given) stops a run against a server that keeps
    refusing, so a bounded run always ends.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    if not targets:
        raise ValueError("no agents to simulate feedback for")
    rng = rng or random.Random()
    if max_errors is None and max_count is not None:
        max_errors = max(max_count, 5)
    stats = TrafficStats()
    deadline = time.monotonic() + max_seconds if max_seconds is not None else None
    in_flight: set[asyncio.Task[Outcome]] = set()

    def done(task: asyncio.Task[Outcome]) -> None:
        in_flight.discard(task)
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            stats.errors += 1
            stats.last_error = repr(exc)
            return
        outcome = task.result()
        stats.record(outcome)
        if on_outcome is not None:
            on_outcome(outcome, stats)

    async def pause(delay: float) -> None:
        if stop is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)

    def finished() -> bool:
        if stop is not None and stop.is_set():
            return True
        if max_errors is not None and stats.errors >= max_errors:
            return True
        return deadline is not None and time.monotonic() >= deadline

    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT) as client:
        try:
            while not finished():
                if max_count is not None and stats.sent + len(in_flight) >= max_count:
                    if not in_flight:
                        break
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                if len(in_flight) >= MAX_IN_FLIGHT:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                target = rng.choice(targets)
                task = asyncio.create_task(simulate_one(client, api_key, target, rng, survey_share))
                in_flight.add(task)
                task.add_done_callback(done)
                delay = next_delay(rng, rate)
                if deadline is not None:
                    delay = max(0.0, min(delay, deadline - time.monotonic()))
                await pause(delay)
            if in_flight:
                await asyncio.wait(set(in_flight))
        finally:
            # Cancelled (Ctrl-C) or out of time: stop whatever is still on the wire.
            for task in list(in_flight):
                task.cancel()
            if in_flight:
                await asyncio.wait(set(in_flight))
    return stats
