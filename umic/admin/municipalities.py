"""The municipality registry (coordinators only).

- ``/admin/municipis/``: every town of the province with its INE code, comarca, population,
  OMIC and enrolment; search, filters and sort in a GET form (the state is in the URL), htmx
  only swaps the results in place. Each enrolled town's booking link, ready to copy.
- ``/admin/municipis/<id>``: a town's OMIC and enrolment (name, comarca and population come
  from the INE file and are not edited here), and how to embed its booking.

Who may be enrolled is a rule of ``umic.stats.expansion``; the plan of which towns to enrol
next is ``admin/expansion.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import true
from wtforms import BooleanField
from wtforms import StringField

from .. import embed
from .. import offices
from ..core.dates import parse_day
from ..core.text import clean
from ..core.text import fold
from ..extensions import db
from ..models import Municipality
from ..stats import expansion
from ..web.forms import Form
from ..web.htmx import is_htmx
from ..web.htmx import render_page_or_fragment
from ..web.i18n import service_today
from ..web.urls import external_url
from . import bp
from .reports import number
from .reports import short_day


def booking_link(town: Municipality) -> str:
    """The absolute address where the town's residents book (for its website)."""
    return external_url("booking.town", slug=town.slug)


# --- Registry ---------------------------------------------------------------------------------

STATES = {
    "adherits": _l("Adherits"),
    "no-adherits": _l("No adherits"),
    "omic": _l("Amb OMIC"),
    "sense-omic": _l("Sense OMIC"),
    # No office recorded and not enrolled (umic.core.offices): the directory's to-do list.
    "oficina-per-coneixer": _l("Oficina encara no coneguda"),
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
    elif query.state == "oficina-per-coneixer":
        conditions.append(Municipality.office_id.is_(None))
        conditions.append(Municipality.has_omic.is_(False))
        conditions.append(Municipality.enrolled_on.is_(None))
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
            shown=number(total),
        )
    return ngettext(
        "Es mostra %(shown)s municipi de %(total)s",
        "Es mostren %(shown)s municipis de %(total)s",
        shown,
        shown=number(shown),
        total=number(total),
    )


@bp.get("/municipis/")
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
        "admin/_municipalities_results.html",
        query=query,
        rows=rows,
        links={town.id: booking_link(town) for town in rows if town.enrolled},
        count_text=shown,
        states=STATES,
        sorts=SORTS,
        comarques=comarques,
        number_text=number,
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
        "La data d'adhesió pot ser com a molt d'aquí a un any: la reserva s'obre aquell dia"
    ),
    expansion.EnrolmentProblem.PAST: _l(
        "La data d'inici ha de ser avui o després: els veïns podran reservar des d'aquell dia"
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


def enrolled_message(town: Municipality, today: date) -> str:
    """What enrolling a town did: bookable now, or from a later day."""
    if town.enrolled_on > today:
        return _(
            "%(town)s s'adherirà al servei el %(day)s: els seus veïns podran reservar des "
            "d'aquell dia. Enllaç de reserva: %(link)s",
            town=town.name,
            day=short_day(town.enrolled_on),
            link=booking_link(town),
        )
    return _saved_message(town, False)


def _saved_message(town: Municipality, was_enrolled: bool) -> str:
    if town.enrolled and not was_enrolled and town.enrolled_on > service_today():
        return enrolled_message(town, service_today())
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
            offices.mark_own_office(town, bool(form.has_omic.data))
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
        office_status=offices.status_of(town),
        number_text=number,
        short_day=short_day,
        **embed.registry_context(town, embed_form),
    )


@bp.post("/municipis/<int:town_id>/incrustacio")
def municipality_embed(town_id: int):
    """The web origins allowed to frame the town's booking (docs/accessibility.md, "Framing")."""
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
