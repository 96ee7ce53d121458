"""Demo data for ``make run``: the real towns, the pilot, three technicians with hours."""

from __future__ import annotations

import random
import uuid
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
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
