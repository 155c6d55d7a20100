"""One error shape for the whole API: ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

# Status -> default machine-readable code.
CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})


def field_error(field: str, message: str, status: int = 422) -> ApiError:
    return ApiError(status, f"{field}: {message}", fields={field: message})


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def error_body(
    status: int, message: str, code: str | None = None, fields: Mapping[str, Any] | None = None
) -> bytes:
    return orjson.dumps(
        {
            "error": {
                "code": code or CODES.get(status, "error"),
                "message": message,
                "fields": dict(fields or {}),
            }
        }
    )


def error_response(err: ApiError) -> Response:
    headers = dict(err.headers)
    if err.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="streamsrv"')
    return Response(
        error_body(err.status, err.message, err.code, err.fields),
        status_code=err.status,
        media_type="application/json",
        headers=headers,
    )
