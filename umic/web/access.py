"""Links sent to citizens (manage a booking, send documents, answer the survey).

Each link carries a random token of 192 bits; the database keeps only its SHA-256, so a
copy of the database opens nothing. Whether a link is still good (expiry, state of the
booking or case) is for each caller to decide.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from sqlalchemy import select

from ..core.tokens import hash_token
from ..core.tokens import new_token
from ..extensions import db
from ..models import AccessToken
from ..models import Booking
from ..models import CaseFile
from ..models import TokenPurpose

#: Longer strings are not tokens of ours; they are refused before any query.
MAX_TOKEN_LENGTH = 100


def issue_token(
    purpose: TokenPurpose,
    expires_at: datetime,
    *,
    booking: Booking | None = None,
    case: CaseFile | None = None,
    now: datetime | None = None,
) -> str:
    """Store a new link (its hash) and return the token to put in the URL; caller commits."""
    token = new_token()
    row = AccessToken(
        token_hash=hash_token(token),
        purpose=purpose,
        booking=booking,
        case=case,
        expires_at=expires_at,
    )
    if now is not None:
        row.created_at = now
    db.session.add(row)
    return token


#: How long a follow link ("Com va la meva consulta?") works: long enough for a claim that
#: takes months. Here, not in ``umic.casefiles.follow``, because the booking e-mails
#: (``umic.mail``, a floor below the case files) issue these links too.
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


def find_token(token: str, purpose: TokenPurpose, *options) -> AccessToken | None:
    """The stored link a token opens, or None when it is malformed or unknown."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(
        select(AccessToken)
        .where(AccessToken.token_hash == hash_token(token), AccessToken.purpose == purpose)
        .options(*options)
    )
