"""Settings read from ``STREAMSRV_*`` environment variables.

Every setting has a default that works on a laptop with nothing installed: a SQLite file under
``./var`` and a private embedded Redis that the server starts and stops itself.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path

ENV_PREFIX = "STREAMSRV_"
DEFAULT_DATA_DIR = Path("var")


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV_PREFIX + name, default)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(ENV_PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{ENV_PREFIX}{name} must be an integer, got {raw!r}") from None


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(ENV_PREFIX + name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _load_or_create_secret(data_dir: Path) -> str:
    """A stable per-installation secret so that sessions survive a restart of the demo."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Build it with :meth:`from_env`; tests construct it directly."""

    database_url: str
    # Empty means: start a private embedded Redis (see ``streamsrv.embedded_redis``).
    redis_url: str
    secret_key: str
    data_dir: Path = DEFAULT_DATA_DIR
    # Public base URL used to build survey links in API answers and emails.
    public_url: str = "http://127.0.0.1:8000"
    # Prefix of every Redis key and channel, so several installations can share one Redis.
    redis_prefix: str = "streamsrv"
    session_max_age: int = 12 * 3600
    cookie_secure: bool = False
    max_body_bytes: int = 64 * 1024
    max_upload_bytes: int = 2 * 1024 * 1024
    stream_token_max_ttl: int = 24 * 3600
    # Stream history (Redis Streams): entries kept per stream and their time to live.
    stream_history_maxlen: int = 10_000
    stream_history_ttl: int = 7 * 24 * 3600
    relay_batch_size: int = 500
    relay_poll_interval: float = 1.0
    # Run the delivery worker and the scheduler on this node (any number of nodes may).
    worker: bool = True
    delivery_poll_interval: float = 2.0
    # Server-wide SMTP for survey emails (smtp://user:pass@host:587?starttls=true, smtps://...);
    # an organization may set its own through /api/v1/smtp-settings.
    smtp_url: str = ""
    # Sender address when neither the organization nor the URL's ?from= names one.
    smtp_from: str = ""
    ws_send_buffer_bytes: int = 1024 * 1024
    ws_max_frame_bytes: int = 16 * 1024
    log_level: str = "info"
    # "json" (one object per line, for log pipelines) or "text".
    log_format: str = "json"
    # Bearer token for /metrics; without one, only loopback clients may scrape.
    metrics_token: str = ""
    # Set by `streamsrv demo` only: the login page then lists the demo logins.
    demo: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(_env("DATA_DIR", str(DEFAULT_DATA_DIR)))
        database_url = _env("DATABASE_URL", "") or f"sqlite:///{data_dir / 'streamsrv.sqlite3'}"
        secret = _env("SECRET_KEY", "") or _load_or_create_secret(data_dir)
        return cls(
            database_url=database_url,
            redis_url=_env("REDIS_URL", ""),
            secret_key=secret,
            data_dir=data_dir,
            public_url=_env("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            redis_prefix=_env("REDIS_PREFIX", "streamsrv"),
            session_max_age=_env_int("SESSION_MAX_AGE", 12 * 3600),
            cookie_secure=_env_bool("COOKIE_SECURE", False),
            max_body_bytes=_env_int("MAX_BODY_BYTES", 64 * 1024),
            max_upload_bytes=_env_int("MAX_UPLOAD_BYTES", 2 * 1024 * 1024),
            stream_token_max_ttl=_env_int("STREAM_TOKEN_MAX_TTL", 24 * 3600),
            stream_history_maxlen=_env_int("STREAM_HISTORY_MAXLEN", 10_000),
            stream_history_ttl=_env_int("STREAM_HISTORY_TTL", 7 * 24 * 3600),
            relay_batch_size=_env_int("RELAY_BATCH_SIZE", 500),
            worker=_env_bool("WORKER", True),
            ws_send_buffer_bytes=_env_int("WS_SEND_BUFFER_BYTES", 1024 * 1024),
            ws_max_frame_bytes=_env_int("WS_MAX_FRAME_BYTES", 16 * 1024),
            log_level=_env("LOG_LEVEL", "info"),
            log_format=_env("LOG_FORMAT", "json"),
            metrics_token=_env("METRICS_TOKEN", ""),
            smtp_url=_env("SMTP_URL", ""),
            smtp_from=_env("SMTP_FROM", ""),
        )

    def replace(self, **changes: object) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)  # type: ignore[arg-type]
