"""Unit tests of umic.core.scheduling, the slot engine: pure, no app, no database.

Times are written as Madrid wall-clock times where that is how people think of them, and
compared as UTC instants, which is what the engine returns and the database stores.
DST days, when 02:00-02:59 local time does not exist (March) or happens twice (October), so
no slot may start or end in it: 2026-03-29, 2026-10-25, 2027-03-28 and 2027-10-31.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from umic.core.scheduling import Availability
from umic.core.scheduling import Busy
from umic.core.scheduling import Slot
from umic.core.scheduling import WeeklyHours
from umic.core.scheduling import Window
from umic.core.scheduling import booking_window
from umic.core.scheduling import candidate_starts
from umic.core.scheduling import choose_technician
from umic.core.scheduling import claim_units
from umic.core.scheduling import find_slot
from umic.core.scheduling import free_slots
from umic.core.scheduling import is_aligned
from umic.core.scheduling import local_instant
from umic.core.scheduling import public_holidays
from umic.core.scheduling import slots_by_day

MADRID = ZoneInfo("Europe/Madrid")
HALF_HOUR = timedelta(minutes=30)
ALL_WEEK = range(7)
MONDAY = date(2026, 2, 2)  # an ordinary winter Monday (CET, UTC+1)
TUESDAY = date(2026, 2, 3)

SPRING_FORWARD = [date(2026, 3, 29), date(2027, 3, 28)]
FALL_BACK = [date(2026, 10, 25), date(2027, 10, 31)]
DST_DAYS = SPRING_FORWARD + FALL_BACK

MORNING_AND_AFTERNOON = [
    "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30", "13:00", "13:30",
    "15:30", "16:00", "16:30", "17:00", "17:30", "18:00", "18:30",
]  # fmt: skip


# --- helpers ----------------------------------------------------------------------------------


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def madrid(day: date, hour: int, minute: int = 0) -> datetime:
    """An unambiguous Madrid wall-clock time, as the aware UTC instant the engine uses."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=MADRID).astimezone(UTC)


def office_hours(technician: int, weekdays=range(5)) -> list[WeeklyHours]:
    """The service's usual hours: 9:00-14:00 and 15:30-19:00."""
    return [
        period
        for weekday in weekdays
        for period in (
            WeeklyHours(technician, weekday, time(9), time(14)),
            WeeklyHours(technician, weekday, time(15, 30), time(19)),
        )
    ]


def days(first: date, last: date) -> Window:
    """A window that lets every start of the local days ``first``..``last`` through."""
    return Window(earliest=utc(2000, 1, 1), latest=utc(2100, 1, 1), first_day=first, last_day=last)


def wall(moment: datetime) -> str:
    return moment.astimezone(MADRID).strftime("%H:%M")


def walls(slots) -> list[str]:
    return [wall(slot.start) for slot in slots]


def offered_days(slots) -> set[date]:
    return {slot.start.astimezone(MADRID).date() for slot in slots}


def slots_on(day: date, hours, **availability) -> list[Slot]:
    return free_slots(
        Availability(tz=MADRID, hours=hours, **availability), days(day, day), HALF_HOUR
    )


@pytest.fixture(scope="module")
def catalan_holidays_2026() -> dict[date, str]:
    # The first call imports the holidays package (a few hundred ms); share it.
    return public_holidays([2026], "ES", "CT")


# --- weekly hours -> candidate starts ---------------------------------------------------------


def test_afternoon_period_gives_a_start_every_half_hour_up_to_the_last_that_fits():
    hours = [WeeklyHours(1, MONDAY.weekday(), time(15, 30), time(19))]

    starts = candidate_starts(MONDAY, hours, MADRID, HALF_HOUR, HALF_HOUR)

    assert [wall(start) for start in sorted(starts)] == [
        "15:30", "16:00", "16:30", "17:00", "17:30", "18:00", "18:30",
    ]  # fmt: skip
    assert all(technicians == {1} for technicians in starts.values())


