"""A scratch database with the demo data and many bookings, for the free-times benchmarks.

    .venv/bin/python benchmarks/bookings_fill.py --bookings 100000 \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/umic_ft_large
    .venv/bin/python benchmarks/bookings_fill.py --database sqlite:////tmp/umic-ft.db

``free_times.py`` and ``throughput.py`` import ``prepare`` from here; run alone it fills one
database and prints what it holds. NEVER point it at a real database: it drops everything.

What a prepared database holds, as the app itself would have written it:

- the schema from the real migrations (``flask db upgrade``) and the demo data
  (``flask --app umic demo load``), both with the app's clock pinned to ``NOW`` (Monday
  7 December 2026, 09:00 in Madrid), so the demo's appointments "around today" and every
  figure measured on the database do not depend on the day the benchmark runs;
- ``--bookings`` past appointments on the demo technicians' real grid: their opening hours,
  the service's 30 minutes, weekdays only, no Spanish or Catalan public holiday (the same
  ``holidays`` lookup as the app), no closure day, going back from ``NOW`` and taking 90 %
  of the slots. Statuses: attended 82 %, no-show 8 %, cancelled 10 %. Those older than the
  retention period are anonymised as the retention job leaves them;
- confirmed appointments for the next 30 days on 40 % of the slots still free, chosen with
  their own random generator before the history is written, so two databases prepared with
  different history sizes have the same future: only the history differs between them.

Every booking that is not cancelled has its ``booking_claim`` rows (five-minute units from
``scheduling.claim_units``, as ``booking.service._claim`` writes them), and a slot is only
taken when none of its units is claimed, so the unique ``(technician_id, unit_start)`` holds
against the demo's bookings too. References and calendar UIDs come from the app's own
generators (unique columns). Rows are written in bulk with explicit ids: ``COPY`` on
PostgreSQL, ``executemany`` of plain dicts in batches on SQLite, then the id sequences are
moved past them and the tables analysed. 100,000 bookings (about 540,000 claims) take well
under a minute.

A prepared database is reused while it still matches: the same parameters, no migration it
was built with has changed since, and no difference between the models and its schema
(``alembic compare_metadata``). Otherwise, or with ``--fresh``, it is dropped and filled
again. What it was filled with is kept in a table of its own, ``bench_fill``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
# The project first; this folder (first when run as a script) last, so that a script here
# named like a standard module does not hide it from the libraries.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != ROOT / "benchmarks"]
sys.path[:0] = [str(ROOT)]
sys.path.append(str(ROOT / "benchmarks"))

from alembic.autogenerate import compare_metadata  # noqa: E402
from alembic.migration import MigrationContext  # noqa: E402
from flask import current_app  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy import inspect  # noqa: E402
from sqlalchemy import make_url  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy import text  # noqa: E402

from umic import clock  # noqa: E402
from umic import create_app  # noqa: E402
from umic import demo  # noqa: E402
from umic.config import TestConfig  # noqa: E402
from umic.core import ics  # noqa: E402
from umic.core import scheduling  # noqa: E402
from umic.core.codes import BookingStatus  # noqa: E402
from umic.core.emails import email_key  # noqa: E402
from umic.core.tokens import new_reference  # noqa: E402
from umic.core.tokens import video_link  # noqa: E402
from umic.demo.people import FIRST_NAMES  # noqa: E402
from umic.demo.people import PROBLEMS  # noqa: E402
from umic.demo.people import SURNAMES  # noqa: E402
from umic.extensions import db  # noqa: E402
from umic.models import Booking  # noqa: E402
from umic.models import BookingClaim  # noqa: E402
from umic.models import Closure  # noqa: E402
from umic.models import Municipality  # noqa: E402
from umic.models import OpeningHours  # noqa: E402
from umic.models import Role  # noqa: E402
from umic.models import Service  # noqa: E402
from umic.models import StaffUser  # noqa: E402
from umic.models.types import include_object_for  # noqa: E402

MIGRATIONS = ROOT / "migrations"
MADRID = ZoneInfo("Europe/Madrid")
#: The moment the app's clock is pinned to while filling and measuring.
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=MADRID)
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/"
SMALL_URL = PG + "umic_ft_small"
LARGE_URL = PG + "umic_ft_large"
SMALL_BOOKINGS = 100
LARGE_BOOKINGS = 100_000
OCCUPANCY = 0.9
STATUSES = {BookingStatus.ATTENDED: 82, BookingStatus.NO_SHOW: 8, BookingStatus.CANCELLED: 10}
FUTURE_SHARE = 0.4
MARKER = "bench_fill"
BATCH = 5000


# --- The database itself -------------------------------------------------------------------


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database (or the SQLite file's folder) if it is missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            found = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            )
            if not found:
                connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
                print(f"  created database {parsed.database}", flush=True)
    finally:
        admin.dispose()


def reset(url: str) -> None:
    """Start from an empty database (scratch databases only)."""
    db.session.remove()
    db.engine.dispose()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(parsed.database) + suffix).unlink(missing_ok=True)
        return
    with db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


def migrations_digest() -> dict[str, str]:
    """The hash of each migration file: one changed after the fill was never applied here."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        for path in sorted((MIGRATIONS / "versions").glob("*.py"))
    }


