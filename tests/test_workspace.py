"""The technicians' workspace: sign-in rules, the agenda and its actions, phone bookings."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from support.factories import PASSWORD
from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from umic import clock
from umic.extensions import db
from umic.models import Booking
from umic.models import BookingClaim
from umic.models import BookingStatus
from umic.models import CaseFile
from umic.models import OutboxMessage
from umic.models import SignInAttempt


def at(minutes: int) -> datetime:
    """A five-minute-aligned moment ``minutes`` from now."""
    moment = (clock.now() + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    return moment - timedelta(minutes=moment.minute % 5)


def sign_in(client, username: str, password: str = PASSWORD):
    page = client.get("/entra").get_data(as_text=True)
    return client.post(
        "/entra",
        data={"csrf_token": csrf_token(page), "username": username, "password": password},
    )


# --- Sign-in -----------------------------------------------------------------------------------


def test_repeated_failures_throttle_sign_in_even_with_the_right_password(client, app):
    make_staff("OPSSVEGAVN")
    for _ in range(app.config["SIGN_IN_MAX_FAILURES"]):
        assert sign_in(client, "OPSSVEGAVN", "wrong").status_code == 200
    response = sign_in(client, "OPSSVEGAVN")
    assert response.status_code == 429
    assert "Massa intents fallits" in response.get_data(as_text=True)
    assert client.get("/espai/").status_code == 302, "not signed in"
    # Once the window has passed, the right password works again.
    db.session.execute(update(SignInAttempt).values(at=clock.now() - timedelta(hours=1)))
    db.session.commit()
    assert sign_in(client, "OPSSVEGAVN").status_code == 303


def test_throttling_one_user_does_not_lock_out_another(client, app):
    make_staff("OPSSVEGAVN")
    make_staff("OPSSAPRESGA")
    for _ in range(app.config["SIGN_IN_MAX_FAILURES"]):
        sign_in(client, "OPSSVEGAVN", "wrong")
    assert sign_in(app.test_client(), "OPSSAPRESGA").status_code == 303


def test_every_attempt_is_recorded_and_old_ones_purged(client, app):
    from umic.privacy.retention import expire_sign_in_attempts

    make_staff("OPSSVEGAVN")
    sign_in(client, "OPSSVEGAVN", "wrong")
    sign_in(client, "OPSSVEGAVN")
    rows = db.session.scalars(select(SignInAttempt).order_by(SignInAttempt.id)).all()
    assert [(r.username, r.success) for r in rows] == [("OPSSVEGAVN", False), ("OPSSVEGAVN", True)]
    assert expire_sign_in_attempts(clock.now() + timedelta(days=2)) == 2


def test_a_session_expires_after_inactivity(client, app):
    make_staff("OPSSVEGAVN")
    assert sign_in(client, "OPSSVEGAVN").status_code == 303
    assert client.get("/espai/").status_code == 200
    clock.advance(timedelta(minutes=app.config["STAFF_IDLE_MINUTES"], seconds=61))
    response = client.get("/espai/")
    assert response.status_code == 302 and "/entra" in response.headers["Location"]
    page = soup(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "La sessió s'ha tancat per inactivitat" in page.get_text()
    assert client.get("/espai/").status_code == 302, "really signed out"


def test_an_expired_session_on_htmx_goes_to_sign_in_not_into_the_page(client, app):
    make_staff("OPSSVEGAVN")
    sign_in(client, "OPSSVEGAVN")
    clock.advance(timedelta(minutes=app.config["STAFF_IDLE_MINUTES"], seconds=61))
    response = client.post("/espai/cites/1/estat", headers={"HX-Request": "true"})
    assert response.status_code in (204, 400)
    if response.status_code == 204:
        assert response.headers["HX-Redirect"].startswith("/entra")


def test_signing_in_starts_a_new_session(client):
    make_staff("OPSSVEGAVN")
    client.get("/entra")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    sign_in(client, "OPSSVEGAVN")
    with client.session_transaction() as session:
        assert "planted" not in session


# --- Agenda --------------------------------------------------------------------------------------


def test_a_technician_sees_their_own_week_and_not_the_others(client):
    world = make_world(technicians=2)
    mine, theirs = world.technicians
    booking, _ = make_booking(world.town, world.service, mine, at(60), citizen_name="Persona Meva")
    make_booking(world.town, world.service, theirs, at(60), citizen_name="Persona Seva")
    make_booking(world.town, world.service, mine, at(60 * 24 * 15), citizen_name="Molt Lluny")
    sign_in(client, mine.username)
    page = client.get(_day_of(booking)).get_data(as_text=True)
    assert "Persona Meva" in page
    assert "Persona Seva" not in page
    assert "Molt Lluny" not in page
    assert "Avui" in page


def test_a_coordinator_sees_everyone_and_can_filter(client):
    world = make_world(technicians=2)
    first, second = world.technicians
    make_staff("OPSSCOORD", role="coordinator")
    booking, _ = make_booking(
        world.town, world.service, first, at(60), citizen_name="Primera Persona"
    )
    make_booking(world.town, world.service, second, at(60), citizen_name="Segona Persona")
    sign_in(client, "OPSSCOORD")
    page = client.get(_day_of(booking)).get_data(as_text=True)
    assert "Primera Persona" in page and "Segona Persona" in page
    page = client.get(f"{_day_of(booking)}&tecnic={second.id}").get_data(as_text=True)
    assert "Primera Persona" not in page and "Segona Persona" in page


def test_the_join_link_is_live_only_from_ten_minutes_before(client):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    soon, _ = make_booking(world.town, world.service, technician, at(5), citizen_name="Aviat")
    later, _ = make_booking(world.town, world.service, technician, at(120), citizen_name="Tard")
    sign_in(client, technician.username)
    page = soup(client.get(_day_of(soon)).get_data(as_text=True))
    live = page.select_one(f"#cita-{soon.id} a[href='{soon.video_link}']")
    assert live is not None and live["target"] == "_blank"
    page = soup(client.get(_day_of(later)).get_data(as_text=True))
    assert page.select_one(f"#cita-{later.id} a[href='{later.video_link}']") is None
    assert "s'activa 10 minuts abans" in page.select_one(f"#cita-{later.id}").get_text()


def _day_of(booking) -> str:
    """The agenda's address for the booking's day (it shows one day at a time)."""
    return f"/espai/?dia={booking.start_utc.astimezone(ZoneInfo('Europe/Madrid')).date()}"


def _post_from_agenda(client, url, data):
    page = client.get("/espai/").get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_token(page), **data})


def test_mark_attended_and_no_show_after_the_start(client):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    started, _ = make_booking(world.town, world.service, technician, at(-10))
    future, _ = make_booking(world.town, world.service, technician, at(60))
    sign_in(client, technician.username)
    response = _post_from_agenda(client, f"/espai/cites/{started.id}/estat", {"status": "attended"})
    assert response.status_code == 303
    db.session.refresh(started)
    assert started.status == BookingStatus.ATTENDED and started.marked_by_id == technician.id
    # A mistake can be corrected...
    _post_from_agenda(client, f"/espai/cites/{started.id}/estat", {"status": "no_show"})
    db.session.refresh(started)
    assert started.status == BookingStatus.NO_SHOW
    # ...but nothing is marked before it starts.
    _post_from_agenda(client, f"/espai/cites/{future.id}/estat", {"status": "attended"})
    db.session.refresh(future)
    assert future.status == BookingStatus.CONFIRMED
    # The time stays taken: an attended call is not a free slot.
    assert db.session.scalar(
        select(func.count()).select_from(BookingClaim).where(BookingClaim.booking_id == started.id)
    )


def test_marking_with_htmx_returns_the_item_and_announces_it(client):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    started, _ = make_booking(world.town, world.service, technician, at(-10))
    sign_in(client, technician.username)
    page = client.get("/espai/").get_data(as_text=True)
    response = client.post(
        f"/espai/cites/{started.id}/estat",
        data={"csrf_token": csrf_token(page), "status": "attended"},
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert f'id="cita-{started.id}"' in body and "Atesa" in body
    assert re.search(r'hx-swap-oob="innerHTML:#status">Cita marcada com a atesa', body)


def test_a_technician_cannot_act_on_someone_elses_appointment(client):
    world = make_world(technicians=2)
    mine, theirs = world.technicians
    booking, _ = make_booking(world.town, world.service, theirs, at(-10))
    sign_in(client, mine.username)
    response = _post_from_agenda(client, f"/espai/cites/{booking.id}/estat", {"status": "attended"})
    assert response.status_code == 403
    assert client.get(f"/espai/cites/{booking.id}/anulla").status_code == 403


def test_staff_cancel_emails_the_citizen_and_frees_the_time(client):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    booking, _ = make_booking(world.town, world.service, technician, at(30))
    sign_in(client, technician.username)
    page = client.get(f"/espai/cites/{booking.id}/anulla").get_data(as_text=True)
    response = client.post(
        f"/espai/cites/{booking.id}/anulla",
        data={"csrf_token": csrf_token(page), "reason": "La tècnica està malalta"},
    )
    assert response.status_code == 303
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CANCELLED and booking.cancelled_by == "staff"
    messages = db.session.scalars(select(OutboxMessage)).all()
    to_citizen = [m for m in messages if m.recipient == booking.citizen_email]
    assert [m.ics_method for m in to_citizen] == ["CANCEL"]
    assert (
        "La tècnica està malalta"
        in next(m for m in messages if m.recipient == technician.email).body_text
    )
    assert not db.session.scalar(select(func.count()).select_from(BookingClaim))


def test_a_coordinator_reassigns_and_both_technicians_are_told(client):
    world = make_world(technicians=2)
    first, second = world.technicians
    make_staff("OPSSCOORD", role="coordinator")
    booking, _ = make_booking(world.town, world.service, first, at(24 * 60))
    sign_in(client, "OPSSCOORD")
    response = _post_from_agenda(
        client, f"/espai/cites/{booking.id}/reassigna", {"technician": second.id}
    )
    assert response.status_code == 303
    db.session.refresh(booking)
    assert booking.technician_id == second.id and booking.ical_sequence == 1
    methods = {m.recipient: m.ics_method for m in db.session.scalars(select(OutboxMessage)).all()}
    assert methods == {
        first.email: "CANCEL",
        second.email: "REQUEST",
        booking.citizen_email: "REQUEST",
    }
    claims = db.session.scalars(select(BookingClaim.technician_id)).all()
    assert set(claims) == {second.id}


def test_reassigning_to_a_busy_technician_is_refused(client):
    world = make_world(technicians=2)
    first, second = world.technicians
    make_staff("OPSSCOORD", role="coordinator")
    when = at(24 * 60)
    booking, _ = make_booking(world.town, world.service, first, when)
    make_booking(world.town, world.service, second, when + timedelta(minutes=10))
    sign_in(client, "OPSSCOORD")
    response = _post_from_agenda(
        client, f"/espai/cites/{booking.id}/reassigna", {"technician": second.id}
    )
    assert response.status_code == 303
    page = soup(client.get(response.headers["Location"]).get_data(as_text=True)).get_text()
    assert "no està lliure" in page
    db.session.refresh(booking)
    assert booking.technician_id == first.id


def test_only_coordinators_reassign(client):
    world = make_world(technicians=2)
    first, second = world.technicians
    booking, _ = make_booking(world.town, world.service, first, at(24 * 60))
    sign_in(client, first.username)
    response = _post_from_agenda(
        client, f"/espai/cites/{booking.id}/reassigna", {"technician": second.id}
    )
    assert response.status_code == 403


def test_opening_the_case_fills_it_from_the_booking_once(client):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    booking, _ = make_booking(
        world.town,
        world.service,
        technician,
        at(-40),
        citizen_phone="612 345 678",
        description="Factura d'aigua duplicada",
    )
    sign_in(client, technician.username)
    first = _post_from_agenda(client, f"/espai/cites/{booking.id}/expedient", {})
    second = _post_from_agenda(client, f"/espai/cites/{booking.id}/expedient", {})
    assert first.headers["Location"] == second.headers["Location"]
    case = db.session.scalar(select(CaseFile))
    assert re.fullmatch(r"\d{4}/\d{7}", case.number)
    assert (case.interested_name, case.interested_phone, case.description) == (
        booking.citizen_name,
        "612 345 678",
        "Factura d'aigua duplicada",
    )
    assert case.municipality_id == world.town.id and case.assigned_to_id == technician.id
    assert case.channel == "telematica" and case.booking_id == booking.id
    assert case.organic == "E02020000 - Ser. Suport Polítiques de Consum"


# --- Booking for a citizen who phoned -------------------------------------------------------------


def _phone_booking(client, world, **fields):
    page = client.get(f"/espai/cites/nova?municipi={world.town.id}").get_data(as_text=True)
    day = re.findall(r'name="dia" value="([^"]+)"', page)[0]
    page = client.get(f"/espai/cites/nova?municipi={world.town.id}&dia={day}")
    slot = re.findall(r'name="slot" value="([^"]+)"', page.get_data(as_text=True))[0]
    form = client.get(
        "/espai/cites/nova/dades", query_string={"municipi": world.town.id, "slot": slot}
    ).get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(form),
        "municipi": world.town.id,
        "slot": slot,
        "name": "Persona Que Truca",
        "phone": "612 000 111",
        "technician": 0,
        "consent": "y",
        **fields,
    }
    data = {key: value for key, value in data.items() if value is not None}
    return slot, client.post("/espai/cites/nova/dades", data=data)


def test_staff_book_for_a_citizen_who_phoned_without_email(client):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    sign_in(client, technician.username)
    slot, response = _phone_booking(client, world)
    assert response.status_code == 303
    booking = db.session.scalar(select(Booking))
    assert booking.booked_by_id == technician.id
    assert booking.start_utc == datetime.fromisoformat(slot).astimezone(UTC)
    assert booking.consent_version.endswith("(telèfon)")
    recipients = {m.recipient for m in db.session.scalars(select(OutboxMessage))}
    assert recipients == {technician.email}, "no e-mail for a citizen who gave none"
    page = soup(client.get("/espai/").get_data(as_text=True)).get_text()
    assert f"Cita {booking.reference} creada" in page and "Persona Que Truca" in page


def test_a_phone_booking_with_email_sends_the_invitation(client):
    world = make_world(technicians=1)
    sign_in(client, world.technicians[0].username)
    _slot, response = _phone_booking(client, world, email="truca@example.net")
    assert response.status_code == 303
    methods = {m.recipient: m.ics_method for m in db.session.scalars(select(OutboxMessage))}
    assert methods["truca@example.net"] == "REQUEST"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Escriviu el nom i cognoms de la persona"),
        ({"consent": None}, "Cal el consentiment de la persona per demanar-li cita"),
        ({"phone": "", "email": ""}, "Cal un correu electrònic o un telèfon per avisar la persona"),
        (
            {"email": "no-és-correu"},
            "Escriviu una adreça de correu electrònic vàlida, com ara nom@exemple.cat",
        ),
    ],
)
def test_phone_booking_errors_are_shown_beside_the_fields(client, fields, message):
    world = make_world(technicians=1)
    sign_in(client, world.technicians[0].username)
    _slot, response = _phone_booking(client, world, **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert soup(html).title.get_text().startswith("Error: ")
    assert message in error_messages(html)
    assert soup(html).select_one("#name")["value"] == fields.get("name", "Persona Que Truca")
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def test_past_calls_nobody_marked_wait_on_the_agenda(client):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    forgotten, _ = make_booking(
        world.town, world.service, technician, at(-3 * 24 * 60), citizen_name="Oblidada"
    )
    marked, _ = make_booking(
        world.town,
        world.service,
        technician,
        at(-2 * 24 * 60),
        citizen_name="Ja Marcada",
        status=BookingStatus.ATTENDED,
    )
    old, _ = make_booking(
        world.town, world.service, technician, at(-20 * 24 * 60), citizen_name="Massa Antiga"
    )
    sign_in(client, technician.username)
    page = soup(client.get("/espai/").get_data(as_text=True))
    section = page.select_one("section[aria-labelledby=per-marcar]")
    assert section is not None
    text = section.get_text(" ", strip=True)
    assert "Oblidada" in text and "Ja Marcada" not in text and "Massa Antiga" not in text
    assert any(b.get_text().startswith("Atesa") for b in section.select("button"))
