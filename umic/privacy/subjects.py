"""One person's data: find it, export it, erase it (GDPR art. 15, 17 and 20).

A coordinator (``/admin/privacitat/``, ``umic.privacy.routes``) or a command
(``flask privacy find|export|erase``, ``umic.privacy.subjects_cli``) names a person by one
e-mail address or one phone number (``umic.core.identity``: case, spaces, ``+tag`` and the
way a number is written do not matter). Everything the app holds about them:

- their bookings (any status) and their booking drafts;
- the case files where they are the interested person, or opened from one of their bookings,
  with their history entries and documents;
- the e-mails in the outbox addressed to them or about their bookings (the technicians'
  copies carry their name and problem);
- how many access links (tokens) were issued for their bookings and cases;
- their answers to the satisfaction survey.

Staff sign-in attempts are staff data and are not searched. ``find`` costs a fixed number of
queries (one per kind of record), whatever the number of rows.

``erase`` follows docs/privacy.md, "The rights of the people whose data we hold": a future
booking is cancelled through the booking service (its technician's calendar gets the
cancellation; the person is not e-mailed: their address is already gone when the
cancellation is written), every booking and case file is anonymised rather than deleted
(the case files are public records: GDPR art. 17.3(b) and (e)), documents, drafts, outbox
messages and access links are deleted, survey comments blanked (the scores stay). While one
of the person's case files is still open nothing is erased: the case must be closed first.

Every find, export and erasure writes a ``PrivacyAudit`` row (``record``); the functions
here leave the commit to their caller, except ``erase``, which commits (the booking service's
cancel commits each cancellation; see its docstring).
"""

from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import Decimal
from tempfile import SpooledTemporaryFile
from typing import IO

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..booking import service as booking_service
from ..casefiles.documents import stored_path
from ..core import identity
from ..core.identity import Term
from ..extensions import db
from ..models import FINAL_STATUSES
from ..models import AccessToken
from ..models import Booking
from ..models import BookingDraft
from ..models import BookingStatus
from ..models import CaseDocument
from ..models import CaseEvent
from ..models import CaseFile
from ..models import OutboxMessage
from ..models import StaffUser
from ..models import SurveyResponse
from ..models.privacy import PrivacyAction
from ..models.privacy import PrivacyAudit

log = logging.getLogger(__name__)

#: The export's format, written in its JSON (docs/privacy.md, "The export").
EXPORT_FORMAT = "umic-personal-data"
EXPORT_VERSION = 1
#: Documents larger than this stay on disk while the ZIP is written.
_SPOOL_BYTES = 16 * 1024 * 1024


class OpenCases(Exception):
    """The person has case files still open: nothing was erased."""

    def __init__(self, cases: list[CaseFile]):
        super().__init__(", ".join(case.number for case in cases))
        self.cases = cases


