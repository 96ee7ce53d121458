"""Closures that look after the people they affect: the database side.

A coordinator adds a closure (the whole service, or one technician's absence, for a day or a
range) in two steps (``admin/closures.py``): the *preview* lists the confirmed bookings it
would break with a proposal for each (``core.closure_plan``), saving nothing; the
*confirmation* saves the closure and applies each booking's chosen action through the
booking functions that already tell the citizen (in their language) and the technicians:
``service.staff_move`` and ``service.cancel``. Both commit themselves, one booking at a time,
so a failure on one booking never undoes the others.

The free times come from the same engine the citizens book with (``service.load_availability``
and ``scheduling.free_slots``), with the closure added as if already saved: the preview and
the confirmation propose the same times. A proposed time taken by someone else between the
two (a race) is not fatal: the booking is planned again without it and the next proposal is
tried; when none is left, the booking is reported as not moved, and it stays in the list of
bookings that no longer fit, never broken silently.

The preview costs a fixed number of queries (the affected bookings, the availability, the
staff's names), whatever the number of bookings.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select

from ..core import closure_plan
from ..core import scheduling
from ..core.closure_plan import Action
from ..core.periods import Period
from ..extensions import db
from ..models import Booking
from ..models import BookingStatus
from ..models import Closure
from ..models import Municipality
from ..models import StaffUser
from . import service as booking_service

#: How many times a move is tried with a new proposal after its time was taken meanwhile.
MOVE_ATTEMPTS = 3


@dataclass(frozen=True)
class Scope:
    """What a closure closes: the days from ``first`` to ``last`` (local), for the whole
    service (``staff_id`` None) or one technician."""

    first: date
    last: date
    staff_id: int | None = None

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class Row:
    """One booking the closure breaks, and what the plan proposes for it."""

    booking_id: int
    start: datetime
    end: datetime
    citizen: str
    email: str
    language: str
    town: str
    technician_id: int
    technician: str
    proposal: closure_plan.Proposal
    new_technician: str = ""
    municipality_id: int = 0

    @property
    def choices(self) -> tuple[Action, ...]:
        return closure_plan.choices(self.proposal)


class Outcome(enum.StrEnum):
    """What happened to a booking once the closure was confirmed (one letter in links)."""

    MOVED = "m"
    CANCELLED = "c"
    LEFT = "l"
    NOT_MOVED = "f"  # no free time was left to move it to: it still needs one
    UNCHANGED = "u"  # it had changed meanwhile (cancelled, marked, over): nothing done


def add_days(scope: Scope, reason: str) -> int:
    """One ``Closure`` row per day of ``scope``, skipping days already closed the same way;
    returns how many were added (the caller commits)."""
    same = (
        Closure.staff_id.is_(None) if scope.staff_id is None else Closure.staff_id == scope.staff_id
    )
    existing = set(
        db.session.scalars(
            select(Closure.day).where(same, Closure.day.between(scope.first, scope.last))
        )
    )
    new = [day for day in scope.days if day not in existing]
    db.session.add_all(Closure(day=day, staff_id=scope.staff_id, reason=reason) for day in new)
    return len(new)


def _with_closure(availability: scheduling.Availability, scope: Scope) -> scheduling.Availability:
    """``availability`` as if the closure were already saved."""
    days = frozenset(scope.days)
    if scope.staff_id is None:
        return dataclasses.replace(availability, closed_days=availability.closed_days | days)
    absences = dict(availability.absences)
    absences[scope.staff_id] = absences.get(scope.staff_id, frozenset()) | days
    return dataclasses.replace(availability, absences=absences)


def _free(
    scope: Scope, now: datetime
) -> tuple[list[scheduling.Slot], list[scheduling.Busy], datetime]:
    """The free slots from now to the booking horizon with the closure in force, the
    bookings already made, and the earliest start of a different time for a citizen."""
    rules = booking_service.rules()
    service = booking_service.active_service()
    window = scheduling.booking_window(now, timedelta(0), rules.horizon, rules.tz)
    availability = _with_closure(
        booking_service.load_availability(window.first_day, window.last_day, rules), scope
    )
    if service is None:
        return [], list(availability.busy), now
    slots = scheduling.free_slots(availability, window, service.duration)
    return slots, list(availability.busy), now + rules.min_notice


def _affected(
    booking_id: int,
    technician_id: int,
    start: datetime,
    end: datetime,
    municipality_id: int,
    limits: dict[int, frozenset[int]],
) -> closure_plan.Affected:
    """The planner's view of a booking: who may not take it (limited to other towns)."""
    not_serving = frozenset(
        staff_id
        for staff_id in limits
        if not booking_service.serves_town(limits, staff_id, municipality_id)
    )
    return closure_plan.Affected(booking_id, technician_id, start, end, not_serving)


def _affected_query(scope: Scope, now: datetime):
    start, end = Period(scope.first, scope.last).bounds(booking_service.rules().tz)
    query = (
        select(
            Booking.id,
            Booking.technician_id,
            Booking.start_utc,
            Booking.end_utc,
            Booking.citizen_name,
            Booking.citizen_email,
            Booking.language,
            Booking.municipality_id,
            Municipality.name.label("town"),
            StaffUser.name.label("technician"),
        )
        .join(Municipality, Municipality.id == Booking.municipality_id)
        .join(StaffUser, StaffUser.id == Booking.technician_id)
        .where(
            Booking.status == BookingStatus.CONFIRMED,
            Booking.start_utc > now,
            Booking.start_utc >= start,
            Booking.start_utc < end,
        )
        .order_by(Booking.start_utc, Booking.id)
    )
    if scope.staff_id is not None:
        query = query.where(Booking.technician_id == scope.staff_id)
    return query


