"""Do the free times stay fast with 100,000 past bookings? Side by side with ~100, in one run.

    .venv/bin/python benchmarks/free_times.py            # PostgreSQL umic_ft_small / umic_ft_large
    .venv/bin/python benchmarks/free_times.py --small sqlite:////tmp/ft-small.db \\
        --large sqlite:////tmp/ft-large.db

Two scratch databases are prepared by ``bookings_fill.prepare`` (reused while they still
match, ``--fresh`` refills): the demo data plus ``--small-bookings`` past bookings, and the
same plus ``--large-bookings``. Both have the same future (the same confirmed bookings in the
next 30 days), so only the history differs. The app's clock is frozen at the same moment
(``bookings_fill.NOW``) for filling and measuring.

Both apps run in this process, configured as production is (``Config``, a random secret key,
rate limits on), and are driven through Flask's test client: routing, the view, the template
and the body, without a network or a server. Every round times, in a new random order, each
request on each database:

- the day-times fragment the citizen's browser asks for with htmx when a day is chosen
  (``/reserva/<town>/?des=<today>&dia=<day>`` with ``HX-Request: true``);
- the same fragment just after the free times' number changed (as after any booking made
  anywhere): what each process kept cannot be used, so the day is computed again;
- the town page (``/reserva/<town>/``);
- the details step with a chosen time (``/reserva/<town>/dades?slot=...``), which checks
  that the time is still free;
- the bookings query alone: the statements the fragment sends to ``booking`` or
  ``booking_claim``, recorded on its first request and replayed as they were sent (same SQL,
  same parameters) on a connection of their own. So it follows whatever the app does.

For each request: the median and interquartile range in milliseconds, the ratio of the
medians (large / small) and the median of the per-round ratios, and, from SQLAlchemy's
cursor events, the number of SQL statements per request and their time. Then the plans of
the bookings statements: ``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL, ``EXPLAIN QUERY
PLAN`` on SQLite. The issue's bar: the fragment at 100,000 bookings takes at most 1.2 times
its time at 100.
"""

from __future__ import annotations

import argparse
import random
import re
import secrets
import sys
import time
from datetime import timedelta
from importlib import import_module
from pathlib import Path
from urllib.parse import quote

# This folder goes last on the path, not first: a script here named like a standard module
# must not hide the standard one.
HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(HERE)]
sys.path.append(HERE)

import statistics  # noqa: E402

import bookings_fill  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy import make_url  # noqa: E402

from umic import clock  # noqa: E402
from umic import create_app  # noqa: E402
from umic.config import Config  # noqa: E402
from umic.extensions import db  # noqa: E402

#: The statements that read bookings or their claims (the query the issue is about).
BOOKINGS_SQL = re.compile(r"\bFROM\s+booking(_claim)?\b", re.IGNORECASE)
SLOT = re.compile(r'name="slot" value="([^"]+)"')
FRAGMENT, FRESH, TOWN, DETAILS, QUERY = (
    "day-times fragment",
    "day-times fragment, computed afresh",
    "town page",
    "details step with a slot",
    "bookings query alone",
)
MEASURES = (FRAGMENT, FRESH, TOWN, DETAILS, QUERY)
BAR = 1.2


class Tracer:
    """Counts and times the SQL statements an engine runs while ``recording``."""

    def __init__(self, engine):
        self.recording = False
        self.statements: list[tuple[str, object, float]] = []
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn, _cursor, statement, parameters, _context, _many):
        self._started = time.perf_counter()

    def _after(self, _conn, _cursor, statement, parameters, _context, _many):
        if self.recording:
            took = (time.perf_counter() - self._started) * 1000
            self.statements.append((statement, parameters, took))

    def start(self) -> None:
        self.statements = []
        self.recording = True

    def stop(self) -> tuple[int, float]:
        self.recording = False
        return len(self.statements), sum(took for _s, _p, took in self.statements)


