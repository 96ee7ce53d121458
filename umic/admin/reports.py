"""The toolkit of the coordinators' report pages: statistics, survey results, expansion plan.

Each page builds its figures (``umic.stats``), then shows them with the same pieces:

- **the period form** (:func:`period_context`, macro ``period_form``): two dates, the named
  periods as links (the one shown marked ``aria-current``), problems beside the fields and
  in the summary, in one wording for every page (the rules, and what each name means, are
  ``umic.core.periods``'s); a page opens on the period its data asks for
  (:func:`chosen_period` with ``core.periods.opening_period``);
- **tables** (:class:`Table`, macro ``data_table``): built once as text cells in the reader's
  language; the page shows them and the CSV export (:func:`csv_response`) writes exactly the
  same rows, so they can never disagree;
- **charts** (:class:`Chart`, macro ``chart_figure``): an SVG image drawn on the server, always
  followed by its table, which holds every number (what a screen reader, or a failed image,
  gets);
- **numbers** written the reader's way (``1.234``, ``8,3``, ``40,0 %``, ``1.234,50 €``).

The macros are in ``templates/macros/reports.html``.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel.numbers import get_group_symbol
from flask import Response
from flask import request
from flask_babel import format_currency
from flask_babel import format_date
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..core import periods
from ..core.periods import Period
from ..core.periods import Problem
from ..core.spreadsheet import csv_text
from ..core.spreadsheet import delimiter_named
from ..web.i18n import locale_name

# --- Numbers and days -----------------------------------------------------------------------


@lru_cache
def _group_symbol(locale: str) -> str:
    return get_group_symbol(locale)


def number(value: int | float | None) -> str:
    """'1.234' in Catalan; empty when unknown.

    A whole number is grouped by Python with the locale's separator: the same text as
    Babel's ``#,##0`` (a test compares them), at a fraction of the cost, which counts on a
    page with a line per town (hundreds of numbers).
    """
    return whole_numbers()(value)


def whole_numbers() -> Callable[[int | float | None], str]:
    """``number`` with the reader's locale looked up once: for a table of hundreds of them."""
    group = _group_symbol(locale_name())

    def write(value: int | float | None) -> str:
        if value is None:
            return ""
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}".replace(",", group)
        return format_decimal(value, format="#,##0")

    return write


def decimal(value: int | float | Decimal | None) -> str:
    """'8,3': one decimal; empty when unknown."""
    return "" if value is None else format_decimal(value, format="#,##0.0")


def percent_of(part: int, whole: int) -> str:
    """'87,5 %' (one decimal), or an empty cell when there is nothing to divide by."""
    return f"{decimal(100 * part / whole)} %" if whole else ""


def rate(value: float | None) -> str:
    """A ratio (0.875) as '87,5 %'; empty when undefined."""
    return "" if value is None else f"{decimal(100 * value)} %"


def euros(value: Decimal) -> str:
    """'1.234,50 €' (Catalan: thousands with a dot, a decimal comma, the sign after)."""
    return format_currency(value, "EUR")


def short_day(day: date | None) -> str:
    """'01/03/2025', as the tracker writes dates; empty when unknown."""
    return "" if day is None else day.strftime("%d/%m/%Y")


#: A day without its weekday: "1 de març de 2025" (CLDR's Catalan would say "del 2025").
_DAY = {"ca": "d MMMM 'de' y", "es": "d 'de' MMMM 'de' y"}


def plain_day(day: date) -> str:
    """'1 de març de 2025'."""
    return format_date(day, _DAY.get(locale_name().split("_")[0], "long"))


def short_month(month: date) -> str:
    """'març 2025', 'abr. 2025': chart labels."""
    return format_date(month, "LLL y")


def period_text(period: Period) -> str:
    """'Període: 1 de març de 2025 – 31 de maig de 2025'."""
    return _(
        "Període: %(first)s – %(last)s",
        first=plain_day(period.first),
        last=plain_day(period.last),
    )


# --- The period form --------------------------------------------------------------------------

#: What each problem of the period form says, beside its field and in the summary.
PERIOD_PROBLEMS = {
    ("desde", Problem.INVALID): _l(
        "La data «Des de» ha de ser una data real, per exemple 01/03/2025"
    ),
    ("fins", Problem.INVALID): _l(
        "La data «Fins a» ha de ser una data real, per exemple 31/05/2025"
    ),
    ("desde", Problem.OUT_OF_RANGE): _l(
        "La data «Des de» ha de ser entre els anys %(first)s i %(last)s"
    ),
    ("fins", Problem.OUT_OF_RANGE): _l(
        "La data «Fins a» ha de ser entre els anys %(first)s i %(last)s"
    ),
    ("fins", Problem.BEFORE): _l(
        "La data «Fins a» ha de ser el mateix dia o posterior a la data «Des de»"
    ),
    ("desde", Problem.TOO_LONG): _l("El període no pot ser de més de %(years)s anys"),
}


