"""Column types shared by the models, and what Alembic must know about them."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A moment in time, always timezone-aware UTC in Python.

    PostgreSQL stores ``timestamp with time zone``; SQLite has no time zones, so the value is
    stored as naive UTC text and made aware again when read. Naive datetimes are refused: a
    naive value is how one-hour DST bugs get in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def render_item(type_: str, obj, autogen_context) -> str | bool:
    """Alembic autogenerate: write UTCDateTime as a plain DateTime(timezone=True).

    Migrations must not import application code, which changes over time.
    """
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


#: Indexes that exist only on PostgreSQL (the schema comparison skips them elsewhere).
POSTGRESQL_ONLY_INDEXES = frozenset(
    {"ix_case_file_search_text_trgm", "ix_case_document_search_text_trgm"}
)


def include_object_for(dialect: str):
    """Alembic ``include_object``: leave out what only exists on another database."""

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        return not (
            type_ == "index" and name in POSTGRESQL_ONLY_INDEXES and dialect != "postgresql"
        )

    return include_object
