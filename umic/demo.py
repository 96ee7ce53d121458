"""Demo data for ``make run``: the real towns, the pilot, three technicians with hours."""

from __future__ import annotations

import random
import uuid
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from . import scheduling
from .casefiles.service import case_from_booking
from .casefiles.service import update_case
from .extensions import db
from .models import Booking
from .models import BookingClaim
from .models import BookingStatus
from .models import CaseStatus
from .models import Municipality
from .models import OpeningHours
from .models import Role
from .models import Service
from .models import StaffUser
from .municipalities import MUNICIPALITIES_CSV
from .municipalities import OMICS_CSV
from .municipalities import import_municipalities
from .text import fold
from .tokens import new_reference
from .tokens import video_link

DEMO_PASSWORD = "umic-demo"

# The seed's pilot (first three months of 2025).
PILOT_TOWNS = [
    "08289",
    "08259",
    "08020",
    "08091",
]  # Torrelles, Sta Maria de Palautordera, Begues, Gelida
PILOT_START = date(2025, 3, 1)
# 21 more towns without their own OMIC (UMIC stops named in public sources, see data/SOURCES.md,
# and neighbours of the pilot towns). The real second wave is not public: this is a demo list.
SECOND_WAVE = [
    "08119", "08162", "08031", "08143", "08302", "08161", "08103", "08226", "08025", "08063",
    "08291", "08179", "08167", "08120", "08087", "08223", "08068", "08207", "08222", "08273",
    "08066",
]  # fmt: skip
SECOND_WAVE_START = date(2025, 6, 1)

SERVICE = {
    "slug": "atencio-telematica",
    "name": "Consum_DIBA. Atenció telemàtica",
    "description": (
        "Videotrucada de 30 minuts amb una persona tècnica en consum de la Diputació de "
        "Barcelona. Us ajudem amb consultes, queixes, reclamacions, mediacions i denúncies."
    ),
    "duration_minutes": 30,
}

MORNING = (time(9, 0), time(14, 0))
AFTERNOON = (time(15, 30), time(19, 0))
# Staff codes as in the seed's case list; names are placeholders for the demo.
TECHNICIANS = [
    ("OPSSVEGAVN", "Tècnica de consum A", "tecnica.a@example.org",
     {0: [MORNING], 1: [MORNING, AFTERNOON], 2: [MORNING], 3: [MORNING, AFTERNOON], 4: [MORNING]}),
    ("OPSSAPRESGA", "Tècnic de consum B", "tecnic.b@example.org",
     {0: [MORNING, AFTERNOON], 1: [MORNING], 2: [MORNING, AFTERNOON], 3: [MORNING], 4: [MORNING]}),
    ("OPSSPASCUETCA", "Tècnica de consum C", "tecnica.c@example.org",
     {0: [AFTERNOON], 1: [AFTERNOON], 2: [AFTERNOON], 3: [AFTERNOON], 4: [MORNING]}),
]  # fmt: skip
COORDINATOR = ("COORDINACIO", "Coordinació SSPC", "coordinacio@example.org")


def is_empty() -> bool:
    """True when nothing has been loaded yet (no towns and no staff)."""
    return (
        db.session.scalar(select(Municipality.id).limit(1)) is None
        and db.session.scalar(select(StaffUser.id).limit(1)) is None
    )


def load() -> None:
    """Load the demo data; safe to run on an empty database only."""
    report = import_municipalities(MUNICIPALITIES_CSV, OMICS_CSV)
    if report.errors:
        raise RuntimeError("; ".join(report.errors))
    towns = {m.ine_code: m for m in db.session.scalars(select(Municipality))}
    for code in PILOT_TOWNS:
        towns[code].enrolled_on = PILOT_START
    for code in SECOND_WAVE:
        towns[code].enrolled_on = SECOND_WAVE_START

    db.session.add(Service(**SERVICE))
    for username, name, email, week in TECHNICIANS:
        user = StaffUser(username=username, name=name, email=email, role=Role.TECHNICIAN)
        user.set_password(DEMO_PASSWORD)
        for weekday, periods in week.items():
            for start, end in periods:
                user.hours.append(OpeningHours(weekday=weekday, start_time=start, end_time=end))
        db.session.add(user)
    username, name, email = COORDINATOR
    coordinator = StaffUser(username=username, name=name, email=email, role=Role.COORDINATOR)
    coordinator.set_password(DEMO_PASSWORD)
    db.session.add(coordinator)
    db.session.commit()
    load_history()
    load_activity()


