"""What to do with each booking a closure breaks: the proposal a coordinator reviews.

A closure (the whole service, or one technician's absence, for one day or a range) leaves
some confirmed bookings without a technician. For each of them, in time order, the plan
proposes, in this order of preference:

1. **the same time with another technician** free then (the citizen keeps their day and
   hour; only the person on the other side of the call changes);
2. else **the next free time** after the booking's own time (and not sooner than the notice
   a citizen is given), preferring the booking's own technician when free then, else the
   technician with the least work that day (``scheduling.choose_technician``);
3. else **cancel** (nothing free within the booking horizon).

The free times come from the slots engine with the closure already in force, so a proposal
never lands on a closed day or an absent technician. Bookings are planned one after the
other (first every same-time move, then the next free times, each in time order), and each
proposal takes its technician's time from the ones that follow, so two bookings are never
proposed the same technician at the same time.

Pure: plain values in, plain values out; the caller loads the slots and bookings.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from . import scheduling


class Action(enum.StrEnum):
    """What happens to a booking the closure breaks."""

    MOVE = "move"  # to the proposed time and technician
    CANCEL = "cancel"  # the citizen is told, the time freed
    LEAVE = "leave"  # nothing now: it stays in the list of bookings that no longer fit


@dataclass(frozen=True)
class Affected:
    """A confirmed booking the closure breaks."""

    booking_id: int
    technician_id: int
    start: datetime
    end: datetime
    #: Technicians who do not serve the booking's town (limited to other towns).
    not_serving: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Proposal:
    """The plan for one booking: MOVE to (start, technician_id), or CANCEL (those None)."""

    booking_id: int
    action: Action
    original_start: datetime
    start: datetime | None = None
    end: datetime | None = None
    technician_id: int | None = None

    @property
    def same_time(self) -> bool:
        """Moved to another technician at the very same time."""
        return self.action == Action.MOVE and self.start == self.original_start


def _overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def plan(
    bookings: Iterable[Affected],
    slots: Sequence[scheduling.Slot],
    busy: Sequence[scheduling.Busy],
    tz: ZoneInfo,
    *,
    not_before: datetime,
    exclude: Collection[tuple[datetime, int]] = (),
) -> list[Proposal]:
    """One proposal per booking, in time order (start, then id).

    ``slots``: the free slots with the closure in force (``scheduling.free_slots``), in time
    order, from now on; a same-time move may use any of them, even one sooner than the
    notice. ``not_before``: the earliest start of a *different* time. ``busy``: the bookings
    already made, to spread the work (``choose_technician``). ``exclude``: (start,
    technician) pairs not to propose (a move that has just failed, to find the next one).
    """
    planned: dict[int, list[tuple[datetime, datetime]]] = {}  # technician -> planned times
    extra_busy: list[scheduling.Busy] = []
    excluded = set(exclude)

    def free_at(slot: scheduling.Slot, booking: Affected, skip: int | None) -> tuple[int, ...]:
        return tuple(
            tech
            for tech in slot.technicians
            if tech != skip
            and tech not in booking.not_serving
            and (slot.start, tech) not in excluded
            and not any(_overlaps(slot.start, slot.end, s, e) for s, e in planned.get(tech, ()))
        )

    ordered = sorted(bookings, key=lambda b: (b.start, b.booking_id))
    by_start = {slot.start: slot for slot in slots}
    chosen: dict[int, tuple[scheduling.Slot, int]] = {}

    def take(booking: Affected, slot: scheduling.Slot, tech: int) -> None:
        chosen[booking.booking_id] = (slot, tech)
        planned.setdefault(tech, []).append((slot.start, slot.end))
        extra_busy.append(scheduling.Busy(tech, slot.start, slot.end))

    # First every same-time move: a later "next free time" must not take the colleague
    # that a booking at that very time needed.
    for booking in ordered:
        slot = by_start.get(booking.start)
        free = free_at(slot, booking, skip=booking.technician_id) if slot is not None else ()
        if free:
            tech = scheduling.choose_technician(
                scheduling.Slot(slot.start, slot.end, free), [*busy, *extra_busy], tz
            )
            take(booking, slot, tech)
    # Then the next free time for the others, in time order.
    for booking in ordered:
        if booking.booking_id in chosen:
            continue
        for slot in slots:
            if slot.start <= booking.start or slot.start < not_before:
                continue
            free = free_at(slot, booking, skip=None)
            if not free:
                continue
            if booking.technician_id in free:
                tech = booking.technician_id
            else:
                tech = scheduling.choose_technician(
                    scheduling.Slot(slot.start, slot.end, free), [*busy, *extra_busy], tz
                )
            take(booking, slot, tech)
            break

    proposals: list[Proposal] = []
    for booking in ordered:
        if booking.booking_id not in chosen:
            proposals.append(Proposal(booking.booking_id, Action.CANCEL, booking.start))
            continue
        slot, tech = chosen[booking.booking_id]
        proposals.append(
            Proposal(
                booking.booking_id,
                Action.MOVE,
                booking.start,
                start=slot.start,
                end=slot.end,
                technician_id=tech,
            )
        )
    return proposals


def choices(proposal: Proposal) -> tuple[Action, ...]:
    """The actions a coordinator may pick for a booking, the proposed one first.

    Moving is offered only where the plan found a time; cancelling and leaving always.
    """
    if proposal.action == Action.MOVE:
        return (Action.MOVE, Action.CANCEL, Action.LEAVE)
    return (Action.CANCEL, Action.LEAVE)
