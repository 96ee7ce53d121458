"""Do the coordinators' reports stay fast with 100 times more cases? 1,000 against 100,000.

    .venv/bin/python benchmarks/reports.py \\
        --database-small postgresql+psycopg://postgres@127.0.0.1:5432/umic_bench_1k \\
        --database-large postgresql+psycopg://postgres@127.0.0.1:5432/umic_bench_100k

Two SCRATCH databases (never real ones: ``--fresh`` drops everything in them) are migrated
with ``flask db upgrade`` and filled once with the case list benchmark's own functions
(``case_list.ensure_people_and_towns`` and ``case_list.fill``: the same towns, technicians
and kind of cases), 1,000 cases in one and 100,000 in the other. Then both get the same
extras, so every report has something to add up: the cases in a final status are given a
resolution day, an outcome and amounts, and both databases receive the same 2,000 video
appointments (same seed) with their surveys and 800 answers. Later runs reuse the rows.

Each request is made in-process through Flask's test client, signed in as a coordinator,
with the template rendered and the body read. Every round makes every request once on each
database, in a random order, so a noisy neighbour slows both sizes alike; the ratio of the
medians is what the issue's targets are about. Per request the table gives the median
milliseconds and the interquartile range for each size, the ratio, the number of SQL
statements (counted with SQLAlchemy's cursor events) and the size of the response.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where a script named like a
# standard module would hide it: take the folder out.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from datetime import UTC  # noqa: E402
from datetime import datetime  # noqa: E402
from datetime import timedelta  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

sys.path.insert(0, str(HERE.parent))


def _case_list():
    """The case list benchmark, whose fill functions this one reuses."""
    spec = importlib.util.spec_from_file_location("case_list", HERE / "case_list.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


case_list = _case_list()

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy import text  # noqa: E402

from umic import clock  # noqa: E402
from umic import create_app  # noqa: E402
from umic.config import TestConfig  # noqa: E402
from umic.core import periods  # noqa: E402
from umic.extensions import db  # noqa: E402
from umic.models import Booking  # noqa: E402
from umic.models import CaseFile  # noqa: E402
from umic.models import Company  # noqa: E402
from umic.models import Mediation  # noqa: E402
from umic.models import Service  # noqa: E402
from umic.models import StaffUser  # noqa: E402
from umic.models import SurveyResponse  # noqa: E402

APPOINTMENTS = 2000
ANSWERS = 800
FINAL = ("resolt", "tancat", "arxivat", "desistit")


def extras(seed: int) -> None:
    """Resolution of the final cases, and the same appointments and survey answers."""
    unresolved = db.session.scalar(
        select(func.count())
        .select_from(CaseFile)
        .where(CaseFile.status.in_(FINAL), CaseFile.resolved_at.is_(None))
    )
    if unresolved:
        # Deterministic "random" durations (0-119 days), outcomes and amounts from the id.
        db.session.execute(
            text(
                """
                UPDATE case_file SET
                  resolved_at = requested_at + ((id * 7919) % 120) * interval '1 day'
                                + ((id * 31) % 9) * interval '1 hour',
                  outcome = (ARRAY['favorable','parcial','desfavorable','desistit'])
                            [1 + (id * 13) % 4],
                  amount_claimed = ((id * 97) % 90000) / 100.0 + 10,
                  amount_recovered = ((id * 53) % 50000) / 100.0
                WHERE status IN ('resolt', 'tancat', 'arxivat', 'desistit')
                  AND resolved_at IS NULL
                """
            )
        )
        db.session.commit()
    if db.session.scalar(select(func.count()).select_from(Booking)):
        return
    service = db.session.scalar(select(Service).where(Service.slug == "bench"))
    if service is None:
        service = Service(slug="bench", name="Assessorament (benchmark)")
        db.session.add(service)
        db.session.commit()
    technicians = list(
        db.session.scalars(
            select(StaffUser.id).where(StaffUser.username.in_(case_list.TECHNICIANS))
        )
    )
    _staff, enrolled, _others = case_list.ensure_people_and_towns()
    rng = random.Random(seed)
    start = datetime(2024, 12, 2, 8, tzinfo=UTC)
    rows = []
    for n in range(APPOINTMENTS):
        begins = start + timedelta(days=rng.randrange(700), minutes=30 * rng.randrange(16))
        status = case_list.pick(rng, {"attended": 80, "no_show": 8, "cancelled": 12})
        rows.append(
            {
                "reference": f"B{n:09d}",
                "service_id": service.id,
                "municipality_id": rng.choice(enrolled).id,
                "technician_id": rng.choice(technicians),
                "start_utc": begins,
                "end_utc": begins + timedelta(minutes=30),
                "status": status,
                "citizen_name": rng.choice(case_list.FIRST_NAMES).title(),
                "citizen_email": f"cita{n}@example.net",
                "consent_at": begins - timedelta(days=3),
                "consent_version": "1",
                "ical_uid": f"bench-{n:09d}@example.org",
                "video_link": "https://meet.example.org/bench",
                "created_at": begins - timedelta(days=3),
                "updated_at": begins,
                "confirmed_at": begins - timedelta(days=3),
                "survey_sent_at": begins + timedelta(hours=1) if status == "attended" else None,
            }
        )
    db.session.execute(insert(Booking.__table__), rows)
    attended = list(
        db.session.execute(
            select(Booking.id, Booking.technician_id, Booking.municipality_id, Booking.start_utc)
            .where(Booking.status == "attended")
            .order_by(Booking.id)
        )
    )
    answers = []
    for booking_id, technician_id, town_id, begins in rng.sample(attended, ANSWERS):
        answers.append(
            {
                "booking_id": booking_id,
                "technician_id": technician_id,
                "municipality_id": town_id,
                "attention": rng.choice([6, 7, 8, 9, 9, 10, 10, 10]),
                "competence": rng.choice([5, 7, 8, 9, 10, 10, 10]),
                "resolved": rng.choice(["totalment", "totalment", "parcialment", "no"]),
                "comment": rng.choice(["", "", "Molt amable", "Ràpid i clar, gràcies"]),
                "language": "ca",
                "answered_at": begins + timedelta(hours=rng.randrange(2, 72)),
            }
        )
    db.session.execute(insert(SurveyResponse.__table__), answers)
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


SECTORS = (
    "TELECOM",
    "SERVEIS_GENERALS",
    "ELECTRICITAT_GAS_AIGUA",
    "BENS_CONSUM",
    "TRANSPORT",
    "SERVEIS_FINANCERS",
    "RESTAURACIO_ALLOTJAMENTS",
)
COMPANIES = 2000


def companies_and_mediations() -> None:
    """Issue 14's extras: 2,000 companies (made-up names), every case but one in five linked
    to one (skewed: a few companies get most claims, as in real life), and a mediation for
    one case in ten (10,000 at 100,000 cases), three in four of them closed with an outcome,
    amounts and, without agreement, a referral. Deterministic from the ids, in SQL."""
    if not db.session.scalar(select(func.count()).select_from(Company)):
        db.session.execute(
            insert(Company.__table__),
            [
                {
                    "name": f"Empresa de prova {n:04d}",
                    "name_key": f"empresa de prova {n:04d}",
                    "sector": SECTORS[n % len(SECTORS)],
                    "address": "",
                    "claims_email": f"reclamacions{n}@example.net",
                    "claims_channel": "",
                    "phone": "",
                    "language": "ca",
                    "notes": "",
                    "created_at": datetime(2024, 1, 1, tzinfo=UTC),
                    "updated_at": datetime(2024, 1, 1, tzinfo=UTC),
                }
                for n in range(1, COMPANIES + 1)
            ],
        )
        first = db.session.scalar(select(func.min(Company.id)))
        # Company number: the square of a uniform number in [0, 1) favours the first ones.
        db.session.execute(
            text(
                """
                UPDATE case_file SET company_id = :first + floor(
                    power(((id * 7907) % 1000) / 1000.0, 2) * :companies)::int
                WHERE id % 5 <> 0 AND company_id IS NULL
                """
            ),
            {"first": first, "companies": COMPANIES},
        )
        db.session.commit()
    if db.session.scalar(select(func.count()).select_from(Mediation)):
        return
    db.session.execute(
        text(
            """
            INSERT INTO mediation (case_id, company_id, status, company_email, language,
                opened_at, answer_due, answered_at, answer, answer_text, outcome,
                amount_claimed, amount_recovered, referral, closed_at, updated_at)
            SELECT id, company_id,
                CASE WHEN (id / 10) % 4 = 0 THEN 'oberta' ELSE 'tancada' END,
                'reclamacions@example.net', 'ca',
                requested_at + interval '2 days',
                (requested_at + interval '17 days')::date,
                CASE WHEN (id / 10) % 3 <> 0
                     THEN requested_at + (((id / 10) % 15) + 3) * interval '1 day' END,
                CASE WHEN (id / 10) % 3 <> 0
                     THEN (ARRAY['accepta','proposa','rebutja'])[1 + (id / 10) % 3] ELSE '' END,
                '',
                CASE WHEN (id / 10) % 4 = 0 THEN ''
                     ELSE (ARRAY['acord_total','acord_parcial','sense_acord','desistit'])
                          [1 + (id / 100) % 4] END,
                CASE WHEN (id / 10) % 4 = 0 THEN NULL ELSE ((id * 97) % 90000) / 100.0 + 10 END,
                CASE WHEN (id / 10) % 4 = 0 THEN NULL ELSE ((id * 53) % 50000) / 100.0 END,
                CASE WHEN (id / 10) % 4 <> 0 AND (id / 100) % 4 = 2
                     THEN (ARRAY['arbitratge','inspeccio'])[1 + (id / 1000) % 2] ELSE '' END,
                CASE WHEN (id / 10) % 4 = 0 THEN NULL
                     ELSE requested_at + ((id * 7919) % 90 + 20) * interval '1 day' END,
                requested_at
            FROM case_file WHERE id % 10 = 1 AND company_id IS NOT NULL
            """
        )
    )
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def prepare(url: str, cases: int, seed: int, fresh: bool):
    """An app on a migrated, filled database (filled only the first time)."""
    app = create_app(TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            raise SystemExit("this benchmark needs PostgreSQL")
        if fresh:
            case_list.reset(url)
        print(f"{url.rsplit('/', 1)[-1]}: migrating ...", flush=True)
        upgrade(directory=case_list.MIGRATIONS)
        case_list.fill(cases, app.config["CASE_ORGANIC"], seed)
        extras(seed)
        companies_and_mediations()
        total = db.session.scalar(select(func.count()).select_from(CaseFile))
        print(f"  {total:,} cases", flush=True)
        db.session.remove()
    return app


class Counter:
    """SQL statements run on one app's engine."""

    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._one)

    def _one(self, *_args, **_kwargs):
        self.count += 1


