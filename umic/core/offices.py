"""Which consumer office a town's residents go to, and the directory's CSV file.

**The law** (Codi de consum de Catalunya, art. 126-10.2; Decret 98/2014, art. 15.3): a
consumer goes first to the municipal office (OMIC) of the town where they live; where there is
none, to the supramunicipal one, usually the comarcal office (OCIC); where there is none, to
the Agència Catalana del Consum. ``Municipality.office_id`` holds that answer once somebody
has checked it, and only then: nothing here guesses an office from a comarca or a population.

**A town's status** (``OfficeStatus``), first rule that applies:

1. ``own_office``: its office is an OMIC (``has_omic`` is the same fact, kept in sync by
   every path that sets the office: ``umic.offices.set_office``). A town marked ``has_omic``
   without an office row (older data) also reads as its own office.
2. ``served``: enrolled in this service (``enrolled_on`` set; the service is for towns
   without an OMIC, so an enrolled town is known to have none), whatever comarcal office or
   Agència also covers it: its residents can book here.
3. ``comarcal``: its office is an OCIC.
4. ``agencia``: its office is the Agència Catalana del Consum, i.e. somebody checked that it
   has neither a municipal nor a comarcal office. Known, never assumed.
5. ``unknown``: no office recorded and not enrolled. Never counted as "no office": the
   coordinators' to-do list (``/admin/oficines/``).

"Known to have no own office" (the expansion plan's denominator) is ``served``, ``comarcal``
and ``agencia`` together.

**The CSV file** (``docs/offices.md``): one row per office; UTF-8 with or without BOM, comma or
semicolon separated (the delimiter is read from the header line). Columns: ``kind`` (omic,
ocic, agencia, or any word ``OfficeKind.from_word`` reads), ``name`` (both required), then
``address``, ``postcode``, ``locality``, ``phone``, ``email``, ``web``, ``hours_ca``,
``hours_es``, ``towns`` (the INE codes of the towns it covers, separated by spaces, commas
inside quotes, or semicolons), ``source``, ``verified_on`` (YYYY-MM-DD), ``notes``. Rows match
the directory's offices by kind and name (accents and case ignored). A town listed under an
OMIC and an OCIC (or the Agència) goes to the first in the law's order; a town listed twice
under the same kind is an error. :func:`parse_offices` finds every problem, by line, before
anything changes: the import is all or nothing. :func:`write_offices` writes the same columns,
so an export imports back unchanged.

Pure: the standard library and ``core``.
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

from .codes import N_
from .codes import OfficeKind
from .codes import OfficeStatus
from .spreadsheet import csv_text
from .spreadsheet import plain_cell
from .text import fold

#: An office's own fields, as ``ConsumerOffice`` names them (its towns are apart).
OFFICE_FIELDS = (
    "kind",
    "name",
    "address",
    "postcode",
    "locality",
    "phone",
    "email",
    "web",
    "hours",
    "hours_es",
    "source",
    "verified_on",
    "notes",
)

#: The law's order: a town listed under several kinds goes to the first.
LAW_ORDER = (OfficeKind.OMIC, OfficeKind.OCIC, OfficeKind.AGENCIA)

#: The file's columns, in the order the export writes them.
COLUMNS = (
    "kind",
    "name",
    "address",
    "postcode",
    "locality",
    "phone",
    "email",
    "web",
    "hours_ca",
    "hours_es",
    "towns",
    "source",
    "verified_on",
    "notes",
)
REQUIRED = ("kind", "name")
#: Longest value per column (the table's limits).
MAX_LENGTH = {
    "name": 200,
    "address": 200,
    "postcode": 10,
    "locality": 120,
    "phone": 40,
    "email": 254,
    "web": 500,
    "source": 500,
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOWN_SPLIT = re.compile(r"[\s;,]+")


def town_status(office_kind: str | None, enrolled: bool, has_omic: bool = False) -> OfficeStatus:
    """A town's status from its office's kind (None: no office recorded) and its enrolment;
    the rules and their order are in the module docstring."""
    if office_kind == OfficeKind.OMIC or has_omic:
        return OfficeStatus.OWN
    if enrolled:
        return OfficeStatus.SERVED
    if office_kind == OfficeKind.OCIC:
        return OfficeStatus.COMARCAL
    if office_kind == OfficeKind.AGENCIA:
        return OfficeStatus.AGENCIA
    return OfficeStatus.UNKNOWN


#: Statuses of the towns known to have no office of their own.
KNOWN_WITHOUT_OWN = (OfficeStatus.SERVED, OfficeStatus.COMARCAL, OfficeStatus.AGENCIA)


def office_key(kind: str, name: str) -> tuple[str, str]:
    """How a row finds its office: the kind and the name, accents, case and spaces ignored."""
    return (str(kind), " ".join(fold(name).split()))


def omic_name(council: str) -> str:
    """'OMIC de l'Ajuntament de Sabadell', for a council as ``core.text.council_name`` writes
    it."""
    return f"OMIC de l'{council}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: its line (1 is the header; 0: the whole file), a
    message with ``%(name)s`` placeholders (marked for translation) and its values."""

    line: int
    message: str
    args: Mapping[str, str] = field(default_factory=dict)