@dataclass
class Subject:
    """Everything held about one person (rows loaded, nothing changed)."""

    term: Term
    bookings: list[Booking] = field(default_factory=list)
    drafts: list[BookingDraft] = field(default_factory=list)
    cases: list[CaseFile] = field(default_factory=list)
    events: list[CaseEvent] = field(default_factory=list)
    documents: list[CaseDocument] = field(default_factory=list)
    outbox: list[OutboxMessage] = field(default_factory=list)
    tokens: int = 0
    surveys: list[SurveyResponse] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(
            self.bookings or self.drafts or self.cases or self.outbox or self.surveys or self.tokens
        )

    def addressed_to_person(self, message: OutboxMessage) -> bool:
        """The e-mail went to the person (not a technician's copy about their booking)."""
        return self.term.kind == identity.EMAIL and identity.matches(self.term, message.recipient)

    @property
    def open_cases(self) -> list[CaseFile]:
        return [case for case in self.cases if case.status not in FINAL_STATUSES]

    def future_bookings(self, now: datetime) -> list[Booking]:
        """Confirmed bookings not over yet: cancelled (technician told) before anonymising."""
        return [
            booking
            for booking in self.bookings
            if booking.status == BookingStatus.CONFIRMED and booking.end_utc > now
        ]

    def counts(self) -> dict[str, int]:
        """How many of each kind: what the page shows and the audit log keeps."""
        return {
            "bookings": len(self.bookings),
            "drafts": len(self.drafts),
            "cases": len(self.cases),
            "case_events": len(self.events),
            "documents": len(self.documents),
            "outbox_messages": len(self.outbox),
            "access_tokens": self.tokens,
            "survey_responses": len(self.surveys),
        }

    def other_terms(self) -> list[str]:
        """The other addresses or numbers in the rows found (a phone found by e-mail, an
        address found by phone): the same person may have more rows under them, which a
        coordinator searches for separately (the same number may be a family's)."""
        values = [v for b in self.bookings for v in (b.citizen_email, b.citizen_phone)]
        values += [v for c in self.cases for v in (c.interested_email, c.interested_phone)]
        values += [v for d in self.drafts for v in (d.email, d.phone)]
        seen: dict[Term, str] = {}
        for value in values:
            term = identity.parse_term(value)
            if term is not None and term != self.term:
                seen.setdefault(term, value.strip())
        return sorted(seen.values())

    def identifiers(self) -> list[str]:
        """Every name, address and number of the person in the rows: what ``redact`` removes
        from an erasure's reason."""
        values: list[str] = [self.term.key]
        for booking in self.bookings:
            values += [booking.citizen_name, booking.citizen_email, booking.citizen_phone]
            values += booking.citizen_name.split()
        for draft in self.drafts:
            values += [draft.name, draft.email, draft.phone, *draft.name.split()]
        for case in self.cases:
            values += [case.interested_name, case.interested_email, case.interested_phone]
            values += case.interested_name.split()
        return [value for value in values if value]


# --- Find -------------------------------------------------------------------------------------


def _matching(column, term: Term):
    """A SQL condition every value of ``column`` that may be the term's fits (``identity``
    decides the true matches afterwards)."""
    if term.kind == identity.EMAIL:
        stored = func.lower(func.trim(column))
        return or_(stored == term.key, stored.like(identity.email_pattern(term.key), escape="\\"))
    return column.like(identity.phone_pattern(term.key))


def _booking_condition(term: Term):
    if term.kind == identity.EMAIL:
        keyed = getattr(Booking, "email_key", None)  # the booking caps' indexed key
        if keyed is not None:
            return keyed == term.key
        return _matching(Booking.citizen_email, term)
    return _matching(Booking.citizen_phone, term)


def find(term: Term) -> Subject:
    """Everything held about the person ``term`` names, in at most eight queries."""
    subject = Subject(term=term)
    email = term.kind == identity.EMAIL

    bookings = db.session.scalars(
        select(Booking)
        .options(joinedload(Booking.municipality), joinedload(Booking.service))
        .where(_booking_condition(term))
        .order_by(Booking.start_utc)
    ).all()
    subject.bookings = [
        b for b in bookings if identity.matches(term, b.citizen_email if email else b.citizen_phone)
    ]
    booking_ids = [b.id for b in subject.bookings]

    own = _matching(BookingDraft.email if email else BookingDraft.phone, term)
    drafts = db.session.scalars(
        select(BookingDraft)
        .where(or_(own, BookingDraft.booking_id.in_(booking_ids)))
        .order_by(BookingDraft.id)
    ).all()
    subject.drafts = [
        d
        for d in drafts
        if d.booking_id in booking_ids or identity.matches(term, d.email if email else d.phone)
    ]

    own = _matching(CaseFile.interested_email if email else CaseFile.interested_phone, term)
    cases = db.session.scalars(
        select(CaseFile)
        .options(joinedload(CaseFile.municipality))
        .where(or_(own, CaseFile.booking_id.in_(booking_ids)))
        .order_by(CaseFile.id)
    ).all()
    subject.cases = [
        c
        for c in cases
        if c.booking_id in booking_ids
        or identity.matches(term, c.interested_email if email else c.interested_phone)
    ]
    case_ids = [c.id for c in subject.cases]

    if case_ids:
        subject.events = list(
            db.session.scalars(
                select(CaseEvent).where(CaseEvent.case_id.in_(case_ids)).order_by(CaseEvent.id)
            )
        )
        subject.documents = list(
            db.session.scalars(
                select(CaseDocument)
                .where(CaseDocument.case_id.in_(case_ids))
                .order_by(CaseDocument.id)
            )
        )

    about = OutboxMessage.booking_id.in_(booking_ids)
    condition = or_(_matching(OutboxMessage.recipient, term), about) if email else about
    messages = db.session.scalars(select(OutboxMessage).where(condition).order_by(OutboxMessage.id))
    subject.outbox = [
        m for m in messages if m.booking_id in booking_ids or subject.addressed_to_person(m)
    ]

    if booking_ids or case_ids:
        subject.tokens = db.session.scalar(
            select(func.count())
            .select_from(AccessToken)
            .where(or_(AccessToken.booking_id.in_(booking_ids), AccessToken.case_id.in_(case_ids)))
        )
    if booking_ids:
        subject.surveys = list(
            db.session.scalars(
                select(SurveyResponse)
                .where(SurveyResponse.booking_id.in_(booking_ids))
                .order_by(SurveyResponse.id)
            )
        )
    return subject


