"""What a copy of the database shows: every text and binary value of every table.

The tests of links at rest, retention and erasure search this for a person's name, e-mail,
phone or a link's token: a trace anywhere in the database is a trace.
"""

from __future__ import annotations

from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import select

from umic.extensions import db


def database_text() -> str:
    """One line per non-empty value, ``table: value`` (bytes decoded as UTF-8)."""
    db.session.commit()
    lines = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | LargeBinary)]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for value in row:
                if isinstance(value, bytes | bytearray | memoryview):
                    value = bytes(value).decode("utf-8", "replace")
                if value:
                    lines.append(f"{table.name}: {value}")
    return "\n".join(lines)
