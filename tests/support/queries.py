"""Counting the SQL statements a block of code runs: the proof that a page or a job costs a
fixed number of queries whatever the number of rows (never one query per row)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from umic.extensions import db

#: What a read starts with (a CTE is a read too).
READS = ("SELECT", "WITH")


@contextmanager
def counted_queries(starting: tuple[str, ...] | None = None) -> Iterator[list[str]]:
    """Every statement the app's engine runs inside the block (or those ``starting`` so)."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        if starting is None or statement.lstrip().upper().startswith(starting):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def counted_selects():
    """The reads run inside the block."""
    return counted_queries(READS)
