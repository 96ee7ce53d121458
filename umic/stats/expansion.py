"""The expansion plan: which towns to enrol next, and how far the service reaches.

The seed's criteria for adding towns: "municipis que reben més de 12 peticions anuals;
municipis amb més peticions per cada 1.000 habitants"; its goal: "arribar al 100 % dels
municipis sense oficina de consum pròpia".

"Without an office of their own" means *known* to have none (``umic.core.offices``): towns
enrolled, covered by a comarcal office (OCIC) or known to have only the Agència. A town whose
office is not yet known is its own group: neither in the coverage's denominator nor among the
towns to enrol, which are ranked per group (the Agència's towns first, then the OCIC's, then
the not yet known, each on its own).

Two layers:

- **Pure rules** (no Flask, no database), unit-tested in ``tests/unit/test_expansion_rules.py``:
  ``rank_towns`` (the ranking), ``coverage_percent`` and ``monthly_coverage`` (the goal and its
  progress), ``enrolment_problems`` (who may be enrolled, and from when).
- **Loaders**: a fixed number of SQL aggregates whatever the number of towns. "Requests" are
  those of ``umic.stats.requests`` (the one definition shared with the statistics).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from ..core.codes import OfficeStatus
from ..core.offices import town_status
from ..core.periods import Period
from ..core.text import fold
from ..extensions import db
from ..models import Booking
from ..models import BookingStatus
from ..models import ConsumerOffice
from ..models import Municipality
from .requests import requests_by_town

#: An enrolment date earlier than this is a typing mistake (the service began in 2025).
EARLIEST_ENROLMENT = date(2000, 1, 1)
#: How far ahead a town may be enrolled: booking opens on its enrolment day.
MAX_DAYS_AHEAD = 366
_ONE_DECIMAL = Decimal("0.1")


# --- Pure rules -------------------------------------------------------------------------------


def one_decimal(value: Fraction) -> Decimal:
    """Rounded to one decimal, halves away from zero (8,25 -> 8,3), as people round."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)


def per_thousand(requests: int, population: int | None) -> Fraction | None:
    """Requests per 1,000 inhabitants, exact; None when the population is unknown or zero."""
    if not population or population <= 0:
        return None
    return Fraction(requests * 1000, population)


@dataclass(frozen=True)
class Candidate:
    """A town without an OMIC and not enrolled, with its requests over the period."""

    town_id: int
    ine_code: str
    name: str
    comarca: str
    population: int | None
    requests: int
    #: OfficeStatus: agencia, comarcal or unknown (a candidate is neither OMIC nor enrolled).
    status: str = OfficeStatus.UNKNOWN


#: The plan's groups of candidates, in the order the page shows them.
CANDIDATE_GROUPS = (OfficeStatus.AGENCIA, OfficeStatus.COMARCAL, OfficeStatus.UNKNOWN)


def group_candidates(candidates: Iterable[Candidate]) -> dict[OfficeStatus, list[Candidate]]:
    """status -> its candidates (every group present, maybe empty)."""
    groups: dict[OfficeStatus, list[Candidate]] = {status: [] for status in CANDIDATE_GROUPS}
    for town in candidates:
        groups.setdefault(OfficeStatus(town.status), []).append(town)
    return groups


@dataclass(frozen=True)
class RankedTown:
    """One line of the plan. Towns equal on every criterion share a rank (1, 2, 2, 4)."""

    rank: int
    town: Candidate
    rate: Fraction | None  # requests per 1,000 inhabitants, exact
    above_threshold: bool  # more than the threshold (exactly the threshold is not more)

    @property
    def rate_rounded(self) -> Decimal | None:
        """The rate as shown: one decimal."""
        return None if self.rate is None else one_decimal(self.rate)


def rank_towns(candidates: Iterable[Candidate], threshold: int) -> list[RankedTown]:
    """The seed's two criteria, in order.

    1. Towns with more than ``threshold`` requests first;
    2. then the most requests per 1,000 inhabitants (a town of unknown or zero population
       has no rate and comes after every town that has one);
    3. then the most requests;
    4. then the name (accents ignored), which only orders towns that share a rank.
    """
    lines = []
    for town in candidates:
        rate = per_thousand(town.requests, town.population)
        above = town.requests > threshold
        criteria = (not above, rate is None, -(rate or 0), -town.requests)
        lines.append((criteria, fold(town.name), town.ine_code, town, rate, above))
    lines.sort(key=lambda line: line[:3])
    ranked: list[RankedTown] = []
    previous = None
    for position, (criteria, _name, _code, town, rate, above) in enumerate(lines, start=1):
        rank = ranked[-1].rank if criteria == previous else position
        ranked.append(RankedTown(rank=rank, town=town, rate=rate, above_threshold=above))
        previous = criteria
    return ranked


