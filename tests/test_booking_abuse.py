"""Bookings a script cannot exhaust (issue 10 item 4), and the booking's low findings 7 and 12.

- one key per e-mail address: case, spaces, +tags and Gmail's dots count as one address;
- per-day caps on new online bookings per address and per client network, counted in the
  database; staff phone bookings exempt; a calm page when a cap says no, the typing kept;
- network keys stored as a keyed hash and erased by the worker a day later;
- an alert to coordinators when bookings arrive at an unusual rate (through the real SMTP
  server), at most once an hour per reason;
- the service's own address refused beside the e-mail field (finding 12);
- extreme slot dates never give a 500 (finding 7).

docs/booking-abuse.md says why each exists and what it costs a citizen.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import func
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import text

from support.apps import MIGRATIONS
from support.apps import make_app as build_app
from support.apps import smtp_config
from support.concurrency import at_once
from support.factories import PASSWORD
from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.journey import DETAILS
from support.journey import Citizen
from support.journey import book_by_phone
from support.journey import confirm_ready
from umic import clock
from umic import jobs
from umic.booking import abuse as booking_abuse
from umic.extensions import db
from umic.models import Booking
from umic.models import BookingDraft
from umic.models import BookingRefusal
from umic.models import BookingStatus
from umic.models import OutboxMessage
from umic.models import Role

#: The caps small, so that a test reaches them in a few bookings; the rest of the abuse
#: checks (rate limits, fill time) off: tests/test_security.py covers them.
CAPS = {
    "BOOKING_MAX_ACTIVE_PER_EMAIL": 0,
    "BOOKING_MAX_NEW_PER_EMAIL_PER_DAY": 0,
    "BOOKING_MAX_NEW_PER_NETWORK_PER_DAY": 0,
    "BOOKING_ALERT_NEW_PER_HOUR": 0,
    "BOOKING_ALERT_REFUSALS_PER_HOUR": 0,
}


@pytest.fixture
def app_config(request) -> dict:
    """The caps off (each test turns on its own); mail to the real SMTP server when a test
    has one (Flask-Mail reads its settings when the app is made)."""
    config = dict(CAPS)
    if "smtp" in request.fixturenames:
        config.update(smtp_config(request.getfixturevalue("smtp")))
    return config


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def citizen_from(app, address: str) -> Citizen:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Citizen(client)


def upcoming(world, days: int, email: str, **values):
    start = (clock.now() + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)
    return make_booking(
        world.town, world.service, world.technicians[0], start, citizen_email=email, **values
    )


def page_text(response) -> str:
    return soup(response.get_data(as_text=True)).get_text(" ", strip=True)


def assert_daily_cap_page(response, *, network: bool) -> None:
    assert response.status_code == 200
    text = page_text(response)
    assert "Avui no podem fer més reserves per internet" in text
    assert "límit de reserves noves cada dia" in text
    assert ("mateixa connexió" in text) is network
    assert "012" in text and "demà" in text  # what to do instead


def booked(response) -> bool:
    return response.status_code == 303 and urlsplit(response.headers["Location"]).path.startswith(
        "/cita/"
    )


# --- One key per address -------------------------------------------------------------------------


def test_the_active_cap_treats_tags_case_and_gmail_dots_as_one_address(app):
    """Before: ``cap+1@`` was another address to the cap (security review, finding 3)."""
    app.config["BOOKING_MAX_ACTIVE_PER_EMAIL"] = 2
    world = make_world(technicians=3)
    upcoming(world, 5, "Raul.Sanchez@gmail.com")
    upcoming(world, 6, "raulsanchez+cita@googlemail.com")
    citizen = citizen_from(app, "192.0.2.10")
    response = citizen.details(citizen.first_slot(), email="r.a.u.l.sanchez+3@GMAIL.com")
    assert "Ja teniu cites pendents" in page_text(response)
    other = citizen_from(app, "192.0.2.11")
    response = other.details(other.first_slot(), email="raul.sanchez+3@example.net")
    assert response.status_code == 303  # dots matter outside Gmail: another mailbox


def test_every_booking_stores_its_address_key(app):
    world = make_world(technicians=1)
    citizen_from(app, "192.0.2.10").book(email="Raul+Prova@Example.NET")
    booking = db.session.scalar(select(Booking))
    assert booking.citizen_email == "Raul+Prova@Example.NET"  # mail goes where it was typed
    assert booking.email_key == "raul@example.net"
    written, _token = upcoming(world, 8, "Un.Altre+x@GoogleMail.com")
    assert written.email_key == "unaltre@gmail.com"


# --- Per-day caps on new bookings ----------------------------------------------------------------


def test_one_address_gets_a_few_new_bookings_a_day_and_then_a_calm_page(app):
    app.config["BOOKING_MAX_NEW_PER_EMAIL_PER_DAY"] = 2
    make_world(technicians=3)
    citizen = citizen_from(app, "192.0.2.10")
    slots = citizen.slots()
    citizen.book(slots[0], email="raul+1@example.net")
    # A cancelled booking still counts: booking and cancelling all day is what scripts do.
    db.session.execute(
        Booking.__table__.update().values(status=BookingStatus.CANCELLED)
    )  # (the claims stay: the other times are free)
    db.session.commit()
    citizen.book(slots[1], email="RAUL+2@example.net")

    response = citizen.details(slots[2], email=" raul+3@Example.net", name="Raúl Tercera Vegada")
    assert_daily_cap_page(response, network=False)
    assert "raul+3@Example.net" in response.get_data(as_text=True)
    assert count(Booking) == 2
    assert count(BookingRefusal, BookingRefusal.reason == "email_day") == 1
    # What was typed is kept: back on the form, it is all there.
    form = citizen.client.get("/reserva/gelida/dades").get_data(as_text=True)
    assert 'value="Raúl Tercera Vegada"' in form and 'value="raul+3@Example.net"' in form

    # Another address from the same place books; the first one again after 24 hours.
    other = citizen_from(app, "192.0.2.10")
    assert other.details(slots[2], email="una@example.net").status_code == 303
    clock.advance(timedelta(hours=24, minutes=1))
    later = citizen_from(app, "192.0.2.12")
    assert later.details(later.slots()[-1], email="raul@example.net").status_code == 303


def test_the_daily_cap_is_checked_again_when_confirming(app):
    app.config["BOOKING_MAX_NEW_PER_EMAIL_PER_DAY"] = 1
    make_world(technicians=3)
    first = citizen_from(app, "192.0.2.10")
    second = citizen_from(app, "198.51.100.20")
    slots = first.slots()
    assert first.details(slots[0], email="raul@example.net").status_code == 303
    assert second.details(slots[1], email="Raul+b@example.net").status_code == 303
    assert booked(first.confirm())
    response = second.confirm()  # the other browser, after the first one confirmed
    assert_daily_cap_page(response, network=False)
    assert count(Booking) == 1
    assert count(OutboxMessage) == 2  # only the first booking's two e-mails


def test_one_network_gets_a_few_new_bookings_a_day_whatever_the_addresses(app):
    """A script in a /24 with fresh e-mail addresses: the network counts, not the address."""
    app.config["BOOKING_MAX_NEW_PER_NETWORK_PER_DAY"] = 2
    make_world(technicians=3)
    slots = citizen_from(app, "198.51.100.7").slots()
    citizen_from(app, "198.51.100.7").book(slots[0], email="bot1@example.net")
    citizen_from(app, "198.51.100.8").book(slots[1], email="bot2@example.net")
    response = citizen_from(app, "198.51.100.254").details(slots[2], email="bot3@example.net")
    assert_daily_cap_page(response, network=True)
    assert count(BookingRefusal, BookingRefusal.reason == "network_day") == 1
    # Another network is not affected.
    citizen_from(app, "203.0.113.9").book(slots[2], email="persona@example.net")
    assert count(Booking) == 3


def test_ipv6_clients_count_by_their_56_network(app):
    app.config["BOOKING_MAX_NEW_PER_NETWORK_PER_DAY"] = 1
    make_world(technicians=3)
    slots = citizen_from(app, "2001:db8:0:1::1").slots()
    citizen_from(app, "2001:db8:0:1::1").book(slots[0], email="a@example.net")
    # Another /64 of the same /56 (one home's delegation): the same network.
    response = citizen_from(app, "2001:db8:0:ff::2").details(slots[1], email="b@example.net")
    assert_daily_cap_page(response, network=True)
    # The next /56: another subscriber.
    citizen_from(app, "2001:db8:0:100::1").book(slots[1], email="c@example.net")


def test_the_network_is_stored_as_a_keyed_hash_and_erased_after_a_day(app):
    make_world(technicians=2)
    citizen_from(app, "198.51.100.7").book(email="a@example.net")
    booking = db.session.scalar(select(Booking))
    assert re.fullmatch(r"[0-9a-f]{32}", booking.network_key)
    assert "198.51.100" not in booking.network_key
    db.session.add(BookingRefusal(reason="network_day", created_at=clock.now()))
    db.session.commit()

    assert booking_abuse.watch(clock.now() + timedelta(hours=23)) == 0  # still needed
    db.session.expire_all()
    assert db.session.scalar(select(Booking.network_key)) is not None
    jobs.run_pass(clock.now() + timedelta(hours=24, minutes=1))  # the worker's own list
    db.session.expire_all()
    assert db.session.scalar(select(Booking.network_key)) is None
    assert count(BookingRefusal) == 0


def test_staff_phone_bookings_are_exempt_from_the_daily_caps(app, client, login):
    app.config["BOOKING_MAX_NEW_PER_NETWORK_PER_DAY"] = 2
    app.config["BOOKING_MAX_NEW_PER_EMAIL_PER_DAY"] = 1
    world = make_world(technicians=2)
    office = "127.0.0.1"  # the test client's address: the staff's and this citizen's
    slots = citizen_from(app, office).slots()
    citizen_from(app, office).book(slots[0], email="raul@example.net")
    login(world.technicians[0].username, PASSWORD)
    for slot in slots[1:3]:  # the same person by phone, twice: over both caps, and allowed
        response = book_by_phone(
            client, world.town.id, slot, name="Raúl Sánchez", email="Raul@example.net"
        )
        assert response.status_code == 303, response.get_data(as_text=True)
    assert count(Booking) == 3
    assert count(Booking, Booking.network_key.is_(None)) == 2  # staff: no network kept
    # Staff bookings did not use up the network's allowance: one more citizen books online.
    citizen_from(app, office).book(slots[3], email="altra@example.net")
    assert count(Booking) == 4


CONCURRENT = 8


def test_the_network_cap_holds_when_one_network_confirms_many_times_at_once(app):
    """Eight browsers of one /24, eight addresses, eight free times, all confirmed at once."""
    app.config["BOOKING_MAX_NEW_PER_NETWORK_PER_DAY"] = 3
    make_world(technicians=3)
    planner = citizen_from(app, "192.0.2.1")
    slots = [slot for day in planner.days()[:3] for slot in planner.slots(day)][:CONCURRENT]
    assert len(slots) == CONCURRENT
    ready = []
    for number, slot in enumerate(slots):
        citizen = citizen_from(app, f"198.51.100.{number + 1}")
        assert citizen.details(slot, email=f"bot{number}@example.net").status_code == 303
        page = citizen.client.get("/reserva/gelida/comprova").get_data(as_text=True)
        ready.append((citizen.client, csrf_token(page)))

    responses = at_once(confirm_ready, ready)

    assert sum(booked(r) for r in responses) == 3, [r.status_code for r in responses]
    refused = [r for r in responses if r.status_code == 200]
    assert len(refused) == CONCURRENT - 3
    assert all("mateixa connexió" in page_text(r) for r in refused)
    assert count(Booking) == 3
    assert count(BookingRefusal) == CONCURRENT - 3


# --- Alerts to coordinators ----------------------------------------------------------------------


@pytest.fixture
def alerting(smtp, app):
    make_staff("OPSSCOORD", role=Role.COORDINATOR, email="coordinacio@example.org")
    make_staff("OPSSCOORD2", role=Role.COORDINATOR, email="coordinacio2@example.org")
    retired = make_staff("OPSSJUBILAT", role=Role.COORDINATOR, email="jubilat@example.org")
    retired.active = False
    db.session.commit()
    return smtp


def worker_passes() -> None:
    """Two passes of the worker: the alert is queued in one and sent by the next."""
    jobs.run_pass()
    jobs.run_pass()


def alerts(smtp) -> list:
    return [m for m in smtp.messages() if "Avís" in str(m.message["Subject"])]


def test_coordinators_get_one_alert_an_hour_when_bookings_arrive_fast(app, alerting):
    app.config["BOOKING_ALERT_NEW_PER_HOUR"] = 3
    world = make_world(technicians=3)
    for number in range(3):
        citizen_from(app, f"192.0.2.{number + 1}").book(email=f"persona{number}@example.net")
    worker_passes()
    assert alerts(alerting) == []  # three in an hour: an ordinary busy hour

    citizen_from(app, "192.0.2.9").book(email="quarta@example.net")
    # A staff booking is not counted (they are phone requests, not a script).
    upcoming(world, 9, "telefon@example.net", booked_by_id=world.technicians[0].id)
    worker_passes()
    received = alerts(alerting)
    recipients = sorted(address for m in received for address in m.rcpt_tos)
    # Every active coordinator, once; not the inactive one, nor the technicians.
    assert recipients == ["coordinacio2@example.org", "coordinacio@example.org"]
    message = received[0].message
    assert "moltes reserves noves" in message["Subject"] and "(4)" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert "4 reserves per internet" in body
    assert "http://localhost/espai/" in body
    assert "persona0@example.net" not in body  # no citizen's data in an alert

    citizen_from(app, "192.0.2.10").book(email="cinquena@example.net")
    worker_passes()
    assert len(alerts(alerting)) == 2  # still unusual, but at most one an hour
    clock.advance(timedelta(minutes=61))
    for number in range(4):
        citizen_from(app, f"192.0.2.{20 + number}").book(email=f"mes{number}@example.net")
    worker_passes()
    assert len(alerts(alerting)) == 4


def test_a_script_that_books_a_little_every_hour_raises_the_daily_alert_once(app, alerting):
    """Under the caps and under the hourly alert, but far more than the service's day."""
    app.config["BOOKING_ALERT_NEW_PER_HOUR"] = 10
    app.config["BOOKING_ALERT_NEW_PER_DAY"] = 15
    world = make_world(technicians=3)
    now = clock.now()
    for number in range(16):  # one every 80 minutes over the last 20 hours
        upcoming(
            world,
            3 + number,
            f"bot{number}@example.net",
            created_at=now - timedelta(minutes=80 * number),
        )
    db.session.commit()
    worker_passes()
    received = alerts(alerting)
    assert len(received) == 2  # the two active coordinators, once
    assert "les últimes 24 hores (16)" in str(received[0].message["Subject"])
    body = received[0].message.get_body(("plain",)).get_content()
    assert "fins d'aquí a un dia" in body
    clock.advance(timedelta(hours=2))
    upcoming(world, 25, "bot16@example.net", created_at=clock.now())
    worker_passes()
    assert len(alerts(alerting)) == 2  # at most one a day for this reason


