"""The service's figures for a period, and the monthly counts entered by hand. No Flask.

What a *request* is (per town, channel and month) is defined once, in
``umic.stats.requests``: this module only arranges those figures into tables. The other
figures are aggregates computed by the database, in a fixed number of queries whatever the
number of rows:

- appointments: booked (created in the period) and, among those that start in the period,
  attended, missed (no-show), cancelled and still to be marked. A cancelled appointment is
  never a no-show, whoever cancelled it and whenever.
- case files requested in the period, by type and by sector (every channel).
- case files resolved in the period (``resolved_at``: resolved, closed, filed, withdrawn):
  how many, the median days from request to resolution, the amounts claimed and recovered
  for the consumers, and the outcomes.

Days are local days (Europe/Madrid): a period is turned into UTC bounds at local midnight.
Money is added up in cents as integers, exact on SQLite and PostgreSQL alike.

The second half handles ``ChannelCount``: the counts per month, town and channel that
coordinators enter or import for the months before the app existed (upsert on
month + town + channel; a count of 0 removes the row).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Integer
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from ..core.periods import Period
from ..core.text import fold
from ..extensions import db
from ..models import Booking
from ..models import BookingStatus
from ..models import CaseFile
from ..models import Channel
from ..models import ChannelCount
from ..models import Municipality
from .requests import CHANNELS
from .requests import requests_by_month
from .requests import requests_by_town

#: Months outside these years are typing mistakes.
MIN_YEAR, MAX_YEAR = 2000, 2100


# --- Requests per town and per month -----------------------------------------------------------


@dataclass(frozen=True)
class TownRow:
    """One line of "Resultats per ens local i canal"."""

    town_id: int | None
    name: str | None  # None: requests whose town is unknown
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class MonthRow:
    month: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def channel_totals(rows: Iterable[TownRow | MonthRow]) -> dict[str, int]:
    """Each channel's sum over the rows."""
    totals = dict.fromkeys(CHANNELS, 0)
    for row in rows:
        for channel in CHANNELS:
            totals[channel] += row.counts.get(channel, 0)
    return totals


def requests_per_town(period: Period, tz: ZoneInfo) -> list[TownRow]:
    """Every town with at least one request, most requests first, then by name."""
    figures = requests_by_town(period, tz)
    ids = [town_id for town_id in figures if town_id is not None]
    names = dict(
        db.session.execute(
            select(Municipality.id, Municipality.name).where(Municipality.id.in_(ids))
        ).all()
    )
    rows = [
        TownRow(town_id, names.get(town_id) if town_id is not None else None, dict(counts))
        for town_id, counts in figures.items()
        if sum(counts.values())
    ]
    # Unknown town last among equals; names compared without accents ("Àger" near "Abrera").
    rows.sort(key=lambda r: (-r.total, r.name is None, fold(r.name or "")))
    return rows


@dataclass(frozen=True)
class OtherTowns:
    """The towns left out of a chart, added up: how many, and their requests per channel."""

    towns: int
    counts: dict[str, int]


def top_towns(rows: list[TownRow], most: int) -> tuple[list[TownRow], OtherTowns | None]:
    """The first ``most`` rows (they come most requests first) and the rest added up.

    None for the rest when nothing is left out; a single town left over is shown itself
    rather than as "1 other town". The unknown town counts as one of the others.
    """
    if len(rows) <= most + 1:
        return list(rows), None
    rest = rows[most:]
    return list(rows[:most]), OtherTowns(len(rest), channel_totals(rest))


def requests_per_month(period: Period, tz: ZoneInfo) -> list[MonthRow]:
    """Every month of the period, in order, with its requests per channel (zeros included)."""
    return [
        MonthRow(month, counts) for month, counts in sorted(requests_by_month(period, tz).items())
    ]


