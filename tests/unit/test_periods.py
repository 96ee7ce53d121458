"""The reports' periods (umic.core.periods): one meaning per name, one period form."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from umic.core.periods import Period
from umic.core.periods import Problem
from umic.core.periods import add_months
from umic.core.periods import choose_period
from umic.core.periods import current_year
from umic.core.periods import last_twelve_months
from umic.core.periods import months_before
from umic.core.periods import previous_year
from umic.core.periods import quick_periods
from umic.core.periods import year_ending

MADRID = ZoneInfo("Europe/Madrid")
TODAY = date(2025, 6, 15)


# --- What each name means ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "first"),
    [
        (date(2025, 3, 15), date(2024, 4, 1)),
        (date(2025, 12, 31), date(2025, 1, 1)),
        (date(2025, 11, 1), date(2024, 12, 1)),
        (date(2024, 2, 29), date(2023, 3, 1)),
        (date(2026, 11, 29), date(2025, 12, 1)),
    ],
)
def test_the_last_twelve_months_are_this_month_and_the_eleven_before(today, first):
    period = last_twelve_months(today)
    assert period == Period(first, today)
    assert len(period.months()) == 12


@pytest.mark.parametrize(
    ("today", "first"),
    [
        (date(2026, 11, 15), date(2025, 11, 16)),
        (date(2026, 3, 1), date(2025, 3, 2)),
        (date(2028, 2, 29), date(2027, 3, 1)),
        (date(2027, 3, 1), date(2026, 3, 2)),
        (date(2026, 12, 31), date(2026, 1, 1)),
    ],
)
def test_the_year_that_ends_today_holds_twelve_monthly_counts(today, first):
    period = year_ending(today)
    assert (period.first, period.last) == (first, today)
    # Monthly counts (first day of each month) inside the period: exactly twelve.
    assert len([m for m in period.months() if m >= period.first]) == 12


def test_this_year_and_last_year():
    today = date(2026, 11, 29)
    assert current_year(today) == Period(date(2026, 1, 1), today)
    assert previous_year(today) == Period(date(2025, 1, 1), date(2025, 12, 31))
    assert [key for key, _period in quick_periods(today)] == [
        "last_twelve_months",
        "current_year",
        "previous_year",
    ]


@pytest.mark.parametrize(
    ("month", "months", "expected"),
    [
        (date(2025, 1, 15), 1, date(2025, 2, 1)),
        (date(2025, 12, 1), 1, date(2026, 1, 1)),
        (date(2025, 1, 31), -1, date(2024, 12, 1)),
        (date(2025, 3, 1), -120, date(2015, 3, 1)),
    ],
)
def test_add_months_gives_the_first_of_the_month(month, months, expected):
    assert add_months(month, months) == expected


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 3, 31), 1, date(2025, 2, 28)),
        (date(2024, 3, 31), 1, date(2024, 2, 29)),
        (date(2025, 1, 15), 1, date(2024, 12, 15)),
        (date(2025, 1, 15), 120, date(2015, 1, 15)),
    ],
)
def test_months_before(day, months, expected):
    assert months_before(day, months) == expected


def test_a_period_in_utc_starts_and_ends_at_local_midnight_across_the_clock_change():
    start, end = Period(date(2025, 3, 30), date(2025, 3, 30)).bounds(MADRID)
    assert start.isoformat() == "2025-03-29T23:00:00+00:00"  # CET
    assert end.isoformat() == "2025-03-30T22:00:00+00:00"  # CEST: a 23-hour day
    assert Period(date(2025, 1, 31), date(2025, 3, 1)).months() == [
        date(2025, 1, 1),
        date(2025, 2, 1),
        date(2025, 3, 1),
    ]


# --- The period form --------------------------------------------------------------------------


def test_an_empty_form_gives_the_last_twelve_months():
    choice = choose_period("", None, TODAY)
    assert choice.problems == {}
    assert choice.period == Period(date(2024, 7, 1), TODAY)


def test_one_date_alone_completes_the_other():
    # From a day: up to today. Up to a day: the twelve months up to it.
    assert choose_period("2025-01-01", "", TODAY).period == Period(date(2025, 1, 1), TODAY)
    assert choose_period("", "2025-03-31", TODAY).period == Period(
        date(2024, 4, 1), date(2025, 3, 31)
    )
    # From a day after today: that day alone, never an error about a field left empty.
    assert choose_period("2025-07-01", "", TODAY).period == Period(
        date(2025, 7, 1), date(2025, 7, 1)
    )


def test_typed_dates_are_understood():
    assert choose_period("1/3/2025", "31/03/2025", TODAY).period == Period(
        date(2025, 3, 1), date(2025, 3, 31)
    )


@pytest.mark.parametrize(
    ("desde", "fins", "problems"),
    [
        ("abc", "", {"desde": Problem.INVALID}),
        ("abc", "xyz", {"desde": Problem.INVALID, "fins": Problem.INVALID}),
        ("2025-02-30", "", {"desde": Problem.INVALID}),
        ("1999-12-31", "", {"desde": Problem.OUT_OF_RANGE}),
        ("", "2101-01-01", {"fins": Problem.OUT_OF_RANGE}),
        ("", "0001-01-01", {"fins": Problem.OUT_OF_RANGE}),
        ("2025-03-02", "2025-03-01", {"fins": Problem.BEFORE}),
        ("2015-06-14", "2025-06-15", {"desde": Problem.TOO_LONG}),
    ],
)
def test_problems_with_the_dates_are_reported_per_field(desde, fins, problems):
    choice = choose_period(desde, fins, TODAY)
    assert choice.period is None
    assert choice.problems == problems


def test_a_single_day_and_ten_whole_years_are_fine():
    assert choose_period("2025-03-01", "2025-03-01", TODAY).period == Period(
        date(2025, 3, 1), date(2025, 3, 1)
    )
    assert choose_period("2015-06-15", "2025-06-15", TODAY).problems == {}


def test_a_period_travels_in_links_as_the_forms_two_dates():
    period = Period(date(2025, 3, 1), date(2025, 5, 31))
    assert period.args() == {"desde": "2025-03-01", "fins": "2025-05-31"}
    assert choose_period(**period.args(), today=TODAY).period == period
