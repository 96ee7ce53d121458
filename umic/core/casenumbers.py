"""Case numbers: ``YYYY/NNNNNNN`` (e.g. ``2025/0029005``), unique per year. Pure."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"(\d{4})/(\d{7})")
MAX_SEQUENCE = 9_999_999


def format_number(year: int, sequence: int) -> str:
    """``format_number(2025, 29005) == "2025/0029005"``."""
    if not 1000 <= year <= 9999:
        raise ValueError(f"year out of range: {year}")
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence out of range: {sequence}")
    return f"{year:04d}/{sequence:07d}"


def parse_number(text: str) -> tuple[int, int]:
    """``parse_number("2025/0029005") == (2025, 29005)``; ValueError for anything else."""
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a case number (YYYY/NNNNNNN): {text!r}")
    year, sequence = int(match.group(1)), int(match.group(2))
    format_number(year, sequence)  # range checks
    return year, sequence
