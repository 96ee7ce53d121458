"""Staff move a booking to another time and/or technician (``/espai/cites/<id>/canvia``).

One page, without JavaScript: a day chosen with a GET form (``?dia=``, the booking's own day
first), that day's free times as radios (each naming who is free then), a select of the
technicians who take calls ("the same one if free, else anyone free" by default), an
override for a time outside the opening hours (a typed time and a checkbox: only the
no-double-booking claims apply then, and the change is recorded with its author), and the
reason the citizen reads in their e-mail. The POST moves the booking at once
(``booking.service.staff_move``: same UID, higher SEQUENCE, one e-mail per person); errors
come back beside their fields and in the summary, with what was typed kept. The same people
who may cancel a booking may move it: its technician, or any coordinator.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import BuildError
from wtforms import BooleanField
from wtforms import HiddenField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import Length

from .. import clock
from ..booking import service as booking_service
from ..booking.picker import parse_slot
from ..booking.picker import slot_value
from ..core.dates import parse_day
from ..core.dates import parse_time
from ..models import Booking
from ..models import BookingStatus
from ..web.forms import Form
from ..web.forms import line
from ..web.forms import text
from ..web.i18n import day_text
from ..web.i18n import when_text
from . import bp
from .agenda import may_act
from .appointments import _booking_for_me
from .appointments import _technicians
from .forms import IdSelectField


class MoveForm(Form):
    """The new time (a free one, or one typed with the override), who, and why."""

    dia = HiddenField()
    slot = StringField(_l("Hora"))
    technician = IdSelectField(_l("Persona tècnica"), _l("Trieu una persona de la llista"))
    override = BooleanField(_l("Fora de l'horari d'atenció: faig servir l'hora escrita"))
    override_time = StringField(_l("Hora fora de l'horari"), filters=[line])
    reason = TextAreaField(
        _l("Motiu per a la persona"),
        filters=[text],
        validators=[Length(max=500, message=_l("El motiu ha de tenir 500 caràcters o menys"))],
    )


def local_start(day: date, at: time, tz) -> datetime | None:
    """``day`` at ``at`` in ``tz``, or None for a time that does not exist or happens twice
    that day (the daylight-saving changes)."""
    moment = datetime.combine(day, at, tzinfo=tz)
    other = moment.replace(fold=1)
    if moment.utcoffset() != other.utcoffset():
        return None  # happens twice (October)
    if moment.astimezone(tz).replace(tzinfo=None) != moment.replace(tzinfo=None):
        return None  # does not exist (March)
    return moment


def after_move_url(booking: Booking) -> str:
    """Where the browser goes after a move: the booking's card, or the agenda of its day
    when the signed-in technician just gave it to someone else (the card is theirs now)."""
    day = booking.start_utc.astimezone(booking_service.rules().tz).date()
    if not may_act(booking, current_user):
        return url_for("workspace.agenda", dia=day.isoformat())
    try:
        return url_for("workspace.booking_card", booking_id=booking.id)
    except BuildError:
        return url_for("workspace.agenda", dia=day.isoformat())


def _slots_of(booking: Booking, day: date):
    """The free times of ``day`` for this booking (its own time counted as free)."""
    rules_ = booking_service.staff_move_rules()
    slots, _availability = booking_service.open_slots(
        booking.service,
        clock.now(),
        rules_,
        day=day,
        exclude_booking_id=booking.id,
        municipality_id=booking.municipality_id,
    )
    return slots


@bp.route("/cites/<int:booking_id>/canvia", methods=["GET", "POST"])
def move_booking(booking_id: int):
    """Move a booking to another time and/or technician; the citizen and the technicians
    are told by e-mail, with an invitation that updates the one they have."""
    booking = _booking_for_me(booking_id)
    now = clock.now()
    if booking.status != BookingStatus.CONFIRMED or now >= booking.end_utc:
        flash(_("Aquesta cita ja no es pot canviar."), "error")
        return redirect(after_move_url(booking), 303)
    tz = booking_service.rules().tz
    technicians = _technicians()
    names = {person.id: person.name for person in technicians}
    form = MoveForm()
    form.technician.choices = [(0, _("La mateixa si és lliure; si no, qualsevol persona lliure"))]
    form.technician.choices += [(person.id, person.name) for person in technicians]
    chosen = parse_day(request.values.get("dia")) or booking.start_utc.astimezone(tz).date()
    today = now.astimezone(tz).date()
    errors: list[tuple[str, str]] = []

    if form.validate_on_submit():
        technician_id = form.technician.data or None
        start = None
        if form.override.data:
            at = parse_time(form.override_time.data)
            if at is None:
                form.override_time.errors.append(_("Escriviu l'hora com ara 20:15"))
            else:
                start = local_start(chosen, at, tz)
                if start is None:
                    form.override_time.errors.append(
                        _("Aquesta hora no existeix o es repeteix aquest dia (canvi d'hora)")
                    )
                elif start <= now:
                    form.override_time.errors.append(_("Trieu una hora que encara no hagi passat"))
                    start = None
        else:
            start = parse_slot(form.slot.data)
            if start is None or start.astimezone(tz).date() != chosen:
                form.slot.errors = [_("Trieu una hora lliure")]
                start = None
        if start is not None:
            try:
                moved = booking_service.staff_move(
                    booking.id,
                    start=start,
                    technician_id=technician_id,
                    now=now,
                    actor_id=current_user.id,
                    override_hours=bool(form.override.data),
                    reason=form.reason.data or "",
                )
            except booking_service.NoChange:
                form.slot.errors = [_("La cita ja és a aquesta hora amb aquesta persona")]
            except booking_service.ChangeNotAllowed:
                flash(_("Aquesta cita ja no es pot canviar."), "error")
                return redirect(after_move_url(booking), 303)
            except booking_service.SlotUnavailable:
                if technician_id:
                    form.technician.errors = [_("Aquesta persona no és lliure a aquesta hora")]
                elif form.override.data:
                    form.override_time.errors.append(_("Ningú no és lliure a aquesta hora"))
                else:
                    form.slot.errors = [_("Aquesta hora ja no és lliure. Trieu-ne una altra.")]
            else:
                flash(
                    _(
                        "Cita canviada: %(when)s, amb %(name)s. Tothom en rebrà l'avís per correu.",
                        when=when_text(moved.start_utc, moved.end_utc),
                        name=moved.technician.name,
                    )
                    if moved.citizen_email
                    else _(
                        "Cita canviada: %(when)s, amb %(name)s. La persona no té correu: "
                        "aviseu-la per telèfon.",
                        when=when_text(moved.start_utc, moved.end_utc),
                        name=moved.technician.name,
                    ),
                    "success",
                )
                return redirect(after_move_url(moved), 303)
    elif request.method == "GET":
        form.dia.data = chosen.isoformat()

    for name, anchor in (
        ("slot", "#hora-primera"),
        ("override_time", "#override_time"),
        ("technician", "#technician"),
        ("reason", "#reason"),
    ):
        for message in getattr(form, name).errors:
            errors.append((anchor, message))

    slots = _slots_of(booking, chosen)
    posted = parse_slot(form.slot.data) if request.method == "POST" else None
    return render_template(
        "workspace/move_booking.html",
        booking=booking,
        form=form,
        errors=errors,
        chosen_day=chosen,
        previous_day=chosen - timedelta(days=1) if chosen > today else None,
        next_day=chosen + timedelta(days=1),
        times=[
            (slot, slot_value(slot), [names[t] for t in slot.technicians if t in names])
            for slot in slots
        ],
        posted_slot=posted,
        back_url=after_move_url(booking),
        day_label=day_text(chosen, year=True),
    )
