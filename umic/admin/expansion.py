"""The expansion plan (coordinators only): ``/admin/ampliacio/``.

The towns to enrol next, ranked by the seed's two criteria (more than
``EXPANSION_MIN_REQUESTS_PER_YEAR`` requests in the year that ends today; most requests per
1,000 inhabitants), the coverage against the goal of 100 % of the towns without a consumer
office and its progress month by month; a town is enrolled from the ranking in one click;
both lists download as CSV (numbers without thousands separators, for spreadsheets).

The rules (ranking, coverage, who may be enrolled) are in ``umic.stats.expansion``; the
pieces the page is drawn with are the reports toolkit's (``admin/reports.py``).
"""

from __future__ import annotations

from datetime import date

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import format_date
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import ngettext

from ..core import periods
from ..extensions import db
from ..models import Municipality
from ..stats import expansion
from ..stats.charts import line_chart
from ..web.forms import Form
from ..web.i18n import locale_name
from ..web.i18n import month_text
from ..web.i18n import service_today
from ..web.i18n import service_tz
from . import bp
from . import reports
from .municipalities import ENROLMENT_MESSAGES
from .municipalities import booking_link
from .reports import Table
from .reports import decimal
from .reports import number
from .reports import short_day


def _plan(today: date):
    """Everything the plan shows, in a fixed number of queries."""
    period = periods.year_ending(today)
    threshold = current_app.config["EXPANSION_MIN_REQUESTS_PER_YEAR"]
    ranking = expansion.rank_towns(expansion.load_candidates(period, service_tz()), threshold)
    coverage, enrolments = expansion.load_coverage()
    months = expansion.monthly_coverage(enrolments, coverage.without_omic, today)
    return period, threshold, ranking, coverage, months


def coverage_text(coverage: expansion.Coverage) -> str:
    """'25 de 303 municipis sense OMIC atesos (8,3 %)'."""
    return ngettext(
        "%(served)s de %(total)s municipi sense OMIC atès (%(percent)s %%)",
        "%(served)s de %(total)s municipis sense OMIC atesos (%(percent)s %%)",
        coverage.without_omic,
        served=number(coverage.served),
        total=number(coverage.without_omic),
        percent=decimal(coverage.percent),
    )


def percent_text(value) -> str:
    """'8,3 %', and '100 %' for a whole number (the chart's axis)."""
    if value is None:
        return ""
    pattern = "#,##0" if float(value).is_integer() else "#,##0.0"
    return f"{format_decimal(value, format=pattern)} %"


def chart_labels(months: list[date], most: int = 8) -> list[str]:
    """About ``most`` month names spread along the axis ('març 2025'), blanks between them.

    Every month still has its point; the table below names each one.
    """
    step = -(-len(months) // most)
    return [
        format_date(month, "LLL y") if index % step == 0 else ""
        for index, month in enumerate(months)
    ]


def _coverage_chart(months: list[expansion.CoverageMonth]) -> reports.Chart:
    title = _("Cobertura dels municipis sense OMIC, per mes")
    src = line_chart(
        title,
        chart_labels([line.month for line in months]),
        [
            (_("Cobertura"), [float(line.percent or 0) for line in months]),
            (_("Objectiu (%(percent)s %%)", percent=100), [100.0] * len(months)),
        ],
        locale=locale_name(),
        value_formatter=percent_text,
        integers=False,
    )
    return reports.chart(title, src)


def _coverage_table(months: list[expansion.CoverageMonth]) -> Table:
    return Table(
        "cobertura",
        _("Cobertura a final de cada mes"),
        [_("Mes"), _("Adhesions del mes"), _("Municipis adherits"), _("Cobertura")],
        [
            [month_text(line.month), number(line.enrolled), number(line.served)]
            + [f"{decimal(line.percent)} %"]
            for line in months
        ],
    )


@bp.get("/ampliacio/", endpoint="expansion")
def expansion_plan():
    """Which towns to enrol next, and how far the service reaches."""
    period, threshold, ranking, coverage, months = _plan(service_today())
    return render_template(
        "admin/expansion.html",
        period=period,
        threshold=threshold,
        ranking=ranking,
        above=sum(line.above_threshold for line in ranking),
        coverage=coverage,
        coverage_text=coverage_text(coverage),
        months=months,
        chart=_coverage_chart(months) if months else None,
        coverage_table=_coverage_table(months),
        form=Form(),
        number_text=number,
        decimal_text=decimal,
        short_day=short_day,
    )


@bp.post("/ampliacio/<int:town_id>/adhereix")
def expansion_enrol(town_id: int):
    """Enrol a town of the ranking from today; back to the plan with a message."""
    if not Form().validate_on_submit():
        abort(400)
    today = service_today()
    result = expansion.enrol(town_id, today)
    if result is expansion.EnrolResult.NOT_FOUND:
        abort(404)
    db.session.commit()
    town = db.session.get(Municipality, town_id)
    if result is expansion.EnrolResult.ENROLLED:
        flash(
            _(
                "%(town)s s'ha adherit al servei des d'avui: els seus veïns ja poden reservar. "
                "Enllaç de reserva: %(link)s",
                town=town.name,
                link=booking_link(town),
            ),
            "success",
        )
    elif result is expansion.EnrolResult.HAS_OMIC:
        flash(str(ENROLMENT_MESSAGES[expansion.EnrolmentProblem.HAS_OMIC]), "error")
    else:
        flash(
            _(
                "%(town)s ja estava adherit al servei des del %(day)s.",
                town=town.name,
                day=short_day(town.enrolled_on),
            ),
            "success",
        )
    return redirect(url_for("admin.expansion"), 303)


def yes_no(value: bool) -> str:
    return _("Sí") if value else _("No")


@bp.get("/ampliacio/municipis.csv")
def expansion_ranking_csv():
    """The ranking as on the page (numbers without thousands separators)."""
    today = service_today()
    _period, threshold, ranking, _coverage, _months = _plan(today)
    headers = [
        _("Posició"),
        _("Codi INE"),
        _("Municipi"),
        _("Comarca"),
        _("Població"),
        _("Peticions (any fins avui)"),
        _("Peticions per 1.000 habitants"),
        _("Més de %(num)s l'any", num=threshold),
    ]
    rows = [
        [
            line.rank,
            line.town.ine_code,
            line.town.name,
            line.town.comarca,
            "" if line.town.population is None else line.town.population,
            line.town.requests,
            decimal(line.rate_rounded),
            yes_no(line.above_threshold),
        ]
        for line in ranking
    ]
    return reports.csv_download(f"ampliacio-municipis-{today.isoformat()}.csv", headers, rows)


@bp.get("/ampliacio/cobertura.csv")
def expansion_coverage_csv():
    """The coverage at the end of each month."""
    today = service_today()
    coverage, enrolments = expansion.load_coverage()
    months = expansion.monthly_coverage(enrolments, coverage.without_omic, today)
    headers = [
        _("Mes"),
        _("Adhesions del mes"),
        _("Municipis adherits"),
        _("Municipis sense OMIC"),
        _("Cobertura (%(unit)s)", unit="%"),
    ]
    rows = [
        [
            line.month.strftime("%Y-%m"),
            line.enrolled,
            line.served,
            coverage.without_omic,
            decimal(line.percent),
        ]
        for line in months
    ]
    return reports.csv_download(f"ampliacio-cobertura-{today.isoformat()}.csv", headers, rows)
