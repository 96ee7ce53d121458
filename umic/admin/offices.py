"""The consumer-office directory (coordinators only): ``/admin/oficines/``.

- ``/admin/oficines/``: every office (kind, name, towns covered, last checked) and how many
  towns have each status (``umic.core.offices``), each count a link to its towns; the towns
  whose office is "not yet known" are the coordinators' to-do list, most populous first.
- ``/admin/oficines/nova`` and ``/admin/oficines/<id>``: an office's details and the towns it
  covers (a textarea, one town per line: INE code or name, checked against the province's
  towns; works without JavaScript). A town already covered by another office of the same kind
  is refused, as is putting a town with its own OMIC under a comarcal office or the Agència
  (the law's order); a town covered by an OCIC or the Agència moves to a new OMIC.
- ``/admin/oficines/<id>/elimina``: deleting an office; its towns go back to "not yet known".
- ``/admin/oficines/importa``: a CSV file (``docs/offices.md``), all or nothing: any bad row
  and nothing changes, every problem listed by line; ``/admin/oficines/oficines.csv`` exports
  the same columns.
"""

from __future__ import annotations

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf.file import FileField
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice

from .. import clock
from .. import offices
from ..core.codes import OfficeKind
from ..core.codes import OfficeStatus
from ..core.dates import parse_day
from ..core.offices import LAW_ORDER
from ..core.offices import decode
from ..core.offices import office_key
from ..core.offices import valid_email
from ..core.offices import valid_web
from ..core.text import clean
from ..core.text import fold
from ..extensions import db
from ..models import ConsumerOffice
from ..models import Municipality
from ..web.forms import Form
from ..web.i18n import service_today
from . import bp
from .reports import number
from .reports import short_day

#: The status pages' addresses (``/admin/oficines/municipis/<slug>``).
STATUS_SLUGS = {
    OfficeStatus.UNKNOWN: "per-coneixer",
    OfficeStatus.OWN: "omic",
    OfficeStatus.SERVED: "atesos",
    OfficeStatus.COMARCAL: "ocic",
    OfficeStatus.AGENCIA: "agencia",
}
STATUS_BY_SLUG = {slug: status for status, slug in STATUS_SLUGS.items()}


@bp.get("/oficines/", endpoint="offices")
def offices_index():
    """The directory and the count of towns per status."""
    rows = list(
        db.session.scalars(
            select(ConsumerOffice).order_by(ConsumerOffice.kind, ConsumerOffice.name)
        )
    )
    order = {kind: position for position, kind in enumerate(LAW_ORDER)}
    rows.sort(key=lambda office: (order.get(office.kind, 9), fold(office.name)))
    return render_template(
        "admin/offices.html",
        rows=rows,
        covered=offices.towns_per_office(),
        counts=offices.status_counts(),
        slugs=STATUS_SLUGS,
        import_form=ImportForm(),
        number_text=number,
        short_day=short_day,
        kind_label=_kind_label,
    )


def _kind_label(kind: str) -> str:
    member = OfficeKind.from_word(kind)
    return _(member.label) if member else kind


@bp.get("/oficines/municipis/<slug>", endpoint="offices_towns")
def offices_towns(slug: str):
    """The towns of one status, most populous first."""
    status = STATUS_BY_SLUG.get(slug)
    if status is None:
        abort(404)
    towns = offices.towns_with_status(status)
    return render_template(
        "admin/offices_towns.html",
        status=status,
        towns=towns,
        number_text=number,
        short_day=short_day,
        kind_label=_kind_label,
    )


# --- One office -------------------------------------------------------------------------------


class OfficeForm(Form):
    kind = SelectField(
        _l("Tipus d'oficina"),
        choices=[SelectChoice(kind.value, kind.label) for kind in LAW_ORDER],
    )
    name = StringField(_l("Nom"), filters=[clean])
    address = StringField(_l("Adreça"), filters=[clean])
    postcode = StringField(_l("Codi postal"), filters=[clean])
    locality = StringField(_l("Localitat"), filters=[clean])
    phone = StringField(_l("Telèfon"), filters=[clean])
    email = StringField(_l("Adreça electrònica"), filters=[clean])
    web = StringField(_l("Web"), filters=[clean])
    hours = TextAreaField(_l("Horari d'atenció (en català)"))
    hours_es = TextAreaField(_l("Horari d'atenció (en castellà)"))
    towns = TextAreaField(_l("Municipis que atén"))
    source = StringField(_l("Font"), filters=[clean])
    verified_on = StringField(_l("Data de la darrera comprovació"), filters=[clean])
    notes = TextAreaField(_l("Notes"))


