"""The in-person times of a visit of the mobile unit (umic.core.visit_slots): pure, fast."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from umic.core.scheduling import claim_units
from umic.core.visit_slots import WallTimeProblem
from umic.core.visit_slots import free_visit_times
from umic.core.visit_slots import local_window
from umic.core.visit_slots import visit_starts

MADRID = ZoneInfo("Europe/Madrid")
TWENTY = timedelta(minutes=20)


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_starts_step_by_the_slot_and_each_fits_before_the_end():
    starts = visit_starts(_utc(2026, 5, 6, 8), _utc(2026, 5, 6, 9, 10), TWENTY)
    assert starts == [_utc(2026, 5, 6, 8), _utc(2026, 5, 6, 8, 20), _utc(2026, 5, 6, 8, 40)]
    # 08:40-09:00 fits; 09:00-09:20 would end after 09:10.
    with pytest.raises(ValueError):
        visit_starts(_utc(2026, 5, 6, 8), _utc(2026, 5, 6, 9), timedelta(minutes=7))
    with pytest.raises(ValueError):
        visit_starts(datetime(2026, 5, 6, 8), _utc(2026, 5, 6, 9), TWENTY)


def test_taken_units_notice_and_horizon_remove_times():
    start, end = _utc(2026, 5, 6, 8), _utc(2026, 5, 6, 10)
    # Someone holds 08:25-08:35 of this technician: only 08:20-08:40 overlaps it.
    taken = claim_units(_utc(2026, 5, 6, 8, 25), _utc(2026, 5, 6, 8, 35))
    free = free_visit_times(start, end, TWENTY, taken)
    assert _utc(2026, 5, 6, 8, 20) not in free
    assert _utc(2026, 5, 6, 8) in free and _utc(2026, 5, 6, 8, 40) in free
    assert len(free) == 5
    # Notice: nothing before 08:30; horizon: nothing after 09:20.
    free = free_visit_times(
        start, end, TWENTY, (), earliest=_utc(2026, 5, 6, 8, 30), latest=_utc(2026, 5, 6, 9, 20)
    )
    assert free == [_utc(2026, 5, 6, 8, 40), _utc(2026, 5, 6, 9), _utc(2026, 5, 6, 9, 20)]
    # A unit that touches the end of an appointment does not take it.
    touching = [_utc(2026, 5, 6, 8, 20)]
    assert _utc(2026, 5, 6, 8) in free_visit_times(start, end, TWENTY, touching)


@pytest.mark.parametrize(
    ("day", "offset_hours"),
    [
        (date(2026, 3, 29), 2),  # the spring change itself (a Sunday): summer time by 10:00
        (date(2026, 3, 30), 2),  # the Monday after
        (date(2026, 3, 27), 1),  # the Friday before: still winter time
        (date(2026, 10, 25), 1),  # the autumn change itself: winter time again by 10:00
        (date(2026, 10, 26), 1),  # the Monday after
        (date(2026, 10, 23), 2),  # the Friday before: still summer time
    ],
)
def test_local_window_is_right_around_the_clock_changes(day, offset_hours):
    start, end = local_window(day, time(10), time(13), MADRID)
    assert start == datetime.combine(day, time(10 - offset_hours), tzinfo=UTC)
    assert end - start == timedelta(hours=3)
    starts = visit_starts(start, end, TWENTY)
    assert len(starts) == 9
    assert starts[0].astimezone(MADRID).time() == time(10)
    assert starts[-1].astimezone(MADRID).time() == time(12, 40)


def test_local_window_refuses_times_that_are_not_one_instant():
    with pytest.raises(WallTimeProblem):  # 02:30 never happens on the spring change
        local_window(date(2026, 3, 29), time(2, 30), time(4), MADRID)
    with pytest.raises(WallTimeProblem):  # 02:30 happens twice on the autumn change
        local_window(date(2026, 10, 25), time(1), time(2, 30), MADRID)
    with pytest.raises(WallTimeProblem):
        local_window(date(2026, 5, 6), time(12), time(10), MADRID)


def test_a_window_across_the_autumn_change_counts_real_minutes():
    # 01:00-04:00 local on the autumn change lasts four real hours.
    start, end = local_window(date(2026, 10, 25), time(1), time(4), MADRID)
    assert end - start == timedelta(hours=4)
    assert len(visit_starts(start, end, timedelta(hours=1))) == 4


# --- The invitation of an in-person appointment (umic.core.ics with ``location``) ---------


def _in_person_event(**overrides):
    from umic.core.ics import EventData
    from umic.core.ics import Person

    fields = {
        "uid": "0b7e2a4c-3f7d-4a53-9a1e-2f1c3d4e5f60",
        "sequence": 0,
        "start": _utc(2026, 3, 30, 8),  # 10:00 in Madrid, the Monday after the spring change
        "end": _utc(2026, 3, 30, 8, 20),
        "summary": "Consum_DIBA",
        "description": "Cita presencial.\nLa furgoneta verda, davant del mercat.",
        "link": "",
        "location": "Plaça de l'Ajuntament, Gelida",
        "organizer": Person("cites@example.org", "Cites"),
        "stamp": _utc(2026, 3, 1),
        "prodid": "-//Test//UMIC//CA",
    }
    fields.update(overrides)
    return EventData(**fields)


def test_an_in_person_invitation_has_the_place_and_no_link():
    from icalendar import Calendar

    from umic.core import ics

    event = _in_person_event()
    body = ics.invitation(event, ics.Person("a@example.net", "A"), method="REQUEST", role="citizen")
    vevent = next(iter(Calendar.from_ical(body).walk("VEVENT")))
    assert str(vevent["LOCATION"]) == "Plaça de l'Ajuntament, Gelida"
    assert "URL" not in vevent
    assert str(vevent["DESCRIPTION"]) == event.description
    assert vevent["DTSTART"].dt.astimezone(UTC) == _utc(2026, 3, 30, 8)
    assert vevent["DTSTART"].dt.replace(tzinfo=None) == datetime(2026, 3, 30, 10)
    download = Calendar.from_ical(ics.download(event, cancelled=True))
    assert str(next(iter(download.walk("VEVENT")))["STATUS"]) == "CANCELLED"
    assert "location=Pla%C3%A7a" in ics.google_calendar_url(event)
    with pytest.raises(ValueError):  # neither a link nor a place
        ics.invitation(
            _in_person_event(location=""),
            ics.Person("a@example.net", "A"),
            method="REQUEST",
            role="citizen",
        )
