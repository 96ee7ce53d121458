"""Free times for the pages that show them: only the days asked, kept in memory while valid.

The day-times fragment is the step every citizen hits most (a request per day they look
at), so it must cost little more than any page:

- **Only the day asked.** The fragment needs one day's times, so only that day is computed
  (one day of hours, closures and bookings, read through indexes bounded on both sides,
  ``service.overlapping``). The whole page needs the list of days that have times, so it
  computes the window, once.
- **Kept while valid.** Each day's free times are kept per process, for the service, the
  town (its technicians: ``StaffTown``) and the day, *before* the minimum notice and the
  horizon are applied: those depend on the moment, and are applied to every request from
  the kept list, so the result is exactly what computing afresh would give. What was kept is
  valid while the shared number in ``availability_version`` stays the same; any change to
  bookings, claims, hours, closures, towns served, technicians or the call's length raises
  it in the same transaction (``umic.models.availability``), so a change made by any worker
  of any server reaches every other one at its next request. Checking the number costs one
  primary-key read per request.

Nothing here is used to *make* a booking: ``service.book`` and the other writers compute
the chosen day afresh inside their transaction, and the claims' unique constraint has the
last word. A time shown a moment before another citizen took it is refused at the details
step, as it always was.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from flask import current_app

from ..core import scheduling
from ..core.lru import LRU
from ..extensions import db
from ..models import Municipality
from ..models import Service
from ..models import availability as version_row
from ..models.core import bookable_town
from ..web.i18n import service_today
from . import service as booking_service

log = logging.getLogger(__name__)

#: Days kept per process (a town's window is ~31 days; 311 towns could ask at once).
MAX_DAYS = 12_000


class DayCache:
    """Free times per (service, length, town, day), for one availability number at a time:
    everything kept goes when another number is seen (a change anywhere may touch it)."""

    def __init__(self, max_entries: int = MAX_DAYS) -> None:
        self._version: int | None = None
        self._entries: LRU[tuple[scheduling.Slot, ...]] = LRU(max_entries)
        self._lock = threading.Lock()

    def get(self, version: int, key: tuple) -> tuple[scheduling.Slot, ...] | None:
        with self._lock:
            return self._entries.get(key) if version == self._version else None

    def put(self, version: int, key: tuple, slots: tuple[scheduling.Slot, ...]) -> None:
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
            self._entries.put(key, slots)

    def __len__(self) -> int:
        return len(self._entries)


def _kept(name: str, make):
    """This app's object ``name`` (made once: ``setdefault`` would make one per call)."""
    extensions = current_app.extensions
    found = extensions.get(name)
    if found is None:
        found = extensions.setdefault(name, make())
    return found


def _cache() -> DayCache:
    return _kept("umic.free_times", DayCache)


def _day_bounds(first: date, last: date, tz) -> scheduling.Window:
    """Every start on the local days ``first``..``last``: no notice, no horizon."""
    earliest = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    after = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return scheduling.Window(earliest, after - timedelta(microseconds=1), first, last)


def _compute(
    service: Service,
    rules: booking_service.Rules,
    first: date,
    last: date,
    municipality_id: int | None,
    exclude_booking_id: int | None,
) -> dict[date, tuple[scheduling.Slot, ...]]:
    availability = booking_service.load_availability(
        first,
        last,
        rules,
        exclude_booking_id=exclude_booking_id,
        municipality_id=municipality_id,
    )
    window = _day_bounds(first, last, rules.tz)
    slots = scheduling.free_slots(availability, window, service.duration)
    by_day = {day: () for day in _days(first, last)}
    for day, items in scheduling.slots_by_day(slots, rules.tz).items():
        by_day[day] = tuple(items)
    return by_day


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _free_by_day(
    service: Service,
    rules: booking_service.Rules,
    first: date,
    last: date,
    *,
    municipality_id: int | None,
    exclude_booking_id: int | None = None,
    version: int | None = None,
) -> dict[date, tuple[scheduling.Slot, ...]]:
    """Every day from ``first`` to ``last``: its free times, before notice and horizon.

    ``version``: the free times' number if the request read it already (it must have been
    read before anything else of the free times, as ``service.town_and_service`` does)."""
    if exclude_booking_id is not None:  # a citizen moving their own booking: not kept
        return _compute(service, rules, first, last, municipality_id, exclude_booking_id)
    if version is None:
        version = version_row.current(db.session)
    if version is None or (db.session.registry.has() and version_row.changed_here(db.session)):
        # Nothing changed since the database was made, or this transaction is changing
        # things: compute, keep nothing.
        return _compute(service, rules, first, last, municipality_id, None)
    cache = _cache()

    def key(day: date) -> tuple:
        return (service.id, service.duration_minutes, municipality_id, day)

    found = {day: cache.get(version, key(day)) for day in _days(first, last)}
    missing = [day for day, slots in found.items() if slots is None]
    if missing:
        computed = _compute(service, rules, missing[0], missing[-1], municipality_id, None)
        for day in missing:
            found[day] = computed[day]
            cache.put(version, key(day), computed[day])
    return found  # type: ignore[return-value]


