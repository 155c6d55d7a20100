"""``streamsrv demo``: migrate, seed, serve in-process and simulate live traffic until Ctrl-C.

Everything runs in one process with embedded defaults (a SQLite file in the data directory,
``./var`` unless ``STREAMSRV_DATA_DIR`` says otherwise, and a private Redis), unless
``STREAMSRV_DATABASE_URL`` / ``STREAMSRV_REDIS_URL`` point elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import uvicorn

from streamsrv import migrate
from streamsrv.app import create_app, wire_hooks
from streamsrv.config import Settings
from streamsrv.context import LoginHint, LoginHints
from streamsrv.db import Database
from streamsrv.demo.feedback import AgentTarget
from streamsrv.demo.people import DEMO_PASSWORD, ORG_NAME
from streamsrv.demo.seed import Login, SeedResult, demo_targets, new_traffic_key, seed_demo
from streamsrv.demo.smtp_catcher import SmtpCatcher
from streamsrv.demo.traffic import (
    REQUEST_TIMEOUT,
    OnOutcome,
    Outcome,
    TrafficError,
    TrafficStats,
    create_request,
    run_traffic,
)
from streamsrv.embedded_redis import EmbeddedRedis, embedded_for
from streamsrv.mail.outbox import outbox_dir
from streamsrv.shutdown import STOP_SIGNALS, StopRequested, signals_deferred, stop_on_signals

READY_TIMEOUT = 60.0
# One progress line per this many simulated responses.
PROGRESS_EVERY = 10
LIVE_SURFACES = (
    ("/live", "live feed of every response in your scope"),
    ("/me", "agent's personal stream"),
    ("/coach", "team leader's micro-coaching panel"),
    ("/recovery", "service-recovery triage queue"),
    ("/dashboard", "manager / client dashboard"),
    ("/wallboard", "floor wallboard (leaderboard)"),
    ("/outbox", "survey emails the demo sent (admin)"),
)
BANNER_AGENT = "Maya Chen"


class DemoServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the demo owns Ctrl-C and stops things in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def serve_until_stopped(self) -> int:
        # uvicorn reports a failed start (port in use) with sys.exit; inside a task that would
        # tear through the event loop instead of letting the demo shut down in order.
        try:
            await self.serve()
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 1
        return 0


def demo_settings(host: str, port: int) -> Settings:
    settings = Settings.from_env()
    changes: dict[str, object] = {}
    if "public_url" not in settings.model_fields_set:
        # Survey links in API answers must point at this very server.
        changes["public_url"] = f"http://{display_host(host)}:{port}"
    if "log_level" not in settings.model_fields_set:
        # Access logs for every simulated post would bury the banner and the progress lines.
        changes["log_level"] = "warning"
    return settings.replace(**changes)


def display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def prepare_database(settings: Settings) -> tuple[SeedResult, str | None, list[AgentTarget]]:
    """Migrate and seed; unless only seeding, also mint this run's traffic key and list the agents."""
    wire_hooks()  # the seed stores responses: their recovery cases, alerts and standings too
    db = Database(settings.database_url)
    try:
        migrate.upgrade(db.engine)
        with db.session() as session:
            result = seed_demo(session, settings)
        with db.session() as session:
            key = new_traffic_key(session, result.org_id)
            targets = demo_targets(session, result.org_id)
    finally:
        db.dispose()
    return result, key, targets


def login_hints(logins: list[Login]) -> LoginHints:
    """The demo's logins for its login page; an app created without them lists none."""
    return LoginHints(
        tuple(LoginHint(login.role, login.email, login.sees) for login in logins), DEMO_PASSWORD
    )


def print_logins(logins: list[Login]) -> None:
    width = max(len(login.email) for login in logins)
    print(f"  {'role':<14} {'email':<{width}}  {'password':<20} sees")
    for login in logins:
        print(f"  {login.role:<14} {login.email:<{width}}  {login.password:<20} {login.sees}")


def print_seed_summary(result: SeedResult, settings: Settings) -> None:
    where = settings.database_url.split("@")[-1]
    if result.created:
        print(f"Seeded '{ORG_NAME}' (org {result.org_id}) with {result.backfilled} historical responses")
        print(f"  database: {where}")
        if result.ingest_api_key:
            print(f"  ingest API key (scopes ingest, read; shown once): {result.ingest_api_key}")
    else:
        print(f"'{ORG_NAME}' already exists (org {result.org_id}) in {where}; keeping its data")


def print_banner(base_url: str, survey_url: str | None, logins: list[Login], rate: float) -> None:
    rule = "=" * 78
    print(rule)
    print(f" streamsrv demo is running at {base_url}")
    print(rule)
    print(f"  home              {base_url}/")
    print(f"  login             {base_url}/login")
    if survey_url:
        print(f"  survey link       {survey_url}   (a customer's view, agent {BANNER_AGENT})")
    print(f"  API (OpenAPI)     {base_url}/api/v1/openapi.json")
    print("  live surfaces (log in first):")
    for path, what in LIVE_SURFACES:
        print(f"    {base_url + path:<34} {what}")
    print()
    print(f"  logins (every password is {DEMO_PASSWORD}):")
    print_logins(logins)
    print()
    print(f"Simulating about {rate:g} responses per second. Press Ctrl-C to stop.")
    print(rule, flush=True)


