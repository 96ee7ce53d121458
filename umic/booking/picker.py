"""The day and time picker shared by citizens booking, rescheduling, and staff booking."""

from __future__ import annotations

from datetime import date
from datetime import datetime

from flask import current_app

from .. import clock
from ..core import scheduling
from . import free_times
from . import service as booking_service

#: A slot further than this many years from now is refused before any arithmetic on it.
SLOT_YEARS = 2


def parse_slot(value: str | None, now: datetime | None = None) -> datetime | None:
    """An ISO 8601 start with its offset, e.g. 2025-03-25T16:30:00+01:00; None for anything
    else, including a year more than ``SLOT_YEARS`` from ``now`` (default: the clock's).

    The year check comes first: ``0001-01-01T00:00:00+14:00`` and ``9999-12-31T23:59:59-14:00``
    parse, but converting them to UTC or to local time overflows (security review, finding
    7). A refused slot is treated like any unavailable one by every page that reads it.
    """
    if not value or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    year = (now or clock.now()).year
    if not year - SLOT_YEARS <= moment.year <= year + SLOT_YEARS:
        return None
    return moment


def slot_value(slot: scheduling.Slot) -> str:
    """How a slot travels in forms and links: local time with its offset."""
    return slot.start.astimezone(booking_service.rules().tz).isoformat()


def day_picker_context(
    by_day: dict[date, list[scheduling.Slot]], chosen: date | None, first_shown: date | None
) -> dict:
    """Days with free times (a page of them) and the times of the chosen day.

    ``by_day``: the days that have times, in order, each with its times
    (``free_times.days_with_times``); for the htmx fragment, which shows only the chosen
    day's times, just that day (``free_times.day_times``).
    """
    rules_ = booking_service.rules()
    days = list(by_day)
    per_page = current_app.config["BOOKING_DAYS_PER_PAGE"]
    start = 0
    anchor = first_shown or chosen
    if anchor is not None:
        start = next((i for i, d in enumerate(days) if d >= anchor), max(len(days) - 1, 0))
        if first_shown is None:
            start -= start % per_page  # the page that holds the chosen day
    shown = days[start : start + per_page]
    times = by_day.get(chosen, []) if chosen is not None else []
    return {
        "days": [(d, len(by_day[d])) for d in shown],
        "chosen_day": chosen if times else None,
        "day_missing": chosen is not None and not times,
        "times": times,
        # Mornings and afternoons apart: a long list of times is hard to scan.
        "time_groups": [
            ("morning", [s for s in times if s.start.astimezone(rules_.tz).hour < 14]),
            ("afternoon", [s for s in times if s.start.astimezone(rules_.tz).hour >= 14]),
        ],
        "more_from": days[start + per_page] if start + per_page < len(days) else None,
        "earlier_from": days[max(start - per_page, 0)] if start > 0 else None,
        "first_shown": shown[0] if shown else None,
        "slot_value": slot_value,
    }


def free_times_context(
    service,
    now: datetime,
    rules_: booking_service.Rules,
    chosen: date | None,
    first_shown: date | None,
    *,
    municipality_id: int | None,
    fragment: bool,
    exclude_booking_id: int | None = None,
    leave_out: datetime | None = None,
    version: int | None = None,
) -> dict:
    """``day_picker_context`` from the free times: for the htmx fragment, the chosen day's
    only; for the whole page, the window's days too. ``leave_out``: a start not to offer
    (the booking's own time, when moving it). ``version``: the free times' number, if the
    request read it first (``free_times``)."""
    if fragment:
        times = free_times.day_times(
            service,
            now,
            rules_,
            chosen,
            municipality_id=municipality_id,
            exclude_booking_id=exclude_booking_id,
            version=version,
        )
        by_day = {chosen: times} if chosen is not None else {}
    else:
        by_day = free_times.days_with_times(
            service,
            now,
            rules_,
            municipality_id=municipality_id,
            exclude_booking_id=exclude_booking_id,
            version=version,
        )
    if leave_out is not None:
        by_day = {day: [s for s in slots if s.start != leave_out] for day, slots in by_day.items()}
    by_day = {day: slots for day, slots in by_day.items() if slots}
    return day_picker_context(by_day, chosen, first_shown)
