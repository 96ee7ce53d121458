"""The citizen's booking before it is confirmed: a draft, kept on the server, that the browser
reaches by a random key in its session (only the key's hash is stored).

It holds the chosen time, the details and the consent between the details step and the
check step, so nothing personal travels in the page; it expires after
``BOOKING_DRAFT_HOURS`` and the periodic job ``purge_expired_drafts`` deletes it.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import select

from ..core.tokens import hash_token
from ..core.tokens import new_token
from ..extensions import db
from ..models import BookingDraft


def new_draft(municipality_id: int, service_id: int, now: datetime) -> tuple[BookingDraft, str]:
    """A draft under a fresh random key; the browser keeps the key, the server the data."""
    key = new_token()
    draft = BookingDraft(
        key_hash=hash_token(key),
        municipality_id=municipality_id,
        service_id=service_id,
        created_at=now,
        expires_at=now + timedelta(hours=current_app.config["BOOKING_DRAFT_HOURS"]),
    )
    db.session.add(draft)
    return draft, key


#: What the citizen tells about themselves and their problem, kept in the draft.
DETAIL_FIELDS = ("name", "email", "phone", "address", "description")


def details_of(draft: BookingDraft) -> dict[str, str]:
    """The details kept in a draft, by field name."""
    return {name: getattr(draft, name) for name in DETAIL_FIELDS}


def form_data(draft: BookingDraft) -> dict:
    """The details form's values from a draft: what was typed, and the consent once given."""
    return {**details_of(draft), "consent": draft.consent_at is not None}


def typed_details(form) -> dict[str, str]:
    """What was typed in the details form, by field name, for ``save_details``."""
    return {name: form[name].data for name in DETAIL_FIELDS}


def save_details(
    draft: BookingDraft | None,
    municipality_id: int,
    service_id: int,
    slot_start: datetime,
    details: dict[str, str],
    now: datetime,
) -> tuple[BookingDraft, str | None]:
    """Keep the citizen's chosen time, details (name, email, phone, address, description)
    and consent, with the privacy notice's version, in their draft; commits.

    The first time there is no draft: a new one, whose key (the second value) the browser
    keeps; later, None. The booking is made from the draft when the citizen confirms.
    """
    key = None
    if draft is None:
        draft, key = new_draft(municipality_id, service_id, now)
    draft.slot_start = slot_start
    for name in DETAIL_FIELDS:
        setattr(draft, name, details.get(name) or "")
    draft.consent_at = now
    draft.consent_version = current_app.config["PRIVACY_NOTICE_VERSION"]
    db.session.commit()
    return draft, key


def find_draft(key: str | None, now: datetime) -> BookingDraft | None:
    """The draft behind a key, if it has not expired."""
    if not key:
        return None
    draft = db.session.execute(
        select(BookingDraft).where(BookingDraft.key_hash == hash_token(key))
    ).scalar_one_or_none()
    if draft is None or draft.expires_at <= now:
        return None
    return draft


def purge_expired_drafts(now: datetime) -> int:
    """Delete drafts past their expiry (they hold personal data). Returns how many."""
    result = db.session.execute(delete(BookingDraft).where(BookingDraft.expires_at <= now))
    db.session.commit()
    return result.rowcount or 0
