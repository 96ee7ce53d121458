"""The retention job: what the schedule (``umic.privacy.schedule``) says has expired, forgotten.

:func:`apply_retention` runs in every worker pass (``umic.jobs.PERIODIC``). For each kind it
takes at most ``BATCH`` due records (so the first pass on a database with years of history
does not hold one long transaction: the next passes, seconds later, take the rest), applies
the primitive of ``umic.privacy.anonymise`` and commits. Order matters once: case files first
(a case takes its booking and documents with it), then documents, bookings, e-mails and
survey comments. Everything it does is idempotent and conditional (``anonymised_at IS
NULL``, a row that exists), so two workers at once only repeat each other's no-ops.

What is due, per kind (the moment the period counts from, then what happens):

- cancelled bookings: the cancellation; anonymised, unless a case file was opened from the
  booking (then the case's period applies, and the case takes the booking with it);
- past bookings (attended, missed, or never marked): the end of the appointment; anonymised,
  with the same exception;
- closed case files (a final status): the closing (``resolved_at``); anonymised;
- documents: the closing of their case; deleted, file included (open cases keep theirs);
- outbox e-mails: the sending (or the last attempt's message being given up); deleted. One
  still waiting to be sent is never touched;
- survey comments: the answer; the comment is blanked, the scores stay;
- staff sign-in attempts (:func:`expire_sign_in_attempts`, its own job): the attempt;
  deleted;
- booking drafts are the booking's own job (``booking.drafts.purge_expired_drafts``), at
  their ``expires_at``.

The log says how many of each kind, never who.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import select

from ..extensions import db
from ..models import FINAL_STATUSES
from ..models import Booking
from ..models import BookingDraft
from ..models import BookingStatus
from ..models import CaseDocument
from ..models import CaseFile
from ..models import OutboxMessage
from ..models import SignInAttempt
from ..models import SurveyResponse
from . import anonymise
from .schedule import Kind
from .schedule import Schedule
from .schedule import from_config

log = logging.getLogger(__name__)

#: At most this many records of each kind per pass.
BATCH = 500

#: Bookings whose appointment is over, whatever became of it (cancelled ones apart).
PAST_STATUSES = (BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.CONFIRMED)


def current_schedule() -> Schedule:
    """The schedule of this app's configuration (checked at start-up, so it parses)."""
    config = current_app.config
    return from_config(config, config.get("SIGN_IN_WINDOW_MINUTES"))


# --- What is due ------------------------------------------------------------------------------


def _no_case():
    return ~exists().where(CaseFile.booking_id == Booking.id)


def _due(kind: Kind, schedule: Schedule, now: datetime):
    """(id column, conditions) of the records of ``kind`` due at ``now``; None: none can be."""
    cutoff = schedule.cutoff(kind, now)
    if kind is Kind.DRAFTS:
        return BookingDraft.id, [BookingDraft.expires_at <= now]
    if cutoff is None:
        return None
    if kind is Kind.CANCELLED_BOOKINGS:
        return Booking.id, [
            Booking.status == BookingStatus.CANCELLED,
            Booking.anonymised_at.is_(None),
            func.coalesce(Booking.cancelled_at, Booking.updated_at) <= cutoff,
            _no_case(),
        ]
    if kind is Kind.PAST_BOOKINGS:
        return Booking.id, [
            Booking.status.in_(PAST_STATUSES),
            Booking.anonymised_at.is_(None),
            Booking.end_utc <= cutoff,
            _no_case(),
        ]
    if kind is Kind.CLOSED_CASES:
        return CaseFile.id, [
            CaseFile.status.in_(FINAL_STATUSES),
            CaseFile.anonymised_at.is_(None),
            func.coalesce(CaseFile.resolved_at, CaseFile.updated_at) <= cutoff,
        ]
    if kind is Kind.DOCUMENTS:
        # Read from the (small) documents table, each one's case looked up by its key.
        closed = exists().where(
            CaseFile.id == CaseDocument.case_id,
            CaseFile.status.in_(FINAL_STATUSES),
            func.coalesce(CaseFile.resolved_at, CaseFile.updated_at) <= cutoff,
        )
        return CaseDocument.id, [closed]
    if kind is Kind.OUTBOX:
        return OutboxMessage.id, [
            OutboxMessage.status.in_(anonymise.FINISHED_MAIL),
            func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) <= cutoff,
        ]
    if kind is Kind.SURVEY_COMMENTS:
        return SurveyResponse.id, [
            SurveyResponse.comment != "",
            SurveyResponse.answered_at <= cutoff,
        ]
    if kind is Kind.SIGN_IN_ATTEMPTS:
        return SignInAttempt.id, [SignInAttempt.at <= cutoff]
    raise ValueError(kind)


def due_counts(now: datetime, schedule: Schedule | None = None) -> dict[Kind, int]:
    """How many records of each kind are due at ``now`` (one COUNT per kind): the dry run."""
    schedule = schedule or current_schedule()
    counts = {}
    for kind in Kind:
        due = _due(kind, schedule, now)
        if due is None:
            counts[kind] = 0
            continue
        column, conditions = due
        counts[kind] = db.session.scalar(select(func.count(column)).where(*conditions)) or 0
    return counts


def _due_ids(kind: Kind, schedule: Schedule, now: datetime, limit: int) -> list[int]:
    due = _due(kind, schedule, now)
    if due is None:
        return []
    column, conditions = due
    return list(db.session.scalars(select(column).where(*conditions).order_by(column).limit(limit)))


# --- Applying it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    kind: Kind
    apply: Callable[[list[int], datetime], int]


#: What the job does, in order (drafts and sign-in attempts are jobs of their own).
STEPS: tuple[Step, ...] = (
    Step(Kind.CLOSED_CASES, anonymise.anonymise_cases),
    Step(Kind.DOCUMENTS, lambda ids, now: anonymise.delete_documents(ids)),
    Step(Kind.CANCELLED_BOOKINGS, anonymise.anonymise_bookings),
    Step(Kind.PAST_BOOKINGS, anonymise.anonymise_bookings),
    Step(Kind.OUTBOX, lambda ids, now: anonymise.delete_outbox(ids)),
    Step(Kind.SURVEY_COMMENTS, anonymise.blank_survey_comments),
)


def apply_retention(now: datetime, batch: int = BATCH) -> int:
    """One pass of the schedule: at most ``batch`` records per kind; how many it changed.

    Each kind is committed on its own: if one fails, its batch is rolled back (by the
    worker), the kinds before it stay done, and the next pass tries again.
    """
    schedule = current_schedule()
    done: dict[str, int] = {}
    for step in STEPS:
        ids = _due_ids(step.kind, schedule, now, batch)
        if not ids:
            continue
        count = step.apply(ids, now)
        db.session.commit()
        done[step.kind.value] = count
    if done:
        log.info("retention: %s", ", ".join(f"{kind} {count}" for kind, count in done.items()))
    return sum(done.values())


def expire_sign_in_attempts(now: datetime) -> int:
    """Delete the staff sign-in attempts the schedule no longer keeps (its own job)."""
    cutoff = current_schedule().cutoff(Kind.SIGN_IN_ATTEMPTS, now)
    if cutoff is None:
        return 0
    result = db.session.execute(delete(SignInAttempt).where(SignInAttempt.at <= cutoff))
    db.session.commit()
    return result.rowcount or 0
