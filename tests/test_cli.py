"""The ``streamsrv`` command as a real subprocess: bootstrap a tenant, migrate, and use the key."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from streamsrv.app import create_app
from streamsrv.embedded_redis import EmbeddedRedis
from tests.conftest import make_settings
from tests.support import TIMEOUT, LiveServer

# A subprocess pays for interpreter start-up, imports and an Argon2 hash.
CLI_TIMEOUT = TIMEOUT * 12


def run_cli(args: list[str], database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSRV_")}
    env["STREAMSRV_DATABASE_URL"] = database_url
    env["STREAMSRV_DATA_DIR"] = str(cwd / "var")
    return subprocess.run(
        [sys.executable, "-m", "streamsrv", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )


def create_org(database_url: str, cwd: Path, email: str, *extra: str) -> dict[str, Any]:
    done = run_cli(
        ["admin", "create-org", "Acme Contact Center", "--admin-email", email, *extra], database_url, cwd
    )
    assert done.returncode == 0, done.stderr
    created: dict[str, Any] = json.loads(done.stdout)
    return created


def assert_key_works(base_url: str, api_key: str) -> None:
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        ok = client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {api_key}"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["items"] == []
        made = client.post(
            "/api/v1/accounts", json={"name": "First client"}, headers={"Authorization": f"Bearer {api_key}"}
        )
        assert made.status_code == 201, made.text
        wrong = client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {api_key}x"})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "unauthorized"


def test_create_org_on_a_fresh_sqlite_file(tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    created = create_org(url, tmp_path, "Boss@Example.com", "--admin-password", "a long enough password")
    assert isinstance(created["org_id"], int)
    assert created["admin"]["email"] == "boss@example.com"
    assert created["admin"]["password"] == "a long enough password"
    assert created["api_key"].startswith("ssk_")

    live = LiveServer(create_app(make_settings(url, redis_server.url, tmp_path))).start()
    try:
        assert_key_works(live.url, created["api_key"])
        # The printed password logs in too.
        with httpx.Client(base_url=live.url, timeout=TIMEOUT) as browser:
            form = browser.get("/login")
            assert form.status_code == 200
            token = browser.cookies.get("streamsrv_csrf") or ""
            login = browser.post(
                "/login",
                data={"email": "boss@example.com", "password": "a long enough password", "csrf_token": token},
            )
            assert login.status_code in (200, 303), login.text
            assert "streamsrv_session" in browser.cookies
    finally:
        live.stop()


def test_create_org_against_the_live_server_database(
    database_url: str, server: LiveServer, tmp_path: Path
) -> None:
    """Runs on SQLite and on PostgreSQL: the CLI writes where the running server reads."""
    email = f"cli-{secrets.token_hex(4)}@example.com"
    created = create_org(database_url, tmp_path, email)
    # No password given: a random one is generated and printed.
    assert len(created["admin"]["password"]) >= 12
    assert_key_works(server.url, created["api_key"])

    # Emails are unique per organization: the same person may administer another one, and the
    # answer never says the address is used elsewhere.
    second = run_cli(
        ["admin", "create-org", "Another", "--admin-email", email.upper()], database_url, tmp_path
    )
    assert second.returncode == 0, second.stderr
    other = json.loads(second.stdout)
    assert other["org_id"] != created["org_id"] and other["admin"]["email"] == email
    assert_key_works(server.url, other["api_key"])

    refused = run_cli(
        ["admin", "create-org", "Bad", "--admin-email", "not-an-address"], database_url, tmp_path
    )
    assert refused.returncode != 0 and refused.stdout == ""
    error = json.loads(refused.stderr.strip().splitlines()[-1])["error"]
    assert error["code"] == "validation_error" and "not an email address" in error["message"]


def test_migrate_is_idempotent(database_url: str, tmp_path: Path) -> None:
    fresh = f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
    for url in (fresh, fresh, database_url, database_url):
        done = run_cli(["migrate"], url, tmp_path)
        assert done.returncode == 0, done.stderr
        assert "latest schema" in done.stdout


def test_cli_rejects_bad_usage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'usage.sqlite3'}"
    missing = run_cli(["admin", "create-org", "No Admin"], url, tmp_path)
    assert missing.returncode == 2
    assert "--admin-email" in missing.stderr
    not_email = run_cli(["admin", "create-org", "Acme", "--admin-email", "nobody"], url, tmp_path)
    assert not_email.returncode != 0
    assert json.loads(not_email.stderr.strip().splitlines()[-1])["error"]["message"]


def test_create_org_refuses_a_weak_admin_password(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'weak.sqlite3'}"
    for password in ("Password2024!", "boss@example.com's", "1111111111"):
        weak = run_cli(
            [
                "admin",
                "create-org",
                "Acme",
                "--admin-email",
                "boss@example.com",
                "--admin-password",
                password,
            ],
            url,
            tmp_path,
        )
        assert weak.returncode == 2 and weak.stdout == "", weak.stderr
        error = json.loads(weak.stderr.strip().splitlines()[-1])["error"]
        assert error["code"] == "validation_error" and set(error["fields"]) == {"password"}, error
    # Nothing was created: the email is still free.
    assert create_org(url, tmp_path, "boss@example.com", "--admin-password", "a long enough password")


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    """A taken port: one line naming it and --port, a non-zero exit, no traceback, and nothing
    started (no embedded Redis left behind, no schema written)."""
    url = f"sqlite:///{tmp_path / 'busy.sqlite3'}"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli(["serve", "--host", "127.0.0.1", "--port", str(port)], url, tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "already in use" in lines[0] and "--port" in lines[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "var" / "redis").exists()
    assert not (tmp_path / "busy.sqlite3").exists()