def read_state() -> dict | None:
    if not inspect(db.engine).has_table(MARKER):
        return None
    with db.engine.connect() as connection:
        value = connection.scalar(text(f"SELECT value FROM {MARKER} WHERE key = 'fill'"))
    return json.loads(value) if value else None


def write_state(state: dict) -> None:
    with db.engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {MARKER}"))
        connection.execute(text(f"CREATE TABLE {MARKER} (key VARCHAR(20) PRIMARY KEY, value TEXT)"))
        connection.execute(
            text(f"INSERT INTO {MARKER} (key, value) VALUES ('fill', :value)"),
            {"value": json.dumps(state)},
        )


def schema_drift() -> list:
    """Differences between the models and the database (the benchmark's own table aside)."""
    backend = db.engine.dialect.name
    app_objects = include_object_for(backend)

    def include(obj, name, type_, reflected, compare_to):
        if type_ == "table" and name == MARKER:
            return False
        return app_objects(obj, name, type_, reflected, compare_to)

    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include}
        )
        return compare_metadata(context, db.metadata)


def stale_reason(state: dict | None, wanted: dict) -> str | None:
    """Why a prepared database cannot be reused (None: it can). Applies new migrations."""
    if state is None:
        return "not filled yet"
    for key, value in wanted.items():
        if state.get("params", {}).get(key) != value:
            return f"filled with {key}={state.get('params', {}).get(key)!r}, wanted {value!r}"
    now_files = migrations_digest()
    changed = [
        name
        for name, digest in state.get("migrations", {}).items()
        if now_files.get(name) != digest
    ]
    if changed:
        return "migrations changed since the fill: " + ", ".join(changed)
    upgrade(directory=str(MIGRATIONS))  # migrations added since: applied to the data as is
    drift = schema_drift()
    if drift:
        return f"the schema differs from the models: {drift[:3]}"
    return None


# --- Filling -------------------------------------------------------------------------------


