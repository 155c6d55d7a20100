"""Checks on an account's brand colour: it must stay readable as text and buttons on white."""

from __future__ import annotations

import re

HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
# WCAG 2 AA for normal text.
MIN_CONTRAST = 4.5


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_with_white(color: str) -> float:
    return 1.05 / (luminance(color) + 0.05)


def check_brand_color(value: str) -> str:
    """``#rrggbb`` in lower case, or ValueError saying what is wrong."""
    if not HEX_COLOR.fullmatch(value):
        raise ValueError("must be a colour like #1a73e8")
    ratio = contrast_with_white(value)
    if ratio < MIN_CONTRAST:
        raise ValueError(
            f"is too light on white (contrast {ratio:.1f}:1, at least {MIN_CONTRAST}:1 is needed to stay readable)"
        )
    return value.lower()
