"""The closure planner (core/closure_plan.py): which action for which booking, given the
free slots with the closure in force. Plain values, no app."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from umic.core import closure_plan
from umic.core import scheduling
from umic.core.closure_plan import Action
from umic.core.closure_plan import Affected

MADRID = ZoneInfo("Europe/Madrid")
DAY = date(2027, 3, 10)  # a Wednesday
HALF_HOUR = timedelta(minutes=30)
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=MADRID).astimezone(UTC)


def slots_for(
    technicians: list[int],
    *,
    days: int = 3,
    closed: frozenset[date] = frozenset(),
    absences: dict[int, frozenset[date]] | None = None,
    busy: list[scheduling.Busy] | None = None,
    hours=(time(9), time(11)),
) -> list[scheduling.Slot]:
    availability = scheduling.Availability(
        tz=MADRID,
        hours=[
            scheduling.WeeklyHours(tech, weekday, *hours)
            for tech in technicians
            for weekday in range(7)
        ],
        closed_days=closed,
        absences=absences or {},
        busy=busy or [],
    )
    window = scheduling.Window(NOW, NOW + timedelta(days=60), DAY, DAY + timedelta(days=days))
    return scheduling.free_slots(availability, window, HALF_HOUR)


def booking(booking_id: int, tech: int, start: datetime) -> Affected:
    return Affected(booking_id, tech, start, start + HALF_HOUR)


def test_an_absent_technicians_booking_goes_to_another_technician_at_the_same_time():
    absent = {1: frozenset({DAY})}
    slots = slots_for([1, 2, 3], absences=absent)
    (proposal,) = closure_plan.plan([booking(10, 1, at(DAY, 9))], slots, [], MADRID, not_before=NOW)
    assert proposal.action == Action.MOVE and proposal.same_time
    assert proposal.start == at(DAY, 9) and proposal.technician_id in (2, 3)


def test_the_same_time_is_given_to_the_technician_with_the_least_work_that_day():
    absent = {1: frozenset({DAY})}
    busy = [scheduling.Busy(2, at(DAY, 10), at(DAY, 10, 30))]
    slots = slots_for([1, 2, 3], absences=absent, busy=busy)
    (proposal,) = closure_plan.plan(
        [booking(10, 1, at(DAY, 9))], slots, busy, MADRID, not_before=NOW
    )
    assert proposal.technician_id == 3


def test_two_bookings_are_never_proposed_the_same_technician_at_the_same_time():
    absent = {1: frozenset({DAY}), 2: frozenset({DAY})}
    slots = slots_for([1, 2, 3], absences=absent)
    first, second = closure_plan.plan(
        [booking(11, 2, at(DAY, 9)), booking(10, 1, at(DAY, 9))], slots, [], MADRID, not_before=NOW
    )
    assert (first.booking_id, second.booking_id) == (10, 11)  # time order, then id
    assert first.same_time and first.technician_id == 3
    # Technician 3 is taken at 9:00 now: the next free time (9:30, technician 3).
    assert second.action == Action.MOVE and not second.same_time
    assert (second.start, second.technician_id) == (at(DAY, 9, 30), 3)


def test_a_closed_day_moves_to_the_next_free_time_keeping_the_technician_when_free():
    slots = slots_for([1, 2], closed=frozenset({DAY}))
    (proposal,) = closure_plan.plan(
        [booking(10, 2, at(DAY, 10))], slots, [], MADRID, not_before=NOW
    )
    assert proposal.action == Action.MOVE and not proposal.same_time
    next_day = DAY + timedelta(days=1)
    assert (proposal.start, proposal.technician_id) == (at(next_day, 9), 2)


def test_the_next_free_time_respects_the_notice_and_comes_after_the_booking():
    slots = slots_for([1, 2], absences={1: frozenset({DAY})}, busy=[
        scheduling.Busy(2, at(DAY, hour, minute), at(DAY, hour, minute) + HALF_HOUR)
        for hour in (9, 10) for minute in (0, 30)
    ])  # fmt: skip
    not_before = at(DAY + timedelta(days=1), 10)
    (proposal,) = closure_plan.plan(
        [booking(10, 1, at(DAY, 9, 30))], slots, [], MADRID, not_before=not_before
    )
    assert proposal.start == not_before


def test_nothing_free_means_cancel():
    slots = slots_for([1], closed=frozenset(DAY + timedelta(days=n) for n in range(4)))
    assert slots == []
    (proposal,) = closure_plan.plan([booking(10, 1, at(DAY, 9))], slots, [], MADRID, not_before=NOW)
    assert proposal.action == Action.CANCEL and proposal.start is None
    assert closure_plan.choices(proposal) == (Action.CANCEL, Action.LEAVE)


def test_an_excluded_time_gives_the_next_proposal():
    slots = slots_for([1, 2, 3], absences={1: frozenset({DAY})})
    (first,) = closure_plan.plan([booking(10, 1, at(DAY, 9))], slots, [], MADRID, not_before=NOW)
    (second,) = closure_plan.plan(
        [booking(10, 1, at(DAY, 9))],
        slots,
        [],
        MADRID,
        not_before=NOW,
        exclude={(first.start, first.technician_id)},
    )
    assert second.same_time and second.technician_id != first.technician_id
    assert closure_plan.choices(second) == (Action.MOVE, Action.CANCEL, Action.LEAVE)


def test_ten_bookings_on_a_closed_day_fill_the_next_free_times_without_overlap():
    slots = slots_for([1, 2], closed=frozenset({DAY}))
    affected = [booking(n, 1 + n % 2, at(DAY, 9) + HALF_HOUR * (n // 2)) for n in range(10)]
    proposals = closure_plan.plan(affected, slots, [], MADRID, not_before=NOW)
    assert [p.action for p in proposals] == [Action.MOVE] * 10
    taken = [(p.start, p.technician_id) for p in proposals]
    assert len(set(taken)) == 10
    assert all(p.start > at(DAY, 23) for p in proposals)


def test_a_same_time_move_is_not_taken_by_an_earlier_booking_looking_for_the_next_time():
    # 10:00 has nobody free (2 busy); 10:30 has 2 free. The 10:00 booking must not take
    # 10:30 with technician 2: the 10:30 booking keeps its time with them.
    busy = [scheduling.Busy(2, at(DAY, 10), at(DAY, 10, 30))]
    slots = slots_for([1, 2], absences={1: frozenset({DAY})}, busy=busy)
    early, late = closure_plan.plan(
        [booking(10, 1, at(DAY, 10)), booking(11, 1, at(DAY, 10, 30))],
        slots,
        busy,
        MADRID,
        not_before=NOW,
    )
    assert late.same_time and late.technician_id == 2
    assert early.action == Action.MOVE and early.start == at(DAY + timedelta(days=1), 9)


def test_a_technician_who_does_not_serve_the_town_is_never_proposed():
    """A colleague limited to other towns is free at the same time but cannot take the call:
    the booking goes to the next time its own technician is back, never to that colleague."""
    absent = {1: frozenset({DAY})}
    slots = slots_for([1, 2], days=1, absences=absent)
    affected = Affected(10, 1, at(DAY, 9), at(DAY, 9) + HALF_HOUR, not_serving=frozenset({2}))
    (proposal,) = closure_plan.plan([affected], slots, [], MADRID, not_before=NOW)
    assert proposal.action == Action.MOVE
    assert proposal.technician_id == 1 and proposal.start > at(DAY, 9)
    (served,) = closure_plan.plan([booking(10, 1, at(DAY, 9))], slots, [], MADRID, not_before=NOW)
    assert served.action == Action.MOVE and served.technician_id == 2
