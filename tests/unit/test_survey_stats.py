"""Unit tests of the pure parts of umic.stats.survey_results: rounding and wording.

No app, no database. The Catalan decimal comma ("9,4") and "70 %" are what the seed shows.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from umic.stats.survey_results import average_text
from umic.stats.survey_results import count_text
from umic.stats.survey_results import month_text
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
