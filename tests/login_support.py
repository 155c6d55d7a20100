"""A cookie-handling HTTP client that behaves like a browser tab, without redirects.

httpx's own cookie jar is cleared before every request and cookies are sent explicitly, so the
tests see (and assert) exactly which cookies the server set, with which attributes.
"""

from __future__ import annotations

import re
from http.cookies import Morsel, SimpleCookie
from typing import Any

import httpx

from streamsrv.auth import SESSION_COOKIE
from tests.support import TIMEOUT

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    def __init__(self, base_url: str, origin: bool = True) -> None:
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=TIMEOUT)
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

    @property
    def session(self) -> str | None:
        return self.cookies.get(SESSION_COOKIE)
