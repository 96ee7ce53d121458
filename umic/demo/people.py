"""Demo people, their problems, and the way past bookings and cases are written."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from decimal import Decimal

from ..casefiles.service import case_from_booking
from ..casefiles.service import update_case
from ..core import ics
from ..core import scheduling
from ..core.text import fold
from ..core.tokens import new_reference
from ..core.tokens import video_link
from ..extensions import db
from ..models import Booking
from ..models import BookingClaim
from ..models import BookingStatus
from ..models import StaffUser

FIRST_NAMES = [
    "Marta", "Jordi", "Núria", "Joan", "Montserrat", "Josep", "Laia", "Pere", "Carme", "Antonio",
    "Rosa", "Manuel", "Anna", "David", "Laura", "Francesc", "Mercè", "Xavier", "Judith", "Raúl",
]  # fmt: skip
SURNAMES = [
    "Puig", "Garcia", "Vidal", "Martínez", "Soler", "López", "Ferrer", "Sánchez", "Roca", "Serra",
    "Pérez", "Font", "Casas", "Romero", "Vila", "Ribas",
]  # fmt: skip
# The companies named are real consumer brands, in the registry of demo companies
# (umic/demo/companies.py); the others are kinds of business, left unlinked.
PROBLEMS = [
    ("La factura de la llum d'aquest mes és el triple del normal i no entenc per què.",
     "ELECTRICITAT_GAS_AIGUA", "Endesa Energía, S.A.U."),
    ("La companyia de telefonia m'ha donat de baixa la línia sense avisar.",
     "TELECOM", "Movistar"),
    ("Vaig comprar una cafetera per internet fa un mes, no ha arribat i la botiga no respon.",
     "BENS_CONSUM", "Botiga en línia"),
    ("El banc em cobra una comissió de manteniment que no vaig acceptar.",
     "SERVEIS_FINANCERS", "Entitat bancària"),
    ("Em van cancel·lar el vol i la companyia aèria no em retorna els diners.",
     "TRANSPORT", "Companyia aèria"),
    ("Em volen cobrar una reparació de la rentadora que és en garantia.",
     "SERVEIS_GENERALS", "Servei tècnic"),
    ("Em van fer signar un contracte de gas a la porta de casa i el vull anul·lar.",
     "ELECTRICITAT_GAS_AIGUA", "Naturgy"),
    ("L'hotel em va cobrar dues nits de més i no m'ho volen tornar.",
     "RESTAURACIO_ALLOTJAMENTS", "Hotel"),
]  # fmt: skip


SURVEY_COMMENTS = [
    "",
    "",
    "Molt amable i em va explicar tot molt clar.",
    "Molt còmode no haver de desplaçar-me.",
    "La connexió va anar bé i em van resoldre el dubte.",
    "Em va agradar poder fer-ho a la tarda.",
    "Encara espero la resposta de l'empresa, però l'atenció va ser bona.",
]


def demo_booking(rng, service, town, technician_id, start, duration, status, now) -> Booking:
    """A booking written directly (no e-mails), with its claims unless it was cancelled."""
    problem = rng.choice(PROBLEMS)
    first, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    end = start + duration
    # Requested some days before, at a daytime hour.
    created = (start - timedelta(days=rng.randint(2, 12))).replace(
        hour=rng.randint(7, 19), minute=rng.randint(0, 59)
    )
    if created > now:  # booked in the last days, not all this minute (an "unusual rate")
        created = now - timedelta(minutes=rng.randint(6 * 60, 10 * 24 * 60))
    marked = status in (BookingStatus.ATTENDED, BookingStatus.NO_SHOW)
    cancelled = status == BookingStatus.CANCELLED
    link, _room = video_link("https://meet.jit.si/umic-{room}")
    booking = Booking(
        reference=new_reference(),
        service_id=service.id,
        municipality_id=town.id,
        technician_id=technician_id,
        start_utc=start,
        end_utc=end,
        status=status,
        citizen_name=f"{first} {surname}",
        citizen_email=f"{fold(first)}.{fold(surname)}@example.net",
        citizen_phone=f"6{rng.randint(10000000, 99999999)}",
        description=problem[0],
        consent_at=created,
        consent_version="demo",
        ical_uid=ics.new_uid(),
        video_link=link,
        created_at=created,
        confirmed_at=created,
        marked_at=end if marked else None,
        marked_by_id=technician_id if marked else None,
        cancelled_at=min(created + timedelta(days=1), now) if cancelled else None,
        cancelled_by="citizen" if cancelled else "",
    )
    db.session.add(booking)
    db.session.flush()
    if not cancelled:
        for unit in scheduling.claim_units(start, end):
            db.session.add(
                BookingClaim(booking_id=booking.id, technician_id=technician_id, unit_start=unit)
            )
    return booking


def finished_case(rng, booking: Booking, now: datetime) -> None:
    """A case from a past call, usually resolved some weeks later, with its outcome."""
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
