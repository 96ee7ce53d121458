"""Demo appointments around today, so the agenda has work on it from the first run."""

from __future__ import annotations

import random
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .. import clock
from ..casefiles.service import case_from_booking
from ..casefiles.service import update_case
from ..core import scheduling
from ..extensions import db
from ..models import BookingStatus
from ..models import CaseStatus
from ..models import Municipality
from ..models import Role
from ..models import Service
from ..models import StaffUser
from .people import PROBLEMS
from .people import demo_booking


def load_activity(now: datetime | None = None, seed: int = 2025) -> None:
    """Appointments around today for the demo team, and case files for the past ones.

    Written directly (no e-mails are queued): the outbox stays for what the newcomer does.
    """
    now = now or clock.now()
    rng = random.Random(seed)
    tz = ZoneInfo("Europe/Madrid")
    service = db.session.scalar(select(Service))
    towns = list(
        db.session.scalars(select(Municipality).where(Municipality.enrolled_on.is_not(None)))
    )
    technicians = list(
        db.session.scalars(select(StaffUser).where(StaffUser.role == Role.TECHNICIAN))
    )
    today = now.astimezone(tz).date()
    hours = [
        scheduling.WeeklyHours(h.staff_id, h.weekday, h.start_time, h.end_time)
        for t in technicians
        for h in t.hours
    ]
    holidays = set(
        scheduling.public_holidays([today.year - 1, today.year, today.year + 1], "ES", "CT")
    )
    duration = service.duration
    attended = []
    for offset in range(-14, 8):
        day = today + timedelta(days=offset)
        if day in holidays:
            continue
        starts = scheduling.candidate_starts(day, hours, tz, duration, duration)
        for start, free in sorted(starts.items()):
            for technician_id in sorted(free):
                # Today is busy for the first technician, so the agenda shows something at once.
                busy_today = offset == 0 and technician_id == technicians[0].id
                if rng.random() > (0.6 if busy_today else 0.3):
                    continue
                end = start + duration
                if end <= now - timedelta(days=3):
                    weights = [8, 1, 1]
                    status = rng.choices(
                        [BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED],
                        weights,
                    )[0]
                elif end <= now:
                    # The last few days' calls wait on the agenda for someone to mark them.
                    status = rng.choice([BookingStatus.ATTENDED, BookingStatus.CONFIRMED])
                else:
                    status = BookingStatus.CONFIRMED
                town = rng.choice(towns)
                booking = demo_booking(
                    rng, service, town, technician_id, start, duration, status, now
                )
                if status == BookingStatus.ATTENDED and end <= now - timedelta(days=2):
                    booking.survey_sent_at = end  # no survey e-mails for the demo's past
                if booking.status == BookingStatus.ATTENDED:
                    attended.append(booking)
    db.session.flush()
    statuses = [
        CaseStatus.EN_TRAMIT,
        CaseStatus.DOCUMENTACIO,
        CaseStatus.RESOLT,
        CaseStatus.PENDENT,
    ]
    for booking in attended:
        if rng.random() < 0.25:
            continue  # not every call needs a case file
        technician = db.session.get(StaffUser, booking.technician_id)
        case = case_from_booking(booking, actor=technician, now=booking.end_utc)
        problem = next(p for p in PROBLEMS if p[0] == booking.description)
        status = rng.choice(statuses)
        changes = {"sector": problem[1], "company": problem[2], "status": status}
        if status == CaseStatus.DOCUMENTACIO:
            changes["deadline"] = today + timedelta(days=rng.randint(3, 12))
            changes["status_detail"] = "Cal aportar la factura i el contracte."
        update_case(
            case,
            changes,
            actor=technician,
            expected_version=case.version,
            now=booking.end_utc + timedelta(hours=1),
            note="Videotrucada feta; obro l'expedient.",
        )
    db.session.commit()
