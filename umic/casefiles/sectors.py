"""Consumer sectors (the Agència Catalana del Consum's seven), from data/consumer_sectors.csv."""

from __future__ import annotations

import csv
import functools
from pathlib import Path

SECTORS_CSV = Path(__file__).resolve().parents[1] / "data" / "consumer_sectors.csv"


@functools.cache
def sectors() -> dict[str, dict[str, str]]:
    """code -> {"ca": name, "es": name or the Catalan one when no Spanish source exists}."""
    with SECTORS_CSV.open(encoding="utf-8") as handle:
        return {
            row["code"]: {"ca": row["name_ca"], "es": row["name_es"] or row["name_ca"]}
            for row in csv.DictReader(handle)
        }


def sector_name(code: str, language: str = "ca") -> str:
    entry = sectors().get(code)
    return entry.get(language, entry["ca"]) if entry else code
