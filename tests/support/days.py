"""Days and moments for tests, read from the app's clock (``umic.clock``), never the system's.

The whole suite can run with the clock set elsewhere (``UMIC_TEST_NOW``, see ``conftest.py``),
so a test never assumes that today, tomorrow or "in three days" is an ordinary day: when it
needs days on which the service is open, it asks ``working_days``.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from umic import clock
from umic.core.scheduling import public_holidays

MADRID = ZoneInfo("Europe/Madrid")


def today() -> date:
    """Today in Barcelona, by the app's clock."""
    return clock.today(MADRID)


def madrid(day: date, hour: int, minute: int = 0) -> datetime:
    """The UTC instant of a local wall-clock time in Barcelona."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=MADRID).astimezone(UTC)


def is_working_day(day: date) -> bool:
    """Not a public holiday in Catalonia (the test technicians work every day of the week)."""
    return day not in public_holidays([day.year], "ES", "CT")


def working_days(n: int = 1, after: int = 3) -> date:
    """The first day ``after`` days ahead or later that starts ``n`` working days in a row.

    A fixture that books that day and the next one asks for ``working_days(2)``: both days
    are then open, whatever today is (the Friday before a Monday holiday, 7 December, ...).
    """
    day = today() + timedelta(days=after)
    while not all(is_working_day(day + timedelta(days=i)) for i in range(n)):
        day += timedelta(days=1)
    return day
