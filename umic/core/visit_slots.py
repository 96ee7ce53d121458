"""In-person times at a visit of the mobile unit (UMIC): pure rules, no Flask, no database.

A visit is one technician in one town from ``start`` to ``end`` (UTC instants, stored as
such). The times a citizen may ask for are the window stepped by the visit's appointment
length (``slot_minutes``), each appointment ending by the end of the window, less:

- the times whose five-minute claim units (``scheduling.claim_units``) are already taken
  for the visit's technician (another in-person appointment, or anything else that claims
  their time): the same units the database's unique constraint guards, so what is offered
  is exactly what a booking can claim;
- the times outside the booking window of the video service (minimum notice, horizon:
  ``scheduling.booking_window``), so both channels keep one set of rules.

Coordinators type a visit's window in local time (Europe/Madrid). ``local_window`` turns a
day and two wall-clock times into UTC instants; a wall time that does not exist (the skipped
hour of the last Sunday of March) or happens twice (the repeated hour of the last Sunday of
October) is refused rather than guessed. Appointments are stepped in real minutes from the
UTC start, so on a day the clocks change a 20-minute appointment still lasts 20 minutes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from .scheduling import CLAIM_UNIT
from .scheduling import claim_units
from .scheduling import local_instant


class WallTimeProblem(ValueError):
    """A visit's local start or end is not one instant, or the end is not after the start."""


def local_window(day: date, start: time, end: time, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants of a visit typed as ``day`` ``start``-``end`` in local time.

    Raises WallTimeProblem when either time falls in a clock change's missing or repeated
    hour, or when the end is not after the start.
    """
    first = local_instant(day, start, tz)
    last = local_instant(day, end, tz)
    if first is None or last is None:
        raise WallTimeProblem("a local time that is not one instant (clock change)")
    if last <= first:
        raise WallTimeProblem("the end must be after the start")
    return first, last


def visit_starts(start: datetime, end: datetime, slot: timedelta) -> list[datetime]:
    """Every appointment start of a visit: from ``start``, one ``slot`` apart, each ending
    by ``end``."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware value")
    if slot <= timedelta(0) or slot % CLAIM_UNIT:
        raise ValueError("the appointment length must be a whole number of claim units")
    starts = []
    current = start
    while current + slot <= end:
        starts.append(current)
        current += slot
    return starts


def free_visit_times(
    start: datetime,
    end: datetime,
    slot: timedelta,
    taken_units: Iterable[datetime],
    *,
    earliest: datetime | None = None,
    latest: datetime | None = None,
) -> list[datetime]:
    """The starts a citizen may book at a visit, in order.

    ``taken_units``: the visit technician's claimed unit starts (UTC) that may overlap the
    window. ``earliest``/``latest``: the booking window (minimum notice, horizon); a start
    must lie within it.
    """
    taken = set(taken_units)
    free = []
    for begin in visit_starts(start, end, slot):
        if earliest is not None and begin < earliest:
            continue
        if latest is not None and begin > latest:
            continue
        if taken.intersection(claim_units(begin, begin + slot)):
            continue
        free.append(begin)
    return free
