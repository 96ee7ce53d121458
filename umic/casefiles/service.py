"""Creating and editing case files. Every change is written to the case's history.

Numbers are ``YYYY/NNNNNNN``, unique per year even when cases are created at the same moment
in several processes: the year's counter row is incremented with one ``UPDATE ... RETURNING``,
which the database serialises, and ``case_file.number`` is unique besides.
Edits use optimistic locking (``CaseFile.version``): an edit made on an old version raises
``StaleCase`` instead of overwriting what someone else saved in between.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm.exc import StaleDataError

from ..core.casenumbers import format_number
from ..core.text import fold
from ..extensions import db
from ..models import FINAL_STATUSES
from ..models import Booking
from ..models import CaseCounter
from ..models import CaseEvent
from ..models import CaseFile
from ..models import CaseStatus
from ..models import CaseType
from ..models import Channel
from ..models import Municipality
from ..models import StaffUser
from .documents import request_documents
from .tracker import PROCEDURE_NAMES


class StaleCase(Exception):
    """Someone else saved the case since this edit began."""

    def __init__(self, case: CaseFile):
        super().__init__(f"case {case.number} changed meanwhile")
        self.case = case


#: Fields an edit may change, in the order the history lists them.
EDITABLE_FIELDS = (
    "case_type",
    "channel",
    "municipality_id",
    "interested_name",
    "interested_email",
    "interested_phone",
    "interested_address",
    "sector",
    "company",
    "amount_claimed",
    "description",
    "status",
    "status_detail",
    "deadline",
    "internal_status",
    "internal_detail",
    "assigned_to_id",
    "organic",
    "outcome",
    "amount_recovered",
    "registry_entry",
    "call",
)


def _insert_ignore(model, **values):
    """INSERT ... ON CONFLICT DO NOTHING, in the database's own dialect."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).values(**values).on_conflict_do_nothing()


def allocate_number(year: int) -> tuple[int, str]:
    """The next sequence of ``year`` and its number; part of the caller's transaction.

    The row lock taken by the UPDATE holds until the caller commits, so two processes can
    never get the same number; a rolled-back case leaves a gap, as paper registers do.
    """
    db.session.execute(_insert_ignore(CaseCounter, year=year, last_number=0))
    sequence = db.session.execute(
        update(CaseCounter)
        .where(CaseCounter.year == year)
        .values(last_number=CaseCounter.last_number + 1)
        .returning(CaseCounter.last_number)
    ).scalar_one()
    return sequence, format_number(year, sequence)


def search_text(case: CaseFile) -> str:
    """What free-text search looks in: number, the old tracker's ID, people, company, town
    and the notes."""
    town = case.municipality.name if case.municipality else ""
    parts = [
        case.number,
        case.tracker_id,
        case.registry_entry,
        case.interested_name,
        case.interested_email,
        case.interested_phone,
        case.company,
        town,
        case.status_detail,
        case.internal_status,
        case.internal_detail,
        case.description,
    ]
    return " ".join(fold(part) for part in parts if part) + " " + case.number


def _local_year(moment: datetime) -> int:
    return moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).year


def create_case(values: dict, *, actor: StaffUser | None, now: datetime) -> CaseFile:
    """A new case with the next number of its request year (the caller commits)."""
    values = dict(values)
    requested_at = values.pop("requested_at", None) or now
    case_type = values.get("case_type") or CaseType.RECLAMACIO
    year = _local_year(requested_at)
    sequence, number = allocate_number(year)
    # What the caller leaves empty takes the service's defaults.
    values["procedure_name"] = values.get("procedure_name") or PROCEDURE_NAMES.get(case_type, "")
    values["organic"] = values.get("organic") or current_app.config["CASE_ORGANIC"]
    case = CaseFile(
        year=year,
        sequence=sequence,
        number=number,
        requested_at=requested_at,
        updated_at=now,
        created_by_id=actor.id if actor else None,
        **values,
    )
    if case.municipality_id and case.municipality is None:
        case.municipality = db.session.get(Municipality, case.municipality_id)
    case.search_text = search_text(case)
    case.events.append(CaseEvent(at=now, actor_id=case.created_by_id, kind="created"))
    db.session.add(case)
    db.session.flush()
    return case