def test_candidate_starts_are_utc_instants():
    hours = [WeeklyHours(1, MONDAY.weekday(), time(15, 30), time(16))]

    starts = candidate_starts(MONDAY, hours, MADRID, HALF_HOUR, HALF_HOUR)

    assert list(starts) == [utc(2026, 2, 2, 14, 30)]
    assert next(iter(starts)).utcoffset() == timedelta(0)


@pytest.mark.parametrize("end", [time(15, 55), time(15, 30)], ids=["25-minutes", "empty"])
def test_period_shorter_than_the_appointment_gives_no_start(end):
    hours = [WeeklyHours(1, MONDAY.weekday(), time(15, 30), end)]

    assert candidate_starts(MONDAY, hours, MADRID, HALF_HOUR, HALF_HOUR) == {}


def test_hours_of_another_weekday_give_no_start():
    hours = [WeeklyHours(1, TUESDAY.weekday(), time(9), time(14))]

    assert candidate_starts(MONDAY, hours, MADRID, HALF_HOUR, HALF_HOUR) == {}


def test_two_technicians_on_the_same_start_merge_their_ids():
    hours = [
        WeeklyHours(1, MONDAY.weekday(), time(9), time(11)),
        WeeklyHours(2, MONDAY.weekday(), time(10), time(12)),
    ]

    starts = candidate_starts(MONDAY, hours, MADRID, HALF_HOUR, HALF_HOUR)

    by_wall = {wall(start): technicians for start, technicians in starts.items()}
    assert by_wall == {
        "09:00": {1},
        "09:30": {1},
        "10:00": {1, 2},
        "10:30": {1, 2},
        "11:00": {2},
        "11:30": {2},
    }


def test_free_slots_are_in_time_order_with_sorted_technician_ids():
    # Listed afternoon first and technician 2 first, to catch an unsorted result.
    hours = [
        WeeklyHours(2, MONDAY.weekday(), time(15, 30), time(16, 30)),
        WeeklyHours(1, MONDAY.weekday(), time(15, 30), time(16, 30)),
        WeeklyHours(1, MONDAY.weekday(), time(9), time(10)),
    ]

    slots = slots_on(MONDAY, hours)

    assert walls(slots) == ["09:00", "09:30", "15:30", "16:00"]
    assert [slot.technicians for slot in slots] == [(1,), (1,), (1, 2), (1, 2)]
    assert all(slot.end - slot.start == HALF_HOUR for slot in slots)


def test_office_hours_on_a_winter_day_are_one_hour_ahead_of_utc():
    slots = slots_on(MONDAY, office_hours(1))

    assert walls(slots) == MORNING_AND_AFTERNOON
    assert slots[0].start == utc(2026, 2, 2, 8, 0)
    assert slots[-1].end == utc(2026, 2, 2, 18, 0)


def test_step_shorter_than_duration_gives_overlapping_starts():
    hours = [WeeklyHours(1, MONDAY.weekday(), time(9), time(10))]
    availability = Availability(tz=MADRID, hours=hours)

    slots = free_slots(availability, days(MONDAY, MONDAY), HALF_HOUR, step=timedelta(minutes=15))

    assert walls(slots) == ["09:00", "09:15", "09:30"]


# --- closures, absences, public holidays ------------------------------------------------------


def test_service_closed_day_offers_nothing_that_day_only():
    availability = Availability(tz=MADRID, hours=office_hours(1), closed_days=frozenset({TUESDAY}))

    slots = free_slots(availability, days(MONDAY, date(2026, 2, 4)), HALF_HOUR)

    assert offered_days(slots) == {MONDAY, date(2026, 2, 4)}


