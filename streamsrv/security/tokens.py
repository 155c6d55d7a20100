"""Signed, expiring tokens (itsdangerous) and the survey links' request tokens.

Each kind of token has its own salt, so a session cookie can never be replayed as a stream
token or the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SESSION = "streamsrv.session"
STREAM = "streamsrv.stream"
CSRF = "streamsrv.csrf"
DISPLAY = "streamsrv.display"
# The login page's device cookie: a browser that has logged in with an email before.
DEVICE = "streamsrv.login-device"
# Unsubscribe links in survey emails: they must keep working, so they are loaded without max_age.
UNSUBSCRIBE = "streamsrv.unsubscribe"
# Emailed account links (streamsrv.org.invitations): an invitation, a password reset.
INVITE = "streamsrv.invite"
PASSWORD_RESET = "streamsrv.password-reset"  # noqa: S105 - a salt name


class TokenError(Exception):
    """The token is malformed, forged or expired."""

    def __init__(self, message: str, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class Signer:
    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key
        self._serializers: dict[str, URLSafeTimedSerializer] = {}

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        s = self._serializers.get(purpose)
        if s is None:
            s = self._serializers[purpose] = URLSafeTimedSerializer(self._secret, salt=purpose)
        return s

    def dumps(self, purpose: str, payload: Any) -> str:
        return self._serializer(purpose).dumps(payload)

    def loads(self, purpose: str, token: str, max_age: int | None) -> Any:
        try:
            return self._serializer(purpose).loads(token, max_age=max_age)
        except SignatureExpired:
            raise TokenError("token expired", expired=True) from None
        except BadSignature:
            raise TokenError("invalid token") from None

    def request_token(self, nonce: str) -> str:
        """The survey link token for a feedback request: an HMAC of its stored nonce.

        Deriving it (rather than storing it) lets an idempotent replay of
        ``POST /api/v1/interactions`` return the same link, while a copy of the database alone
        reveals no working link.
        """
        mac = hmac.new(self._secret.encode(), b"feedback-request:" + nonce.encode(), "sha256")
        return base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")

    def fingerprint(self, purpose: str, value: str) -> str:
        """A keyed hash of ``value`` for records that must recognise it without holding it (the
        audit log of erasures): equal values match, and without the secret key no guess at the
        value can be checked against it."""
        return hmac.new(self._secret.encode(), f"{purpose}:{value}".encode(), "sha256").hexdigest()


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
