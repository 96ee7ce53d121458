"""Survey results (coordinators only): ``/admin/enquestes/`` and its CSV exports.

For a period (a GET form with two dates; by default the last twelve months): surveys sent,
answered and the response rate; the average ratings and how many gave each rating; whether
the query was resolved; the same per month, per town and per technician; the comments. Every
figure comes from ``umic.stats.survey_results`` (SQL aggregates, a fixed number of queries).

Each table is built once, as the rows of text the page shows, and the CSV export of a table
writes exactly those rows. Charts come from ``umic.stats.charts`` (SVG ``data:`` images, no
script, no third-party host), and each is followed by its table, so a screen reader, or
anyone whose image fails, gets every number.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel.dates import format_date
from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask_babel import gettext as _

from ..core.spreadsheet import csv_text
from ..models import Resolved
from ..models import Role
from ..stats import survey_results as stats
from ..stats.charts import CHART_HEIGHT
from ..stats.charts import CHART_WIDTH
from ..stats.charts import bar_chart
from ..stats.charts import line_chart
from ..stats.charts import number_formatter
from ..stats.requests import Period
from ..surveys.service import RESOLVED_LABELS
from ..surveys.service import SCORES
from ..web.auth import role_required
from ..web.i18n import locale_name
from ..web.i18n import service_today
from ..web.i18n import service_tz
from .routes import bp

TABLES = ("resum", "valoracions", "resolta", "mesos", "municipis", "tecnics", "comentaris")
#: The comments the page lists; the CSV has them all.
COMMENTS_ON_PAGE = 100


@dataclass(frozen=True)
class DataTable:
    """One table as the page shows it: the first cell of each row is its header."""

    key: str  # taula=... in the CSV link
    caption: str
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Chart:
    src: str  # data:image/svg+xml;base64,...
    alt: str
    width: int
    height: int


# --- Tables ---------------------------------------------------------------------------------------


def _group_headers(first: str) -> list[str]:
    return [
        first,
        _("Enquestes enviades"),
        _("Taxa de resposta"),
        _("Respostes"),
        _("Atenció (mitjana)"),
        _("Competència (mitjana)"),
        _("Resolta totalment"),
        _("Resolta parcialment"),
        _("No resolta"),
    ]


def _group_row(name: str, group: stats.Group, locale: str) -> list[str]:
    scores = group.scores
    return [
        name,
        stats.count_text(group.sent, locale),
        stats.percent_text(group.response_rate, locale),
        stats.count_text(scores.answers, locale),
        stats.average_text(scores.attention, locale),
        stats.average_text(scores.competence, locale),
        *(
            stats.percent_text(scores.resolved_percent(answer), locale)
            for answer in (Resolved.FULLY, Resolved.PARTLY, Resolved.NO)
        ),
    ]


def build_tables(results: stats.SurveyResults, locale: str) -> dict[str, DataTable]:
    """Every table of the page, by its CSV key, as text in the reader's language."""
    total, scores = results.total, results.total.scores
    resolved_names = {answer: str(text) for answer, text in RESOLVED_LABELS.items()}
    out_of_ten = _("de 0 a 10")
    summary = [
        [_("Enquestes enviades"), stats.count_text(total.sent, locale)],
        [
            _("Enquestes enviades que s'han respost"),
            stats.count_text(total.sent_answered, locale),
        ],
        [_("Taxa de resposta"), stats.percent_text(total.response_rate, locale)],
        [_("Respostes rebudes en el període"), stats.count_text(scores.answers, locale)],
        [
            _("Valoració mitjana de l'atenció rebuda (%(scale)s)", scale=out_of_ten),
            stats.average_text(scores.attention, locale),
        ],
        [
            _("Valoració mitjana de la competència del tècnic (%(scale)s)", scale=out_of_ten),
            stats.average_text(scores.competence, locale),
        ],
        *(
            [
                _("S'ha resolt la consulta: %(answer)s", answer=resolved_names[answer].lower()),
                stats.percent_text(scores.resolved_percent(answer), locale),
            ]
            for answer in (Resolved.FULLY, Resolved.PARTLY, Resolved.NO)
        ),
        [_("Respostes amb comentari"), stats.count_text(results.comments_total, locale)],
    ]
    tables = [
        DataTable("resum", _("Resum del període"), [_("Indicador"), _("Valor")], summary),
        DataTable(
            "valoracions",
            _("Respostes per puntuació"),
            [_("Puntuació"), _("Atenció rebuda"), _("Competència del tècnic")],
            [
                [
                    str(score),
                    stats.count_text(results.attention[score], locale),
                    stats.count_text(results.competence[score], locale),
                ]
                for score in SCORES
            ],
        ),
        DataTable(
            "resolta",
            _("S'ha resolt la consulta?"),
            [_("Resposta"), _("Respostes"), _("Percentatge")],
            [
                [
                    resolved_names[answer],
                    stats.count_text(scores.resolved_counts[answer], locale),
                    stats.percent_text(scores.resolved_percent(answer), locale),
                ]
                for answer in (Resolved.FULLY, Resolved.PARTLY, Resolved.NO)
            ],
        ),
        DataTable(
            "mesos",
            _("Per mes"),
            _group_headers(_("Mes")),
            [
                _group_row(stats.month_text(group.key, locale), group, locale)
                for group in results.months
            ],
        ),
        DataTable(
            "municipis",
            _("Per municipi"),
            _group_headers(_("Municipi")),
            [
                _group_row(group.name or _("Municipi desconegut"), group, locale)
                for group in results.towns
            ],
        ),
        DataTable(
            "tecnics",
            _("Per tècnic"),
            _group_headers(_("Tècnic")),
            [
                _group_row(group.name or _("Sense tècnic"), group, locale)
                for group in results.technicians
            ],
        ),
        DataTable(
            "comentaris",
            _("Comentaris"),
            [
                _("Data"),
                _("Municipi"),
                _("Atenció"),
                _("Competència"),
                _("S'ha resolt?"),
                _("Comentari"),
            ],
            [
                [
                    format_date(
                        comment.answered_at.astimezone(service_tz()).date(),
                        "dd/MM/yyyy",
                        locale=locale.replace("-", "_"),
                    ),
                    comment.town or _("Municipi desconegut"),
                    str(comment.attention),
                    str(comment.competence),
                    resolved_names.get(comment.resolved, comment.resolved),
                    comment.text,
                ]
                for comment in results.comments
            ],
        ),
    ]
    return {table.key: table for table in tables}


