"""Unguessable tokens for links sent to citizens, and other random identifiers.

Pure: standard library only. Tokens carry 192 random bits; only their SHA-256 is stored,
so a copy of the database gives no access to anyone's booking.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

#: Crockford's base32 without the look-alikes: references are read out on the phone.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_token() -> str:
    """A URL-safe random token (24 bytes = 192 bits)."""
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    """What the database stores and looks up: the token's SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_room_name() -> str:
    """A video room name with 128 random bits, only ``[a-z0-9]``.

    Unguessable and free of personal data: the link travels in the ``.ics`` through other
    people's mail and calendar servers (docs/invitations.md, "The video link").
    """
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()


def new_reference() -> str:
    """A short booking reference such as ``K7MQ-3X9D`` (40 bits; gives no access)."""
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def video_link(template: str) -> tuple[str, str | None]:
    """Fill a video link template; returns (link, room).

    With ``{room}`` in the template every booking gets its own random room; without it the
    template is one fixed meeting link (e.g. Teams with a lobby) and room is None.
    """
    if "{room}" in template:
        room = new_room_name()
        return template.replace("{room}", room), room
    return template, None
