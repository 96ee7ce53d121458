"""In-person appointments at the mobile unit's visits (umic.visits): the citizen's side.

A visit to Gelida (INE 08091) is planned; a citizen books a time through the real forms;
the booking claims the technician's units like a video call, so the same time cannot be
booked twice, and no video call is offered to that technician during the visit. The
invitations carry the place instead of a video link, read back by icalendar and vobject.
"""

from __future__ import annotations

import re
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import func
from sqlalchemy import select

from support import icstools
from support.concurrency import at_once
from support.factories import make_service
from support.factories import make_staff
from support.factories import make_town
from support.factories import make_world
from support.htmlutil import csrf_token
from support.journey import DETAILS
from support.outbox import clear_text
from umic import clock
from umic.booking import free_times
from umic.booking import service as booking_service
from umic.core import scheduling
from umic.core.visit_slots import local_window
from umic.extensions import db
from umic.models import Booking
from umic.models import BookingClaim
from umic.models import BookingStatus
from umic.models import OutboxMessage
from umic.models import OutboxStatus
from umic.models import UmicVisit
from umic.models import VisitStatus
from umic.visits import service as visits_service

MADRID = ZoneInfo("Europe/Madrid")
PLACE = "Plaça de l'Ajuntament"
PLACE_DETAILS = "La furgoneta verda, davant del mercat."


def _today() -> date:
    return clock.now().astimezone(MADRID).date()


def _working_day(after: int, weekday: int | None = None) -> date:
    """A day at least ``after`` days ahead (on ``weekday`` if given), not a holiday."""
    holidays = scheduling.public_holidays(range(_today().year, _today().year + 2), "ES", "CT")
    day = _today() + timedelta(days=after)
    while day in holidays or (weekday is not None and day.weekday() != weekday):
        day += timedelta(days=1)
    return day


def _visit(town, technician, day: date, start=time(10), end=time(12), **values) -> UmicVisit:
    first, last = local_window(day, start, end, MADRID)
    visit = UmicVisit(
        municipality_id=town.id,
        technician_id=technician.id,
        start_utc=first,
        end_utc=last,
        place=PLACE,
        place_details=PLACE_DETAILS,
        slot_minutes=20,
        bookable=True,
        status=VisitStatus.PLANNED,
        **values,
    )
    db.session.add(visit)
    db.session.commit()
    return visit


def _slots(client, visit) -> list[str]:
    page = client.get("/umic/gelida/").get_data(as_text=True)
    section = page.split(f'id="visita-{visit.id}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'name="slot" value="([^"]+)"', section)


