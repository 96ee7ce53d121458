"""Booking, rescheduling and cancelling: the database side of the citizen journey.

The slot rules live in ``umic.core.scheduling`` (pure). This module loads what they need in a
fixed number of indexed queries, and writes bookings so that the database itself refuses
a double booking: each booking claims its technician's five-minute units, and
``booking_claim`` is unique on (technician, unit). The loser of a race gets
``SlotUnavailable``, never an error page.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core import ics
from ..core import scheduling
from ..core.emails import email_key
from ..core.tokens import new_reference
from ..core.tokens import video_link
from ..extensions import db
from ..mail import compose as mail
from ..models import ACTIVE_STATUSES
from ..models import Booking
from ..models import BookingChange
from ..models import BookingClaim
from ..models import BookingDraft
from ..models import BookingStatus
from ..models import Closure
from ..models import Municipality
from ..models import OpeningHours
from ..models import Service
from ..models import StaffTown
from ..models import StaffUser
from ..models import TokenPurpose
from ..models import UmicVisit
from ..models import VisitStatus
from ..models import availability
from ..models.core import DEFAULT_CALL_MINUTES
from ..surveys.service import survey_after_mark
from ..web.access import find_token
from ..web.access import issue_token

log = logging.getLogger(__name__)
T = TypeVar("T")

#: No appointment lasts this long (calls last at most ``core.calls.MAX_CALL_MINUTES``): the
#: lower bound of every "overlaps this period" query (``overlapping``).
MAX_LENGTH = timedelta(days=1)


class SlotUnavailable(Exception):
    """The chosen time is not (or no longer) free."""


class ChangeNotAllowed(Exception):
    """Too close to the appointment, already past, or cancelled."""


class TooManyBookings(Exception):
    """A cap refuses the booking (``reason``: CAP_ACTIVE, CAP_EMAIL_DAY, CAP_NETWORK_DAY).

    ``active`` is how many the cap already counts (upcoming appointments, or bookings in the
    last 24 hours), ``cap`` its limit.
    """

    def __init__(self, active: int, cap: int, reason: str = "active"):
        super().__init__(active, cap, reason)
        self.active = active
        self.cap = cap
        self.reason = reason


@dataclass(frozen=True)
class Rules:
    """The booking rules from configuration."""

    tz: ZoneInfo
    min_notice: timedelta
    horizon: timedelta
    change_cutoff: timedelta
    holidays_country: str
    holidays_subdivision: str | None

    @classmethod
    def from_config(cls, config) -> Rules:
        return cls(
            tz=ZoneInfo(config["TIMEZONE"]),
            min_notice=timedelta(minutes=config["BOOKING_MIN_NOTICE_MINUTES"]),
            horizon=timedelta(days=config["BOOKING_HORIZON_DAYS"]),
            change_cutoff=timedelta(minutes=config["BOOKING_CHANGE_CUTOFF_MINUTES"]),
            holidays_country=config["HOLIDAYS_COUNTRY"],
            holidays_subdivision=config["HOLIDAYS_SUBDIVISION"] or None,
        )


def rules() -> Rules:
    return Rules.from_config(current_app.config)


@functools.lru_cache(maxsize=16)
def _holidays(years: tuple[int, ...], country: str, subdivision: str | None) -> frozenset[date]:
    return frozenset(scheduling.public_holidays(years, country, subdivision))


def overlapping(start: datetime, end: datetime) -> tuple:
    """SQL conditions: the booking overlaps ``start``-``end``, bounded on both sides.

    "Starts before the end and ends after the start" alone matches every past booking (each
    one started before any future end), so the database reads the whole history. No
    appointment lasts a day (``MAX_LENGTH``), so one that overlaps also starts after
    ``start - MAX_LENGTH``: that lower bound lets the index on ``start_utc`` read only the
    few rows of the days asked, whatever the size of the history.
    """
    return (
        Booking.start_utc > start - MAX_LENGTH,
        Booking.start_utc < end,
        Booking.end_utc > start,
    )


def load_availability(
    first_day: date,
    last_day: date,
    rules: Rules,
    exclude_booking_id: int | None = None,
    *,
    municipality_id: int | None = None,
) -> scheduling.Availability:
    """Hours, closures and bookings for a range of local days: three queries, always.

    With ``municipality_id`` (a booking from that town), only the hours of technicians who
    serve it (``StaffTown.serves``: no towns listed, or this one): the others are never
    offered, chosen or claimed for it. Without it, everyone's hours (the team's views).
    """
    tz = rules.tz
    hours_query = (
        select(
            OpeningHours.staff_id,
            OpeningHours.weekday,
            OpeningHours.start_time,
            OpeningHours.end_time,
        )
        .join(StaffUser, StaffUser.id == OpeningHours.staff_id)
        .where(StaffUser.active.is_(True))
    )
    if municipality_id is not None:
        hours_query = hours_query.where(StaffTown.serves(OpeningHours.staff_id, municipality_id))
    hours = [
        scheduling.WeeklyHours(row.staff_id, row.weekday, row.start_time, row.end_time)
        for row in db.session.execute(hours_query)
    ]
    closed = set(
        _holidays(
            tuple(range(first_day.year, last_day.year + 1)),
            rules.holidays_country,
            rules.holidays_subdivision,
        )
    )
    absences: dict[int, set[date]] = {}
    for day, staff_id in db.session.execute(
        select(Closure.day, Closure.staff_id).where(Closure.day.between(first_day, last_day))
    ):
        if staff_id is None:
            closed.add(day)
        else:
            absences.setdefault(staff_id, set()).add(day)

    range_start = datetime.combine(first_day, time(0), tzinfo=tz).astimezone(UTC)
    range_end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    query = select(Booking.technician_id, Booking.start_utc, Booking.end_utc).where(
        Booking.status.in_(ACTIVE_STATUSES),
        *overlapping(range_start, range_end),
    )
    if exclude_booking_id is not None:
        query = query.where(Booking.id != exclude_booking_id)
    # A planned visit of the mobile unit takes its technician away too: same query.
    query = query.union_all(visits_busy(range_start, range_end))
    busy = [scheduling.Busy(*row) for row in db.session.execute(query)]
    return scheduling.Availability(
        tz=tz,
        hours=hours,
        closed_days=frozenset(closed),
        absences={tech: frozenset(days) for tech, days in absences.items()},
        busy=busy,
    )


def visits_busy(start: datetime, end: datetime):
    """SELECT (technician, start, end) of the planned visits of the mobile unit overlapping
    ``start``-``end``: each takes its technician away from video calls for its whole window
    (bounded on both sides like ``overlapping``: a visit lasts less than a day)."""
    return select(UmicVisit.technician_id, UmicVisit.start_utc, UmicVisit.end_utc).where(
        UmicVisit.status == VisitStatus.PLANNED,
        UmicVisit.start_utc > start - MAX_LENGTH,
        UmicVisit.start_utc < end,
        UmicVisit.end_utc > start,
    )


def open_slots(
    service: Service,
    now: datetime,
    rules: Rules,
    *,
    day: date | None = None,
    exclude_booking_id: int | None = None,
    municipality_id: int | None = None,
) -> tuple[list[scheduling.Slot], scheduling.Availability]:
    """Free slots within the booking window (or only on ``day``), and what they came from.

    ``municipality_id``: the town the booking is for; only its technicians are offered
    (``load_availability``). Every citizen and phone booking passes it.
    """
    window = scheduling.booking_window(now, rules.min_notice, rules.horizon, rules.tz)
    if day is not None:
        if not (window.first_day <= day <= window.last_day):
            return [], scheduling.Availability(tz=rules.tz, hours=())
        window = scheduling.Window(window.earliest, window.latest, day, day)
    availability = load_availability(
        window.first_day,
        window.last_day,
        rules,
        exclude_booking_id=exclude_booking_id,
        municipality_id=municipality_id,
    )
    return scheduling.free_slots(availability, window, service.duration), availability


def town_limits() -> dict[int, frozenset[int]]:
    """The technicians limited to some towns: staff id -> the towns they serve (one query).

    A technician absent from it serves every town. For code that proposes technicians for
    several bookings at once from one ``load_availability`` without a town (a closure's
    proposals): keep a technician for a booking only when ``serves_town(limits, ...)``.
    """
    limits: dict[int, set[int]] = {}
    for staff_id, town_id in db.session.execute(
        select(StaffTown.staff_id, StaffTown.municipality_id)
    ):
        limits.setdefault(staff_id, set()).add(town_id)
    return {staff_id: frozenset(towns) for staff_id, towns in limits.items()}


def serves_town(limits: dict[int, frozenset[int]], staff_id: int, municipality_id: int) -> bool:
    """Whether ``staff_id`` serves the town, by ``town_limits()`` (the rule of
    ``StaffTown.serves``, in Python)."""
    towns = limits.get(staff_id)
    return towns is None or municipality_id in towns


def active_service() -> Service | None:
    """The service citizens book now: the first active one (an installation has one)."""
    return db.session.scalar(
        select(Service).where(Service.active.is_(True)).order_by(Service.id).limit(1)
    )


@functools.cache
def _town_and_service_statement():
    active = (
        select(Service.id)
        .where(Service.active.is_(True))
        .order_by(Service.id)
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(Municipality, Service, availability.current_statement().scalar_subquery())
        .outerjoin(Service, Service.id == active)
        .where(Municipality.slug == bindparam("slug"))
    )


def town_and_service(slug: str) -> tuple[Municipality | None, Service | None, int | None]:
    """The town with this slug, the active service and the free times' number, in one query
    (the citizens' busiest pages need all three; ``free_times`` explains the number).

    The statement is built once: building it (not running it) was half the cost of the
    day-times fragment's only query."""
    row = db.session.execute(_town_and_service_statement(), {"slug": slug}).first()
    if row is None:
        return None, None, None
    return row[0], row[1], row[2]


def call_minutes() -> int:
    """How long a call lasts, for the pages that say so (the default before any service)."""
    service = active_service()
    return service.duration_minutes if service is not None else DEFAULT_CALL_MINUTES


def claim_units(booking_id: int, technician_id: int, start: datetime, end: datetime) -> None:
    """Insert the booking's units; raises IntegrityError if any is already taken."""
    db.session.execute(
        insert(BookingClaim),
        [
            {"booking_id": booking_id, "technician_id": technician_id, "unit_start": unit}
            for unit in scheduling.claim_units(start, end)
        ],
    )


def issue_manage_token(booking: Booking) -> str:
    """A fresh link for the citizen; valid until some days after the appointment."""
    keep = timedelta(days=current_app.config["MANAGE_LINK_DAYS_AFTER"])
    return issue_token(TokenPurpose.MANAGE, booking.end_utc + keep, booking=booking)


def find_by_token(token: str, now: datetime) -> Booking | None:
    """The booking a manage link opens, or None if unknown or expired."""
    row = find_token(token, TokenPurpose.MANAGE)
    if row is None or row.expires_at <= now or row.booking is None:
        return None
    return row.booking


# --- The caps: keep bots and resellers from hoarding slots, with no CAPTCHA --------------------
#
# Three caps, each counted in the database (so they hold with any number of processes):
#
# - active: at most BOOKING_MAX_ACTIVE_PER_EMAIL upcoming appointments per address, whoever
#   booked them;
# - email_day / network_day: at most BOOKING_MAX_NEW_PER_EMAIL_PER_DAY new online bookings per
#   address, and BOOKING_MAX_NEW_PER_NETWORK_PER_DAY per client network, in any 24 hours.
#
# An address counts by its key (umic.core.emails: case, spaces, +tags, Gmail's dots folded); a
# network by its keyed hash (umic.core.abuse). Staff bookings (a phone request) are never
# refused and never count towards the per-day caps. docs/booking-abuse.md has the reasons.

#: First key of the PostgreSQL advisory locks taken per e-mail address ("umic" in ASCII) and
#: per network ("umin").
_EMAIL_LOCK_SPACE = 0x756D6963
_NETWORK_LOCK_SPACE = 0x756D696E

#: What a cap refusal is called (``TooManyBookings.reason``, ``BookingRefusal.reason``).
CAP_ACTIVE = "active"
CAP_EMAIL_DAY = "email_day"
CAP_NETWORK_DAY = "network_day"

_DAY = timedelta(days=1)


def _setting(key: str) -> int:
    return int(current_app.config.get(key) or 0)


def booking_cap() -> int:
    """Most upcoming appointments one address may book online (0: no cap)."""
    return _setting("BOOKING_MAX_ACTIVE_PER_EMAIL")


def active_bookings_for(email: str, now: datetime) -> int:
    """Upcoming confirmed appointments booked with this address, whoever booked them.

    Counted by the address's key (``email_key``, indexed); one indexed range (status, start)
    bounds the rows too: no appointment lasts a day.
    """
    return db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.email_key == email_key(email),
            Booking.status == BookingStatus.CONFIRMED,
            Booking.start_utc > now - _DAY,
            Booking.end_utc > now,
        )
    )


