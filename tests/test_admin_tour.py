"""The admin tour (scripts/admin_tour.py) end to end: a fresh data directory, the real
`streamsrv admin create-org` and `streamsrv serve`, a real SMTP catcher and headless Chromium set
up a working floor through the admin pages alone, with a screenshot per step.

The script starts and stops everything itself (nothing from tests/conftest.py), so this is a
plain subprocess test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import TIMEOUT

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"
STEPS = [
    "login",
    "admin-index",
    "new-account",
    "account-created",
    "teams",
    "import-dry-run-error",
    "import-dry-run-ok",
    "agents",
    "invite-team-leader",
    "invitation-email",
    "choose-password",
    "team-leader-logged-in",
    "users-active",
    "display-created",
    "wallboard",
]


def test_the_tour_sets_up_a_floor_through_the_pages_with_a_screenshot_per_step(tmp_path: Path) -> None:
    out = tmp_path / "shots"
    data = tmp_path / "data"
    tour = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "admin_tour.py"), "--data-dir", str(data), "--out", str(out),
         "--timeout", str(TIMEOUT * 3)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        stdout, stderr = tour.communicate(timeout=TIMEOUT * 80)
    except subprocess.TimeoutExpired:
        # SIGTERM lets the script stop the server, its Redis and the SMTP catcher before exiting.
        tour.terminate()
        stdout, stderr = tour.communicate(timeout=TIMEOUT * 12)
        raise AssertionError(f"the tour did not finish within {TIMEOUT * 80}s: {stderr[-4000:]}") from None
    assert tour.returncode == 0, stderr[-4000:]
    summary = json.loads(stdout)
    assert isinstance(summary["org_id"], int)
    assert summary["accounts"] == 1
    assert summary["teams"] == 2
    assert summary["agents"] == 40
    # The first administrator, the team leader and the manager: both invitations accepted.
    assert summary["users"] == 3 and summary["users_active"] == 3
    assert summary["displays"] == 1

    expected = [f"admin-{n:02d}-{step}.png" for n, step in enumerate(STEPS, start=1)]
    assert summary["screenshots"] == expected
    assert sorted(p.name for p in out.iterdir()) == expected
    for name in expected:
        content = (out / name).read_bytes()
        assert content.startswith(PNG), name
        assert 1_000 < len(content) < 600_000, (name, len(content))