def _to_check(client, visit, slot: str, **fields):
    page = client.get(f"/umic/gelida/{visit.id}/dades", query_string={"slot": slot})
    assert page.status_code == 200, page.headers.get("Location")
    data = {
        **DETAILS,
        **fields,
        "slot": slot,
        "csrf_token": csrf_token(page.get_data(as_text=True)),
    }
    response = client.post(f"/umic/gelida/{visit.id}/dades", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert urlsplit(response.headers["Location"]).path == f"/umic/gelida/{visit.id}/comprova"
    return csrf_token(client.get(f"/umic/gelida/{visit.id}/comprova").get_data(as_text=True))


def _confirm(entry):
    client, visit_id, token = entry
    return client.post(f"/umic/gelida/{visit_id}/comprova", data={"csrf_token": token})


def _parsed(message: OutboxMessage, tmp_path) -> tuple:
    calendar = Calendar.from_ical(message.ics)
    event = next(iter(calendar.walk("VEVENT")))
    path = tmp_path / f"m{message.id}.ics"
    path.write_bytes(message.ics)
    return event, icstools.vobject_read(path)


def test_a_citizen_books_a_time_at_gelidas_next_visit(app, tmp_path):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    visit = _visit(world.town, technician, _working_day(3))
    client = app.test_client()

    page = client.get("/umic/gelida/").get_data(as_text=True)
    assert PLACE.replace("'", "&#39;") in page and "La furgoneta verda" in page
    assert "sense cita" in page
    slots = _slots(client, visit)
    assert len(slots) == 6  # 10:00 to 11:40, twenty minutes each
    slot = slots[1]
    start = datetime.fromisoformat(slot).astimezone(UTC)

    token = _to_check(client, visit, slot)
    response = _confirm((client, visit.id, token))
    assert response.status_code == 303
    manage = urlsplit(response.headers["Location"]).path
    assert manage.startswith("/cita/")
    page = client.get(manage).get_data(as_text=True)
    assert "Cita confirmada" in page and "La furgoneta verda" in page
    assert "Uneix-te" not in page and "Uniu-vos" not in page and "planifica" not in page
    download = client.get(f"{manage}/calendari.ics").get_data()
    assert "LOCATION:Plaça de l'Ajuntament\\, Gelida".encode() in download
    assert b"\r\nURL" not in download

    booking = db.session.scalars(select(Booking)).one()
    assert booking.visit_id == visit.id and booking.in_person
    assert booking.video_link == "" and booking.technician_id == technician.id
    assert (booking.start_utc, booking.end_utc) == (start, start + timedelta(minutes=20))
    claims = db.session.scalars(
        select(BookingClaim.unit_start).where(BookingClaim.booking_id == booking.id)
    ).all()
    assert sorted(claims) == scheduling.claim_units(booking.start_utc, booking.end_utc)

    # Two invitations: the citizen's and the technician's, with the place and no link.
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.recipient for m in messages] == [DETAILS["email"], technician.email]
    for message in messages:
        assert message.ics_method == "REQUEST"
        event, read = _parsed(message, tmp_path)
        assert str(event["LOCATION"]) == f"{PLACE}, Gelida"
        assert "URL" not in event
        assert "http" not in str(event["DESCRIPTION"])
        assert event["DTSTART"].dt.astimezone(UTC) == booking.start_utc
        assert read["start_utc"] == booking.start_utc.isoformat()
        assert PLACE in read["description"]
        assert b"jit.si" not in message.ics and b"meet" not in message.ics.lower()
    citizen_text = clear_text(messages[0])
    assert f"{PLACE}, Gelida" in citizen_text and PLACE_DETAILS in citizen_text
    assert "videotrucada" not in citizen_text.lower()
    assert "/umic/" not in citizen_text  # nothing to book again while it stands

    # "Continua" with no time chosen: the page says so, beside the visit's times.
    response = client.get(f"/umic/gelida/{visit.id}/dades")
    assert response.status_code == 303 and f"tria={visit.id}" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert page.count("Trieu una hora per a la cita") == 2  # the summary and the field

    # The time is gone: not offered again, and refused if asked for.
    assert slot not in _slots(client, visit)
    other = app.test_client()
    response = other.get(f"/umic/gelida/{visit.id}/dades", query_string={"slot": slot})
    assert response.status_code == 303 and "ocupada" in response.headers["Location"]
    with pytest.raises(booking_service.SlotUnavailable):
        visits_service.book_at_visit(visit, start, DETAILS, clock.now())

    # Reschedule is not offered online: the link goes back to the manage page.
    token_path = manage.removeprefix("/cita/")
    response = client.get(f"/cita/{token_path}/planifica")
    assert response.status_code == 303 and urlsplit(response.headers["Location"]).path == manage

    # Cancel through the manage link: the time comes back, both get METHOD:CANCEL.
    page = client.get(f"{manage}/anulla").get_data(as_text=True)
    response = client.post(f"{manage}/anulla", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CANCELLED
    assert db.session.scalar(select(func.count()).select_from(BookingClaim)) == 0
    cancels = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.ics_method == "CANCEL")
    ).all()
    # The technician's invitation had not gone out yet: it is withdrawn, not cancelled
    # (umic.mail.compose.calendar_state), as for a video call.
    assert [m.recipient for m in cancels] == [DETAILS["email"]]
    assert messages[1].status == OutboxStatus.SUPERSEDED
    for message in cancels:
        event, _read = _parsed(message, tmp_path)
        assert str(event["LOCATION"]) == f"{PLACE}, Gelida" and str(event["STATUS"]) == "CANCELLED"
        assert event["SEQUENCE"] == 1
    assert "/umic/gelida/" in clear_text(cancels[0])  # book another time at the visits
    assert slot in _slots(client, visit)
    page = client.get(manage).get_data(as_text=True)
    assert "Cita anul·lada" in page and "/umic/gelida/" in page


