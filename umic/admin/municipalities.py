"""The municipality registry and the expansion plan (coordinators only).

- ``/admin/municipis/``: every town of the province with its INE code, comarca, population,
  OMIC and enrolment; search, filters and sort in a GET form (the state is in the URL), htmx
  only swaps the results in place. Each enrolled town's booking link, ready to copy.
- ``/admin/municipis/<id>``: a town's OMIC and enrolment (name, comarca and population come
  from the INE file and are not edited here).
- ``/admin/ampliacio/``: the towns to enrol next, ranked by the seed's criteria, the coverage
  against the 100 % goal and its progress per month; enrol a town from the ranking; CSV.

The rules (ranking, coverage, who may be enrolled) are in ``umic.stats.expansion``; this
module reads the request, calls them and renders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from flask import Response
from flask import abort
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
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import true
from wtforms import BooleanField
from wtforms import StringField

from .. import embed
from ..casefiles.queries import parse_day
from ..core.spreadsheet import csv_text
from ..core.text import clean
from ..core.text import fold
from ..extensions import db
from ..models import Municipality
from ..models import Role
from ..stats import expansion
from ..web.auth import role_required
from ..web.forms import Form
from ..web.htmx import is_htmx
from ..web.htmx import render_page_or_fragment
from ..web.i18n import locale_name
from ..web.i18n import service_today
from ..web.i18n import service_tz
from ..web.urls import external_url
from .routes import bp

# --- Formatting -------------------------------------------------------------------------------


def number_text(value: int | None) -> str:
    """'13.227' (Catalan thousands separator); empty when unknown."""
    return "" if value is None else format_decimal(value)


def decimal_text(value: Decimal | None) -> str:
    """'8,3': one decimal, already rounded by the rules."""
    return "" if value is None else format_decimal(value, format="#,##0.0")


def short_day(day: date | None) -> str:
    """'01/03/2025', as the tracker writes dates."""
    return "" if day is None else day.strftime("%d/%m/%Y")


def booking_link(town: Municipality) -> str:
    """The absolute address where the town's residents book (for its website)."""
    return external_url("booking.town", slug=town.slug)


# --- Registry ---------------------------------------------------------------------------------

STATES = {
    "adherits": _l("Adherits"),
    "no-adherits": _l("No adherits"),
    "omic": _l("Amb OMIC"),
    "sense-omic": _l("Sense OMIC"),
}
SORTS = {
    "nom": _l("Nom (A-Z)"),
    "poblacio": _l("Població (de més a menys)"),
    "adhesio": _l("Data d'adhesió (la més recent primer)"),
}


@dataclass(frozen=True)
class RegistryQuery:
    """What the registry's GET form asks for; unknown values are dropped."""

    q: str = ""
    state: str = ""
    comarca: str = ""
    sort: str = "nom"

    @classmethod
    def from_args(cls, args) -> RegistryQuery:
        state = args.get("estat", "")
        sort = args.get("ordre", "")
        return cls(
            q=clean(args.get("q", ""))[:100],
            state=state if state in STATES else "",
            comarca=clean(args.get("comarca", ""))[:80],
            sort=sort if sort in SORTS else "nom",
        )

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.state or self.comarca)

    def args(self) -> dict[str, str]:
        """The URL parameters of this query, without the empty ones."""
        values = {"q": self.q, "estat": self.state, "comarca": self.comarca}
        if self.sort != "nom":
            values["ordre"] = self.sort
        return {key: value for key, value in values.items() if value}


def _registry_conditions(query: RegistryQuery) -> list:
    conditions = []
    folded = fold(query.q)
    for word in folded.split():
        match = Municipality.search_name.like(f"%{word}%")
        if word.isdigit():
            match = match | Municipality.ine_code.like(f"{word}%")
        conditions.append(match)
    if query.state == "adherits":
        conditions.append(Municipality.enrolled_on.is_not(None))
    elif query.state == "no-adherits":
        conditions.append(Municipality.enrolled_on.is_(None))
    elif query.state == "omic":
        conditions.append(Municipality.has_omic.is_(True))
    elif query.state == "sense-omic":
        conditions.append(Municipality.has_omic.is_(False))
    if query.comarca:
        conditions.append(Municipality.comarca == query.comarca)
    return conditions


def _registry_order(sort: str) -> list:
    by_name = [Municipality.search_name, Municipality.ine_code]
    if sort == "poblacio":
        return [Municipality.population.is_(None), Municipality.population.desc(), *by_name]
    if sort == "adhesio":
        return [Municipality.enrolled_on.is_(None), Municipality.enrolled_on.desc(), *by_name]
    return by_name


