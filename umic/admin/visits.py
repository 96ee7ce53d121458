"""The mobile unit's (UMIC) visits, planned by coordinators: /admin/visites/.

- **The list** (``GET /admin/visites/``): the visits of a month (``vista=mes``, the default)
  or a week (``vista=setmana``) holding ``dia`` (default today), day by day, with previous
  and next links, so past visits are reachable as well as the coming ones. Filters: town
  (``municipi``), technician (``tecnic``), comarca (``comarca``). Each visit shows how many
  in-person appointments it holds: one grouped query for the whole page.
- **New and edit** (``/admin/visites/nova``, ``/admin/visites/<id>``): town (the 311, in
  Catalan order), technician (active staff), day, start and end (Europe/Madrid wall time,
  stored in UTC: ``core.visit_plan.window`` refuses the hour that does not exist or happens
  twice on the days the clocks change), place and how to find it, the length of an
  appointment (5-minute multiples), whether citizens may book times, internal notes.
  Refused: an end not after the start; another planned visit of the technician at that
  time; a confirmed booking of theirs (video or in person) at that time, each one named.
  A public holiday or a closure of the service (or the technician's absence) that day is
  a warning: the form comes back with it and saves on "Desa igualment".
  A visit with appointments keeps them: its new window must hold every one (those outside
  are listed and nothing is saved), and its town and technician cannot change (the
  citizens were told where and with whom): cancel it instead.
- **Cancel** (``/admin/visites/<id>/anulla``): a confirmation page with the reason the
  citizens read, then ``umic.visits.service.cancel_visit`` cancels the visit's bookings and
  tells each citizen.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import BooleanField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from .. import clock
from ..core import scheduling
from ..core import visit_plan
from ..core.dates import parse_day
from ..core.dates import parse_time
from ..core.numbers import int_in_range
from ..core.periods import add_months
from ..core.text import clean
from ..extensions import db
from ..models import Booking
from ..models import BookingStatus
from ..models import Closure
from ..models import Municipality
from ..models import StaffUser
from ..models import UmicVisit
from ..models import VisitStatus
from ..models.visits import DEFAULT_VISIT_SLOT_MINUTES
from ..web.forms import Form
from ..web.i18n import day_text
from ..web.i18n import range_text
from ..web.i18n import service_today
from ..web.i18n import service_tz
from ..web.i18n import when_text
from . import bp

#: The statuses of a booking that still holds its time (a cancelled one does not).
HOLDING = (BookingStatus.CONFIRMED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW)
#: The longest reason the citizens of a cancelled visit read.
REASON_MAX = 500


def _line(value):
    return clean(value or "")


def _text(value):
    return clean(value or "", multiline=True)


class VisitForm(Form):
    """A visit of the mobile unit; the days, times and choices are checked in ``_checked``."""

    town = SelectField(_l("Municipi"), validate_choice=False)
    technician = SelectField(_l("Persona tècnica"), validate_choice=False)
    day = StringField(_l("Dia"))
    start = StringField(_l("Hora d'inici"))
    end = StringField(_l("Hora d'acabament"))
    place = StringField(
        _l("Lloc"),
        filters=[_line],
        validators=[
            DataRequired(_l("Escriviu el lloc de la visita, com ara Plaça de la Vila")),
            Length(max=200, message=_l("El lloc ha de tenir 200 caràcters o menys")),
        ],
    )
    place_details = TextAreaField(
        _l("Com trobar-la"),
        filters=[_text],
        validators=[Length(max=500, message=_l("El text ha de tenir 500 caràcters o menys"))],
    )
    slot_minutes = StringField(_l("Durada de cada cita (minuts)"))
    bookable = BooleanField(_l("Es poden reservar hores per internet"))
    notes = TextAreaField(
        _l("Notes internes"),
        filters=[_text],
        validators=[Length(max=2000, message=_l("Les notes han de tenir 2.000 caràcters o menys"))],
    )


class CancelVisitForm(Form):
    reason = TextAreaField(
        _l("Motiu que llegiran les persones amb cita"),
        filters=[_text],
        validators=[
            DataRequired(_l("Escriviu el motiu que llegiran les persones amb cita")),
            Length(
                max=REASON_MAX,
                message=_l("El motiu ha de tenir %(max)s caràcters o menys", max=REASON_MAX),
            ),
        ],
    )


# --- Queries ------------------------------------------------------------------------------


def _towns() -> list[tuple[int, str]]:
    return list(
        db.session.execute(
            select(Municipality.id, Municipality.name).order_by(
                Municipality.search_name,
                Municipality.name,  # Catalan order: core/text
            )
        ).all()
    )


def _technicians(keep: int | None = None) -> list[StaffUser]:
    """Active staff by name (and the visit's own technician, even if no longer active)."""
    return list(
        db.session.scalars(
            select(StaffUser)
            .where(or_(StaffUser.active.is_(True), StaffUser.id == keep))
            .order_by(StaffUser.name, StaffUser.username)
        )
    )


def booked_counts(visit_ids: list[int]) -> dict[int, int]:
    """visit id -> in-person appointments that hold a time (not cancelled): one query."""
    if not visit_ids:
        return {}
    return dict(
        db.session.execute(
            select(Booking.visit_id, func.count())
            .where(Booking.visit_id.in_(visit_ids), Booking.status.in_(HOLDING))
            .group_by(Booking.visit_id)
        ).all()
    )


def technician_conflicts(
    technician_id: int, start: datetime, end: datetime, visit_id: int | None
) -> tuple[list[UmicVisit], list[Booking]]:
    """The technician's other planned visits, and confirmed bookings (video or at another
    visit), that overlap [start, end): two queries."""
    visits = list(
        db.session.scalars(
            select(UmicVisit)
            .options(joinedload(UmicVisit.municipality))
            .where(
                UmicVisit.technician_id == technician_id,
                UmicVisit.status == VisitStatus.PLANNED,
                UmicVisit.start_utc < end,
                UmicVisit.end_utc > start,
                UmicVisit.id != (visit_id or 0),
            )
            .order_by(UmicVisit.start_utc)
        )
    )
    own_visit = Booking.visit_id.is_(None)
    if visit_id is not None:
        own_visit = or_(own_visit, Booking.visit_id != visit_id)
    bookings = list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.technician_id == technician_id,
                Booking.status == BookingStatus.CONFIRMED,
                Booking.start_utc < end,
                Booking.end_utc > start,
                own_visit,
            )
            .order_by(Booking.start_utc)
        )
    )
    return visits, bookings


