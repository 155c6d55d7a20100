"""Smoke test of the benchmark harness: ``scripts/bench.py --quick`` end to end.

It runs every workload at a small size against real servers, a real Redis and real databases
(SQLite and PostgreSQL), the peer and the lean ingest reference included, and checks that the harness works and that nothing
was lost or delivered twice. Speed is not asserted: this machine's numbers belong in
docs/benchmarks.md, not in a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _no_losses(name: str, figures: dict[str, Any]) -> None:
    for key in ("lost", "missed", "duplicates", "publish_failed", "reconnect_failed"):
        if key in figures:
            assert figures[key] == 0, f"{name}: {key} = {figures[key]}"


def test_quick_benchmark_runs_every_workload_without_losses(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads(out.read_text())
    assert "error" not in results
    ours, peer = results["streamsrv"], results["python-socketio"]
    assert set(ours) == {"idle", "broadcast", "personal", "storm", "ingest_sqlite", "ingest_postgresql"}
    assert set(peer) == {"idle", "broadcast", "personal"}
    for server in (ours, peer):
        assert server["idle"]["held"] == server["idle"]["connections"]
        assert server["broadcast"]["steps"], "no broadcast step ran"
        for step in server["broadcast"]["steps"]:
            _no_losses("broadcast step", step)
        _no_losses("personal", server["personal"])
    _no_losses("storm", ours["storm"])
    _no_losses("ingest_sqlite", ours["ingest_sqlite"])
    _no_losses("ingest_postgresql", ours["ingest_postgresql"])
    assert ours["storm"]["events"] > 0
    # The lean ingest reference ran on both backends with the same load, and the ratio is there.
    lean = results["lean_reference"]
    assert set(lean) == {"sqlite", "postgresql"}
    for backend, pair in lean.items():
        _no_losses(f"lean reference {backend}", pair["lean"])
        assert pair["lean"]["statuses"] == {"201": pair["lean"]["responses"]}
        assert pair["lean_rps"] > 0 and pair["streamsrv_rps"] > 0
        assert pair["ratio"] > 0
        assert pair["streamsrv_rps"] == ours[f"ingest_{backend}"]["http_per_s"]
    assert "| ingest floor | lean_rps | streamsrv_rps | streamsrv/lean |" in proc.stdout
    assert "the lean reference" in proc.stdout
    # The table names both servers and every target, met or not.
    assert "| idle |" in proc.stdout and "| target | measured | met |" in proc.stdout
