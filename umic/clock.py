"""The one clock the app reads: ``now()`` instead of ``datetime.now(UTC)`` or ``time.time()``.

Every view, job, command and model default asks this module for the time. The rules that
depend on time (free slots, notice, cut-offs, reminders, surveys, periods) take ``now`` as a
parameter and stay pure; their callers get it here. So a test can put the whole app, its live
server threads included, at an awkward moment (the Friday afternoon before a Monday holiday,
the Saturday before the clocks change, New Year's Eve at 23:30) and check that nothing in the
app, or in the tests, assumed an ordinary day.

Production never sets it: ``now()`` is the system clock unless a test called ``move_to``
or ``freeze``. Two ways to set it, both process-wide:

- ``move_to(moment)``: the clock jumps to ``moment`` and keeps running from there, so elapsed time
  is real (fill-time checks, idle sign-outs and timeouts behave as they would);
- ``freeze(moment)``: it stops at ``moment``; ``advance(delta)`` moves it on.

``reset()`` goes back to the system clock. Only the standard library is used here.
"""

from __future__ import annotations

import threading
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

_lock = threading.Lock()
#: Added to the system clock while the clock runs from a set moment.
_offset = timedelta(0)
#: The moment the clock is stopped at, if a test froze it.
_frozen: datetime | None = None


def now() -> datetime:
    """The current moment, timezone-aware, in UTC."""
    frozen = _frozen
    if frozen is not None:
        return frozen
    return datetime.now(UTC) + _offset


def today(tz: ZoneInfo) -> date:
    """Today's date where the service is (``tz``): what people call "today"."""
    return now().astimezone(tz).date()


def timestamp() -> float:
    """``now()`` in seconds since the epoch, for stamps that measure elapsed time."""
    return now().timestamp()


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the clock needs a timezone-aware moment")
    return moment.astimezone(UTC)


def move_to(moment: datetime) -> None:
    """Make ``now()`` return ``moment`` from this instant on, and keep running."""
    global _offset, _frozen
    with _lock:
        _frozen = None
        _offset = _aware(moment) - datetime.now(UTC)


def freeze(moment: datetime | None = None) -> datetime:
    """Stop the clock at ``moment`` (default: where it is now); returns that moment."""
    global _frozen
    with _lock:
        _frozen = _aware(moment) if moment is not None else now()
        return _frozen


def advance(delta: timedelta) -> datetime:
    """Move the clock on by ``delta`` (frozen or running); returns the new ``now()``."""
    global _offset, _frozen
    with _lock:
        if _frozen is not None:
            _frozen = _frozen + delta
        else:
            _offset = _offset + delta
    return now()


def reset() -> None:
    """Back to the system clock."""
    global _offset, _frozen
    with _lock:
        _offset = timedelta(0)
        _frozen = None