class Grid:
    """The technicians' bookable starts, day by day, and the units already claimed."""

    def __init__(self, service: Service, now: datetime):
        self.tz = MADRID
        self.duration = service.duration
        self.hours = [
            scheduling.WeeklyHours(h.staff_id, h.weekday, h.start_time, h.end_time)
            for h in db.session.scalars(
                select(OpeningHours)
                .join(StaffUser, StaffUser.id == OpeningHours.staff_id)
                .where(StaffUser.active.is_(True), StaffUser.role == Role.TECHNICIAN)
            )
        ]
        if not self.hours:
            raise SystemExit("no technician has opening hours: load the demo first")
        self.closed: set[date] = set()
        self.absences: set[tuple[int, date]] = set()
        for day, staff_id in db.session.execute(select(Closure.day, Closure.staff_id)):
            if staff_id is None:
                self.closed.add(day)
            else:
                self.absences.add((staff_id, day))
        self._holiday_years: set[int] = set()
        self.taken: set[tuple[int, datetime]] = set(
            db.session.execute(select(BookingClaim.technician_id, BookingClaim.unit_start))
        )

    def _is_closed(self, day: date) -> bool:
        if day.year not in self._holiday_years:
            self._holiday_years.add(day.year)
            # The same lookup as the app (umic.core.scheduling.public_holidays, ES / CT).
            self.closed.update(scheduling.public_holidays([day.year], "ES", "CT"))
        return day.weekday() >= 5 or day in self.closed

    def slots(self, day: date) -> list[tuple[int, datetime]]:
        """(technician, start) of every bookable start that day, in time order."""
        if self._is_closed(day):
            return []
        starts = scheduling.candidate_starts(day, self.hours, self.tz, self.duration, self.duration)
        return [
            (tech, start)
            for start, techs in sorted(starts.items())
            for tech in sorted(techs)
            if (tech, day) not in self.absences
        ]

    def free(self, tech: int, start: datetime) -> list[datetime] | None:
        """The units of a booking at ``start``, or None when one of them is claimed."""
        units = scheduling.claim_units(start, start + self.duration)
        if any((tech, unit) in self.taken for unit in units):
            return None
        return units


class Writer:
    """Booking and claim rows with explicit ids, written in bulk at the end."""

    def __init__(self, service: Service, towns: list[int], now: datetime, retention: dict):
        self.service = service
        self.towns = towns
        self.now = now
        self.retention = retention
        self.next_id = (db.session.scalar(select(func.max(Booking.id))) or 0) + 1
        self.next_claim = (db.session.scalar(select(func.max(BookingClaim.id))) or 0) + 1
        self.bookings: list[dict] = []
        self.claims: list[dict] = []
        self.references = set(db.session.scalars(select(Booking.reference)))

    def add(self, rng, grid: Grid, tech: int, start: datetime, units, status: str) -> None:
        end = start + grid.duration
        created = min(
            start - timedelta(days=rng.randint(1, 12), minutes=rng.randint(0, 600)), self.now
        )
        if created > self.now - timedelta(hours=1):
            created = self.now - timedelta(hours=rng.randint(1, 72))
        reference = new_reference()
        while reference in self.references:
            reference = new_reference()
        self.references.add(reference)
        first, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        email = f"{first}.{surname}{rng.randrange(1000)}@example.net".lower()
        marked = status in (BookingStatus.ATTENDED, BookingStatus.NO_SHOW)
        cancelled = status == BookingStatus.CANCELLED
        cancelled_at = (
            min(created + timedelta(hours=rng.randint(1, 96)), start) if cancelled else None
        )
        past = end <= self.now
        row = {
            "id": self.next_id,
            "reference": reference,
            "service_id": self.service.id,
            "municipality_id": rng.choice(self.towns),
            "technician_id": tech,
            "start_utc": start,
            "end_utc": end,
            "status": str(status),
            "citizen_name": f"{first} {surname}",
            "citizen_email": email,
            "email_key": email_key(email),
            "network_key": None,
            "citizen_phone": f"6{rng.randrange(10**8):08d}",
            "citizen_address": "",
            "description": rng.choice(PROBLEMS)[0],
            "language": rng.choice(["ca", "ca", "ca", "es"]),
            "consent_at": created,
            "consent_version": "2026-12-04",
            "ical_uid": ics.new_uid(),
            "ical_sequence": 1 if cancelled else 0,
            "video_link": video_link("https://meet.jit.si/umic-{room}")[0],
            "created_at": created,
            "updated_at": cancelled_at or (end if marked else created),
            "confirmed_at": created,
            "reminder_sent_at": start - timedelta(hours=24) if past and not cancelled else None,
            "cancelled_at": cancelled_at,
            "cancel_reason": "",
            "cancelled_by": "citizen" if cancelled else "",
            "booked_by_id": None,
            "marked_at": end if marked else None,
            "marked_by_id": tech if marked else None,
            "survey_sent_at": end if status == BookingStatus.ATTENDED else None,
            "anonymised_at": None,
        }
        # What the retention job leaves of old appointments (umic.privacy.anonymise).
        keep = self.retention["cancelled"] if cancelled else self.retention["past"]
        expires = (cancelled_at if cancelled else end) + keep
        if past and expires < self.now:
            row.update(
                citizen_name="",
                citizen_email="",
                email_key="",
                citizen_phone="",
                description="",
                anonymised_at=expires,
            )
        self.bookings.append(row)
        if not cancelled:
            for unit in units:
                self.claims.append(
                    {
                        "id": self.next_claim,
                        "booking_id": self.next_id,
                        "technician_id": tech,
                        "unit_start": unit,
                    }
                )
                self.next_claim += 1
                grid.taken.add((tech, unit))
        self.next_id += 1

    def write(self) -> None:
        for table, rows in (
            (Booking.__table__, self.bookings),
            (BookingClaim.__table__, self.claims),
        ):
            if not rows:
                continue
            if db.engine.dialect.name == "postgresql":
                copy_rows(table, rows)
            else:
                for first in range(0, len(rows), BATCH):
                    db.session.execute(insert(table), rows[first : first + BATCH])  # executemany
        if db.engine.dialect.name == "postgresql":
            for table in ("booking", "booking_claim"):
                db.session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        db.session.commit()


