"""The one reader of ids and page numbers from requests (umic.core.numbers)."""

from __future__ import annotations

import pytest

from umic.core.numbers import MAX_ID
from umic.core.numbers import int_in_range


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1),
        (" 42 ", 42),
        ("007", 7),
        (str(MAX_ID), MAX_ID),
        (5, 5),
    ],
)
def test_a_plain_number_in_range_is_read(value, expected):
    assert int_in_range(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        " ",
        "0",  # below the default range (ids start at 1)
        "-5",
        str(MAX_ID + 1),
        "9223372036854775807",
        "99999999999999999999",
        "1" * 200,
        "1e3",
        "1_000",
        "0x10",
        "١٢",  # Arabic-Indic digits: int() reads them, we do not
        "１２",  # full-width digits
        "12abc",
        "1.0",
        True,
        2**40,
        ["1"],
    ],
)
def test_anything_else_is_none(value):
    assert int_in_range(value) is None


def test_the_range_is_the_callers():
    assert int_in_range("0", low=0) == 0
    assert int_in_range("-5", low=-10) == -5
    assert int_in_range("11", high=10) is None
    assert int_in_range("+3") == 3
