"""Monthly counts of requests per town and channel, for months before the app (coordinators).

/admin/comptatges/ : pick a month, then a grid (a row per town that has counts that month,
a column per channel, plus rows to add towns) saved as ``ChannelCount`` rows: upsert on
month + town + channel, 0 (or an empty box) removes the row, every change records who made
it. Below, the months that have counts with their totals, and the import of a CSV file
``month,ine_code,channel,count`` (all lines or none; the same file twice changes nothing).
The same import runs from the command line: ``flask --app umic counts import FILE``.

The statistics use a month's count of a channel only when the app holds no record of that
channel in that month, in any town (``umic.stats.requests``): nothing is counted twice, and
the page says so.

The rules (parsing, upsert, import) are in ``umic.stats.service_stats``; this module reads
the form, words the problems and renders. Forms work without JavaScript (POST, then 303).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date

from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from .. import clock
from ..casefiles.labels import CHANNELS as CHANNEL_LABELS
from ..core.numbers import int_in_range
from ..core.text import sort_key
from ..extensions import db
from ..models import Municipality
from ..stats import service_stats as stats
from ..stats.requests import CHANNELS
from ..web.i18n import of_month_text
from ..web.i18n import service_today
from ..web.i18n import switching_language
from . import bp

#: The channels' codes, as a file of counts writes them: 'telematica, bustia, umic'.
CHANNEL_CODES = ", ".join(CHANNELS)

#: Rows offered at once to add towns that have no counts yet that month.
NEW_ROWS = 3

MONTH_MESSAGES = {
    "invalid": _l("Escriviu el mes amb el format AAAA-MM, per exemple 2025-03"),
    "future": _l("Trieu un mes que ja hagi començat: els comptatges són de peticions rebudes"),
}

IMPORT_MESSAGES = {
    "columns": _l("Línia %(line)s: calen 4 columnes: mes, codi INE, canal i nombre"),
    "month": _l("Línia %(line)s: el mes «%(value)s» no té el format AAAA-MM"),
    "future": _l("Línia %(line)s: el mes %(value)s encara no ha començat"),
    "town": _l("Línia %(line)s: cap municipi té el codi INE «%(value)s»"),
    "channel": _l("Línia %(line)s: el canal «%(value)s» ha de ser un d'aquests: %(channels)s"),
    "count": _l("Línia %(line)s: el nombre «%(value)s» ha de ser un enter de 0 o més"),
    "repeated": _l("Línia %(line)s: %(value)s ja apareix en una línia anterior"),
    "empty": _l("El fitxer no té cap línia de dades"),
    "encoding": _l("El fitxer ha de ser text CSV, en UTF-8 o Windows-1252"),
    "size": _l("El fitxer és massa gran: el màxim és de 2 MB"),
}


def _month_problem(text: str, today: date) -> tuple[date | None, str]:
    month = stats.parse_month(text)
    if month is None:
        return None, "invalid"
    if month > today.replace(day=1):
        return None, "future"
    return month, ""


@dataclass
class Cell:
    channel: str
    name: str  # the input's name and id
    value: str
    error: str = ""


@dataclass
class GridRow:
    """A town already counted that month (``town_id``), or a row to add one (``town_id`` None)."""

    key: str  # "n-12" or "nou-1": the prefix of the row's inputs
    town_id: int | None
    name: str
    cells: list[Cell]
    town_value: str = ""  # new rows: the chosen town
    town_error: str = ""


@dataclass
class Grid:
    month: date
    rows: list[GridRow] = field(default_factory=list)
    new_rows: list[GridRow] = field(default_factory=list)

    def errors(self) -> list[tuple[str, str]]:
        items = []
        for row in [*self.rows, *self.new_rows]:
            if row.town_error:
                items.append((f"#{row.key}-municipi", row.town_error))
            items += [(f"#{cell.name}", cell.error) for cell in row.cells if cell.error]
        return items


def _towns() -> tuple[dict[int, str], list[tuple[int, str, bool]]]:
    """id -> name, and the choices (enrolled towns first, then the rest), in one query."""
    rows = db.session.execute(
        select(Municipality.id, Municipality.name, Municipality.enrolled_on).order_by(
            Municipality.enrolled_on.is_(None), Municipality.search_name
        )
    ).all()
    return {town_id: name for town_id, name, _on in rows}, [
        (town_id, name, enrolled_on is not None) for town_id, name, enrolled_on in rows
    ]


def _grid(month: date, names: dict[int, str], form: dict | None = None) -> Grid:
    """The grid of ``month`` with the saved counts, or with what was typed (``form``)."""
    saved = stats.counts_of_month(month)
    grid = Grid(month)
    ordered = sorted(saved, key=lambda town_id: sort_key(names.get(town_id, "")))
    for town_id in ordered:
        key = f"n-{town_id}"
        # A box missing from the form (a town someone else added meanwhile) keeps its count.
        shown = {c: str(saved[town_id][c] or "") for c in CHANNELS}
        cells = [Cell(c, f"{key}-{c}", (form or {}).get(f"{key}-{c}", shown[c])) for c in CHANNELS]
        grid.rows.append(GridRow(key, town_id, names.get(town_id, ""), cells))
    for index in range(1, NEW_ROWS + 1):
        key = f"nou-{index}"
        cells = [
            Cell(c, f"{key}-{c}", form.get(f"{key}-{c}", "") if form is not None else "")
            for c in CHANNELS
        ]
        town_value = form.get(f"{key}-municipi", "") if form is not None else ""
        grid.new_rows.append(GridRow(key, None, "", cells, town_value=town_value))
    return grid


def _checked(grid: Grid, names: dict[int, str]) -> dict[stats.CountKey, int] | None:
    """The counts to save, or None after putting a message beside every wrong box."""
    values: dict[stats.CountKey, int] = {}
    valid = True
    in_grid = {row.town_id for row in grid.rows}
    chosen: set[int] = set()
    for row in [*grid.rows, *grid.new_rows]:
        town_id = row.town_id
        counts: dict[str, int] = {}
        for cell in row.cells:
            count = stats.parse_count(cell.value)
            if count is None:
                cell.error = _(
                    "%(channel)s: escriviu un nombre enter de 0 o més",
                    channel=CHANNEL_LABELS[cell.channel],
                )
                valid = False
            else:
                counts[cell.channel] = count
        if town_id is None:  # a row to add a town
            text = row.town_value.strip()
            town_id = number if (number := int_in_range(text)) in names else None
            if not text:
                if any(counts.values()):
                    row.town_error = _("Trieu el municipi d'aquests nombres")
                    valid = False
                continue
            if town_id is None:
                row.town_error = _("Trieu un municipi de la llista")
                valid = False
                continue
            row.name = names[town_id]
            if town_id in in_grid or town_id in chosen:
                row.town_error = _(
                    "%(town)s ja és a la taula: canvieu-hi els nombres directament",
                    town=names[town_id],
                )
                valid = False
                continue
            chosen.add(town_id)
            if not any(counts.values()) and len(counts) == len(CHANNELS):
                row.cells[0].error = _(
                    "Escriviu almenys un nombre per a %(town)s", town=names[town_id]
                )
                valid = False
                continue
        for channel, count in counts.items():
            values[stats.CountKey(grid.month, town_id, channel)] = count
    return values if valid else None


def _page(**context) -> str:
    """The page, with whatever of the month box, the grid and the import is in ``context``."""
    names, choices = _towns()
    context.setdefault("months", stats.months_with_counts())
    context.setdefault("month_error", "")
    context.setdefault("month_text_value", "")
    context.setdefault("grid", None)
    context.setdefault("import_problems", [])
    context.setdefault("import_error", "")
    grid = context["grid"]
    errors = list(grid.errors()) if grid is not None else []
    if context["month_error"]:
        errors.insert(0, ("#mes", context["month_error"]))
    if context["import_error"]:
        errors.append(("#fitxer", context["import_error"]))
    return render_template(
        "admin/channel_counts.html",
        errors=errors,
        names=names,
        choices=choices,
        channels=[(c, CHANNEL_LABELS[c]) for c in CHANNELS],
        channel_names={c: str(CHANNEL_LABELS[c]) for c in CHANNELS},
        channel_codes=CHANNEL_CODES,
        number=lambda n: format_decimal(n, format="#,##0"),
        **context,
    )


@bp.route("/comptatges/", methods=["GET", "POST"])
def channel_counts():
    """Enter the counts of one month; list the months that have counts; import a file."""
    today = service_today()
    text = (request.values.get("mes") or "").strip()[:20]
    if not text:
        if request.method == "POST":
            return _page(month_error=str(MONTH_MESSAGES["invalid"]))
        return _page()
    month, problem = _month_problem(text, today)
    if month is None:
        return _page(month_error=str(MONTH_MESSAGES[problem]), month_text_value=text)
    names, _choices = _towns()
    if request.method == "GET":
        return _page(grid=_grid(month, names), month_text_value=f"{month:%Y-%m}")
    # The form token was checked by CSRFProtect before this view ran.
    grid = _grid(month, names, form={k: v[:20] for k, v in request.form.items()})
    if switching_language():  # the language switch: what was typed, unchecked and unsaved
        return _page(grid=grid, month_text_value=f"{month:%Y-%m}")
    values = _checked(grid, names)
    if values is None:
        return _page(grid=grid, month_text_value=f"{month:%Y-%m}")
    report = stats.save_counts(values, actor_id=current_user.id, now=clock.now())
    db.session.commit()
    if report.changed:
        flash(_("S'han desat els comptatges %(month)s.", month=of_month_text(month)), "success")
    else:
        flash(
            _("No hi havia cap canvi als comptatges %(month)s.", month=of_month_text(month)),
            "success",
        )
    return redirect(url_for("admin.channel_counts", mes=f"{month:%Y-%m}"), 303)


@bp.post("/comptatges/importa")
def channel_counts_import():
    """Import a CSV of counts: every line or none, with the list of lines to correct."""
    upload = request.files.get("fitxer")
    if upload is None or not upload.filename:
        return _page(import_error=_("Trieu el fitxer CSV que voleu importar"))
    data = upload.stream.read(stats.MAX_IMPORT_BYTES + 1)
    result = stats.import_counts(
        data, actor_id=current_user.id, now=clock.now(), today=service_today()
    )
    if not result.ok:
        db.session.rollback()
        problems = [
            str(IMPORT_MESSAGES[p.code])
            % {"line": p.line, "value": p.value, "channels": CHANNEL_CODES}
            for p in result.problems
        ]
        current_app.logger.info("counts import refused: %s problems", len(problems))
        summary = (
            problems[0]
            if len(problems) == 1 and not result.problems[0].line
            else ngettext(
                "El fitxer té %(num)s error: no s'ha importat cap línia",
                "El fitxer té %(num)s errors: no s'ha importat cap línia",
                len(problems),
            )
        )
        return _page(import_error=summary, import_problems=problems)
    db.session.commit()
    r = result.report
    flash(
        _(
            "Fitxer importat (%(rows)s línies): %(created)s comptatges nous, %(updated)s "
            "canviats, %(deleted)s esborrats i %(unchanged)s sense canvis.",
            rows=result.rows,
            created=r.created,
            updated=r.updated,
            deleted=r.deleted,
            unchanged=r.unchanged,
        ),
        "success",
    )
    return redirect(url_for("admin.channel_counts"), 303)
