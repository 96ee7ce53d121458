"""Periods of days for the reports: what "the last twelve months" means, and the period form.

Pure. Every report (statistics, survey results, expansion plan) and every export reads its
period here, so the same words mean the same days on every page:

- **the last twelve months** (:func:`last_twelve_months`): from the first day of the month
  eleven months ago to today: the current month so far and the eleven whole months before
  it, twelve monthly rows. What a report shows when no period is asked for.
- **the year that ends today** (:func:`year_ending`): the 365 (or 366) days up to today,
  from the day after the same date a year ago. The expansion plan measures "requests a year"
  with it; monthly counts entered by hand count when their first day is inside, so exactly
  twelve of them do.
- **this year** and **last year**: 1 January to today, and the whole of last year.

The period form (:func:`choose_period`) has two dates, ``desde`` and ``fins``, either of which
may be empty: both empty, the last twelve months; only ``desde``, from then to today; only
``fins``, the twelve months up to that day. Its problems are codes (:class:`Problem`), one
per field, which each page words; nothing here raises on what a user typed.

Days are local days; :meth:`Period.bounds` turns them into UTC instants at local midnight.
"""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from .dates import parse_day

#: The years a report's dates must fall in (others are typing mistakes).
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: The longest period a report accepts: ten years (one SQL CASE branch per month).
MAX_MONTHS = 120


@dataclass(frozen=True)
class Period:
    """From ``first`` to ``last``, both local days included."""

    first: date
    last: date

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The UTC instants of local midnight at the start and just after the end."""
        start = datetime.combine(self.first, time(0), tzinfo=tz).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=tz)
        return start, end.astimezone(UTC)

    def months(self) -> list[date]:
        """The first day of every month the period touches."""
        month = self.first.replace(day=1)
        months = []
        while month <= self.last:
            months.append(month)
            month = add_months(month, 1)
        return months

    def args(self) -> dict[str, str]:
        """The period as the report forms and links carry it."""
        return {"desde": self.first.isoformat(), "fins": self.last.isoformat()}


def add_months(month: date, months: int) -> date:
    """The first day of the month ``months`` after (or before) ``month``'s."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_before(day: date, months: int) -> date:
    """The same day ``months`` months earlier (the month's last day when it is shorter)."""
    month = add_months(day, -months)
    return month.replace(day=min(day.day, calendar.monthrange(month.year, month.month)[1]))


def last_twelve_months(today: date) -> Period:
    """The current month so far and the eleven whole months before it."""
    return Period(add_months(today, -11), today)


def year_ending(today: date) -> Period:
    """The year that ends today: from the day after the same date a year ago, to today.

    On 29 February that is 1 March of the year before (the year has 366 days then).
    """
    return Period(months_before(today, 12) + timedelta(days=1), today)


def current_year(today: date) -> Period:
    """From 1 January to today."""
    return Period(date(today.year, 1, 1), today)


def previous_year(today: date) -> Period:
    """The whole of last year."""
    return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))


class Problem(enum.StrEnum):
    """What can be wrong with the period form, per field."""

    INVALID = "invalid"  # not a real date
    OUT_OF_RANGE = "out_of_range"  # a year outside FIRST_YEAR..LAST_YEAR
    BEFORE = "before"  # (fins) the end is before the start
    TOO_LONG = "too_long"  # (desde) more than MAX_MONTHS before the end


#: The period form's two fields, in the order of the page.
FIELDS = ("desde", "fins")


@dataclass(frozen=True)
class PeriodChoice:
    """What the period form asked for: the period, or the problems per field."""

    period: Period | None
    problems: dict[str, Problem] = field(default_factory=dict)


def choose_period(desde: str | None, fins: str | None, today: date) -> PeriodChoice:
    """The period from the form's two dates (see the module's docstring for empty ones)."""
    texts = {"desde": (desde or "").strip(), "fins": (fins or "").strip()}
    days: dict[str, date | None] = {}
    problems: dict[str, Problem] = {}
    for name, text in texts.items():
        days[name] = parse_day(text, years=None)
        if text and days[name] is None:
            problems[name] = Problem.INVALID
        elif days[name] is not None and not FIRST_YEAR <= days[name].year <= LAST_YEAR:
            problems[name] = Problem.OUT_OF_RANGE
    if problems:
        return PeriodChoice(None, problems)
    first, last = days["desde"], days["fins"]
    if first is None and last is None:
        return PeriodChoice(last_twelve_months(today))
    if last is None:
        last = max(today, first)
    if first is None:
        first = last_twelve_months(last).first
    if last < first:
        return PeriodChoice(None, {"fins": Problem.BEFORE})
    if first < months_before(last, MAX_MONTHS):
        return PeriodChoice(None, {"desde": Problem.TOO_LONG})
    return PeriodChoice(Period(first, last))


def quick_periods(today: date) -> list[tuple[str, Period]]:
    """The usual periods offered above a report's form: (key, period); the page words keys."""
    return [
        ("last_twelve_months", last_twelve_months(today)),
        ("current_year", current_year(today)),
        ("previous_year", previous_year(today)),
    ]
