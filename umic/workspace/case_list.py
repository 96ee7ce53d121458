"""The case list (/espai/expedients/) and its CSV export, like the tracker the service used.

Every technician and coordinator sees every case: the team shares the work (who may change
one: docs/architecture.md, "Who may change a case"). The filters are
a GET form, so the state is in the URL (bookmarks and the back button work); htmx only swaps
the results in place and pushes the URL. Queries live in ``umic.casefiles.queries``.

**Columns.** The page shows the default set of columns (``queries.DEFAULT_COLUMNS``: readable
on a 1280-pixel screen) or the ones this member of staff chose in "Columnes", a plain GET form
of checkboxes (no JavaScript needed) whose choice is kept on their ``StaffUser`` and applies
on every device; "Restableix" goes back to the default set. Saving a choice on a GET is
deliberate: it changes nothing but how this person's own list looks, so a forged link can do
no harm, and the form stays an ordinary search-like form. The CSV export always has every
column.

**CSV.** Semicolon-separated with a BOM by default, which Excel with Catalan or Spanish
regional settings opens in columns; ``?separador=coma`` gives the comma variant
(``umic.core.spreadsheet``).
"""

from __future__ import annotations

from itertools import chain

from flask import Response
from flask import current_app
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import format_currency
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from .. import clock
from ..casefiles import queries
from ..casefiles.labels import CASE_STATUSES
from ..casefiles.labels import CASE_TYPES
from ..casefiles.labels import CHANNELS
from ..core import spreadsheet
from ..extensions import db
from ..web.htmx import is_htmx
from ..web.htmx import render_page_or_fragment
from ..web.i18n import locale_name
from ..web.i18n import service_tz
from . import bp

#: The table's headers, in the tracker's order and wording (translatable on screen).
HEADINGS = {
    "id": _l("ID"),
    "tramit": _l("Nom tràmit"),
    "registre": _l("Registre"),
    "expedient": _l("Expedient"),
    "classificacio": _l("Classificació"),
    "convocatoria": _l("Convocatòria"),
    "peticio": _l("Data petició"),
    "actualitzacio": _l("Data actualització"),
    "estat": _l("Estat Petició"),
    "detall_estat": _l("Detall estat"),
    "estat_intern": _l("Estat intern"),
    "detall_intern": _l("Detall estat intern"),
    "assignat": _l("Usuari assignat"),
    "organic": _l("Orgànic"),
    "interessat": _l("Nom interessat"),
    "id_anterior": _l("ID anterior"),
    "termini": _l("Termini documentació"),
    "import_reclamat": _l("Import reclamat"),
    "import_recuperat": _l("Import recuperat"),
    "empresa": _l("Empresa"),
}
#: Columns whose values never wrap (dates, codes, numbers).
NOWRAP = {
    "id",
    "id_anterior",
    "expedient",
    "peticio",
    "actualitzacio",
    "termini",
    "assignat",
    "organic",
    "import_reclamat",
    "import_recuperat",
}
#: What the column form's two buttons send as ``columnes``.
SAVE_COLUMNS = "desa"
RESET_COLUMNS = "restableix"

PROBLEMS = {
    ("desde", "invalid"): _l("La data «Des de» ha de ser una data real, per exemple 15/05/2025"),
    ("fins", "invalid"): _l("La data «Fins a» ha de ser una data real, per exemple 31/05/2025"),
    ("fins", "before_start"): _l(
        "La data «Fins a» ha de ser el mateix dia o posterior a la data «Des de»"
    ),
}

#: Rows fetched from the database at a time while the export streams.
EXPORT_BATCH = 1000


def status_label(code: str) -> str:
    """The status in words, as the list shows it."""
    return str(CASE_STATUSES.get(code, code))


def count_text(page: queries.Page) -> str:
    """'Mostrant de 1 a 21 de 21 registres', or 'Cap registre'."""
    if not page.total:
        return str(_l("Cap registre"))
    if page.capped:
        return _(
            "Mostrant de %(first)s a %(last)s de més de %(total)s registres",
            first=format_decimal(page.first),
            last=format_decimal(page.last),
            total=format_decimal(page.total),
        )
    return ngettext(
        "Mostrant de %(first)s a %(last)s de %(total)s registre",
        "Mostrant de %(first)s a %(last)s de %(total)s registres",
        page.total,
        first=format_decimal(page.first),
        last=format_decimal(page.last),
        total=format_decimal(page.total),
    )


def money(amount) -> str:
    """'245,50 €', the reader's way."""
    return format_currency(amount, "EUR")


