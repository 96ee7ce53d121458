"""In-person appointments at the mobile unit's (UMIC) visits: the database side.

A visit is one technician in one town for a time window (``models/visits.py``). Citizens
may just come, or ask for a time (``book_at_visit``). An in-person appointment is a
``Booking`` like a video call, with ``visit_id`` set and no video room, so everything that
guards video calls guards it too:

- **No double booking.** It claims its technician's five-minute units with the same
  function and the same race-proof procedure as a video booking (``booking.service.claim_units``
  inside ``retrying``): the unique constraint on (technician, unit) refuses the second of
  two citizens who chose one time, who gets ``SlotUnavailable``, never an error page.
- **One technician, one place at a time.** A planned visit takes its technician away from
  video calls for its whole window (``booking.service.visits_busy``, applied where the video
  free times are computed), and the times offered at a visit leave out any unit its
  technician has claimed.
- **The same caps** on upcoming appointments per address and new bookings per address and
  network (``booking.service.enforce_cap``), the same honeypot and form age on the details
  form (the routes use ``umic.web.limits`` as the video flow does).
- **The same invitations**, with the place instead of a video link (``umic.mail.compose``
  and ``umic.core.ics``): same UID for life, SEQUENCE raised on each change, METHOD:CANCEL
  on cancelling.

Rescheduling an in-person appointment online is not offered: the manage page says to cancel
and choose another time at the town's visits page (a visit's times belong to that visit, and
moving between visits or to a video call is a new appointment). Staff do not move it or
hand it to another technician either (``reschedule``, ``staff_move`` and ``reassign`` refuse
it): it is with the visit's technician, at the visit's place; they cancel it with a reason.

``cancel_visit`` is what the coordinators' planning page calls when a visit is called off:
the visit is marked cancelled and each of its confirmed appointments is cancelled with the
in-person cancellation e-mails, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..booking import service as booking_service
from ..booking.service import SlotUnavailable
from ..core import scheduling
from ..core import visit_slots
from ..extensions import db
from ..mail import compose as mail
from ..models import Booking
from ..models import BookingClaim
from ..models import BookingStatus
from ..models import StaffUser
from ..models import UmicVisit
from ..models import VisitStatus

#: How many of a town's next visits its page lists.
NEXT_VISITS = 8


class VisitNotBookable(SlotUnavailable):
    """The visit is cancelled, past, or takes no appointments (people just come)."""


def next_visits(municipality_id: int, now: datetime, limit: int = NEXT_VISITS) -> list[UmicVisit]:
    """A town's planned visits that have not ended, soonest first (one indexed query)."""
    return list(
        db.session.scalars(
            select(UmicVisit)
            .where(
                UmicVisit.municipality_id == municipality_id,
                UmicVisit.status == VisitStatus.PLANNED,
                UmicVisit.start_utc > now - booking_service.MAX_LENGTH,
                UmicVisit.end_utc > now,
            )
            .order_by(UmicVisit.start_utc, UmicVisit.id)
            .limit(limit)
        )
    )


def _taken_units(visits: Iterable[UmicVisit]) -> dict[int, set[datetime]]:
    """Claimed unit starts per technician, over all the visits' windows (one query)."""
    visits = list(visits)
    if not visits:
        return {}
    first = min(visit.start_utc for visit in visits)
    last = max(visit.end_utc for visit in visits)
    taken: dict[int, set[datetime]] = {}
    rows = db.session.execute(
        select(BookingClaim.technician_id, BookingClaim.unit_start).where(
            BookingClaim.technician_id.in_({visit.technician_id for visit in visits}),
            BookingClaim.unit_start >= first - scheduling.CLAIM_UNIT,
            BookingClaim.unit_start < last,
        )
    )
    for technician_id, unit in rows:
        taken.setdefault(technician_id, set()).add(unit)
    return taken


def visit_times(
    visits: Iterable[UmicVisit], now: datetime, rules: booking_service.Rules | None = None
) -> dict[int, list[datetime]]:
    """The free in-person starts of each visit (visit id -> starts, maybe empty).

    Only planned, bookable visits have times; within the video service's booking window
    (minimum notice, horizon), and without the technician's claimed units.
    """
    rules = rules or booking_service.rules()
    visits = list(visits)
    window = scheduling.booking_window(now, rules.min_notice, rules.horizon, rules.tz)
    bookable = [visit for visit in visits if visit.bookable and not visit.is_cancelled]
    taken = _taken_units(bookable)
    times: dict[int, list[datetime]] = {visit.id: [] for visit in visits}
    for visit in bookable:
        times[visit.id] = visit_slots.free_visit_times(
            visit.start_utc,
            visit.end_utc,
            timedelta(minutes=visit.slot_minutes),
            taken.get(visit.technician_id, ()),
            earliest=window.earliest,
            latest=window.latest,
        )
    return times