FIRST_NAMES = [
    "Marta", "Jordi", "Núria", "Joan", "Montserrat", "Josep", "Laia", "Pere", "Carme", "Antonio",
    "Rosa", "Manuel", "Anna", "David", "Laura", "Francesc", "Mercè", "Xavier", "Judith", "Raúl",
]  # fmt: skip
SURNAMES = [
    "Puig", "Garcia", "Vidal", "Martínez", "Soler", "López", "Ferrer", "Sánchez", "Roca", "Serra",
    "Pérez", "Font", "Casas", "Romero", "Vila", "Ribas",
]  # fmt: skip
PROBLEMS = [
    ("La factura de la llum d'aquest mes és el triple del normal i no entenc per què.",
     "ELECTRICITAT_GAS_AIGUA", "Comercialitzadora elèctrica"),
    ("La companyia de telefonia m'ha donat de baixa la línia sense avisar.",
     "TELECOM", "Operadora de telefonia"),
    ("Vaig comprar una cafetera per internet fa un mes, no ha arribat i la botiga no respon.",
     "BENS_CONSUM", "Botiga en línia"),
    ("El banc em cobra una comissió de manteniment que no vaig acceptar.",
     "SERVEIS_FINANCERS", "Entitat bancària"),
    ("Em van cancel·lar el vol i la companyia aèria no em retorna els diners.",
     "TRANSPORT", "Companyia aèria"),
    ("Em volen cobrar una reparació de la rentadora que és en garantia.",
     "SERVEIS_GENERALS", "Servei tècnic"),
    ("Em van fer signar un contracte de gas a la porta de casa i el vull anul·lar.",
     "ELECTRICITAT_GAS_AIGUA", "Comercialitzadora de gas"),
    ("L'hotel em va cobrar dues nits de més i no m'ho volen tornar.",
     "RESTAURACIO_ALLOTJAMENTS", "Hotel"),
]  # fmt: skip


def load_activity(now: datetime | None = None, seed: int = 2025) -> None:
    """Appointments around today for the demo team, and case files for the past ones.

    Written directly (no e-mails are queued): the outbox stays for what the newcomer does.
    """
    now = now or datetime.now(UTC)
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
    duration = timedelta(minutes=service.duration_minutes)
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
                booking = _demo_booking(rng, service, towns, technician_id, start, now, duration)
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


def _demo_booking(rng, service, towns, technician_id, start, now, duration) -> Booking:
    problem = rng.choice(PROBLEMS)
    first, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    end = start + duration
    if end <= now - timedelta(days=3):
        status = rng.choices(
            [BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED], [8, 1, 1]
        )[0]
    elif end <= now:
        # The last few days' calls wait on the agenda for the technician to mark them.
        status = rng.choice([BookingStatus.ATTENDED, BookingStatus.CONFIRMED])
    else:
        status = BookingStatus.CONFIRMED
    link, _room = video_link("https://meet.jit.si/umic-{room}")
    # Requested some days before, at a daytime hour.
    created = (start - timedelta(days=rng.randint(2, 12))).replace(
        hour=rng.randint(7, 19), minute=rng.randint(0, 59)
    )
    booking = Booking(
        reference=new_reference(),
        service_id=service.id,
        municipality_id=rng.choice(towns).id,
        technician_id=technician_id,
        start_utc=start,
        end_utc=end,
        status=status,
        citizen_name=f"{first} {surname}",
        citizen_email=f"{fold(first)}.{fold(surname)}@example.net",
        citizen_phone=f"6{rng.randint(10000000, 99999999)}",
        description=problem[0],
        consent_at=min(created, now),
        consent_version="demo",
        ical_uid=str(uuid.uuid4()),
        video_link=link,
        created_at=min(created, now),
        confirmed_at=min(created, now),
        marked_at=end if status in (BookingStatus.ATTENDED, BookingStatus.NO_SHOW) else None,
        marked_by_id=technician_id if status != BookingStatus.CONFIRMED else None,
        cancelled_at=min(created + timedelta(days=1), now)
        if status == BookingStatus.CANCELLED
        else None,
        cancelled_by="citizen" if status == BookingStatus.CANCELLED else "",
    )
    db.session.add(booking)
    db.session.flush()
    if status != BookingStatus.CANCELLED:
        for unit in scheduling.claim_units(start, end):
            db.session.add(
                BookingClaim(booking_id=booking.id, technician_id=technician_id, unit_start=unit)
            )
    return booking


# --- The pilot and its first months, as the seed reports them ----------------------------

