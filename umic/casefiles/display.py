"""How the case pages write stored values for people: the history's "old → new" and dates.

Stored values stay machine-readable: amounts ``245.50``, days ``2026-12-18``, moments ISO 8601
in UTC, codes (``en_tramit``). This module is the one place that turns them into what people
read, at display time and in the reader's language (Babel): money ``245,50 €``, days
``18/12/2026`` (the locale's numeric date: ``12/18/2026`` in English), moments ``15/05/2025
16:48``, codes by their labels, sectors by their names, nothing as ``(buit)``. Towns and staff
are recorded by name and shown as recorded. A value written before this rule (or anything
that does not parse) is shown as it was recorded, never an error.

A moment at exactly local midnight is shown as a day: that is how a day-only date from the
tracker (its "Data actualització" is ``16/05/2025``) is stored, and "00:00" would claim a
time nobody recorded.
"""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from datetime import time
from decimal import Decimal
from decimal import InvalidOperation
from functools import lru_cache

from babel import Locale
from flask_babel import format_currency
from flask_babel import format_date
from flask_babel import gettext as _

from ..web.i18n import locale_name
from ..web.i18n import service_tz
from ..web.i18n import time_text
from . import labels
from .sectors import sector_name

#: Fields whose history values are amounts, days and moments.
AMOUNT_FIELDS = frozenset({"amount_claimed", "amount_recovered"})
DAY_FIELDS = frozenset({"deadline"})
MOMENT_FIELDS = frozenset({"requested_at", "updated_at"})
#: Fields recorded as codes, and the labels that name them.
CODED_FIELDS = {
    "case_type": labels.CASE_TYPES,
    "channel": labels.CHANNELS,
    "status": labels.CASE_STATUSES,
    "outcome": labels.OUTCOMES,
}


def money_text(amount: Decimal) -> str:
    """'245,50 €' (Catalan and Spanish), '€245.50' (English)."""
    return format_currency(amount, "EUR")


@lru_cache(maxsize=16)
def _numeric_pattern(locale: str) -> str:
    """The locale's short date with two-digit day and month and the whole year: Catalan and
    Spanish "d/M/yy" -> "dd/MM/y" (as the tracker writes dates), English "MM/dd/y"."""
    pattern = Locale.parse(locale).date_formats["short"].pattern
    return re.sub(r"y+", "y", re.sub(r"M+", "MM", re.sub(r"d+", "dd", pattern)))


def numeric_day(day: date) -> str:
    """'18/12/2026': the reader's locale's numeric date."""
    return format_date(day, _numeric_pattern(locale_name()))


def has_time(moment: datetime) -> bool:
    """False for a moment at exactly local midnight: a day-only date (see the module)."""
    return moment.astimezone(service_tz()).timetz().replace(tzinfo=None) != time(0)


def moment_text(moment: datetime) -> str:
    """'15/05/2025 16:48' in the service's time zone; the day alone at exactly midnight."""
    local = moment.astimezone(service_tz())
    if not has_time(moment):
        return numeric_day(local.date())
    return f"{numeric_day(local.date())} {time_text(moment)}"


def stored_moment(value: str) -> date | datetime | None:
    """A day (``2025-05-16``) or an aware moment (ISO 8601) recorded in the history."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def history_value(field: str, value: str | None) -> str:
    """A recorded value as people read it; "(buit)" for nothing."""
    if value is None or value == "":
        return _("(buit)")
    if field in CODED_FIELDS:
        return str(CODED_FIELDS[field].get(value, value))
    if field == "sector":
        return sector_name(value, locale_name().split("_")[0])
    if field in AMOUNT_FIELDS:
        try:
            return money_text(Decimal(value))
        except InvalidOperation:
            return value
    if field in DAY_FIELDS or field in MOMENT_FIELDS:
        parsed = stored_moment(value)
        if isinstance(parsed, datetime):
            return moment_text(parsed)
        if isinstance(parsed, date):
            return numeric_day(parsed)
    return value


def register(app) -> None:
    """The helpers for templates."""
    app.jinja_env.globals["history_value"] = history_value
    app.jinja_env.globals["moment_text"] = moment_text
    app.jinja_env.globals["has_time"] = has_time
    app.jinja_env.globals["numeric_day"] = numeric_day
