"""Hidden comments never come back from stream history.

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


def redact_tail(tail: str, hidden: set[int]) -> str:
    """The frame tail (see ``protocol.encode_event_tail``) with the hidden comments removed."""
    event = orjson.loads("{" + tail)
    _redact(event.get("data"), hidden)
    return orjson.dumps(event).decode()[1:]
