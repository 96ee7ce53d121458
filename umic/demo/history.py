"""The pilot (March-May 2025) and the months after it, as the seed reports them.

The pilot's figures are the seed's (video calls per town, UMIC visits as monthly counts, the
seven months' 90 video calls, the survey). From October 2025 (``HISTORY_START``) the app holds
the records of every channel: video calls with their case files, mailbox messages and the
people seen at the mobile unit's visits, each a labelled case of the corpus
(``demo/triage.py``): some 700 finished cases until two weeks ago, so the triage models
have a realistic history to learn from. The towns not yet in the service (the expansion plan's
candidates) write to the mailbox and are seen by the mobile unit too: from October 2025 their
requests are case files as well; before it they are the coordinators' monthly hand counts.
"""

from __future__ import annotations

import random
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .. import clock
from ..casefiles.tracker_db import import_tracker
from ..core import scheduling
from ..core.text import fold
from ..extensions import db
from ..models import Booking
from ..models import BookingStatus
from ..models import CaseFile
from ..models import CaseStatus
from ..models import Channel
from ..models import ChannelCount
from ..models import Municipality
from ..models import Role
from ..models import Service
from ..models import StaffUser
from ..models import SurveyResponse
from ..models import UmicVisit
from .companies import add_companies
from .people import FIRST_NAMES
from .people import SURNAMES
from .people import SURVEY_COMMENTS
from .people import add_claims
from .people import demo_booking
from .people import finished_case
from .triage import CaseWriter
from .triage import Corpus
from .triage import finished_fields

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
        self._starts: dict[date, dict] = {}

    def take(self, rng, first: date, last: date, technician_id: int | None = None):
        """A random free (technician, start) between two days."""
        for _ in range(200):
            day = first + timedelta(days=rng.randint(0, (last - first).days))
            if day in self.holidays:
                continue
            if day not in self._starts:
                self._starts[day] = scheduling.candidate_starts(
                    day, self.hours, self.tz, self.duration, self.duration
                )
            starts = self._starts[day]
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


#: The first month the app holds the records of every channel (after the seven months).
HISTORY_START = date(2025, 10, 1)
#: Labelled rows left for the last two weeks' worked cases (``activity.py``).
ACTIVITY_RESERVE = 16
#: How the requests after the pilot arrive: video call, mailbox, mobile unit.
CHANNEL_WEIGHTS = {Channel.TELEMATICA: 55, Channel.BUSTIA: 28, Channel.UMIC: 17}
#: Who goes on the mobile unit's visits (mornings Monday to Thursday: ``visits.py``).
VISIT_TECHNICIAN = "OPSSPASCUETCA"
VISIT_PLACES = ["Plaça de la Vila", "Plaça de l'Ajuntament", "Casal de Cultura", "Mercat municipal"]


def _months(first: date, last: date) -> list[tuple[date, date]]:
    """(first day, last day) of each month from ``first`` to ``last`` (the last one cut)."""
    months = []
    month = first
    while month <= last:
        end = min((month + timedelta(days=32)).replace(day=1) - timedelta(days=1), last)
        months.append((month, end))
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _quotas(rng, total: int, count: int) -> list[int]:
    """``total`` split over ``count`` months, unevenly (busier and quieter months)."""
    if count == 0:
        return []
    weights = [rng.uniform(0.7, 1.3) for _ in range(count)]
    shares = [total * w / sum(weights) for w in weights]
    quotas = [int(share) for share in shares]
    for index in sorted(range(count), key=lambda i: shares[i] - quotas[i], reverse=True):
        if sum(quotas) == total:
            break
        quotas[index] += 1
    return quotas


def _person(rng, n: int) -> dict:
    first, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    return {
        "interested_name": f"{first} {surname}",
        "interested_email": f"{fold(first)}.{fold(surname)}{n}@example.net",
        "interested_phone": f"6{rng.randint(10000000, 99999999)}",
    }