def coverage_percent(served: int, total: int) -> Decimal | None:
    """``served`` of ``total`` as a percentage with one decimal; None when ``total`` is 0."""
    if total <= 0:
        return None
    return one_decimal(Fraction(served * 100, total))


@dataclass(frozen=True)
class Coverage:
    """N of M towns known to have no office of their own served (X %), and apart from them
    the towns whose office is not yet known."""

    served: int  # N: towns without an OMIC that are enrolled
    without_omic: int  # M: towns known to have no OMIC (enrolled, OCIC or Agència)
    comarcal: int = 0  # of M, not enrolled, covered by an OCIC
    agencia: int = 0  # of M, not enrolled, known to have only the Agència
    unknown: int = 0  # not in M: no office recorded and not enrolled

    @property
    def percent(self) -> Decimal | None:
        return coverage_percent(self.served, self.without_omic)

    @property
    def remaining(self) -> int:
        return max(self.without_omic - self.served, 0)


@dataclass(frozen=True)
class CoverageMonth:
    """The coverage at the end of one month."""

    month: date  # first day of the month
    enrolled: int  # towns enrolled during the month
    served: int  # towns enrolled by the end of the month
    percent: Decimal | None


def _next_month(month: date) -> date:
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1)


def monthly_coverage(
    enrolments: Mapping[date, int], without_omic: int, until: date
) -> list[CoverageMonth]:
    """Cumulative coverage per month, from the month of the first enrolment to ``until``'s.

    ``enrolments``: enrolment day -> towns enrolled that day (towns enrolled now, without an
    OMIC). A town that left the service is not in it: the past is as today's dates tell it.
    The percentage is of today's ``without_omic``.
    """
    if not enrolments:
        return []
    by_month: dict[date, int] = {}
    for day, count in enrolments.items():
        month = day.replace(day=1)
        by_month[month] = by_month.get(month, 0) + count
    month = min(by_month)
    last = max(max(by_month), until.replace(day=1))
    served = 0
    lines = []
    while month <= last:
        enrolled = by_month.get(month, 0)
        served += enrolled
        lines.append(
            CoverageMonth(
                month=month,
                enrolled=enrolled,
                served=served,
                percent=coverage_percent(served, without_omic),
            )
        )
        month = _next_month(month)
    return lines


class EnrolmentProblem(enum.StrEnum):
    HAS_OMIC = "has_omic"  # the service is for towns without a consumer office of their own
    FUTURE = "future"  # more than MAX_DAYS_AHEAD ahead: a typing mistake
    TOO_EARLY = "too_early"  # before EARLIEST_ENROLMENT: a typing mistake
    PAST = "past"  # enrolling from the plan starts today or later (the registry records the past)


def enrolment_problems(
    *, has_omic: bool, enrolled: bool, enrolled_on: date | None, today: date
) -> dict[str, EnrolmentProblem]:
    """Field name -> problem, for a town's OMIC and enrolment as a coordinator sets them.

    ``enrolled_on`` None with ``enrolled`` means "from today" (the caller fills it in).
    """
    problems: dict[str, EnrolmentProblem] = {}
    if not enrolled:
        return problems
    if has_omic:
        problems["enrolled"] = EnrolmentProblem.HAS_OMIC
    if enrolled_on is not None:
        if enrolled_on > today + timedelta(days=MAX_DAYS_AHEAD):
            problems["enrolled_on"] = EnrolmentProblem.FUTURE
        elif enrolled_on < EARLIEST_ENROLMENT:
            problems["enrolled_on"] = EnrolmentProblem.TOO_EARLY
    return problems


# --- Loaders ----------------------------------------------------------------------------------