def test_absent_technician_is_removed_but_the_day_stays_open_for_the_others():
    availability = Availability(
        tz=MADRID,
        hours=office_hours(1) + office_hours(2),
        absences={1: frozenset({TUESDAY})},
    )

    slots = slots_by_day(free_slots(availability, days(MONDAY, TUESDAY), HALF_HOUR), MADRID)

    assert {slot.technicians for slot in slots[MONDAY]} == {(1, 2)}
    assert {slot.technicians for slot in slots[TUESDAY]} == {(2,)}
    assert walls(slots[TUESDAY]) == MORNING_AND_AFTERNOON


def test_day_with_every_technician_absent_offers_nothing():
    availability = Availability(
        tz=MADRID,
        hours=office_hours(1) + office_hours(2),
        absences={1: frozenset({TUESDAY}), 2: frozenset({TUESDAY})},
    )

    slots = free_slots(availability, days(MONDAY, TUESDAY), HALF_HOUR)

    assert offered_days(slots) == {MONDAY}


@pytest.mark.parametrize(
    ("day", "word"),
    [
        (date(2026, 9, 11), "Diada"),
        (date(2026, 12, 26), "Sant Esteve"),
        (date(2026, 4, 6), "Pasqua"),
        (date(2026, 4, 3), "Divendres Sant"),
        (date(2026, 1, 6), "Reis"),
    ],
)
def test_catalan_public_holidays_2026_are_listed_in_catalan(catalan_holidays_2026, day, word):
    assert word in catalan_holidays_2026[day]


@pytest.mark.parametrize("day", [date(2026, 9, 10), date(2026, 4, 7), date(2026, 3, 19)])
def test_ordinary_working_days_are_not_catalan_holidays(catalan_holidays_2026, day):
    # 19 March (Sant Josep) is a holiday elsewhere in Spain, not in Catalonia.
    assert day not in catalan_holidays_2026


@pytest.mark.parametrize(
    "holiday",
    [date(2026, 9, 11), date(2026, 12, 26), date(2026, 4, 6)],
    ids=["diada-friday", "sant-esteve-saturday", "dilluns-de-pasqua"],
)
def test_public_holidays_used_as_closed_days_close_only_the_holiday(catalan_holidays_2026, holiday):
    availability = Availability(
        tz=MADRID,
        hours=office_hours(1, weekdays=ALL_WEEK),
        closed_days=frozenset(catalan_holidays_2026),
    )
    before, after = holiday - timedelta(days=1), holiday + timedelta(days=1)

    slots = free_slots(availability, days(before, after), HALF_HOUR)

    # Christmas (25 December) is a holiday too, so only the neighbours that are not stay open.
    assert offered_days(slots) == {before, after} - set(catalan_holidays_2026)
    assert after in offered_days(slots)


def test_easter_2026_closes_good_friday_and_easter_monday(catalan_holidays_2026):
    availability = Availability(
        tz=MADRID,
        hours=office_hours(1),
        closed_days=frozenset(catalan_holidays_2026),
    )

    slots = free_slots(availability, days(date(2026, 3, 30), date(2026, 4, 10)), HALF_HOUR)

    assert sorted(offered_days(slots)) == [
        date(2026, 3, 30), date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 2),
        date(2026, 4, 7), date(2026, 4, 8), date(2026, 4, 9), date(2026, 4, 10),
    ]  # fmt: skip


# --- existing bookings ------------------------------------------------------------------------


def afternoon(*technicians: int) -> list[WeeklyHours]:
    return [WeeklyHours(t, MONDAY.weekday(), time(15, 30), time(17, 30)) for t in technicians]


def by_wall(slots) -> dict[str, tuple[int, ...]]:
    return {wall(slot.start): slot.technicians for slot in slots}


def test_booking_removes_only_its_technician_from_that_time():
    busy = [Busy(1, madrid(MONDAY, 16), madrid(MONDAY, 16, 30))]

    slots = slots_on(MONDAY, afternoon(1, 2), busy=busy)

    assert by_wall(slots) == {
        "15:30": (1, 2),
        "16:00": (2,),
        "16:30": (1, 2),
        "17:00": (1, 2),
    }


