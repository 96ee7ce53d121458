"""Dates as people write and read them: the one parser of typed days, the one parser of typed
times of day, and dates and times in the reader's language (Babel, CLDR data).

Pure: takes the locale as an argument. ``umic.web.i18n`` binds it to the current request.
"""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from datetime import time
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.dates import format_time

#: Years a typed date may plausibly have; anything else is a typing mistake (0001, 9999).
PLAUSIBLE_YEARS = range(1900, 3000)

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TYPED_DAY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_TYPED_TIME = re.compile(r"(\d{1,2})\s*[:.h]\s*(\d{2})(?::(\d{2}))?")


def parse_day(text: str | None, *, years: range | None = PLAUSIBLE_YEARS) -> date | None:
    """The day in ``text``, or None when it is not a real one.

    What a date input sends (``2025-05-15``) or what people type where there is none
    (``15/05/2025``, ``15/5/2025``, ``15-05-2025``, ``15.05.2025``: day first, four-digit
    year). Surrounding spaces are fine; ``31/02/2025``, ``2025-5-1``, ``1/3/25`` and times are
    not. ``years`` bounds the year (None: any four-digit year, for callers that explain an
    out-of-range year themselves). Every form, filter and link of the app reads days here.
    """
    text = (text or "").strip()
    if len(text) > 10:
        return None
    try:
        typed = _TYPED_DAY.fullmatch(text)
        if typed:
            day = date(int(typed.group(3)), int(typed.group(2)), int(typed.group(1)))
        elif _ISO_DAY.fullmatch(text):
            day = date.fromisoformat(text)
        else:
            return None
    except ValueError:
        return None
    return day if years is None or day.year in years else None


def parse_time(text: str | None) -> time | None:
    """The time of day in ``text``, or None when it is not a real one.

    What a time input sends (``09:00``, ``09:00:00``) or what people type (``9:00``,
    ``9.00``, ``20h15``, ``20 : 15``). ``24:00``, ``9:60`` and ``9`` are not times. Every form
    that asks for a time of day reads it here.
    """
    typed = _TYPED_TIME.fullmatch((text or "").strip())
    if typed is None:
        return None
    try:
        return time(*(int(part or 0) for part in typed.groups()))
    except ValueError:
        return None


# CLDR's Catalan "full" date now reads "dimarts, 25 de març del 2025"; the service writes
# "de 2025" (as Bookings did in the seed), so the patterns are explicit per language.
_DAY_WITH_YEAR = {"ca": "EEEE, d MMMM 'de' y", "es": "EEEE, d 'de' MMMM 'de' y"}
_DAY_NO_YEAR = {"ca": "EEEE, d MMMM", "es": "EEEE, d 'de' MMMM"}


def _normal(locale: str) -> str:
    """Babel wants 'es_ES'; browsers and configuration may say 'es-ES'."""
    return str(locale).replace("-", "_")


def _lang(locale: str) -> str:
    return _normal(locale).split("_")[0]


#: CLDR elides Catalan months with a typographic apostrophe ("d’abril"); every other elision
#: the app writes ("d'expedient", "l'hora") has the straight one, so dates do too (UX review, L5).
_STRAIGHT = str.maketrans({"\u2019": "'"})


def day_text(day: date, locale: str, *, year: bool = True) -> str:
    """'dimarts, 25 de març de 2025' (or without the year)."""
    locale = _normal(locale)
    patterns = _DAY_WITH_YEAR if year else _DAY_NO_YEAR
    pattern = patterns.get(_lang(locale))
    if pattern is None:
        return format_date(day, "full" if year else "EEEE d MMMM", locale=locale)
    return format_date(day, pattern, locale=locale).translate(_STRAIGHT)


def weekday_text(day: date, locale: str) -> str:
    """'dilluns 14': the day of a week, for a row of links to each day."""
    return format_date(day, "EEEE d", locale=_normal(locale))


def time_text(moment: datetime, tz: ZoneInfo, locale: str) -> str:
    """'16:30', in the service's zone."""
    return format_time(moment.astimezone(tz), "HH:mm", locale=_normal(locale))


def range_text(start: datetime, end: datetime, tz: ZoneInfo, locale: str) -> str:
    """'16:30-17:00'."""
    return f"{time_text(start, tz, locale)}-{time_text(end, tz, locale)}"


def when_text(start: datetime, end: datetime, tz: ZoneInfo, locale: str) -> str:
    """'dimarts, 25 de març de 2025, 16:30-17:00', the way every page and e-mail says it."""
    local_day = start.astimezone(tz).date()
    return f"{day_text(local_day, locale)}, {range_text(start, end, tz, locale)}"


def month_text(month: date, locale: str) -> str:
    """'març de 2025' (Catalan, Spanish), 'March 2025' (English)."""
    locale = _normal(locale)
    pattern = "LLLL 'de' y" if _lang(locale) in ("ca", "es") else "LLLL y"
    return format_date(month, pattern, locale=locale)


def of_month_text(month: date, locale: str) -> str:
    """The month after "of": Catalan elides, "d'abril de 2025" / "de maig de 2025"."""
    locale = _normal(locale)
    language = _lang(locale)
    if language == "ca":  # CLDR's Catalan format-context month carries the preposition
        return format_date(month, "MMMM 'de' y", locale=locale).translate(_STRAIGHT)
    if language == "es":
        return format_date(month, "'de' MMMM 'de' y", locale=locale)
    return format_date(month, "MMMM y", locale=locale)