def progress_printer() -> OnOutcome:
    """Prints one compact line per ``PROGRESS_EVERY`` responses, and failures now and then."""

    def on_outcome(outcome: Outcome, stats: TrafficStats) -> None:
        if not outcome.ok:
            if stats.errors == 1 or stats.errors % PROGRESS_EVERY == 0:
                print(f"  ! simulated response failed ({stats.errors} so far): {outcome.error}", flush=True)
            return
        if stats.sent % PROGRESS_EVERY:
            return
        now = datetime.now(UTC).astimezone().strftime("%H:%M:%S")
        fb = outcome.feedback
        comment = (fb.comment[:40] + "...") if len(fb.comment) > 43 else fb.comment
        paths = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_path.items()))
        print(
            f"  {now}  {stats.sent:>6} responses  avg {stats.average:.2f}  ({paths})  "
            f"last: {fb.rating}* {outcome.target.first_name} @ {outcome.target.account.name} "
            f"via {fb.channel}" + (f' "{comment}"' if comment else ""),
            flush=True,
        )

    return on_outcome


async def wait_ready(base_url: str, server: DemoServer, serving: asyncio.Task[int]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not server.started:
        if serving.done():
            raise RuntimeError("the server stopped while starting (is the port already in use?)")
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start in time")
        await asyncio.sleep(0.05)
    async with httpx.AsyncClient(base_url=base_url, timeout=5.0) as client:
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                answer = await client.get("/readyz")
                if answer.status_code == 200:
                    return
                last = f"{answer.status_code} {answer.text[:200]}"
            except httpx.HTTPError as exc:
                last = str(exc)
            await asyncio.sleep(0.1)
    raise RuntimeError(f"/readyz did not become ready: {last}")


async def sample_survey_link(base_url: str, api_key: str, targets: list[AgentTarget]) -> str | None:
    """A fresh feedback request for the banner, so a newcomer can click and rate right away."""
    target = next((t for t in targets if t.name == BANNER_AGENT), targets[0])
    body = {
        "account_id": target.account.account_id,
        "agent_id": target.agent_id,
        "channel": "chat",
        "external_id": f"demo-banner-{secrets.token_hex(6)}",
        "customer": {"email": f"you.{secrets.token_hex(4)}@example.com", "name": "Demo Visitor"},
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
        try:
            request = await create_request(client, api_key, body)
        except (TrafficError, httpx.HTTPError, ValueError) as exc:
            print(f"  (no survey link: {exc})")
            return None
    url = str(request.get("url") or f"/f/{request['token']}")
    return base_url + url if url.startswith("/") else url


async def serve_and_simulate(
    settings: Settings,
    host: str,
    port: int,
    rate: float,
    api_key: str,
    targets: list[AgentTarget],
    logins: list[Login],
) -> int:
    config = uvicorn.Config(
        create_app(settings, login_hints=login_hints(logins)),
        host=host,
        port=port,
        log_level=settings.log_level,
        lifespan="on",
        ws_per_message_deflate=False,
        ws_max_size=settings.ws_max_frame_bytes,
    )
    server = DemoServer(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # The loop's handlers replace the caller's for the run; removing them resets the signals to
    # their defaults, so the caller's are put back by hand (run_demo still has cleanup to do).
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    serving = asyncio.create_task(server.serve_until_stopped(), name="demo-server")
    traffic: asyncio.Task[TrafficStats] | None = None
    try:
        base_url = f"http://{display_host(host)}:{port}"
        await wait_ready(base_url, server, serving)
        survey_url = await sample_survey_link(base_url, api_key, targets)
        print_banner(base_url, survey_url, logins, rate)
        traffic = asyncio.create_task(
            run_traffic(base_url, api_key, targets, rate, on_outcome=progress_printer(), stop=stop),
            name="demo-traffic",
        )
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({stopper, traffic, serving}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not stop.is_set():
            # The server or the simulator ended on its own: that is a failure worth a non-zero exit.
            print("\nThe server or the traffic simulator stopped unexpectedly; shutting down.", flush=True)
            return 1
        print("\nStopping: traffic, server, Redis ...", flush=True)
        return 0
    finally:
        stop.set()
        if traffic is not None:
            # Let requests on the wire finish (bounded), then cancel whatever is left.
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(traffic, REQUEST_TIMEOUT + 1)
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
            signal.signal(sig, previous[sig])


def run_demo(host: str, port: int, rate: float, seed_only: bool) -> int:
    if rate <= 0:
        print("--rate must be positive")
        return 2
    settings = demo_settings(host, port)
    embedded: EmbeddedRedis | None = None
    catcher: SmtpCatcher | None = None
    # Whatever the demo starts, it stops, on SIGINT and SIGTERM too (streamsrv/shutdown.py).
    with signals_deferred():
        try:
            with stop_on_signals():
                result, api_key, targets = prepare_database(settings)
                print_seed_summary(result, settings)
                if seed_only:
                    print(f"\nLogins (every password is {DEMO_PASSWORD}):")
                    print_logins(result.logins)
                    return 0
                assert api_key is not None
                embedded = embedded_for(settings)
                if embedded is not None:
                    embedded.start()
                    settings = settings.replace(redis_url=embedded.url)
                if not settings.smtp_url:
                    # Survey emails take the real path (worker, SMTP) and land on /outbox.
                    catcher = SmtpCatcher(outbox_dir(settings)).start()
                    settings = settings.replace(smtp_url=catcher.url)
                code = asyncio.run(
                    serve_and_simulate(settings, host, port, rate, api_key, targets, result.logins)
                )
        except StopRequested as stopped:
            # Before or after the server ran (while it runs, the event loop handles the signal).
            print(f"\nStopping on {stopped.name} ...", flush=True)
            code = 0
        except RuntimeError as exc:
            print(f"streamsrv demo could not start: {exc}", flush=True)
            return 1
        finally:
            if catcher is not None:
                catcher.stop()
            if embedded is not None:
                embedded.close()
    print("Stopped cleanly.", flush=True)
    return code
