"""Shared fixtures: a private redis-server, SQLite and PostgreSQL databases, a live server.

Database tests run once per backend (``backend`` is parametrized): SQLite in a temp file and a
fresh, uniquely named database on the PostgreSQL at ``STREAMSRV_TEST_PG`` (default
127.0.0.1:5432, database ``test``), dropped afterwards so parallel runs never collide.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from streamsrv import migrate
from streamsrv.app import create_app, wire_hooks
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.embedded_redis import EmbeddedRedis
from streamsrv.tenancy import NewOrg, create_org
from tests.support import TIMEOUT, LiveServer

# Browser fixtures (browser, page, ...) for the Playwright tests.
pytest_plugins = ["tests.browser"]

PG_ADMIN_URL = os.environ.get("STREAMSRV_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]

# Tests that store responses straight through a session (the demo seed, property tests) need the
# features connected just as the application connects them.
wire_hooks()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis() as server:
        yield server


def _pg_admin() -> psycopg.Connection:
    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=int(TIMEOUT))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    name = f"streamsrv_test_{secrets.token_hex(6)}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    if backend == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "streamsrv.sqlite3"
        return f"sqlite:///{path}"
    return str(request.getfixturevalue("pg_url"))


def make_settings(database_url: str, redis_url: str, tmp: Path, **overrides: object) -> Settings:
    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_key=secrets.token_urlsafe(32),
        data_dir=tmp,
        redis_prefix=f"t{secrets.token_hex(4)}",
    )
    return settings.replace(**overrides) if overrides else settings


@pytest.fixture(scope="session")
def settings(
    database_url: str, redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return make_settings(database_url, redis_server.url, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    migrate.upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def server(settings: Settings, db: Database) -> Iterator[LiveServer]:
    live = LiveServer(create_app(settings)).start()
    yield live
    live.stop()


@dataclass
class Tenant:
    """A fresh organization per test: tests never see each other's rows."""

    org: NewOrg
    server: LiveServer
    api: httpx.Client

    @property
    def org_id(self) -> int:
        return self.org.org_id

    def client(self, api_key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=TIMEOUT)


@pytest.fixture
def tenant(server: LiveServer, db: Database) -> Iterator[Tenant]:
    with db.session() as session:
        org = create_org(
            session,
            f"Org {secrets.token_hex(3)}",
            f"admin-{secrets.token_hex(4)}@example.com",
            "correct horse battery",
        )
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {org.api_key}"}, timeout=TIMEOUT
    ) as api:
        yield Tenant(org=org, server=server, api=api)


@contextmanager
def fresh_database(backend: str, tmp: Path) -> Iterator[Database]:
    """A database of its own, for tests whose relay must not share an outbox with other servers."""
    if backend == "sqlite":
        database = Database(f"sqlite:///{tmp / f'iso-{secrets.token_hex(4)}.sqlite3'}")
        migrate.upgrade(database.engine)
        try:
            yield database
        finally:
            database.dispose()
        return
    name = f"streamsrv_iso_{secrets.token_hex(6)}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database = Database(f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}")
    try:
        migrate.upgrade(database.engine)
        yield database
    finally:
        database.dispose()
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Stack:
    """A server with its own database and its own redis-server (which tests may kill)."""

    settings: Settings
    db: Database
    redis: EmbeddedRedis
    server: LiveServer
    org: NewOrg


@pytest.fixture
def stack(backend: str, tmp_path: Path) -> Iterator[Stack]:
    with fresh_database(backend, tmp_path) as database, EmbeddedRedis() as redis:
        settings = make_settings(database.url, redis.url, tmp_path, relay_poll_interval=0.2)
        with database.session() as session:
            org = create_org(
                session, "Isolated", f"admin-{secrets.token_hex(4)}@example.com", "correct horse battery"
            )
        live = LiveServer(create_app(settings)).start()
        try:
            yield Stack(settings, database, redis, live, org)
        finally:
            live.stop()