def registry_rows(query: RegistryQuery) -> list[Municipality]:
    """The towns the query asks for, in its order (one query)."""
    return list(
        db.session.scalars(
            select(Municipality)
            .where(true(), *_registry_conditions(query))
            .order_by(*_registry_order(query.sort))
        )
    )


def count_text(shown: int, total: int) -> str:
    """'Es mostren 25 municipis de 311', 'Es mostren els 311 municipis', 'Cap municipi'."""
    if not shown:
        return _("Cap municipi")
    if shown == total:
        return ngettext(
            "Es mostra %(shown)s municipi",
            "Es mostren els %(shown)s municipis",
            total,
            shown=number_text(total),
        )
    return ngettext(
        "Es mostra %(shown)s municipi de %(total)s",
        "Es mostren %(shown)s municipis de %(total)s",
        shown,
        shown=number_text(shown),
        total=number_text(total),
    )


@bp.get("/municipis/")
@role_required(Role.COORDINATOR)
def municipalities():
    """Every town: search, filter by enrolment, OMIC and comarca, sort; booking links."""
    query = RegistryQuery.from_args(request.args)
    rows = registry_rows(query)
    total = db.session.scalar(select(func.count()).select_from(Municipality))
    comarques = [
        name
        for name in db.session.scalars(
            select(Municipality.comarca).distinct().order_by(Municipality.comarca)
        )
        if name
    ]
    shown = count_text(len(rows), total or 0)
    response = render_page_or_fragment(
        "admin/municipalities.html",
        "admin/municipalities_results.html",
        query=query,
        rows=rows,
        links={town.id: booking_link(town) for town in rows if town.enrolled},
        count_text=shown,
        states=STATES,
        sorts=SORTS,
        comarques=comarques,
        number_text=number_text,
        short_day=short_day,
    )
    if is_htmx():
        response.headers["HX-Push-Url"] = url_for("admin.municipalities", **query.args())
    return response


class MunicipalityForm(Form):
    """A town's consumer office and its enrolment in the video-call service."""

    has_omic = BooleanField(_l("Té oficina municipal d'informació al consumidor (OMIC) pròpia"))
    enrolled = BooleanField(_l("Adherit al servei d'atenció per videotrucada"))
    enrolled_on = StringField(_l("Data d'adhesió"), filters=[clean])


ENROLMENT_MESSAGES = {
    expansion.EnrolmentProblem.HAS_OMIC: _l(
        "Un municipi amb OMIC pròpia no es pot adherir: aquest servei és per als municipis "
        "que no tenen oficina de consum. Desmarqueu l'OMIC o l'adhesió."
    ),
    expansion.EnrolmentProblem.FUTURE: _l(
        "La data d'adhesió ha de ser avui o abans: la reserva s'obre tan bon punt deseu"
    ),
    expansion.EnrolmentProblem.TOO_EARLY: _l("La data d'adhesió ha de ser de l'any 2000 o després"),
}


def _checked(form: MunicipalityForm, town: Municipality, today: date) -> date | None | bool:
    """The enrolment date to store (None: not enrolled), or False after marking the errors."""
    enrolled = bool(form.enrolled.data)
    text = form.enrolled_on.data or ""
    day = None
    if enrolled and text:
        day = parse_day(text)
        if day is None:
            form.enrolled_on.errors = [
                _("La data d'adhesió ha de ser una data real, per exemple 01/03/2025")
            ]
    problems = expansion.enrolment_problems(
        has_omic=bool(form.has_omic.data), enrolled=enrolled, enrolled_on=day, today=today
    )
    for name, problem in problems.items():
        form[name].errors = [*form[name].errors, str(ENROLMENT_MESSAGES[problem])]
    if any(field.errors for field in form):
        return False
    if not enrolled:
        return None
    # Left empty: from today when enrolling now, unchanged when it already was.
    return day or town.enrolled_on or today


def _saved_message(town: Municipality, was_enrolled: bool) -> str:
    if town.enrolled and not was_enrolled:
        return _(
            "%(town)s s'ha adherit al servei des del %(day)s: els seus veïns ja poden "
            "reservar. Enllaç de reserva: %(link)s",
            town=town.name,
            day=short_day(town.enrolled_on),
            link=booking_link(town),
        )
    if was_enrolled and not town.enrolled:
        return _(
            "%(town)s ja no està adherit al servei: no s'hi poden fer reserves noves.",
            town=town.name,
        )
    return _("S'han desat els canvis de %(town)s.", town=town.name)


