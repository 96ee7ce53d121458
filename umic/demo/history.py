"""The pilot (March-May 2025) and the months after it, as the seed reports them."""

from __future__ import annotations

import random
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .. import clock
from ..casefiles.tracker_db import import_tracker
from ..core import scheduling
from ..extensions import db
from ..models import Booking
from ..models import BookingStatus
from ..models import CaseFile
from ..models import ChannelCount
from ..models import Municipality
from ..models import Role
from ..models import Service
from ..models import StaffUser
from ..models import SurveyResponse
from .people import SURVEY_COMMENTS
from .people import demo_booking
from .people import finished_case

ATTENDED = BookingStatus.ATTENDED

PILOT_CASES_TSV = Path(__file__).resolve().parents[1] / "data" / "pilot_cases.tsv"
# Video calls in the pilot's first three months (the seed's table), and UMIC visits.
PILOT_VIDEO = {"08289": 4, "08259": 6, "08020": 4, "08091": 7}
PILOT_UMIC = {"08289": 5, "08259": 6, "08020": 0, "08091": 9}
PILOT_MONTHS = [date(2025, 3, 1), date(2025, 4, 1), date(2025, 5, 1)]
# "25 Ens locals els 7 primers mesos: 90 assistències virtuals" (March to September 2025).
SEVEN_MONTHS_VIDEO = 90
# Survey answers: attention 9.4, competence 9.3, resolved fully 70 %, partly 30 %, not 0 %.
SURVEY_ATTENTION = [10] * 8 + [9] * 12
SURVEY_COMPETENCE = [10] * 6 + [9] * 14
SURVEY_RESOLVED = ["totalment"] * 14 + ["parcialment"] * 6
SURVEYS_SENT = 28


class _Calendar:
    """Free weekday slots of the demo team, for writing past bookings without overlaps."""

    def __init__(self, technicians, service, tz):
        self.tz = tz
        self.duration = service.duration
        self.hours = [
            scheduling.WeeklyHours(h.staff_id, h.weekday, h.start_time, h.end_time)
            for t in technicians
            for h in t.hours
        ]
        self.holidays = set(scheduling.public_holidays([2025, 2026, 2027], "ES", "CT"))
        self.taken: set[tuple[int, datetime]] = set()

    def take(self, rng, first: date, last: date, technician_id: int | None = None):
        """A random free (technician, start) between two days."""
        for _ in range(200):
            day = first + timedelta(days=rng.randint(0, (last - first).days))
            if day in self.holidays:
                continue
            starts = scheduling.candidate_starts(
                day, self.hours, self.tz, self.duration, self.duration
            )
            choices = [
                (tech, start)
                for start, techs in starts.items()
                for tech in techs
                if (tech, start) not in self.taken
                and (technician_id is None or tech == technician_id)
            ]
            if choices:
                chosen = rng.choice(sorted(choices))
                self.taken.add(chosen)
                return chosen
        raise RuntimeError("no free slot for demo data")

    def hold(self, technician_id: int, start: datetime) -> None:
        self.taken.add((technician_id, start))


