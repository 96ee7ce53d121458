"""A value sealed with the server's secret key, for a signed but readable cookie.

Flask's session cookie is signed, not encrypted: anyone holding it can base64-decode it.
The citizen's cookie remembers the manage link of the bookings it just confirmed (so the
browser's "back" after confirming lands on the booking again), and a manage token in clear
there is a bearer token readable from the cookie (security review, finding 16). Sealed, the
cookie holds only bytes that mean nothing without the server's key.

The seal is Fernet (the ``cryptography`` package: AES-128-CBC with HMAC-SHA256, a random IV
per value), keyed by SHA-256 of the secret key and the purpose, so a value sealed for one use
cannot be opened for another, and a new secret key makes old seals unreadable (they are then
ignored, as anything that is not one of ours is). Pure: no web framework, no database.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken

#: Longer strings are not seals of ours (a manage token sealed is about 140 characters).
MAX_SEALED_LENGTH = 400


@lru_cache(maxsize=16)
def _fernet(key: str, purpose: str) -> Fernet:
    digest = hashlib.sha256(f"umic-seal\0{purpose}\0{key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(key: str, purpose: str, value: str) -> str:
    """``value`` unreadable (and unforgeable) without ``key``; different each time."""
    return _fernet(key, purpose).encrypt(value.encode("utf-8")).decode("ascii")


def unseal(key: str, purpose: str, sealed: object) -> str | None:
    """The value :func:`seal` sealed, or None for anything that is not one of ours."""
    if not isinstance(sealed, str) or len(sealed) > MAX_SEALED_LENGTH:
        return None
    try:
        return _fernet(key, purpose).decrypt(sealed.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, ValueError):
        return None
