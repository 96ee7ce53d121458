"""Unit tests of the opening-hours rules in umic.core.scheduling: pure, no app, no database.

``day_period_problems`` checks what a coordinator types for one weekday; ``outside_hours``
finds the booked appointments that a change of hours or a closure leaves stranded. DST
days, when 02:00-02:59 local time does not exist or happens twice: 2026-03-29 (CET -> CEST)
and 2026-10-25 (CEST -> CET), both Sundays.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from umic.core.scheduling import Appointment
from umic.core.scheduling import Availability
from umic.core.scheduling import Misfit
from umic.core.scheduling import PeriodProblem
from umic.core.scheduling import WeeklyHours
from umic.core.scheduling import Window
from umic.core.scheduling import day_period_problems
from umic.core.scheduling import free_slots
from umic.core.scheduling import outside_hours

MADRID = ZoneInfo("Europe/Madrid")
HALF_HOUR = timedelta(minutes=30)
MONDAY = date(2026, 2, 2)  # winter, CET (UTC+1)
SUMMER_MONDAY = date(2026, 7, 6)  # CEST (UTC+2)
SPRING_FORWARD = date(2026, 3, 29)
FALL_BACK = date(2026, 10, 25)


def t(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def madrid(day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    """A Madrid wall-clock time as the aware UTC instant bookings are stored as."""
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=MADRID, fold=fold)
    return local.astimezone(UTC)


def office(technician: int, day: date) -> list[WeeklyHours]:
    """09:00-14:00 and 15:30-19:00 on the weekday of ``day``."""
    return [
        WeeklyHours(technician, day.weekday(), time(9), time(14)),
        WeeklyHours(technician, day.weekday(), time(15, 30), time(19)),
    ]


def booking(start: datetime, technician: int = 1, booking_id: int = 1) -> Appointment:
    return Appointment(booking_id, technician, start, start + HALF_HOUR)


def reasons(appointments, availability) -> dict[int, Misfit]:
    return {
        found.appointment.booking_id: found.reason
        for found in outside_hours(appointments, availability)
    }


# --- What a coordinator types for one day ------------------------------------------------------


def test_a_usual_day_with_morning_and_afternoon_is_fine():
    assert day_period_problems([(t("09:00"), t("14:00")), (t("15:30"), t("19:00"))]) == {}


def test_empty_periods_mean_closed_and_are_fine():
    assert day_period_problems([(None, None), (None, None)]) == {}
    assert day_period_problems([(None, None), (t("15:30"), t("19:00"))]) == {}


def test_periods_that_touch_do_not_overlap():
    assert day_period_problems([(t("09:00"), t("14:00")), (t("14:00"), t("19:00"))]) == {}


def test_an_afternoon_typed_first_is_fine_if_they_do_not_overlap():
    assert day_period_problems([(t("15:30"), t("19:00")), (t("09:00"), t("14:00"))]) == {}


@pytest.mark.parametrize(
    ("periods", "expected"),
    [
        ([(t("09:00"), None)], {(0, "end"): PeriodProblem.MISSING_END}),
        ([(None, t("14:00"))], {(0, "start"): PeriodProblem.MISSING_START}),
        ([(t("09:00"), t("09:00"))], {(0, "end"): PeriodProblem.ORDER}),
        ([(t("14:00"), t("09:00"))], {(0, "end"): PeriodProblem.ORDER}),
        ([(t("09:03"), t("14:00"))], {(0, "start"): PeriodProblem.NOT_ALIGNED}),
        ([(t("09:00"), t("13:59"))], {(0, "end"): PeriodProblem.NOT_ALIGNED}),
        ([(time(9, 0, 30), t("14:00"))], {(0, "start"): PeriodProblem.NOT_ALIGNED}),
        (
            [(t("09:00"), t("14:00")), (t("13:30"), t("19:00"))],
            {(1, "start"): PeriodProblem.OVERLAP},
        ),
        (
            [(t("09:00"), t("19:00")), (t("10:00"), t("11:00"))],
            {(1, "start"): PeriodProblem.OVERLAP},
        ),
        (
            [(t("09:01"), t("08:00")), (None, t("19:00"))],
            {(0, "start"): PeriodProblem.NOT_ALIGNED, (1, "start"): PeriodProblem.MISSING_START},
        ),
    ],
    ids=[
        "start-only",
        "end-only",
        "empty-period",
        "end-before-start",
        "start-not-5-minutes",
        "end-not-5-minutes",
        "seconds",
        "afternoon-starts-in-morning",
        "afternoon-inside-morning",
        "one-problem-per-box",
    ],
)
def test_each_wrong_period_is_reported_on_the_box_to_fix(periods, expected):
    assert day_period_problems(periods) == expected


def test_an_invalid_period_is_not_also_reported_as_overlapping():
    problems = day_period_problems([(t("14:00"), t("09:00")), (t("10:00"), t("11:00"))])
    assert problems == {(0, "end"): PeriodProblem.ORDER}


# --- Appointments left outside the hours -----------------------------------------------------


def test_an_appointment_inside_a_period_fits():
    availability = Availability(tz=MADRID, hours=office(1, MONDAY))
    inside = [
        booking(madrid(MONDAY, 9), booking_id=1),  # the first slot
        booking(madrid(MONDAY, 13, 30), booking_id=2),  # the last one of the morning
        booking(madrid(MONDAY, 18, 30), booking_id=3),  # the last one of the afternoon
        booking(madrid(MONDAY, 10, 10), booking_id=4),  # off the half-hour grid, still inside
    ]
    assert outside_hours(inside, availability) == []


def test_appointments_sticking_out_of_a_period_do_not_fit():
    availability = Availability(tz=MADRID, hours=office(1, MONDAY))
    appointments = [
        booking(madrid(MONDAY, 8, 30), booking_id=1),  # before opening
        booking(madrid(MONDAY, 13, 45), booking_id=2),  # runs into the lunch break
        booking(madrid(MONDAY, 14, 30), booking_id=3),  # in the lunch break
        booking(madrid(MONDAY, 18, 45), booking_id=4),  # ends after closing
        booking(madrid(MONDAY, 9), booking_id=5),  # fits
    ]
    assert reasons(appointments, availability) == {
        1: Misfit.OUTSIDE_HOURS,
        2: Misfit.OUTSIDE_HOURS,
        3: Misfit.OUTSIDE_HOURS,
        4: Misfit.OUTSIDE_HOURS,
    }


def test_only_the_appointments_own_technician_and_weekday_count():
    tuesday = MONDAY + timedelta(days=1)
    availability = Availability(
        tz=MADRID, hours=office(2, MONDAY) + office(1, tuesday)
    )  # technician 1 works on Tuesdays only; technician 2 on Mondays
    appointments = [booking(madrid(MONDAY, 10), technician=1), booking(madrid(tuesday, 10))]
    found = outside_hours(appointments, availability)
    assert [item.appointment for item in found] == [appointments[0]]


def test_an_appointment_from_a_town_its_technician_no_longer_serves_does_not_fit():
    """Technician 1 now serves only town 7: a booking from town 8 needs a new technician;
    one from town 7, or of a technician serving every town, still fits."""
    availability = Availability(tz=MADRID, hours=office(1, MONDAY) + office(2, MONDAY))
    start = madrid(MONDAY, 10)
    appointments = [
        Appointment(1, 1, start, start + HALF_HOUR, municipality_id=8),
        Appointment(2, 1, start + HALF_HOUR, start + 2 * HALF_HOUR, municipality_id=7),
        Appointment(3, 2, start, start + HALF_HOUR, municipality_id=8),
    ]
    found = outside_hours(appointments, availability, {1: frozenset({7})})
    assert [(item.appointment.booking_id, item.reason) for item in found] == [
        (1, Misfit.OTHER_TOWNS)
    ]
    assert outside_hours(appointments, availability) == []  # without limits, all fit


def test_a_technician_without_hours_has_every_appointment_outside():
    availability = Availability(tz=MADRID, hours=office(2, MONDAY))
    assert reasons([booking(madrid(MONDAY, 10), technician=1)], availability) == {
        1: Misfit.OUTSIDE_HOURS
    }


def test_a_closed_day_and_an_absence_are_reported_with_their_reason():
    tuesday = MONDAY + timedelta(days=1)
    hours = office(1, MONDAY) + office(1, tuesday) + office(2, tuesday)
    availability = Availability(
        tz=MADRID,
        hours=hours,
        closed_days=frozenset({MONDAY}),
        absences={1: frozenset({tuesday})},
    )
    appointments = [
        booking(madrid(MONDAY, 10), booking_id=1),  # the service is closed
        booking(madrid(MONDAY, 8), booking_id=2),  # closed, and outside the hours: closed wins
        booking(madrid(tuesday, 10), booking_id=3),  # technician 1 is away
        booking(madrid(tuesday, 10), technician=2, booking_id=4),  # technician 2 is not
    ]
    assert reasons(appointments, availability) == {
        1: Misfit.CLOSED,
        2: Misfit.CLOSED,
        3: Misfit.ABSENT,
    }


def test_results_keep_the_order_given():
    availability = Availability(tz=MADRID, hours=())
    appointments = [booking(madrid(MONDAY, hour), booking_id=hour) for hour in (15, 9, 12)]
    assert [item.appointment.booking_id for item in outside_hours(appointments, availability)] == [
        15,
        9,
        12,
    ]


def test_summer_hours_are_read_in_summer_time():
    """09:00 in July is 07:00 UTC, not 08:00: a fixed winter offset would get it wrong."""
    availability = Availability(tz=MADRID, hours=office(1, SUMMER_MONDAY))
    at_nine = booking(datetime(2026, 7, 6, 7, 0, tzinfo=UTC), booking_id=1)
    at_eight = booking(datetime(2026, 7, 6, 6, 0, tzinfo=UTC), booking_id=2)
    assert reasons([at_nine, at_eight], availability) == {2: Misfit.OUTSIDE_HOURS}


@pytest.mark.parametrize(
    ("day", "opening_utc", "closing_utc"),
    [
        # Midnight is still CET (+1) on the spring day, but 09:00 is already CEST (+2).
        (SPRING_FORWARD, datetime(2026, 3, 29, 7, 0, tzinfo=UTC), datetime(2026, 3, 29, 12, 0)),
        # Midnight is still CEST (+2) on the autumn day, but 09:00 is CET (+1).
        (FALL_BACK, datetime(2026, 10, 25, 8, 0, tzinfo=UTC), datetime(2026, 10, 25, 13, 0)),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_on_dst_days_the_hours_follow_the_clock_of_that_hour(day, opening_utc, closing_utc):
    availability = Availability(tz=MADRID, hours=office(1, day))
    closing_utc = closing_utc.replace(tzinfo=UTC)
    appointments = [
        booking(opening_utc, booking_id=1),  # 09:00 local: fits
        booking(opening_utc - HALF_HOUR, booking_id=2),  # 08:30 local: outside
        booking(closing_utc - HALF_HOUR, booking_id=3),  # 13:30 local: fits
        booking(closing_utc, booking_id=4),  # 14:00 local: outside
    ]
    assert reasons(appointments, availability) == {
        2: Misfit.OUTSIDE_HOURS,
        4: Misfit.OUTSIDE_HOURS,
    }


@pytest.mark.parametrize("day", [SPRING_FORWARD, FALL_BACK, MONDAY, SUMMER_MONDAY])
def test_every_slot_the_engine_offers_fits_the_hours_it_came_from(day):
    """The two rules agree: nothing offered to a citizen is ever reported as outside."""
    hours = [
        WeeklyHours(1, day.weekday(), time(0), time(4)),  # across the DST hour
        *office(1, day),
    ]
    availability = Availability(tz=MADRID, hours=hours)
    window = Window(
        earliest=datetime(2000, 1, 1, tzinfo=UTC),
        latest=datetime(2100, 1, 1, tzinfo=UTC),
        first_day=day,
        last_day=day,
    )
    slots = free_slots(availability, window, HALF_HOUR, step=timedelta(minutes=5))
    assert len(slots) > 100
    appointments = [Appointment(index, 1, slot.start, slot.end) for index, slot in enumerate(slots)]
    assert outside_hours(appointments, availability) == []


def test_a_boundary_inside_the_repeated_hour_is_read_generously():
    """Closing at 02:30 on the autumn day: the later 02:30 (CET) counts, so a call in the
    second 02:00-02:30 still fits; one after it does not."""
    availability = Availability(
        tz=MADRID, hours=[WeeklyHours(1, FALL_BACK.weekday(), time(0), time(2, 30))]
    )
    second_two = madrid(FALL_BACK, 2, 0, fold=1)  # 01:00 UTC
    assert second_two == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    appointments = [
        booking(second_two, booking_id=1),
        booking(second_two + HALF_HOUR, booking_id=2),
    ]
    assert reasons(appointments, availability) == {2: Misfit.OUTSIDE_HOURS}


def test_a_boundary_inside_the_skipped_hour_is_read_generously():
    """Opening at 02:30 on the spring day, which never shows on a clock: the period opens
    with the jump to 03:00 CEST; 01:30 CET, before the jump, is still outside."""
    availability = Availability(
        tz=MADRID, hours=[WeeklyHours(1, SPRING_FORWARD.weekday(), time(2, 30), time(5))]
    )
    three = madrid(SPRING_FORWARD, 3)
    assert three == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 01:00 UTC, right after the jump
    assert reasons([booking(three)], availability) == {}
    one_thirty = madrid(SPRING_FORWARD, 1, 30)  # still CET, before the jump
    assert reasons([booking(one_thirty)], availability) == {1: Misfit.OUTSIDE_HOURS}


def test_a_closing_inside_the_skipped_hour_is_the_jump():
    availability = Availability(
        tz=MADRID, hours=[WeeklyHours(1, SPRING_FORWARD.weekday(), time(0), time(2, 30))]
    )
    last = booking(madrid(SPRING_FORWARD, 1, 30), booking_id=1)  # ends at the jump (01:00 UTC)
    after = booking(madrid(SPRING_FORWARD, 3), booking_id=2)  # 03:00 CEST
    assert reasons([last, after], availability) == {2: Misfit.OUTSIDE_HOURS}


def test_naive_times_are_refused():
    availability = Availability(tz=MADRID, hours=office(1, MONDAY))
    with pytest.raises(ValueError, match="naive"):
        outside_hours([booking(datetime(2026, 2, 2, 10))], availability)