@dataclass
class OfficeRow:
    """One office as the file gives it."""

    line: int
    kind: OfficeKind
    name: str
    address: str = ""
    postcode: str = ""
    locality: str = ""
    phone: str = ""
    email: str = ""
    web: str = ""
    hours: str = ""
    hours_es: str = ""
    towns: tuple[str, ...] = ()
    source: str = ""
    verified_on: date | None = None
    notes: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return office_key(self.kind, self.name)

    def values(self) -> dict:
        """The office's fields as the model names them."""
        return {name: getattr(self, name) for name in OFFICE_FIELDS}


@dataclass
class ParsedOffices:
    rows: list[OfficeRow] = field(default_factory=list)
    #: INE code -> the row (its index in ``rows``) whose office the town goes to.
    assignments: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def decode(data: bytes) -> str | None:
    """The file's text (UTF-8, a BOM dropped), or None when it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def split_towns(text: str) -> list[str]:
    """The INE codes of a ``towns`` cell (spaces, semicolons or commas between them)."""
    return [code for code in _TOWN_SPLIT.split(text or "") if code]


def parse_day_iso(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def valid_web(text: str) -> bool:
    return text.startswith(("https://", "http://")) and " " not in text and len(text) > 10


def valid_email(text: str) -> bool:
    return bool(_EMAIL.match(text))


def parse_offices(text: str, towns: Mapping[str, str]) -> ParsedOffices:
    """Every row of the file and every problem with it (``towns``: INE code -> name, the
    province's towns). Nothing is looked up or changed: the caller applies it if no problem."""
    parsed = ParsedOffices()
    text = text.removeprefix("\ufeff")
    if not text.strip():
        parsed.problems.append(Problem(0, N_("El fitxer és buit.")))
        return parsed
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    headers = [fold(name).replace(" ", "_") for name in reader.fieldnames or []]
    reader.fieldnames = headers
    missing = [name for name in REQUIRED if name not in headers]
    unknown = [name for name in headers if name and name not in COLUMNS and name != "id"]
    if missing:
        parsed.problems.append(
            Problem(1, N_("Falten les columnes: %(columns)s."), {"columns": ", ".join(missing)})
        )
    if unknown:
        parsed.problems.append(
            Problem(
                1,
                N_("Columnes desconegudes: %(columns)s. Les columnes són: %(known)s."),
                {"columns": ", ".join(unknown), "known": ", ".join(COLUMNS)},
            )
        )
    if parsed.problems:
        return parsed
    seen_keys: dict[tuple[str, str], int] = {}
    # INE code -> kind -> the rows of that kind listing it
    listed: dict[str, dict[OfficeKind, list[int]]] = {}
    for raw in reader:
        line = reader.line_num
        cells = {name: plain_cell((raw.get(name) or "").strip()) for name in COLUMNS}
        if not any(cells.values()):
            continue
        if None in raw:
            parsed.problems.append(Problem(line, N_("La fila té més cel·les que columnes.")))
            continue
        row = _row(line, cells, towns, parsed.problems)
        if row is None:
            continue
        if row.key in seen_keys:
            parsed.problems.append(
                Problem(
                    line,
                    N_("L'oficina «%(name)s» ja és a la línia %(other)s."),
                    {"name": row.name, "other": str(seen_keys[row.key])},
                )
            )
            continue
        seen_keys[row.key] = line
        parsed.rows.append(row)
        for code in row.towns:
            listed.setdefault(code, {}).setdefault(row.kind, []).append(len(parsed.rows) - 1)
    for code, by_kind in listed.items():
        for kind in LAW_ORDER:
            indexes = by_kind.get(kind, [])
            if len(indexes) > 1:
                lines = [parsed.rows[i].line for i in indexes]
                parsed.problems.append(
                    Problem(
                        lines[-1],
                        N_(
                            "%(town)s (%(code)s) és a dues oficines del mateix tipus (línies "
                            "%(lines)s): cada municipi en pot tenir només una."
                        ),
                        {
                            "town": towns.get(code, code),
                            "code": code,
                            "lines": ", ".join(map(str, lines)),
                        },
                    )
                )
                break
            if indexes:
                parsed.assignments[code] = indexes[0]
                break
    parsed.problems.sort(key=lambda problem: problem.line)
    return parsed


def _row(
    line: int, cells: dict[str, str], towns: Mapping[str, str], problems: list[Problem]
) -> OfficeRow | None:
    found: list[Problem] = []
    kind = OfficeKind.from_word(cells["kind"])
    if kind is None:
        found.append(
            Problem(
                line,
                N_("Tipus d'oficina «%(value)s» desconegut: ha de ser omic, ocic o agencia."),
                {"value": cells["kind"]},
            )
        )
    if not cells["name"]:
        found.append(Problem(line, N_("Falta el nom de l'oficina.")))
    for name, most in MAX_LENGTH.items():
        if len(cells[name]) > most:
            found.append(
                Problem(
                    line,
                    N_("La columna %(column)s passa de %(num)s caràcters."),
                    {"column": name, "num": str(most)},
                )
            )
    if cells["email"] and not valid_email(cells["email"]):
        found.append(
            Problem(
                line,
                N_("L'adreça electrònica «%(value)s» no és vàlida."),
                {"value": cells["email"]},
            )
        )
    if cells["web"] and not valid_web(cells["web"]):
        found.append(
            Problem(
                line,
                N_("El web «%(value)s» ha de començar per https:// o http://."),
                {"value": cells["web"]},
            )
        )
    verified_on = None
    if cells["verified_on"]:
        verified_on = parse_day_iso(cells["verified_on"])
        if verified_on is None:
            found.append(
                Problem(
                    line,
                    N_("La data de verificació «%(value)s» ha de ser AAAA-MM-DD."),
                    {"value": cells["verified_on"]},
                )
            )
    codes = split_towns(cells["towns"])
    unknown = [code for code in codes if code not in towns]
    if unknown:
        found.append(
            Problem(
                line,
                N_("Codis INE que no són municipis de la província: %(codes)s."),
                {"codes": ", ".join(unknown)},
            )
        )
    if found:
        problems.extend(found)
        return None
    return OfficeRow(
        line=line,
        kind=kind,
        name=" ".join(cells["name"].split()),
        address=cells["address"],
        postcode=cells["postcode"],
        locality=cells["locality"],
        phone=cells["phone"],
        email=cells["email"],
        web=cells["web"],
        hours=cells["hours_ca"],
        hours_es=cells["hours_es"],
        towns=tuple(dict.fromkeys(codes)),
        source=cells["source"],
        verified_on=verified_on,
        notes=cells["notes"],
    )


def write_offices(offices: Iterable[Mapping], delimiter: str = ";") -> str:
    """The CSV file (``core.spreadsheet``: BOM, CRLF, no cell a spreadsheet runs as a formula)
    of ``offices``: mappings with the model's field names and ``towns`` (INE codes). Imports
    back to the same directory (:func:`parse_offices` reads the cells with ``plain_cell``)."""

    def cells(office: Mapping) -> list[str]:
        values = dict(office)
        values["hours_ca"] = values.get("hours", "")
        values["towns"] = " ".join(sorted(values.get("towns") or ()))
        day = values.get("verified_on")
        values["verified_on"] = day.isoformat() if day else ""
        return [str(values.get(name) or "") for name in COLUMNS]

    return csv_text(COLUMNS, (cells(office) for office in offices), delimiter=delimiter)
