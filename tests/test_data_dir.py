"""What the server writes at run time lands in the data directory, and is served from there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from streamsrv import migrate
from streamsrv.app import create_app
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.demo import avatars
from streamsrv.demo.seed import seed_demo
from streamsrv.embedded_redis import EmbeddedRedis
from streamsrv.models import Agent
from streamsrv.paths import STATIC_DIR, TEMPLATES_DIR
from tests.conftest import make_settings
from tests.support import TIMEOUT, LiveServer


def package_files() -> set[Path]:
    return {
        p for root in (STATIC_DIR, TEMPLATES_DIR) for p in root.rglob("*") if "__pycache__" not in p.parts
    }


@pytest.fixture
def seeded(tmp_path: Path, redis_server: EmbeddedRedis) -> Iterator[tuple[Settings, list[Agent]]]:
    data = tmp_path / "data"
    settings = make_settings(f"sqlite:///{data / 'demo.sqlite3'}", redis_server.url, data)
    db = Database(settings.database_url)
    try:
        migrate.upgrade(db.engine)
        with db.session() as session:
            org_id = seed_demo(session, settings, with_history=False).org_id
        with db.session() as session:
            agents = list(session.exec(select(Agent).where(Agent.org_id == org_id)).all())
        yield settings, agents
    finally:
        db.dispose()


def test_assets_are_found_in_the_package() -> None:
    assert (TEMPLATES_DIR / "login.html").is_file()
    assert (STATIC_DIR / "css" / "app.css").is_file()
    # Nothing generated ships with (or is written into) the package's static files.
    assert not (STATIC_DIR / "img" / "avatars").exists()


def test_demo_avatars_are_written_to_the_data_dir_and_served_from_it(
    seeded: tuple[Settings, list[Agent]],
) -> None:
    before = package_files()
    settings, agents = seeded
    assert agents
    written = sorted(p.name for p in settings.avatars_dir.iterdir())
    assert len(written) == len({a.name for a in agents})
    assert package_files() == before

    live = LiveServer(create_app(settings)).start()
    try:
        with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
            for agent in agents[:3]:
                assert agent.photo_url == avatars.avatar_url(agent.name)
                answer = client.get(agent.photo_url)
                assert answer.status_code == 200, agent.photo_url
                assert answer.headers["content-type"].startswith("image/svg+xml")
                assert answer.text == avatars.avatar_svg(agent.name)
            # The package's own static files are still there, beside the mount.
            assert client.get("/static/css/app.css").status_code == 200
            assert client.get("/static/img/avatars/nobody.svg").status_code == 404
    finally:
        live.stop()


def test_avatars_come_back_when_the_data_dir_lost_them(seeded: tuple[Settings, list[Agent]]) -> None:
    settings, agents = seeded
    for picture in settings.avatars_dir.iterdir():
        picture.unlink()
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            assert seed_demo(session, settings).created is False
    finally:
        db.dispose()
    assert len(list(settings.avatars_dir.iterdir())) == len({a.name for a in agents})


def test_a_server_without_avatars_answers_404_not_500(tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'x.sqlite3'}", redis_server.url, tmp_path / "never-made")
    db = Database(settings.database_url)
    migrate.upgrade(db.engine)
    db.dispose()
    live = LiveServer(create_app(settings)).start()
    try:
        answer = httpx.get(live.url + "/static/img/avatars/maya-chen.svg", timeout=TIMEOUT)
        assert answer.status_code == 404
    finally:
        live.stop()
    assert not (tmp_path / "never-made").exists()