def test_time_stays_offered_while_one_technician_is_free_and_goes_when_none_is():
    one_busy = [Busy(2, madrid(MONDAY, 16), madrid(MONDAY, 16, 30))]
    both_busy = one_busy + [Busy(1, madrid(MONDAY, 16), madrid(MONDAY, 16, 30))]

    assert "16:00" in walls(slots_on(MONDAY, afternoon(1, 2), busy=one_busy))
    assert walls(slots_on(MONDAY, afternoon(1, 2), busy=both_busy)) == ["15:30", "16:30", "17:00"]


def test_partial_overlap_blocks_both_slots_it_touches():
    busy = [Busy(1, madrid(MONDAY, 16, 15), madrid(MONDAY, 16, 45))]

    slots = slots_on(MONDAY, afternoon(1), busy=busy)

    assert walls(slots) == ["15:30", "17:00"]


def test_booking_that_ends_as_a_slot_starts_does_not_block_it():
    busy = [Busy(1, madrid(MONDAY, 16), madrid(MONDAY, 16, 30))]

    slots = slots_on(MONDAY, afternoon(1), busy=busy)

    assert walls(slots) == ["15:30", "16:30", "17:00"]


def test_booking_of_another_day_does_not_block_the_same_wall_time():
    busy = [Busy(1, madrid(TUESDAY, 16), madrid(TUESDAY, 16, 30))]

    assert walls(slots_on(MONDAY, afternoon(1), busy=busy)) == ["15:30", "16:00", "16:30", "17:00"]


def test_block_starting_the_evening_before_still_blocks_the_next_morning():
    hours = [WeeklyHours(1, TUESDAY.weekday(), time(9), time(10, 30))]
    busy = [Busy(1, madrid(MONDAY, 22), madrid(TUESDAY, 9, 15))]

    assert walls(slots_on(TUESDAY, hours, busy=busy)) == ["09:30", "10:00"]


# --- minimum notice and horizon ---------------------------------------------------------------

NOW = utc(2026, 2, 2, 8, 0)  # Monday 09:00 in Madrid
NOTICE = timedelta(hours=24)
HORIZON = timedelta(days=3)


def bookable(now: datetime, notice: timedelta = NOTICE, horizon: timedelta = HORIZON):
    window = booking_window(now, notice, horizon, MADRID)
    return free_slots(Availability(tz=MADRID, hours=office_hours(1)), window, HALF_HOUR)


def test_booking_window_spans_notice_to_horizon_in_local_days():
    window = booking_window(NOW, NOTICE, HORIZON, MADRID)

    assert window.earliest == utc(2026, 2, 3, 8, 0)
    assert window.latest == utc(2026, 2, 5, 8, 0)
    assert (window.first_day, window.last_day) == (TUESDAY, date(2026, 2, 5))


def test_booking_window_days_are_madrid_days_not_utc_days():
    # 23:30Z on Monday is already 00:30 on Tuesday in Madrid.
    window = booking_window(utc(2026, 2, 2, 23, 30), timedelta(0), timedelta(hours=1), MADRID)

    assert window.first_day == TUESDAY


def test_start_exactly_at_now_plus_notice_is_offered():
    assert bookable(NOW)[0].start == utc(2026, 2, 3, 8, 0)  # Tuesday 09:00 Madrid


def test_start_one_minute_short_of_the_notice_is_not_offered():
    slots = bookable(NOW + timedelta(minutes=1))

    assert slots[0].start == utc(2026, 2, 3, 8, 30)
    assert utc(2026, 2, 3, 8, 0) not in [slot.start for slot in slots]


def test_start_exactly_at_the_horizon_is_the_last_offered():
    last = bookable(NOW)[-1]

    assert last.start == utc(2026, 2, 5, 8, 0)  # Thursday 5 February, 09:00 Madrid


