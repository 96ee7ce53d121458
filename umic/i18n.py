"""Language choice and date helpers bound to the current request (Flask-Babel)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import current_app
from flask import has_request_context
from flask import request
from flask_babel import get_locale
from flask_babel import ngettext

from . import dates


def select_locale() -> str:
    """Catalan unless the browser prefers another language the app speaks."""
    languages = current_app.config["LANGUAGES"]
    if has_request_context():
        chosen = request.args.get("lang")
        if chosen in languages:
            return chosen
        best = request.accept_languages.best_match(languages)
        if best:
            return best
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def service_tz() -> ZoneInfo:
    """The zone every time is shown in (Europe/Madrid)."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def locale_name() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def day_text(day: date | datetime, year: bool = True) -> str:
    if isinstance(day, datetime):
        day = day.astimezone(service_tz()).date()
    return dates.day_text(day, locale_name(), year=year)


def time_text(moment: datetime) -> str:
    return dates.time_text(moment, service_tz(), locale_name())


def range_text(start: datetime, end: datetime) -> str:
    return dates.range_text(start, end, service_tz(), locale_name())


def when_text(start: datetime, end: datetime) -> str:
    return dates.when_text(start, end, service_tz(), locale_name())


def month_text(month: date) -> str:
    """'març de 2025'."""
    return dates.month_text(month, locale_name())


def of_month_text(month: date) -> str:
    """'d’abril de 2025', for "Comptatges d’abril de 2025"."""
    return dates.of_month_text(month, locale_name())


def duration_text(minutes: int) -> str:
    """'2 hores', '90 minuts'."""
    if minutes % 60 == 0:
        return ngettext("%(num)s hora", "%(num)s hores", minutes // 60)
    return ngettext("%(num)s minut", "%(num)s minuts", minutes)


#: Each language's own name for itself (a language switch names languages as their speakers do).
LANGUAGE_NAMES = {"ca": "Català", "es": "Castellano", "en": "English"}


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def language_url(code: str) -> str:
    """This page in another language (its query string kept)."""
    args = request.args.to_dict(flat=True)
    args["lang"] = code
    return f"{request.path}?{urlencode(args)}"


def register_template_helpers(app) -> None:
    """Make the date helpers available in every template."""
    app.jinja_env.globals.update(
        day_text=day_text,
        time_text=time_text,
        range_text=range_text,
        when_text=when_text,
        tz=service_tz,
        duration_text=duration_text,
        month_text=month_text,
        of_month_text=of_month_text,
        language_name=language_name,
        language_url=language_url,
    )
