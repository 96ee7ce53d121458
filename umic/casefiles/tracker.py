"""The existing case tracker's list format: reading and writing its rows. Pure.

The service used a separate tracker whose list (the seed's table) has 15 columns: ID, Nom
tràmit, Registre, Expedient, Classificació, Convocatòria, Data petició, Data actualització,
Estat Petició, Detall estat, Estat intern, Detall estat intern, Usuari assignat, Orgànic, Nom
interessat. Its exports are tab- or semicolon-separated, UTF-8 or Windows-1252, with local
(Europe/Madrid) dates ``dd/mm/yyyy HH:MM:SS``, and its own spellings: "Documentació
requereida" (sic), "En tramit"...

Nothing here touches Flask or the database: ``parse`` turns bytes into ``TrackerRow``s and a
list of ``RowProblem``s, ``write`` turns ``ExportLine``s back into text; ``tracker_db`` looks
up towns and staff and writes the cases. The tracker's words for statuses and case types, and
the other spellings its files use, are written beside each code in ``umic.core.codes``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from ..core.casenumbers import parse_number
from ..core.codes import CaseStatus
from ..core.codes import CaseType
from ..core.spreadsheet import plain_cell
from ..core.spreadsheet import write_tsv
from ..core.text import clean
from ..core.text import council_name
from ..core.text import fold

#: The tracker's header line, in its order and spelling.
HEADER = (
    "ID",
    "Nom tràmit",
    "Registre",
    "Expedient",
    "Classificació",
    "Convocatòria",
    "Data petició",
    "Data actualització",
    "Estat Petició",
    "Detall estat",
    "Estat intern",
    "Detall estat intern",
    "Usuari assignat",
    "Orgànic",
    "Nom interessat",
)

#: Status code -> the tracker's word for it, as the export writes it (``core.codes``).
STATUS_WORDS = {status.value: status.tracker for status in CaseStatus}
DOCUMENTS_REQUESTED = CaseStatus.DOCUMENTACIO.value
#: Case type code -> the tracker's "Nom tràmit" (a plural: "Reclamacions").
PROCEDURE_NAMES = {case_type.value: case_type.tracker for case_type in CaseType}

_DATE = re.compile(
    r"(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4})"
    r"(?:[ T]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?"
)
# "ENOTUM fins 28/05", "ENOTUM fins al 28/05/2025": documents requested until that day.
_ENOTUM = re.compile(
    r"\bENOTUM\b\W*(?:fins|hasta)\s+(?:a\s+|al\s+|el\s+)?"
    r"(?P<day>\d{1,2})/(?P<month>\d{1,2})(?:/(?P<year>\d{4}|\d{2}))?(?!\d)",
    re.IGNORECASE,
)
# Control characters other than tab, CR and LF: a binary file, or the wrong encoding.
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_COUNCIL_PREFIXES = ("ajuntament ", "ayuntamiento ")


class TrackerFileError(ValueError):
    """The file as a whole cannot be read: nothing of it may be imported."""


@dataclass(frozen=True)
class RowProblem:
    """Why a row was skipped (or, for a warning, what was imported differently)."""

    line: int
    number: str  # the Expedient as written, "" when empty
    message: str
    skipped: bool = True


@dataclass(frozen=True)
class TrackerRow:
    """One valid row of the tracker's list, with codes and UTC times."""

    line: int
    tracker_id: str
    procedure_name: str
    case_type: str
    registry: str
    number: str
    year: int
    sequence: int
    town: str  # Classificació as written, "" for none
    call: str
    requested_at: datetime  # UTC
    updated_at: datetime  # UTC
    updated_has_time: bool  # False: the file gave only a day (local midnight stored)
    status: str
    status_detail: str
    internal_status: str
    internal_detail: str
    username: str  # "" for unassigned
    organic: str
    interested_name: str
    deadline: date | None  # from "ENOTUM fins dd/mm" when documents are requested