def requests(today) -> list[tuple[str, str]]:
    """(name, URL) of everything measured."""
    last = dict(periods.quick_periods(today))["last_twelve_months"]
    twelve = {"desde": last.first.isoformat(), "fins": last.last.isoformat()}
    return [
        ("statistics, default period", "/admin/estadistiques/"),
        ("statistics, last 12 months", "/admin/estadistiques/?" + urlencode(twelve)),
        ("survey results", "/admin/enquestes/"),
        ("expansion plan", "/admin/ampliacio/"),
        ("case list, first page", case_list.LIST),
        ("search common word `puig`", case_list.LIST + "?q=puig"),
        ("search rare word `taradell`", case_list.LIST + "?q=taradell"),
        ("search rare word `sitges`", case_list.LIST + "?q=sitges"),
    ]


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base = "postgresql+psycopg://postgres@127.0.0.1:5432/"
    parser.add_argument("--database-small", default=base + "umic_bench_1k", help="SCRATCH URL")
    parser.add_argument("--database-large", default=base + "umic_bench_100k", help="SCRATCH URL")
    parser.add_argument("--small", type=int, default=1_000, help="cases in the small one")
    parser.add_argument("--large", type=int, default=100_000, help="cases in the large one")
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--fresh", action="store_true", help="drop everything and refill")
    options = parser.parse_args()

    sizes = {}
    for label, url, cases in (
        ("small", options.database_small, options.small),
        ("large", options.database_large, options.large),
    ):
        app = prepare(url, cases, options.seed, options.fresh)
        context = app.app_context()
        context.push()
        counter = Counter(db.engine)
        client = app.test_client()
        case_list.sign_in(client)
        context.pop()
        sizes[label] = (app, client, counter)

    today = clock.now().date()
    measured = requests(today)
    times = {(name, size): [] for name, _url in measured for size in sizes}
    statements = {}
    weight = {}

    def one(name: str, url: str, size: str) -> None:
        _app, client, counter = sizes[size]
        before = counter.count
        began = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        elapsed = (time.perf_counter() - began) * 1000
        assert response.status_code == 200, (url, response.status_code)
        times[name, size].append(elapsed)
        statements[name, size] = counter.count - before
        weight[name, size] = len(body) / 1024

    jobs = [(name, url, size) for name, url in measured for size in sizes]
    for job in jobs:  # warm-up: templates compiled, connections opened
        one(*job)
    for timings in times.values():
        timings.clear()
    rng = random.Random(options.seed)
    for number in range(options.rounds):
        rng.shuffle(jobs)
        for job in jobs:
            one(*job)
        print(f"  round {number + 1}/{options.rounds}", end="\r", flush=True)
    print()

    print(
        f"\n{options.small:,} vs {options.large:,} cases, {options.rounds} interleaved rounds, "
        "milliseconds (median and interquartile range)\n"
    )
    print("| request | small ms (IQR) | large ms (IQR) | ratio | SQL statements | KB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, _url in measured:
        q = {size: quartiles(times[name, size]) for size in sizes}
        small, large = q["small"], q["large"]
        print(
            f"| {name} | {small[1]:.1f} ({small[0]:.1f}–{small[2]:.1f}) "
            f"| {large[1]:.1f} ({large[0]:.1f}–{large[2]:.1f}) | {large[1] / small[1]:.2f} "
            f"| {statements[name, 'small']} / {statements[name, 'large']} "
            f"| {weight[name, 'small']:.0f} / {weight[name, 'large']:.0f} |"
        )


if __name__ == "__main__":
    main()
