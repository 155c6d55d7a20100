"""``scripts/rewards_qa_screens.py`` against a real ``streamsrv demo`` process: every picture is taken
or, for a page this build does not have, reported as skipped (exit 1); the others still are."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.process_support import START_TIMEOUT, clean_env, running, streamsrv_command

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "rewards_qa_screens.py"
SHOTS = ("statement.png", "qa-form.png", "one-on-one.png")
PNG = b"\x89PNG\r\n\x1a\n"

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_screens_are_taken_or_reported_missing(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "var")
    out = tmp_path / "shots"
    with running([*streamsrv_command(), "demo", "--rate", "1"], tmp_path, env) as demo:
        demo.wait_healthy(timeout=START_TIMEOUT * 2, path="/readyz")
        done = subprocess.run(
            [sys.executable, str(SCRIPT), "--url", demo.url, "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT * 2,
            cwd=ROOT,
        )
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    # The QA form is on every build since QA; its picture is a real PNG.
    assert f"saved {out / 'qa-form.png'}" in done.stdout, output
    assert (out / "qa-form.png").read_bytes().startswith(PNG)
    missing = []
    for name in SHOTS:
        if f"saved {out / name}" in done.stdout:
            assert (out / name).read_bytes().startswith(PNG)
        else:
            assert f"skipped {name}: " in done.stdout and "answered 404" in done.stdout, output
            assert not (out / name).exists()
            missing.append(name)
    assert done.returncode == (1 if missing else 0), output
    if missing:
        assert f"not taken: {', '.join(missing)}" in done.stdout