def _visit_day(rng, first: date, last: date, holidays: set[date]) -> date | None:
    """A Monday-to-Thursday working day in the month (the mobile unit's days)."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    days = [day for day in days if day.weekday() <= 3 and day not in holidays]
    return rng.choice(days) if days else None


def load_history(seed: int = 2024, corpus: Corpus | None = None) -> None:
    """The pilot (March-May 2025) and the months after it, so statistics show the seed and
    the triage models have a labelled history."""
    rng = random.Random(seed)
    corpus = corpus or Corpus.load()
    companies = add_companies()
    tz = ZoneInfo("Europe/Madrid")
    service = db.session.scalar(select(Service))
    technicians = list(
        db.session.scalars(
            select(StaffUser).where(StaffUser.role == Role.TECHNICIAN).order_by(StaffUser.id)
        )
    )
    visitor = next((t for t in technicians if t.username == VISIT_TECHNICIAN), technicians[-1])
    towns = {m.ine_code: m for m in db.session.scalars(select(Municipality))}
    by_id = {m.id: m for m in towns.values()}
    enrolled = sorted(
        (m for m in towns.values() if m.enrolled_on is not None), key=lambda m: m.ine_code
    )
    calendar = _Calendar(technicians, service, tz)
    now = clock.now()
    duration = calendar.duration
    writer = CaseWriter()
    unflushed: list[Booking] = []  # written at once, their claims after

    def call(town, technician_id, start, status, labelled: bool) -> Booking:
        """A past video call; with ``labelled`` its case file too (a corpus row's)."""
        row = corpus.take() if labelled else None
        booking = demo_booking(
            rng, service, town, technician_id, start, duration, status, now,
            (row or corpus.any()).text, flush=False,
        )  # fmt: skip
        if row is not None:
            finished_case(rng, writer, booking, row, companies, now)
        unflushed.append(booking)
        return booking

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
            rng, service, case.municipality, case.assigned_to_id, start, duration, ATTENDED, now,
            corpus.any().text,
        )  # fmt: skip
        booking.citizen_name = case.interested_name.title()
        db.session.flush()
        case.booking_id = booking.id
        attended.append(booking)
        code = case.municipality.ine_code
        seed_calls[code] = seed_calls.get(code, 0) + 1

    # The rest of the pilot's video calls, town by town, March to May 2025; a little over half
    # of them (and of the seven months' calls) left a case file.
    for code, total in PILOT_VIDEO.items():
        for _ in range(total - seed_calls.get(code, 0)):
            technician_id, start = calendar.take(rng, date(2025, 3, 3), date(2025, 5, 30))
            attended.append(call(towns[code], technician_id, start, ATTENDED, rng.random() >= 0.45))
    # June to September 2025: the 25 towns, up to 90 video calls in seven months.
    for _ in range(SEVEN_MONTHS_VIDEO - sum(PILOT_VIDEO.values())):
        technician_id, start = calendar.take(rng, date(2025, 6, 2), date(2025, 9, 30))
        attended.append(
            call(rng.choice(enrolled), technician_id, start, ATTENDED, rng.random() >= 0.45)
        )

    # Towns not yet in the service that ask all the same (mailbox and UMIC): the expansion plan.
    candidates = sorted(
        (m for m in towns.values() if m.enrolled_on is None and not m.has_omic),
        key=lambda m: m.ine_code,
    )
    asking = rng.sample(candidates, 30)

    # Since October 2025, until two weeks ago (the recent days come from load_activity and
    # load_visits): every labelled row but a few, over the months, by channel.
    later: list[Booking] = []
    visits: list[tuple[UmicVisit, list]] = []
    last = (now - timedelta(days=15)).astimezone(tz).date()
    months = _months(HISTORY_START, last)
    holidays = calendar.holidays
    quotas = _quotas(rng, max(corpus.left() - ACTIVITY_RESERVE, 0), len(months))
    n = 0
    for (month, month_end), quota in zip(months, quotas, strict=True):
        channels = rng.choices(list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values()), k=quota)
        # Video calls: three in four attended calls open a case; some are missed or cancelled.
        calls = channels.count(Channel.TELEMATICA)
        plain = calls // 3 + rng.randint(0, 2)
        for labelled in [True] * calls + [False] * plain:
            technician_id, start = calendar.take(rng, month, month_end)
            status = (
                BookingStatus.ATTENDED
                if labelled
                else rng.choice([ATTENDED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED])
            )
            later.append(call(rng.choice(enrolled), technician_id, start, status, labelled))
        # The mailbox: messages at any hour, from enrolled towns and from the others.
        for _ in range(channels.count(Channel.BUSTIA)):
            row = corpus.take()
            if row is None:
                break
            n += 1
            day = month + timedelta(days=rng.randint(0, (month_end - month).days))
            sent = datetime.combine(day, time(rng.randint(7, 22), rng.randint(0, 59)), tzinfo=tz)
            town = rng.choice(asking if rng.random() < 0.4 else enrolled)
            technician = rng.choice(technicians)
            opened, ending = finished_fields(rng, row, companies)
            days = rng.randint(1, 6) if row.case_type == "consulta" else rng.randint(7, 70)
            when = max(min(sent + timedelta(days=days), now - timedelta(hours=1)), sent)
            writer.add(
                {
                    **opened,
                    **_person(rng, n),
                    "channel": Channel.BUSTIA,
                    "municipality_id": town.id,
                    "requested_at": sent,
                    "language": row.mailbox_language,
                    "assigned_to_id": technician.id,
                    "status": CaseStatus.PENDENT,
                },
                actor_id=None,
                created_at=sent,
                changes=ending,
                changed_by_id=technician.id,
                changed_at=when,
            )
        # The mobile unit: a visit or two a month, up to nine people seen at each.
        seen = [row for row in (corpus.take() for _ in range(channels.count(Channel.UMIC))) if row]
        while seen:
            day = _visit_day(rng, month, month_end, holidays)
            if day is None:
                break
            town = rng.choice(asking if rng.random() < 0.4 else enrolled)
            start = datetime.combine(day, time(10, 0), tzinfo=tz).astimezone(UTC)
            visit = UmicVisit(
                municipality_id=town.id,
                technician_id=visitor.id,
                start_utc=start,
                end_utc=start + timedelta(hours=3),
                place=rng.choice(VISIT_PLACES),
                slot_minutes=20,
                bookable=False,
                created_at=start - timedelta(days=rng.randint(15, 30)),
            )
            db.session.add(visit)
            size = rng.randint(4, 9)
            people, seen = seen[:size], seen[size:]  # the rest go to the month's next visit
            visits.append((visit, people))
    for booking in attended + later:
        if booking.status != BookingStatus.CANCELLED:
            booking.survey_sent_at = booking.end_utc + timedelta(hours=2)  # no e-mails for the past
    db.session.flush()  # the bookings and visits, for their ids
    add_claims(unflushed)

    for visit, people in visits:
        for i, row in enumerate(people):
            n += 1
            asked = visit.start_utc + timedelta(minutes=20 * i + rng.randint(0, 10))
            opened, ending = finished_fields(rng, row, companies)
            on_the_spot = row.case_type == "consulta"
            when = asked + (
                timedelta(minutes=15) if on_the_spot else timedelta(days=rng.randint(7, 60))
            )
            writer.add(
                {
                    **opened,
                    **_person(rng, n),
                    "interested_email": "",
                    "channel": Channel.UMIC,
                    "visit_id": visit.id,
                    "municipality_id": visit.municipality_id,
                    "requested_at": asked,
                    "assigned_to_id": visit.technician_id,
                    "status": CaseStatus.EN_TRAMIT,
                },
                actor_id=visit.technician_id,
                created_at=asked,
                changes=ending,
                changed_at=max(min(when, now - timedelta(hours=1)), asked),
            )
    writer.write(by_id)

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
    # The candidate towns' requests before the app recorded them (hand counts; from
    # HISTORY_START on they are case files, above).
    this_month = now.astimezone(tz).date().replace(day=1)
    for town in asking:
        for months_back in range(12):
            month = this_month
            for _ in range(months_back + 1):
                month = (month - timedelta(days=1)).replace(day=1)
            for channel in ("bustia", "umic"):
                count = rng.choices(
                    [0, 1, 2, 3], [6, 3, 1, 1 if (town.population or 0) > 5000 else 0]
                )[0]
                if count and month < HISTORY_START:
                    db.session.add(
                        ChannelCount(
                            month=month, municipality_id=town.id, channel=channel, count=count
                        )
                    )

    # The satisfaction survey: sent after some calls, answered by twenty people.
    surveyed = rng.sample(attended, SURVEYS_SENT)
    answers = list(zip(SURVEY_ATTENTION, SURVEY_COMPETENCE, SURVEY_RESOLVED, strict=True))
    rng.shuffle(answers)
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
    db.session.commit()
