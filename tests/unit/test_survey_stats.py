"""Unit tests of the pure parts of umic.stats.survey_results: rounding, wording, the period form.

No app, no database. The Catalan decimal comma ("9,4") and "70 %" are what the seed shows.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from umic.stats.requests import Period
from umic.stats.survey_results import average_text
from umic.stats.survey_results import choose_period
from umic.stats.survey_results import count_text
from umic.stats.survey_results import default_period
from umic.stats.survey_results import month_text
from umic.stats.survey_results import months_before
from umic.stats.survey_results import parse_date
from umic.stats.survey_results import percent
from umic.stats.survey_results import percent_text
from umic.stats.survey_results import rounded


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (9.4, "9.4"),
        (94 / 10, "9.4"),
        (93 / 10, "9.3"),
        (9.35, "9.4"),  # half up, like PostgreSQL's numeric, although 9.35 is 9.3499... as float
        (9.25, "9.3"),  # not banker's rounding
        (22 / 3, "7.3"),
        (23 / 3, "7.7"),
        (Decimal("9.3500000000000000"), "9.4"),  # PostgreSQL's AVG of integers
        (10, "10.0"),
        (0, "0.0"),
    ],
)
def test_averages_are_rounded_half_up_to_one_decimal(value, expected):
    assert rounded(value) == Decimal(expected)


def test_no_average_without_answers():
    assert rounded(None) is None
    assert average_text(None, "ca") == ""


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(7, 10, "70.0"), (3, 10, "30.0"), (0, 10, "0.0"), (10, 12, "83.3"), (2, 3, "66.7")],
)
def test_percentages_of_a_whole(part, whole, expected):
    assert percent(part, whole) == Decimal(expected)


def test_no_percentage_of_nothing():
    assert percent(0, 0) is None
    assert percent_text(None, "ca") == ""


def test_numbers_are_written_the_catalan_way():
    assert average_text(Decimal("9.4"), "ca") == "9,4"
    assert average_text(Decimal("10.0"), "ca") == "10,0"
    assert percent_text(Decimal("70.0"), "ca") == "70 %"
    assert percent_text(Decimal("0.0"), "ca") == "0 %"
    assert percent_text(Decimal("83.3"), "ca") == "83,3 %"
    assert count_text(1234, "ca") == "1.234"
    assert average_text(Decimal("9.4"), "en") == "9.4"


def test_month_names_in_catalan():
    assert month_text(date(2025, 1, 1), "ca") == "Gener de 2025"
    assert month_text(date(2025, 3, 1), "ca") == "Març de 2025"
    assert month_text(date(2025, 4, 1), "ca") == "Abril de 2025"


@pytest.mark.parametrize(
    ("today", "first"),
    [
        (date(2025, 3, 15), date(2024, 4, 1)),
        (date(2025, 12, 31), date(2025, 1, 1)),
        (date(2025, 11, 1), date(2024, 12, 1)),
        (date(2024, 2, 29), date(2023, 3, 1)),
    ],
)
def test_the_default_period_is_twelve_whole_months_up_to_today(today, first):
    period = default_period(today)
    assert period == Period(first, today)
    assert len(period.months()) == 12


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-31", date(2025, 3, 31)),
        (" 2025-03-31 ", date(2025, 3, 31)),
        ("31/3/2025", date(2025, 3, 31)),
        ("01/03/2025", date(2025, 3, 1)),
        ("", None),
        (None, None),
        ("2025-02-30", None),
        ("31/13/2025", None),
        ("1/3/25", None),
        ("ahir", None),
        ("1/2", None),
        ("2025-03-31T10:00", None),
        ("9" * 50, None),
    ],
)
def test_dates_from_a_picker_or_typed_by_hand(text, expected):
    assert parse_date(text) == expected


TODAY = date(2025, 6, 15)


def test_an_empty_form_gives_the_last_twelve_months():
    choice = choose_period("", None, TODAY)
    assert choice.problems == {}
    assert choice.period == Period(date(2024, 7, 1), TODAY)


def test_one_date_alone_completes_the_other():
    assert choose_period("2025-01-01", "", TODAY).period == Period(date(2025, 1, 1), TODAY)
    assert choose_period("", "2025-03-31", TODAY).period == Period(
        date(2024, 4, 1), date(2025, 3, 31)
    )


@pytest.mark.parametrize(
    ("desde", "fins", "problems"),
    [
        ("abc", "", {"desde": "invalid"}),
        ("abc", "xyz", {"desde": "invalid", "fins": "invalid"}),
        ("1999-12-31", "", {"desde": "out_of_range"}),
        ("", "2101-01-01", {"fins": "out_of_range"}),
        ("2025-03-02", "2025-03-01", {"fins": "before_start"}),
        ("2015-06-14", "2025-06-15", {"desde": "too_long"}),
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
