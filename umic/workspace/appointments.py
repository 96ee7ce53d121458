"""What staff do with appointments: mark them, cancel, reassign, open the case, and book
for a citizen who phoned.

After an action the browser goes back to the agenda, or to the form's ``next`` field when it
names a path on this site (``web.urls.local_path``): never to another site, whatever is posted
(``https://…``, ``//…``, ``/\\…``, ``javascript:``, a tab in front). Ids posted in selects are
checked against the choices offered (``forms.IdSelectField``).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import clock
from ..booking import service as booking_service
from ..booking.picker import free_times_context
from ..booking.picker import parse_slot
from ..casefiles.service import case_from_booking
from ..core.dates import parse_day
from ..extensions import db
from ..models import Booking
from ..models import BookingStatus
from ..models import CaseFile
from ..models import Municipality
from ..models import Role
from ..models import Service
from ..models import StaffUser
from ..web.auth import role_required
from ..web.htmx import hx_redirect
from ..web.htmx import is_htmx
from ..web.i18n import language_name
from ..web.i18n import when_text
from ..web.urls import local_path
from . import bp
from .agenda import join_state
from .agenda import staff_choices
from .forms import PhoneBookingForm
from .forms import ReassignForm
from .forms import StaffCancelForm


def _booking_for_me(booking_id: int) -> Booking:
    """A booking the signed-in member of staff may act on: theirs, or any for coordinators."""
    booking = db.session.scalar(
        select(Booking)
        .options(joinedload(Booking.municipality), joinedload(Booking.technician))
        .where(Booking.id == booking_id)
    )
    if booking is None:
        abort(404)
    if not current_user.is_coordinator and booking.technician_id != current_user.id:
        abort(403)
    return booking


def _back_to_agenda(message: str, category: str = "success") -> Response:
    flash(message, category)
    return redirect(local_path(request.form.get("next")) or url_for("workspace.agenda"), 303)


def _item(booking_id: int, message: str) -> Response:
    """After an action: the updated agenda item for htmx, the agenda for a plain form."""
    if not is_htmx():
        return _back_to_agenda(message)
    booking = _booking_for_me(booking_id)
    case_id = db.session.scalar(select(CaseFile.id).where(CaseFile.booking_id == booking.id))
    return render_template(
        "workspace/_agenda_item.html",
        booking=booking,
        case_id=case_id,
        now=clock.now(),
        join_state=join_state,
        technicians=_technicians() if current_user.is_coordinator else [],
        announce=message,
    )


def _technicians() -> list[StaffUser]:
    """Whom a booking can be given to: active staff who take calls (with opening hours);
    never a coordinator's account without hours."""
    return [person for person, takes_calls in staff_choices() if takes_calls]


@bp.post("/cites/<int:booking_id>/estat")
def mark_booking(booking_id: int):
    """Atesa / No s'hi ha presentat."""
    booking = _booking_for_me(booking_id)
    status = request.form.get("status")
    if status not in (BookingStatus.ATTENDED, BookingStatus.NO_SHOW):
        abort(400)
    try:
        booking_service.mark(booking_id, status, actor_id=current_user.id, now=clock.now())
    except booking_service.ChangeNotAllowed:
        # Refused, never an error page: a cancelled booking, or a call not started yet.
        if booking.status == BookingStatus.CANCELLED:
            message = _("Aquesta cita està anul·lada: no es pot marcar.")
        else:
            message = _(
                "Encara no es pot marcar: la videotrucada comença %(when)s.",
                when=when_text(booking.start_utc, booking.end_utc),
            )
        if is_htmx():
            flash(message, "error")
            return hx_redirect(local_path(request.form.get("next")) or url_for("workspace.agenda"))
        return _back_to_agenda(message, "error")
    message = (
        _("Cita marcada com a atesa.")
        if status == BookingStatus.ATTENDED
        else _("Cita marcada com a no presentada.")
    )
    return _item(booking_id, message)


@bp.route("/cites/<int:booking_id>/anulla", methods=["GET", "POST"])
def cancel_booking(booking_id: int):
    """Cancel for the citizen (the citizen gets the cancellation by e-mail)."""
    booking = _booking_for_me(booking_id)
    form = StaffCancelForm()
    if form.validate_on_submit():
        try:
            booking_service.cancel(
                booking_id, clock.now(), reason=form.reason.data or "", by="staff"
            )
        except booking_service.ChangeNotAllowed:
            return _back_to_agenda(_("Aquesta cita ja no es pot anul·lar."), "error")
        return _back_to_agenda(_("Cita anul·lada. La persona en rebrà l'avís per correu."))
    return render_template("workspace/cancel_booking.html", booking=booking, form=form)