def preview(scope: Scope, now: datetime) -> list[Row]:
    """The confirmed future bookings the closure would break, each with its proposal, in
    time order. Saves nothing."""
    rows = db.session.execute(_affected_query(scope, now)).all()
    if not rows:
        return []
    slots, busy, not_before = _free(scope, now)
    rules = booking_service.rules()
    limits = booking_service.town_limits()
    proposals = {
        proposal.booking_id: proposal
        for proposal in closure_plan.plan(
            [
                _affected(r.id, r.technician_id, r.start_utc, r.end_utc, r.municipality_id, limits)
                for r in rows
            ],
            slots,
            busy,
            rules.tz,
            not_before=not_before,
        )
    }
    names = dict(db.session.execute(select(StaffUser.id, StaffUser.name)).all())
    return [
        Row(
            booking_id=r.id,
            start=r.start_utc,
            end=r.end_utc,
            citizen=r.citizen_name,
            email=r.citizen_email,
            language=r.language,
            town=r.town,
            technician_id=r.technician_id,
            technician=r.technician,
            proposal=proposal,
            new_technician=names.get(proposal.technician_id, "") if proposal.technician_id else "",
            municipality_id=r.municipality_id,
        )
        for r in rows
        for proposal in [proposals[r.id]]
    ]


@dataclass(frozen=True)
class Applied:
    """What was done to one booking."""

    booking_id: int
    outcome: Outcome


def _move(row: Row, target: tuple[datetime, int] | None, scope: Scope, **change) -> Outcome:
    """Move one booking to ``target`` (the proposal shown), else to the next proposals."""
    tried: set[tuple[datetime, int]] = set()
    for _attempt in range(MOVE_ATTEMPTS):
        if target is None:
            slots, busy, not_before = _free(scope, change["now"])
            (proposal,) = closure_plan.plan(
                [
                    _affected(
                        row.booking_id,
                        row.technician_id,
                        row.start,
                        row.end,
                        row.municipality_id,
                        booking_service.town_limits(),
                    )
                ],
                slots,
                busy,
                booking_service.rules().tz,
                not_before=not_before,
                exclude=tried,
            )
            if proposal.action != Action.MOVE:
                return Outcome.NOT_MOVED
            target = (proposal.start, proposal.technician_id)
        try:
            booking_service.staff_move(
                row.booking_id, start=target[0], technician_id=target[1], **change
            )
        except booking_service.SlotUnavailable:
            tried.add(target)
            target = None
            continue
        except booking_service.ChangeNotAllowed:
            return Outcome.UNCHANGED
        return Outcome.MOVED
    return Outcome.NOT_MOVED


def apply(
    scope: Scope,
    rows: list[Row],
    actions: dict[int, Action],
    targets: dict[int, tuple[datetime, int]],
    *,
    message: str,
    now: datetime,
    actor_id: int,
) -> list[Applied]:
    """Apply each row's action, in time order, after the closure is saved and committed.

    ``actions``: the coordinator's choice per booking (the proposal's own action if absent);
    ``targets``: the (start, technician) the preview showed for a move, tried first.
    ``message`` is the reason each citizen reads. Each move or cancellation commits itself
    and queues its e-mails.
    """
    done: list[Applied] = []
    for row in rows:
        action = actions.get(row.booking_id, row.proposal.action)
        if action not in row.choices:
            action = row.proposal.action
        if action == Action.LEAVE:
            outcome = Outcome.LEFT
        elif action == Action.CANCEL:
            try:
                booking_service.cancel(row.booking_id, now, reason=message, by="staff")
                outcome = Outcome.CANCELLED
            except booking_service.ChangeNotAllowed:
                outcome = Outcome.UNCHANGED
        else:
            target = targets.get(row.booking_id)
            if target is None and row.proposal.start is not None:
                target = (row.proposal.start, row.proposal.technician_id)
            outcome = _move(row, target, scope, now=now, actor_id=actor_id, reason=message)
        done.append(Applied(row.booking_id, outcome))
    return done


@dataclass(frozen=True)
class Result:
    """One line of the result page: a booking as it is now, and what was done to it."""

    booking_id: int
    outcome: Outcome
    citizen: str
    start: datetime
    end: datetime
    technician: str
    status: str


def results(applied: list[tuple[int, Outcome]]) -> list[Result]:
    """The bookings of ``applied`` as they are now (one query), in the order given."""
    if not applied:
        return []
    rows = {
        row.id: row
        for row in db.session.execute(
            select(
                Booking.id,
                Booking.citizen_name,
                Booking.start_utc,
                Booking.end_utc,
                Booking.status,
                StaffUser.name.label("technician"),
            )
            .join(StaffUser, StaffUser.id == Booking.technician_id)
            .where(Booking.id.in_([booking_id for booking_id, _ in applied]))
        )
    }
    return [
        Result(
            booking_id=booking_id,
            outcome=outcome,
            citizen=row.citizen_name,
            start=row.start_utc,
            end=row.end_utc,
            technician=row.technician,
            status=row.status,
        )
        for booking_id, outcome in applied
        if (row := rows.get(booking_id)) is not None
    ]
