"""The reminder e-mail a citizen gets the day before the call (``REMINDER_HOURS_BEFORE``).

Who is reminded and when is a booking rule; the mail worker runs :func:`queue_due_reminders`
on every pass (``umic.jobs``) and the outbox sends what it queued.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy import update

from .. import clock
from ..extensions import db
from ..mail.compose import notify_reminder
from ..models import Booking
from ..models import BookingStatus
from .service import issue_manage_token


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
        notify_reminder(booking, issue_manage_token(booking))
        db.session.commit()
        queued += 1
    return queued
