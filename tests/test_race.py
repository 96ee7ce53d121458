"""No double booking under concurrency: the database refuses it, not only the code."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from support.concurrency import at_once
from support.factories import make_world
from support.htmlutil import csrf_token
from support.journey import Citizen
from support.journey import confirm_ready
from umic.core import scheduling
from umic.extensions import db
from umic.models import Booking
from umic.models import BookingClaim
from umic.models import BookingStatus
from umic.models import OutboxMessage

ATTEMPTS = 24


@pytest.mark.parametrize("technicians", [1, 3])
def test_concurrent_confirmations_of_one_slot_book_exactly_the_free_technicians(app, technicians):
    make_world(technicians=technicians)
    slot = Citizen(app.test_client()).first_slot()

    # Each citizen fills in the form first (one browser each), then all press "Confirma" at once.
    ready = []
    for number in range(ATTEMPTS):
        client = app.test_client()
        citizen = Citizen(client)
        assert citizen.details(slot, name=f"Persona {number}").status_code == 303
        page = client.get("/reserva/gelida/comprova").get_data(as_text=True)
        ready.append((client, csrf_token(page)))

    responses = at_once(confirm_ready, ready)

    # Nobody gets an error page: winners go to their booking, losers back to the free times.
    assert [r.status_code for r in responses] == [303] * ATTEMPTS
    winners = [r for r in responses if urlsplit(r.headers["Location"]).path.startswith("/cita/")]
    losers = [r for r in responses if "ocupada=1" in r.headers["Location"]]
    assert len(winners) == technicians
    assert len(losers) == ATTEMPTS - technicians

    db.session.expire_all()
    start = datetime.fromisoformat(slot).astimezone(UTC)
    bookings = db.session.scalars(select(Booking).where(Booking.start_utc == start)).all()
    assert len(bookings) == technicians
    assert len({b.technician_id for b in bookings}) == technicians
    assert db.session.scalar(select(func.count()).select_from(BookingClaim)) == 6 * technicians
    # Only the winners' e-mails were written (the losers' transactions rolled back whole).
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2 * technicians

    loser_page = ready[0][0].get(losers[0].headers["Location"]) if losers else None
    if loser_page is not None:
        assert "Aquesta hora s'acaba d'ocupar" in loser_page.get_data(as_text=True)


def _claimed_booking(world, number: int, start: datetime) -> Booking:
    """A 30-minute booking and its claims, written directly (no checks at all)."""
    technician = world.technicians[0]
    booking = Booking(
        reference=f"AAAA-000{number}",
        service_id=world.service.id,
        municipality_id=world.town.id,
        technician_id=technician.id,
        start_utc=start,
        end_utc=start + timedelta(minutes=30),
        status=BookingStatus.CONFIRMED,
        citizen_name=f"Persona {number}",
        citizen_email=f"p{number}@example.net",
        consent_at=start,
        consent_version="t",
        ical_uid=f"00000000-0000-4000-8000-00000000000{number}",
        video_link=f"https://x.example/{number}",
    )
    db.session.add(booking)
    db.session.flush()
    for unit in scheduling.claim_units(booking.start_utc, booking.end_utc):
        db.session.add(
            BookingClaim(booking_id=booking.id, technician_id=technician.id, unit_start=unit)
        )
    return booking


def test_the_database_itself_refuses_an_overlapping_claim(app):
    """Even code that skips every check cannot give one technician two overlapping bookings."""
    world = make_world(technicians=1)
    start = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    _claimed_booking(world, 1, start)
    db.session.commit()
    # Back to back is fine...
    _claimed_booking(world, 2, start + timedelta(minutes=30))
    db.session.commit()
    # ...but 10 minutes later overlaps by 20 minutes: the claims collide.
    _claimed_booking(world, 3, start + timedelta(minutes=10))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
