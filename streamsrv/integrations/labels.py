"""What people read about integrations on the admin page: one place for the words."""

from __future__ import annotations

from streamsrv.integrations import connectors

DELIVERY_STATUS = {
    "accepted": "Survey requested",
    "duplicate": "Already received",
    "ignored": "Ignored: not a solved ticket",
    "unmapped": "Waiting for an agent",
    "rejected": "Refused: signature or secret",
    "invalid": "Refused: unusable payload",
    "too_large": "Refused: too large",
}


def delivery_status(code: str) -> str:
    return DELIVERY_STATUS.get(code, "Other")


def connector(name: str) -> str:
    found = connectors.get(name)
    return found.label if found is not None else "Unknown helpdesk"