def test_start_one_minute_beyond_the_horizon_is_not_offered():
    last = bookable(NOW, horizon=HORIZON - timedelta(minutes=1))[-1]

    assert last.start == madrid(date(2026, 2, 4), 18, 30)


def test_booking_window_refuses_a_naive_now():
    with pytest.raises(ValueError):
        booking_window(datetime(2026, 2, 2, 9, 0), NOTICE, HORIZON, MADRID)


# --- daylight-saving change days: no slot in the missing or repeated hour ---------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 28), utc(2026, 3, 28, 9, 0)),
        (date(2026, 3, 29), utc(2026, 3, 29, 8, 0)),
        (date(2026, 3, 30), utc(2026, 3, 30, 8, 0)),
        (date(2026, 10, 24), utc(2026, 10, 24, 8, 0)),
        (date(2026, 10, 25), utc(2026, 10, 25, 9, 0)),
        (date(2026, 10, 26), utc(2026, 10, 26, 9, 0)),
        (date(2027, 3, 27), utc(2027, 3, 27, 9, 0)),
        (date(2027, 3, 28), utc(2027, 3, 28, 8, 0)),
        (date(2027, 10, 30), utc(2027, 10, 30, 8, 0)),
        (date(2027, 10, 31), utc(2027, 10, 31, 9, 0)),
    ],
    ids=str,
)
def test_office_hours_around_dst_changes_give_the_right_utc_instants(day, expected):
    slots = slots_on(day, office_hours(1, weekdays=ALL_WEEK))

    assert walls(slots) == MORNING_AND_AFTERNOON
    ten = next(slot for slot in slots if wall(slot.start) == "10:00")
    assert ten.start == expected
    assert ten.end == expected + HALF_HOUR


@pytest.mark.parametrize("day", DST_DAYS, ids=str)
@pytest.mark.parametrize(
    ("duration", "opens", "closes", "expected"),
    [
        (HALF_HOUR, time(1), time(4), ["01:00", "03:00", "03:30"]),
        (timedelta(hours=1), time(0), time(5), ["00:00", "00:30", "03:00", "03:30", "04:00"]),
    ],
    ids=["30min-01-04", "60min-00-05"],
)
def test_night_hours_on_dst_days_skip_the_missing_or_repeated_hour(
    day, duration, opens, closes, expected
):
    hours = [WeeklyHours(7, day.weekday(), opens, closes)]
    availability = Availability(tz=MADRID, hours=hours)

    slots = free_slots(availability, days(day, day), duration, step=HALF_HOUR)

    assert walls(slots) == expected
    for slot in slots:
        local_start = slot.start.astimezone(MADRID)
        local_end = slot.end.astimezone(MADRID)
        assert local_start.hour != 2 and local_end.hour != 2
        # No slot straddles the change: same offset at both ends.
        assert local_start.utcoffset() == local_end.utcoffset()


@pytest.mark.parametrize("day", DST_DAYS, ids=str)
def test_whole_dst_day_drops_exactly_the_slots_touching_the_changed_hour(day):
    hours = [WeeklyHours(1, day.weekday(), time(0), time(23, 30))]

    slots = slots_on(day, hours)

    every_half_hour = [f"{m // 60:02d}:{m % 60:02d}" for m in range(0, 23 * 60 + 1, 30)]
    assert len(every_half_hour) == 47
    # 01:30 ends at 02:00 (missing or repeated); 02:00 and 02:30 start in that hour.
    assert sorted(set(every_half_hour) - set(walls(slots))) == ["01:30", "02:00", "02:30"]
    assert len(slots) == 44


@pytest.mark.parametrize("day", [date(2026, 3, 28), date(2026, 10, 24)], ids=str)
def test_whole_ordinary_day_offers_every_half_hour(day):
    hours = [WeeklyHours(1, day.weekday(), time(0), time(23, 30))]

    assert len(slots_on(day, hours)) == 47