def copy_rows(table, rows: list[dict]) -> None:
    """PostgreSQL ``COPY ... FROM STDIN`` in the session's own transaction."""
    columns = list(rows[0])
    raw = db.session.connection().connection.driver_connection
    names = ", ".join(columns)
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[column] for column in columns])


def fill(past: int, future_share: float, seed: int, now: datetime) -> dict:
    """Future confirmed bookings, then ``past`` past ones; returns what was written."""
    service = db.session.scalar(select(Service))
    towns = list(
        db.session.scalars(
            select(Municipality.id)
            .where(Municipality.enrolled_on.is_not(None))
            .order_by(Municipality.id)
        )
    )
    config = current_app.config
    retention = {
        "past": timedelta(days=config["RETENTION_PAST_BOOKINGS_DAYS"]),
        "cancelled": timedelta(days=config["RETENTION_CANCELLED_BOOKINGS_DAYS"]),
    }
    grid = Grid(service, now)
    writer = Writer(service, towns, now, retention)
    today = now.astimezone(MADRID).date()

    # The next 30 days first, with a generator of their own: the same in every database.
    rng = random.Random(seed + 1)
    horizon = now + timedelta(days=config["BOOKING_HORIZON_DAYS"])
    free = []
    day = today
    while day <= horizon.astimezone(MADRID).date():
        for tech, start in grid.slots(day):
            if now <= start <= horizon and grid.free(tech, start) is not None:
                free.append((tech, start))
        day += timedelta(days=1)
    chosen = sorted(rng.sample(free, round(len(free) * future_share)), key=lambda s: s[1])
    for tech, start in chosen:
        writer.add(rng, grid, tech, start, grid.free(tech, start), BookingStatus.CONFIRMED)
    future = len(writer.bookings)

    # Then the history, from now backwards.
    rng = random.Random(seed)
    statuses, weights = list(STATUSES), list(STATUSES.values())
    day = today
    while len(writer.bookings) - future < past:
        for tech, start in reversed(grid.slots(day)):
            if start + grid.duration > now or rng.random() >= OCCUPANCY:
                continue
            units = grid.free(tech, start)
            if units is None:
                continue
            writer.add(rng, grid, tech, start, units, rng.choices(statuses, weights)[0])
            if len(writer.bookings) - future >= past:
                break
        day -= timedelta(days=1)
        if day.year < 1980:
            raise SystemExit("ran out of slots")
    writer.write()
    bump_availability()
    return {"future": future, "past": len(writer.bookings) - future, "oldest": day.isoformat()}


