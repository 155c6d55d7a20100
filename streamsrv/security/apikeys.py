"""API keys: ``ssk_<prefix>_<secret>``, shown once, stored as a SHA-256 hash of the whole key.

A fast hash is right here (unlike passwords): the secret is 256 random bits, so there is nothing
to brute-force, and every API call verifies a key, where Argon2 would cost tens of milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "ssk_"

# What a key may do. ``admin`` implies every other scope.
SCOPES = ("admin", "ingest", "read", "streams")


@dataclass(frozen=True)
class NewKey:
    prefix: str
    secret: str
    key_hash: str

    @property
    def plaintext(self) -> str:
        return f"{self.prefix}_{self.secret}"


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate() -> NewKey:
    prefix = KEY_PREFIX + secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewKey(prefix=prefix, secret=secret, key_hash=hash_key(f"{prefix}_{secret}"))


def split(plaintext: str) -> str | None:
    """Return the key's prefix, or None if it is not shaped like one of ours."""
    if not plaintext.startswith(KEY_PREFIX):
        return None
    # The prefix part is hex; the secret (urlsafe base64) may itself contain underscores.
    ident, sep, secret = plaintext[len(KEY_PREFIX) :].partition("_")
    if not sep or not secret or not ident or len(ident) > 24:
        return None
    return KEY_PREFIX + ident


def matches(plaintext: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_key(plaintext), key_hash)
