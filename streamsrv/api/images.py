"""Recognising uploaded images by their first bytes, never by the name or Content-Type sent.

Only raster formats that browsers render inertly are accepted: SVG can carry script, so it is
not on the list.
"""

from __future__ import annotations

PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"

ALLOWED = (PNG, JPEG, WEBP, GIF)


def sniff_image(data: bytes) -> str | None:
    """The image's media type, or None if it is not a PNG, JPEG, WebP or GIF."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None