def bump_availability() -> None:
    """Tell the app the free times changed, where it keeps a shared number for that
    (``umic.models.availability``): a bulk load bypasses the session events that raise it."""
    try:
        from umic.models import availability
    except ImportError:
        return
    bump = getattr(availability, "bump", None)
    if bump is not None:
        with db.engine.begin() as connection:
            bump(connection)
        print("  availability number raised (umic.models.availability.bump)", flush=True)


def analyse() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def counts() -> dict:
    rows = db.session.execute(
        select(Booking.status, func.count()).group_by(Booking.status).order_by(Booking.status)
    ).all()
    return {
        "bookings": sum(n for _status, n in rows),
        "by_status": {str(status): n for status, n in rows},
        "claims": db.session.scalar(select(func.count()).select_from(BookingClaim)),
    }


def add_database_arguments(parser) -> None:
    """The options of the scripts that measure on the two databases this module fills."""
    parser.add_argument("--small", default=SMALL_URL, help="SCRATCH database URL")
    parser.add_argument("--large", default=LARGE_URL, help="SCRATCH database URL")
    parser.add_argument("--small-bookings", type=int, default=SMALL_BOOKINGS)
    parser.add_argument("--large-bookings", type=int, default=LARGE_BOOKINGS)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--fresh", action="store_true", help="refill both databases")


def prepare(
    url: str,
    bookings: int,
    *,
    seed: int = 2026,
    future_share: float = FUTURE_SHARE,
    fresh: bool = False,
    now: datetime = NOW,
) -> dict:
    """Make ``url`` a prepared database (reused when it still matches); returns its summary.

    Leaves the app's clock frozen at ``now``.
    """
    clock.freeze(now)
    ensure_database(url)
    wanted = {
        "bookings": bookings,
        "seed": seed,
        "future_share": future_share,
        "now": now.isoformat(),
    }
    app = create_app(TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": url})
    label = make_url(url).render_as_string(hide_password=True)
    with app.app_context():
        reason = "--fresh" if fresh else stale_reason(read_state(), wanted)
        if reason is None:
            state = read_state()
            print(f"{label}: reusing ({state['summary']['bookings']:,} bookings)", flush=True)
            # Migrations applied since the fill may have added the shared number: give it one,
            # as any database the app has written to has.
            bump_availability()
            db.session.remove()
            db.engine.dispose()
            return state["summary"]
        print(f"{label}: filling ({reason})", flush=True)
        began = time.perf_counter()
        reset(url)
        upgrade(directory=str(MIGRATIONS))
        demo.load()
        demo_bookings = db.session.scalar(select(func.count()).select_from(Booking))
        written = fill(bookings, future_share, seed, now)
        analyse()
        summary = {**counts(), "demo": demo_bookings, **written}
        write_state({"params": wanted, "migrations": migrations_digest(), "summary": summary})
        print(
            f"  {summary['bookings']:,} bookings ({demo_bookings} demo, {written['past']:,} past "
            f"back to {written['oldest']}, {written['future']} confirmed in the next 30 days), "
            f"{summary['claims']:,} claims; {time.perf_counter() - began:.1f} s",
            flush=True,
        )
        db.session.remove()
        db.engine.dispose()
        return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=LARGE_URL, help="a SCRATCH database URL")
    parser.add_argument("--bookings", type=int, default=LARGE_BOOKINGS, help="past bookings")
    parser.add_argument("--future-share", type=float, default=FUTURE_SHARE)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--fresh", action="store_true", help="drop everything and refill")
    options = parser.parse_args()
    summary = prepare(
        options.database,
        options.bookings,
        seed=options.seed,
        future_share=options.future_share,
        fresh=options.fresh,
    )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