def new_bookings_for(*conditions, now: datetime) -> int:
    """Online bookings (not staff's) made in the 24 hours up to ``now`` matching
    ``conditions``, whatever became of them since (a cancelled one still counts: booking and
    cancelling over and over is what a script does)."""
    return db.session.scalar(
        select(func.count(Booking.id)).where(
            *conditions,
            Booking.booked_by_id.is_(None),
            Booking.created_at > now - _DAY,
        )
    )


def _over(email: str, network: str | None, now: datetime, *, counting_new: bool) -> None:
    """Raise TooManyBookings for the first cap ``email``/``network`` is over.

    ``counting_new``: the new booking is already in the counts (inside its transaction), so
    the counts may reach the cap but not pass it; otherwise they must stay below it.
    """
    extra = 1 if counting_new else 0
    caps = [
        (CAP_ACTIVE, booking_cap(), lambda: active_bookings_for(email, now)),
        (
            CAP_EMAIL_DAY,
            _setting("BOOKING_MAX_NEW_PER_EMAIL_PER_DAY"),
            lambda: new_bookings_for(Booking.email_key == email_key(email), now=now),
        ),
    ]
    if network:
        caps.append(
            (
                CAP_NETWORK_DAY,
                _setting("BOOKING_MAX_NEW_PER_NETWORK_PER_DAY"),
                lambda: new_bookings_for(Booking.network_key == network, now=now),
            )
        )
    for reason, cap, counted in caps:
        if cap:
            existing = counted() - extra
            if existing >= cap:
                raise TooManyBookings(existing, cap, reason)