def _problem_text(name: str, problem: Problem) -> str:
    return str(PERIOD_PROBLEMS[name, problem]) % {
        "first": periods.FIRST_YEAR,
        "last": periods.LAST_YEAR,
        "years": periods.MAX_MONTHS // 12,
    }


#: The named periods' names (``core.periods.quick_periods`` keys): every report, one wording.
QUICK_NAMES = {
    "last_twelve_months": _l("Últims 12 mesos"),
    "current_year": _l("Aquest any"),
    "previous_year": _l("L'any passat"),
    "pilot": _l("La prova pilot (mar.–mai. 2025)"),
    "pilot_and_expansion": _l("Prova pilot i ampliació (mar.–set. 2025)"),
}


def _quick_text(key: str, period: Period) -> str:
    return str(QUICK_NAMES[key]) if key in QUICK_NAMES else str(period.first.year)


def period_name(period: Period, today: date) -> str:
    """A named period's name ('Últims 12 mesos'), a whole year's number ('2025'), or its
    days ('01/03/2025 – 31/05/2025')."""
    for key, quick in periods.quick_periods(today):
        if quick == period:
            return _quick_text(key, quick)
    if period == periods.whole_year(period.first.year):
        return str(period.first.year)
    return f"{short_day(period.first)} – {short_day(period.last)}"


def chosen_period(today: date, opening: Callable[[], Period] | None = None) -> periods.PeriodChoice:
    """The period this request's ``desde`` and ``fins`` ask for, or its problems. Neither
    given: ``opening()`` (the report's :func:`core.periods.opening_period`), else the last
    twelve months."""
    return periods.choose_period(
        request.args.get("desde"), request.args.get("fins"), today, opening
    )


def period_context(choice: periods.PeriodChoice, today: date) -> dict:
    """What the ``period_form`` macro and the error summary need."""
    errors = {
        name: _problem_text(name, choice.problems[name])
        for name in periods.FIELDS
        if name in choice.problems
    }
    return {
        "period": choice.period,
        "period_errors": errors,
        "errors": [(f"#{name}", message) for name, message in errors.items()],
        "raw": {name: (request.args.get(name) or "").strip()[:40] for name in periods.FIELDS},
        "quick": [
            (_quick_text(key, period), period) for key, period in periods.quick_periods(today)
        ],
        "args": choice.period.args() if choice.period else {},
    }


# --- Tables, charts, CSV ----------------------------------------------------------------------


@dataclass
class Table:
    """A table as text cells: the page shows it, its CSV export writes exactly the same.

    The first cell of each row is the row's header. ``name`` is the table's ``taula`` in its
    CSV link; ``numeric`` right-aligns every column but the first; a page whose heading says
    what the table is hides the caption (screen readers still read it).
    """

    name: str
    caption: str
    headers: list[str]
    rows: list[list[str]]
    foot: list[list[str]] = field(default_factory=list)
    numeric: bool = True
    caption_hidden: bool = False
    # Columns after the first that hold words, not numbers (left-aligned, may wrap).
    text_columns: tuple[int, ...] = ()
    # Where the cell in column ``link_column`` of each row links to (None: no link); the CSV
    # keeps the text only.
    links: list[str | None] = field(default_factory=list)
    link_column: int = 0

    def csv_rows(self) -> list[list[str]]:
        return [*self.rows, *self.foot]


@dataclass(frozen=True)
class Chart:
    """A chart image (``data:image/svg+xml``) with its text alternative."""

    src: str
    alt: str
    width: int | None = None
    height: int | None = None


def chart(title: str, src: str, alt: str | None = None, **size) -> Chart:
    """A chart whose text alternative, unless given, sends the reader to the table below."""
    alt = alt or _("%(title)s. Les xifres són a la taula que segueix el gràfic.", title=title)
    return Chart(src, alt, **size)


def csv_download(filename: str, headers: Iterable[object], rows: Iterable[Iterable[object]]):
    """A CSV file to download (``umic.core.spreadsheet``: BOM, CRLF, no formula runs),
    semicolon-separated like every export (the cells are already written the reader's way,
    "8,3"), or comma-separated when the link says ``?separador=coma``."""
    delimiter = delimiter_named(request.args.get("separador"))
    response = Response(csv_text(headers, rows, delimiter=delimiter), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"  # figures about people: never cached
    return response


def csv_response(filename: str, table: Table) -> Response:
    """One table of a page as CSV: exactly its rows."""
    return csv_download(filename, table.headers, table.csv_rows())