_TEXT_FIELDS = ("name", "address", "postcode", "locality", "phone", "email", "web", "source")
_MAX = {"name": 200, "address": 200, "postcode": 10, "locality": 120, "phone": 40}
_MAX.update({"email": 254, "web": 500, "source": 500})


def _translated_kind_choices(form: OfficeForm) -> None:
    form.kind.choices = [SelectChoice(kind.value, _(kind.label)) for kind in LAW_ORDER]


def _resolve_towns(text: str, form: OfficeForm) -> list[Municipality] | None:
    """The towns typed (INE code or name, one per line), or None after marking the field."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return []
    everyone = list(
        db.session.scalars(select(Municipality).options(selectinload(Municipality.office)))
    )
    by_code = {town.ine_code: town for town in everyone}
    by_name = {town.search_name or fold(town.name): town for town in everyone}
    found, unknown = [], []
    for line in lines:
        town = by_code.get(line) or by_name.get(fold(line))
        if town is None:
            unknown.append(line)
        elif town not in found:
            found.append(town)
    if unknown:
        form.towns.errors = [
            _(
                "No són municipis de la província: %(names)s. Escriviu un municipi per línia, "
                "amb el nom o el codi INE.",
                names=", ".join(unknown),
            )
        ]
        return None
    return found


def _check(form: OfficeForm, office: ConsumerOffice | None):
    """(values, towns) when everything is right; None after putting the problems beside the
    fields."""
    _translated_kind_choices(form)
    kind = OfficeKind.from_word(form.kind.data)
    if kind is None:
        form.kind.errors = [_("Trieu el tipus d'oficina.")]
    data = {name: (getattr(form, name).data or "").strip() for name in _TEXT_FIELDS}
    if not data["name"]:
        form.name.errors = [_("Escriviu el nom de l'oficina.")]
    for name, most in _MAX.items():
        if len(data[name]) > most:
            getattr(form, name).errors = [_("Com a molt %(num)s caràcters.", num=most)]
    if data["email"] and not valid_email(data["email"]):
        form.email.errors = [_("Escriviu una adreça electrònica, per exemple omic@exemple.cat.")]
    if data["web"] and not valid_web(data["web"]):
        form.web.errors = [_("Escriviu l'adreça sencera, començant per https://.")]
    verified_on = None
    if form.verified_on.data:
        verified_on = parse_day(form.verified_on.data)
        if verified_on is None or verified_on > service_today():
            form.verified_on.errors = [
                _("Escriviu una data real, d'avui o d'abans, per exemple 01/12/2026.")
            ]
    if kind is not None and data["name"]:
        key = office_key(kind, data["name"])
        for other in db.session.scalars(select(ConsumerOffice).where(ConsumerOffice.kind == kind)):
            if other is not office and office_key(other.kind, other.name) == key:
                form.name.errors = [_("Ja hi ha una oficina d'aquest tipus amb aquest nom.")]
    towns = _resolve_towns(form.towns.data, form)
    if towns and kind is not None:
        clashes = []
        for town in towns:
            current = town.office
            if current is None or current is office:
                continue
            rank = LAW_ORDER.index(OfficeKind(current.kind))
            if rank <= LAW_ORDER.index(kind):
                clashes.append(f"{town.name} ({current.name})")
        if clashes:
            form.towns.errors = [
                _(
                    "Aquests municipis ja tenen una oficina del mateix tipus o d'un tipus que la "
                    "llei posa abans: %(towns)s. Traieu-los primer de l'altra oficina.",
                    towns="; ".join(clashes),
                )
            ]
    if any(field.errors for field in form) or towns is None:
        return None
    values = {
        **data,
        "kind": kind.value,
        "hours": (form.hours.data or "").strip(),
        "hours_es": (form.hours_es.data or "").strip(),
        "notes": (form.notes.data or "").strip(),
        "verified_on": verified_on,
    }
    return values, towns


def _office_page(office: ConsumerOffice | None, form: OfficeForm, status: int = 200):
    _translated_kind_choices(form)
    towns = []
    if office is not None and office.id is not None:
        towns = list(
            db.session.scalars(
                select(Municipality)
                .where(Municipality.office_id == office.id)
                .order_by(Municipality.name)
            )
        )
    return (
        render_template(
            "admin/office_edit.html",
            office=office,
            form=form,
            towns=towns,
            delete_form=Form(),
            number_text=number,
            short_day=short_day,
            kind_label=_kind_label,
        ),
        status,
    )


def _form_for(office: ConsumerOffice) -> OfficeForm:
    towns = db.session.scalars(
        select(Municipality.ine_code)
        .where(Municipality.office_id == office.id)
        .order_by(Municipality.ine_code)
    )
    data = {name: getattr(office, name) for name in (*_TEXT_FIELDS, "hours", "hours_es", "notes")}
    data.update(
        kind=office.kind,
        verified_on=office.verified_on.isoformat() if office.verified_on else "",
        towns="\n".join(towns),
    )
    return OfficeForm(formdata=None, data=data)


def _save(office: ConsumerOffice | None, form: OfficeForm):
    checked = _check(form, office)
    if checked is None:
        return None
    values, towns = checked
    if office is None:
        office = ConsumerOffice(**values)
        db.session.add(office)
    else:
        for name, value in values.items():
            setattr(office, name, value)
        office.updated_at = clock.now()
    db.session.flush()
    offices.cover_towns(office, {town.id for town in towns})
    db.session.commit()
    return office


@bp.route("/oficines/nova", methods=["GET", "POST"], endpoint="office_new")
def office_new():
    """A new office and its towns."""
    if request.method == "GET":
        return _office_page(None, OfficeForm(formdata=None))
    form = OfficeForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
    else:
        office = _save(None, form)
        if office is not None:
            flash(_("S'ha creat l'oficina %(name)s.", name=office.name), "success")
            return redirect(url_for("admin.office", office_id=office.id), 303)
    return _office_page(None, form)


def _office_or_404(office_id: int) -> ConsumerOffice:
    office = db.session.get(ConsumerOffice, office_id)
    if office is None:
        abort(404)
    return office


@bp.route("/oficines/<int:office_id>", methods=["GET", "POST"], endpoint="office")
def office_edit(office_id: int):
    """An office's details and the towns it covers."""
    office = _office_or_404(office_id)
    if request.method == "GET":
        return _office_page(office, _form_for(office))
    form = OfficeForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
    elif _save(office, form) is not None:
        flash(_("S'han desat els canvis de %(name)s.", name=office.name), "success")
        return redirect(url_for("admin.office", office_id=office.id), 303)
    return _office_page(office, form)


