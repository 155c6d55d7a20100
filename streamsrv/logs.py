"""Structured logs: one JSON object per line (``STREAMSRV_LOG_FORMAT=json``, the default for
``serve``), or uvicorn's plain text (``text``). Fields: ts, level, logger, msg, and whatever a
call site passes in ``extra``; exceptions go in ``exc``."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import orjson

# Attributes every LogRecord has; anything else was passed through ``extra=`` and is logged.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


# Paths whose last part is a credential (emailed account links): access logs show it redacted.
_LINK_TOKEN = re.compile(r"^(/invite/|/password/reset/)[^?\s]+")
REDACTED = "[redacted]"


def hide_link_token(path: str) -> str:
    return _LINK_TOKEN.sub(lambda m: m.group(1) + REDACTED, path)


class HideLinkTokens(logging.Filter):
    """On ``uvicorn.access``: the token of an invitation or reset link never reaches a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], hide_link_token(args[2]), *args[3:])
        return True


def install_filters() -> None:
    """Idempotent: a process that builds several apps (the tests) filters once."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideLinkTokens) for f in access.filters):
        access.addFilter(HideLinkTokens())


def log_config(fmt: str, level: str) -> dict[str, Any] | None:
    """A ``logging.config.dictConfig`` for uvicorn and streamsrv; None keeps uvicorn's default."""
    if fmt != "json":
        return None
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    logger = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "streamsrv.logs.JsonFormatter"}},
        "handlers": {"default": handler},
        "loggers": {
            name: dict(logger) for name in ("streamsrv", "uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