@pytest.mark.parametrize("day", DST_DAYS, ids=str)
@pytest.mark.parametrize("minutes", [15, 30, 45, 60, 90])
def test_every_offered_slot_round_trips_local_utc_local(day, minutes):
    duration = timedelta(minutes=minutes)
    hours = [WeeklyHours(1, day.weekday(), time(0), time(23, 55))]
    availability = Availability(tz=MADRID, hours=hours)

    slots = free_slots(availability, days(day, day), duration, step=timedelta(minutes=15))

    assert slots
    for slot in slots:
        assert slot.end - slot.start == duration
        local = slot.start.astimezone(MADRID)
        assert local.fold == 0 and local.date() == day
        again = datetime.combine(local.date(), local.time(), tzinfo=MADRID)
        assert again.astimezone(UTC) == slot.start
        assert again.astimezone(UTC).astimezone(MADRID).replace(tzinfo=None) == local.replace(
            tzinfo=None
        )
        assert local_instant(local.date(), local.time(), MADRID) == slot.start
        local_end = slot.end.astimezone(MADRID).replace(tzinfo=None)
        assert local_end - local.replace(tzinfo=None) == duration


@pytest.mark.parametrize(
    ("day", "wall_time"),
    [
        (date(2026, 3, 29), time(2, 0)),
        (date(2026, 3, 29), time(2, 30)),
        (date(2026, 3, 29), time(2, 59)),
        (date(2027, 3, 28), time(2, 15)),
        (date(2026, 10, 25), time(2, 0)),
        (date(2026, 10, 25), time(2, 30)),
        (date(2026, 10, 25), time(2, 59)),
        (date(2027, 10, 31), time(2, 45)),
    ],
    ids=lambda value: str(value),
)
def test_local_instant_refuses_missing_and_ambiguous_times(day, wall_time):
    assert local_instant(day, wall_time, MADRID) is None


@pytest.mark.parametrize(
    ("day", "wall_time", "expected"),
    [
        (date(2026, 3, 29), time(1, 59), utc(2026, 3, 29, 0, 59)),
        (date(2026, 3, 29), time(3, 0), utc(2026, 3, 29, 1, 0)),
        (date(2026, 10, 25), time(1, 59), utc(2026, 10, 24, 23, 59)),
        (date(2026, 10, 25), time(3, 0), utc(2026, 10, 25, 2, 0)),
        (date(2026, 7, 1), time(10, 0), utc(2026, 7, 1, 8, 0)),
        (date(2026, 1, 15), time(10, 0), utc(2026, 1, 15, 9, 0)),
    ],
    ids=lambda value: str(value),
)
def test_local_instant_converts_ordinary_times_to_utc(day, wall_time, expected):
    instant = local_instant(day, wall_time, MADRID)

    assert instant == expected
    assert instant.utcoffset() == timedelta(0)


# --- choose_technician ------------------------------------------------------------------------

SLOT_TUESDAY_10 = Slot(
    start=madrid(TUESDAY, 10), end=madrid(TUESDAY, 10, 30), technicians=(1, 2, 3)
)


def appointment(technician: int, day: date, hour: int) -> Busy:
    return Busy(technician, madrid(day, hour), madrid(day, hour, 30))


def test_choose_technician_prefers_the_fewest_appointments_that_day_over_overall():
    slot = Slot(SLOT_TUESDAY_10.start, SLOT_TUESDAY_10.end, (1, 2))
    busy = [appointment(1, MONDAY, h) for h in (9, 10, 11, 12)]  # 4 overall, none on Tuesday
    busy += [appointment(2, TUESDAY, 9)]  # 1 overall, 1 on Tuesday

    assert choose_technician(slot, busy, MADRID) == 1