def day_warnings(day: date, technician_id: int | None) -> list[str]:
    """Why nobody should be working that day: a public holiday in Catalonia, a closure of
    the service, the technician's absence (one query)."""
    config = current_app.config
    holidays = scheduling.public_holidays(
        [day.year], config["HOLIDAYS_COUNTRY"], config["HOLIDAYS_SUBDIVISION"] or None
    )
    found = []
    if day in holidays:
        found.append(
            _("El %(day)s és festiu oficial: %(name)s.", day=day_text(day), name=holidays[day])
        )
    rows = db.session.execute(
        select(Closure.staff_id, Closure.reason).where(
            Closure.day == day,
            or_(Closure.staff_id.is_(None), Closure.staff_id == technician_id),
        )
    )
    for staff_id, reason in rows:
        if staff_id is None:
            found.append(_("El servei està tancat aquest dia: %(reason)s", reason=reason or "—"))
        else:
            found.append(
                _("La persona tècnica hi té una absència: %(reason)s", reason=reason or "—")
            )
    return found


# --- The list -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """The days the list shows: a month or a week holding ``day``."""

    day: date
    week: bool

    @property
    def first(self) -> date:
        if self.week:
            return self.day - timedelta(days=self.day.weekday())
        return self.day.replace(day=1)

    @property
    def last(self) -> date:
        if self.week:
            return self.first + timedelta(days=6)
        return self.first.replace(day=calendar.monthrange(self.day.year, self.day.month)[1])

    @property
    def previous(self) -> date:
        return self.day - timedelta(days=7) if self.week else add_months(self.first, -1)

    @property
    def next(self) -> date:
        return self.day + timedelta(days=7) if self.week else add_months(self.first, 1)


