"""Settings read from ``STREAMSRV_*`` environment variables (pydantic-settings).

Every setting has a default that works on a laptop with nothing installed: a SQLite file under
``./var`` and a private embedded Redis that the server starts and stops itself. Every field is
read from ``STREAMSRV_<FIELD NAME>`` the same way; docs/configuration.md lists them.

Everything the server writes at run time goes under ``data_dir`` (``STREAMSRV_DATA_DIR``):

- ``streamsrv.sqlite3``: the default database (unless ``STREAMSRV_DATABASE_URL`` is set)
- ``secret_key``: the generated secret (unless ``STREAMSRV_SECRET_KEY`` is set)
- ``avatars/``: the demo agents' pictures, served at ``/static/img/avatars/``
- ``redis/``: the working folder of the embedded ``redis-server``
"""

from __future__ import annotations

import os
import secrets
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from streamsrv.paths import AVATARS_DIR, DEFAULT_DATA_DIR, REDIS_DIR, SECRET_KEY_FILE, SQLITE_FILE

ENV_PREFIX = "STREAMSRV_"

__all__ = ["DEFAULT_DATA_DIR", "ENV_PREFIX", "ConfigError", "Settings"]

# True only inside Settings.from_env(): a directly constructed Settings(...) never reads the
# environment, so what a test or a script passes is all there is.
_reading_env: ContextVar[bool] = ContextVar("streamsrv_reading_env", default=False)


class ConfigError(ValueError):
    """A ``STREAMSRV_*`` variable has a value that cannot be used; the message is one line."""


def _load_or_create_secret(data_dir: Path) -> str:
    """A stable per-installation secret so that sessions survive a restart of the demo."""
    path = data_dir / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        # Created private from the start; O_EXCL: of two processes starting at once, one writes.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(key)
    return key


class Settings(BaseSettings):
    """Runtime configuration. Build it with :meth:`from_env`; tests construct it directly.

    ``Settings.from_env()`` reads every field from ``STREAMSRV_<FIELD>``; ``Settings(...)`` takes
    its keyword arguments and the defaults only, whatever the environment holds. The instance is
    frozen: :meth:`replace` returns a changed copy.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        # An empty variable means "not set", as the defaults of an unset one.
        env_ignore_empty=True,
        frozen=True,
        # A misspelt keyword argument is an error, not a silently ignored setting.
        extra="forbid",
    )

    data_dir: Path = DEFAULT_DATA_DIR
    # Empty: a SQLite file in the data directory.
    database_url: str = ""
    # Empty means: start a private embedded Redis (see ``streamsrv.embedded_redis``).
    redis_url: str = ""
    # Empty: generated once into the data directory and read from there on later starts.
    secret_key: str = ""
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
    # "auto": write frames straight to uvicorn's transport where possible; "off": ASGI sends.
    ws_fastpath: Literal["auto", "off"] = "auto"
    log_level: str = "info"
    # "json" (one object per line, for log pipelines) or "text".
    log_format: str = "json"
    # Bearer token for /metrics; without one, only loopback clients may scrape.
    metrics_token: str = ""
    # Login throttle (streamsrv/pages/login_throttle.py): attempts allowed per window, counted
    # before the password is checked, per (client address, email), per address and per email.
    login_window: Annotated[int, Field(ge=1)] = 15 * 60
    login_max_per_client: Annotated[int, Field(ge=1)] = 10
    login_max_per_address: Annotated[int, Field(ge=1)] = 100
    login_max_per_email: Annotated[int, Field(ge=1)] = 50
    # Emailed account links (streamsrv/org/invitations.py), in seconds: an invitation to set a
    # first password, and a password reset.
    invite_link_ttl: Annotated[int, Field(ge=60)] = 7 * 24 * 3600
    reset_link_ttl: Annotated[int, Field(ge=60)] = 3600
    # "Forgot your password?" requests allowed per email (and per client address and email) in
    # the login window; per client address, login_max_per_address applies.
    reset_max_per_email: Annotated[int, Field(ge=1)] = 5
    # Password hashes (64 MiB of memory each) run at once in one process; 0: half the cores, 1 to 4.
    password_hash_workers: Annotated[int, Field(ge=0)] = 0
    # Ingest requests (answers, interactions, the survey form) served at once by one process;
    # past it they are answered 503 with Retry-After at once and /readyz says "saturated".
    # 0: no limit.
    max_ingest_in_flight: Annotated[int, Field(ge=0)] = 64
    # Outbound calls (webhooks, chat) may use http:// and reach private or loopback addresses:
    # development and tests only.
    outbound_allow_private: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings) if _reading_env.get() else (init_settings,)

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _defaults_in_data_dir(self) -> Settings:
        # Derived defaults; set in place because the instance is frozen once built.
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / SQLITE_FILE}")
        if not self.secret_key:
            object.__setattr__(self, "secret_key", _load_or_create_secret(self.data_dir))
        return self

    @property
    def avatars_dir(self) -> Path:
        return self.data_dir / AVATARS_DIR

    @property
    def redis_dir(self) -> Path:
        return self.data_dir / REDIS_DIR

    @classmethod
    def from_env(cls) -> Settings:
        """The settings from ``STREAMSRV_*``; a bad value raises :class:`ConfigError`."""
        token = _reading_env.set(True)
        try:
            return cls()
        except ValidationError as exc:
            raise ConfigError(describe(exc)) from None
        finally:
            _reading_env.reset(token)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied and validated (the environment is not read again)."""
        unknown = sorted(set(changes) - set(type(self).model_fields))
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(unknown)}")
        return type(self).model_validate({**self.model_dump(), **changes})


def describe(exc: ValidationError) -> str:
    """One line naming each bad variable, its value and what was expected."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "settings"
        name = ENV_PREFIX + field.upper()
        raw = os.environ.get(name)
        got = f"={raw!r}" if raw is not None else ""
        problems.append(f"{name}{got}: {error['msg']}")
    return "invalid configuration: " + "; ".join(problems)