@bp.post("/cites/<int:booking_id>/reassigna")
@role_required(Role.COORDINATOR)
def reassign_booking(booking_id: int):
    """Give the appointment to another technician; both get updated invitations."""
    _booking_for_me(booking_id)
    form = ReassignForm()
    form.technician.choices = [(t.id, t.name) for t in _technicians()]
    if not form.validate_on_submit() or not form.technician.data:
        return _back_to_agenda(_("Trieu a qui voleu reassignar la cita."), "error")
    try:
        booking_service.reassign(booking_id, form.technician.data, clock.now())
    except booking_service.SlotUnavailable:
        return _back_to_agenda(_("Aquesta persona no està lliure a aquesta hora."), "error")
    except booking_service.ChangeNotAllowed:
        return _back_to_agenda(_("Aquesta cita ja no es pot reassignar."), "error")
    return _item(booking_id, _("Cita reassignada. Totes dues persones en rebran l'avís."))


@bp.post("/cites/<int:booking_id>/expedient")
def open_case(booking_id: int):
    """Open the appointment's case file, creating it from the booking the first time."""
    booking = _booking_for_me(booking_id)
    case = case_from_booking(booking, actor=current_user, now=clock.now())
    db.session.commit()
    target = url_for("workspace.case_detail", case_id=case.id)
    return hx_redirect(target) if is_htmx() else redirect(target, 303)


# --- Booking for a citizen who phoned -----------------------------------------------------


def _phone_towns() -> list[Municipality]:
    return list(
        db.session.scalars(
            select(Municipality)
            .where(Municipality.can_book)
            .order_by(Municipality.search_name, Municipality.name)  # Catalan order: core/text
        )
    )


def _service() -> Service:
    service = booking_service.active_service()
    if service is None:
        abort(404)
    return service


@bp.get("/cites/nova")
def new_booking():
    """Step 1: the town, the day and the time (the citizen's picker, without minimum notice)."""
    towns = _phone_towns()
    service = _service()
    town = next((t for t in towns if str(t.id) == request.args.get("municipi")), None)
    context: dict = {"towns": towns, "town": town, "service": service}
    if town is not None:
        staff_rules = dataclasses.replace(booking_service.rules(), min_notice=timedelta(0))
        context.update(
            free_times_context(
                service,
                clock.now(),
                staff_rules,
                parse_day(request.args.get("dia")),
                parse_day(request.args.get("des")),
                municipality_id=town.id,
                fragment=False,
            ),
            picker_url=url_for("workspace.new_booking", municipi=town.id),
            times_url=url_for("workspace.new_booking_details"),
            hidden_fields={"municipi": town.id},
            taken=request.args.get("ocupada") == "1",
            current_slot=None,
        )
    return render_template("workspace/new_booking.html", **context)


@bp.route("/cites/nova/dades", methods=["GET", "POST"])
def new_booking_details():
    """Step 2: who is booking; the booking is made on submit."""
    service = _service()
    town = next((t for t in _phone_towns() if str(t.id) == request.values.get("municipi")), None)
    start = parse_slot(request.values.get("slot"))
    if town is None or start is None:
        return redirect(url_for("workspace.new_booking"), 303)
    form = PhoneBookingForm()
    form.technician.choices = [(0, _("Qualsevol persona lliure"))] + [
        (t.id, f"{t.name} ({t.username})") for t in _technicians()
    ]
    languages = current_app.config["LANGUAGES"]
    form.language.choices = [(code, language_name(code)) for code in languages]
    if request.method == "GET":
        form.slot.data = request.args.get("slot")
        form.language.data = current_app.config["BABEL_DEFAULT_LOCALE"]
    if form.validate_on_submit():
        details = {
            "name": form.name.data,
            "email": form.email.data or "",
            "phone": form.phone.data or "",
            "address": form.address.data or "",
            "description": form.description.data or "",
        }
        try:
            booking, _token = booking_service.book_for_citizen(
                service=service,
                municipality_id=town.id,
                start=start,
                details=details,
                staff=current_user,
                now=clock.now(),
                technician_id=form.technician.data or None,
                language=form.language.data if form.language.data in languages else None,
            )
        except booking_service.SlotUnavailable:
            day = start.astimezone(booking_service.rules().tz).date().isoformat()
            return redirect(
                url_for("workspace.new_booking", municipi=town.id, dia=day, ocupada=1), 303
            )
        flash(
            _(
                "Cita %(reference)s creada per a %(name)s, %(when)s.",
                reference=booking.reference,
                name=booking.citizen_name,
                when=when_text(booking.start_utc, booking.end_utc),
            ),
            "success",
        )
        return redirect(url_for("workspace.agenda"), 303)
    return render_template(
        "workspace/new_booking_details.html",
        form=form,
        town=town,
        service=service,
        start=start,
        end=start + service.duration,
        slot=start.astimezone(booking_service.rules().tz).isoformat(),
    )