class Target:
    """One database: its app, client, tracer, and the bookings statements to replay."""

    def __init__(self, name: str, url: str, summary: dict):
        self.name = name
        self.url = url
        self.summary = summary
        self.app = create_app(
            Config,
            overrides={
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": secrets.token_hex(32),
                "MAIL_SUPPRESS_SEND": True,
            },
        )
        self.client = self.app.test_client(use_cookies=False)
        with self.app.app_context():
            self.engine = db.engine
        self.tracer = Tracer(self.engine)
        self.replay: list[tuple[str, object]] = []
        self.first: tuple[str, int] = ("", 0)
        self.connection = None

    def get(self, path: str, headers: dict | None = None) -> tuple[float, int, float, bytes]:
        """(ms, SQL statements, SQL ms, body) of one request; it must answer 200."""
        self.tracer.start()
        began = time.perf_counter()
        response = self.client.get(path, headers=headers or {})
        body = response.get_data()
        took = (time.perf_counter() - began) * 1000
        count, sql_ms = self.tracer.stop()
        if response.status_code != 200:
            raise SystemExit(f"{self.name}: {path} answered {response.status_code}")
        return took, count, sql_ms, body

    def afresh(self, path: str, headers: dict | None = None) -> tuple[float, int, float, bytes]:
        """``get`` just after the free times' number changed (untimed), as after any booking
        anywhere: nothing this process kept can be used, so the day is computed again."""
        with self.app.app_context():
            bump = getattr(import_module("umic.models.availability"), "bump", None)
            if bump is not None:
                with self.engine.begin() as connection:
                    bump(connection)
        return self.get(path, headers)

    def capture(self, path: str, headers: dict | None = None) -> bytes:
        """Record the bookings statements a request sends (for the replay and the plans).

        Called on the app's first request, so nothing the app may keep in memory hides them.
        """
        _ms, count, _sql, body = self.get(path, headers)
        self.first = (path, count)
        self.replay = [(s, p) for s, p, _took in self.tracer.statements if BOOKINGS_SQL.search(s)]
        if self.connection is None:
            self.connection = self.engine.connect()
        return body

    def run_query(self) -> tuple[float, int, float, bytes]:
        began = time.perf_counter()
        for statement, parameters in self.replay:
            self.connection.exec_driver_sql(statement, parameters).fetchall()
        took = (time.perf_counter() - began) * 1000
        self.connection.rollback()
        return took, len(self.replay), took, b""

    def explain(self) -> str:
        postgres = self.engine.dialect.name == "postgresql"
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
        out = []
        for statement, parameters in self.replay:
            rows = self.connection.exec_driver_sql(prefix + statement, parameters).all()
            self.connection.rollback()
            shown = " ".join(statement.split())
            out.append(f"-- {shown}\n-- parameters: {parameters}")
            out.append("\n".join(row[0] if postgres else str(row[-1]) for row in rows))
        return "\n".join(out) if out else "(the fragment sent no bookings statement)"

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.engine.dispose()


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bookings_fill.add_database_arguments(parser)
    parser.add_argument("--rounds", type=int, default=101, help="measured rounds (after 3 warm-up)")
    parser.add_argument("--town", default="gelida", help="the slug of a town that can book")
    parser.add_argument(
        "--day", help="the day whose times are shown (default: 9 days after NOW, a Wednesday)"
    )
    options = parser.parse_args()

    summaries = {
        "small": bookings_fill.prepare(
            options.small, options.small_bookings, seed=options.seed, fresh=options.fresh
        ),
        "large": bookings_fill.prepare(
            options.large, options.large_bookings, seed=options.seed, fresh=options.fresh
        ),
    }
    clock.freeze(bookings_fill.NOW)
    today = bookings_fill.NOW.date()
    day = options.day or (today + timedelta(days=9)).isoformat()
    town = options.town
    fragment = (f"/reserva/{town}/?des={today.isoformat()}&dia={day}", {"HX-Request": "true"})
    targets = [
        Target("small", options.small, summaries["small"]),
        Target("large", options.large, summaries["large"]),
    ]
    try:
        run(options, targets, fragment, town, day)
    finally:
        for target in targets:
            target.close()
        clock.reset()