PILOT_CASES_TSV = Path(__file__).parent / "data" / "pilot_cases.tsv"
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
        self.duration = timedelta(minutes=service.duration_minutes)
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
    from .casefiles.tracker_db import import_tracker
    from .models import CaseFile
    from .models import ChannelCount
    from .models import SurveyResponse

    rng = random.Random(seed)
    tz = ZoneInfo("Europe/Madrid")
    service = db.session.scalar(select(Service))
    technicians = list(
        db.session.scalars(select(StaffUser).where(StaffUser.role == Role.TECHNICIAN))
    )
    towns = {m.ine_code: m for m in db.session.scalars(select(Municipality))}
    enrolled = [m for m in towns.values() if m.enrolled_on is not None]
    calendar = _Calendar(technicians, service, tz)
    now = datetime.now(UTC)
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
        booking = _history_booking(
            rng, service, case.municipality, case.assigned_to_id, start, duration
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
                _history_booking(rng, service, towns[code], technician_id, start, duration)
            )
    # June to September 2025: the 25 towns, up to 90 video calls in seven months.
    for _ in range(SEVEN_MONTHS_VIDEO - sum(PILOT_VIDEO.values())):
        technician_id, start = calendar.take(rng, date(2025, 6, 2), date(2025, 9, 30))
        attended.append(
            _history_booking(rng, service, rng.choice(enrolled), technician_id, start, duration)
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
                _history_booking(
                    rng, service, rng.choice(enrolled), technician_id, start, duration, status
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
        _finished_case(rng, booking, now)
    db.session.commit()


SURVEY_COMMENTS = [
    "",
    "",
    "Molt amable i em va explicar tot molt clar.",
    "Molt còmode no haver de desplaçar-me.",
    "La connexió va anar bé i em van resoldre el dubte.",
    "Em va agradar poder fer-ho a la tarda.",
    "Encara espero la resposta de l'empresa, però l'atenció va ser bona.",
]


def _history_booking(rng, service, town, technician_id, start, duration, status=None) -> Booking:
    problem = rng.choice(PROBLEMS)
    first, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    created = (start - timedelta(days=rng.randint(2, 12))).replace(
        hour=rng.randint(7, 19), minute=rng.randint(0, 59)
    )
    status = status or BookingStatus.ATTENDED
    link, _room = video_link("https://meet.jit.si/umic-{room}")
    booking = Booking(
        reference=new_reference(),
        service_id=service.id,
        municipality_id=town.id,
        technician_id=technician_id,
        start_utc=start,
        end_utc=start + duration,
        status=status,
        citizen_name=f"{first} {surname}",
        citizen_email=f"{fold(first)}.{fold(surname)}@example.net",
        citizen_phone=f"6{rng.randint(10000000, 99999999)}",
        description=problem[0],
        consent_at=created,
        consent_version="demo",
        ical_uid=str(uuid.uuid4()),
        video_link=link,
        created_at=created,
        confirmed_at=created,
        marked_at=start + duration if status != BookingStatus.CANCELLED else None,
        marked_by_id=technician_id if status != BookingStatus.CANCELLED else None,
        cancelled_at=created + timedelta(days=1) if status == BookingStatus.CANCELLED else None,
        cancelled_by="citizen" if status == BookingStatus.CANCELLED else "",
    )
    db.session.add(booking)
    db.session.flush()
    if status != BookingStatus.CANCELLED:
        for unit in scheduling.claim_units(start, start + duration):
            db.session.add(
                BookingClaim(booking_id=booking.id, technician_id=technician_id, unit_start=unit)
            )
    return booking


def _finished_case(rng, booking: Booking, now: datetime) -> None:
    """A case from a past call, usually resolved some weeks later, with its outcome."""
    from decimal import Decimal

    technician = db.session.get(StaffUser, booking.technician_id)
    case = case_from_booking(booking, actor=technician, now=booking.end_utc)
    problem = next(p for p in PROBLEMS if p[0] == booking.description)
    claimed = Decimal(rng.choice([45, 80, 120, 160, 240, 390, 600])) + Decimal("0.50")
    changes = {"sector": problem[1], "company": problem[2], "amount_claimed": claimed}
    when = booking.end_utc + timedelta(days=rng.randint(5, 60))
    if when < now:
        outcome = rng.choices(["favorable", "parcial", "desfavorable", "desistit"], [6, 2, 1, 1])[0]
        recovered = {"favorable": claimed, "parcial": (claimed / 2).quantize(Decimal("0.01"))}
        changes.update(
            status="resolt" if outcome != "desistit" else "desistit",
            outcome=outcome,
            amount_recovered=recovered.get(outcome),
        )
    update_case(case, changes, actor=technician, expected_version=case.version, now=min(when, now))
