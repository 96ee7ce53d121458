"""“Com va la meva consulta?”: the link a citizen gets to follow their request.

Every acknowledgment (a mailbox message) and every booking e-mail carries one. The link
opens the request's status in the seed's words, what the service is waiting for (documents,
with the upload) and the date of the last change; never the internal notes.

The token is random (192 bits) and only its hash is stored (``umic.web.access``). A link
names a case file, or a booking before a case file exists for it (the page then follows the
booking to its case once a technician opens one).
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from flask import url_for

from ..models import Booking
from ..models import CaseFile
from ..models import TokenPurpose
from ..web.access import issue_token

#: How long a follow link works: long enough for a claim that takes months.
FOLLOW_LINK_DAYS = 400


def issue_status_token(
    *, case: CaseFile | None = None, booking: Booking | None = None, now: datetime
) -> str:
    """Store a new follow link for a case or a booking; returns the token. Caller commits."""
    if (case is None) == (booking is None):
        raise ValueError("a follow link names a case or a booking")
    return issue_token(
        TokenPurpose.STATUS,
        now + timedelta(days=FOLLOW_LINK_DAYS),
        case=case,
        booking=booking,
        now=now,
    )


def status_url(token: str) -> str:
    """The page's absolute address, for e-mails."""
    return url_for("follow.status", token=token, _external=True)
