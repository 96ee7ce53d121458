"""Whole numbers typed by people or sent by browsers: ids, page numbers, choices. Pure.

A parameter such as ``?pagina=99999999999999999999`` or a select posted with
``technician=9223372036854775807`` is a valid Python int but not a valid database integer:
passed on, it ends in an ``OverflowError`` or a database error (a 500). Every id or page
number the app reads from a request goes through :func:`int_in_range` first, which answers
None for anything that is not a plain number within the range the database can hold; the
caller then ignores the value (a filter), falls back to the first page, or shows an error
beside the field (a form).
"""

from __future__ import annotations

import re

#: The largest value of an ``INTEGER`` column (PostgreSQL's, and our ids' on SQLite).
MAX_ID = 2**31 - 1

#: ASCII digits only, with an optional sign: no ``"١٢"`` (Arabic-Indic digits, which
#: ``int()`` accepts), no ``"1_000"``, no ``"0x10"``; at most 12 digits before converting.
_NUMBER = re.compile(r"[+-]?[0-9]{1,12}")


def int_in_range(value: object, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """``value`` as an int when it is a whole number from ``low`` to ``high``, else None.

    Takes text (surrounding spaces ignored) or an int (``bool`` is not a number here).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if low <= number <= high else None