# --- Charts ---------------------------------------------------------------------------------------


def _ratings_chart(results: stats.SurveyResults, locale: str) -> Chart:
    title = _("Respostes per puntuació")
    src = bar_chart(
        title,
        [str(score) for score in SCORES],
        [
            (_("Atenció rebuda"), [results.attention[score] for score in SCORES]),
            (_("Competència del tècnic"), [results.competence[score] for score in SCORES]),
        ],
        locale=locale,
        y_title=_("Respostes"),
        height=CHART_HEIGHT,
    )
    alt = _(
        "%(title)s: quantes respostes han donat cada puntuació, de 0 (gens satisfet) a 10 "
        "(molt satisfet), a l'atenció rebuda i a la competència del tècnic. Les xifres són a "
        "la taula següent.",
        title=title,
    )
    return Chart(src, alt, CHART_WIDTH, CHART_HEIGHT)


def _resolved_chart(results: stats.SurveyResults, locale: str) -> Chart:
    title = _("S'ha resolt la consulta?")
    answers = (Resolved.FULLY, Resolved.PARTLY, Resolved.NO)
    shares = {answer: results.total.scores.resolved_percent(answer) for answer in answers}
    names = [str(RESOLVED_LABELS[answer]) for answer in answers]
    height = 300
    src = bar_chart(
        title,
        names,
        [(_("Percentatge de respostes"), [float(shares[answer] or 0) for answer in answers])],
        horizontal=True,
        locale=locale,
        value_formatter=lambda value: stats.percent_text(stats.rounded(value), locale),
        integers=False,
        height=height,
    )
    described = "; ".join(
        f"{name}: {stats.percent_text(shares[answer], locale)}"
        for name, answer in zip(names, answers, strict=True)
    )
    alt = _("%(title)s %(shares)s.", title=title, shares=described)
    return Chart(src, alt, CHART_WIDTH, height)


