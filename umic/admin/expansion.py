"""The expansion plan (coordinators only): ``/admin/ampliacio/``.

The towns to enrol next, ranked by the seed's two criteria (more than
``EXPANSION_MIN_REQUESTS_PER_YEAR`` requests in the last twelve months, the 365 days up to
today as on every report (``core.periods``); most requests per
1,000 inhabitants), the coverage against the goal of 100 % of the towns without a consumer
office and its progress month by month; both lists download as CSV (numbers without
thousands separators, for spreadsheets).

Enrolling is never one click: each row's "Adhereix" is a link to a confirmation page (a GET:
nothing changes) with the town's figures and the day its residents can start booking (today
by default; not in the past, at most a year ahead: booking opens that day,
``Municipality.can_book``). Its button enrols the town; the page it lands on says since when
and offers "Desfés l'adhesió". Undoing is refused while the town has confirmed calls to
come, which the page lists (move or cancel them first: citizens who booked are never left
with a call in a town the service no longer serves); without them, the town is back among
the candidates as if it had never been enrolled. The registry (``admin/municipalities.py``)
edits the same date with the same rules, and there leaving the service keeps booked calls.

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
from flask import request
from flask import url_for
from flask_babel import format_date
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import StringField

from .. import clock
from ..core import periods
from ..core.codes import OfficeStatus
from ..core.dates import parse_day
from ..core.text import clean
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
from .municipalities import enrolled_message
from .reports import Table
from .reports import decimal
from .reports import number
from .reports import short_day


def _plan(today: date):
    """Everything the plan shows, in a fixed number of queries."""
    period = periods.last_twelve_months(today)
    threshold = current_app.config["EXPANSION_MIN_REQUESTS_PER_YEAR"]
    groups = expansion.group_candidates(expansion.load_candidates(period, service_tz()))
    rankings = {status: expansion.rank_towns(towns, threshold) for status, towns in groups.items()}
    coverage, enrolments = expansion.load_coverage()
    months = expansion.monthly_coverage(enrolments, coverage.without_omic, today)
    return period, threshold, rankings, coverage, months


def coverage_text(coverage: expansion.Coverage) -> str:
    """'Atesos: 25 de 303 municipis que consta que no tenen OMIC (8,3 %)'."""
    if not coverage.without_omic:
        return _("Encara no consta cap municipi sense OMIC pròpia.")
    return ngettext(
        "Atesos: %(served)s de %(total)s municipi que consta que no té OMIC (%(percent)s %%)",
        "Atesos: %(served)s de %(total)s municipis que consta que no tenen OMIC (%(percent)s %%)",
        coverage.without_omic,
        served=number(coverage.served),
        total=number(coverage.without_omic),
        percent=decimal(coverage.percent),
    )


def unknown_text(coverage: expansion.Coverage) -> str:
    """The towns outside the figure: their office is not yet known."""
    return ngettext(
        "%(num)s municipi amb l'oficina de consum encara per conèixer: no compta en la cobertura.",
        "%(num)s municipis amb l'oficina de consum encara per conèixer: no compten en la "
        "cobertura.",
        coverage.unknown,
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
    period, threshold, rankings, coverage, months = _plan(service_today())
    ranking = rankings[OfficeStatus.AGENCIA]
    return render_template(
        "admin/expansion.html",
        period=period,
        threshold=threshold,
        ranking=ranking,
        rankings=rankings,
        above=sum(line.above_threshold for line in ranking),
        coverage=coverage,
        coverage_text=coverage_text(coverage),
        unknown_text=unknown_text(coverage),
        months=months,
        chart=_coverage_chart(months) if months else None,
        coverage_table=_coverage_table(months),
        form=Form(),
        number_text=number,
        decimal_text=decimal,
        short_day=short_day,
    )


class EnrolForm(Form):
    """Enrolling a town from the plan: the day its residents can start booking."""

    starts_on = StringField(_l("Data d'inici"), filters=[clean])


def _town_or_404(town_id: int) -> Municipality:
    town = db.session.get(Municipality, town_id)
    if town is None:
        abort(404)
    return town


def _start_day(form: EnrolForm, today: date) -> date | None:
    """The start day typed, or None after putting the problem beside the field."""
    day = parse_day(form.starts_on.data or "")
    if day is None:
        form.starts_on.errors = [
            _("La data d'inici ha de ser una data real, per exemple 01/03/2027")
        ]
        return None
    problems = expansion.start_problems(day, today)
    if problems:
        form.starts_on.errors = [str(ENROLMENT_MESSAGES[problems[0]])]
        return None
    return day


def _line_of(town_id: int, today: date):
    """The town's line of the ranking (its requests, rate and rank), or None."""
    _period, _threshold, rankings, _coverage, _months = _plan(today)
    lines = (line for ranking in rankings.values() for line in ranking)
    return next((line for line in lines if line.town.town_id == town_id), None)


