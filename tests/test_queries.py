"""A page of free times costs a fixed, small number of queries, however many bookings exist."""

from __future__ import annotations

from datetime import timedelta

from support.factories import make_booking
from support.factories import make_world
from support.journey import Citizen
from support.queries import counted_queries
from umic import clock
from umic.extensions import db
from umic.models import availability


def _day_page_queries(client, day: str) -> list[str]:
    with counted_queries() as statements:
        response = client.get(f"/reserva/gelida/?dia={day}")
    assert response.status_code == 200
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def _computed_afresh() -> None:
    """Make the next page compute its free times (as after any change by anyone)."""
    availability.bump(db.session.connection())
    db.session.commit()


def test_slot_page_query_count_does_not_grow_with_bookings(client):
    world = make_world(technicians=3)
    citizen = Citizen(client)
    day = citizen.days()[0]
    _computed_afresh()
    empty = _day_page_queries(client, day)
    empty_kept = _day_page_queries(client, day)

    # Fill most of the horizon: three technicians, a booking every hour for 20 days.
    start = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    for hour in range(0, 20 * 24, 1):
        when = start + timedelta(hours=hour)
        if 8 <= when.hour <= 17:
            make_booking(world.town, world.service, world.technicians[hour % 3], when)
    busy = _day_page_queries(client, day)
    busy_kept = _day_page_queries(client, day)

    assert len(busy) == len(empty)
    # town, service, the availability number, hours, closures, bookings (+ the draft lookup)
    assert len(busy) <= 7, busy
    # Kept free times (nothing changed since): town, service, the number (+ the draft lookup).
    assert len(busy_kept) == len(empty_kept) <= 4, busy_kept


def test_the_slot_queries_use_indexes_on_postgresql(client, backend):
    """EXPLAIN the bookings query: an index, never a sequential scan of all bookings."""
    if backend != "postgresql":
        return
    from sqlalchemy import text

    make_world()
    with db.engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        plan = (
            connection.execute(
                text(
                    "EXPLAIN SELECT technician_id, start_utc, end_utc FROM booking "
                    "WHERE status = 'confirmed' AND start_utc < now() + interval '30 days' "
                    "AND start_utc > now() - interval '1 day' AND end_utc > now()"
                )
            )
            .scalars()
            .all()
        )
    assert any("Index" in line for line in plan), plan
