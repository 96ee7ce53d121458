"""Loading the province's municipalities and the consumer-office directory from CSV files.

The directory (``data/consumer_offices.csv``, ``umic.offices``) gives each town its office
and, with it, ``has_omic``; towns in no office row stay "not yet known".
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from sqlalchemy import select

from .core.text import fold
from .core.text import slugify
from .extensions import db
from .models import Municipality
from .offices import CONSUMER_OFFICES_CSV
from .offices import import_offices

DATA_DIR = Path(__file__).parent / "data"
MUNICIPALITIES_CSV = DATA_DIR / "municipalities_barcelona.csv"
#: The shipped consumer-office directory (it replaced ``omic_offices.csv``, which only listed
#: the towns with an OMIC); the old name is kept for callers.
OMICS_CSV = CONSUMER_OFFICES_CSV


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    omics: int = 0  # towns newly marked as having their own OMIC
    offices: int = 0  # offices created
    errors: list[str] = field(default_factory=list)


def _read(path: Path, required: set[str]) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = required - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path.name}: missing columns {', '.join(sorted(missing))}")
        return list(reader)


def import_municipalities(path: Path, offices_path: Path | None = None) -> ImportReport:
    """Create or update towns by INE code, then (``offices_path``) the consumer-office
    directory (``umic.offices.import_offices``); idempotent. A bad row in either file changes
    nothing."""
    report = ImportReport()
    rows = _read(path, {"ine_code", "name", "comarca", "population"})
    parsed = []
    for number, row in enumerate(rows, start=2):
        code = (row.get("ine_code") or "").strip()
        name = (row.get("name") or "").strip()
        population = (row.get("population") or "").strip()
        year = (row.get("population_year") or "").strip()
        if not (len(code) == 5 and code.isdigit()):
            report.errors.append(f"line {number}: INE code {code!r} is not 5 digits")
            continue
        if not name:
            report.errors.append(f"line {number}: empty name")
            continue
        if population and not population.isdigit():
            report.errors.append(f"line {number}: population {population!r} is not a number")
            continue
        parsed.append(
            {
                "ine_code": code,
                "name": name,
                "comarca": (row.get("comarca") or "").strip(),
                "population": int(population) if population else None,
                "population_year": int(year) if year.isdigit() else None,
            }
        )
    if report.errors:
        return report

    existing = {m.ine_code: m for m in db.session.scalars(select(Municipality))}
    slugs = {m.slug for m in existing.values()}
    for values in parsed:
        town = existing.get(values["ine_code"])
        if town is None:
            slug = slugify(values["name"])
            if slug in slugs:
                slug = f"{slug}-{values['ine_code']}"
            slugs.add(slug)
            town = Municipality(slug=slug, **values, search_name=fold(values["name"]))
            db.session.add(town)
            existing[town.ine_code] = town
            report.created += 1
            continue
        changed = False
        for key, value in values.items():
            if getattr(town, key) != value:
                setattr(town, key, value)
                changed = True
        if town.search_name != fold(town.name):
            town.search_name = fold(town.name)
            changed = True
        report.updated += changed
        report.unchanged += not changed
    if offices_path is not None:
        db.session.flush()
        had_omic = {code for code, town in existing.items() if town.has_omic}
        result = import_offices(offices_path.read_text(encoding="utf-8-sig"))
        report.errors += [
            f"{offices_path.name}: line {p.line}: {p.message % dict(p.args)}"
            for p in result.problems
        ]
        report.offices = result.created
        report.omics = sum(
            1 for code, town in existing.items() if town.has_omic and code not in had_omic
        )
    if report.errors:
        db.session.rollback()
        return report
    db.session.commit()
    return report
