"""The demo's outbox: emails caught by ``streamsrv demo``'s own SMTP server, kept as a Maildir.

Only reading lives here (the catcher itself is in ``streamsrv.demo.smtp_catcher``), so the
server needs no SMTP server library to show the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from streamsrv.config import Settings

# Maildir keys are "<time>.<unique>.<host>": anything else is not a key and never a path.
KEY = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
RECENT = 50


@dataclass(frozen=True)
class Caught:
    key: str
    received: datetime
    sender: str
    to: str
    subject: str


def outbox_dir(settings: Settings) -> Path:
    return settings.data_dir / "demo-outbox"


def _files(folder: Path) -> list[Path]:
    return [p for sub in ("new", "cur") for p in (folder / sub).glob("*") if p.is_file()]


def _parse(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        message = BytesParser(policy=policy.default).parse(handle)
    assert isinstance(message, EmailMessage)
    return message


def recent(folder: Path, limit: int = RECENT) -> list[Caught]:
    if not folder.is_dir():
        return []
    newest = sorted(_files(folder), key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
    items: list[Caught] = []
    for path in newest:
        message = _parse(path)
        items.append(
            Caught(
                key=path.name.split(":", 1)[0],
                received=datetime.fromtimestamp(path.stat().st_mtime, UTC),
                sender=str(message.get("From", "")),
                to=str(message.get("To", "")),
                subject=str(message.get("Subject", "")),
            )
        )
    return items


def load(folder: Path, key: str) -> EmailMessage | None:
    if not KEY.fullmatch(key) or not folder.is_dir():
        return None
    for path in _files(folder):
        if path.name.split(":", 1)[0] == key:
            return _parse(path)
    return None


def body_of(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None else None  # type: ignore[no-any-return]


def prune(folder: Path, keep: int) -> None:
    """Keep the newest ``keep`` messages: a demo left running must not fill the disk."""
    files = sorted(_files(folder), key=lambda p: p.stat().st_mtime)
    for path in files[: max(0, len(files) - keep)]:
        path.unlink(missing_ok=True)
