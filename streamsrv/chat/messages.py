"""What a chat message says, and how Slack and Teams are told it (pure functions, no I/O).

A message is queued as neutral data (:class:`Message`: a title, facts, an optional quote and
link) and rendered when it is sent, as Slack Block Kit (:func:`to_slack`) or a Teams Adaptive
Card (:func:`to_teams`). Every string in it is treated as untrusted, not only the customer's
comment: agent names, labels and shout-outs are typed by people too.

- Slack parses ``&``, ``<`` and ``>`` as its own markup (``<!channel>``, ``<url|text>``): they
  are escaped everywhere, and text from people goes in ``plain_text`` objects, where ``*bold*``
  or a URL stays text. Only the fallback ``text`` is mrkdwn; it carries none of it unescaped.
- Teams renders markdown (and therefore links) in ``TextBlock`` and ``FactSet``; this uses
  ``RichTextBlock`` with ``TextRun`` inlines, which Adaptive Cards never parse as markdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Block Kit limits (characters); longer text is cut rather than refused by Slack.
SLACK_HEADER_MAX = 150
SLACK_TEXT_MAX = 3000
SLACK_FIELD_MAX = 2000
SLACK_MAX_FIELDS = 10
CARD_VERSION = "1.4"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True)
class Message:
    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    quote: str | None = None
    # Relative to STREAMSRV_PUBLIC_URL; the sender makes it absolute.
    link_path: str | None = None
    link_label: str = "Open"
    # One line for notifications and clients that show no blocks.
    summary: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "facts": [list(f) for f in self.facts],
            "quote": self.quote,
            "link_path": self.link_path,
            "link_label": self.link_label,
            "summary": self.summary,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Message:
        return cls(
            title=str(data.get("title", "")),
            facts=[(str(k), str(v)) for k, v in data.get("facts", [])],
            quote=data.get("quote"),
            link_path=data.get("link_path"),
            link_label=str(data.get("link_label") or "Open"),
            summary=str(data.get("summary", "")),
        )


def slack_escape(text: str) -> str:
    """Slack's three control characters as entities: no mention, link or channel from text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(slack_escape(text), limit) or " ", "emoji": False}


def to_slack(message: Message, public_url: str) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(message.title, SLACK_HEADER_MAX)},
    ]
    if message.facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    _plain(f"{label}: {value}", SLACK_FIELD_MAX)
                    for label, value in message.facts[:SLACK_MAX_FIELDS]
                ],
            }
        )
    if message.quote:
        blocks.append({"type": "section", "text": _plain(f"\u201c{message.quote}\u201d", SLACK_TEXT_MAX)})
    if message.link_path is not None:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": _plain(message.link_label, 75),
                        "url": public_url + message.link_path,
                    }
                ],
            }
        )
    return {"text": _cut(slack_escape(message.summary or message.title), SLACK_TEXT_MAX), "blocks": blocks}


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": text, **style}


def _rich(*inlines: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(inlines), **props}


def to_teams(message: Message, public_url: str) -> dict[str, Any]:
    body: list[dict[str, Any]] = [_rich(_run(message.title, weight="Bolder", size="Medium"))]
    for label, value in message.facts:
        body.append(_rich(_run(f"{label}: ", weight="Bolder"), _run(value), spacing="Small"))
    if message.quote:
        body.append(_rich(_run(f"\u201c{message.quote}\u201d", italic=True), separator=True))
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
    }
    if message.link_path is not None:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": message.link_label, "url": public_url + message.link_path}
        ]
    return {
        "type": "message",
        "summary": message.summary or message.title,
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def render(kind: str, message: Message, public_url: str) -> dict[str, Any]:
    return to_slack(message, public_url) if kind == "slack" else to_teams(message, public_url)
