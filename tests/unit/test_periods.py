"""The reports' periods (umic.core.periods): one meaning per name, one period form."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from umic.core.periods import PILOT
from umic.core.periods import PILOT_AND_EXPANSION
from umic.core.periods import Period
from umic.core.periods import Problem
from umic.core.periods import add_months
from umic.core.periods import choose_period
from umic.core.periods import current_year
from umic.core.periods import last_twelve_months
from umic.core.periods import months_before
from umic.core.periods import opening_period
from umic.core.periods import previous_year
from umic.core.periods import quick_periods
from umic.core.periods import whole_year

MADRID = ZoneInfo("Europe/Madrid")
TODAY = date(2025, 6, 15)


# --- What each name means ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "first"),
    [
        (date(2026, 11, 15), date(2025, 11, 16)),
        (date(2026, 3, 1), date(2025, 3, 2)),
        (date(2028, 2, 29), date(2027, 3, 1)),
        (date(2027, 3, 1), date(2026, 3, 2)),
        (date(2026, 12, 31), date(2026, 1, 1)),
        (date(2026, 12, 4), date(2025, 12, 5)),
    ],
)
def test_the_last_twelve_months_are_the_year_that_ends_today(today, first):
    period = last_twelve_months(today)
    assert (period.first, period.last) == (first, today)
    # Exactly a year: 365 days, or 366 with a 29 February inside.
    assert (period.last - period.first).days + 1 in (365, 366)
    # Monthly counts (first day of each month) inside the period: exactly twelve.
    assert len([m for m in period.months() if m >= period.first]) == 12


@pytest.mark.parametrize("day", range(1, 31))
def test_in_december_the_last_twelve_months_are_not_this_year(day):
    """L7: "Últims 12 mesos" and "2026" gave the same days in December (both 1 January to
    4 December). Only on 31 December are they the same 365 days, as they truly are."""
    today = date(2026, 12, day)
    assert last_twelve_months(today) != current_year(today)
    assert last_twelve_months(today).first == date(2025, 12, day + 1)
    assert last_twelve_months(date(2026, 12, 31)) == current_year(date(2026, 12, 31))


def test_this_year_and_last_year():
    today = date(2026, 11, 29)
    assert current_year(today) == Period(date(2026, 1, 1), today)
    assert previous_year(today) == Period(date(2025, 1, 1), date(2025, 12, 31))
    assert [key for key, _period in quick_periods(today)] == [
        "last_twelve_months",
        "current_year",
        "previous_year",
        "pilot",
        "pilot_and_expansion",
    ]


def test_the_pilot_is_march_to_may_2025_and_with_the_expansion_to_september():
    """M4: the shortcuts name the seed's periods: its first test (4 towns, 3 months) and its
    first seven months (25 towns)."""
    assert PILOT == Period(date(2025, 3, 1), date(2025, 5, 31))
    assert PILOT_AND_EXPANSION == Period(date(2025, 3, 1), date(2025, 9, 30))
    keys = [key for key, _period in quick_periods(date(2025, 4, 1))]
    assert "pilot" not in keys  # not over yet: not offered


@pytest.mark.parametrize(
    ("latest", "expected"),
    [
        (None, Period(date(2025, 12, 5), date(2026, 12, 4))),  # no data: the recent past
        (date(2026, 12, 4), Period(date(2025, 12, 5), date(2026, 12, 4))),
        (date(2025, 12, 5), Period(date(2025, 12, 5), date(2026, 12, 4))),
        (date(2025, 12, 4), Period(date(2025, 1, 1), date(2025, 12, 31))),
        (date(2025, 5, 14), Period(date(2025, 1, 1), date(2025, 12, 31))),
        (date(2019, 2, 1), Period(date(2019, 1, 1), date(2019, 12, 31))),
    ],
)
def test_a_report_opens_on_a_period_with_data(latest, expected):
    """M4: the survey results opened on the last months, empty, while every answer was in
    2025; a report now opens on the last 12 months only if they hold data, else on the
    whole latest year that does."""
    assert opening_period(date(2026, 12, 4), latest) == expected


def test_a_whole_year():
    assert whole_year(2025) == Period(date(2025, 1, 1), date(2025, 12, 31))


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


def test_an_empty_form_gives_the_last_twelve_months_or_the_reports_opening_period():
    choice = choose_period("", None, TODAY)
    assert choice.problems == {}
    assert choice.period == Period(date(2024, 6, 16), TODAY)
    asked = []

    def opening():
        asked.append(True)
        return PILOT

    assert choose_period("", "", TODAY, opening).period == PILOT
    # Asked only when both dates are empty (it may cost a query).
    assert choose_period("2025-01-01", "", TODAY, opening).period.first == date(2025, 1, 1)
    assert asked == [True]


def test_one_date_alone_completes_the_other():
    # From a day: up to today. Up to a day: the twelve months up to it.
    assert choose_period("2025-01-01", "", TODAY).period == Period(date(2025, 1, 1), TODAY)
    assert choose_period("", "2025-03-31", TODAY).period == Period(
        date(2024, 4, 1), date(2025, 3, 31)
    )
    assert choose_period("", "2025-03-15", TODAY).period == Period(
        date(2024, 3, 16), date(2025, 3, 15)
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
