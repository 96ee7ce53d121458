"""Free times for the day asked, kept in memory per process, and the shared number that says
when what was kept is no longer right (umic/booking/free_times.py, umic/models/availability.py).

Two apps on one database stand for two workers (or two servers): each keeps its own memory,
and a change made through one must show in the other at its next request.
"""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy import update

from support.apps import make_app
from support.days import MADRID
from support.days import madrid
from support.days import working_days
from support.factories import make_booking
from support.factories import make_town
from support.factories import make_world
from support.journey import Citizen
from umic import clock
from umic.booking import free_times
from umic.booking import service as booking_service
from umic.core import scheduling
from umic.extensions import db
from umic.models import Booking
from umic.models import BookingStatus
from umic.models import Closure
from umic.models import Municipality
from umic.models import OpeningHours
from umic.models import Service
from umic.models import StaffTown
from umic.models import StaffUser
from umic.models import availability

FRAGMENT = {"HX-Request": "true"}


def version() -> int | None:
    db.session.rollback()
    return availability.current(db.session)


def times_in(html: str) -> list[str]:
    return re.findall(r'name="slot" value="([^"]+)"', html)


def fragment(client, day: date, slug: str = "gelida") -> list[str]:
    response = client.get(f"/reserva/{slug}/?dia={day.isoformat()}", headers=FRAGMENT)
    assert response.status_code == 200
    return times_in(response.get_data(as_text=True))


@pytest.fixture
def world(app):
    return make_world(technicians=2)


@pytest.fixture
def other_worker(app, database_url):
    """A second app on the same database: another worker, with its own memory."""
    second = make_app(database_url)
    yield second
    with second.app_context():
        db.session.remove()
        db.engine.dispose()


def in_app(other, call):
    with other.app_context():
        try:
            return call()
        finally:
            db.session.remove()


# --- The shared number ----------------------------------------------------------------------


def test_each_kind_of_change_to_the_free_times_raises_the_number(world):
    day = working_days(1)
    technician = world.technicians[0]
    seen = [version()]

    def changed() -> bool:
        now = version()
        result = now is not None and now != seen[-1]
        seen.append(now)
        return result

    booking, _ = make_booking(world.town, world.service, technician, madrid(day, 10))
    assert changed(), "a new booking"
    booking.status = BookingStatus.CANCELLED
    db.session.commit()
    assert changed(), "a cancellation"
    booking.start_utc, booking.end_utc = madrid(day, 11), madrid(day, 11, 30)
    db.session.commit()
    assert changed(), "a time moved"
    db.session.add(Closure(day=day, reason="Tancat"))
    db.session.commit()
    assert changed(), "a closure"
    technician.hours[0].end_time = time(13, 0)
    db.session.commit()
    assert changed(), "opening hours"
    db.session.add(StaffTown(staff_id=technician.id, municipality_id=world.town.id))
    db.session.commit()
    assert changed(), "the towns a technician serves"
    technician.active = False
    db.session.commit()
    assert changed(), "a technician leaving"
    world.service.duration_minutes = 45
    db.session.commit()
    assert changed(), "the call's length"
    db.session.execute(update(Booking).values(status=BookingStatus.CANCELLED))
    db.session.commit()
    assert changed(), "a bulk update of the bookings' status"


def test_changes_that_cannot_change_free_times_leave_the_number(world):
    day = working_days(1)
    booking, _ = make_booking(world.town, world.service, world.technicians[0], madrid(day, 10))
    before = version()
    booking.reminder_sent_at = clock.now()
    booking.citizen_phone = "600000000"
    db.session.commit()
    db.session.execute(
        update(Booking).values(network_key=None).execution_options(synchronize_session=False)
    )
    db.session.commit()
    assert version() == before


def test_a_change_rolled_back_leaves_the_number(world):
    make_booking(world.town, world.service, world.technicians[0], madrid(working_days(1), 10))
    before = version()
    db.session.add(Closure(day=working_days(1), reason="Tancat"))
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert version() == before


def test_the_number_is_raised_by_the_last_statement_before_commit(app, world):
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement.split()[0].upper() + " " + statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        make_booking(world.town, world.service, world.technicians[0], madrid(working_days(1), 10))
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert "availability_version" in statements[-1]
    assert not any("availability_version" in s for s in statements[:-1])


# --- Only the day asked, both bounds on the bookings ----------------------------------------