@bp.get("/visites/")
def visits():
    """The visits of a month or a week, day by day, with their appointments booked."""
    tz = service_tz()
    today = service_today()
    day = parse_day(request.args.get("dia", "")) or today
    span = Range(day, request.args.get("vista") == "setmana")
    town_id = int_in_range(request.args.get("municipi"))
    technician_id = int_in_range(request.args.get("tecnic"))
    comarca = (request.args.get("comarca") or "").strip()[:80]

    start = datetime.combine(span.first, time(0), tzinfo=tz)
    end = datetime.combine(span.last + timedelta(days=1), time(0), tzinfo=tz)
    query = (
        select(UmicVisit)
        .join(UmicVisit.municipality)
        .options(joinedload(UmicVisit.municipality), joinedload(UmicVisit.technician))
        .where(UmicVisit.start_utc >= start, UmicVisit.start_utc < end)
        .order_by(UmicVisit.start_utc, UmicVisit.id)
    )
    if town_id:
        query = query.where(UmicVisit.municipality_id == town_id)
    if technician_id:
        query = query.where(UmicVisit.technician_id == technician_id)
    if comarca:
        query = query.where(Municipality.comarca == comarca)
    found = list(db.session.scalars(query))
    counts = booked_counts([visit.id for visit in found])
    by_day: dict[date, list[UmicVisit]] = defaultdict(list)
    for visit in found:
        by_day[visit.start_utc.astimezone(tz).date()].append(visit)
    comarques = [
        name
        for name in db.session.scalars(
            select(Municipality.comarca).distinct().order_by(Municipality.comarca)
        )
        if name
    ]
    filters = {
        "municipi": town_id,
        "tecnic": technician_id,
        "comarca": comarca or None,
        "vista": "setmana" if span.week else None,
    }

    def link(**changes) -> str:
        values = filters | changes
        return url_for("admin.visits", **{k: v for k, v in values.items() if v})

    return render_template(
        "admin/visits.html",
        span=span,
        today=today,
        days=sorted(by_day.items()),
        counts=counts,
        now=clock.now(),
        towns=_towns(),
        technicians=_technicians(),
        comarques=comarques,
        town_id=town_id,
        technician_id=technician_id,
        comarca=comarca,
        links={
            "previous": link(dia=span.previous.isoformat()),
            "next": link(dia=span.next.isoformat()),
            "today": link(dia=None),
            "week": link(vista="setmana", dia=day.isoformat()),
            "month": link(vista=None, dia=day.isoformat()),
        },
    )


# --- New and edit -------------------------------------------------------------------------


def _with_choices(form: VisitForm, visit: UmicVisit | None = None) -> VisitForm:
    form.town.choices = [("", _("Trieu un municipi"))] + [
        (str(town_id), name) for town_id, name in _towns()
    ]
    form.technician.choices = [("", _("Trieu una persona"))] + [
        (str(person.id), f"{person.name} ({person.username})")
        for person in _technicians(visit.technician_id if visit else None)
    ]
    return form


def _form_from(visit: UmicVisit) -> VisitForm:
    tz = service_tz()
    start, end = visit.start_utc.astimezone(tz), visit.end_utc.astimezone(tz)
    form = VisitForm(
        data={
            "town": str(visit.municipality_id),
            "technician": str(visit.technician_id),
            "day": start.date().isoformat(),
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
            "place": visit.place,
            "place_details": visit.place_details,
            "slot_minutes": str(visit.slot_minutes),
            "bookable": visit.bookable,
            "notes": visit.notes,
        }
    )
    return _with_choices(form, visit)


def _add_error(field, message: str) -> None:
    field.errors = [*field.errors, message]


@dataclass
class Checked:
    """A form that reads as a visit (nothing saved yet)."""

    town_id: int
    technician_id: int
    day: date
    start_utc: datetime
    end_utc: datetime
    slot_minutes: int


