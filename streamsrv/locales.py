"""The languages customers can be addressed in, and how a requested language is matched.

Catalogues exist for these; anything else falls back along ``pt-BR`` -> ``pt``, then to the
account's default. Kept free of I/O so the API validators and the survey can share it.
"""

from __future__ import annotations

SUPPORTED = ("en", "es", "fr", "de", "pt")
DEFAULT = "en"
# Scripts written right to left: pages set dir="rtl" for these (none shipped yet, ready for them).
RTL = frozenset({"ar", "he", "fa", "ur"})


def match(tag: str | None) -> str | None:
    """The supported language for a tag such as ``pt-BR`` or ``es_419``, or None."""
    if not tag:
        return None
    base = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return base if base in SUPPORTED else None


def direction(locale: str) -> str:
    return "rtl" if locale in RTL else "ltr"