def _months_chart(results: stats.SurveyResults, locale: str) -> Chart:
    title = _("Valoració mitjana per mes")

    def averages(attribute: str) -> list[float | None]:
        values = [getattr(group.scores, attribute) for group in results.months]
        return [None if value is None else float(value) for value in values]

    src = line_chart(
        title,
        # Short labels ("gen. 25"): the table below names each month in full.
        [
            format_date(group.key, "LLL yy", locale=locale.replace("-", "_"))
            for group in results.months
        ],
        [
            (_("Atenció rebuda"), averages("attention")),
            (_("Competència del tècnic"), averages("competence")),
        ],
        locale=locale,
        value_formatter=number_formatter(locale, decimals=1),
        integers=False,
        y_title=_("Mitjana"),
    )
    alt = _(
        "%(title)s: valoració mitjana de l'atenció rebuda i de la competència del tècnic, de "
        "0 a 10, mes a mes. Les xifres són a la taula següent.",
        title=title,
    )
    return Chart(src, alt, CHART_WIDTH, CHART_HEIGHT)


# --- Views ----------------------------------------------------------------------------------------


def _problem_text(name: str, code: str) -> str:
    start = name == "desde"
    return {
        "invalid": _("Escriviu la data d'inici com a dia/mes/any, per exemple 1/3/2025")
        if start
        else _("Escriviu la data final com a dia/mes/any, per exemple 31/3/2025"),
        "out_of_range": _(
            "La data d'inici ha de ser entre els anys %(first)s i %(last)s",
            first=stats.FIRST_YEAR,
            last=stats.LAST_YEAR,
        )
        if start
        else _(
            "La data final ha de ser entre els anys %(first)s i %(last)s",
            first=stats.FIRST_YEAR,
            last=stats.LAST_YEAR,
        ),
        "before_start": _("La data final ha de ser igual o posterior a la data d'inici"),
        "too_long": _(
            "El període pot ser de %(years)s anys com a màxim", years=stats.MAX_PERIOD_YEARS
        ),
    }[code]


def _choice() -> stats.PeriodChoice:
    today = service_today()
    return stats.choose_period(request.args.get("desde"), request.args.get("fins"), today)


def _period_args(period: Period) -> dict[str, str]:
    return {"desde": period.first.isoformat(), "fins": period.last.isoformat()}


@bp.get("/enquestes/")
@role_required(Role.COORDINATOR)
def survey_results():
    """The results for the chosen period: figures, charts, tables, comments."""
    choice = _choice()
    locale = locale_name()
    errors = {name: _problem_text(name, code) for name, code in choice.problems.items()}
    context = {
        "errors": errors,
        "summary": [(f"#{name}", errors[name]) for name in ("desde", "fins") if name in errors],
        "raw": {name: request.args.get(name, "")[:20] for name in ("desde", "fins")},
        "period": choice.period,
        "results": None,
    }
    if choice.period is not None:
        results = stats.survey_results(choice.period, service_tz(), comment_limit=COMMENTS_ON_PAGE)
        answered = results.total.scores.answers > 0
        context.update(
            results=results,
            tables=build_tables(results, locale),
            charts={
                "valoracions": _ratings_chart(results, locale),
                "resolta": _resolved_chart(results, locale),
                "mesos": _months_chart(results, locale),
            }
            if answered
            else {},
            period_args=_period_args(choice.period),
            comments_on_page=COMMENTS_ON_PAGE,
        )
    return render_template("admin/survey_results.html", **context)


@bp.get("/enquestes/export.csv")
@role_required(Role.COORDINATOR)
def survey_results_csv():
    """One table of the page (``taula``) for the same period, every comment included."""
    key = request.args.get("taula", "")
    if key not in TABLES:
        abort(404)
    choice = _choice()
    if choice.period is None:
        abort(400)
    results = stats.survey_results(
        choice.period,
        service_tz(),
        comment_limit=None if key == "comentaris" else COMMENTS_ON_PAGE,
    )
    table = build_tables(results, locale_name())[key]
    response = Response(csv_text(table.headers, table.rows), mimetype="text/csv")
    name = f"enquestes-{key}-{choice.period.first.isoformat()}-{choice.period.last.isoformat()}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
