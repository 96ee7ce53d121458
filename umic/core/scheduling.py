"""Free appointment times: weekly hours, minus closures and holidays, minus bookings.

Pure domain code: standard library only, no Flask, no database. Callers turn rows into
these dataclasses, so the rules are unit-tested in milliseconds.

Conventions: every ``datetime`` here is timezone-aware. Opening hours are local wall-clock
times in the service's zone (Europe/Madrid); a slot whose local start does not exist (the
spring-forward hour) or exists twice (the fall-back hour) is never offered, so a time shown
to a citizen always means one instant.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

#: Bookings claim time in units of this size; opening hours and durations are multiples.
CLAIM_UNIT = timedelta(minutes=5)


@dataclass(frozen=True)
class WeeklyHours:
    """One technician's opening period on one weekday (0 = Monday), local time."""

    technician_id: int
    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class Busy:
    """A period when a technician already has an appointment."""

    technician_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Slot:
    """A bookable start time and the technicians free for all of it."""

    start: datetime
    end: datetime
    technicians: tuple[int, ...]


@dataclass(frozen=True)
class Availability:
    """Everything the slot rules need, for a range of days."""

    tz: ZoneInfo
    hours: Sequence[WeeklyHours]
    closed_days: frozenset[date] = frozenset()  # service closed (holidays, closures)
    absences: Mapping[int, frozenset[date]] = field(default_factory=dict)  # per technician
    busy: Sequence[Busy] = ()


@dataclass(frozen=True)
class Window:
    """The earliest and latest start a citizen may book, and the local days they span."""

    earliest: datetime
    latest: datetime
    first_day: date
    last_day: date


def booking_window(
    now: datetime, min_notice: timedelta, horizon: timedelta, tz: ZoneInfo
) -> Window:
    """Starts allowed from ``now + min_notice`` up to ``now + horizon``."""
    _require_aware(now)
    earliest = now + min_notice
    latest = now + horizon
    return Window(
        earliest=earliest,
        latest=latest,
        first_day=earliest.astimezone(tz).date(),
        last_day=latest.astimezone(tz).date(),
    )


