"""The agenda: my appointments today and this week (everyone's, for coordinators)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from flask import current_app
from flask import render_template
from flask import request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import clock
from ..casefiles.documents import new_citizen_uploads
from ..core.numbers import int_in_range
from ..extensions import db
from ..models import Booking
from ..models import BookingStatus
from ..models import CaseFile
from ..models import StaffUser
from ..web.i18n import service_tz
from . import bp

#: How far back the agenda looks for calls nobody marked attended or missed.
UNMARKED_DAYS = 14


def visible_bookings(query, user: StaffUser, technician_id: int | None = None):
    """Technicians see their own appointments; coordinators everyone's (or one person's)."""
    if not user.is_coordinator:
        return query.where(Booking.technician_id == user.id)
    if technician_id:
        return query.where(Booking.technician_id == technician_id)
    return query


def _week(today: date) -> tuple[date, date]:
    """Today up to Sunday; on a Saturday or Sunday, up to next Sunday."""
    last = today + timedelta(days=6 - today.weekday())
    if (last - today).days < 2:
        last += timedelta(days=7)
    return today, last


def join_state(booking: Booking, now: datetime) -> str:
    """'soon' (not yet), 'live' (from N minutes before until the end) or 'over'."""
    opens = booking.start_utc - timedelta(minutes=current_app.config["JOIN_LINK_MINUTES_BEFORE"])
    if now < opens:
        return "soon"
    if now < booking.end_utc:
        return "live"
    return "over"


def agenda_context(user: StaffUser, technician_id: int | None, now: datetime) -> dict:
    """Days from today to the end of the week with their appointments: three queries."""
    tz = service_tz()
    today = now.astimezone(tz).date()
    first, last = _week(today)
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    query = (
        select(Booking)
        .options(joinedload(Booking.municipality), joinedload(Booking.technician))
        .where(Booking.start_utc >= start, Booking.start_utc < end)
        .order_by(Booking.start_utc, Booking.id)
    )
    bookings = list(db.session.scalars(visible_bookings(query, user, technician_id)))
    # Calls of the last two weeks that already ended and nobody marked attended or missed.
    unmarked_query = (
        select(Booking)
        .options(joinedload(Booking.municipality), joinedload(Booking.technician))
        .where(
            Booking.status == BookingStatus.CONFIRMED,
            Booking.end_utc <= now,
            Booking.start_utc >= now - timedelta(days=UNMARKED_DAYS),
            Booking.start_utc < start,
        )
        .order_by(Booking.start_utc, Booking.id)
    )
    unmarked = list(db.session.scalars(visible_bookings(unmarked_query, user, technician_id)))
    cases = dict(
        db.session.execute(
            select(CaseFile.booking_id, CaseFile.id).where(
                CaseFile.booking_id.in_([b.id for b in bookings + unmarked])
            )
        ).all()
    )
    by_day: dict[date, list[Booking]] = defaultdict(list)
    for booking in bookings:
        by_day[booking.start_utc.astimezone(tz).date()].append(booking)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    technicians = []
    if user.is_coordinator:
        technicians = list(
            db.session.scalars(
                select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.name)
            )
        )
    return {
        "today": today,
        "days": [(day, by_day.get(day, [])) for day in days],
        "unmarked": unmarked,
        "cases": cases,
        "now": now,
        "technicians": technicians,
        "technician_id": technician_id,
        "join_state": join_state,
        "uploads": _new_uploads(user),
    }


def _new_uploads(user: StaffUser) -> list:
    """Documents citizens sent and no one has looked at yet."""
    return new_citizen_uploads(user)


@bp.get("/")
def agenda():
    """Agenda: today and the rest of the week, with join links and actions."""
    # Anything but a plausible id is ignored (the whole team's week), never a 500.
    technician_id = int_in_range(request.args.get("tecnic"))
    context = agenda_context(current_user, technician_id, clock.now())
    return render_template("workspace/agenda.html", **context)
