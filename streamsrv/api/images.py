"""Recognising uploaded images by their first bytes, never by the name or Content-Type sent.

Only raster formats that browsers render inertly are accepted: SVG can carry script, so it is
not on the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from streamsrv.errors import ApiError, field_error
from streamsrv.http import read_body

PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"

ALLOWED = (PNG, JPEG, WEBP, GIF)

# A versioned image URL never changes content; an unversioned one may, so it is cached briefly.
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"


@dataclass(frozen=True)
class Upload:
    data: bytes
    media_type: str


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


async def read_image(request: Request, limit: int, field: str) -> Upload:
    """The image from the multipart file field ``field`` or, for simple clients, the raw body;
    422 naming ``field`` unless its first bytes say it is one of the ``ALLOWED`` formats."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=10, max_part_size=limit) as form:
            upload = form.get(field)
            if not isinstance(upload, UploadFile):
                raise field_error(field, f"send the image as the multipart file field '{field}'")
            data = await upload.read(limit + 1)
    else:
        data = await read_body(request, limit)
    if len(data) > limit:
        raise ApiError(413, f"{field} is larger than {limit} bytes", fields={field: "too large"})
    if not data:
        raise field_error(field, "the image is empty")
    media_type = sniff_image(data)
    if media_type is None:
        raise field_error(field, f"not a supported image; send one of {', '.join(ALLOWED)}")
    return Upload(data, media_type)


def image_response(request: Request, data: bytes, media_type: str, etag: str, version: int) -> Response:
    """A stored image with its ETag; cached for a year when asked for by its current ``?v=``."""
    versioned = request.query_params.get("v") == str(version)
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE_CACHE if versioned else SHORT_CACHE,
        "Content-Disposition": "inline",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)
