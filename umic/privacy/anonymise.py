"""Forgetting people: set-based primitives that the retention job and a coordinator's erasure
both use (``umic.privacy.retention``, ``umic.privacy.subjects``).

Each takes a collection of ids and does its work in a fixed number of statements per 500 ids
(an ``UPDATE``/``DELETE ... WHERE id IN (...)``), never a query per row. Each is idempotent
(a second call changes nothing and counts 0) and leaves the commit to its caller.

**Anonymising** keeps the row and everything the figures read, and blanks what identifies
or describes a person:

- a booking: name, e-mail (and its cap key, and the network key), phone, address, the
  description of the problem and the cancel reason; its drafts and its access links are
  deleted, and so are the e-mails about it that are already sent or given up. Town, service,
  technician, times, status, channel, language and the created/confirmed/cancelled/marked
  moments stay, so the statistics and the survey results do not change.
- a case file: the interested person's name, e-mail, phone and address, the description and
  what a mailbox message asked for, the mailbox's cap keys, the status and internal details
  (free text), the search text (rebuilt from the number); its
  history keeps who and when and the changes of the figures' fields (type, channel, town,
  sector, company, amounts, status, outcome, deadline, assignment), and loses every note and
  the old and new values of the other fields (names, e-mails, descriptions); its documents
  and its upload links are deleted, and the booking it came from is anonymised with it. Its
  version goes up, so an edit form opened before cannot write the old values back.

**Deleting documents** removes the rows now and their files once the transaction commits
(a rollback keeps both): see :func:`_unlink_after_commit`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from ..casefiles.documents import upload_folder
from ..extensions import db
from ..models import AccessToken
from ..models import Booking
from ..models import BookingChange
from ..models import BookingDraft
from ..models import CaseDocument
from ..models import CaseEvent
from ..models import CaseFile
from ..models import OutboxMessage
from ..models import OutboxStatus
from ..models import SurveyResponse

log = logging.getLogger(__name__)

#: Ids per statement: every database takes an IN list of this length.
CHUNK = 500

#: Messages whose sending is over: deleting them loses nothing the worker still needs.
FINISHED_MAIL = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.SUPERSEDED)

#: History fields whose old and new values are figures, codes or staff, never the citizen.
KEPT_EVENT_FIELDS = frozenset(
    {
        "case_type",
        "channel",
        "municipality_id",
        "sector",
        "company",
        "amount_claimed",
        "amount_recovered",
        "status",
        "outcome",
        "deadline",
        "assigned_to_id",
        "internal_status",
        "documents_request",  # the deadline's ISO date
        "documents_reminder",
    }
)

_FILES_KEY = "umic.privacy.files_to_delete"


def _chunks(ids: Collection[int]) -> Iterator[list[int]]:
    unique = sorted({int(i) for i in ids})
    for start in range(0, len(unique), CHUNK):
        yield unique[start : start + CHUNK]


def _rows(result) -> int:
    return max(result.rowcount or 0, 0)


# --- Bookings ---------------------------------------------------------------------------------


def anonymise_bookings(booking_ids: Collection[int], now: datetime) -> int:
    """Blank the personal data of these bookings; how many were not anonymised before."""
    count = 0
    for chunk in _chunks(booking_ids):
        db.session.execute(delete(BookingDraft).where(BookingDraft.booking_id.in_(chunk)))
        db.session.execute(delete(AccessToken).where(AccessToken.booking_id.in_(chunk)))
        db.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.booking_id.in_(chunk), OutboxMessage.status.in_(FINISHED_MAIL)
            )
        )
        # A staff move's reason is what the citizen was told: it may be about them.
        db.session.execute(
            update(BookingChange).where(BookingChange.booking_id.in_(chunk)).values(reason="")
        )
        count += _rows(
            db.session.execute(
                update(Booking)
                .where(Booking.id.in_(chunk), Booking.anonymised_at.is_(None))
                .values(
                    citizen_name="",
                    citizen_email="",
                    email_key="",
                    network_key=None,
                    citizen_phone="",
                    citizen_address="",
                    description="",
                    cancel_reason="",
                    anonymised_at=now,
                )
                .execution_options(synchronize_session="fetch")
            )
        )
    return count


# --- Case files -------------------------------------------------------------------------------


def anonymise_cases(case_ids: Collection[int], now: datetime) -> int:
    """Blank the personal data of these case files, their history, documents, links and
    booking; how many were not anonymised before."""
    count = 0
    for chunk in _chunks(case_ids):
        documents = db.session.scalars(
            select(CaseDocument.id).where(CaseDocument.case_id.in_(chunk))
        ).all()
        delete_documents(documents)
        bookings = db.session.scalars(
            select(CaseFile.booking_id).where(
                CaseFile.id.in_(chunk), CaseFile.booking_id.is_not(None)
            )
        ).all()
        anonymise_bookings(bookings, now)
        db.session.execute(delete(AccessToken).where(AccessToken.case_id.in_(chunk)))
        db.session.execute(
            update(CaseEvent)
            .where(CaseEvent.case_id.in_(chunk), CaseEvent.note != "")
            .values(note="")
            .execution_options(synchronize_session="fetch")
        )
        db.session.execute(
            update(CaseEvent)
            .where(
                CaseEvent.case_id.in_(chunk),
                CaseEvent.field.not_in(KEPT_EVENT_FIELDS),
                (CaseEvent.old_value != "") | (CaseEvent.new_value != ""),
            )
            .values(old_value="", new_value="")
            .execution_options(synchronize_session="fetch")
        )
        count += _rows(
            db.session.execute(
                update(CaseFile)
                .where(CaseFile.id.in_(chunk), CaseFile.anonymised_at.is_(None))
                .values(
                    interested_name="",
                    interested_email="",
                    interested_phone="",
                    interested_address="",
                    description="",
                    claim_request="",  # what a mailbox message asked for
                    email_key=None,  # the mailbox's cap keys
                    network_key=None,
                    status_detail="",
                    internal_detail="",
                    search_text=CaseFile.number,
                    version=CaseFile.version + 1,
                    anonymised_at=now,
                )
                .execution_options(synchronize_session="fetch")
            )
        )
    return count


# --- Documents --------------------------------------------------------------------------------


def delete_documents(document_ids: Collection[int]) -> int:
    """Delete these documents: the rows now, their files when the transaction commits."""
    count = 0
    folder: Path | None = None
    for chunk in _chunks(document_ids):
        names = db.session.scalars(
            select(CaseDocument.stored_name).where(CaseDocument.id.in_(chunk))
        ).all()
        if not names:
            continue
        folder = folder or upload_folder()
        # The same check as documents.stored_path: a stored name is a bare file name.
        paths = [folder / name for name in names if name and Path(name).name == name]
        count += _rows(
            db.session.execute(
                delete(CaseDocument)
                .where(CaseDocument.id.in_(chunk))
                .execution_options(synchronize_session="fetch")
            )
        )
        _unlink_after_commit(paths)
    return count


def _unlink_after_commit(paths: list[Path]) -> None:
    """Remember files to delete when the session's transaction commits (forgotten on a
    rollback): a file is never gone while its row could come back."""
    session = db.session()
    session.info.setdefault(_FILES_KEY, []).extend(paths)


@event.listens_for(Session, "after_commit")
def _delete_files(session: Session) -> None:
    paths = session.info.pop(_FILES_KEY, None)
    for path in paths or ():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@event.listens_for(Session, "after_soft_rollback")
def _keep_files(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is not None:
        return  # a savepoint rolled back; the outer transaction may still commit
    session.info.pop(_FILES_KEY, None)


# --- Outbox, surveys --------------------------------------------------------------------------


def delete_outbox(message_ids: Collection[int]) -> int:
    """Delete these e-mails from the outbox (whatever their status)."""
    count = 0
    for chunk in _chunks(message_ids):
        count += _rows(
            db.session.execute(
                delete(OutboxMessage)
                .where(OutboxMessage.id.in_(chunk))
                .execution_options(synchronize_session="fetch")
            )
        )
    return count


def blank_survey_comments(response_ids: Collection[int], now: datetime) -> int:
    """Empty the free-text comment of these survey answers (the scores stay); how many had
    one. ``now`` is taken for symmetry with the other primitives (nothing records it)."""
    count = 0
    for chunk in _chunks(response_ids):
        count += _rows(
            db.session.execute(
                update(SurveyResponse)
                .where(SurveyResponse.id.in_(chunk), SurveyResponse.comment != "")
                .values(comment="")
                .execution_options(synchronize_session="fetch")
            )
        )
    return count