def _checked(form: VisitForm, visit: UmicVisit | None) -> Checked | None:
    """The visit the form describes, or None after putting each problem beside its field."""
    towns = {choice for choice, _name in form.town.choices if choice}
    people = {choice for choice, _name in form.technician.choices if choice}
    if form.town.data not in towns:
        _add_error(form.town, _("Trieu un municipi de la llista"))
    if form.technician.data not in people:
        _add_error(form.technician, _("Trieu una persona de la llista"))
    day = parse_day(form.day.data)
    if day is None:
        _add_error(form.day, _("Escriviu una data real, com ara 24/06/2026"))
    start = parse_time(form.start.data)
    if start is None:
        _add_error(form.start, _("Escriviu una hora, com ara 10:00"))
    end = parse_time(form.end.data)
    if end is None:
        _add_error(form.end, _("Escriviu una hora, com ara 13:00"))
    slot = int_in_range(form.slot_minutes.data, low=0, high=10_000)
    if visit_plan.slot_problem(slot):
        _add_error(
            form.slot_minutes,
            _(
                "Escriviu una durada en minuts múltiple de 5, entre 5 i %(max)s",
                max=visit_plan.SLOT_MAX_MINUTES,
            ),
        )
    window = None
    if day is not None and start is not None and end is not None:
        window = visit_plan.window(day, start, end, service_tz())
        if window == visit_plan.WindowProblem.START_MISSING:
            _add_error(
                form.start,
                _(
                    "Aquesta hora no existeix o es repeteix aquest dia pel canvi d'hora: "
                    "trieu-ne una altra"
                ),
            )
        elif window == visit_plan.WindowProblem.END_MISSING:
            _add_error(
                form.end,
                _(
                    "Aquesta hora no existeix o es repeteix aquest dia pel canvi d'hora: "
                    "trieu-ne una altra"
                ),
            )
        elif window == visit_plan.WindowProblem.END_NOT_AFTER_START:
            _add_error(form.end, _("L'hora d'acabament ha de ser posterior a la d'inici"))
    if any(field.errors for field in form) or not isinstance(window, tuple):
        return None
    assert day is not None and slot is not None
    return Checked(int(form.town.data), int(form.technician.data), day, *window, slot)


def _appointments(visit: UmicVisit) -> list[Booking]:
    return list(
        db.session.scalars(
            select(Booking)
            .where(Booking.visit_id == visit.id, Booking.status.in_(HOLDING))
            .order_by(Booking.start_utc, Booking.id)
        )
    )


def _problems(form: VisitForm, checked: Checked, visit: UmicVisit | None) -> list[str]:
    """What forbids saving, each said in full (also put beside the field concerned)."""
    found: list[str] = []
    visits, bookings = technician_conflicts(
        checked.technician_id, checked.start_utc, checked.end_utc, visit.id if visit else None
    )
    for other in visits:
        message = _(
            "La persona tècnica ja té una visita a %(town)s %(when)s.",
            town=other.municipality.name,
            when=when_text(other.start_utc, other.end_utc),
        )
        found.append(message)
        _add_error(form.technician, message)
    for booking in bookings:
        message = _(
            "La persona tècnica té una cita confirmada amb %(name)s %(when)s (%(reference)s).",
            name=booking.citizen_name,
            when=when_text(booking.start_utc, booking.end_utc),
            reference=booking.reference,
        )
        found.append(message)
        _add_error(form.technician, message)
    if visit is not None:
        held = _appointments(visit)
        if held and checked.town_id != visit.municipality_id:
            message = _(
                "Aquesta visita ja té cites: no se'n pot canviar el municipi. "
                "Anul·leu-la i planifiqueu-ne una altra."
            )
            found.append(message)
            _add_error(form.town, message)
        if held and checked.technician_id != visit.technician_id:
            message = _(
                "Aquesta visita ja té cites: no se'n pot canviar la persona tècnica. "
                "Anul·leu-la i planifiqueu-ne una altra."
            )
            found.append(message)
            _add_error(form.technician, message)
        spans = [visit_plan.Span(b.start_utc, b.end_utc, b) for b in held]
        for span in visit_plan.outside_window(checked.start_utc, checked.end_utc, spans):
            booking = span.what
            message = _(
                "La cita de %(name)s (%(time)s, %(reference)s) quedaria fora del nou horari.",
                name=booking.citizen_name,
                time=range_text(booking.start_utc, booking.end_utc),
                reference=booking.reference,
            )
            found.append(message)
            _add_error(form.end, message)
    return found


def _save(form: VisitForm, checked: Checked, visit: UmicVisit | None) -> UmicVisit:
    now = clock.now()
    if visit is None:
        visit = UmicVisit(created_by_id=current_user.id, created_at=now)
        db.session.add(visit)
    visit.municipality_id = checked.town_id
    visit.technician_id = checked.technician_id
    visit.start_utc = checked.start_utc
    visit.end_utc = checked.end_utc
    visit.place = form.place.data or ""
    visit.place_details = form.place_details.data or ""
    visit.slot_minutes = checked.slot_minutes
    visit.bookable = bool(form.bookable.data)
    visit.notes = form.notes.data or ""
    visit.updated_at = now
    db.session.commit()
    return visit