# --- Appointments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentFigures:
    """Booked: made during the period. The rest: appointments starting in the period."""

    booked: int
    scheduled: int  # starting in the period, whatever their status
    attended: int
    no_show: int
    cancelled: int
    unmarked: int  # confirmed: still to come, or nobody marked them yet

    @property
    def marked(self) -> int:
        """Appointments that took place or were missed: what attendance is measured on."""
        return self.attended + self.no_show

    @property
    def attendance_rate(self) -> float | None:
        return self.attended / self.marked if self.marked else None

    @property
    def no_show_rate(self) -> float | None:
        return self.no_show / self.marked if self.marked else None

    @property
    def cancellation_rate(self) -> float | None:
        return self.cancelled / self.scheduled if self.scheduled else None


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def appointment_figures(period: Period, tz: ZoneInfo) -> AppointmentFigures:
    """One query: every count is a conditional sum over the video calls touching the period.

    In-person appointments at the mobile unit's visits (``Booking.visit_id``) are left out:
    they are the UMIC channel's, counted through the case files of the people seen."""
    start, end = period.bounds(tz)
    created = and_(Booking.created_at >= start, Booking.created_at < end)
    starts = and_(Booking.start_utc >= start, Booking.start_utc < end)
    row = db.session.execute(
        select(
            _count_if(created),
            _count_if(starts),
            _count_if(and_(starts, Booking.status == BookingStatus.ATTENDED)),
            _count_if(and_(starts, Booking.status == BookingStatus.NO_SHOW)),
            _count_if(and_(starts, Booking.status == BookingStatus.CANCELLED)),
            _count_if(and_(starts, Booking.status == BookingStatus.CONFIRMED)),
        ).where(or_(created, starts), Booking.visit_id.is_(None))
    ).one()
    return AppointmentFigures(*(int(value) for value in row))


# --- Case files: types, sectors, resolution ---------------------------------------------------


def cases_by_type_and_sector(period: Period, tz: ZoneInfo) -> tuple[dict[str, int], dict[str, int]]:
    """(case type -> case files, sector code ('' when not recorded) -> case files) requested
    in the period (every channel), most first, ties by code.

    One query (one pass over the period's case files), grouped by both and added up here:
    a few types times a few dozen sectors."""
    start, end = period.bounds(tz)
    types: dict[str, int] = {}
    sectors: dict[str, int] = {}
    for case_type, sector, n in db.session.execute(
        select(CaseFile.case_type, CaseFile.sector, func.count())
        .where(CaseFile.requested_at >= start, CaseFile.requested_at < end)
        .group_by(CaseFile.case_type, CaseFile.sector)
    ):
        types[case_type or ""] = types.get(case_type or "", 0) + int(n)
        sectors[sector or ""] = sectors.get(sector or "", 0) + int(n)

    def most_first(counts: dict[str, int]) -> dict[str, int]:
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    return most_first(types), most_first(sectors)


@dataclass(frozen=True)
class ResolutionFigures:
    resolved: int
    median_days: float | None  # None when no case has both dates in order
    claimed: Decimal  # euros, sum of the amounts claimed of the resolved cases
    recovered: Decimal  # euros recovered for the consumers
    outcomes: dict[str, int] = field(default_factory=dict)  # outcome code ('' none) -> cases


def median_window(count: int) -> tuple[int, int]:
    """(offset, limit) of the middle value(s) of ``count`` sorted values: one or two rows."""
    if count <= 0:
        return 0, 0
    return (count - 1) // 2, 2 - count % 2


def median(middle: list[float]) -> float | None:
    """The median from the middle value (odd count) or the two middle values (even)."""
    if not middle:
        return None
    return sum(middle) / len(middle)