@bp.post("/oficines/<int:office_id>/elimina", endpoint="office_delete")
def office_delete(office_id: int):
    """Delete an office: its towns go back to "not yet known"."""
    if not Form().validate_on_submit():
        abort(400)
    office = _office_or_404(office_id)
    name = office.name
    count = offices.delete_office(office)
    db.session.commit()
    flash(
        _(
            "S'ha eliminat l'oficina %(name)s. Els seus municipis (%(num)s) tornen a tenir "
            "l'oficina per conèixer.",
            name=name,
            num=count,
        ),
        "success",
    )
    return redirect(url_for("admin.offices"), 303)


# --- CSV --------------------------------------------------------------------------------------


class ImportForm(Form):
    file = FileField(_l("Fitxer CSV"))


@bp.route("/oficines/importa", methods=["GET", "POST"], endpoint="offices_import")
def offices_import():
    """Import a directory file: all or nothing, the problems listed by line."""
    form = ImportForm()
    problems: list[str] = []
    result = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        upload = request.files.get("file")
        data = upload.read() if upload else b""
        text = decode(data) if data else None
        if not data:
            form.file.errors = [_("Trieu un fitxer CSV.")]
        elif text is None:
            form.file.errors = [_("El fitxer ha de ser CSV en UTF-8 (deseu-lo com a «CSV UTF-8»).")]
        else:
            result = offices.import_offices(text)
            if result.problems:
                db.session.rollback()
                problems = [
                    (
                        _(
                            "Línia %(line)s: %(problem)s",
                            line=p.line,
                            problem=_(p.message, **p.args),
                        )
                        if p.line
                        else _(p.message, **p.args)
                    )
                    for p in result.problems
                ]
                form.file.errors = [
                    ngettext(
                        "No s'ha importat res: el fitxer té %(num)s problema.",
                        "No s'ha importat res: el fitxer té %(num)s problemes.",
                        len(problems),
                    )
                ]
                result = None
            else:
                db.session.commit()
    status = 422 if form.file.errors else 200
    return (
        render_template("admin/offices_import.html", form=form, problems=problems, result=result),
        status,
    )


@bp.get("/oficines/oficines.csv", endpoint="offices_csv")
def offices_csv():
    """The directory as the import reads it (UTF-8 with BOM, semicolons, for spreadsheets)."""
    response = Response(offices.export_offices(), mimetype="text/csv")
    day = service_today().isoformat()
    response.headers["Content-Disposition"] = f'attachment; filename="oficines-{day}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
