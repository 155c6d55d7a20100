"""A realistic stage for the /me and wallboard screenshots: the demo organization with its month
of history, plus today's traffic for one team, on a real server (SQLite, private Redis).

Used by ``scripts/screenshots/me.py`` and ``scripts/screenshots/wallboard.py``.
"""

from __future__ import annotations

import random
import secrets
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlmodel import select  # noqa: E402

from streamsrv import migrate  # noqa: E402
from streamsrv.app import create_app  # noqa: E402
from streamsrv.config import Settings  # noqa: E402
from streamsrv.db import Database  # noqa: E402
from streamsrv.demo.feedback import draw_feedback  # noqa: E402
from streamsrv.demo.seed import demo_targets, seed_demo  # noqa: E402
from streamsrv.demo.traffic import interaction_fields  # noqa: E402
from streamsrv.embedded_redis import EmbeddedRedis  # noqa: E402
from streamsrv.models import Team  # noqa: E402
from tests.support import LiveServer  # noqa: E402

SHOTS = ROOT / "docs" / "screenshots"
TEAM = "Mobile Care"


@dataclass
class Stage:
    server: LiveServer
    db: Database
    org_id: int
    team_id: int
    ingest_key: str
    logins: dict[str, tuple[str, str]]


def post_today(stage: Stage, count: int, rng: random.Random) -> None:
    """``count`` answers for the team, spread over today so far (UTC)."""
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    span = max((now - midnight).total_seconds() - 120, 60)
    with stage.db.session() as s:
        targets = [t for t in demo_targets(s, stage.org_id) if t.team_id == stage.team_id]
    with httpx.Client(
        base_url=stage.server.url, headers={"Authorization": f"Bearer {stage.ingest_key}"}, timeout=10
    ) as api:
        for _ in range(count):
            target = rng.choices(targets, weights=[1 + (t.agent_id % 4) for t in targets], k=1)[0]
            drawn = draw_feedback(rng, target)
            body = interaction_fields(target, drawn, "shot") | drawn.response_fields()
            body["responded_at"] = (midnight + timedelta(seconds=rng.uniform(0, span))).isoformat()
            body["occurred_at"] = body["responded_at"]
            r = api.post("/api/v1/feedback", json=body)
            r.raise_for_status()


@contextmanager
def stage(today: int = 70) -> Iterator[Stage]:
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis() as redis:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/shots.sqlite3",
            redis_url=redis.url,
            secret_key=secrets.token_urlsafe(32),
            data_dir=Path(tmp),
            redis_prefix="shots",
        )
        db = Database(settings.database_url)
        migrate.upgrade(db.engine)
        with db.session() as s:
            seeded = seed_demo(s, settings, rng=random.Random(7))
        with db.session() as s:
            team = s.exec(select(Team).where(Team.org_id == seeded.org_id, Team.name == TEAM)).one()
            assert team.id is not None
            team_id = team.id
        server = LiveServer(create_app(settings)).start()
        assert seeded.ingest_api_key is not None
        logins = {login.role: (login.email, login.password) for login in seeded.logins}
        current = Stage(server, db, seeded.org_id, team_id, seeded.ingest_api_key, logins)
        try:
            post_today(current, today, random.Random(11))
            yield current
        finally:
            server.stop()
            db.dispose()