def days_between(start, end):
    """SQL: days (with fractions) from ``start`` to ``end``, on this session's database."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start) / 86400.0
    return func.julianday(end) - func.julianday(start)


def _cents(column):
    return func.coalesce(func.sum(cast(func.round(column * 100), Integer)), 0)


def resolution_figures(period: Period, tz: ZoneInfo) -> ResolutionFigures:
    """Case files resolved in the period: two queries, whatever their number.

    The first groups by outcome (counts, amounts, and how many have a usable duration); the
    second reads only the one or two middle durations, sorted by the database. They are
    sorted by their value alone: equal durations are interchangeable, so no tie-break is
    needed, and without one the two dates are all the query reads, which the index on
    ``resolved_at`` carries on PostgreSQL (an index-only scan; sorting by the id as well
    visited the table once per resolved case: 11 of the page's 15 ms on this query at
    100,000 cases).
    """
    start, end = period.bounds(tz)
    resolved = and_(CaseFile.resolved_at >= start, CaseFile.resolved_at < end)
    timed = CaseFile.resolved_at >= CaseFile.requested_at
    rows = db.session.execute(
        select(
            CaseFile.outcome,
            func.count(),
            _count_if(timed),
            _cents(CaseFile.amount_claimed),
            _cents(CaseFile.amount_recovered),
        )
        .where(resolved)
        .group_by(CaseFile.outcome)
    ).all()
    outcomes = {outcome or "": int(n) for outcome, n, *_rest in rows}
    timed_count = sum(int(row[2]) for row in rows)
    offset, limit = median_window(timed_count)
    middle: list[float] = []
    if limit:
        duration = days_between(CaseFile.requested_at, CaseFile.resolved_at)
        middle = [
            float(value)
            for value in db.session.scalars(
                select(duration)
                .where(resolved, timed)
                .order_by(duration)
                .offset(offset)
                .limit(limit)
            )
        ]
    return ResolutionFigures(
        resolved=sum(outcomes.values()),
        median_days=median(middle),
        claimed=Decimal(sum(int(row[3]) for row in rows)) / 100,
        recovered=Decimal(sum(int(row[4]) for row in rows)) / 100,
        outcomes=outcomes,
    )


# --- Monthly counts entered by hand (ChannelCount) --------------------------------------------


_MONTH_ISO = re.compile(r"(\d{4})-(\d{1,2})(?:-01)?")
_MONTH_DAY_FIRST = re.compile(r"(\d{1,2})/(\d{4})")


def parse_month(value: str | None) -> date | None:
    """The first day of a month written ``2025-03`` (month inputs) or ``03/2025``."""
    value = (value or "").strip()
    match = _MONTH_ISO.fullmatch(value)
    if match:
        year, month = int(match.group(1)), int(match.group(2))
    else:
        match = _MONTH_DAY_FIRST.fullmatch(value)
        if not match:
            return None
        year, month = int(match.group(2)), int(match.group(1))
    if not (1 <= month <= 12 and MIN_YEAR <= year <= MAX_YEAR):
        return None
    return date(year, month, 1)


def parse_channel(value: str | None) -> str | None:
    """The channel a file names, by its code or any of its words (``core.codes.Channel``)."""
    channel = Channel.from_word(value)
    return channel.value if channel is not None else None


def parse_count(value: str | None) -> int | None:
    """A whole number of requests, 0 or more ('' is 0); None when it is not one."""
    value = (value or "").strip().replace(".", "").replace(" ", "")
    if not value:
        return 0
    if not value.isdigit() or len(value) > 7:
        return None
    return int(value)


def normal_ine_code(value: str | None) -> str:
    """'08091'; a spreadsheet's '8091' (leading zero lost) gets its zero back."""
    value = (value or "").strip()
    return value.zfill(5) if value.isdigit() and len(value) == 4 else value


@dataclass(frozen=True)
class CountKey:
    month: date
    municipality_id: int
    channel: str


@dataclass
class SaveReport:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted


def save_counts(
    values: Mapping[CountKey, int], *, actor_id: int | None, now: datetime
) -> SaveReport:
    """Upsert each count (0 removes the row); the caller commits. Two queries plus writes.

    A row whose count does not change is left alone (its ``updated_by`` stays who set it).
    """
    report = SaveReport()
    if not values:
        return report
    keys = list(values)
    # Loaded by month (few), not by key: a long import would pass SQLite's parameter limit.
    months = sorted({key.month for key in keys})
    existing = {
        CountKey(row.month, row.municipality_id, row.channel): row
        for row in db.session.scalars(select(ChannelCount).where(ChannelCount.month.in_(months)))
    }
    for key in keys:
        count, row = values[key], existing.get(key)
        if row is None:
            if count:
                db.session.add(
                    ChannelCount(
                        month=key.month,
                        municipality_id=key.municipality_id,
                        channel=key.channel,
                        count=count,
                        updated_at=now,
                        updated_by_id=actor_id,
                    )
                )
                report.created += 1
        elif not count:
            db.session.delete(row)
            report.deleted += 1
        elif row.count != count:
            row.count, row.updated_at, row.updated_by_id = count, now, actor_id
            report.updated += 1
        else:
            report.unchanged += 1
    db.session.flush()
    return report


def counts_of_month(month: date) -> dict[int, dict[str, int]]:
    """town id -> {channel: count} entered for one month."""
    grid: dict[int, dict[str, int]] = {}
    for town_id, channel, count in db.session.execute(
        select(ChannelCount.municipality_id, ChannelCount.channel, ChannelCount.count).where(
            ChannelCount.month == month
        )
    ):
        grid.setdefault(town_id, dict.fromkeys(CHANNELS, 0))[channel] = count
    return grid


@dataclass(frozen=True)
class MonthCounts:
    month: date
    towns: int
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def months_with_counts() -> list[MonthCounts]:
    """Every month with counts entered, newest first, with its totals per channel (one query)."""
    sums = [
        func.coalesce(func.sum(case((ChannelCount.channel == c, ChannelCount.count), else_=0)), 0)
        for c in CHANNELS
    ]
    rows = db.session.execute(
        select(ChannelCount.month, func.count(func.distinct(ChannelCount.municipality_id)), *sums)
        .group_by(ChannelCount.month)
        .order_by(ChannelCount.month.desc())
    ).all()
    return [
        MonthCounts(month, int(towns), {c: int(n) for c, n in zip(CHANNELS, totals, strict=True)})
        for month, towns, *totals in rows
    ]