# --- The audit log ----------------------------------------------------------------------------


def record(
    action: PrivacyAction,
    term: Term,
    counts: dict[str, int],
    *,
    actor: StaffUser | None,
    now: datetime,
    reason: str = "",
) -> PrivacyAudit:
    """Write the audit row of one find, export or erasure (the caller commits).

    ``actor`` None means a command on the server ("cli"). The term is kept as a keyed hash
    and a mask; ``reason`` must already be redacted (``erase`` does it).
    """
    entry = PrivacyAudit(
        at=now,
        action=action,
        actor_id=actor.id if actor is not None else None,
        via="web" if actor is not None else "cli",
        term_kind=term.kind,
        term_digest=identity.term_digest(term, current_app.config["SECRET_KEY"]),
        term_mask=identity.mask(term),
        counts=json.dumps(counts, sort_keys=True),
        reason=reason,
    )
    db.session.add(entry)
    return entry


def earlier_requests(term: Term, limit: int = 20) -> list[PrivacyAudit]:
    """The audit rows about the same person (by the term's keyed hash), newest first."""
    digest = identity.term_digest(term, current_app.config["SECRET_KEY"])
    return list(
        db.session.scalars(
            select(PrivacyAudit)
            .options(joinedload(PrivacyAudit.actor))
            .where(PrivacyAudit.term_digest == digest)
            .order_by(PrivacyAudit.id.desc())
            .limit(limit)
        )
    )


def audit_counts(entry: PrivacyAudit) -> dict[str, int]:
    """An audit row's counts, as a dict (empty if the stored JSON is unreadable)."""
    try:
        counts = json.loads(entry.counts or "{}")
    except ValueError:
        return {}
    return counts if isinstance(counts, dict) else {}


# --- Export -----------------------------------------------------------------------------------


def iso(value: datetime | date | None) -> str | None:
    """ISO 8601; moments in UTC with a ``Z`` (``2026-12-04T09:30:00Z``), days as YYYY-MM-DD."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def document_path(document: CaseDocument) -> str:
    """Where a document's bytes are inside the ZIP."""
    return f"documents/{document.id}-{document.original_name}"


