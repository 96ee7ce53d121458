"""Periods of days for the reports: what "the last twelve months" means, and the period form.

Pure. Every report (statistics, survey results, expansion plan) and every export reads its
period here, so the same words mean the same days on every page:

- **the last twelve months** (:func:`last_twelve_months`): the 365 (or 366) days up to
  today, from the day after the same date a year ago (on 4 December 2026: 5 December 2025 to
  4 December 2026). Exactly a year, so the expansion plan's "requests a year" needs no
  scaling, and the monthly counts entered by hand count when their first day is inside:
  exactly twelve of them do. It differs from "this year" on every day but 31 December, when
  the two are the same 365 days.
- **this year** and **last year**: 1 January to today, and the whole of last year.
- **the pilot** (:data:`PILOT`): March to May 2025, the pilot's first three months with its
  four towns (the seed's "Resultats: Primer test"); **the pilot and the expansion**
  (:data:`PILOT_AND_EXPANSION`): March to September 2025, its first seven months, by then
  with 25 towns (the seed's "25 ens locals els 7 primers mesos").

A report with no period asked for opens on :func:`opening_period`: the last twelve months if
they hold any data, else the whole of the most recent year that does (the report says what
its data is and finds its latest day), so a page never opens empty when there is something
to show.

The period form (:func:`choose_period`) has two dates, ``desde`` and ``fins``, either of which
may be empty: both empty, the report's opening period (the last twelve months unless it says
otherwise); only ``desde``, from then to today; only ``fins``, the twelve months up to that
day. Its problems are codes (:class:`Problem`), one per field, which each page words; nothing
here raises on what a user typed.

Days are local days; :meth:`Period.bounds` turns them into UTC instants at local midnight.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Callable
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
    """The year that ends today: from the day after the same date a year ago, to today.

    On 29 February that is 1 March of the year before (the year has 366 days then).
    """
    return Period(months_before(today, 12) + timedelta(days=1), today)


def current_year(today: date) -> Period:
    """From 1 January to today."""
    return Period(date(today.year, 1, 1), today)


def previous_year(today: date) -> Period:
    """The whole of last year."""
    return whole_year(today.year - 1)


def whole_year(year: int) -> Period:
    """1 January to 31 December of ``year``."""
    return Period(date(year, 1, 1), date(year, 12, 31))


#: The pilot's first three months, with its four towns (the seed's first results).
PILOT = Period(date(2025, 3, 1), date(2025, 5, 31))
#: The pilot's first seven months: the pilot and the expansion to 25 towns.
PILOT_AND_EXPANSION = Period(date(2025, 3, 1), date(2025, 9, 30))


def opening_period(today: date, latest: date | None) -> Period:
    """The period a report opens on, given the latest day (up to today) it has data for.

    The last twelve months if that day is inside them (or there is no data at all: an empty
    report of the recent past is the honest answer), else the whole year of that day.
    """
    recent = last_twelve_months(today)
    if latest is None or latest >= recent.first:
        return recent
    return whole_year(latest.year)


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


def choose_period(
    desde: str | None,
    fins: str | None,
    today: date,
    opening: Callable[[], Period] | None = None,
) -> PeriodChoice:
    """The period from the form's two dates (see the module's docstring for empty ones).

    ``opening`` gives the period when both are empty (asked only then: it may query); the
    last twelve months without it.
    """
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
        return PeriodChoice(opening() if opening else last_twelve_months(today))
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
    """The named periods offered above a report's form: (key, period); the page words keys.

    The pilot's periods are offered once they are over (always, in practice).
    """
    quick = [
        ("last_twelve_months", last_twelve_months(today)),
        ("current_year", current_year(today)),
        ("previous_year", previous_year(today)),
    ]
    quick += [
        (key, period)
        for key, period in (("pilot", PILOT), ("pilot_and_expansion", PILOT_AND_EXPANSION))
        if period.last < today
    ]
    return quick
