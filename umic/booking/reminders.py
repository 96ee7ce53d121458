"""The reminder e-mail a citizen gets the day before the call (``REMINDER_HOURS_BEFORE``).

Who is reminded and when is a booking rule; the mail worker runs :func:`queue_due_reminders`
on every pass (``umic.jobs``) and the outbox sends what it queued.

The reminder says "today" or "tomorrow" from the appointment's local day (the service's time
zone) compared with the local day of the moment it is composed (``reminder_day``): with
``REMINDER_HOURS_BEFORE`` at 24, a reminder queued at 11:00 for a call at 13:30 is "today",
one queued at 23:30 for 09:00 is "tomorrow", and on a daylight-saving day the days still
come from the calendar, never from a count of 24 hours.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy import update

from .. import clock
from ..extensions import db
from ..mail.compose import notify_reminder
from ..models import Booking
from ..models import BookingStatus
from .service import issue_manage_token


def reminder_day(
    start: datetime, now: datetime, tz: ZoneInfo
) -> Literal["today", "tomorrow", "later"]:
    """Whether the appointment starting at ``start`` is on the local day of ``now``, the
    next local day, or later (pure: both aware, compared as calendar days in ``tz``)."""
    days = (start.astimezone(tz).date() - now.astimezone(tz).date()).days
    if days <= 0:
        return "today"
    return "tomorrow" if days == 1 else "later"


def queue_due_reminders(now: datetime | None = None) -> int:
    """Queue the reminder e-mail for bookings that start within REMINDER_HOURS_BEFORE.

    Only for bookings confirmed well before that (someone who booked this morning for this
    afternoon has just had the confirmation). The conditional UPDATE on
    ``reminder_sent_at IS NULL`` makes two workers queue it once.
    """
    now = now or clock.now()
    lead = timedelta(hours=current_app.config["REMINDER_HOURS_BEFORE"])
    due = db.session.scalars(
        select(Booking.id).where(
            Booking.status == BookingStatus.CONFIRMED,
            Booking.reminder_sent_at.is_(None),
            Booking.start_utc > now,
            Booking.start_utc <= now + lead,
        )
    ).all()
    queued = 0
    for booking_id in due:
        taken = db.session.execute(
            update(Booking)
            .where(
                Booking.id == booking_id,
                Booking.reminder_sent_at.is_(None),
                Booking.status == BookingStatus.CONFIRMED,
            )
            .values(reminder_sent_at=now)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            db.session.rollback()
            continue
        booking = db.session.get(Booking, booking_id)
        db.session.refresh(booking)
        if booking.confirmed_at > booking.start_utc - lead:
            db.session.commit()  # marked, but too recent to need a reminder
            continue
        day = reminder_day(booking.start_utc, now, ZoneInfo(current_app.config["TIMEZONE"]))
        notify_reminder(booking, issue_manage_token(booking), day=day)
        db.session.commit()
        queued += 1
    return queued