def export_data(subject: Subject, now: datetime) -> dict:
    """The export's JSON (field names in docs/privacy.md, "The export")."""
    case_numbers = {case.id: case.number for case in subject.cases}
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "generated_at": iso(now),
        "searched_by": subject.term.kind,
        "bookings": [
            {
                "reference": b.reference,
                "status": b.status,
                "service": b.service.name,
                "municipality": b.municipality.name,
                "start": iso(b.start_utc),
                "end": iso(b.end_utc),
                "name": b.citizen_name,
                "email": b.citizen_email,
                "phone": b.citizen_phone,
                "address": b.citizen_address,
                "description": b.description,
                "language": b.language,
                "consent_at": iso(b.consent_at),
                "consent_version": b.consent_version,
                "created_at": iso(b.created_at),
                "cancelled_at": iso(b.cancelled_at),
                "cancelled_by": b.cancelled_by,
                "cancel_reason": b.cancel_reason,
                "marked_at": iso(b.marked_at),
            }
            for b in subject.bookings
        ],
        "drafts": [
            {
                "created_at": iso(d.created_at),
                "expires_at": iso(d.expires_at),
                "slot_start": iso(d.slot_start),
                "name": d.name,
                "email": d.email,
                "phone": d.phone,
                "address": d.address,
                "description": d.description,
                "consent_at": iso(d.consent_at),
            }
            for d in subject.drafts
        ],
        "case_files": [
            {
                "number": c.number,
                "type": c.case_type,
                "channel": c.channel,
                "status": c.status,
                "status_detail": c.status_detail,
                "municipality": c.municipality.name if c.municipality else None,
                "booking_reference": next(
                    (b.reference for b in subject.bookings if b.id == c.booking_id), None
                ),
                "name": c.interested_name,
                "email": c.interested_email,
                "phone": c.interested_phone,
                "address": c.interested_address,
                "sector": c.sector,
                "company": c.company,
                "description": c.description,
                "claim_request": c.claim_request,  # the mailbox's "what do you ask for"
                "amount_claimed": _amount(c.amount_claimed),
                "amount_recovered": _amount(c.amount_recovered),
                "outcome": c.outcome,
                "deadline": iso(c.deadline),
                "requested_at": iso(c.requested_at),
                "updated_at": iso(c.updated_at),
                "resolved_at": iso(c.resolved_at),
            }
            for c in subject.cases
        ],
        "case_events": [
            {
                "case_number": case_numbers.get(e.case_id),
                "at": iso(e.at),
                "kind": e.kind,
                "field": e.field,
                "old_value": e.old_value,
                "new_value": e.new_value,
                "note": e.note,
            }
            for e in subject.events
        ],
        "documents": [
            {
                "case_number": case_numbers.get(d.case_id),
                "file": document_path(d),
                "original_name": d.original_name,
                "content_type": d.content_type,
                "size": d.size,
                "sha256": d.sha256,
                "source": d.source,
                "category": d.category,
                "uploaded_at": iso(d.uploaded_at),
            }
            for d in subject.documents
        ],
        "emails": [
            {
                "created_at": iso(m.created_at),
                "sent_at": iso(m.sent_at),
                "status": m.status,
                "kind": m.kind,
                "to_the_person": subject.addressed_to_person(m),
                "recipient": m.recipient if subject.addressed_to_person(m) else None,
                "subject": m.subject,
                "body_text": m.body_text,
            }
            for m in subject.outbox
        ],
        "access_links": {"count": subject.tokens},
        "survey_responses": [
            {
                "booking_reference": next(
                    (b.reference for b in subject.bookings if b.id == s.booking_id), None
                ),
                "answered_at": iso(s.answered_at),
                "attention": s.attention,
                "competence": s.competence,
                "resolved": s.resolved,
                "comment": s.comment,
                "language": s.language,
            }
            for s in subject.surveys
        ],
    }


def write_export(subject: Subject, now: datetime) -> tuple[IO[bytes], dict[str, int]]:
    """The ZIP: ``dades.json`` and every document's bytes; returns the file (at its start)
    and the counts for the audit log (``documents_missing``: files not found on disk)."""
    data = export_data(subject, now)
    missing = 0
    output: IO[bytes] = SpooledTemporaryFile(max_size=_SPOOL_BYTES)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for document, entry in zip(subject.documents, data["documents"], strict=True):
            try:
                path = stored_path(document)
                archive.write(path, document_path(document))
            except (OSError, ValueError):
                log.warning("privacy export: document %s has no file", document.id)
                entry["file"] = None
                missing += 1
        archive.writestr("dades.json", json.dumps(data, ensure_ascii=False, indent=2))
    output.seek(0)
    counts = subject.counts()
    counts["documents_missing"] = missing
    return output, counts


