"""Settings: every field from STREAMSRV_<NAME>, derived defaults in the data directory, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from streamsrv.config import ConfigError, Settings
from tests.process_support import clean_env
from tests.support import TIMEOUT

# A value for each field that differs from its default, as the environment would spell it.
ENV_VALUES: dict[str, tuple[str, object]] = {
    "data_dir": ("/srv/streamsrv", Path("/srv/streamsrv")),
    "database_url": ("postgresql://u@db:5432/x", "postgresql://u@db:5432/x"),
    "redis_url": ("redis://cache:6379/1", "redis://cache:6379/1"),
    "secret_key": ("s3cret-from-env", "s3cret-from-env"),
    "public_url": ("https://feedback.example.com/", "https://feedback.example.com"),
    "redis_prefix": ("acme", "acme"),
    "session_max_age": ("60", 60),
    "cookie_secure": ("true", True),
    "max_body_bytes": ("1000", 1000),
    "max_upload_bytes": ("2000", 2000),
    "stream_token_max_ttl": ("30", 30),
    "stream_history_maxlen": ("7", 7),
    "stream_history_ttl": ("90", 90),
    "relay_batch_size": ("11", 11),
    "relay_poll_interval": ("0.25", 0.25),
    "worker": ("false", False),
    "delivery_poll_interval": ("0.5", 0.5),
    "ws_send_buffer_bytes": ("4096", 4096),
    "ws_max_frame_bytes": ("512", 512),
    "ws_fastpath": ("off", "off"),
    "log_level": ("debug", "debug"),
    "log_format": ("text", "text"),
    "metrics_token": ("scrape-me", "scrape-me"),
    "smtp_url": ("smtp://relay:25", "smtp://relay:25"),
    "smtp_from": ("noreply@example.com", "noreply@example.com"),
    "outbound_allow_private": ("true", True),
    "login_window": ("60", 60),
    "login_max_per_client": ("3", 3),
    "login_max_per_address": ("30", 30),
    "login_max_per_email": ("20", 20),
    "password_hash_workers": ("2", 2),
    "max_ingest_in_flight": ("8", 8),
    "invite_link_ttl": ("86400", 86400),
    "reset_link_ttl": ("1800", 1800),
    "reset_max_per_email": ("3", 3),
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No STREAMSRV_* from the outside; the working directory is a temp folder."""
    for name in list(os.environ):
        if name.startswith("STREAMSRV_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_the_table_covers_every_field() -> None:
    assert set(ENV_VALUES) == set(Settings.model_fields)


def test_every_field_is_read_from_its_variable(env: pytest.MonkeyPatch) -> None:
    for field, (raw, _) in ENV_VALUES.items():
        env.setenv(f"STREAMSRV_{field.upper()}", raw)
    settings = Settings.from_env()
    for field, (_, expected) in ENV_VALUES.items():
        assert getattr(settings, field) == expected, field


def test_defaults_live_in_the_data_dir(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings.from_env()
    assert settings.data_dir == Path("var")
    assert settings.database_url == "sqlite:///var/streamsrv.sqlite3"
    secret = tmp_path / "var" / "secret_key"
    assert secret.read_text() == settings.secret_key and len(settings.secret_key) >= 32
    assert secret.stat().st_mode & 0o777 == 0o600
    # The same secret on the next start; nothing else was written.
    assert Settings.from_env().secret_key == settings.secret_key
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == ["secret_key"]

    env.setenv("STREAMSRV_DATA_DIR", str(tmp_path / "elsewhere"))
    moved = Settings.from_env()
    assert moved.database_url == f"sqlite:///{tmp_path / 'elsewhere' / 'streamsrv.sqlite3'}"
    assert (tmp_path / "elsewhere" / "secret_key").read_text() == moved.secret_key
    assert moved.avatars_dir == tmp_path / "elsewhere" / "avatars"
    assert moved.redis_dir == tmp_path / "elsewhere" / "redis"


def test_an_empty_variable_means_the_default(env: pytest.MonkeyPatch) -> None:
    env.setenv("STREAMSRV_MAX_BODY_BYTES", "")
    env.setenv("STREAMSRV_PUBLIC_URL", "")
    env.setenv("STREAMSRV_SECRET_KEY", "given")
    settings = Settings.from_env()
    assert settings.max_body_bytes == 64 * 1024
    assert settings.public_url == "http://127.0.0.1:8000"


def test_direct_construction_ignores_the_environment(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("STREAMSRV_PUBLIC_URL", "https://from-env.example")
    env.setenv("STREAMSRV_LOG_FORMAT", "text")
    settings = Settings(database_url="sqlite://", redis_url="redis://r", secret_key="k", data_dir=tmp_path)
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.log_format == "json"
    assert settings.data_dir == tmp_path
    with pytest.raises(ValidationError):
        Settings(databse_url="sqlite://", secret_key="k")  # type: ignore[call-arg]


def test_replace_validates_and_keeps_the_rest(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("STREAMSRV_SECRET_KEY", "k")
    settings = Settings.from_env()
    changed = settings.replace(public_url="http://127.0.0.1:9000/", cookie_secure=True)
    assert changed.public_url == "http://127.0.0.1:9000"
    assert changed.cookie_secure is True and settings.cookie_secure is False
    assert changed.secret_key == "k" and changed.database_url == settings.database_url
    with pytest.raises(TypeError, match="unknown settings: nope"):
        settings.replace(nope=1)
    with pytest.raises(ValidationError):
        settings.replace(max_body_bytes="lots")
    with pytest.raises(ValidationError):
        settings.public_url = "x"  # type: ignore[misc]


def test_a_bad_value_names_the_variable(env: pytest.MonkeyPatch) -> None:
    env.setenv("STREAMSRV_MAX_BODY_BYTES", "abc")
    env.setenv("STREAMSRV_COOKIE_SECURE", "maybe")
    with pytest.raises(ConfigError) as caught:
        Settings.from_env()
    message = str(caught.value)
    assert "\n" not in message
    assert "STREAMSRV_MAX_BODY_BYTES='abc'" in message
    assert "STREAMSRV_COOKIE_SECURE='maybe'" in message


def test_the_cli_reports_a_bad_value_in_one_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "data", STREAMSRV_MAX_BODY_BYTES="abc")
    done = subprocess.run(
        [sys.executable, "-m", "streamsrv", "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 12,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("streamsrv: invalid configuration: STREAMSRV_MAX_BODY_BYTES='abc'")
    assert "integer" in lines[0]


def test_the_docs_list_every_variable() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"`STREAMSRV_{name.upper()}`" not in docs]
    assert not missing, f"docs/configuration.md does not list {missing}"


def test_login_limits_and_hash_workers_refuse_nonsense(env: pytest.MonkeyPatch) -> None:
    env.setenv("STREAMSRV_SECRET_KEY", "k")
    for name, value in (
        ("LOGIN_MAX_PER_CLIENT", "0"),
        ("LOGIN_WINDOW", "-5"),
        ("PASSWORD_HASH_WORKERS", "-1"),
        ("MAX_INGEST_IN_FLIGHT", "-1"),
    ):
        env.setenv(f"STREAMSRV_{name}", value)
        with pytest.raises(ConfigError, match=f"STREAMSRV_{name}"):
            Settings.from_env()
        env.delenv(f"STREAMSRV_{name}")