@bp.route("/municipis/<int:town_id>", methods=["GET", "POST"])
@role_required(Role.COORDINATOR)
def municipality(town_id: int):
    """A town's data, its OMIC and its enrolment (with the date)."""
    town = db.session.get(Municipality, town_id)
    if town is None:
        abort(404)
    form = _town_form(town) if request.method == "GET" else MunicipalityForm()
    if form.validate_on_submit():
        enrolled_on = _checked(form, town, service_today())
        if enrolled_on is not False:
            was_enrolled = town.enrolled
            town.has_omic = bool(form.has_omic.data)
            town.enrolled_on = enrolled_on
            db.session.commit()
            flash(_saved_message(town, was_enrolled), "success")
            return redirect(url_for("admin.municipality", town_id=town.id), 303)
    return _edit_page(town, form)


def _town_form(town: Municipality) -> MunicipalityForm:
    """The OMIC and enrolment form filled from the stored town (not from a request)."""
    return MunicipalityForm(
        formdata=None,
        data={
            "has_omic": town.has_omic,
            "enrolled": town.enrolled,
            "enrolled_on": town.enrolled_on.isoformat() if town.enrolled_on else "",
        },
    )


def _edit_page(town: Municipality, form: MunicipalityForm, embed_form=None) -> str:
    """A town's page: its data, the OMIC and enrolment form, and how to embed its booking."""
    return render_template(
        "admin/municipalities_edit.html",
        town=town,
        form=form,
        link=booking_link(town) if town.enrolled else None,
        number_text=number_text,
        short_day=short_day,
        **embed.registry_context(town, embed_form),
    )


@bp.post("/municipis/<int:town_id>/incrustacio")
@role_required(Role.COORDINATOR)
def municipality_embed(town_id: int):
    """The web origins allowed to frame the town's booking (ACCESSIBILITY E1, E2)."""
    town = db.session.get(Municipality, town_id)
    if town is None:
        abort(404)
    if not town.enrolled:  # the section is shown only once residents can book
        return redirect(url_for("admin.municipality", town_id=town.id), 303)
    embed_form = embed.EmbedOriginsForm()
    if embed.save_origins(town, embed_form):
        db.session.commit()
        flash(
            _("S'han desat els orígens que poden incrustar la reserva de %(town)s.", town=town.name)
            if town.origins
            else _(
                "%(town)s no té cap origen autoritzat: cap web pot incrustar-ne la reserva.",
                town=town.name,
            ),
            "success",
        )
        return redirect(url_for("admin.municipality", town_id=town.id) + "#incrusta", 303)
    form = _town_form(town)
    return _edit_page(town, form, embed_form)


# --- Expansion plan ---------------------------------------------------------------------------


def _plan(today: date):
    """Everything the plan shows, in a fixed number of queries."""
    period = expansion.last_twelve_months(today)
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
        served=number_text(coverage.served),
        total=number_text(coverage.without_omic),
        percent=decimal_text(coverage.percent),
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
        format_date(month, "LLL y", locale=locale_name()) if index % step == 0 else ""
        for index, month in enumerate(months)
    ]


def _coverage_chart(months: list[expansion.CoverageMonth]) -> str:
    # Imported here: pygal adds a legacy import hook to sys.meta_path when it loads, which
    # makes later imports warn (ImportWarning); only pages that draw charts need it.
    from ..stats.charts import line_chart

    return line_chart(
        _("Cobertura dels municipis sense OMIC, per mes"),
        chart_labels([line.month for line in months]),
        [
            (_("Cobertura"), [float(line.percent or 0) for line in months]),
            (_("Objectiu (%(percent)s %%)", percent=100), [100.0] * len(months)),
        ],
        locale=locale_name(),
        value_formatter=percent_text,
        integers=False,
    )


@bp.get("/ampliacio/", endpoint="expansion")
@role_required(Role.COORDINATOR)
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
        form=Form(),
        number_text=number_text,
        decimal_text=decimal_text,
        short_day=short_day,
    )


@bp.post("/ampliacio/<int:town_id>/adhereix")
@role_required(Role.COORDINATOR)
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


# --- CSV --------------------------------------------------------------------------------------


def csv_response(filename: str, headers: list[str], rows: Iterable[list[str]]) -> Response:
    """UTF-8 with a byte order mark (Excel reads the accents), commas, CRLF (RFC 4180)."""
    response = Response(csv_text(headers, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def yes_no(value: bool) -> str:
    return _("Sí") if value else _("No")


@bp.get("/ampliacio/municipis.csv")
@role_required(Role.COORDINATOR)
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
        _("Peticions (12 mesos)"),
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
            decimal_text(line.rate_rounded),
            yes_no(line.above_threshold),
        ]
        for line in ranking
    ]
    return csv_response(f"ampliacio-municipis-{today.isoformat()}.csv", headers, rows)


@bp.get("/ampliacio/cobertura.csv")
@role_required(Role.COORDINATOR)
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
            decimal_text(line.percent),
        ]
        for line in months
    ]
    return csv_response(f"ampliacio-cobertura-{today.isoformat()}.csv", headers, rows)