def local_instant(day: date, wall: time, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a local wall-clock time, or None when it is ambiguous or missing.

    On the last Sunday of March 02:00-02:59 does not exist in Europe/Madrid; on the last
    Sunday of October it happens twice. zoneinfo would silently pick one; we refuse both.
    """
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        return None  # ambiguous: falls in the repeated hour
    instant = first.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != naive:
        return None  # does not exist: falls in the skipped hour
    return instant


def _constant_offset(day: date, tz: ZoneInfo) -> timedelta | None:
    """The zone's UTC offset all day long, or None on a day the clocks change.

    Europe/Madrid changes at most once a day, so the same offset at the day's first and last
    second (and no repeated midnight) means no change in between. On such a day a wall time
    is one instant, found by subtraction: this is the fast path of ``candidate_starts``,
    which otherwise asks ``local_instant`` (two conversions) for every candidate.
    """
    first = datetime.combine(day, time(0), tzinfo=tz)
    last = datetime.combine(day, time(23, 59, 59), tzinfo=tz)
    offset = first.utcoffset()
    if offset is None or offset != last.utcoffset() or offset != first.replace(fold=1).utcoffset():
        return None
    return offset


def candidate_starts(
    day: date, hours: Iterable[WeeklyHours], tz: ZoneInfo, duration: timedelta, step: timedelta
) -> dict[datetime, set[int]]:
    """Every start on ``day`` that fits inside some technician's opening period.

    Returns start (UTC) -> technicians whose hours contain the whole appointment. A slot
    must also *end* at the local time its duration implies, so none straddles a DST change.
    """
    starts: dict[datetime, set[int]] = {}
    weekday = day.weekday()
    offset = _constant_offset(day, tz)
    for period in hours:
        if period.weekday != weekday:
            continue
        wall = datetime.combine(day, period.start)
        close = datetime.combine(day, period.end)
        if offset is not None:  # no clock change today: wall time minus the offset
            while wall + duration <= close:
                start = (wall - offset).replace(tzinfo=UTC)
                starts.setdefault(start, set()).add(period.technician_id)
                wall += step
            continue
        while wall + duration <= close:
            start = local_instant(day, wall.time(), tz)
            end_wall = wall + duration
            end = local_instant(day, end_wall.time(), tz) if end_wall.date() == day else None
            if start is not None and end is not None and end - start == duration:
                starts.setdefault(start, set()).add(period.technician_id)
            wall += step
    return starts


def _overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def free_slots(
    availability: Availability,
    window: Window,
    duration: timedelta,
    step: timedelta | None = None,
) -> list[Slot]:
    """Bookable slots in the window, in time order, each with its free technicians.

    A time is offered while at least one technician is free for all of it.
    """
    step = step or duration
    tz = availability.tz
    # Index bookings by (technician, local day) so each candidate checks only its own day.
    busy_by_day: dict[tuple[int, date], list[Busy]] = {}
    for item in availability.busy:
        first = item.start.astimezone(tz).date()
        last = item.end.astimezone(tz).date()
        while first <= last:
            busy_by_day.setdefault((item.technician_id, first), []).append(item)
            first += timedelta(days=1)

    slots: list[Slot] = []
    day = window.first_day
    while day <= window.last_day:
        if day not in availability.closed_days:
            for start, techs in sorted(
                candidate_starts(day, availability.hours, tz, duration, step).items()
            ):
                if not (window.earliest <= start <= window.latest):
                    continue
                end = start + duration
                free = tuple(
                    sorted(
                        tech
                        for tech in techs
                        if day not in availability.absences.get(tech, frozenset())
                        and not any(
                            _overlaps(start, end, b.start, b.end)
                            for b in busy_by_day.get((tech, day), ())
                        )
                    )
                )
                if free:
                    slots.append(Slot(start=start, end=end, technicians=free))
        day += timedelta(days=1)
    return slots


def slots_by_day(slots: Iterable[Slot], tz: ZoneInfo) -> dict[date, list[Slot]]:
    """Group slots by their local day, keeping order."""
    days: dict[date, list[Slot]] = {}
    for slot in slots:
        days.setdefault(slot.start.astimezone(tz).date(), []).append(slot)
    return days


def find_slot(slots: Iterable[Slot], start: datetime) -> Slot | None:
    """The slot starting exactly at ``start``, if it is still free."""
    _require_aware(start)
    for slot in slots:
        if slot.start == start:
            return slot
    return None


def choose_technician(slot: Slot, busy: Iterable[Busy], tz: ZoneInfo) -> int:
    """Pick the free technician with the least work, to spread the load.

    Fewest appointments that local day first, then fewest in the whole period given, then
    the lowest id so the choice is deterministic.
    """
    if not slot.technicians:
        raise ValueError("slot has no free technician")
    day = slot.start.astimezone(tz).date()
    that_day: Counter[int] = Counter()
    overall: Counter[int] = Counter()
    for item in busy:
        overall[item.technician_id] += 1
        if item.start.astimezone(tz).date() == day:
            that_day[item.technician_id] += 1
    return min(slot.technicians, key=lambda tech: (that_day[tech], overall[tech], tech))


def claim_units(start: datetime, end: datetime, unit: timedelta = CLAIM_UNIT) -> list[datetime]:
    """The unit starts (UTC) that a booking from ``start`` to ``end`` occupies.

    Units are aligned on the Unix epoch, so two bookings that overlap by even one minute
    share at least one unit, and the database's unique constraint refuses the second.
    """
    _require_aware(start)
    _require_aware(end)
    if end <= start:
        raise ValueError("end must be after start")
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    first = epoch + ((start.astimezone(UTC) - epoch) // unit) * unit
    units = []
    current = first
    while current < end:
        units.append(current)
        current += unit
    return units


def is_aligned(value: time | timedelta, unit: timedelta = CLAIM_UNIT) -> bool:
    """True when a time of day or a duration is a whole number of claim units."""
    if isinstance(value, time):
        value = timedelta(
            hours=value.hour,
            minutes=value.minute,
            seconds=value.second,
            microseconds=value.microsecond,
        )
    return value % unit == timedelta(0)


def public_holidays(years: Iterable[int], country: str, subdivision: str | None) -> dict[date, str]:
    """Public holidays of a region from the ``holidays`` package, e.g. ("ES", "CT")."""
    import holidays  # imported here: only this function needs it

    years = list(years)
    try:
        found = holidays.country_holidays(country, subdiv=subdivision, years=years, language="ca")
    except NotImplementedError:  # a country without Catalan names: keep its own language
        found = holidays.country_holidays(country, subdiv=subdivision, years=years)
    return dict(found.items())


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware value")


# --- Opening hours as coordinators edit them --------------------------------------------------


class PeriodProblem(enum.StrEnum):
    """What is wrong with one opening period typed in by a coordinator."""

    MISSING_START = "missing_start"  # an end without a start
    MISSING_END = "missing_end"  # a start without an end
    NOT_ALIGNED = "not_aligned"  # not a whole number of claim units (5 minutes)
    ORDER = "order"  # the end is not after the start
    OVERLAP = "overlap"  # overlaps an earlier period of the same day


def day_period_problems(
    periods: Sequence[tuple[time | None, time | None]], unit: timedelta = CLAIM_UNIT
) -> dict[tuple[int, str], PeriodProblem]:
    """Check one weekday's periods (start, end); None means the box was left empty.

    Returns ``{(period index, "start" | "end"): problem}``, empty when the day is fine. A
    period with both boxes empty is no period. Times must be multiples of ``unit``, each
    start before its end, and no period may overlap an earlier one (touching is fine:
    09:00-14:00 and 14:00-19:00). An overlap is reported on the later period's start.
    """
    problems: dict[tuple[int, str], PeriodProblem] = {}
    complete: list[tuple[int, time, time]] = []
    for index, (start, end) in enumerate(periods):
        if start is None and end is None:
            continue
        if start is None:
            problems[(index, "start")] = PeriodProblem.MISSING_START
        elif not is_aligned(start, unit):
            problems[(index, "start")] = PeriodProblem.NOT_ALIGNED
        if end is None:
            problems[(index, "end")] = PeriodProblem.MISSING_END
        elif not is_aligned(end, unit):
            problems[(index, "end")] = PeriodProblem.NOT_ALIGNED
        if (index, "start") in problems or (index, "end") in problems:
            continue
        assert start is not None and end is not None
        if end <= start:
            problems[(index, "end")] = PeriodProblem.ORDER
            continue
        if any(start < other_end and other_start < end for _, other_start, other_end in complete):
            problems[(index, "start")] = PeriodProblem.OVERLAP
            continue
        complete.append((index, start, end))
    return problems


# --- Booked appointments that no longer fit the hours -----------------------------------------


@dataclass(frozen=True)
class Appointment:
    """A booked appointment, as the hours check needs it."""

    booking_id: int
    technician_id: int
    start: datetime
    end: datetime
    municipality_id: int | None = None  # the town it was booked from (None: not checked)


class Misfit(enum.StrEnum):
    """Why an appointment no longer fits, most general reason first."""

    CLOSED = "closed"  # the whole service is closed that day (holiday or closure)
    ABSENT = "absent"  # its technician is away that day
    OUTSIDE_HOURS = "outside_hours"  # no opening period of its technician contains it
    OTHER_TOWNS = "other_towns"  # its technician now serves only other towns


@dataclass(frozen=True)
class OutOfHours:
    """An appointment to reschedule, and why."""

    appointment: Appointment
    reason: Misfit


def outside_hours(
    appointments: Iterable[Appointment],
    availability: Availability,
    town_limits: Mapping[int, frozenset[int]] | None = None,
) -> list[OutOfHours]:
    """The appointments that no longer fit their technician's hours, in the order given.

    ``town_limits``: technician -> the only towns they serve (a technician absent from it
    serves every town); an appointment from another town fits no longer (OTHER_TOWNS), since
    the slots engine would not offer that technician for it today.

    An appointment fits when its local day (Europe/Madrid) is not closed, its technician
    is not absent that day, and one of the technician's periods for that weekday contains
    all of it. Periods are local wall-clock times turned into instants on that very day
    (``local_instant``), so on DST days 09:00 means 07:00 UTC in summer and 08:00 in
    winter. Bookings on the grid or off it are judged alike: only containment counts.
    ``availability.busy`` is not used.
    """
    tz = availability.tz
    periods: dict[tuple[int, int], list[WeeklyHours]] = {}
    for period in availability.hours:
        periods.setdefault((period.technician_id, period.weekday), []).append(period)

    found: list[OutOfHours] = []
    for item in appointments:
        _require_aware(item.start)
        _require_aware(item.end)
        day = item.start.astimezone(tz).date()
        if day in availability.closed_days:
            reason: Misfit | None = Misfit.CLOSED
        elif day in availability.absences.get(item.technician_id, frozenset()):
            reason = Misfit.ABSENT
        elif not any(
            _wall_instant(day, period.start, tz, earliest=True) <= item.start
            and item.end <= _wall_instant(day, period.end, tz, earliest=False)
            for period in periods.get((item.technician_id, day.weekday()), ())
        ):
            reason = Misfit.OUTSIDE_HOURS
        elif (
            town_limits
            and item.municipality_id is not None
            and item.technician_id in town_limits
            and item.municipality_id not in town_limits[item.technician_id]
        ):
            reason = Misfit.OTHER_TOWNS
        else:
            reason = None
        if reason is not None:
            found.append(OutOfHours(appointment=item, reason=reason))
    return found


def _wall_instant(day: date, wall: time, tz: ZoneInfo, *, earliest: bool) -> datetime:
    """A period boundary on ``day`` as an instant, also when the wall time is not one instant.

    A time in the repeated hour of the autumn change happens twice: an opening takes the
    first, a closing the second, so the clock change alone never makes an appointment
    fall outside. A time in the skipped hour of the spring change never shows on a clock:
    the boundary is the jump itself (the first instant reading later than it).
    """
    instant = local_instant(day, wall, tz)
    if instant is not None:
        return instant
    naive = datetime.combine(day, wall)
    readings = sorted(naive.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1))
    if readings[0].astimezone(tz).replace(tzinfo=None) == naive:  # repeated hour
        return readings[0] if earliest else readings[1]
    # Skipped hour: the jump lies between the two readings; find it to the minute.
    moment = readings[0]
    while moment < readings[1] and moment.astimezone(tz).replace(tzinfo=None) < naive:
        moment += timedelta(minutes=1)
    return moment
