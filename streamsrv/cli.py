"""The ``streamsrv`` command: serve, demo, migrate, admin."""

from __future__ import annotations

import argparse
import errno
import json
import os
import socket
import sys
from collections.abc import Sequence

from streamsrv.config import ConfigError, Settings


def _migrate(settings: Settings) -> None:
    from streamsrv import migrate
    from streamsrv.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    _migrate(settings)
    print(f"database is at the latest schema ({settings.database_url.split('@')[-1]})")
    return 0


class PortInUse(Exception):
    """The address to listen on is taken (another streamsrv, or any other server)."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host, self.port, self.reason = host, port, reason
        super().__init__(
            f"cannot listen on {host}:{port}: {reason}. Is streamsrv already running? "
            f"Choose another port with --port (for example --port {port + 1 if port < 65535 else 8000})."
        )


def check_port(host: str, port: int) -> None:
    """Raise ``PortInUse`` unless ``host:port`` can be bound now, as uvicorn will bind it (with
    ``SO_REUSEADDR``, so a port in ``TIME_WAIT`` is free, a listening one is not)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortInUse(host, port, f"unknown host ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "the port is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise PortInUse(host, port, str(reason or exc)) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from streamsrv.embedded_redis import EmbeddedRedis, embedded_for
    from streamsrv.shutdown import StopRequested, signals_deferred, stop_on_signals

    settings = Settings.from_env()
    # Before anything starts (migrations, the embedded Redis): a taken port is a one-line error.
    check_port(args.host, args.port)
    embedded: EmbeddedRedis | None = None
    # Whatever this starts, it stops: on SIGINT and SIGTERM too (streamsrv/shutdown.py), and
    # with --workers, where the workers are uvicorn's children and Redis is ours.
    with signals_deferred():
        try:
            with stop_on_signals():
                if not args.no_migrate:
                    _migrate(settings)
                # Workers are separate processes: they must share one Redis and one secret, so
                # both are settled here, before any worker starts.
                os.environ["STREAMSRV_SECRET_KEY"] = settings.secret_key
                if args.ws_fastpath is not None:
                    os.environ["STREAMSRV_WS_FASTPATH"] = args.ws_fastpath
                embedded = embedded_for(settings)
                if embedded is not None:
                    embedded.start()
                    os.environ["STREAMSRV_REDIS_URL"] = embedded.url
                _run_uvicorn(args, settings)
        except StopRequested:
            # uvicorn has shut down (it re-raises the signal it handled), or the signal came
            # before it started: either way a requested, clean stop.
            pass
        finally:
            if embedded is not None:
                embedded.close()
    return 0


def _run_uvicorn(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from streamsrv.logs import log_config

    uvicorn.run(
        "streamsrv.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level,
        log_config=log_config(settings.log_format, settings.log_level) or uvicorn.config.LOGGING_CONFIG,
        proxy_headers=args.proxy_headers,
        ws_max_size=settings.ws_max_frame_bytes,
        # Compression would cost CPU per frame and memory per socket; events are small.
        ws_per_message_deflate=False,
        # The sans-I/O websocket implementation frames in memory and writes to the transport
        # synchronously, which is what lets the hub write pre-encoded frames (docs/benchmarks.md).
        ws=args.ws,
        loop=args.loop,
        http=args.http,
        backlog=args.backlog,
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from streamsrv.demo.runner import run_demo

    if not args.seed_only:
        check_port(args.host, args.port)
    return run_demo(host=args.host, port=args.port, rate=args.rate, seed_only=args.seed_only)


def cmd_create_org(args: argparse.Namespace) -> int:
    from streamsrv.db import Database
    from streamsrv.tenancy import TenancyError, create_org

    settings = Settings.from_env()
    _migrate(settings)
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            created = create_org(session, args.name, args.admin_email, args.admin_password)
    except TenancyError as exc:
        error = {"code": exc.code, "message": str(exc), "fields": exc.fields}
        print(json.dumps({"error": error}), file=sys.stderr)
        return 2
    finally:
        db.dispose()
    print(json.dumps(created.as_dict(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamsrv", description="Real-time customer feedback for contact centers."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-migrate", action="store_true", help="do not upgrade the schema first")
    serve.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-* from a proxy")
    serve.add_argument(
        "--ws",
        default="websockets-sansio",
        choices=["websockets-sansio", "websockets", "wsproto", "auto"],
        help="uvicorn websocket implementation (default: websockets-sansio, the fastest here)",
    )
    serve.add_argument(
        "--ws-fastpath",
        default=None,
        choices=["auto", "off"],
        help="auto: write frames straight to uvicorn's transport when --ws allows it (websockets-sansio,"
        " websockets); off: plain ASGI sends (default: STREAMSRV_WS_FASTPATH, else auto)",
    )
    serve.add_argument("--loop", default="auto", choices=["auto", "uvloop", "asyncio"], help="event loop")
    serve.add_argument("--http", default="auto", choices=["auto", "httptools", "h11"], help="HTTP parser")
    serve.add_argument("--backlog", type=int, default=4096, help="listen backlog (connection storms)")
    serve.set_defaults(fn=cmd_serve)

    demo = sub.add_parser("demo", help="seed a demo organization, serve it and simulate live traffic")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--rate", type=float, default=1.0, help="simulated responses per second")
    demo.add_argument("--seed-only", action="store_true", help="seed and print logins, then exit")
    demo.set_defaults(fn=cmd_demo)

    mig = sub.add_parser("migrate", help="create or upgrade the database schema")
    mig.set_defaults(fn=cmd_migrate)

    admin = sub.add_parser("admin", help="administration")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    org = admin_sub.add_parser("create-org", help="create an organization with an admin user and API key")
    org.add_argument("name")
    org.add_argument("--admin-email", required=True)
    org.add_argument("--admin-password", default=None, help="default: a random one, printed")
    org.set_defaults(fn=cmd_create_org)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except ConfigError as exc:
        # A bad STREAMSRV_* value: one line naming it, not a traceback.
        print(f"streamsrv: {exc}", file=sys.stderr)
        return 2
    except PortInUse as exc:
        print(f"streamsrv: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
