"""Rules for calling URLs that customers configure: no way into our own network.

A URL is checked twice. At configuration time (:func:`check_url`) for its shape: HTTPS, a host,
no credentials in it. At send time (:func:`resolve_and_check`) for where the name points now:
an address inside a private, loopback, link-local or otherwise non-public range is refused, so a
customer cannot make the server call its own admin ports or a cloud metadata service.
:func:`post_json` then connects to exactly the address it checked, so a DNS answer that changes
between the check and the connection (rebinding) cannot move the call elsewhere; the URL's host
name still goes in the Host header and the TLS server name, so certificates verify as usual.

``allow_private`` (``STREAMSRV_OUTBOUND_ALLOW_PRIVATE``) lifts the address rules and allows
plain ``http://``: development and tests only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

MAX_URL_LENGTH = 2000
# Enough of a receiver's answer to tell what went wrong; kept escaped wherever it is shown.
EXCERPT_BYTES = 1024
# Read no more than this of an answer: a receiver streaming gigabytes gets cut off.
READ_LIMIT = 64 * 1024
# Names that always mean this machine, whatever a resolver says about them.
_LOCAL_NAMES = ("localhost", "localhost.localdomain")
# Carrier-grade NAT (RFC 6598): not private by the stdlib's older tables, never public.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class UnsafeTarget(ValueError):
    """The URL or the address it resolves to may not be called; the message says why."""


@dataclass(frozen=True)
class PostResult:
    status: int
    # The first bytes of the answer, decoded leniently: for the delivery log only.
    excerpt: str
    # Seconds the receiver asked us to wait (Retry-After), if it did.
    retry_after: float | None


def check_url(url: str, *, allow_private: bool) -> str:
    """The normalised URL, or :class:`UnsafeTarget` saying what is wrong with it."""
    url = url.strip()
    if not url:
        raise UnsafeTarget("the URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UnsafeTarget("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"the URL cannot be read: {exc}") from None
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if allow_private else ("https",)
    if scheme not in allowed:
        raise UnsafeTarget("the URL must start with https://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeTarget("the URL must not contain a user name or password")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeTarget("the URL has no host")
    if not allow_private:
        if host in _LOCAL_NAMES or host.endswith(".localhost"):
            raise UnsafeTarget("the URL points at this machine (localhost)")
        literal = _literal(host)
        if literal is not None and not _public(literal):
            raise UnsafeTarget(f"the URL points at a non-public address ({literal})")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host)
    return None


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``address`` is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address written as IPv6 reaches the IPv4 host: judge that one.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return _public(embedded)
        if address.teredo is not None:
            return False
        # NAT64 (64:ff9b::/96) translates to the IPv4 address in its last 32 bits.
        if address in ipaddress.ip_network("64:ff9b::/96"):
            return _public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.version == 4 and address in _CGNAT:
        return False
    # is_global alone is not enough: some multicast ranges count as global.
    return bool(
        address.is_global
        and not address.is_multicast
        and not address.is_private
        and not address.is_loopback
        and not address.is_link_local
        and not address.is_reserved
        and not address.is_unspecified
    )


async def resolve_and_check(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses ``host`` resolves to now, all of them public (unless ``allow_private``)."""
    name = host.strip("[]")
    literal = _literal(name)
    if literal is not None:
        found = [str(literal)]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(name, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except socket.gaierror as exc:
            raise UnsafeTarget(f"{host} cannot be resolved: {exc.strerror}") from None
        found = list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))
    if not found:
        raise UnsafeTarget(f"{host} resolves to no address")
    if not allow_private:
        # One bad address refuses the name: which one a connection would use is not ours to pick.
        for text in found:
            if not _public(ipaddress.ip_address(text)):
                raise UnsafeTarget(f"{host} resolves to a non-public address ({text})")
    return found


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
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
    """POST ``body`` (JSON) to ``url`` at an address checked just now; redirects are not followed.

    Raises :class:`UnsafeTarget` for a refused target and ``httpx.HTTPError`` for a failed call.
    """
    parts = urlsplit(check_url(url, allow_private=allow_private))
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await resolve_and_check(host, port, allow_private=allow_private)
    address = addresses[0]
    pinned = f"[{address}]" if ":" in address else address
    target = urlunsplit((parts.scheme, f"{pinned}:{port}", parts.path, parts.query, ""))
    send_headers = {
        **headers,
        "Host": parts.netloc,
        "Content-Type": "application/json",
        # A compressed answer could expand far beyond what we mean to read.
        "Accept-Encoding": "identity",
    }
    # The TLS handshake names the URL's host (SNI and certificate check), not the address.
    extensions = {"sni_hostname": host.strip("[]")} if parts.scheme == "https" else {}
    request = client.build_request(
        "POST", target, content=body, headers=send_headers, timeout=timeout, extensions=extensions
    )
    response = await client.send(request, stream=True, follow_redirects=False)
    try:
        taken = bytearray()
        async for chunk in response.aiter_raw():
            taken.extend(chunk)
            if len(taken) >= READ_LIMIT:
                break
    finally:
        await response.aclose()
    excerpt = bytes(taken[:EXCERPT_BYTES]).decode("utf-8", errors="replace")
    return PostResult(response.status_code, excerpt, _retry_after(response.headers.get("retry-after")))
