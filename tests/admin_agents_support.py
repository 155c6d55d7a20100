"""Helpers of the team, agent, import and profile page tests: images built in the test (no
binary fixtures), reading an image's size from its bytes, and logging in."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from playwright.sync_api import Page

from tests.support import TIMEOUT

PASSWORD = "correct horse battery"


def png(width: int, height: int) -> bytes:
    """A ``width`` x ``height`` RGB PNG: a red left half and a blue right half."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"".join(b"\xff\x00\x00" if x < width // 2 else b"\x00\x00\xff" for x in range(width))
    raw = b"".join(b"\x00" + row for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG or JPEG, read from its header bytes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    assert data.startswith(b"\xff\xd8"), data[:4]
    i = 2
    while i < len(data):
        assert data[i] == 0xFF
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + length
    raise AssertionError("no JPEG frame header")


def log_in(page: Page, base: str, email: str, next_path: str) -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")


@contextmanager
def session_client(base: str, email: str) -> Iterator[httpx.Client]:
    """An HTTP client logged in as ``email``; its ``csrf`` cookie is the forms' token."""
    with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        assert client.get("/login").status_code == 200
        token = client.cookies["streamsrv_csrf"]
        r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 303, r.text
        yield client


def csrf(client: httpx.Client) -> str:
    return str(client.cookies["streamsrv_csrf"])
