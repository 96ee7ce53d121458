"""The mobile unit's visits for the technicians: /espai/visites/ and /espai/visites/<id>.

- **The list**: the signed-in technician's visits from today on (``passades=1``: the last
  ones, most recent first); coordinators see everyone's, with a ``tecnic`` filter.
- **A visit**: where and when, its in-person appointments (marked attended or no-show, and
  their case opened, with the agenda's own actions: ``appointments.mark_booking`` and
  ``appointments.open_case``, which gives an in-person booking's case the channel "umic"
  and the visit), and the people seen there, with the form "Registra una persona atesa".

A person seen is a case file (``casefiles.service.create_case``: its number and "created"
event) with channel "umic", the visit, the visit's town, assigned to whoever records it.
Name, e-mail and phone are optional: someone may only ask a question. Its status follows
its type unless the technician chooses: a consultation is answered on the spot (resolt,
resolved then), anything else is in progress (en tràmit). Its request time is now while
the visit lasts and the visit's end when recorded afterwards (``core.visit_plan.requested_at``):
the request belongs to the visit's day and month in the statistics. It cannot be recorded
before the visit starts.

Anyone on the staff may read a visit; recording people seen is for its technician and the
coordinators (like acting on a booking: ``agenda.may_act``).
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import Length

from .. import clock
from ..casefiles import labels
from ..casefiles.sectors import sectors
from ..casefiles.service import create_case
from ..core import visit_plan
from ..core.numbers import int_in_range
from ..extensions import db
from ..models import Booking
from ..models import CaseFile
from ..models import CaseStatus
from ..models import CaseType
from ..models import Channel
from ..models import StaffUser
from ..models import UmicVisit
from ..models import VisitStatus
from ..web.forms import DESCRIPTION_MAX
from ..web.forms import Form
from ..web.forms import email_field
from ..web.forms import line
from ..web.forms import phone_field
from ..web.forms import text
from ..web.i18n import locale_name
from . import bp

#: How far back "past visits" looks.
PAST_DAYS = 120
#: Statuses a person seen may be recorded with ("" follows the type).
SEEN_STATUSES = (CaseStatus.RESOLT, CaseStatus.EN_TRAMIT, CaseStatus.PENDENT)


def status_for(case_type: str, chosen: str) -> str:
    """The status of a person seen: the one chosen, else by type (a consultation is
    answered on the spot; anything else goes on)."""
    if chosen in SEEN_STATUSES:
        return chosen
    return CaseStatus.RESOLT if case_type == CaseType.CONSULTA else CaseStatus.EN_TRAMIT


class SeenForm(Form):
    """A person seen at the visit (their details optional)."""

    case_type = SelectField(_l("Tipus"))
    sector = SelectField(_l("Sector"), default="")
    company = StringField(
        _l("Empresa"),
        filters=[line],
        validators=[Length(max=200, message=_l("L'empresa ha de tenir 200 caràcters o menys"))],
    )
    description = TextAreaField(
        _l("Què demana"),
        filters=[text],
        validators=[
            Length(
                max=DESCRIPTION_MAX,
                message=_l(
                    "La descripció ha de tenir %(max)s caràcters o menys", max=DESCRIPTION_MAX
                ),
            )
        ],
    )
    status = SelectField(_l("Estat"), default="")
    interested_name = StringField(
        _l("Nom"),
        filters=[line],
        validators=[Length(max=120, message=_l("El nom ha de tenir 120 caràcters o menys"))],
    )
    interested_email = email_field(_l("Correu electrònic"))
    interested_phone = phone_field(_l("Telèfon"))


def _with_choices(form: SeenForm) -> SeenForm:
    language = locale_name().split("_")[0]
    form.case_type.choices = [(code.value, str(name)) for code, name in labels.CASE_TYPES.items()]
    form.sector.choices = [("", _("Sense sector"))] + [
        (code, names.get(language, names["ca"])) for code, names in sectors().items()
    ]
    form.status.choices = [
        ("", _("Segons el tipus: una consulta, resolta; la resta, en tràmit"))
    ] + [(code.value, str(labels.CASE_STATUSES[code])) for code in SEEN_STATUSES]
    return form


def _may_record(visit: UmicVisit) -> bool:
    return current_user.is_coordinator or visit.technician_id == current_user.id


@bp.get("/visites/")
def visits():
    """The visits to come (or the last ones), the technician's own or, for a coordinator,
    everyone's or one person's."""
    now = clock.now()
    raw = request.args.get("tecnic")
    if current_user.is_coordinator:
        person = int_in_range(raw)
    else:
        person = current_user.id
    past = request.args.get("passades") == "1"
    query = select(UmicVisit).options(
        joinedload(UmicVisit.municipality), joinedload(UmicVisit.technician)
    )
    if past:
        query = query.where(
            UmicVisit.end_utc < now, UmicVisit.start_utc >= now - timedelta(days=PAST_DAYS)
        ).order_by(UmicVisit.start_utc.desc(), UmicVisit.id)
    else:
        query = query.where(UmicVisit.end_utc >= now).order_by(UmicVisit.start_utc, UmicVisit.id)
    if person:
        query = query.where(UmicVisit.technician_id == person)
    people = (
        list(
            db.session.scalars(
                select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.name)
            )
        )
        if current_user.is_coordinator
        else []
    )
    return render_template(
        "workspace/visits.html",
        visits=list(db.session.scalars(query)),
        past=past,
        person=person,
        people=people,
        now=now,
    )


def _visit_or_404(visit_id: int) -> UmicVisit:
    visit = db.session.scalar(
        select(UmicVisit)
        .options(joinedload(UmicVisit.municipality), joinedload(UmicVisit.technician))
        .where(UmicVisit.id == visit_id)
    )
    if visit is None:
        abort(404)
    return visit


def _page(visit: UmicVisit, form: SeenForm, status: int = 200):
    appointments = list(
        db.session.scalars(
            select(Booking)
            .where(Booking.visit_id == visit.id)
            .order_by(Booking.start_utc, Booking.id)
        )
    )
    seen = list(
        db.session.scalars(
            select(CaseFile)
            .options(joinedload(CaseFile.assigned_to))
            .where(CaseFile.visit_id == visit.id)
            .order_by(CaseFile.requested_at, CaseFile.id)
        )
    )
    cases = {case.booking_id: case.id for case in seen if case.booking_id is not None}
    now = clock.now()
    return (
        render_template(
            "workspace/visit.html",
            visit=visit,
            appointments=appointments,
            seen=seen,
            cases=cases,
            form=form,
            may_record=_may_record(visit),
            started=now >= visit.start_utc,
            now=now,
            back=url_for("workspace.visit", visit_id=visit.id),
        ),
        status,
    )


@bp.get("/visites/<int:visit_id>")
def visit(visit_id: int):
    """A visit: details, in-person appointments, people seen, and the form to add one."""
    found = _visit_or_404(visit_id)
    form = _with_choices(SeenForm())
    form.case_type.data = CaseType.CONSULTA.value
    return _page(found, form)


@bp.post("/visites/<int:visit_id>")
def record_seen(visit_id: int):
    """Registra una persona atesa: a case file with channel "umic" and the visit."""
    found = _visit_or_404(visit_id)
    if not _may_record(found):
        abort(403)
    form = _with_choices(SeenForm())
    if not form.validate_on_submit():
        return _page(found, form, 200 if not form.is_submitted() else 422)
    now = clock.now()
    if found.status != VisitStatus.PLANNED or now < found.start_utc:
        flash(
            _("Només es poden registrar persones ateses en una visita que ja ha començat."),
            "error",
        )
        return redirect(url_for("workspace.visit", visit_id=found.id), 303)
    asked = visit_plan.requested_at(now, found.start_utc, found.end_utc)
    case_type = form.case_type.data or CaseType.CONSULTA
    status = status_for(case_type, form.status.data or "")
    case = create_case(
        {
            "case_type": case_type,
            "channel": Channel.UMIC,
            "visit_id": found.id,
            "municipality_id": found.municipality_id,
            "requested_at": asked,
            "sector": form.sector.data or "",
            "company": form.company.data or "",
            "description": form.description.data or "",
            "interested_name": form.interested_name.data or "",
            "interested_email": form.interested_email.data or "",
            "interested_phone": form.interested_phone.data or "",
            "assigned_to_id": current_user.id,
            "status": status,
        },
        actor=current_user,
        now=now,
    )
    if status == CaseStatus.RESOLT:
        case.resolved_at = asked  # answered on the spot
    db.session.commit()
    flash(_("Persona atesa registrada: expedient %(number)s.", number=case.number), "success")
    return redirect(url_for("workspace.visit", visit_id=found.id) + "#ateses", 303)
