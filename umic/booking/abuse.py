"""Watching for a script: cap refusals counted, coordinators alerted, network keys erased.

The caps themselves are in ``service`` (they refuse inside the booking's transaction). This
module keeps what they leave behind for as short a time as it is needed, and tells people:

- ``record_refusal``: a cap said no (a row with a reason and a time, nothing personal);
- ``watch``, a periodic job (``umic.jobs``): erases each booking's network key once it is a
  day old, and each mailbox message's (on its case file, ``umic.mailbox``) (the per-network
  cap looks back 24 hours, so the key is useless after that), deletes
  refusals older than a day, and e-mails every active coordinator when, in the last hour,
  more than ``BOOKING_ALERT_NEW_PER_HOUR`` bookings arrived online or the caps refused more
  than ``BOOKING_ALERT_REFUSALS_PER_HOUR``, or in the last 24 hours more than
  ``BOOKING_ALERT_NEW_PER_DAY`` arrived online (a script that stays under the caps and books a
  little every day): at most one e-mail an hour for each hourly reason and one a day for the
  daily one, however many workers run the job (the alert is taken with a conditional UPDATE).

docs/booking-abuse.md says why these numbers, and what a coordinator can do with an alert.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ..core import ics
from ..extensions import db
from ..mail import compose as mail
from ..models import Booking
from ..models import BookingAlert
from ..models import BookingRefusal
from ..models import CaseFile
from ..models import Role
from ..models import StaffUser
from ..web.urls import external_url

#: How long a network key and a refusal are kept: the per-day caps look back this far.
KEEP = timedelta(days=1)
#: The alerts' window, and the least time between two alerts for one reason.
HOUR = timedelta(hours=1)

ALERT_RATE = "rate"
ALERT_RATE_DAY = "rate_day"
ALERT_REFUSALS = "refusals"


def record_refusal(reason: str, now: datetime) -> None:
    """Note that a cap refused a booking (for the alerts); commits."""
    db.session.add(BookingRefusal(reason=reason, created_at=now))
    db.session.commit()


def erase_network_keys(now: datetime) -> int:
    """Blank the network key of bookings, and of mailbox messages (their case files, whose
    per-network cap is the same), made more than a day ago; returns how many."""
    result = db.session.execute(
        update(Booking)
        .where(Booking.network_key.is_not(None), Booking.created_at <= now - KEEP)
        .values(network_key=None)
        .execution_options(synchronize_session=False)
    )
    cases = db.session.execute(
        update(CaseFile)
        .where(CaseFile.network_key.is_not(None), CaseFile.requested_at <= now - KEEP)
        .values(network_key=None)
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) + (cases.rowcount or 0)


def purge_refusals(now: datetime) -> int:
    result = db.session.execute(
        delete(BookingRefusal).where(BookingRefusal.created_at <= now - KEEP)
    )
    return result.rowcount or 0


def _online_bookings_since(since: datetime) -> int:
    return db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.created_at > since, Booking.booked_by_id.is_(None)
        )
    )


def _refusals_since(since: datetime) -> int:
    return db.session.scalar(
        select(func.count(BookingRefusal.id)).where(BookingRefusal.created_at > since)
    )


def _take_alert(reason: str, now: datetime, gap: timedelta) -> bool:
    """True for the one caller allowed to send this reason's alert now (at most once a
    ``gap``)."""
    taken = db.session.execute(
        update(BookingAlert)
        .where(BookingAlert.reason == reason, BookingAlert.last_sent_at <= now - gap)
        .values(last_sent_at=now)
    )
    if taken.rowcount:
        return True
    exists = db.session.scalar(select(BookingAlert.reason).where(BookingAlert.reason == reason))
    if exists is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(BookingAlert(reason=reason, last_sent_at=now))
    except IntegrityError:  # another worker inserted it first: theirs to send
        return False
    return True


def _send_alert(reason: str, count: int, threshold: int) -> int:
    """Queue the alert to every active coordinator with an address; returns how many."""
    coordinators = db.session.scalars(
        select(StaffUser)
        .where(
            StaffUser.role == Role.COORDINATOR, StaffUser.active.is_(True), StaffUser.email != ""
        )
        .order_by(StaffUser.id)
    ).all()
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        if reason == ALERT_RATE:
            subject = _("Avís: moltes reserves noves en l'última hora (%(num)s)", num=count)
        elif reason == ALERT_RATE_DAY:
            subject = _("Avís: moltes reserves noves en les últimes 24 hores (%(num)s)", num=count)
        else:
            subject = _("Avís: els límits han refusat moltes reserves (%(num)s)", num=count)
        context = {
            "reason": reason,
            "count": count,
            "threshold": threshold,
            "agenda_url": external_url("workspace.agenda"),
            "organisation": current_app.config["SERVICE_ORGANISATION"],
        }
        for user in coordinators:
            mail.enqueue(
                kind="booking_alert",
                recipient=ics.Person(email=user.email, name=user.name),
                subject=subject,
                template="booking_alert",
                context={**context, "name": user.name},
            )
    return len(coordinators)


def watch(now: datetime) -> int:
    """The periodic job: erase old network keys and refusals, alert on unusual rates.

    Returns how many things it did (keys erased, refusals deleted, alerts queued).
    """
    done = erase_network_keys(now) + purge_refusals(now)
    db.session.commit()
    checks = (  # reason, setting, what it counts, over how long (and the least gap)
        (ALERT_RATE, "BOOKING_ALERT_NEW_PER_HOUR", _online_bookings_since, HOUR),
        (ALERT_RATE_DAY, "BOOKING_ALERT_NEW_PER_DAY", _online_bookings_since, KEEP),
        (ALERT_REFUSALS, "BOOKING_ALERT_REFUSALS_PER_HOUR", _refusals_since, HOUR),
    )
    for reason, key, counted, window in checks:
        threshold = int(current_app.config.get(key) or 0)
        if not threshold:
            continue
        count = counted(now - window)
        if count > threshold and _take_alert(reason, now, window):
            done += _send_alert(reason, count, threshold)
            db.session.commit()
    return done