def run(options, targets: list[Target], fragment, town: str, day: str) -> None:
    offered = {target.name: SLOT.findall(target.capture(*fragment).decode()) for target in targets}
    if not offered["small"]:
        raise SystemExit(f"{town} has no free time on {day}: choose another --day")
    slot = offered["small"][0]
    if slot not in offered["large"]:
        raise SystemExit(f"{slot} is free on the small database, not on the large one")
    offered = offered["small"]
    details = f"/reserva/{town}/dades?slot={quote(slot)}"
    for target in targets:
        if not target.replay:  # nothing read bookings: try the step that checks a time
            target.capture(details)

    requests = {
        FRAGMENT: lambda t: t.get(*fragment),
        FRESH: lambda t: t.afresh(*fragment),
        TOWN: lambda t: t.get(f"/reserva/{town}/"),
        DETAILS: lambda t: t.get(details),
        QUERY: lambda t: t.run_query(),
    }
    plan = [(target, name) for target in targets for name in MEASURES]
    results = {(t.name, name): [] for t, name in plan}
    rng = random.Random(options.seed)
    backend = targets[0].engine.dialect.name
    print(
        f"\n{backend}: {options.rounds} rounds (+3 warm-up) of {len(plan)} requests in random "
        f"order; clock frozen at {bookings_fill.NOW.isoformat()}; town {town}, day {day} "
        f"({len(offered)} free times), slot {slot}",
        flush=True,
    )
    began = time.perf_counter()
    for round_number in range(options.rounds + 3):
        rng.shuffle(plan)
        for target, name in plan:
            measured = requests[name](target)
            if round_number >= 3:
                results[(target.name, name)].append(measured[:3])
    print(f"  measured in {time.perf_counter() - began:.0f} s\n", flush=True)
    report(options, targets, results, fragment)


def report(options, targets, results, fragment) -> None:
    small, large = targets
    for target in targets:
        label = make_url(target.url).render_as_string(hide_password=True)
        s = target.summary
        print(
            f"- {target.name}: `{label}`: {s['bookings']:,} bookings ({s['demo']} demo, "
            f"{s['past']:,} past back to {s['oldest']}, {s['future']} confirmed in the next "
            f"30 days), {s['claims']:,} claims"
        )
    print(
        "\n| request | small ms (IQR) | large ms (IQR) | ratio of medians | paired ratio "
        "(IQR) | SQL statements | SQL ms |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    verdict = None
    for name in MEASURES:
        a = results[(small.name, name)]
        b = results[(large.name, name)]
        qa = quartiles([ms for ms, _n, _sql in a])
        qb = quartiles([ms for ms, _n, _sql in b])
        paired = quartiles([y[0] / x[0] for x, y in zip(a, b, strict=True) if x[0] > 0])
        ratio = qb[1] / qa[1] if qa[1] else float("nan")
        count_a = statistics.median(n for _ms, n, _sql in a)
        count_b = statistics.median(n for _ms, n, _sql in b)
        sql_a = statistics.median(sql for _ms, _n, sql in a)
        sql_b = statistics.median(sql for _ms, _n, sql in b)
        print(
            f"| {name} | {qa[1]:.2f} ({qa[0]:.2f}–{qa[2]:.2f}) | {qb[1]:.2f} "
            f"({qb[0]:.2f}–{qb[2]:.2f}) | **{ratio:.2f}** | {paired[1]:.2f} "
            f"({paired[0]:.2f}–{paired[2]:.2f}) | {count_a:g} / {count_b:g} | "
            f"{sql_a:.2f} → {sql_b:.2f} |"
        )
        if name == FRAGMENT:
            verdict = ratio
    met = "met" if verdict <= BAR else "NOT met"
    print(
        f"\nDone-when bar, fragment at {large.summary['bookings']:,} ÷ at "
        f"{small.summary['bookings']:,} bookings ≤ {BAR}: {verdict:.2f} ({met})."
    )
    for target in targets:
        path, count = target.first
        print(
            f"{target.name}: the first request of the run, {path}, sent {count} SQL statements, "
            f"{len(target.replay)} of them on bookings or claims (the 'bookings query alone' "
            "row replays those)."
        )
    for target in targets:
        print(f"\n### Plan of the fragment's bookings statements, {target.name}\n\n```")
        print(target.explain())
        print("```")


if __name__ == "__main__":
    main()