def test_coordinators_are_alerted_when_the_caps_refuse_many_bookings(app, alerting):
    app.config["BOOKING_ALERT_REFUSALS_PER_HOUR"] = 1
    app.config["BOOKING_MAX_NEW_PER_NETWORK_PER_DAY"] = 1
    make_world(technicians=3)
    citizen = citizen_from(app, "198.51.100.7")
    slots = citizen.slots()
    citizen.book(slots[0], email="bot0@example.net")
    for number in (1, 2):
        response = citizen_from(app, "198.51.100.7").details(
            slots[number], email=f"bot{number}@example.net"
        )
        assert_daily_cap_page(response, network=True)
    worker_passes()
    received = alerts(alerting)
    assert len(received) == 2
    assert "els límits han refusat" in received[0].message["Subject"]
    worker_passes()
    assert len(alerts(alerting)) == 2


# --- Finding 12: the service's own address -------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["cites@example.org", "CITES@EXAMPLE.ORG", "cites+x@example.org"]
)
def test_the_service_address_gets_an_error_beside_the_field_not_a_500(app, address):
    make_world(technicians=1)
    citizen = citizen_from(app, "192.0.2.10")
    response = citizen.details(citizen.first_slot(), email=address)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Aquesta és l'adreça del servei." in " ".join(error_messages(html))
    field = soup(html).select_one("input[name=email]")
    assert field["value"] == address and field["aria-invalid"] == "true"
    assert 'value="Raúl Sánchez Puig"' in html  # the rest of the typing kept too
    assert soup(html).select_one(".error-summary a[href='#email']") is not None
    assert count(BookingDraft) == 0 and count(Booking) == 0