def test_choose_technician_breaks_a_tie_that_day_by_the_fewest_overall():
    slot = Slot(SLOT_TUESDAY_10.start, SLOT_TUESDAY_10.end, (1, 2, 3))
    busy = [appointment(1, MONDAY, 9), appointment(1, MONDAY, 10)]
    busy += [appointment(2, MONDAY, 11)]
    busy += [appointment(3, MONDAY, h) for h in (12, 15, 16)]

    assert choose_technician(slot, busy, MADRID) == 2


def test_choose_technician_breaks_a_full_tie_by_the_lowest_id():
    slot = Slot(SLOT_TUESDAY_10.start, SLOT_TUESDAY_10.end, (7, 3, 5))

    assert choose_technician(slot, [], MADRID) == 3


def test_choose_technician_counts_the_day_in_madrid_time():
    slot = Slot(SLOT_TUESDAY_10.start, SLOT_TUESDAY_10.end, (1, 2))
    busy = [
        Busy(1, utc(2026, 2, 2, 23, 30), utc(2026, 2, 3, 0, 0)),  # 00:30 Tuesday in Madrid
        Busy(2, utc(2026, 2, 2, 22, 30), utc(2026, 2, 2, 23, 0)),  # 23:30 Monday in Madrid
    ]

    assert choose_technician(slot, busy, MADRID) == 2


def test_choose_technician_spreads_a_day_of_bookings_across_technicians():
    busy: list[Busy] = []
    chosen = []
    for hour in (9, 10, 11, 12, 13, 15):
        slot = Slot(madrid(TUESDAY, hour), madrid(TUESDAY, hour, 30), (1, 2, 3))
        technician = choose_technician(slot, busy, MADRID)
        chosen.append(technician)
        busy.append(Busy(technician, slot.start, slot.end))

    assert chosen == [1, 2, 3, 1, 2, 3]


def test_choose_technician_refuses_a_slot_without_technicians():
    slot = Slot(SLOT_TUESDAY_10.start, SLOT_TUESDAY_10.end, ())

    with pytest.raises(ValueError):
        choose_technician(slot, [], MADRID)


# --- claim_units ------------------------------------------------------------------------------


def at(hour: int, minute: int) -> datetime:
    return utc(2026, 2, 3, hour, minute)


def test_claim_units_are_five_minute_utc_steps_covering_the_booking():
    units = claim_units(at(16, 0), at(16, 30))

    assert units == [at(16, m) for m in range(0, 30, 5)]
    assert all(unit.utcoffset() == timedelta(0) for unit in units)


def test_claim_units_are_aligned_on_the_epoch_not_on_the_start():
    assert claim_units(at(16, 3), at(16, 7)) == [at(16, 0), at(16, 5)]
    assert claim_units(at(16, 1), at(16, 2)) == [at(16, 0)]


def test_claim_units_of_a_madrid_time_are_the_same_utc_units():
    start = datetime(2026, 2, 3, 17, 0, tzinfo=MADRID)  # 16:00Z

    units = claim_units(start, start + HALF_HOUR)

    assert units == claim_units(at(16, 0), at(16, 30))
    assert units[0].utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ((at(16, 0), at(16, 30)), (at(16, 29), at(17, 0))),
        ((at(16, 0), at(16, 31)), (at(16, 30), at(17, 0))),
        ((at(16, 0), at(16, 30)), (at(15, 30), at(16, 1))),
        ((at(16, 0), at(16, 30)), (at(16, 10), at(16, 15))),
    ],
    ids=["ends-inside", "overruns-by-a-minute", "starts-a-minute-early", "contained"],
)
def test_bookings_overlapping_by_even_one_minute_share_a_unit(first, second):
    assert set(claim_units(*first)) & set(claim_units(*second))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ((at(16, 0), at(16, 30)), (at(16, 30), at(17, 0))),
        ((at(16, 30), at(17, 0)), (at(16, 0), at(16, 30))),
    ],
    ids=["before", "after"],
)
def test_adjacent_bookings_share_no_unit(first, second):
    assert not set(claim_units(*first)) & set(claim_units(*second))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2026, 2, 3, 16, 0), at(16, 30)),
        (at(16, 0), datetime(2026, 2, 3, 16, 30)),
    ],
    ids=["naive-start", "naive-end"],
)
def test_claim_units_refuses_naive_datetimes(start, end):
    with pytest.raises(ValueError, match="naive"):
        claim_units(start, end)