def _within(slots, window: scheduling.Window) -> list[scheduling.Slot]:
    return [slot for slot in slots if window.earliest <= slot.start <= window.latest]


def days_with_times(
    service: Service,
    now: datetime,
    rules: booking_service.Rules,
    *,
    municipality_id: int | None,
    exclude_booking_id: int | None = None,
    version: int | None = None,
) -> dict[date, list[scheduling.Slot]]:
    """The days of the booking window that have free times, each with its times, in order."""
    window = scheduling.booking_window(now, rules.min_notice, rules.horizon, rules.tz)
    by_day = _free_by_day(
        service,
        rules,
        window.first_day,
        window.last_day,
        municipality_id=municipality_id,
        exclude_booking_id=exclude_booking_id,
        version=version,
    )
    days = {day: _within(slots, window) for day, slots in by_day.items()}
    return {day: slots for day, slots in days.items() if slots}


def day_times(
    service: Service,
    now: datetime,
    rules: booking_service.Rules,
    day: date | None,
    *,
    municipality_id: int | None,
    exclude_booking_id: int | None = None,
    version: int | None = None,
) -> list[scheduling.Slot]:
    """The free times of one day (none outside the booking window), in order."""
    window = scheduling.booking_window(now, rules.min_notice, rules.horizon, rules.tz)
    if day is None or not (window.first_day <= day <= window.last_day):
        return []
    by_day = _free_by_day(
        service,
        rules,
        day,
        day,
        municipality_id=municipality_id,
        exclude_booking_id=exclude_booking_id,
        version=version,
    )
    return _within(by_day[day], window)


# --- The quick way to the day-times fragment ---------------------------------------------


@dataclass(frozen=True)
class TownFacts:
    """What the day-times fragment needs of a town, kept per process."""

    id: int
    slug: str
    enrolled_on: date | None
    has_omic: bool

    @property
    def can_book(self) -> bool:
        return bookable_town(self.enrolled_on, self.has_omic, service_today())


@dataclass(frozen=True)
class ServiceFacts:
    """What the day-times fragment needs of the service, kept per process."""

    id: int
    duration_minutes: int

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)


class _Facts:
    def __init__(self) -> None:
        self.version: int | None = None
        self.towns: dict[str, TownFacts | None] = {}
        self.service: ServiceFacts | None = None
        self.lock = threading.Lock()


def quick_lookup(slug: str) -> tuple[TownFacts, ServiceFacts, int] | None:
    """The town, the service and the free times' number for the day-times fragment, with
    no session at all while nothing changed: the number is read on the process's own
    connection (``availability.Reader``) and the town and service are kept under it (their
    columns that matter are watched like the free times). None: go the usual way (no
    number yet, the database unreachable that way, an unknown town or one that cannot
    book, no active service); the usual way says what the citizen sees then.
    """
    reader = _kept("umic.availability_reader", version_row.Reader)
    try:
        version = reader.read(db.engine)
    except Exception:  # noqa: BLE001  (the usual way will meet, and report, any real problem)
        log.warning("reading the free times' number on its own connection failed", exc_info=True)
        return None
    if version is None:
        return None
    kept: _Facts = _kept("umic.free_times_facts", _Facts)
    with kept.lock:
        if kept.version != version:
            kept.version, kept.towns, kept.service = version, {}, None
        known = slug in kept.towns
        town, service = kept.towns.get(slug), kept.service
    if not known:
        row_town, row_service, _ = booking_service.town_and_service(slug)
        town = _town_facts(row_town)
        service = _service_facts(row_service)
        with kept.lock:
            if kept.version == version:  # read after the number: at least as new
                kept.towns[slug] = town
                if town is not None:  # the service comes with a town that exists
                    kept.service = service
    if town is None or service is None or not town.can_book:
        return None
    return town, service, version


def _town_facts(town: Municipality | None) -> TownFacts | None:
    if town is None:
        return None
    return TownFacts(town.id, town.slug, town.enrolled_on, town.has_omic)


def _service_facts(service: Service | None) -> ServiceFacts | None:
    if service is None:
        return None
    return ServiceFacts(service.id, service.duration_minutes)