def test_the_fragment_computes_only_the_day_asked_and_the_page_the_window(app, client, world):
    make_booking(world.town, world.service, world.technicians[0], madrid(working_days(1), 10))
    cache = free_times._cache()
    fragment(client, working_days(1))
    assert len(cache) == 1
    client.get("/reserva/gelida/")
    window = scheduling.booking_window(
        clock.now(), booking_service.rules().min_notice, booking_service.rules().horizon, MADRID
    )
    assert len(cache) == (window.last_day - window.first_day).days + 1


def test_the_bookings_query_is_bounded_on_both_sides(app, client, world):
    make_booking(world.town, world.service, world.technicians[0], madrid(working_days(1), 10))
    statements: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, *_args):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        fragment(client, working_days(1))
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    bookings = [s for s, _ in statements if "FROM booking" in s and "end_utc" in s]
    assert len(bookings) == 1
    assert re.search(r"booking\.start_utc > ", bookings[0])
    assert re.search(r"booking\.start_utc < ", bookings[0])


def test_a_booking_far_in_the_past_does_not_hide_a_time(world):
    """The lower bound is one day: a booking of years ago is not read, one ending in the
    day asked is."""
    day = working_days(1)
    tech = world.technicians[0]
    make_booking(world.town, world.service, tech, madrid(day - timedelta(days=900), 10))
    rules = booking_service.rules()
    availability_ = booking_service.load_availability(day, day, rules)
    assert availability_.busy == []
    make_booking(world.town, world.service, tech, madrid(day, 9))
    availability_ = booking_service.load_availability(day, day, rules)
    assert [b.start for b in availability_.busy] == [madrid(day, 9)]


# --- What is kept gives exactly what computing afresh gives ---------------------------------


MOMENTS = [
    datetime(2027, 3, 27, 12, 0, tzinfo=MADRID),  # the Saturday before the spring change
    datetime(2027, 10, 30, 12, 0, tzinfo=MADRID),  # the Saturday before the autumn change
    datetime(2026, 12, 31, 23, 30, tzinfo=MADRID),  # New Year's Eve
    datetime(2026, 12, 10, 16, 10, tzinfo=MADRID),  # an afternoon, today half gone
]


@pytest.mark.parametrize("moment", MOMENTS, ids=lambda m: m.strftime("%Y-%m-%dT%H:%M"))
def test_kept_times_equal_fresh_ones_as_time_passes(app, world, moment):
    clock.freeze(moment)
    try:
        for hour in (10, 16):
            make_booking(
                world.town,
                world.service,
                world.technicians[0],
                madrid((moment + timedelta(days=1)).date(), hour),
            )
        rules = booking_service.rules()
        for step in range(4):
            now = clock.now()
            fresh, _ = booking_service.open_slots(
                world.service, now, rules, municipality_id=world.town.id
            )
            fresh_days = scheduling.slots_by_day(fresh, MADRID)
            kept = free_times.days_with_times(
                world.service, now, rules, municipality_id=world.town.id
            )
            assert kept == fresh_days
            for day, slots in fresh_days.items():
                assert (
                    free_times.day_times(
                        world.service, now, rules, day, municipality_id=world.town.id
                    )
                    == slots
                )
            clock.advance(timedelta(minutes=47 * (step + 1)))
    finally:
        clock.reset()


def test_time_passing_drops_kept_times_that_no_longer_give_notice(app, client, world):
    make_booking(world.town, world.service, world.technicians[0], madrid(working_days(1), 18))
    day = working_days(1, after=1)
    clock.freeze(datetime.combine(day, time(8, 0), tzinfo=MADRID))
    try:
        morning = fragment(client, day)
        assert morning and morning[0].startswith(f"{day.isoformat()}T10:00")  # two hours' notice
        clock.advance(timedelta(hours=2, minutes=1))
        later = fragment(client, day)
        assert later[0].startswith(f"{day.isoformat()}T12:30")
        assert later == [t for t in morning if t[11:16] >= "12:30"]
    finally:
        clock.reset()


# --- Every worker sees every change ---------------------------------------------------------


def test_a_booking_through_another_worker_shows_at_once(app, client, world, other_worker):
    day = working_days(1)
    before = fragment(client, day)  # kept by this worker
    assert before
    other = other_worker.test_client()
    Citizen(other).book(before[0], email="una@example.net")
    assert fragment(client, day) == before  # the other technician is still free then
    Citizen(other).book(before[0], email="dues@example.net")
    assert fragment(client, day) == before[1:]