def check_cap(email: str, now: datetime, network: str | None = None) -> None:
    """Raise TooManyBookings when this address (or network) may not book one more (no lock:
    a preview, shown before the check step)."""
    _over(email, network, now, counting_new=False)


def enforce_cap(booking: Booking, now: datetime) -> None:
    """Inside the booking's transaction, after its INSERT: refuse it if it is one too many.

    Safe under concurrency: on PostgreSQL transaction-scoped advisory locks on the address's
    key and then on the network (always in that order: no deadlock) make confirmations with
    one address or from one network take turns (the next one counts after the previous one
    committed); on SQLite the INSERT already holds the database's only write lock.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        locks = [(_EMAIL_LOCK_SPACE, booking.email_key)]
        if booking.network_key:
            locks.append((_NETWORK_LOCK_SPACE, booking.network_key))
        for space, key in locks:
            lock = func.pg_advisory_xact_lock(space, func.hashtext(literal(key)))
            db.session.execute(select(lock))
    _over(booking.citizen_email, booking.network_key, now, counting_new=True)


def _max_attempts() -> int:
    # One try per technician who could be free, plus one to see that none is.
    return db.session.scalar(select(db.func.count(StaffUser.id))) + 1


def retrying(attempt: Callable[[], T]) -> T:
    """The race-proof procedure around every booking's claims, written once.

    ``attempt`` looks the time up again, chooses a technician, writes the booking and its
    claims (``claim_units``), queues the e-mails and commits, all in one transaction. When the
    database refuses a claim because another process took that technician's time first
    (IntegrityError), that transaction is rolled back and ``attempt`` runs again: the next
    lookup no longer offers that technician. After one try per technician, the time is gone.
    Any other failure rolls back too and is raised.
    """
    for _ in range(_max_attempts()):
        try:
            return attempt()
        except IntegrityError:
            db.session.rollback()
            log.info("booking conflict: trying another technician")
        except Exception:
            db.session.rollback()
            raise
    raise SlotUnavailable


def _free_slot(
    service: Service,
    start: datetime,
    now: datetime,
    rules_: Rules,
    *,
    exclude_booking_id: int | None = None,
    municipality_id: int | None = None,
) -> tuple[scheduling.Slot, scheduling.Availability]:
    """The free slot that starts at ``start`` (SlotUnavailable if there is none), with the
    availability it came from (to choose its technician among those serving
    ``municipality_id``)."""
    day = start.astimezone(rules_.tz).date()
    slots, availability = open_slots(
        service,
        now,
        rules_,
        day=day,
        exclude_booking_id=exclude_booking_id,
        municipality_id=municipality_id,
    )
    slot = scheduling.find_slot(slots, start)
    if slot is None:
        raise SlotUnavailable
    return slot, availability


def new_booking(
    service: Service, slot: scheduling.Slot, technician_id: int, now: datetime, **person
):
    """A confirmed booking of ``slot`` (added to the session, not flushed): a new UID, a new
    video room, SEQUENCE 0; ``person`` holds the citizen's fields and who booked it.

    An in-person appointment at a visit of the mobile unit (``visit_id`` in ``person``) has
    no video room: its ``video_link`` is empty."""
    link = ""
    if not person.get("visit_id"):
        template = service.video_link_template or current_app.config["VIDEO_LINK_TEMPLATE"]
        link, _room = video_link(template)
    booking = Booking(
        reference=new_reference(),
        service_id=service.id,
        technician_id=technician_id,
        start_utc=slot.start,
        end_utc=slot.end,
        ical_uid=ics.new_uid(),
        ical_sequence=0,
        video_link=link,
        confirmed_at=now,
        created_at=now,
        **person,
    )
    db.session.add(booking)
    return booking


def book(
    draft: BookingDraft, now: datetime, language: str = "ca", network: str | None = None
) -> tuple[Booking, str]:
    """Turn a complete draft into a confirmed booking; returns it and its manage token.

    Raises SlotUnavailable if the time is gone, TooManyBookings if a cap refuses it (the
    address's upcoming appointments, or today's new bookings of the address or of the client
    ``network``, a keyed hash from ``umic.core.abuse``). The booking, its claims, its token
    and its e-mails are one transaction: either all of them exist or none does.
    """
    rules_ = rules()
    service = draft.service
    start = draft.slot_start
    if start is None or not draft.details_complete:
        raise SlotUnavailable
    draft_id = draft.id
    town_id = draft.municipality_id

    def attempt() -> tuple[Booking, str]:
        slot, availability = _free_slot(service, start, now, rules_, municipality_id=town_id)
        technician_id = scheduling.choose_technician(slot, availability.busy, rules_.tz)
        draft = db.session.get(BookingDraft, draft_id)
        booking = new_booking(
            service,
            slot,
            technician_id,
            now,
            municipality_id=draft.municipality_id,
            citizen_name=draft.name,
            citizen_email=draft.email,
            citizen_phone=draft.phone,
            citizen_address=draft.address,
            description=draft.description,
            language=language,
            consent_at=draft.consent_at,
            consent_version=draft.consent_version,
            network_key=network,
        )
        db.session.flush()
        enforce_cap(booking, now)
        claim_units(booking.id, technician_id, slot.start, slot.end)
        draft.booking_id = booking.id
        token = issue_manage_token(booking)
        mail.notify_booking_created(booking, token)
        db.session.commit()
        return booking, token

    return retrying(attempt)


def change_allowed(booking: Booking, now: datetime, rules_: Rules | None = None) -> bool:
    """Citizens may reschedule or cancel until the cut-off before the start."""
    rules_ = rules_ or rules()
    return (
        booking.status == BookingStatus.CONFIRMED and now < booking.start_utc - rules_.change_cutoff
    )


def _lock(booking_id: int) -> Booking:
    """Reload a booking, locking its row (PostgreSQL) so SEQUENCE never goes back.

    Two concurrent changes get n+1 and n+2, never n+1 twice (docs/invitations.md, "SEQUENCE").
    """
    return db.session.execute(
        select(Booking).where(Booking.id == booking_id).with_for_update()
    ).scalar_one()


def reschedule(booking_id: int, new_start: datetime, now: datetime) -> tuple[Booking, str]:
    """Move a booking to another free time: same booking, same UID, SEQUENCE + 1.

    Keeps the technician when they are free at the new time; otherwise the new technician
    gets the invitation and the old one a cancellation.
    """
    rules_ = rules()

    def attempt() -> tuple[Booking, str]:
        booking = _lock(booking_id)
        if not change_allowed(booking, now, rules_) or booking.in_person:
            raise ChangeNotAllowed  # in person: cancel and book again (umic.visits.service)
        slot, availability = _free_slot(
            booking.service,
            new_start,
            now,
            rules_,
            exclude_booking_id=booking.id,
            municipality_id=booking.municipality_id,
        )
        if slot.start == booking.start_utc:
            raise SlotUnavailable
        old_technician = booking.technician
        old_times = (booking.start_utc, booking.end_utc)
        if booking.technician_id in slot.technicians:
            technician_id = booking.technician_id
        else:
            technician_id = scheduling.choose_technician(slot, availability.busy, rules_.tz)
        db.session.execute(delete(BookingClaim).where(BookingClaim.booking_id == booking.id))
        claim_units(booking.id, technician_id, slot.start, slot.end)
        booking.technician_id = technician_id
        booking.start_utc = slot.start
        booking.end_utc = slot.end
        booking.ical_sequence += 1
        booking.confirmed_at = now
        booking.reminder_sent_at = None
        db.session.flush()
        db.session.refresh(booking, ["technician"])
        token = issue_manage_token(booking)
        mail.notify_booking_rescheduled(
            booking, token, previous_technician=old_technician, previous_times=old_times
        )
        db.session.commit()
        return booking, token

    return retrying(attempt)


def cancel(booking_id: int, now: datetime, *, reason: str = "", by: str = "citizen") -> Booking:
    """Cancel a booking: frees its time at once and sends METHOD:CANCEL to both people.

    Citizens are held to the cut-off; staff (``by="staff"``) may cancel until the end.
    """
    booking = _lock(booking_id)
    if by == "citizen" and not change_allowed(booking, now):
        db.session.rollback()
        raise ChangeNotAllowed
    if booking.status != BookingStatus.CONFIRMED or now >= booking.end_utc:
        db.session.rollback()
        raise ChangeNotAllowed
    db.session.execute(delete(BookingClaim).where(BookingClaim.booking_id == booking.id))
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = now
    booking.cancel_reason = reason
    booking.cancelled_by = by
    booking.ical_sequence += 1
    mail.notify_booking_cancelled(booking)
    db.session.commit()
    return booking


def mark(booking_id: int, status: str, *, actor_id: int, now: datetime) -> Booking:
    """Record that the call happened (attended) or that the citizen did not come.

    Only once the appointment has started; a mistake can be corrected (attended <-> no-show).
    """
    if status not in (BookingStatus.ATTENDED, BookingStatus.NO_SHOW):
        raise ValueError(status)
    booking = _lock(booking_id)
    if booking.status == BookingStatus.CANCELLED or now < booking.start_utc:
        db.session.rollback()
        raise ChangeNotAllowed
    booking.status = status
    booking.marked_at = now
    booking.marked_by_id = actor_id
    survey_after_mark(booking, now)  # attended: the satisfaction survey, once
    db.session.commit()
    return booking


def reassign(booking_id: int, technician_id: int, now: datetime) -> Booking:
    """Give a booking to another technician free at the same time.

    The old technician gets a CANCEL, the new one and the citizen a REQUEST, all with the
    same UID and the next SEQUENCE. Raises SlotUnavailable if the new technician is busy.
    """
    booking = _lock(booking_id)
    # An in-person appointment is with the visit's technician, where the visit is.
    if booking.status != BookingStatus.CONFIRMED or now >= booking.end_utc or booking.in_person:
        db.session.rollback()
        raise ChangeNotAllowed
    if booking.technician_id == technician_id:
        db.session.rollback()
        return booking
    new_technician = db.session.get(StaffUser, technician_id)
    if new_technician is None or not new_technician.active:
        db.session.rollback()
        raise SlotUnavailable
    old_technician = booking.technician
    try:
        db.session.execute(delete(BookingClaim).where(BookingClaim.booking_id == booking.id))
        claim_units(booking.id, technician_id, booking.start_utc, booking.end_utc)
    except IntegrityError:
        db.session.rollback()
        raise SlotUnavailable from None
    booking.technician_id = technician_id
    booking.ical_sequence += 1
    db.session.flush()
    db.session.refresh(booking, ["technician"])
    token = issue_manage_token(booking)
    mail.notify_booking_reassigned(booking, token, previous_technician=old_technician)
    db.session.commit()
    return booking


class NoChange(ChangeNotAllowed):
    """A staff move to the time and technician the booking already has."""


def _override_technician(
    booking: Booking, start: datetime, end: datetime, technician_id: int | None
) -> int:
    """The technician for a move outside the opening hours: only "active" and "not booked
    then" apply. The one asked for, else the current one, else the least busy bookable one
    (someone with opening hours); SlotUnavailable when nobody is free."""
    bookable = set(
        db.session.scalars(
            select(StaffUser.id).where(
                StaffUser.active.is_(True),
                StaffUser.id.in_(select(OpeningHours.staff_id)),
            )
        )
    )
    busy = [
        scheduling.Busy(*row)
        for row in db.session.execute(
            select(Booking.technician_id, Booking.start_utc, Booking.end_utc).where(
                Booking.status.in_(ACTIVE_STATUSES),
                Booking.id != booking.id,
                *overlapping(start, end),
            )
        )
    ]
    taken = {item.technician_id for item in busy}
    if technician_id is not None:
        user = db.session.get(StaffUser, technician_id)
        if user is None or not user.active or technician_id in taken:
            raise SlotUnavailable
        return technician_id
    if booking.technician_id not in taken and booking.technician.active:
        return booking.technician_id
    free = tuple(sorted(bookable - taken))
    if not free:
        raise SlotUnavailable
    return scheduling.choose_technician(scheduling.Slot(start, end, free), busy, rules().tz)


#: How far ahead staff may move a booking (citizens: BOOKING_HORIZON_DAYS, usually less).
STAFF_HORIZON = timedelta(days=366)


def staff_move_rules(rules_: Rules | None = None) -> Rules:
    """The rules of a staff move: no minimum notice, a year ahead at least."""
    rules_ = rules_ or rules()
    return dataclasses.replace(
        rules_, min_notice=timedelta(0), horizon=max(rules_.horizon, STAFF_HORIZON)
    )


def staff_move(
    booking_id: int,
    *,
    start: datetime,
    technician_id: int | None,
    now: datetime,
    actor_id: int,
    override_hours: bool = False,
    reason: str = "",
) -> Booking:
    """Staff move a confirmed booking to another start and/or technician.

    Same booking, same UID, SEQUENCE + 1, new claims: a race with another booking of that
    technician's time loses with SlotUnavailable (``retrying``; commits itself, like
    ``reschedule``). ``technician_id=None`` keeps the current technician when free at the new
    time, else chooses one. The slots engine applies (opening hours, closures, busy times),
    without the minimum notice, as for a phone booking; ``override_hours=True`` lifts the
    hours and closures: only the claims and the technician being active apply, and the
    change is recorded as an override (``BookingChange``, which records every staff move
    with its author). ``reason`` is shown to the citizen in their e-mail.

    Raises ChangeNotAllowed for a cancelled, marked or ended booking, NoChange (a
    ChangeNotAllowed) when nothing would change, SlotUnavailable when the time is not free.
    """
    rules_ = rules()
    staff_rules = staff_move_rules(rules_)
    reason = (reason or "").strip()

    def attempt() -> Booking:
        booking = _lock(booking_id)
        if booking.status != BookingStatus.CONFIRMED or now >= booking.end_utc:
            raise ChangeNotAllowed
        if booking.in_person:  # its times are the visit's, not the video hours
            raise ChangeNotAllowed
        if override_hours:
            if start < now:
                raise SlotUnavailable
            end = start + booking.service.duration
            chosen = _override_technician(booking, start, end, technician_id)
            slot = scheduling.Slot(start, end, (chosen,))
        else:
            slot, availability = _free_slot(
                booking.service,
                start,
                now,
                staff_rules,
                exclude_booking_id=booking.id,
                municipality_id=booking.municipality_id,
            )
            if technician_id is not None:
                if technician_id not in slot.technicians:
                    raise SlotUnavailable
                chosen = technician_id
            elif booking.technician_id in slot.technicians:
                chosen = booking.technician_id
            else:
                chosen = scheduling.choose_technician(slot, availability.busy, rules_.tz)
        if slot.start == booking.start_utc and chosen == booking.technician_id:
            raise NoChange
        old_technician = booking.technician
        old_times = (booking.start_utc, booking.end_utc)
        db.session.execute(delete(BookingClaim).where(BookingClaim.booking_id == booking.id))
        claim_units(booking.id, chosen, slot.start, slot.end)
        db.session.add(
            BookingChange(
                booking_id=booking.id,
                at=now,
                actor_id=actor_id,
                previous_start_utc=old_times[0],
                previous_technician_id=old_technician.id,
                start_utc=slot.start,
                technician_id=chosen,
                override_hours=override_hours,
                reason=reason,
            )
        )
        booking.technician_id = chosen
        booking.start_utc = slot.start
        booking.end_utc = slot.end
        booking.ical_sequence += 1
        if slot.start != old_times[0]:
            booking.confirmed_at = now
            booking.reminder_sent_at = None
        db.session.flush()
        db.session.refresh(booking, ["technician"])
        token = issue_manage_token(booking)
        mail.notify_booking_changed(
            booking,
            token,
            previous_technician=old_technician,
            previous_times=old_times,
            reason=reason,
        )
        db.session.commit()
        return booking

    return retrying(attempt)


def book_for_citizen(
    *,
    service: Service,
    municipality_id: int,
    start: datetime,
    details: dict,
    staff: StaffUser,
    now: datetime,
    technician_id: int | None = None,
    language: str | None = None,
) -> tuple[Booking, str]:
    """A booking made by staff on a citizen's behalf (a phone request).

    Same rules and the same race-proof claims as the citizen's own booking; the minimum
    notice does not apply (staff may book a time that starts soon). ``details`` holds name,
    email (may be empty: no e-mail then), phone, address, description. ``language`` is the
    one the person's e-mails are written in (the service's by default).
    """
    rules_ = rules()
    staff_rules = dataclasses.replace(rules_, min_notice=timedelta(0))

    def attempt() -> tuple[Booking, str]:
        slot, availability = _free_slot(
            service, start, now, staff_rules, municipality_id=municipality_id
        )
        if technician_id and technician_id not in slot.technicians:
            raise SlotUnavailable
        chosen = technician_id or scheduling.choose_technician(slot, availability.busy, rules_.tz)
        booking = new_booking(
            service,
            slot,
            chosen,
            now,
            municipality_id=municipality_id,
            citizen_name=details["name"],
            citizen_email=details.get("email") or "",
            citizen_phone=details.get("phone") or "",
            citizen_address=details.get("address") or "",
            description=details.get("description") or "",
            language=language or current_app.config["BABEL_DEFAULT_LOCALE"],
            consent_at=now,
            consent_version=f"{current_app.config['PRIVACY_NOTICE_VERSION']} (telèfon)",
            booked_by_id=staff.id,
        )
        db.session.flush()
        claim_units(booking.id, chosen, slot.start, slot.end)
        token = issue_manage_token(booking)
        mail.notify_booking_created(booking, token)
        db.session.commit()
        return booking, token

    return retrying(attempt)
