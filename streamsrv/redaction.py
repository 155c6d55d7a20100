"""Hidden comments and erased contact details never come back from stream history.

Events are immutable once published, but a moderator may hide a comment afterwards. Each history
entry that carries a comment is tagged with the id of the response it quotes; hiding a comment
records that id in a set next to the history (the relay does both in its publish script, so the
tag and the set travel through the outbox like every event), and a replay rewrites the quoting
entries before any client sees them. Live subscribers already got ``feedback.updated`` with the
comment removed.

A payload quotes a response's comment in one of two shapes, both recognised here without knowing
event types: the response itself (``id``, ``comment``, ``comment_hidden``), as feedback events,
alert summaries and recovery cases carry it, or a highlight that names it (``response_id``,
``comment``), as the wallboard ticker does.

A customer's contact details go the same way once erased (``streamsrv.retention``). A payload
carries them as a ``customer`` object (``name``, ``email``, ``phone``) beside the response it is
about (``response.id`` or ``response_id``), as recovery cases do; the staff's free text around
it (``notes[].text``, ``resolution``) may quote them too and goes with them. Entries carrying
details are tagged with the response id; an event whose ``customer`` says ``"erased": true``
records the id in a set of each of its streams (the set lives as long as that stream's history),
and replays rewrite the carrying entries. That event also tells live screens to drop them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from streamsrv.events import FEEDBACK_UPDATED


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _dicts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _dicts(item)


def _quoted(d: dict[str, Any]) -> int | None:
    if not d.get("comment"):
        return None
    if "comment_hidden" in d and isinstance(d.get("id"), int):
        return int(d["id"])
    if isinstance(d.get("response_id"), int):
        return int(d["response_id"])
    return None


def quoted_responses(payload: dict[str, Any]) -> list[int]:
    """Ids of the responses whose comment text ``payload`` carries."""
    found = {rid for d in _dicts(payload) if (rid := _quoted(d)) is not None}
    return sorted(found)


def visibility_change(type: str, payload: dict[str, Any]) -> tuple[int, bool] | None:
    """``(response_id, hidden)`` when this event records whether a comment may be shown."""
    if type == FEEDBACK_UPDATED and isinstance(payload.get("id"), int) and "comment_hidden" in payload:
        return int(payload["id"]), bool(payload["comment_hidden"])
    return None


def _redact(data: Any, hidden: set[int]) -> None:
    for d in list(_dicts(data)):
        highlight = d.get("highlight")
        if isinstance(highlight, dict) and _quoted(highlight) in hidden:
            # A ticker line is nothing without its words: it goes entirely.
            del d["highlight"]
    for d in _dicts(data):
        rid = _quoted(d)
        if rid is not None and rid in hidden:
            d["comment"] = None
            if "comment_hidden" in d:
                d["comment_hidden"] = True


# --- Erased contact details ----------------------------------------------------------------------

CONTACT_FIELDS = ("name", "email", "phone")
# Stands in for staff text that may have quoted an erased customer's details.
ERASED_TEXT = "[erased]"


def _carried(d: dict[str, Any]) -> int | None:
    """The response whose customer's contact details ``d`` has a place for."""
    if not isinstance(d.get("customer"), dict):
        return None
    response = d.get("response")
    if isinstance(response, dict) and isinstance(response.get("id"), int):
        return int(response["id"])
    if isinstance(d.get("response_id"), int):
        return int(d["response_id"])
    return None


def contact_responses(payload: dict[str, Any]) -> list[int]:
    """Ids of the responses whose customer's contact details ``payload`` carries."""
    found = {
        rid
        for d in _dicts(payload)
        if (rid := _carried(d)) is not None and any(d["customer"].get(f) for f in CONTACT_FIELDS)
    }
    return sorted(found)


def erasures(payload: dict[str, Any]) -> list[int]:
    """Ids of the responses whose customer's contact details ``payload`` announces erased."""
    found = {
        rid
        for d in _dicts(payload)
        if (rid := _carried(d)) is not None and d["customer"].get("erased") is True
    }
    return sorted(found)


def redact_contacts(data: Any, erased: set[int]) -> None:
    """Remove, in place, the contact details (and the staff text around them) of ``erased``."""
    for d in list(_dicts(data)):
        if _carried(d) not in erased:
            continue
        customer = d["customer"]
        customer.update(dict.fromkeys(CONTACT_FIELDS), erased=True)
        for note in d.get("notes") or []:
            if isinstance(note, dict) and isinstance(note.get("text"), str):
                note["text"] = ERASED_TEXT
        if isinstance(d.get("resolution"), str):
            d["resolution"] = ERASED_TEXT


def redact_tail(tail: str, hidden: set[int], erased: set[int] | None = None) -> str:
    """The frame tail (see ``protocol.encode_event_tail``) with the hidden comments and the erased
    contact details removed."""
    event = orjson.loads("{" + tail)
    _redact(event.get("data"), hidden)
    if erased:
        redact_contacts(event.get("data"), erased)
    return orjson.dumps(event).decode()[1:]
