"""Small illustrated SVG avatars for the demo agents, drawn from a seed so they never change.

Generated rather than downloaded: the demo must work offline and contain no real person's face.
Written at run time into the data directory (``<data dir>/avatars``, never into the installed
package) and served from there under ``/static/img/avatars/`` (see ``streamsrv.app``).
"""

from __future__ import annotations

import hashlib
import random
from html import escape
from pathlib import Path

from streamsrv.paths import AVATARS_URL_PREFIX

AVATAR_URL_PREFIX = AVATARS_URL_PREFIX

BACKGROUNDS = ["#8ecae6", "#ffb703", "#90be6d", "#f4a6c1", "#b8c0ff", "#ffd6a5", "#a0e7e5", "#cdb4db"]
SKIN_TONES = ["#f6d2b8", "#eabb99", "#d39c74", "#b27a55", "#8d5a3b", "#6b4229"]
HAIR_COLOURS = ["#2b2118", "#4a3123", "#7b4b2a", "#b5803f", "#e0c07a", "#9e9e9e", "#a33b2b", "#1d1d2c"]
SHIRT_COLOURS = ["#264653", "#2a9d8f", "#e76f51", "#6d597a", "#3d5a80", "#bc4749", "#577590"]


def slug(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in name.lower())
    return "-".join(part for part in cleaned.split("-") if part)


def _hair(style: int, colour: str) -> str:
    # Drawn before the face, so only the part outside the face shows; the fringe is drawn after.
    shapes = [
        # short crop
        f'<path d="M30 46 C30 24 70 24 70 46 L70 40 C70 18 30 18 30 40 Z" fill="{colour}"/>',
        # long hair falling to the shoulders
        f'<path d="M27 50 C24 20 76 20 73 50 L76 78 L62 78 L66 48 L34 48 L38 78 L24 78 Z" fill="{colour}"/>',
        # curly crown
        "".join(
            f'<circle cx="{x}" cy="{y}" r="8" fill="{colour}"/>'
            for x, y in ((34, 32), (44, 25), (56, 25), (66, 32), (30, 42), (70, 42))
        ),
        # bun on top
        f'<circle cx="50" cy="18" r="8" fill="{colour}"/>'
        f'<path d="M30 46 C30 22 70 22 70 46 Z" fill="{colour}"/>',
        # shaved: a faint shadow only
        f'<path d="M32 40 C34 24 66 24 68 40 Z" fill="{colour}" opacity="0.35"/>',
    ]
    return shapes[style % len(shapes)]


def _fringe(style: int, colour: str) -> str:
    if style % 5 == 4:
        return ""
    return f'<path d="M33 38 C38 28 62 28 67 38 C60 33 44 33 33 38 Z" fill="{colour}"/>'


def avatar_svg(name: str) -> str:
    """A friendly face for ``name``: same name, same picture."""
    digest = hashlib.sha256(name.encode()).digest()
    rng = random.Random(digest)
    bg = rng.choice(BACKGROUNDS)
    skin = rng.choice(SKIN_TONES)
    hair = rng.choice(HAIR_COLOURS)
    shirt = rng.choice(SHIRT_COLOURS)
    style = rng.randrange(5)
    glasses = rng.random() < 0.25
    smile = rng.choice(["M42 57 Q50 64 58 57", "M43 57 Q50 62 57 57", "M41 56 Q50 66 59 56"])
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="160" height="160" '
        f'role="img" aria-label="{escape(name)}">',
        f'<rect width="100" height="100" rx="50" fill="{bg}"/>',
        '<clipPath id="c"><rect width="100" height="100" rx="50"/></clipPath><g clip-path="url(#c)">',
        f'<path d="M18 100 C18 78 32 70 50 70 C68 70 82 78 82 100 Z" fill="{shirt}"/>',
        f'<rect x="44" y="60" width="12" height="12" fill="{skin}"/>',
        _hair(style, hair),
        f'<ellipse cx="50" cy="46" rx="18" ry="20" fill="{skin}"/>',
        _fringe(style, hair),
        '<circle cx="43" cy="46" r="2.2" fill="#1f1f1f"/><circle cx="57" cy="46" r="2.2" fill="#1f1f1f"/>',
        f'<path d="{smile}" stroke="#7a2e2e" stroke-width="2.2" fill="none" stroke-linecap="round"/>',
        '<circle cx="38" cy="53" r="3" fill="#ff8a8a" opacity="0.35"/>'
        '<circle cx="62" cy="53" r="3" fill="#ff8a8a" opacity="0.35"/>',
    ]
    if glasses:
        parts.append(
            '<g stroke="#333" stroke-width="1.6" fill="none"><circle cx="43" cy="46" r="5"/>'
            '<circle cx="57" cy="46" r="5"/><path d="M48 46 H52"/></g>'
        )
    parts.append("</g></svg>\n")
    return "".join(parts)


def avatar_url(name: str) -> str:
    return f"{AVATAR_URL_PREFIX}{slug(name)}.svg"


def ensure_avatar(name: str, directory: Path) -> str:
    """Write the avatar file into ``directory`` (the data directory's avatars/) if it is missing
    and return its URL path."""
    filename = f"{slug(name)}.svg"
    path = directory / filename
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(avatar_svg(name), encoding="utf-8")
    return AVATAR_URL_PREFIX + filename
