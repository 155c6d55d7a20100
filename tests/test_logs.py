"""Structured logs: `streamsrv serve` writes one JSON object per line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx

from streamsrv.embedded_redis import free_port
from streamsrv.logs import JsonFormatter
from tests.support import TIMEOUT, wait_until


def test_json_formatter_keeps_extra_fields_and_exceptions() -> None:
    record = logging.makeLogRecord(
        {"name": "streamsrv.relay", "levelname": "WARNING", "msg": "lag %s", "args": (3,), "batch": 17}
    )
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert entry["msg"] == "lag 3" and entry["level"] == "warning" and entry["logger"] == "streamsrv.relay"
    assert entry["batch"] == 17 and "ValueError: boom" in entry["exc"] and entry["ts"].endswith("Z")


def test_serve_logs_json_lines(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "STREAMSRV_DATA_DIR": str(tmp_path),
        "STREAMSRV_LOG_FORMAT": "json",
        "STREAMSRV_LOG_LEVEL": "info",
    }
    env.pop("STREAMSRV_DATABASE_URL", None)
    env.pop("STREAMSRV_REDIS_URL", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamsrv", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=TIMEOUT * 6)
    finally:
        proc.terminate()
        proc.wait(TIMEOUT * 2)
    lines = [line for line in log.read_text().splitlines() if line.strip().startswith("{")]
    entries = [json.loads(line) for line in lines]
    assert any(e["logger"] == "uvicorn.access" and "/readyz" in e["msg"] for e in entries), log.read_text()[
        -2000:
    ]
    assert all({"ts", "level", "logger", "msg"} <= set(e) for e in entries)
