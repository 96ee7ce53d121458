"""Importing and exporting case files in the existing tracker's list format.

``tracker`` reads and writes the text; this module matches rows to towns, staff and existing
cases, and writes them, all in one transaction:

* Idempotent on the Expedient: a known number updates its case (each changed field recorded
  in the history with the note "importat"), a new one creates the case with THAT number, and
  the year's counter is raised to it so that later cases never collide. Importing the same
  file again changes nothing.
* The tracker's ID ("458973") is kept on the case (``tracker_id``: shown, searched, exported):
  set when the case is created, and on a known case only if it has none yet and the ID is
  not the case's own (our export writes the app's id for the cases created here).
* A new case's history starts with one "imported" entry (kind ``imported``, at the moment of
  the import, by no one) holding the tracker's own dates: Data petició (``old_value``, ISO 8601
  UTC) and Data actualització (``new_value``: ISO 8601, or the day alone ``2025-05-16`` when the
  file gave no time). Dates keep their time to the second; a day-only Data actualització is
  stored at the day's local midnight, which the pages show as a day (``display.has_time``).
* A row that cannot be imported (bad number, date, status, unknown town...) is reported and
  skipped; an unknown user is a warning (imported unassigned). A file that cannot be read at
  all raises ``TrackerFileError`` before anything is written.
* Export writes the same 15 columns, newest request first; its ID is the tracker's for the
  cases imported from it, the app's own for the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from .. import clock
from ..core.text import clean
from ..core.text import fold
from ..extensions import db
from ..models import FINAL_STATUSES
from ..models import CaseCounter
from ..models import CaseEvent
from ..models import CaseFile
from ..models import Channel
from ..models import Municipality
from ..models import StaffUser
from . import tracker
from .service import search_text
from .tracker import RowProblem
from .tracker import TrackerFileError
from .tracker import TrackerRow

__all__ = ["ImportReport", "TrackerFileError", "export_cases", "export_lines", "import_tracker"]

#: What the history says about every change an import makes.
IMPORT_NOTE = "importat"
# How many numbers one "WHERE number IN (...)" asks for (SQLite limits bound parameters).
_CHUNK = 500
# The case's columns a row sets, with the tracker's name for each (for messages).
_TEXT_COLUMNS = {
    "procedure_name": "Nom tràmit",
    "registry_entry": "Registre",
    "call": "Convocatòria",
    "interested_name": "Nom interessat",
    "status_detail": "Detall estat",
    "internal_status": "Estat intern",
    "internal_detail": "Detall estat intern",
    "organic": "Orgànic",
}
_MULTILINE = {"status_detail", "internal_detail"}
# The order in which the history lists an import's changes.
_HISTORY_ORDER = (
    "tracker_id",
    "procedure_name",
    "case_type",
    "registry_entry",
    "call",
    "municipality_id",
    "requested_at",
    "status",
    "status_detail",
    "deadline",
    "internal_status",
    "internal_detail",
    "assigned_to_id",
    "organic",
    "interested_name",
)


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    encoding: str
    delimiter: str
    dry_run: bool = False
    rows: int = 0  # data rows in the file
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def skipped(self) -> list[RowProblem]:
        return [problem for problem in self.problems if problem.skipped]

    @property
    def warnings(self) -> list[RowProblem]:
        return [problem for problem in self.problems if not problem.skipped]


@dataclass
class _Plan:
    """One valid row, matched: the values it sets and, for a known number, its case."""

    row: TrackerRow
    values: dict
    case: CaseFile | None
    changes: list[str] = field(default_factory=list)  # fields that differ from the case
    touch: bool = False  # Data actualització differs


class _Towns:
    """Every town, found by any name the tracker may give it (one query)."""

    def __init__(self) -> None:
        self.by_id: dict[int, Municipality] = {}
        self.by_key: dict[str, Municipality | None] = {}
        for town in db.session.scalars(select(Municipality)):
            self.by_id[town.id] = town
            key = fold(town.name)
            # Two towns with one name: neither is chosen by that name.
            self.by_key[key] = None if key in self.by_key else town

    def find(self, text: str) -> Municipality | None:
        for key in tracker.town_keys(text):
            if key in self.by_key:
                return self.by_key[key]
        return None


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _column_length(name: str) -> int | None:
    """The length limit of the column behind the attribute ``name`` (PostgreSQL enforces it)."""
    column_type = CaseFile.__mapper__.columns[name].type
    return column_type.length if isinstance(column_type, String) else None


def _existing_cases(numbers: list[str]) -> dict[str, CaseFile]:
    found: dict[str, CaseFile] = {}
    for start in range(0, len(numbers), _CHUNK):
        chunk = numbers[start : start + _CHUNK]
        for case in db.session.scalars(select(CaseFile).where(CaseFile.number.in_(chunk))):
            found[case.number] = case
    return found


def _seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _same(field_name: str, old, new) -> bool:
    """Whether a stored value already says what the file says (as the file can say it)."""
    if field_name in _TEXT_COLUMNS:
        return clean(old or "", multiline=field_name in _MULTILINE) == new
    if field_name == "requested_at":
        return old is not None and _seconds(old) == _seconds(new)
    return old == new


def _resolve(
    row: TrackerRow,
    case: CaseFile | None,
    towns: _Towns,
    users: dict[str, StaffUser],
) -> tuple[_Plan | None, list[RowProblem]]:
    """The values a row sets, or why it cannot be imported; and its warnings."""
    problems: list[RowProblem] = []
    reasons: list[str] = []
    town = None
    if row.town:
        town = towns.find(row.town)
        if town is None:
            reasons.append(f"unknown town {row.town!r}")
    values: dict = {
        "procedure_name": row.procedure_name,
        "case_type": row.case_type,
        "registry_entry": row.registry,
        "call": row.call,
        "municipality_id": town.id if town else None,
        "requested_at": row.requested_at,
        "status": row.status,
        "status_detail": row.status_detail,
        "internal_status": row.internal_status,
        "internal_detail": row.internal_detail,
        "organic": row.organic,
        "interested_name": row.interested_name,
    }
    for name, column in _TEXT_COLUMNS.items():
        limit = _column_length(name)
        if limit is not None and len(values[name]) > limit:
            reasons.append(f"{column} is longer than {limit} characters")
    if len(row.tracker_id) > _column_length("tracker_id"):
        reasons.append(f"ID is longer than {_column_length('tracker_id')} characters")
    if reasons:
        return None, [RowProblem(row.line, row.number, "; ".join(reasons))]
    if row.tracker_id and (
        case is None or (case.tracker_id is None and row.tracker_id != str(case.id))
    ):
        values["tracker_id"] = row.tracker_id
    if row.username:
        user = users.get(row.username)
        if user is not None:
            values["assigned_to_id"] = user.id
        elif case is None:
            values["assigned_to_id"] = None
            problems.append(
                RowProblem(
                    row.line,
                    row.number,
                    f"unknown user {row.username!r}: imported unassigned",
                    skipped=False,
                )
            )
        else:
            problems.append(
                RowProblem(
                    row.line,
                    row.number,
                    f"unknown user {row.username!r}: assignment left as it was",
                    skipped=False,
                )
            )
    else:
        values["assigned_to_id"] = None
    # The deadline comes from the detail ("ENOTUM fins 28/05"). It is set on a new case, and
    # on a known one only when the detail changed or it had none: a deadline staff set by
    # hand is not undone by a file whose detail says the same as before.
    if row.deadline is not None:
        detail_changed = case is not None and not (
            _same("internal_detail", case.internal_detail, row.internal_detail)
            and _same("status_detail", case.status_detail, row.status_detail)
        )
        if case is None or case.deadline is None or detail_changed:
            values["deadline"] = row.deadline
    plan = _Plan(row=row, values=values, case=case)
    if case is not None:
        plan.changes = [
            name
            for name in _HISTORY_ORDER
            if name in values and not _same(name, getattr(case, name), values[name])
        ]
        plan.touch = not _same_update(case.updated_at, row)
    return plan, problems


def _same_update(stored: datetime, row: TrackerRow) -> bool:
    """Data actualització as precise as the file gives it: to the second, or the day."""
    if row.updated_has_time:
        return _seconds(stored) == _seconds(row.updated_at)
    tz = _tz()
    return stored.astimezone(tz).date() == row.updated_at.astimezone(tz).date()


def _shown(field_name: str, value, towns: _Towns, users_by_id: dict[int, StaffUser]) -> str:
    """How the history writes a value (as ``service.update_case`` does)."""
    if value is None or value == "":
        return ""
    if field_name == "assigned_to_id":
        user = users_by_id.get(value)
        return user.username if user else str(value)
    if field_name == "municipality_id":
        town = towns.by_id.get(value)
        return town.name if town else str(value)
    if isinstance(value, datetime):  # machine-readable; shown by ``display.history_value``
        return _seconds(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _raise_counters(plans: list[_Plan]) -> None:
    """Each year's counter at least at the highest sequence imported (raised first: its row
    lock makes a case created meanwhile wait, then take a higher number)."""
    highest: dict[int, int] = {}
    for plan in plans:
        highest[plan.row.year] = max(highest.get(plan.row.year, 0), plan.row.sequence)
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for year, sequence in sorted(highest.items()):
        db.session.execute(
            insert(CaseCounter).values(year=year, last_number=0).on_conflict_do_nothing()
        )
        db.session.execute(
            update(CaseCounter)
            .where(CaseCounter.year == year, CaseCounter.last_number < sequence)
            .values(last_number=sequence)
        )


def _create(plan: _Plan, towns: _Towns, now: datetime) -> None:
    row, values = plan.row, plan.values
    case = CaseFile(
        year=row.year,
        sequence=row.sequence,
        number=row.number,
        channel=Channel.TELEMATICA,  # the tracker's list does not say; the service's channel
        updated_at=row.updated_at,
        resolved_at=row.updated_at if row.status in FINAL_STATUSES else None,
        created_by_id=None,
        **values,
    )
    case.municipality = towns.by_id.get(values["municipality_id"])
    case.search_text = search_text(case)
    updated = (
        _seconds(row.updated_at).isoformat()
        if row.updated_has_time
        else row.updated_at.astimezone(_tz()).date().isoformat()
    )
    case.events = [
        CaseEvent(
            at=now,
            actor_id=None,
            kind="imported",
            old_value=_seconds(row.requested_at).isoformat(),
            new_value=updated,
            note=IMPORT_NOTE,
        )
    ]
    db.session.add(case)


def _update(plan: _Plan, towns: _Towns, users_by_id: dict[int, StaffUser], now: datetime) -> None:
    case, values = plan.case, plan.values
    assert case is not None
    old_status = case.status
    for name in plan.changes:
        old, new = getattr(case, name), values[name]
        db.session.add(
            CaseEvent(
                case_id=case.id,
                at=now,
                actor_id=None,
                kind="change",
                field=name,
                old_value=_shown(name, old, towns, users_by_id),
                new_value=_shown(name, new, towns, users_by_id),
                note=IMPORT_NOTE,
            )
        )
        setattr(case, name, new)
    if case.status != old_status:
        finished = case.status in FINAL_STATUSES
        case.resolved_at = (case.resolved_at or plan.row.updated_at) if finished else None
    if "municipality_id" in plan.changes:
        case.municipality = towns.by_id.get(case.municipality_id)
    if plan.touch:
        case.updated_at = plan.row.updated_at
    case.search_text = search_text(case)


def import_tracker(
    data: bytes, *, dry_run: bool = False, now: datetime | None = None
) -> ImportReport:
    """Import a tracker export; returns an ``ImportReport``.

    Raises ``TrackerFileError`` (nothing written) when the file cannot be read as a whole.
    All writes are one transaction: an error half-way leaves the database as it was. A dry
    run checks everything (towns, users, numbers) and writes nothing.
    """
    now = now or clock.now()
    parsed = tracker.parse(data, _tz())
    report = ImportReport(
        encoding=parsed.encoding,
        delimiter=parsed.delimiter,
        dry_run=dry_run,
        rows=parsed.lines_read,
        problems=list(parsed.problems),
    )
    try:
        towns = _Towns()
        staff = list(db.session.scalars(select(StaffUser)))
        users = {user.username.upper(): user for user in staff}
        users_by_id = {user.id: user for user in staff}
        existing = _existing_cases([row.number for row in parsed.rows])
        plans = []
        for row in parsed.rows:
            plan, problems = _resolve(row, existing.get(row.number), towns, users)
            report.problems.extend(problems)
            if plan is not None:
                plans.append(plan)
        # A skipped row's warnings no longer matter: only why it was skipped does.
        skipped_lines = {problem.line for problem in report.problems if problem.skipped}
        report.problems = sorted(
            (p for p in report.problems if p.skipped or p.line not in skipped_lines),
            key=lambda problem: problem.line,
        )
        for plan in plans:
            if plan.case is None:
                report.created += 1
            elif plan.changes or plan.touch:
                report.updated += 1
            else:
                report.unchanged += 1
        if dry_run:
            db.session.rollback()
            return report
        if plans:
            _raise_counters(plans)
        for plan in plans:
            if plan.case is None:
                _create(plan, towns, now)
            elif plan.changes or plan.touch:
                _update(plan, towns, users_by_id, now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return report


def export_lines() -> Iterator[tracker.ExportLine]:
    """Every case as the tracker lists it, newest request first (one streamed query)."""
    query = (
        select(
            CaseFile.id,
            CaseFile.tracker_id,
            CaseFile.procedure_name,
            CaseFile.case_type,
            CaseFile.registry_entry,
            CaseFile.number,
            Municipality.name,
            CaseFile.call,
            CaseFile.requested_at,
            CaseFile.updated_at,
            CaseFile.status,
            CaseFile.status_detail,
            CaseFile.internal_status,
            CaseFile.internal_detail,
            StaffUser.username,
            CaseFile.organic,
            CaseFile.interested_name,
        )
        .outerjoin(Municipality, CaseFile.municipality_id == Municipality.id)
        .outerjoin(StaffUser, CaseFile.assigned_to_id == StaffUser.id)
        .order_by(CaseFile.requested_at.desc(), CaseFile.number.desc())
        .execution_options(yield_per=1000)
    )
    for row in db.session.execute(query):
        yield tracker.ExportLine(
            # The tracker's own ID for the cases that came from it: a round trip keeps it.
            id=row.tracker_id or row.id,
            procedure_name=row.procedure_name or tracker.PROCEDURE_NAMES.get(row.case_type, ""),
            registry=row.registry_entry,
            number=row.number,
            town=row.name or "",
            call=row.call,
            requested_at=row.requested_at,
            updated_at=row.updated_at,
            status=row.status,
            status_detail=row.status_detail,
            internal_status=row.internal_status,
            internal_detail=row.internal_detail,
            username=row.username or "",
            organic=row.organic,
            interested_name=row.interested_name,
        )


def export_cases(out: TextIO) -> int:
    """Write every case to ``out`` in the tracker's format; returns how many."""
    return tracker.write(export_lines(), out, _tz())
