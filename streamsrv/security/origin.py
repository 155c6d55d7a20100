"""Whether a browser's ``Origin`` is the product's own: scheme, host and port, not the host alone.

``https://host`` and ``http://host`` are different origins to a browser; a page on one must not
borrow the cookies of the other. The product's own origins are the one the request itself came
to (its scheme as the server sees it: ``--proxy-headers`` lets a trusted proxy's
``X-Forwarded-Proto`` say ``https``, with the ``Host`` it forwards) and the configured public
URL (``STREAMSRV_PUBLIC_URL``), which is what browsers see when TLS ends at a proxy that sends
no such header.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

DEFAULT_PORTS = {"http": 80, "https": 443}
# A websocket's scope names its scheme ws/wss; the page that opened it was http/https.
_PAGE_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def normalise(url: str) -> str | None:
    """``scheme://host[:port]`` lowercased, without a default port; None unless http(s)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in DEFAULT_PORTS or not host or parts.username is not None:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def own_origins(conn: HTTPConnection, public_url: str) -> set[str]:
    origins = set()
    scheme = _PAGE_SCHEME.get(str(conn.scope.get("scheme", "")))
    host = conn.headers.get("host")
    if scheme and host:
        served = normalise(f"{scheme}://{host}")
        if served is not None:
            origins.add(served)
    public = normalise(public_url)
    if public is not None:
        origins.add(public)
    return origins


def is_own(conn: HTTPConnection, origin: str, public_url: str) -> bool:
    """``origin`` (an ``Origin`` header; "null" never matches) is one of the product's own."""
    named = normalise(origin)
    return named is not None and named in own_origins(conn, public_url)