def _edit_page(form: VisitForm, visit: UmicVisit | None, **extra):
    return render_template(
        "admin/visit_edit.html",
        form=form,
        visit=visit,
        appointments=_appointments(visit) if visit is not None else [],
        problems=extra.get("problems", []),
        warnings=extra.get("warnings", []),
        warned=extra.get("warned", ""),
    )


def _handle(form: VisitForm, visit: UmicVisit | None):
    """Check and save a posted form; the page again with what is wrong or to confirm."""
    form.validate_on_submit()  # the fields' own checks; ``_checked`` adds the rest
    checked = _checked(form, visit)
    if checked is None:
        return _edit_page(form, visit)
    problems = _problems(form, checked, visit)
    if problems:
        return _edit_page(form, visit, problems=problems)
    warnings = day_warnings(checked.day, checked.technician_id)
    # Saved once the coordinator has seen the warnings of this very day and technician.
    seen = f"{checked.day.isoformat()}/{checked.technician_id}"
    if warnings and request.form.get("accepta_avis") != seen:
        return _edit_page(form, visit, warnings=warnings, warned=seen)
    is_new = visit is None
    visit = _save(form, checked, visit)
    town = db.session.get(Municipality, visit.municipality_id)
    text = _(
        "Visita a %(town)s desada: %(when)s.",
        town=town.name if town else "",
        when=when_text(visit.start_utc, visit.end_utc),
    )
    flash(text, "success")
    target = (
        url_for("admin.visits", dia=checked.day.isoformat())
        if is_new
        else url_for("admin.visit", visit_id=visit.id)
    )
    return redirect(target, 303)


@bp.route("/visites/nova", methods=["GET", "POST"])
def new_visit():
    """Plan a visit (prefilled with the town in ``municipi`` and the day in ``dia``)."""
    form = _with_choices(VisitForm())
    if not form.is_submitted():
        form.slot_minutes.data = str(DEFAULT_VISIT_SLOT_MINUTES)
        form.bookable.data = True
        form.town.data = request.args.get("municipi", "")
        day = parse_day(request.args.get("dia", ""))
        form.day.data = day.isoformat() if day else ""
        return _edit_page(form, None)
    return _handle(form, None)


def _visit_or_404(visit_id: int) -> UmicVisit:
    visit = db.session.scalar(
        select(UmicVisit)
        .options(joinedload(UmicVisit.municipality), joinedload(UmicVisit.technician))
        .where(UmicVisit.id == visit_id)
    )
    if visit is None:
        abort(404)
    return visit


@bp.route("/visites/<int:visit_id>", methods=["GET", "POST"])
def visit(visit_id: int):
    """Edit a visit (a cancelled one is shown, not edited)."""
    found = _visit_or_404(visit_id)
    if not VisitForm().is_submitted() or found.is_cancelled:
        return _edit_page(_form_from(found), found)
    return _handle(_with_choices(VisitForm(), found), found)


@bp.route("/visites/<int:visit_id>/anulla", methods=["GET", "POST"])
def cancel_visit(visit_id: int):
    """Confirm, then cancel the visit and its appointments (each citizen is told)."""
    found = _visit_or_404(visit_id)
    if found.is_cancelled:
        flash(_("Aquesta visita ja està anul·lada."), "error")
        return redirect(url_for("admin.visit", visit_id=found.id), 303)
    form = CancelVisitForm()
    if form.validate_on_submit():
        # The citizen side (helper module umic.visits.service) cancels the bookings and
        # writes to each citizen; imported here so that the admin pages load without it.
        from ..visits.service import cancel_visit as cancel  # noqa: PLC0415

        town = found.municipality.name
        cancelled = cancel(found, current_user, clock.now(), form.reason.data or "")
        db.session.commit()
        flash(
            ngettext(
                "Visita a %(town)s anul·lada; s'ha anul·lat %(num)s cita i s'ha avisat la persona.",
                "Visita a %(town)s anul·lada; s'han anul·lat %(num)s cites i s'ha avisat "
                "cada persona.",
                cancelled,
                town=town,
            )
            if cancelled
            else _("Visita a %(town)s anul·lada.", town=town),
            "success",
        )
        return redirect(url_for("admin.visit", visit_id=found.id), 303)
    return render_template(
        "admin/visit_cancel.html",
        form=form,
        visit=found,
        appointments=[b for b in _appointments(found) if b.status == BookingStatus.CONFIRMED],
    )