def load_history(seed: int = 2024) -> None:
    """The pilot (March-May 2025) and the months after it, so statistics show the seed."""
    rng = random.Random(seed)
    tz = ZoneInfo("Europe/Madrid")
    service = db.session.scalar(select(Service))
    technicians = list(
        db.session.scalars(select(StaffUser).where(StaffUser.role == Role.TECHNICIAN))
    )
    towns = {m.ine_code: m for m in db.session.scalars(select(Municipality))}
    enrolled = [m for m in towns.values() if m.enrolled_on is not None]
    calendar = _Calendar(technicians, service, tz)
    now = clock.now()
    duration = calendar.duration

    # The seed's seven case files (the old tracker), each the outcome of one pilot call.
    report = import_tracker(PILOT_CASES_TSV.read_bytes(), now=now)
    if report.skipped:
        raise RuntimeError(f"pilot cases not imported: {report.skipped}")
    attended: list[Booking] = []
    seed_calls: dict[str, int] = {}
    for case in db.session.scalars(select(CaseFile).order_by(CaseFile.requested_at)):
        local = case.requested_at.astimezone(tz)
        start = local.replace(minute=0 if local.minute < 30 else 30, second=0, microsecond=0)
        start = start.astimezone(UTC)
        calendar.hold(case.assigned_to_id, start)
        booking = demo_booking(
            rng, service, case.municipality, case.assigned_to_id, start, duration, ATTENDED, now
        )
        booking.citizen_name = case.interested_name.title()
        db.session.flush()
        case.booking_id = booking.id
        attended.append(booking)
        code = case.municipality.ine_code
        seed_calls[code] = seed_calls.get(code, 0) + 1

    # The rest of the pilot's video calls, town by town, March to May 2025.
    for code, total in PILOT_VIDEO.items():
        for _ in range(total - seed_calls.get(code, 0)):
            technician_id, start = calendar.take(rng, date(2025, 3, 3), date(2025, 5, 30))
            attended.append(
                demo_booking(
                    rng, service, towns[code], technician_id, start, duration, ATTENDED, now
                )
            )
    # June to September 2025: the 25 towns, up to 90 video calls in seven months.
    for _ in range(SEVEN_MONTHS_VIDEO - sum(PILOT_VIDEO.values())):
        technician_id, start = calendar.take(rng, date(2025, 6, 2), date(2025, 9, 30))
        attended.append(
            demo_booking(
                rng, service, rng.choice(enrolled), technician_id, start, duration, ATTENDED, now
            )
        )
    # Since then, until two weeks ago (the recent days come from load_activity).
    later: list[Booking] = []
    month = date(2025, 10, 1)
    last = (now - timedelta(days=15)).astimezone(tz).date()
    while month <= last:
        month_end = min((month + timedelta(days=32)).replace(day=1) - timedelta(days=1), last)
        for _ in range(rng.randint(10, 16)):
            technician_id, start = calendar.take(rng, month, month_end)
            status = rng.choices(
                [BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED], [8, 1, 1]
            )[0]
            later.append(
                demo_booking(
                    rng, service, rng.choice(enrolled), technician_id, start, duration, status, now
                )
            )
        month = (month + timedelta(days=32)).replace(day=1)
    db.session.flush()

    # UMIC visits of the pilot towns, entered by hand as monthly counts (no app then).
    for code, total in PILOT_UMIC.items():
        shares = [total // 3 + (1 if i < total % 3 else 0) for i in range(3)]
        for month, count in zip(PILOT_MONTHS, shares, strict=True):
            if count:
                db.session.add(
                    ChannelCount(
                        month=month, municipality_id=towns[code].id, channel="umic", count=count
                    )
                )
    # Requests from towns not yet in the service (mailbox and UMIC), for the expansion plan.
    candidates = sorted(
        (m for m in towns.values() if m.enrolled_on is None and not m.has_omic),
        key=lambda m: m.ine_code,
    )
    this_month = now.astimezone(tz).date().replace(day=1)
    for town in rng.sample(candidates, 30):
        for months_back in range(12):
            month = this_month
            for _ in range(months_back + 1):
                month = (month - timedelta(days=1)).replace(day=1)
            for channel in ("bustia", "umic"):
                count = rng.choices(
                    [0, 1, 2, 3], [6, 3, 1, 1 if (town.population or 0) > 5000 else 0]
                )[0]
                if count:
                    db.session.add(
                        ChannelCount(
                            month=month, municipality_id=town.id, channel=channel, count=count
                        )
                    )

    # The satisfaction survey: sent after some calls, answered by twenty people.
    surveyed = rng.sample(attended, SURVEYS_SENT)
    answers = list(zip(SURVEY_ATTENTION, SURVEY_COMPETENCE, SURVEY_RESOLVED, strict=True))
    rng.shuffle(answers)
    for booking in attended + later:
        booking.survey_sent_at = booking.end_utc + timedelta(hours=2)  # no e-mails for the past
    for booking, (attention, competence, resolved) in zip(surveyed, answers, strict=False):
        db.session.add(
            SurveyResponse(
                booking_id=booking.id,
                technician_id=booking.technician_id,
                municipality_id=booking.municipality_id,
                attention=attention,
                competence=competence,
                resolved=resolved,
                comment=rng.choice(SURVEY_COMMENTS),
                answered_at=booking.end_utc + timedelta(hours=rng.randint(3, 48)),
            )
        )

    # Case files for part of the later calls, most of them finished.
    for booking in attended[7:] + [b for b in later if b.status == BookingStatus.ATTENDED]:
        if rng.random() < 0.45:
            continue
        finished_case(rng, booking, now)
    db.session.commit()
