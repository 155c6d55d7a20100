"""Guards for posting to a URL an organization gave us: never into our own network.

A configured URL is checked twice: when it is stored (:func:`check_url`: the scheme, no
credentials in it, a sane length) and each time something is sent (:func:`resolve_and_check`:
the name may resolve elsewhere by then, so the addresses are checked right before connecting).
:func:`post_json` connects to the checked address itself, so a DNS answer cannot change
between the check and the connection, follows no redirects and reads a bounded answer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

from streamsrv.models import utcnow

MAX_URL_LENGTH = 2000
# What is kept of a receiver's answer (for the delivery log); the rest is not even read.
EXCERPT_BYTES = 1024


class UnsafeTarget(ValueError):
    """The URL or the address it resolves to must not be posted to; the message says why."""


@dataclass(frozen=True)
class PostResult:
    status: int
    excerpt: str
    # Seconds the receiver asked us to wait (Retry-After), if it said.
    retry_after: float | None


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL normalised, or :class:`UnsafeTarget` saying what is wrong with it."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_private and scheme == "http"):
        raise UnsafeTarget("the URL must start with https://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeTarget("the URL must not carry a user name or password")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeTarget("the URL has no host")
    if any(c.isspace() for c in url):
        raise UnsafeTarget("the URL must not contain spaces")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc.lower(), parts.path or "/", parts.query, ""))


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _refused(address.ipv4_mapped)
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


async def resolve_and_check(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses ``host`` resolves to, refusing private, loopback, link-local, multicast,
    reserved and unspecified ones unless ``allow_private``."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeTarget(f"cannot resolve {host}: {exc.strerror}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnsafeTarget(f"{host} resolves to no address")
    if not allow_private:
        for text in addresses:
            if _refused(ipaddress.ip_address(text.split("%")[0])):
                raise UnsafeTarget(f"{host} resolves to {text}, an address that is not public")
    return addresses


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow_private: bool,
    timeout: float,
) -> PostResult:
    """POST ``body`` to ``url`` after checking it and the address it resolves to; raises
    :class:`UnsafeTarget` for a refused target and ``httpx`` errors for network failures."""
    url = check_url(url, allow_private=allow_private)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await resolve_and_check(host, port, allow_private=allow_private)
    address = addresses[0]
    # Connect to the address just checked; the Host header and TLS name stay the URL's host.
    connect_host = f"[{address}]" if ":" in address else address
    target = urlunsplit((parts.scheme, f"{connect_host}:{port}", parts.path, parts.query, ""))
    request_headers = {
        "Content-Type": "application/json",
        **headers,
        "Host": host if parts.port is None else f"{host}:{parts.port}",
    }
    request = client.build_request(
        "POST",
        target,
        content=body,
        headers=request_headers,
        timeout=timeout,
        extensions={"sni_hostname": host},
    )
    response = await client.send(request, stream=True, follow_redirects=False)
    try:
        kept = b""
        async for chunk in response.aiter_raw():
            kept += chunk
            if len(kept) >= EXCERPT_BYTES:
                break
    finally:
        await response.aclose()
    return PostResult(
        status=response.status_code,
        excerpt=kept[:EXCERPT_BYTES].decode("utf-8", "replace"),
        retry_after=_retry_after(response.headers.get("retry-after")),
    )
