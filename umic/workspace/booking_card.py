"""The booking card (/espai/cites/<id>): one appointment with everything about it.

Who is coming (name, e-mail, phone, address, town, the language they booked in), what about
(the description they wrote), when and with whom, where it stands and how it got there
(created, booked by staff, staff moves, the invitation's version, cancelled and why, marked
and by whom, reminder and survey sent), the case file, the call and the actions.

Every agenda item links here, and so can any page that names a booking. Its technician and
the coordinators open it (``appointments._booking_for_me``: 403 for the rest of the team,
404 for no such booking). The actions are the agenda's own routes (mark, cancel, reassign,
open the case), posted with ``next`` pointing back to the card.

Cost: the booking with its town and technician, its case file, its staff moves, the names of
the staff they mention and, for a coordinator, whom it can be reassigned to: fixed queries.
"""

from __future__ import annotations

from flask import render_template
from flask import url_for
from flask_login import current_user
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..models import BookingChange
from ..models import CaseFile
from ..models import StaffUser
from ..triage.service import shown_for_text
from ..web.i18n import service_tz
from . import bp
from .agenda import join_state
from .agenda import staff_choices
from .appointments import _booking_for_me


@bp.get("/cites/<int:booking_id>")
def booking_card(booking_id: int):
    """The card of one booking: the citizen, the problem, the history and the actions."""
    booking = _booking_for_me(booking_id)
    case = db.session.execute(
        select(CaseFile.id, CaseFile.number).where(CaseFile.booking_id == booking.id)
    ).first()
    changes = list(
        db.session.scalars(
            select(BookingChange)
            .where(BookingChange.booking_id == booking.id)
            .order_by(BookingChange.at, BookingChange.id)
        )
    )
    mentioned = {booking.booked_by_id, booking.marked_by_id}
    for change in changes:
        mentioned |= {change.actor_id, change.previous_technician_id, change.technician_id}
    mentioned.discard(None)
    staff = {
        person.id: person
        for person in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(mentioned)))
    }
    technicians = []
    if current_user.is_coordinator:
        technicians = [person for person, takes_calls in staff_choices() if takes_calls]
    day = booking.start_utc.astimezone(service_tz()).date()
    return render_template(
        "workspace/booking.html",
        booking=booking,
        case=case,
        case_id=case.id if case else None,
        changes=changes,
        staff=staff,
        technicians=technicians,
        # The triage models' read-only guess of the description (umic.triage): no query
        # beyond the model check when a model exists.
        suggestion=shown_for_text(booking.description or ""),
        now=clock.now(),
        join_state=join_state,
        agenda_url=url_for("workspace.agenda", dia=day.isoformat()),
        back=url_for("workspace.booking_card", booking_id=booking.id),
    )
