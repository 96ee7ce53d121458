"""Survey results (coordinators only): ``/admin/enquestes/`` and its CSV exports.

For a period (a GET form with two dates; by default the last twelve months if they had
answers, else the latest year that had, ``core.periods.opening_period``): surveys sent,
answered and the response rate; the average ratings and how many gave each rating; whether
the query was resolved; the same per month, per town and per technician; the comments. Every
figure comes from ``umic.stats.survey_results`` (SQL aggregates, a fixed number of queries).

Each table is built once, as the rows of text the page shows, and the CSV export of a table
writes exactly those rows. Charts come from ``umic.stats.charts`` (SVG ``data:`` images, no
script, no third-party host), and each is followed by its table, so a screen reader, or
anyone whose image fails, gets every number.
"""

from __future__ import annotations

from babel.dates import format_date
from flask import abort
from flask import render_template
from flask import request
from flask_babel import gettext as _

from ..core import periods
from ..models import Resolved
from ..stats import survey_results as stats
from ..stats.charts import CHART_HEIGHT
from ..stats.charts import CHART_WIDTH
from ..stats.charts import bar_chart
from ..stats.charts import line_chart
from ..stats.charts import number_formatter
from ..surveys.service import RESOLVED_LABELS
from ..surveys.service import SCORES
from ..web.i18n import locale_name
from ..web.i18n import service_today
from ..web.i18n import service_tz
from . import bp
from . import reports
from .reports import Chart
from .reports import Table

TABLES = ("resum", "valoracions", "resolta", "mesos", "municipis", "tecnics", "comentaris")
#: The comments the page lists; the CSV has them all.
COMMENTS_ON_PAGE = 100


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


def build_tables(results: stats.SurveyResults, locale: str) -> dict[str, Table]:
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
        Table("resum", _("Resum del període"), [_("Indicador"), _("Valor")], summary),
        Table(
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
        Table(
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
        Table(
            "mesos",
            _("Per mes"),
            _group_headers(_("Mes")),
            [
                _group_row(stats.month_text(group.key, locale), group, locale)
                for group in results.months
            ],
        ),
        Table(
            "municipis",
            _("Per municipi"),
            _group_headers(_("Municipi")),
            [
                _group_row(group.name or _("Municipi desconegut"), group, locale)
                for group in results.towns
            ],
        ),
        Table(
            "tecnics",
            _("Per tècnic"),
            _group_headers(_("Tècnic")),
            [
                _group_row(group.name or _("Sense tècnic"), group, locale)
                for group in results.technicians
            ],
        ),
        Table(
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
    for table in tables:  # each has a heading of its own on the page
        table.caption_hidden = True
    tables[-1].numeric = False  # the comments: text
    return {table.name: table for table in tables}


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
    return Chart(src, alt, width=CHART_WIDTH, height=CHART_HEIGHT)


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
    return Chart(src, alt, width=CHART_WIDTH, height=height)


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
    return Chart(src, alt, width=CHART_WIDTH, height=CHART_HEIGHT)


# --- Views ----------------------------------------------------------------------------------------


class _Latest:
    """The latest day with an answer, asked for at most once per request."""

    def __init__(self, today):
        self.today = today
        self._day = ...

    @property
    def day(self):
        if self._day is ...:
            self._day = stats.latest_answer_day(self.today, service_tz())
        return self._day

    def opening(self):
        """The last 12 months if they had answers, else the latest year that had."""
        return periods.opening_period(self.today, self.day)


def _without_answers(results: stats.SurveyResults, latest: _Latest) -> dict:
    """What the page says when the period has no answer, and where the answers are."""
    today, period = latest.today, results.period
    with_answers = latest.opening() if latest.day is not None else None
    return {
        "no_answers_sent": results.total.sent,
        "latest_answer": latest.day,
        "with_answers": with_answers if with_answers != period else None,
        "with_answers_name": reports.period_name(with_answers, today) if with_answers else "",
    }


@bp.get("/enquestes/")
def survey_results():
    """The results for the chosen period: figures, charts, tables, comments. Without a
    period asked for, one with answers (``_Latest.opening``); a period without answers says
    so first, and links to the latest one with answers."""
    today = service_today()
    latest = _Latest(today)
    choice = reports.chosen_period(today, latest.opening)
    context = reports.period_context(choice, today)
    context["results"] = None
    if choice.period is not None:
        locale = locale_name()
        results = stats.survey_results(choice.period, service_tz(), comment_limit=COMMENTS_ON_PAGE)
        answered = results.total.scores.answers > 0
        if not answered:
            context.update(_without_answers(results, latest))
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
            comments_on_page=COMMENTS_ON_PAGE,
            period_text=reports.period_text(choice.period),
        )
    return render_template("admin/survey_results.html", **context)


@bp.get("/enquestes/export.csv")
def survey_results_csv():
    """One table of the page (``taula``) for the same period, every comment included."""
    key = request.args.get("taula", "")
    if key not in TABLES:
        abort(404)
    today = service_today()
    period = reports.chosen_period(today, _Latest(today).opening).period
    if period is None:
        abort(400)
    results = stats.survey_results(
        period, service_tz(), comment_limit=None if key == "comentaris" else COMMENTS_ON_PAGE
    )
    table = build_tables(results, locale_name())[key]
    return reports.csv_response(f"enquestes-{key}-{period.first}-{period.last}.csv", table)