def load_candidates(period: Period, tz: ZoneInfo) -> list[Candidate]:
    """Towns without an OMIC, not enrolled, with their requests over ``period`` and their
    group (status).

    One query for the towns plus the fixed few of ``requests_by_town``.
    """
    requests = requests_by_town(period, tz)
    rows = db.session.execute(
        select(
            Municipality.id,
            Municipality.ine_code,
            Municipality.name,
            Municipality.comarca,
            Municipality.population,
            ConsumerOffice.kind,
        )
        .outerjoin(ConsumerOffice, Municipality.office_id == ConsumerOffice.id)
        .where(Municipality.has_omic.is_(False), Municipality.enrolled_on.is_(None))
    )
    return [
        Candidate(
            town_id=row.id,
            ine_code=row.ine_code,
            name=row.name,
            comarca=row.comarca,
            population=row.population,
            requests=sum(requests.get(row.id, {}).values()),
            status=town_status(row.kind, False),
        )
        for row in rows
    ]


def load_coverage() -> tuple[Coverage, dict[date, int]]:
    """The coverage today and the enrolment days behind its progress, in one aggregate query."""
    rows = db.session.execute(
        select(Municipality.enrolled_on, ConsumerOffice.kind, func.count())
        .outerjoin(ConsumerOffice, Municipality.office_id == ConsumerOffice.id)
        .where(Municipality.has_omic.is_(False))
        .group_by(Municipality.enrolled_on, ConsumerOffice.kind)
    ).all()
    enrolments: dict[date, int] = {}
    statuses: dict[OfficeStatus, int] = {}
    for day, kind, count in rows:
        if day is not None:
            enrolments[day] = enrolments.get(day, 0) + count
        status = town_status(kind, day is not None)
        statuses[status] = statuses.get(status, 0) + count
    served = statuses.get(OfficeStatus.SERVED, 0)
    comarcal = statuses.get(OfficeStatus.COMARCAL, 0)
    agencia = statuses.get(OfficeStatus.AGENCIA, 0)
    coverage = Coverage(
        served=served,
        without_omic=served + comarcal + agencia,
        comarcal=comarcal,
        agencia=agencia,
        unknown=statuses.get(OfficeStatus.UNKNOWN, 0),
    )
    return coverage, enrolments


class EnrolResult(enum.StrEnum):
    ENROLLED = "enrolled"
    ALREADY = "already"
    HAS_OMIC = "has_omic"
    NOT_FOUND = "not_found"


def start_problems(start: date, today: date) -> list[EnrolmentProblem]:
    """What is wrong with the day a town enrolled from the plan starts: today or later, and
    not more than ``MAX_DAYS_AHEAD`` ahead."""
    if start < today:
        return [EnrolmentProblem.PAST]
    if start > today + timedelta(days=MAX_DAYS_AHEAD):
        return [EnrolmentProblem.FUTURE]
    return []


def upcoming_bookings(town_id: int, now) -> list:
    """The town's confirmed appointments still to come: (id, start, citizen, technician id),
    soonest first (one query)."""
    return list(
        db.session.execute(
            select(Booking.id, Booking.start_utc, Booking.citizen_name, Booking.technician_id)
            .where(
                Booking.municipality_id == town_id,
                Booking.status == BookingStatus.CONFIRMED,
                Booking.start_utc > now,
            )
            .order_by(Booking.start_utc, Booking.id)
        )
    )


def unenrol(town_id: int, day: date) -> bool:
    """Undo the enrolment that starts on ``day`` (the caller checked there is no booking to
    come, and commits). Conditional: True only if the town was still enrolled from that day."""
    done = db.session.execute(
        update(Municipality)
        .where(Municipality.id == town_id, Municipality.enrolled_on == day)
        .values(enrolled_on=None)
    )
    return bool(done.rowcount)


def enrol(town_id: int, today: date) -> EnrolResult:
    """Enrol a town from ``today`` (or the day given: booking opens then), if it has no OMIC
    and is not enrolled yet (the caller commits).

    One conditional UPDATE: two coordinators pressing "Adhereix" at once enrol it once, and
    the second is told it already was.
    """
    done = db.session.execute(
        update(Municipality)
        .where(
            Municipality.id == town_id,
            Municipality.has_omic.is_(False),
            Municipality.enrolled_on.is_(None),
        )
        .values(enrolled_on=today)
    )
    if done.rowcount:
        return EnrolResult.ENROLLED
    town = db.session.get(Municipality, town_id)
    if town is None:
        return EnrolResult.NOT_FOUND
    db.session.refresh(town)
    if town.has_omic:
        return EnrolResult.HAS_OMIC
    return EnrolResult.ALREADY