def appointment_end(visit: UmicVisit, start: datetime) -> datetime:
    """When an appointment at this visit starting at ``start`` ends."""
    return start + timedelta(minutes=visit.slot_minutes)


def time_is_free(visit: UmicVisit, start: datetime, now: datetime) -> bool:
    """Whether ``start`` is one of the visit's free times now."""
    return start in visit_times([visit], now)[visit.id]


def book_at_visit(
    visit: UmicVisit,
    start: datetime,
    details: dict,
    now: datetime,
    *,
    language: str = "ca",
    network: str | None = None,
    consent_version: str | None = None,
) -> tuple[Booking, str]:
    """Book an in-person time at a visit; returns the booking and its manage token.

    ``details``: name, email, phone, address, description (what the citizen typed, already
    validated). Raises VisitNotBookable or SlotUnavailable when the time cannot be had,
    TooManyBookings when a cap refuses it. The booking, its claims, its manage link and the
    invitations to the citizen and the technician are one transaction.
    """
    visit_id = visit.id

    def attempt() -> tuple[Booking, str]:
        current = db.session.get(UmicVisit, visit_id)
        if current is None or current.is_cancelled or not current.bookable:
            raise VisitNotBookable
        if not time_is_free(current, start, now):
            raise SlotUnavailable
        service = booking_service.active_service()
        if service is None:
            raise VisitNotBookable
        end = start + timedelta(minutes=current.slot_minutes)
        booking = booking_service.new_booking(
            service,
            scheduling.Slot(start, end, (current.technician_id,)),
            current.technician_id,
            now,
            municipality_id=current.municipality_id,
            visit_id=current.id,
            citizen_name=details["name"],
            citizen_email=details["email"],
            citizen_phone=details.get("phone") or "",
            citizen_address=details.get("address") or "",
            description=details.get("description") or "",
            language=language,
            consent_at=now,
            consent_version=consent_version or current_app.config["PRIVACY_NOTICE_VERSION"],
            network_key=network,
        )
        db.session.flush()
        booking_service.enforce_cap(booking, now)
        booking_service.claim_units(booking.id, current.technician_id, start, end)
        token = booking_service.issue_manage_token(booking)
        mail.notify_booking_created(booking, token)
        db.session.commit()
        return booking, token

    # A claim refused by the database (another citizen took the time first) rolls back and
    # tries again: the time is then no longer free, and SlotUnavailable says so.
    return booking_service.retrying(attempt)


def cancel_visit(visit: UmicVisit, actor: StaffUser | None, now: datetime, reason: str = "") -> int:
    """Call a visit off: mark it cancelled and cancel its confirmed appointments, each with
    the in-person cancellation (METHOD:CANCEL) to the citizen and the technician.

    ``reason`` is shown to the citizens in their e-mail. Returns how many appointments were
    cancelled. One transaction; commits. Cancelling a cancelled visit does nothing.
    """
    visit = db.session.execute(
        select(UmicVisit).where(UmicVisit.id == visit.id).with_for_update()
    ).scalar_one()
    if visit.is_cancelled:
        db.session.rollback()
        return 0
    bookings = db.session.scalars(
        select(Booking)
        .where(Booking.visit_id == visit.id, Booking.status == BookingStatus.CONFIRMED)
        .options(selectinload(Booking.technician), selectinload(Booking.municipality))
        .order_by(Booking.start_utc)
        .with_for_update()
    ).all()
    visit.status = VisitStatus.CANCELLED
    visit.cancelled_at = now
    upcoming = [booking for booking in bookings if now < booking.end_utc]
    if upcoming:
        db.session.execute(
            delete(BookingClaim).where(BookingClaim.booking_id.in_([b.id for b in upcoming]))
        )
    for booking in upcoming:
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
        booking.cancel_reason = reason
        booking.cancelled_by = "staff"
        booking.ical_sequence += 1
        mail.notify_booking_cancelled(booking)
    db.session.commit()
    return len(upcoming)
