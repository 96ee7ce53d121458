"""Loading the province's municipalities and the known OMICs from CSV files."""

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

DATA_DIR = Path(__file__).parent / "data"
MUNICIPALITIES_CSV = DATA_DIR / "municipalities_barcelona.csv"
OMICS_CSV = DATA_DIR / "omic_offices.csv"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    omics: int = 0
    errors: list[str] = field(default_factory=list)


def _read(path: Path, required: set[str]) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = required - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path.name}: missing columns {', '.join(sorted(missing))}")
        return list(reader)


def import_municipalities(path: Path, omic_path: Path | None = None) -> ImportReport:
    """Create or update towns by INE code; idempotent. A file with any bad row changes nothing."""
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
    omic_codes: set[str] = set()
    if omic_path is not None:
        omic_codes = {row["ine_code"].strip() for row in _read(omic_path, {"ine_code"})}
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
    for code in omic_codes:
        town = existing.get(code)
        if town is None:
            report.errors.append(f"OMIC file: unknown INE code {code}")
        elif not town.has_omic:
            town.has_omic = True
            report.omics += 1
    if report.errors:
        db.session.rollback()
        return report
    db.session.commit()
    return report