@dataclass
class ParsedFile:
    """What a file holds: its valid rows and the problems of the others."""

    encoding: str
    delimiter: str
    rows: list[TrackerRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    lines_read: int = 0  # data rows, blank lines excluded


@dataclass(frozen=True)
class ExportLine:
    """One case as the export writes it."""

    id: int | str
    procedure_name: str
    registry: str
    number: str
    town: str  # the town's name ("Gelida"), "" for none
    call: str
    requested_at: datetime
    updated_at: datetime
    status: str  # code
    status_detail: str
    internal_status: str
    internal_detail: str
    username: str
    organic: str
    interested_name: str


# --- bytes to text --------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """The text and the name of its encoding: UTF-8 (with or without BOM), UTF-16 with a BOM,
    else Windows-1252 (which covers latin-1's printable characters).

    Raises TrackerFileError for bytes that are none of these, or that are not text at all.
    """
    if data.startswith(codecs.BOM_UTF8):
        candidates = [("utf-8-sig", "UTF-8")]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = [("utf-16", "UTF-16")]
    else:
        candidates = [("utf-8", "UTF-8"), ("cp1252", "Windows-1252")]
    for codec, name in candidates:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if _BINARY.search(text):
            raise TrackerFileError(
                "the file holds control characters: it is not a text export of the tracker"
            )
        return text, name
    raise TrackerFileError("the file's bytes are neither UTF-8 nor Windows-1252 (latin-1) text")


def detect_delimiter(header_line: str) -> str:
    """Tab or semicolon, whichever separates the header line's columns."""
    tabs, semicolons = header_line.count("\t"), header_line.count(";")
    if tabs == 0 and semicolons == 0:
        raise TrackerFileError(
            "the header line is not separated by tabs or semicolons; expected the columns "
            + ", ".join(HEADER)
        )
    return "\t" if tabs >= semicolons else ";"


def _header_positions(cells: list[str]) -> list[int]:
    """Where each of HEADER's columns is; TrackerFileError naming what is missing or wrong."""
    wanted = {fold(name): index for index, name in enumerate(HEADER)}
    positions: dict[int, int] = {}
    unknown, repeated = [], []
    for position, cell in enumerate(cells):
        key = fold(cell)
        if key not in wanted:
            if cell.strip():
                unknown.append(cell.strip())
            continue
        if wanted[key] in positions:
            repeated.append(cell.strip())
        positions[wanted[key]] = position
    missing = [name for index, name in enumerate(HEADER) if index not in positions]
    if missing or unknown or repeated:
        parts = []
        if missing:
            parts.append("missing columns: " + ", ".join(missing))
        if unknown:
            parts.append("unknown columns: " + ", ".join(unknown))
        if repeated:
            parts.append("repeated columns: " + ", ".join(repeated))
        raise TrackerFileError(
            "the header line is not the tracker's ("
            + "; ".join(parts)
            + "); expected: "
            + ", ".join(HEADER)
        )
    return [positions[index] for index in range(len(HEADER))]


# --- values -----------------------------------------------------------------------------------


def parse_status(text: str) -> str:
    """The status code for the tracker's word (any spelling of ``core.codes``); ValueError
    for an unknown one."""
    status = CaseStatus.from_word(text)
    if status is None:
        raise ValueError(f"unknown status {text.strip()!r}")
    return status.value


def parse_procedure(text: str) -> str:
    """The case type code for a "Nom tràmit" ("Reclamacions" -> "reclamacio")."""
    case_type = CaseType.from_word(text)
    if case_type is None:
        raise ValueError(f"unknown procedure (Nom tràmit) {text.strip()!r}")
    return case_type.value


def parse_local(text: str, tz: ZoneInfo) -> tuple[datetime, bool]:
    """``dd/mm/yyyy[ HH:MM[:SS]]`` in ``tz`` -> (UTC moment, whether a time was given).

    ValueError for anything else, including days that do not exist (31/02/2025).
    """
    match = _DATE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text.strip()!r} is not a date dd/mm/yyyy HH:MM:SS")
    parts = {key: int(value) for key, value in match.groupdict().items() if value is not None}
    try:
        local = datetime(
            parts["year"],
            parts["month"],
            parts["day"],
            parts.get("hour", 0),
            parts.get("minute", 0),
            parts.get("second", 0),
        )
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a real date") from None
    return local.replace(tzinfo=tz).astimezone(UTC), "hour" in parts


def format_local_datetime(moment: datetime | None, tz: ZoneInfo) -> str:
    """``15/05/2025 16:48:06`` (the tracker's Data petició), local time; "" for none."""
    return moment.astimezone(tz).strftime("%d/%m/%Y %H:%M:%S") if moment else ""


def format_local_date(moment: datetime | None, tz: ZoneInfo) -> str:
    """``16/05/2025`` (the tracker's Data actualització), the local day; "" for none."""
    return moment.astimezone(tz).strftime("%d/%m/%Y") if moment else ""


def enotum_deadline(detail: str, updated_on: date) -> date | None:
    """The day in "ENOTUM fins 28/05": the documents' deadline.

    Without a year, the 28/05 nearest to the day the case was updated: usually that year, the
    next one for "fins 10/01" written in December. None when the detail names no deadline;
    ValueError when it names a day that does not exist ("fins 31/02").
    """
    match = _ENOTUM.search(detail)
    if match is None:
        return None
    day, month, year = int(match["day"]), int(match["month"]), match["year"]
    if year is not None:
        full_year = int(year) + (2000 if len(year) == 2 else 0)
        try:
            return date(full_year, month, day)
        except ValueError:
            raise ValueError(f"the ENOTUM deadline {match.group(0)!r} is not a real date") from None
    candidates = []
    for candidate_year in (updated_on.year - 1, updated_on.year, updated_on.year + 1):
        try:
            candidates.append(date(candidate_year, month, day))
        except ValueError:
            continue
    if not candidates:
        raise ValueError(f"the ENOTUM deadline {match.group(0)!r} is not a real date")
    return min(candidates, key=lambda candidate: abs((candidate - updated_on).days))


def town_keys(text: str) -> list[str]:
    """Folded names the Classificació may stand for, most specific first.

    "Ajuntament de Gelida" -> ["ajuntament de gelida", "gelida"]; "Ajuntament del Bruc" ->
    [..., "el bruc"]; "Ajuntament de l'Hospitalet de Llobregat" -> [..., "l hospitalet de
    llobregat"]; a bare town name is itself.
    """
    key = fold(text)
    keys = [key] if key else []
    for prefix in _COUNCIL_PREFIXES:
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        for article, replacement in (("dels ", "els "), ("del ", "el "), ("de ", ""), ("d ", "")):
            if rest.startswith(article):
                keys.append(replacement + rest[len(article) :])
                break
        else:
            keys.append(rest)
    return keys


# --- reading ----------------------------------------------------------------------------------


def parse(data: bytes, tz: ZoneInfo) -> ParsedFile:
    """Read a tracker export; TrackerFileError when the file as a whole is unusable.

    Each row that cannot be read is reported (line, Expedient, every reason) and left out;
    the other rows are returned. A number repeated in the file keeps its first row.
    """
    text, encoding = decode(data)
    lines = text.splitlines(keepends=True)
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start == len(lines):
        raise TrackerFileError("the file is empty")
    delimiter = detect_delimiter(lines[start])
    reader = csv.reader(io.StringIO("".join(lines[start:]), newline=""), delimiter=delimiter)
    try:
        header = _trim(next(reader))
        positions = _header_positions(header)
        parsed = ParsedFile(encoding=encoding, delimiter=delimiter)
        seen: dict[str, int] = {}
        line = start + reader.line_num + 1
        for cells in reader:
            first, line = line, start + reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            parsed.lines_read += 1
            result = parse_row(_trim(cells), positions, len(header), first, tz)
            if isinstance(result, RowProblem):
                parsed.problems.append(result)
                continue
            row, warnings = result
            parsed.problems.extend(warnings)
            if row.number in seen:
                parsed.problems.append(
                    RowProblem(
                        first, row.number, f"repeats the Expedient of line {seen[row.number]}"
                    )
                )
                continue
            seen[row.number] = first
            parsed.rows.append(row)
    except csv.Error as error:
        raise TrackerFileError(f"line {start + reader.line_num}: {error}") from None
    return parsed


def _trim(cells: list[str]) -> list[str]:
    """Without the empty cells a trailing separator leaves."""
    cells = list(cells)
    while cells and not cells[-1].strip():
        cells.pop()
    return cells


def _cell(cells: list[str], position: int, *, multiline: bool = False) -> str:
    """A cell's text, tidied, without the apostrophe our own export puts before a formula."""
    if position >= len(cells):
        return ""
    return clean(plain_cell(cells[position]), multiline=multiline)


def parse_row(
    cells: list[str], positions: list[int], width: int, line: int, tz: ZoneInfo
) -> tuple[TrackerRow, list[RowProblem]] | RowProblem:
    """One data row: the row and its warnings, or why it must be skipped (every reason).

    ``positions`` says where each of HEADER's columns is, ``width`` how many the header has
    (trailing empty cells removed): a row with more cells has a separator inside a value and
    its columns cannot be trusted.
    """
    values = {
        name: _cell(cells, position) for name, position in zip(HEADER, positions, strict=True)
    }
    for name in ("Detall estat", "Detall estat intern"):
        values[name] = _cell(cells, positions[HEADER.index(name)], multiline=True)
    number_text = values["Expedient"]
    if len(cells) > width:
        return RowProblem(
            line,
            number_text,
            f"has {len(cells)} columns, the header has {width} "
            "(a separator inside a value must be quoted)",
        )
    reasons: list[str] = []
    year = sequence = 0
    try:
        year, sequence = parse_number(number_text)
    except ValueError:
        reasons.append(
            f"bad Expedient {number_text!r} (expected YYYY/NNNNNNN)"
            if number_text
            else "no Expedient"
        )
    case_type = status = ""
    try:
        case_type = parse_procedure(values["Nom tràmit"])
    except ValueError as error:
        reasons.append(str(error))
    try:
        status = parse_status(values["Estat Petició"])
    except ValueError as error:
        reasons.append(str(error))
    requested_at = updated_at = None
    updated_has_time = True
    try:
        requested_at, _ = parse_local(values["Data petició"], tz)
    except ValueError as error:
        reasons.append(f"bad Data petició: {error}")
    if values["Data actualització"]:
        try:
            updated_at, updated_has_time = parse_local(values["Data actualització"], tz)
        except ValueError as error:
            reasons.append(f"bad Data actualització: {error}")
    if reasons or requested_at is None:
        return RowProblem(line, number_text, "; ".join(reasons))
    if updated_at is None:
        updated_at = requested_at
    warnings = []
    deadline = None
    if status == DOCUMENTS_REQUESTED:
        updated_on = updated_at.astimezone(tz).date()
        for detail in (values["Detall estat intern"], values["Detall estat"]):
            try:
                deadline = enotum_deadline(detail, updated_on)
            except ValueError as error:
                warnings.append(RowProblem(line, number_text, f"{error}: no deadline", False))
                break
            if deadline is not None:
                break
    row = TrackerRow(
        line=line,
        tracker_id=values["ID"],
        procedure_name=values["Nom tràmit"],
        case_type=case_type,
        registry=values["Registre"],
        number=number_text,
        year=year,
        sequence=sequence,
        town=values["Classificació"],
        call=values["Convocatòria"],
        requested_at=requested_at,
        updated_at=updated_at,
        updated_has_time=updated_has_time,
        status=status,
        status_detail=values["Detall estat"],
        internal_status=values["Estat intern"],
        internal_detail=values["Detall estat intern"],
        username=values["Usuari assignat"].upper(),
        organic=values["Orgànic"],
        interested_name=values["Nom interessat"],
        deadline=deadline,
    )
    return row, warnings


# --- writing ----------------------------------------------------------------------------------


def export_cells(line: ExportLine, tz: ZoneInfo) -> list[str]:
    """The 15 cells of one case, in HEADER's order."""
    return [
        str(line.id),
        line.procedure_name,
        line.registry,
        line.number,
        council_name(line.town),
        line.call,
        format_local_datetime(line.requested_at, tz),
        format_local_date(line.updated_at, tz),
        STATUS_WORDS.get(line.status, line.status),
        line.status_detail,
        line.internal_status,
        line.internal_detail,
        line.username,
        line.organic,
        line.interested_name,
    ]


def write(lines: Iterable[ExportLine], out: TextIO, tz: ZoneInfo) -> int:
    """Write the header and one line per case, tab-separated; returns how many cases.

    ``spreadsheet.write_tsv``, the app's one writer of spreadsheet files, makes every cell
    safe (``spreadsheet.safe_cell``): the file is opened in spreadsheets, and names and
    details are what citizens typed. ``parse`` takes the apostrophe off again.
    """
    return write_tsv(out, HEADER, (export_cells(line, tz) for line in lines))
