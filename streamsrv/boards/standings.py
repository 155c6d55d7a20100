"""Placeholder: filled in by the live-surfaces work."""

from __future__ import annotations

from sqlmodel import Session

from streamsrv.reactions import ResponseChange


def on_response(session: Session, change: ResponseChange) -> None:
    """Derive this surface's rows and outbox events from a stored response."""
    return None
