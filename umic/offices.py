"""The consumer-office directory in the database: each town's office, the CSV import and export.

The rules (a town's status, the law's order, the file's columns) are ``umic.core.offices``;
this module applies them. Every change of a town's office goes through :func:`set_office`,
which keeps ``Municipality.has_omic`` true exactly when the office is an OMIC (the booking
pages and the expansion plan read ``has_omic``).

``data/consumer_offices.csv`` is the shipped directory: only offices with a public source
(``data/SOURCES.md``); every other town stays "not yet known" until a coordinator records it
(``/admin/oficines/``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .core.codes import OfficeKind
from .core.codes import OfficeStatus
from .core.offices import OFFICE_FIELDS
from .core.offices import Problem
from .core.offices import office_key
from .core.offices import omic_name
from .core.offices import parse_offices
from .core.offices import town_status
from .core.offices import write_offices
from .core.text import council_name
from .extensions import db
from .models import ConsumerOffice
from .models import Municipality

CONSUMER_OFFICES_CSV = Path(__file__).parent / "data" / "consumer_offices.csv"


def set_office(town: Municipality, office: ConsumerOffice | None) -> None:
    """The office ``town``'s residents go to (None: not yet known), and ``has_omic`` with it."""
    town.office = office
    town.office_id = office.id if office is not None else None
    town.has_omic = office is not None and office.kind == OfficeKind.OMIC


def status_of(town: Municipality) -> OfficeStatus:
    return town_status(
        town.office.kind if town.office is not None else None, town.enrolled, town.has_omic
    )


def _status_rows():
    """(town id, office kind, enrolled, has_omic) for every town: one query."""
    return db.session.execute(
        select(
            Municipality.id,
            ConsumerOffice.kind,
            Municipality.enrolled_on.is_not(None),
            Municipality.has_omic,
        ).outerjoin(ConsumerOffice, Municipality.office_id == ConsumerOffice.id)
    ).all()


def status_counts() -> dict[OfficeStatus, int]:
    """How many towns have each status (every status present, maybe 0): one query."""
    counts = Counter(
        town_status(kind, bool(enrolled), bool(has_omic))
        for _id, kind, enrolled, has_omic in _status_rows()
    )
    return {status: counts.get(status, 0) for status in OfficeStatus}


def towns_with_status(status: OfficeStatus) -> list[Municipality]:
    """The towns of one status, most populous first (two queries)."""
    ids = [
        town_id
        for town_id, kind, enrolled, has_omic in _status_rows()
        if town_status(kind, bool(enrolled), bool(has_omic)) is status
    ]
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Municipality)
            .options(selectinload(Municipality.office))
            .where(Municipality.id.in_(ids))
            .order_by(Municipality.population.desc().nulls_last(), Municipality.name)
        )
    )


def towns_per_office() -> dict[int, int]:
    """office id -> how many towns it covers (one query)."""
    return dict(
        db.session.execute(
            select(Municipality.office_id, func.count())
            .where(Municipality.office_id.is_not(None))
            .group_by(Municipality.office_id)
        ).all()
    )


def province_towns() -> dict[str, str]:
    """INE code -> name, for the province's towns."""
    return dict(db.session.execute(select(Municipality.ine_code, Municipality.name)).all())


def delete_office(office: ConsumerOffice) -> int:
    """Delete an office; its towns go back to "not yet known". Returns how many (the caller
    commits)."""
    towns = list(
        db.session.scalars(select(Municipality).where(Municipality.office_id == office.id))
    )
    for town in towns:
        set_office(town, None)
    db.session.delete(office)
    return len(towns)


def cover_towns(office: ConsumerOffice, town_ids: set[int]) -> int:
    """Make ``office`` the office of exactly the towns ``town_ids`` (those it covered and are
    not listed go back to "not yet known"). Returns how many towns changed; the caller
    commits."""
    changed = 0
    current = db.session.scalars(
        select(Municipality).where(
            (Municipality.office_id == office.id) | Municipality.id.in_(town_ids or {0})
        )
    )
    for town in current:
        wanted = office if town.id in town_ids else None
        if town.office_id != (wanted.id if wanted else None) or town.has_omic != (
            wanted is not None and wanted.kind == OfficeKind.OMIC
        ):
            set_office(town, wanted)
            changed += 1
    return changed


