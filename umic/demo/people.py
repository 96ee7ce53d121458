"""Demo people, and the way past bookings and their cases are written (their problems are the
corpus's rows: ``demo/triage.py``)."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from sqlalchemy import insert

from ..core import ics
from ..core import scheduling
from ..core.text import fold
from ..core.tokens import new_reference
from ..core.tokens import video_link
from ..extensions import db
from ..models import Booking
from ..models import BookingClaim
from ..models import BookingStatus
from ..models import CaseFile
from ..models import CaseStatus
from ..models import CaseType
from ..models import Channel
from .triage import finished_fields

FIRST_NAMES = [
    "Marta", "Jordi", "Núria", "Joan", "Montserrat", "Josep", "Laia", "Pere", "Carme", "Antonio",
    "Rosa", "Manuel", "Anna", "David", "Laura", "Francesc", "Mercè", "Xavier", "Judith", "Raúl",
]  # fmt: skip
SURNAMES = [
    "Puig", "Garcia", "Vidal", "Martínez", "Soler", "López", "Ferrer", "Sánchez", "Roca", "Serra",
    "Pérez", "Font", "Casas", "Romero", "Vila", "Ribas",
]  # fmt: skip
# (text, sector, company) of a few typical problems. The demo's own requests take their texts
# from the corpus (demo/triage.py); these stay for the benchmarks that make up bookings
# (benchmarks/bookings_fill.py).
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


def demo_booking(
    rng, service, town, technician_id, start, duration, status, now, description, *, flush=True
) -> Booking:
    """A booking written directly (no e-mails), with its claims unless it was cancelled.

    ``description`` is a corpus row's text (``demo/triage.py``). With ``flush=False`` nothing
    is written yet: the caller flushes many at once and adds their claims (``add_claims``).
    """
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
        description=description,
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
    if flush:
        db.session.flush()
        add_claims([booking])
    return booking


def add_claims(bookings) -> None:
    """The five-minute units of flushed bookings, unless they were cancelled (one flush)."""
    rows = [
        {"booking_id": booking.id, "technician_id": booking.technician_id, "unit_start": unit}
        for booking in bookings
        if booking.status != BookingStatus.CANCELLED
        for unit in scheduling.claim_units(booking.start_utc, booking.end_utc)
    ]
    if rows:
        db.session.execute(insert(BookingClaim), rows)


def finished_case(rng, writer, booking: Booking, row, companies, now: datetime) -> CaseFile:
    """The case of a past call (a labelled corpus row), resolved some days or weeks later with
    the row's outcome; added to ``writer`` (``demo/triage.py``), written when it writes."""
    opened, ending = finished_fields(rng, row, companies)
    days = rng.randint(0, 4) if row.case_type == CaseType.CONSULTA else rng.randint(5, 60)
    when = booking.end_utc + timedelta(days=days, hours=rng.randint(1, 6))
    when = max(min(when, now - timedelta(hours=1)), booking.end_utc)
    return writer.add(
        {
            **opened,
            "channel": Channel.TELEMATICA,
            "municipality_id": booking.municipality_id,
            "interested_name": booking.citizen_name,
            "interested_email": booking.citizen_email,
            "interested_phone": booking.citizen_phone,
            "interested_address": booking.citizen_address or "",
            "assigned_to_id": booking.technician_id,
            "booking": booking,
            "requested_at": booking.created_at,
            "status": CaseStatus.EN_TRAMIT,
        },
        actor_id=booking.technician_id,
        created_at=booking.end_utc,
        changes=ending,
        changed_at=when,
    )
