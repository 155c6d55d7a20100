"""A cookie-handling HTTP client that behaves like a browser tab, without redirects.

httpx's own cookie jar is cleared before every request and cookies are sent explicitly, so the
tests see (and assert) exactly which cookies the server set, with which attributes.
"""

from __future__ import annotations

import re
from http.cookies import Morsel, SimpleCookie
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from streamsrv.auth import SESSION_COOKIE
from tests.support import TIMEOUT

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """``address``: the loopback address to connect from (127.0.0.2, ...), so that one test can
    play clients at different addresses; the server sees it as the client's address."""

    def __init__(self, base_url: str, origin: bool = True, address: str | None = None) -> None:
        self.base_url = base_url
        transport = httpx.HTTPTransport(local_address=address) if address else None
        self.client = httpx.Client(
            base_url=base_url, follow_redirects=False, timeout=TIMEOUT, transport=transport
        )
        self.cookies: dict[str, str] = {}
        # The attributes of the last Set-Cookie seen for each name.
        self.set_cookies: dict[str, Morsel[str]] = {}
        self.origin = origin

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.client.cookies.clear()
        headers = dict(kwargs.pop("headers", None) or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.origin and method.upper() == "POST":
            # What a browser sends with a same-site form post.
            headers.setdefault("Origin", self.base_url)
        response = self.client.request(method, url, headers=headers, **kwargs)
        for raw in response.headers.get_list("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                self.set_cookies[name] = morsel
                if morsel["max-age"] == "0" or not morsel.value.strip('"'):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def csrf_token(self, page: str = "/login") -> str:
        response = self.get(page)
        match = CSRF_FIELD.search(response.text)
        assert match, f"no csrf_token field on {page}: {response.status_code}"
        return match.group(1)

    def login(self, email: str, password: str, next_url: str | None = None) -> httpx.Response:
        data = {"email": email, "password": password, "csrf_token": self.csrf_token()}
        if next_url is not None:
            data["next"] = next_url
        return self.post("/login", data=data)

    def end_session(self) -> None:
        """The session cookie is gone (expired, or the browser closed); other cookies stay."""
        self.cookies.pop(SESSION_COOKIE, None)

    @property
    def session(self) -> str | None:
        return self.cookies.get(SESSION_COOKIE)


def metric(base_url: str, name: str, **labels: str) -> float:
    """One sample from the server's /metrics (0 when the series has not appeared yet)."""
    text = httpx.get(base_url + "/metrics", timeout=TIMEOUT).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0
