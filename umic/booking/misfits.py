"""The confirmed appointments that no longer fit: after the hours shrink, a closure or an
absence is added, or a holiday was missed. The rule is ``core.scheduling.outside_hours``; this
loads what it needs from the same data the citizen's free times come from
(``booking.service.load_availability``), so what a citizen can book and what is reported
here cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..core import scheduling
from ..extensions import db
from ..models import Booking
from ..models import BookingStatus
from ..models import CaseFile
from ..models import Municipality
from ..models import StaffUser
from . import service as booking_service


@dataclass(frozen=True)
class Misfit:
    """A confirmed future appointment that needs a new time, and why."""

    booking_id: int
    start: datetime
    end: datetime
    citizen: str
    town: str
    technician: str
    case_id: int | None
    reason: scheduling.Misfit


def confirmed_misfits(now: datetime, staff_id: int | None = None) -> list[Misfit]:
    """Confirmed appointments after ``now`` (of one technician, or all) that no longer fit.

    One query for the bookings (with town, technician and case file joined), then the three
    queries of the availability of the days they span and one for the technicians' towns.
    """
    query = (
        select(
            Booking.id,
            Booking.technician_id,
            Booking.start_utc,
            Booking.end_utc,
            Booking.citizen_name,
            Booking.municipality_id,
            Municipality.name.label("town"),
            StaffUser.name.label("technician"),
            CaseFile.id.label("case_id"),
        )
        .join(Municipality, Municipality.id == Booking.municipality_id)
        .join(StaffUser, StaffUser.id == Booking.technician_id)
        .outerjoin(CaseFile, CaseFile.booking_id == Booking.id)
        .where(Booking.status == BookingStatus.CONFIRMED, Booking.start_utc > now)
        .order_by(Booking.start_utc, Booking.id)
    )
    if staff_id is not None:
        query = query.where(Booking.technician_id == staff_id)
    rows = db.session.execute(query).all()
    if not rows:
        return []
    rules = booking_service.rules()
    availability = booking_service.load_availability(
        rows[0].start_utc.astimezone(rules.tz).date(),
        max(row.end_utc for row in rows).astimezone(rules.tz).date(),
        rules,
    )
    by_id = {row.id: row for row in rows}
    appointments = (
        scheduling.Appointment(
            row.id, row.technician_id, row.start_utc, row.end_utc, row.municipality_id
        )
        for row in rows
    )
    return [
        Misfit(
            booking_id=row.id,
            start=row.start_utc,
            end=row.end_utc,
            citizen=row.citizen_name,
            town=row.town,
            technician=row.technician,
            case_id=row.case_id,
            reason=found.reason,
        )
        for found in scheduling.outside_hours(
            appointments, availability, booking_service.town_limits()
        )
        for row in [by_id[found.appointment.booking_id]]
    ]
