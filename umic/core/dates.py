"""Dates and times as people read them, in their language (Babel, CLDR data).

Pure: takes the locale as an argument. ``umic.web.i18n`` binds it to the current request.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.dates import format_time

# CLDR's Catalan "full" date now reads "dimarts, 25 de març del 2025"; the service writes
# "de 2025" (as Bookings did in the seed), so the patterns are explicit per language.
_DAY_WITH_YEAR = {"ca": "EEEE, d MMMM 'de' y", "es": "EEEE, d 'de' MMMM 'de' y"}
_DAY_NO_YEAR = {"ca": "EEEE, d MMMM", "es": "EEEE, d 'de' MMMM"}


def _normal(locale: str) -> str:
    """Babel wants 'es_ES'; browsers and configuration may say 'es-ES'."""
    return str(locale).replace("-", "_")


def _lang(locale: str) -> str:
    return _normal(locale).split("_")[0]


def day_text(day: date, locale: str, *, year: bool = True) -> str:
    """'dimarts, 25 de març de 2025' (or without the year)."""
    locale = _normal(locale)
    patterns = _DAY_WITH_YEAR if year else _DAY_NO_YEAR
    pattern = patterns.get(_lang(locale))
    if pattern is None:
        return format_date(day, "full" if year else "EEEE d MMMM", locale=locale)
    return format_date(day, pattern, locale=locale)


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
    """The month after "of": Catalan elides, "d’abril de 2025" / "de maig de 2025"."""
    locale = _normal(locale)
    language = _lang(locale)
    if language == "ca":  # CLDR's Catalan format-context month carries the preposition
        return format_date(month, "MMMM 'de' y", locale=locale)
    if language == "es":
        return format_date(month, "'de' MMMM 'de' y", locale=locale)
    return format_date(month, "MMMM y", locale=locale)
