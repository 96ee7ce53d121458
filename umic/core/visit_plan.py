"""The rules of planning a visit of the mobile unit (UMIC), pure (no database, no Flask).

A coordinator types a day and two wall-clock times in the service's zone (Europe/Madrid);
the visit is stored as two UTC instants (``window``). A time that does not exist (the
skipped hour of the last Sunday of March) or happens twice (the repeated hour of the last
Sunday of October) is refused rather than guessed, like every other time the app reads
(``scheduling.local_instant``).

A visit may not overlap another visit of the same technician, nor a confirmed booking of
theirs (video or in-person at another visit): ``overlapping``. Editing a visit that already
has appointments may not leave any of them outside its new window: ``outside_window``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from zoneinfo import ZoneInfo

from .scheduling import local_instant

#: Appointment lengths at a visit are multiples of this many minutes.
SLOT_STEP_MINUTES = 5
#: The longest appointment a visit offers.
SLOT_MAX_MINUTES = 240


class WindowProblem(enum.StrEnum):
    """Why a visit's day and times are not a window."""

    START_MISSING = "start_missing"  # the start time does not exist or is ambiguous (DST)
    END_MISSING = "end_missing"
    END_NOT_AFTER_START = "end_not_after_start"


def window(
    day: date, start: time, end: time, tz: ZoneInfo
) -> tuple[datetime, datetime] | WindowProblem:
    """The visit's (start, end) in UTC, or what is wrong with the times typed."""
    start_utc = local_instant(day, start, tz)
    if start_utc is None:
        return WindowProblem.START_MISSING
    end_utc = local_instant(day, end, tz)
    if end_utc is None:
        return WindowProblem.END_MISSING
    if end_utc <= start_utc:
        return WindowProblem.END_NOT_AFTER_START
    return start_utc, end_utc


def slot_problem(minutes: int | None) -> bool:
    """True when ``minutes`` is not an appointment length a visit may offer."""
    return (
        minutes is None
        or minutes <= 0
        or minutes > SLOT_MAX_MINUTES
        or minutes % SLOT_STEP_MINUTES != 0
    )


@dataclass(frozen=True)
class Span:
    """Anything with a time: a visit or a booking (``what`` is for the caller)."""

    start: datetime
    end: datetime
    what: object = None


def overlapping(start: datetime, end: datetime, others: Iterable[Span]) -> list[Span]:
    """The spans that share some time with [start, end) (touching ends do not)."""
    return [span for span in others if span.start < end and start < span.end]


def outside_window(start: datetime, end: datetime, appointments: Iterable[Span]) -> list[Span]:
    """The appointments that would not fit entirely inside [start, end)."""
    return [span for span in appointments if span.start < start or span.end > end]


def requested_at(now: datetime, start: datetime, end: datetime) -> datetime:
    """When a person seen at a visit asked: now while the visit lasts; recorded afterwards,
    the end of the visit (the request belongs to the visit's day and month, whatever day the
    technician types it in)."""
    return min(max(now, start), end)