def case_from_booking(booking: Booking, *, actor: StaffUser | None, now: datetime) -> CaseFile:
    """Open the case for an appointment, filled with what the booking knows (or its case)."""
    existing = db.session.scalar(select(CaseFile).where(CaseFile.booking_id == booking.id))
    if existing is not None:
        return existing
    return create_case(
        {
            "case_type": CaseType.RECLAMACIO,
            # An in-person appointment at a visit of the mobile unit is a UMIC request,
            # counted once through this case file (``stats.requests``).
            "channel": Channel.UMIC if booking.visit_id is not None else Channel.TELEMATICA,
            "visit_id": booking.visit_id,
            "municipality_id": booking.municipality_id,
            "interested_name": booking.citizen_name,
            "interested_email": booking.citizen_email,
            "interested_phone": booking.citizen_phone,
            "interested_address": booking.citizen_address,
            "description": booking.description,
            "assigned_to_id": booking.technician_id,
            "booking_id": booking.id,
            # An in-person request is made at the visit (counted in the visit's month, as a
            # video call is counted by its time); a video call's case keeps its booking day.
            "requested_at": booking.start_utc if booking.visit_id else booking.created_at,
            "status": CaseStatus.EN_TRAMIT,
        },
        actor=actor,
        now=now,
    )


def _shown(field: str, value) -> str:
    """How a value is written in the history: names for people and towns, ISO for dates."""
    if value is None or value == "":
        return ""
    if field == "assigned_to_id":
        user = db.session.get(StaffUser, value)
        return user.username if user else str(value)
    if field == "municipality_id":
        town = db.session.get(Municipality, value)
        return town.name if town else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def update_case(
    case: CaseFile,
    changes: dict,
    *,
    actor: StaffUser | None,
    expected_version: int,
    now: datetime,
    note: str = "",
) -> list[CaseEvent]:
    """Apply ``changes`` and record each one (who, when, old -> new); the caller commits.

    Raises StaleCase when the case is no longer at ``expected_version``, whether the other
    save is already visible or commits while this one is being written.
    """
    if case.version != expected_version:
        raise StaleCase(case)
    events = []
    old_status, old_deadline = case.status, case.deadline
    for field in EDITABLE_FIELDS:
        if field not in changes:
            continue
        old, new = getattr(case, field), changes[field]
        if _shown(field, old) == _shown(field, new):
            continue
        events.append(
            CaseEvent(
                at=now,
                actor_id=actor.id if actor else None,
                kind="change",
                field=field,
                old_value=_shown(field, old),
                new_value=_shown(field, new),
            )
        )
        setattr(case, field, new)
    if note.strip():
        events.append(
            CaseEvent(at=now, actor_id=actor.id if actor else None, kind="note", note=note.strip())
        )
    if not events:
        return []
    if case.status != old_status:
        finished = case.status in FINAL_STATUSES
        case.resolved_at = (case.resolved_at or now) if finished else None
    if "municipality_id" in changes:
        town_id = case.municipality_id
        case.municipality = db.session.get(Municipality, town_id) if town_id else None
    case.updated_at = now
    case.search_text = search_text(case)
    case.events.extend(events)
    try:
        db.session.flush()
    except StaleDataError as error:
        db.session.rollback()
        raise StaleCase(db.session.get(CaseFile, case.id)) from error
    requested = case.status == CaseStatus.DOCUMENTACIO and case.deadline is not None
    if requested and (old_status != case.status or old_deadline != case.deadline):
        request_documents(case, actor=actor, now=now)
    return events