def test_the_staff_phone_form_refuses_the_service_address_too(app, client, login):
    world = make_world(technicians=1)
    login(world.technicians[0].username, PASSWORD)
    slot = citizen_from(app, "192.0.2.10").first_slot()
    response = book_by_phone(
        client, world.town.id, slot, name="Raúl Sánchez", email="Cites@Example.org"
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Aquesta és l'adreça del servei." in " ".join(error_messages(html))
    assert soup(html).select_one("input[name=email]")["value"] == "Cites@Example.org"
    assert count(Booking) == 0


# --- Finding 7: slot dates at the edge of the calendar -------------------------------------------

EXTREME_SLOTS = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59-14:00",
]


@pytest.mark.parametrize("slot", EXTREME_SLOTS)
def test_extreme_slot_dates_never_give_a_500(app, client, login, slot):
    world = make_world(technicians=1)
    _booking, token = upcoming(world, 5, "raul@example.net")
    public = client.get("/reserva/gelida/dades", query_string={"slot": slot})
    embedded = client.get("/incrustat/reserva/gelida/dades", query_string={"slot": slot})
    reschedule = client.get(f"/cita/{token}/planifica/confirma", query_string={"slot": slot})
    page = client.get(f"/cita/{token}/anulla").get_data(as_text=True)  # a form, a token
    reschedule_post = client.post(
        f"/cita/{token}/planifica/confirma", data={"slot": slot, "csrf_token": csrf_token(page)}
    )
    details = client.post(  # the details form posted with that slot
        "/reserva/gelida/dades", data={**DETAILS, "slot": slot, "csrf_token": csrf_token(page)}
    )
    login(world.technicians[0].username, PASSWORD)
    staff = client.get(
        "/espai/cites/nova/dades", query_string={"municipi": world.town.id, "slot": slot}
    )
    for name, response in [
        ("public", public),
        ("embedded", embedded),
        ("reschedule", reschedule),
        ("reschedule POST", reschedule_post),
        ("staff", staff),
    ]:
        assert response.status_code == 303, (name, response.status_code)  # as for a gone time
    assert details.status_code == 200  # the form again, asking for a time
    assert count(Booking) == 1 and count(BookingDraft) == 0


# --- The migration -------------------------------------------------------------------------------


def test_the_migration_backfills_the_address_key_of_existing_bookings(tmp_path):
    app = build_app(f"sqlite:///{tmp_path}/m.db", {})
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        world = make_world(technicians=1)
        for days, email in [(5, "Raul.Sanchez+Cita@GoogleMail.com"), (6, " Una@Example.NET")]:
            upcoming(world, days, email)
        db.session.commit()
        db.session.remove()
        downgrade(directory=MIGRATIONS, revision="a10c0a000003")  # before this change
        assert "email_key" not in {c["name"] for c in inspect(db.engine).get_columns("booking")}
        upgrade(directory=MIGRATIONS)
        rows = db.session.execute(
            text("SELECT citizen_email, email_key FROM booking ORDER BY id")
        ).all()
        assert [tuple(row) for row in rows] == [
            ("Raul.Sanchez+Cita@GoogleMail.com", "raulsanchez@gmail.com"),
            (" Una@Example.NET", "una@example.net"),
        ]
        db.session.remove()
        db.engine.dispose()
