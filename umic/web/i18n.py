"""Language choice and date helpers bound to the current request (Flask-Babel).

Catalan is the source language (the msgids are Catalan); ``umic/translations`` holds the
other languages of ``LANGUAGES``. The language of a request is, in order: ``?lang=xx`` (the
language switch; remembered in the session), the session's earlier choice, the browser's
``Accept-Language``, Catalan.

The switch keeps what the user typed: on a page whose form posts back to the same address,
each language is a submit button of that form (``_language_switch.html``, with the page's
``language_form``) carrying ``_idioma`` and ``?lang=xx``; the view sees
``switching_language()`` and shows the form again, in the new language, with what was typed,
without checking or saving it. Every form of the app is a ``umic.web.forms.Form``, which is never
"submitted" by the switch, so the switch cannot save, send or cancel anything by mistake.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from urllib.parse import SplitResult
from urllib.parse import parse_qsl
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask
from flask import Response
from flask import current_app
from flask import has_request_context
from flask import request
from flask import session
from flask_babel import get_locale
from flask_babel import gettext
from flask_babel import ngettext
from werkzeug.datastructures import MultiDict

from .. import clock
from ..core import dates
from .urls import local_path

#: The query parameter that switches language, and the session key that remembers it.
LANG_PARAM = "lang"
SESSION_LANG = "lang"
#: The name of the language switch's submit buttons inside a page's form.
SWITCH_FIELD = "_idioma"


def _spoken(code: str | None) -> str | None:
    """``code`` if the app speaks it (LANGUAGES), else None."""
    languages = current_app.config["LANGUAGES"]
    return code if isinstance(code, str) and code in languages else None


def chosen_language() -> str | None:
    """The language asked for in this request's address (``?lang=es``), if the app speaks it."""
    return _spoken(request.args.get(LANG_PARAM))


def select_locale() -> str:
    """``?lang=``, else the session's choice, else the browser's best match, else Catalan."""
    if has_request_context():
        chosen = chosen_language() or _spoken(session.get(SESSION_LANG))
        if chosen:
            return chosen
        best = request.accept_languages.best_match(current_app.config["LANGUAGES"])
        if best:
            return best
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def switching_language() -> bool:
    """True when the language switch posted the page's form: show it again, do not save it."""
    return has_request_context() and request.method == "POST" and SWITCH_FIELD in request.form


def remember_language() -> None:
    """Keep a ``?lang=`` choice for the next pages (before each request)."""
    chosen = chosen_language()
    if chosen and session.get(SESSION_LANG) != chosen:
        session[SESSION_LANG] = chosen


def describe_language(response: Response) -> Response:
    """Pages differ by language: say which, and tell caches what it depends on."""
    if request.endpoint != "static" and response.mimetype == "text/html":
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
        response.headers.setdefault("Content-Language", locale_name())
    return response


def init_app(app: Flask) -> None:
    """Remember the chosen language; label each page's language."""
    app.before_request(remember_language)
    app.after_request(describe_language)


def service_tz() -> ZoneInfo:
    """The zone every time is shown in (Europe/Madrid)."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def service_today() -> date:
    """Today's date where the service is (the clock's ``now``, in the service's zone)."""
    return clock.today(service_tz())


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
    """'d'abril de 2025', for "Comptatges d'abril de 2025"."""
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
    """This page in another language (its query string kept, repeated parameters too).

    A page shown in answer to a POST-only address (an import's errors) cannot be asked for
    again: the link goes to the page the form was sent from instead.
    """
    path, args = request.path, request.args.copy()
    rule = request.url_rule
    if rule is not None and "GET" not in (rule.methods or ()):
        path, args = "/", MultiDict()
        sent_from = _same_site_referrer()
        if sent_from is not None and sent_from.path.startswith(request.script_root):
            path = sent_from.path.removeprefix(request.script_root) or "/"
            args = MultiDict(parse_qsl(sent_from.query, keep_blank_values=True))
    # The path as a path of ours, whatever was typed (/%5Cother.site/ must stay here).
    path = quote(local_path(path) or "/" + path.lstrip("/\\"))
    args[LANG_PARAM] = code
    return f"{request.script_root}{path}?{urlencode(list(args.items(multi=True)))}"


def _same_site_referrer() -> SplitResult | None:
    """The page a form was sent from, when it is one of ours."""
    try:
        sent_from = urlsplit(request.referrer or "")
    except ValueError:
        return None
    return sent_from if sent_from.netloc == request.host else None


def with_language(url: str, code: str) -> str:
    """``url`` (a path of ours, maybe with a query) asking for language ``code``."""
    parts = urlsplit(url)
    args = MultiDict(parse_qsl(parts.query, keep_blank_values=True))
    args[LANG_PARAM] = code
    return f"{parts.path}?{urlencode(list(args.items(multi=True)))}"


def link_language() -> dict[str, str]:
    """``{"lang": "es"}`` when writing in another language than the default, else nothing.

    For links in e-mails and invitations (``external_url(..., **link_language())``): the
    citizen who booked in Spanish lands on Spanish pages, on any device.
    """
    current = locale_name()
    if current == current_app.config["BABEL_DEFAULT_LOCALE"]:
        return {}
    return {LANG_PARAM: current}


def clear_session() -> None:
    """Empty the session (a fresh one on sign-in) but keep the language chosen."""
    chosen = session.get(SESSION_LANG)
    session.clear()
    if chosen:
        session[SESSION_LANG] = chosen


def service_name(service) -> str:
    """The service's name in the language being written (the page's, or the e-mail's inside
    ``force_locale``), falling back to Catalan: what every citizen-facing text shows."""
    return service.name_in(locale_name()) if service is not None else ""


def service_description(service) -> str:
    """The service's description in the language being written; on a page in another
    language than Catalan with no description written in it, none (M3: a Spanish page
    showed the Catalan paragraph; the name, which every page needs, still falls back)."""
    if service is None:
        return ""
    lang = locale_name()
    if lang in service.OTHER_LANGUAGES and not getattr(service, f"description_{lang}"):
        return ""
    return service.description_in(lang)


#: The organisation as the installation names it by default; translated on the pages.
DEFAULT_ORGANISATION = "Servei de Consum de la Diputació de Barcelona"


def organisation_name() -> str:
    """``SERVICE_ORGANISATION`` in the language being written: the default name is
    translated (M3: the Spanish footer said "Servei de Consum..."); a name the installation
    configured is shown as written."""
    configured = current_app.config["SERVICE_ORGANISATION"]
    if configured == DEFAULT_ORGANISATION:
        return gettext("Servei de Consum de la Diputació de Barcelona")
    return configured


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
        with_language=with_language,
        service_name=service_name,
        service_description=service_description,
        organisation_name=organisation_name,
    )