def test_a_taken_time_at_confirm_keeps_the_data_and_only_one_citizen_wins(app):
    world = make_world(technicians=2)
    visit = _visit(world.town, world.technicians[0], _working_day(3))
    slot = _slots(app.test_client(), visit)[0]
    ready = []
    for number in range(4):
        client = app.test_client()
        ready.append((client, visit.id, _to_check(client, visit, slot, name=f"Persona {number}")))

    responses = at_once(_confirm, ready)

    locations = [r.headers["Location"] for r in responses]
    assert [r.status_code for r in responses] == [303] * 4
    assert sum(urlsplit(x).path.startswith("/cita/") for x in locations) == 1
    assert sum(f"ocupada={visit.id}" in x for x in locations) == 3
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
    # A loser is told, chooses another time, and finds the form filled in.
    loser = next(
        client for (client, _v, _t), x in zip(ready, locations, strict=True) if "ocupada" in x
    )
    page = loser.get(f"/umic/gelida/?ocupada={visit.id}").get_data(as_text=True)
    assert "s&#39;acaba d&#39;ocupar" in page or "s'acaba d'ocupar" in page
    second = _slots(loser, visit)[0]
    form = loser.get(f"/umic/gelida/{visit.id}/dades", query_string={"slot": second})
    assert DETAILS["email"] in form.get_data(as_text=True)


def test_a_visit_takes_its_technician_away_from_video_calls(app):
    town = make_town()
    service = make_service()
    technician = make_staff(hours={2: [(time(10), time(14))]})  # Wednesdays 10-14
    wednesday = _working_day(2, weekday=2)
    rules = booking_service.rules()
    now = clock.now()

    def video_times() -> list[time]:
        slots = free_times.day_times(service, now, rules, wednesday, municipality_id=town.id)
        return [slot.start.astimezone(MADRID).time() for slot in slots]

    assert video_times()[0] == time(10)  # kept in memory for this availability number
    visit = _visit(town, technician, wednesday, time(10), time(12))
    assert video_times() == [time(12), time(12, 30), time(13), time(13, 30)]
    with pytest.raises(booking_service.SlotUnavailable):
        booking_service._free_slot(
            service,
            datetime.combine(wednesday, time(10, 30), tzinfo=MADRID),
            now,
            rules,
            municipality_id=town.id,
        )
    # Cancelled, the visit gives the technician back to video calls.
    assert visits_service.cancel_visit(visit, technician, clock.now(), "Avaria") == 0
    assert video_times()[0] == time(10)


def test_cancelling_a_visit_cancels_its_appointments_with_the_in_person_cancellation(app):
    world = make_world(technicians=1)
    visit = _visit(world.town, world.technicians[0], _working_day(4))
    starts = visits_service.visit_times([visit], clock.now())[visit.id][:2]
    for number, start in enumerate(starts):
        visits_service.book_at_visit(
            visit, start, {**DETAILS, "email": f"p{number}@example.net"}, clock.now()
        )
    assert db.session.scalar(select(func.count()).select_from(BookingClaim)) == 8

    cancelled = visits_service.cancel_visit(
        visit, world.technicians[0], clock.now(), "La furgoneta s'ha avariat."
    )

    assert cancelled == 2
    db.session.expire_all()
    assert db.session.get(UmicVisit, visit.id).status == VisitStatus.CANCELLED
    assert db.session.scalar(select(func.count()).select_from(BookingClaim)) == 0
    bookings = db.session.scalars(select(Booking)).all()
    assert {b.status for b in bookings} == {BookingStatus.CANCELLED}
    to_citizens = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.ics_method == "CANCEL", OutboxMessage.recipient.like("p%")
        )
    ).all()
    assert len(to_citizens) == 2
    assert all("LOCATION:Plaça de l'Ajuntament\\, Gelida".encode() in m.ics for m in to_citizens)
    assert "La furgoneta s'ha avariat." in clear_text(to_citizens[0])
    # The town's page no longer lists it, and offers the other ways.
    page = app.test_client().get("/umic/gelida/").get_data(as_text=True)
    assert "Ara mateix no hi ha cap visita prevista" in page
    assert 'href="/reserva/gelida/"' in page
    assert visits_service.cancel_visit(visit, None, clock.now()) == 0


def test_a_town_without_visits_and_unknown_towns(app):
    make_town("Torrelles de Llobregat", "08283")
    client = app.test_client()
    page = client.get("/umic/torrelles-de-llobregat/")
    assert page.status_code == 200
    assert "Ara mateix no hi ha cap visita prevista" in page.get_data(as_text=True)
    assert client.get("/umic/enlloc/").status_code == 404
    assert client.get("/umic/torrelles-de-llobregat/99/dades").status_code == 404