def _save_columns(query: queries.CaseListQuery):
    """Keep the columns chosen in the "Columnes" form (or forget them), then show the list
    with the same filters and order at a clean address."""
    if request.args.get("columnes") == RESET_COLUMNS:
        current_user.case_list_columns = None
    else:
        current_user.case_list_columns = queries.stored_columns(request.args.getlist("columna"))
    db.session.commit()
    return redirect(url_for("workspace.case_list", **query.args()), 303)


@bp.get("/expedients/")
def case_list():
    """Every case, filtered, searched, sorted and a page at a time."""
    tz = service_tz()
    query, problems = queries.parse_args(request.args)
    if request.args.get("columnes") in (SAVE_COLUMNS, RESET_COLUMNS):
        return _save_columns(query)
    columns = queries.parse_columns(current_user.case_list_columns)
    page, rows = queries.fetch_page(db.session, query, tz, current_app.config["CASES_PAGE_SIZE"])
    errors = [(f"#{name}", str(PROBLEMS[name, code])) for name, code in problems.items()]
    context = {
        "query": query,
        "paging": page,
        "rows": rows,
        "count_text": count_text(page),
        "headings": HEADINGS,
        "columns": columns,
        "all_columns": queries.COLUMN_KEYS,
        "default_columns": queries.DEFAULT_COLUMNS,
        "always_shown": queries.ALWAYS_SHOWN,
        "nowrap": NOWRAP,
        "save_columns": SAVE_COLUMNS,
        "reset_columns": RESET_COLUMNS,
        "errors": errors,
        "field_errors": dict((href[1:], message) for href, message in errors),
        "raw": {name: request.args.get(name, "")[:40] for name in ("desde", "fins")},
        "towns": queries.municipality_choices(db.session),
        "staff": queries.staff_choices(db.session),
        "statuses": CASE_STATUSES,
        "case_types": CASE_TYPES,
        "channels": CHANNELS,
        "unassigned": queries.UNASSIGNED,
        "companies": queries.company_choices(db.session),
        "sectors": queries.sector_choices(locale_name().split("_")[0]),
        "cells": lambda row: queries.row_cells(row, tz, status_label, money),
    }
    if errors and is_htmx():
        # The messages belong beside the fields and in a summary above the heading: swap the
        # whole <main>, whose summary htmx then focuses (autofocus).
        response = make_response(render_template("workspace/case_list.html", **context))
        response.headers["HX-Retarget"] = "#main"
        response.headers["HX-Reswap"] = "outerHTML"
        response.headers["HX-Reselect"] = "#main"
        response.vary.add("HX-Request")
        return response
    response = render_page_or_fragment(
        "workspace/case_list.html", "workspace/_case_rows.html", **context
    )
    if is_htmx():
        # The address bar gets the tidy URL (no empty fields, the page actually shown).
        canonical = query.args(page=page.number)
        response.headers["HX-Push-Url"] = url_for("workspace.case_list", **canonical)
    return response


def _export_chunks(engine, statement, tz, labels: dict[str, str], delimiter: str):
    """The CSV text, streamed from rows read in batches on a connection of its own.

    Nothing here needs the request: the rows keep coming after the view has returned (and the
    request's session is gone), and the connection closes when the download ends or stops.
    """
    with engine.connect() as connection:
        # A server-side cursor on PostgreSQL: 100,000 cases never sit in memory at once.
        rows = connection.execution_options(yield_per=EXPORT_BATCH).execute(statement)
        yield from queries.csv_chunks(
            rows, tz, lambda code: labels.get(code, code), delimiter=delimiter
        )


@bp.get("/expedients/export.csv")
def case_list_csv():
    """What the list finds with the same filters and order, all pages and every column, as
    CSV: semicolons by default, commas with ``?separador=coma``."""
    tz = service_tz()
    query, _problems = queries.parse_args(request.args)
    labels = {code: str(text) for code, text in CASE_STATUSES.items()}
    delimiter = spreadsheet.delimiter_named(request.args.get("separador"))
    statement = queries.rows_statement(query, tz)
    chunks = _export_chunks(db.engine, statement, tz, labels, delimiter)
    # The query runs now, so a database error is an error page, not a cut-off file.
    first = next(chunks)
    stamp = clock.now().astimezone(tz).strftime("%Y%m%d-%H%M")
    response = Response(chain([first], chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="expedients-{stamp}.csv"'
    # Personal data: never kept by a shared cache.
    response.headers["Cache-Control"] = "no-store"
    return response