def _enrolment_page(town: Municipality, form: EnrolForm | None, today: date, status: int = 200):
    """The confirmation (a town not enrolled yet) or the enrolment and how to undo it."""
    upcoming = expansion.upcoming_bookings(town.id, clock.now()) if town.enrolled else []
    period = periods.last_twelve_months(today)
    page = render_template(
        "admin/expansion_enrol.html",
        town=town,
        form=form,
        line=None if town.enrolled else _line_of(town.id, today),
        period=period,
        threshold=current_app.config["EXPANSION_MIN_REQUESTS_PER_YEAR"],
        upcoming=upcoming,
        undo_form=Form(),
        link=booking_link(town) if town.enrolled else "",
        today=today,
        number_text=number,
        decimal_text=decimal,
        short_day=short_day,
    )
    return page, status


@bp.route("/ampliacio/<int:town_id>/adhereix", methods=["GET", "POST"])
def expansion_enrol(town_id: int):
    """Enrolling a town of the plan: a confirmation page with its figures and the start day
    (GET changes nothing), then the POST enrols it; an enrolled town's page says from when,
    and how to undo it."""
    town = _town_or_404(town_id)
    today = service_today()
    if town.has_omic:
        flash(str(ENROLMENT_MESSAGES[expansion.EnrolmentProblem.HAS_OMIC]), "error")
        return redirect(url_for("admin.expansion"), 303)
    if town.enrolled:
        if request.method == "POST":
            flash(
                _(
                    "%(town)s ja estava adherit al servei des del %(day)s.",
                    town=town.name,
                    day=short_day(town.enrolled_on),
                ),
                "success",
            )
            return redirect(url_for("admin.expansion_enrol", town_id=town.id), 303)
        return _enrolment_page(town, None, today)
    if request.method == "GET":
        form = EnrolForm(formdata=None, data={"starts_on": today.isoformat()})
        return _enrolment_page(town, form, today)
    form = EnrolForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _enrolment_page(town, form, today)
    day = _start_day(form, today)
    if day is None:
        return _enrolment_page(town, form, today)
    result = expansion.enrol(town.id, day)
    db.session.commit()
    db.session.refresh(town)
    if result is expansion.EnrolResult.ENROLLED:
        flash(enrolled_message(town, today), "success")
    else:
        flash(
            _(
                "%(town)s ja estava adherit al servei des del %(day)s.",
                town=town.name,
                day=short_day(town.enrolled_on),
            ),
            "success",
        )
    return redirect(url_for("admin.expansion_enrol", town_id=town.id), 303)


@bp.post("/ampliacio/<int:town_id>/desfes")
def expansion_undo(town_id: int):
    """Undo an enrolment: refused while the town has confirmed calls to come (the page lists
    them: move or cancel them first); otherwise the town is back among the candidates."""
    if not Form().validate_on_submit():
        abort(400)
    town = _town_or_404(town_id)
    if not town.enrolled:
        flash(_("%(town)s no està adherit al servei.", town=town.name), "success")
        return redirect(url_for("admin.expansion"), 303)
    if expansion.upcoming_bookings(town.id, clock.now()):
        flash(
            _(
                "No s'ha desfet l'adhesió de %(town)s: té cites confirmades pendents. "
                "Canvieu-les o anul·leu-les primer.",
                town=town.name,
            ),
            "error",
        )
        return redirect(url_for("admin.expansion_enrol", town_id=town.id), 303)
    expansion.unenrol(town.id, town.enrolled_on)
    db.session.commit()
    flash(
        _(
            "S'ha desfet l'adhesió de %(town)s: els seus veïns ja no poden reservar i torna a "
            "ser a la llista de municipis per adherir.",
            town=town.name,
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
    _period, threshold, rankings, _coverage, _months = _plan(today)
    headers = [
        _("Posició"),
        _("Codi INE"),
        _("Municipi"),
        _("Comarca"),
        _("Població"),
        _("Peticions (any fins avui)"),
        _("Peticions per 1.000 habitants"),
        _("Més de %(num)s l'any", num=threshold),
        _("Oficina de consum"),
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
            _(status.label),
        ]
        for status, ranking in rankings.items()
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
        _("Municipis que consta que no tenen OMIC"),
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