@pytest.mark.parametrize("end", [at(16, 0), at(15, 55)], ids=["empty", "backwards"])
def test_claim_units_refuses_an_end_not_after_the_start(end):
    with pytest.raises(ValueError):
        claim_units(at(16, 0), end)


# --- slots_by_day, find_slot, is_aligned ------------------------------------------------------


def slot_at(start: datetime, technicians=(1,)) -> Slot:
    return Slot(start, start + HALF_HOUR, technicians)


def test_slots_by_day_groups_by_madrid_day_not_utc_day():
    late_monday = slot_at(utc(2026, 2, 2, 22, 30))  # 23:30 Monday in Madrid
    early_tuesday = slot_at(utc(2026, 2, 2, 23, 30))  # 00:30 Tuesday in Madrid, Monday in UTC
    tuesday_morning = slot_at(utc(2026, 2, 3, 8, 0))

    grouped = slots_by_day([late_monday, early_tuesday, tuesday_morning], MADRID)

    assert list(grouped) == [MONDAY, TUESDAY]
    assert grouped[MONDAY] == [late_monday]
    assert grouped[TUESDAY] == [early_tuesday, tuesday_morning]


def test_slots_by_day_in_summer_uses_the_two_hour_offset():
    summer_late = slot_at(utc(2026, 7, 1, 22, 0))  # 00:00 on 2 July in Madrid

    assert list(slots_by_day([summer_late], MADRID)) == [date(2026, 7, 2)]


def test_find_slot_returns_the_slot_starting_at_that_instant():
    slots = slots_on(MONDAY, afternoon(1, 2))
    wanted = datetime(2026, 2, 2, 16, 30, tzinfo=MADRID)  # same instant, Madrid zone

    found = find_slot(slots, wanted)

    assert found is not None
    assert found.start == utc(2026, 2, 2, 15, 30)
    assert found.technicians == (1, 2)


@pytest.mark.parametrize(
    "start",
    [utc(2026, 2, 2, 15, 31), utc(2026, 2, 2, 16, 30), utc(2026, 2, 3, 15, 30)],
    ids=["a-minute-off", "after-closing", "next-day"],
)
def test_find_slot_returns_none_for_a_start_not_offered(start):
    assert find_slot(slots_on(MONDAY, afternoon(1)), start) is None


def test_find_slot_refuses_a_naive_start():
    with pytest.raises(ValueError):
        find_slot([], datetime(2026, 2, 2, 16, 30))


@pytest.mark.parametrize(
    ("value", "aligned"),
    [
        (time(9, 0), True),
        (time(15, 35), True),
        (time(0, 0), True),
        (time(9, 7), False),
        (time(9, 0, 30), False),
        (timedelta(minutes=30), True),
        (timedelta(hours=2, minutes=5), True),
        (timedelta(minutes=32), False),
        (timedelta(minutes=30, seconds=1), False),
        (timedelta(minutes=30, microseconds=1), False),
    ],
    ids=str,
)
def test_is_aligned_accepts_only_whole_five_minute_units(value, aligned):
    assert is_aligned(value) is aligned


def test_is_aligned_with_a_custom_unit():
    assert is_aligned(time(9, 15), unit=timedelta(minutes=15))
    assert not is_aligned(time(9, 10), unit=timedelta(minutes=15))


def test_is_aligned_rejects_a_time_with_microseconds():
    assert is_aligned(time(9, 0, 0, 1)) is False