def test_changes_by_staff_elsewhere_show_at_once(app, client, world, other_worker):
    day = working_days(1)
    assert fragment(client, day)
    elsewhere = make_town("Òdena", "08143", comarca="Anoia").id
    tech_ids = [t.id for t in world.technicians]

    def close():
        db.session.add(Closure(day=day, reason="Formació"))
        db.session.commit()

    in_app(other_worker, close)
    assert fragment(client, day) == []

    def reopen_afternoons_only():
        for closure in db.session.scalars(select(Closure)):
            db.session.delete(closure)
        for hours in db.session.scalars(select(OpeningHours)):
            if hours.start_time < time(14):
                db.session.delete(hours)
        db.session.commit()

    in_app(other_worker, reopen_afternoons_only)
    afternoon = fragment(client, day)
    assert afternoon and all(t[11:13] >= "15" for t in afternoon)

    def first_serves_elsewhere_second_leaves():
        db.session.add(StaffTown(staff_id=tech_ids[0], municipality_id=elsewhere))
        db.session.get(StaffUser, tech_ids[1]).active = False
        db.session.commit()

    in_app(other_worker, first_serves_elsewhere_second_leaves)
    assert fragment(client, day) == []

    def longer_calls_and_everyone_back():
        db.session.execute(update(StaffUser).values(active=True))
        db.session.query(StaffTown).delete()
        db.session.scalar(select(Service)).duration_minutes = 60
        db.session.commit()

    in_app(other_worker, longer_calls_and_everyone_back)
    hour_long = fragment(client, day)
    assert hour_long and len(hour_long) < len(afternoon)


def test_a_cancellation_elsewhere_gives_the_time_back(app, client, world, other_worker):
    day = working_days(1)
    bookings = [
        make_booking(world.town, world.service, tech, madrid(day, 16))[0]
        for tech in world.technicians
    ]
    assert not any(t[11:16] == "16:00" for t in fragment(client, day))
    booking_id = bookings[0].id
    in_app(other_worker, lambda: booking_service.cancel(booking_id, clock.now()))
    assert any(t[11:16] == "16:00" for t in fragment(client, day))


# --- The rendered fragment is kept by what it shows -----------------------------------------


def test_the_kept_fragment_follows_the_language_and_the_chosen_time(app, client, world):
    day = working_days(1)
    catalan = client.get(f"/reserva/gelida/?dia={day}", headers=FRAGMENT).get_data(as_text=True)
    spanish = client.get(
        f"/reserva/gelida/?dia={day}", headers={**FRAGMENT, "Accept-Language": "es"}
    ).get_data(as_text=True)
    assert "A quina hora us va bé" in catalan
    assert "¿A qué hora le va bien" in spanish
    first = times_in(catalan)[1]
    assert Citizen(client).details(first).status_code == 303  # a draft now holds that time
    again = client.get(f"/reserva/gelida/?dia={day}", headers=FRAGMENT).get_data(as_text=True)
    checked = re.findall(r'value="([^"]+)" checked', again)
    assert checked == [first]
    assert times_in(again) == times_in(catalan)


# --- The quick way: no session while nothing changed ----------------------------------------


def test_a_kept_fragment_sends_nothing_through_the_session(app, client, world):
    from support.queries import counted_queries

    day = working_days(1)
    first = fragment(client, day)  # the number's row exists (the world was just made)
    with counted_queries() as statements:
        again = fragment(client, day)
    assert again == first
    assert statements == []  # only the number, read on the process's own connection


def test_a_town_leaving_the_service_elsewhere_shows_at_once(app, client, world, other_worker):
    day = working_days(1)
    assert fragment(client, day)

    def leave():
        db.session.scalar(select(Municipality)).enrolled_on = None
        db.session.commit()

    in_app(other_worker, leave)
    response = client.get(f"/reserva/gelida/?dia={day}", headers=FRAGMENT)
    assert times_in(response.get_data(as_text=True)) == []

    def come_back():
        db.session.scalar(select(Municipality)).enrolled_on = date(2025, 3, 1)
        db.session.commit()

    in_app(other_worker, come_back)
    assert fragment(client, day)


def test_without_its_own_connection_the_fragment_goes_the_usual_way(app, client, world):
    day = working_days(1)
    expected = fragment(client, day)

    class Broken:
        def read(self, engine):
            raise RuntimeError("connection refused")

    app.extensions["umic.availability_reader"] = Broken()
    assert fragment(client, day) == expected
