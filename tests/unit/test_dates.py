"""Unit tests of umic.core.dates: the one parser of typed days, and the date and time wording
every page and e-mail uses.

The Catalan wording "dimarts, 25 de març de 2025, 16:30-17:00" is the spec (as Bookings
wrote it), not CLDR's "del 2025". Babel writes the elided article with a typographic
apostrophe (U+2019), "d’abril"; the app straightens it like its other elisions: "d'abril".
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from umic.core.dates import day_text
from umic.core.dates import of_month_text
from umic.core.dates import parse_day
from umic.core.dates import parse_time
from umic.core.dates import range_text
from umic.core.dates import time_text
from umic.core.dates import when_text

MADRID = ZoneInfo("Europe/Madrid")


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def half_hour_from(start: datetime) -> tuple[datetime, datetime]:
    return start, start + timedelta(minutes=30)


@pytest.mark.parametrize(
    ("start", "locale", "expected"),
    [
        (utc(2025, 3, 25, 15, 30), "ca", "dimarts, 25 de març de 2025, 16:30-17:00"),
        (utc(2025, 3, 6, 15, 30), "ca", "dijous, 6 de març de 2025, 16:30-17:00"),
        (utc(2025, 4, 8, 14, 30), "ca", "dimarts, 8 d'abril de 2025, 16:30-17:00"),
        (utc(2025, 8, 1, 14, 30), "ca", "divendres, 1 d'agost de 2025, 16:30-17:00"),
        (utc(2025, 10, 1, 14, 30), "ca", "dimecres, 1 d'octubre de 2025, 16:30-17:00"),
        (utc(2025, 3, 25, 15, 30), "es", "martes, 25 de marzo de 2025, 16:30-17:00"),
        (utc(2025, 4, 8, 14, 30), "es", "martes, 8 de abril de 2025, 16:30-17:00"),
        (utc(2025, 3, 25, 15, 30), "ca_ES", "dimarts, 25 de març de 2025, 16:30-17:00"),
        (utc(2025, 3, 25, 15, 30), "es_ES", "martes, 25 de marzo de 2025, 16:30-17:00"),
    ],
    ids=[
        "ca-march",
        "ca-march-single-digit",
        "ca-april",
        "ca-august",
        "ca-october",
        "es-march",
        "es-april",
        "ca_ES",
        "es_ES",
    ],
)
def test_when_text_reads_as_the_service_writes_it(start, locale, expected):
    assert when_text(*half_hour_from(start), MADRID, locale) == expected


def test_catalan_year_is_written_de_not_cldr_del():
    text = day_text(date(2025, 3, 25), "ca")

    assert text.endswith("de 2025")
    assert "del 2025" not in text


def test_catalan_elision_uses_the_straight_apostrophe_like_every_other_elision():
    text = day_text(date(2025, 4, 8), "ca")

    assert "d'abril" in text
    assert "d\u2019abril" not in text and "de abril" not in text
    assert of_month_text(date(2025, 10, 1), "ca") == "d'octubre de 2025"


@pytest.mark.parametrize(
    ("day", "locale", "expected"),
    [
        (date(2025, 3, 25), "ca", "dimarts, 25 de març"),
        (date(2025, 4, 25), "ca", "divendres, 25 d'abril"),
        (date(2025, 8, 15), "ca", "divendres, 15 d'agost"),
        (date(2025, 3, 25), "es", "martes, 25 de marzo"),
    ],
    ids=str,
)
def test_day_text_without_year(day, locale, expected):
    assert day_text(day, locale, year=False) == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (utc(2025, 7, 15, 14, 30), "dimarts, 15 de juliol de 2025, 16:30-17:00"),  # CEST, +2
        (utc(2025, 1, 14, 15, 30), "dimarts, 14 de gener de 2025, 16:30-17:00"),  # CET, +1
    ],
    ids=["summer", "winter"],
)
def test_when_text_shows_the_madrid_hour_in_summer_and_winter(start, expected):
    assert when_text(*half_hour_from(start), MADRID, "ca") == expected


def test_when_text_uses_the_madrid_day_after_utc_midnight():
    # 23:30Z on 24 March is 00:30 on 25 March in Madrid.
    start = utc(2025, 3, 24, 23, 30)

    assert (
        when_text(start, utc(2025, 3, 25, 0, 0), MADRID, "ca")
        == "dimarts, 25 de març de 2025, 00:30-01:00"
    )


def test_time_text_is_24_hour_madrid_time_of_any_aware_datetime():
    moment = datetime(2025, 3, 25, 10, 5, tzinfo=ZoneInfo("America/New_York"))  # 14:05Z

    assert time_text(moment, MADRID, "ca") == "15:05"


def test_range_text_spans_the_dst_change_with_each_end_in_its_own_offset():
    # 2025-03-30: 00:30Z is 01:30 CET, 01:30Z is 03:30 CEST.
    assert range_text(utc(2025, 3, 30, 0, 30), utc(2025, 3, 30, 1, 30), MADRID, "es") == (
        "01:30-03:30"
    )


def test_unconfigured_language_falls_back_to_the_cldr_full_date():
    assert day_text(date(2025, 3, 25), "en") == "Tuesday, March 25, 2025"


def test_hyphenated_locales_are_accepted():
    start = datetime(2025, 3, 25, 15, 30, tzinfo=UTC)
    end = start + timedelta(minutes=30)
    assert when_text(start, end, MADRID, "es-ES") == "martes, 25 de marzo de 2025, 16:30-17:00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-31", date(2025, 3, 31)),  # what a date input sends
        (" 2025-03-31 ", date(2025, 3, 31)),
        ("31/3/2025", date(2025, 3, 31)),  # typed where there is no date picker
        ("01/03/2025", date(2025, 3, 1)),
        ("15-05-2025", date(2025, 5, 15)),
        ("15.05.2025", date(2025, 5, 15)),
        ("", None),
        (None, None),
        ("2025-02-30", None),
        ("31/02/2025", None),
        ("31/13/2025", None),
        ("1/3/25", None),
        ("2025-5-1", None),
        ("20250331", None),
        ("ahir", None),
        ("1/2", None),
        ("2025-03-31T10:00", None),
        ("9" * 50, None),
        ("0001-01-01", None),  # outside the plausible years
        ("9999-12-31", None),
    ],
)
def test_one_parser_reads_every_typed_day(text, expected):
    assert parse_day(text) == expected


def test_the_years_a_caller_accepts():
    assert parse_day("1800-01-01") is None
    assert parse_day("1800-01-01", years=None) == date(1800, 1, 1)
    assert parse_day("2025-01-01", years=range(2000, 2101)) == date(2025, 1, 1)
    assert parse_day("2101-01-01", years=range(2000, 2101)) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("09:00", time(9)),
        ("09:00:00", time(9)),  # what a time box sends
        ("9:30", time(9, 30)),
        (" 9.30 ", time(9, 30)),
        ("20h15", time(20, 15)),
        ("20 : 15", time(20, 15)),
        ("23:59", time(23, 59)),
    ],
)
def test_a_typed_time_is_read(typed, expected):
    assert parse_time(typed) == expected


@pytest.mark.parametrize("typed", ["", None, "9", "24:00", "9:60", "09:5", "nou", "9:00 pm"])
def test_what_is_not_a_time_is_none(typed):
    assert parse_time(typed) is None