# --- Erase ------------------------------------------------------------------------------------


def erase(
    subject: Subject, *, reason: str, actor: StaffUser | None, now: datetime
) -> dict[str, int]:
    """Erase what ``find`` found, log it, and COMMIT; returns what was done, per kind.

    Raises ``OpenCases`` (nothing changed) while a case file of the person is open.

    1. Each future booking is anonymised and then cancelled by the booking service, which
       commits both together: the technician gets the calendar cancellation, naming nobody;
       the person gets no e-mail (the service writes none to a booking without an address).
    2. In one transaction: every booking and case file anonymised, the documents (files and
       rows), drafts, outbox messages and access links deleted, survey comments blanked, and
       the audit row with the reason (the person's identifiers taken out).

    Run again on the same person, it finds nothing more to do.
    """
    from . import anonymise  # the retention's primitives, shared with the periodic job

    if subject.open_cases:
        raise OpenCases(subject.open_cases)
    done = dict.fromkeys(
        (
            "bookings_cancelled",
            "bookings_anonymised",
            "cases_anonymised",
            "documents_deleted",
            "drafts_deleted",
            "outbox_messages_deleted",
            "access_tokens_deleted",
            "survey_comments_blanked",
        ),
        0,
    )
    reason = identity.redact(reason, subject.identifiers())
    term = subject.term
    booking_ids = [b.id for b in subject.bookings]
    case_ids = [c.id for c in subject.cases]
    future = [b.id for b in subject.future_bookings(now)]
    draft_ids = [d.id for d in subject.drafts]
    document_ids = [d.id for d in subject.documents]
    message_ids = [m.id for m in subject.outbox]
    survey_ids = [s.id for s in subject.surveys if s.comment]

    cancellations: set[int] = set()
    for booking_id in future:
        anonymised = anonymise.anonymise_bookings([booking_id], now)
        db.session.flush()
        db.session.expire_all()  # the cancel must read the anonymised row, not the old one
        before = set(_messages_about(booking_id))
        try:
            booking_service.cancel(booking_id, now, reason="", by="staff")
        except booking_service.ChangeNotAllowed:
            # Cancelled or over meanwhile: the service rolled back; anonymised below.
            continue
        done["bookings_cancelled"] += 1
        done["bookings_anonymised"] += anonymised
        # The technician's cancellation must go out. (SQLite may give it the id of a message
        # the anonymising just deleted: ids found before are not enough to tell them apart.)
        cancellations |= set(_messages_about(booking_id)) - before
    message_ids = [i for i in message_ids if i not in cancellations]

    # What the anonymising also deletes (drafts, links, documents) goes first, so that the
    # counts say what was there.
    done["drafts_deleted"] = _deleted(delete(BookingDraft).where(BookingDraft.id.in_(draft_ids)))
    done["access_tokens_deleted"] = _deleted(
        delete(AccessToken).where(
            or_(AccessToken.booking_id.in_(booking_ids), AccessToken.case_id.in_(case_ids))
        )
    )
    done["outbox_messages_deleted"] = anonymise.delete_outbox(message_ids)
    done["survey_comments_blanked"] = anonymise.blank_survey_comments(survey_ids, now)
    # Files go once the transaction commits (a rollback keeps them).
    done["documents_deleted"] = anonymise.delete_documents(document_ids)
    done["bookings_anonymised"] += anonymise.anonymise_bookings(booking_ids, now)
    done["cases_anonymised"] = anonymise.anonymise_cases(case_ids, now)
    record(PrivacyAction.ERASE, term, done, actor=actor, now=now, reason=reason)
    db.session.commit()
    log.info("privacy erase: %s", json.dumps(done, sort_keys=True))
    return done


def _messages_about(booking_id: int) -> list[int]:
    return list(
        db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.booking_id == booking_id))
    )


def _deleted(statement) -> int:
    result = db.session.execute(statement, execution_options={"synchronize_session": False})
    return result.rowcount or 0
