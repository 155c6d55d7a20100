"""``streamsrv demo``'s own SMTP server: survey emails go through the real sender and real SMTP,
and land in a Maildir that ``/outbox`` shows, instead of in anyone's inbox."""

from __future__ import annotations

from email.message import Message
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from streamsrv.embedded_redis import free_port
from streamsrv.mail.outbox import prune

DEMO_FROM = "feedback@demo.streamsrv.local"
# A demo left running for days keeps this many emails.
KEEP = 500
PRUNE_EVERY = 50


class PruningMailbox(Mailbox):
    def __init__(self, folder: Path, keep: int = KEEP) -> None:
        super().__init__(folder)
        self.folder = folder
        self.keep = keep
        self.count = 0

    def handle_message(self, message: Message) -> None:
        super().handle_message(message)
        self.count += 1
        if self.count % PRUNE_EVERY == 0:
            prune(self.folder, self.keep)


class SmtpCatcher:
    """An SMTP server on a free loopback port, in a thread of its own."""

    def __init__(self, folder: Path) -> None:
        # Maildir makes its tmp/new/cur folders only when it creates the folder itself.
        folder.parent.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.port = free_port()
        self.controller = Controller(PruningMailbox(folder), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from={DEMO_FROM}"

    def start(self) -> SmtpCatcher:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
