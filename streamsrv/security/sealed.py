"""Secrets the server must read back (an organization's SMTP password), encrypted at rest.

The key is derived from ``STREAMSRV_SECRET_KEY`` with HKDF, one key per purpose, so a copy of
the database alone does not reveal the passwords, and no second key has to be managed. Changing
the secret key makes stored passwords unreadable: they have to be set again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SMTP_CREDENTIALS = "streamsrv.smtp-password"


class SealError(Exception):
    """The sealed value was not made with this secret key (or was altered)."""


class Sealer:
    def __init__(self, secret_key: str, purpose: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
            secret_key.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def unseal(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SealError("cannot decrypt: sealed with another secret key, or altered") from None
