"""One number that changes whenever the free times may have changed.

The citizens' pages keep the free times they computed in memory, per process
(``umic.booking.free_times``). A process cannot see another one's memory, and several
servers may run the app, so what says "the free times are still good" lives in the database
every process shares: the single row of ``availability_version``. A transaction that changes
anything the free times come from (a booking's time, technician or status; its claims;
opening hours; closures; the towns a technician serves; a technician leaving; the call's
length; whether a town can book) raises it as its very last statement before COMMIT, in the
same transaction. So:

- a reader that sees the old number reads data at least as new as that number (it read the
  number first), and one that sees the new number reads the committed change;
- the row lock is held only for the COMMIT itself: a transaction holding it waits for
  nothing else, so it cannot be part of a deadlock.

The row is created by the first change (an upsert from a random start, so a database that
was emptied and filled again never repeats a number a process saw before). With no row yet,
readers compute without keeping anything.

Changes made outside the ORM session (raw SQL, bulk loads) do not raise it: run them with
the app stopped, or bump the number with ``bump(connection)``.
"""

from __future__ import annotations

import os
import secrets
import threading

from sqlalchemy import BigInteger
from sqlalchemy import Connection
from sqlalchemy import Select
from sqlalchemy import event
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from ..extensions import db
from .core import Booking
from .core import BookingClaim
from .core import Closure
from .core import Municipality
from .core import OpeningHours
from .core import Service
from .core import StaffUser
from .staffing import StaffTown
from .visits import UmicVisit


class AvailabilityVersion(db.Model):
    """The single row (id 1) whose number changes with any change to the free times."""

    __tablename__ = "availability_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)


#: Per watched class, the attributes whose change can change the free times (None: any).
WATCHED: dict[type, frozenset[str] | None] = {
    Booking: frozenset(
        {"status", "start_utc", "end_utc", "technician_id", "service_id", "municipality_id"}
    ),
    BookingClaim: None,
    Closure: None,
    OpeningHours: None,
    StaffTown: None,
    StaffUser: frozenset({"active"}),
    Service: frozenset({"duration_minutes", "active"}),
    # Whether a town can book (what the quick day-times fragment keeps about it).
    Municipality: frozenset({"slug", "enrolled_on", "has_omic"}),
    # A visit of the mobile unit takes its technician away from video calls, and offers
    # in-person times of its own.
    UmicVisit: None,
}
_TABLES = {cls.__table__.name: cls for cls in WATCHED}
_FLAG = "umic_availability_changed"


def current_statement() -> Select:
    """The query for the number (to read it within another query)."""
    return select(AvailabilityVersion.version).where(AvailabilityVersion.id == 1)


def current(session: Session) -> int | None:
    """The number now (one primary-key read), or None before the first change."""
    return session.scalar(current_statement())


class Reader:
    """Reads the number on a database connection of its own, outside any session.

    The day-times fragment, once its free times are kept, needs nothing from the database
    but this number; through a session that one read cost more than the rest of the
    request (a session, a pooled connection checked out and reset, a transaction). So each
    process keeps one plain connection in autocommit for it: one primary-key read, the
    latest committed value. A connection inherited from a parent process (gunicorn forks
    its workers) is never used: each process opens its own. On any error the connection is
    dropped and ``read`` raises; callers then go the usual way, through the session.
    """

    SQL = "SELECT version FROM availability_version WHERE id = 1"

    def __init__(self) -> None:
        self._connection = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def read(self, engine: Engine) -> int | None:
        with self._lock:
            try:
                if self._connection is None or self._pid != os.getpid():
                    self._connection = self._open(engine)
                    self._pid = os.getpid()
                cursor = self._connection.cursor()
                try:
                    cursor.execute(self.SQL)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
                return None if row is None else int(row[0])
            except Exception:
                self._drop()
                raise

    def _open(self, engine: Engine):
        pooled = engine.raw_connection()
        pooled.detach()  # ours for good: never returned to the pool, never reset by it
        engine.dialect.set_isolation_level(pooled.dbapi_connection, "AUTOCOMMIT")
        if not event.contains(engine, "engine_disposed", self._disposed):
            event.listen(engine, "engine_disposed", self._disposed)  # closed with the pool
        return pooled

    def _disposed(self, _engine: Engine) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        connection, self._connection, self._pid = self._connection, None, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: S110  (it is being thrown away)
                pass


def changed_here(session: Session) -> bool:
    """Whether this session's transaction holds changes to free times not yet committed:
    what it reads then is not what the number stands for."""
    return bool(session.info.get(_FLAG)) or _pending_change(session)


def bump(connection: Connection) -> None:
    """Raise the number (creating the row from a random start the first time)."""
    table = AvailabilityVersion.__table__
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).values(id=1, version=secrets.randbits(62))
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.id], set_={"version": table.c.version + 1}
        )
    )


def _changed(instance: object) -> bool:
    """A modified instance of a watched class with a watched attribute changed."""
    if type(instance) not in WATCHED:
        return False
    attributes = WATCHED[type(instance)]
    if attributes is None:
        return True
    state = inspect(instance)
    return any(state.attrs[name].history.has_changes() for name in attributes)


def _pending_change(session: Session) -> bool:
    return (
        any(type(item) in WATCHED for item in session.new)
        or any(type(item) in WATCHED for item in session.deleted)
        or any(_changed(item) for item in session.dirty)
    )


def _before_flush(session: Session, _context, _instances) -> None:
    if _pending_change(session):
        session.info[_FLAG] = True


def _statement_touches(state: ORMExecuteState) -> bool:
    """A bulk UPDATE or DELETE through the session on a watched table (UPDATEs of a booking
    that set none of its watched columns, e.g. ``reminder_sent_at``, do not count)."""
    if not (state.is_update or state.is_delete):
        return False
    table = getattr(state.statement, "table", None)
    cls = _TABLES.get(getattr(table, "name", None))
    if cls is None:
        return False
    attributes = WATCHED[cls]
    if state.is_delete or attributes is None:
        return True
    values = getattr(state.statement, "_values", None)
    if not values:
        return True  # cannot tell: count it
    names = {getattr(key, "key", key) for key in values}
    return bool(names & attributes) or not all(isinstance(name, str) for name in names)


def _on_execute(state: ORMExecuteState) -> None:
    if _statement_touches(state):
        state.session.info[_FLAG] = True


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT: the outer COMMIT raises it, last
    if session.info.get(_FLAG) or _pending_change(session):
        session.flush()  # everything else first: the bump is the last statement
        bump(session.connection())
    session.info.pop(_FLAG, None)


def _forget(session: Session, *_args) -> None:
    session.info.pop(_FLAG, None)


def watch(session_class: type[Session] = Session) -> None:
    """Raise the number in every transaction of ``session_class`` that changes free times."""
    if event.contains(session_class, "before_commit", _before_commit):
        return
    event.listen(session_class, "before_flush", _before_flush)
    event.listen(session_class, "do_orm_execute", _on_execute)
    event.listen(session_class, "before_commit", _before_commit)
    event.listen(session_class, "after_rollback", _forget)