@dataclass
class ImportResult:
    problems: list[Problem] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    towns_changed: int = 0


def import_offices(text: str) -> ImportResult:
    """Apply a directory file (``core.offices``): all or nothing. Offices match by kind and
    name; the towns of each office in the file become exactly those the file gives it (the
    law's order decides between kinds); offices not in the file are left as they are. The
    caller commits when there is no problem (nothing was changed otherwise)."""
    result = ImportResult()
    parsed = parse_offices(text, province_towns())
    if parsed.problems:
        result.problems = parsed.problems
        return result
    existing = {office_key(o.kind, o.name): o for o in db.session.scalars(select(ConsumerOffice))}
    offices: list[ConsumerOffice] = []
    for row in parsed.rows:
        office = existing.get(row.key)
        values = row.values()
        if office is None:
            office = ConsumerOffice(**values)
            db.session.add(office)
            result.created += 1
        else:
            changed = False
            for name, value in values.items():
                if getattr(office, name) != value:
                    setattr(office, name, value)
                    changed = True
            result.updated += changed
            result.unchanged += not changed
        offices.append(office)
    db.session.flush()
    by_code = {code: offices[index] for code, index in parsed.assignments.items()}
    ids = {office.id for office in offices}
    towns = db.session.scalars(
        select(Municipality).where(
            Municipality.office_id.in_(ids) | Municipality.ine_code.in_(list(by_code) or [""])
        )
    )
    for town in towns:
        wanted = by_code.get(town.ine_code)
        omic = wanted is not None and wanted.kind == OfficeKind.OMIC
        if town.office_id != (wanted.id if wanted else None) or town.has_omic != omic:
            set_office(town, wanted)
            result.towns_changed += 1
    return result


def export_offices() -> str:
    """Every office as the import reads it (two queries): a CSV file with its BOM."""
    towns: dict[int, list[str]] = {}
    for office_id, code in db.session.execute(
        select(Municipality.office_id, Municipality.ine_code).where(
            Municipality.office_id.is_not(None)
        )
    ):
        towns.setdefault(office_id, []).append(code)
    offices = db.session.scalars(
        select(ConsumerOffice).order_by(ConsumerOffice.kind, ConsumerOffice.name)
    )
    return write_offices(
        {
            **{name: getattr(office, name) for name in OFFICE_FIELDS},
            "towns": towns.get(office.id, []),
        }
        for office in offices
    )


def load_shipped(path: Path = CONSUMER_OFFICES_CSV) -> ImportResult:
    """Import the shipped directory (after the towns); the caller commits."""
    return import_offices(path.read_text(encoding="utf-8-sig"))


def mark_own_office(town: Municipality, own: bool) -> None:
    """The registry's "has its own OMIC" box (``admin/municipalities.py``), kept in sync with
    the directory: ticked, the town gets an OMIC (its existing one, or a new entry named after
    its council, to be completed at ``/admin/oficines/``); unticked, a town whose office was an
    OMIC goes back to "not yet known". Anything else is left as it is. The caller commits."""
    office = town.office
    if own and (office is None or office.kind != OfficeKind.OMIC):
        name = omic_name(council_name(town.name))
        key = office_key(OfficeKind.OMIC, name)
        office = next(
            (
                other
                for other in db.session.scalars(
                    select(ConsumerOffice).where(ConsumerOffice.kind == OfficeKind.OMIC)
                )
                if office_key(other.kind, other.name) == key
            ),
            None,
        )
        if office is None:
            office = ConsumerOffice(kind=OfficeKind.OMIC.value, name=name, locality=town.name)
            db.session.add(office)
            db.session.flush()
        set_office(town, office)
    elif not own and office is not None and office.kind == OfficeKind.OMIC:
        set_office(town, None)
    elif not own:
        town.has_omic = False