# --- Importing counts from a CSV file ----------------------------------------------------------

#: The file's columns, in order (a header line with these names is optional).
IMPORT_COLUMNS = ("month", "ine_code", "channel", "count")
#: Largest file accepted (a province's towns × channels × ten years fits many times over).
MAX_IMPORT_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one line: ``code`` says what, ``value`` is what the line had."""

    line: int
    code: str  # columns, month, future, town, channel, count, repeated, empty, encoding, size
    value: str = ""

    def describe(self) -> str:
        """In English, for the command line (the web page words it in the user's language)."""
        what = {
            "columns": "expected 4 columns: month,ine_code,channel,count",
            "month": f"month {self.value!r} is not YYYY-MM",
            "future": f"month {self.value} has not begun yet",
            "town": f"no town has INE code {self.value!r}",
            "channel": f"channel {self.value!r} is not one of {', '.join(CHANNELS)}",
            "count": f"count {self.value!r} is not a whole number of 0 or more",
            "repeated": f"{self.value} appears earlier in the file",
            "empty": "the file has no rows",
            "encoding": "the file is neither UTF-8 nor Windows-1252 text",
            "size": "the file is too large",
        }[self.code]
        return f"line {self.line}: {what}" if self.line else what


@dataclass
class ImportResult:
    rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    report: SaveReport = field(default_factory=SaveReport)

    @property
    def ok(self) -> bool:
        return not self.problems


def _decode(data: bytes) -> str | None:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def read_counts_csv(data: bytes) -> tuple[list[tuple[int, list[str]]], list[RowProblem]]:
    """(line number, cells) of every non-blank data line; comma or semicolon separated."""
    if len(data) > MAX_IMPORT_BYTES:
        return [], [RowProblem(0, "size")]
    text = _decode(data)
    if text is None or "\x00" in text:  # NUL: a spreadsheet's binary file, not CSV text
        return [], [RowProblem(0, "encoding")]
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        for cells in reader:
            cells = [cell.strip() for cell in cells]
            if not any(cells):
                continue
            header = [fold(c).replace(" ", "_") for c in cells[:4]] == list(IMPORT_COLUMNS)
            if not rows and header:
                continue
            rows.append((reader.line_num, cells))
    except csv.Error:  # e.g. a field longer than any count: not a file of counts
        return [], [RowProblem(0, "encoding")]
    if not rows:
        return [], [RowProblem(0, "empty")]
    return rows, []


def import_counts(data: bytes, *, actor_id: int | None, now: datetime, today: date) -> ImportResult:
    """Check every line, then save all of them or none; the caller commits when ``ok``.

    Idempotent: importing the same file again changes nothing. A count of 0 removes what
    was entered for that month, town and channel. Months after ``today``'s are refused.
    """
    result = ImportResult()
    rows, result.problems = read_counts_csv(data)
    if result.problems:
        return result
    result.rows = len(rows)
    # Every town at once (a province has a few hundred): one query, no parameter limit.
    towns = dict(db.session.execute(select(Municipality.ine_code, Municipality.id)).all())
    this_month = today.replace(day=1)
    values: dict[CountKey, int] = {}
    seen: dict[CountKey, int] = {}
    for line, cells in rows:
        if len(cells) != len(IMPORT_COLUMNS):
            result.problems.append(RowProblem(line, "columns", ",".join(cells)))
            continue
        month_text, code_text, channel_text, count_text = cells
        problems = []
        month = parse_month(month_text)
        if month is None:
            problems.append(RowProblem(line, "month", month_text))
        elif month > this_month:
            problems.append(RowProblem(line, "future", month.strftime("%Y-%m")))
        town_id = towns.get(normal_ine_code(code_text))
        if town_id is None:
            problems.append(RowProblem(line, "town", code_text))
        channel = parse_channel(channel_text)
        if channel is None:
            problems.append(RowProblem(line, "channel", channel_text))
        count = parse_count(count_text)
        if count is None:
            problems.append(RowProblem(line, "count", count_text))
        if problems:
            result.problems.extend(problems)
            continue
        key = CountKey(month, town_id, channel)
        if key in seen:
            where = f"{month:%Y-%m},{normal_ine_code(code_text)},{channel}"
            result.problems.append(RowProblem(line, "repeated", where))
            continue
        seen[key] = line
        values[key] = count
    if result.problems:
        return result
    result.report = save_counts(values, actor_id=actor_id, now=now)
    return result
