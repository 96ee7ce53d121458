"""How fast is the case list with many cases? Fills a scratch database and times the list.

    .venv/bin/python benchmarks/case_list.py --database sqlite:////tmp/umic-bench.db --cases 100000
    .venv/bin/python benchmarks/case_list.py \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/umic_bench_a --cases 100000

The database is migrated with ``flask db upgrade`` (never ``create_all``) and filled once with
realistic cases, inserted in bulk (executemany of plain dicts, not ORM objects one by one):
the province's real municipalities, a few technicians, five years of requests. Later runs
reuse the rows (``--fresh`` starts again). NEVER point it at a real database: ``--fresh``
drops everything and the filling adds 100,000 invented people.

Each measure is a real request through the app (signed in, template rendered), run
``--repeat`` times after one warm-up; the table shows the median and, for list pages, the
median time of the two SQL statements alone (count and page). Then the plans of the slowest
statements: ``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite.

``--trigram`` and ``--try-index`` create experimental indexes for the run (named ``bench_*``)
and drop them at the end, to see what an index would change before writing a migration.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy import text  # noqa: E402

from umic import create_app  # noqa: E402
from umic.casefiles import queries  # noqa: E402
from umic.casefiles.service import search_text  # noqa: E402
from umic.casefiles.tracker import PROCEDURE_NAMES  # noqa: E402
from umic.config import TestConfig  # noqa: E402
from umic.core.casenumbers import format_number  # noqa: E402
from umic.extensions import db  # noqa: E402
from umic.models import CaseCounter  # noqa: E402
from umic.models import CaseFile  # noqa: E402
from umic.models import Municipality  # noqa: E402
from umic.models import Role  # noqa: E402
from umic.models import StaffUser  # noqa: E402
from umic.municipalities import MUNICIPALITIES_CSV  # noqa: E402
from umic.municipalities import import_municipalities  # noqa: E402

MIGRATIONS = str(ROOT / "migrations")
MADRID = ZoneInfo("Europe/Madrid")
LIST = "/espai/expedients/"
CSV = "/espai/expedients/export.csv"
PASSWORD = "benchmark password 1"
TECHNICIANS = ["OPSSVEGAVN", "OPSSAPRESGA", "OPSSPASCUETCA", "OPSSROCAMJ", "OPSSFONTLL"]
COORDINATOR = "OPSSBENCH"
# The pilot's first four towns and more of the 25: most cases come from enrolled towns.
ENROLLED = [
    "Torrelles de Llobregat",
    "Santa Maria de Palautordera",
    "Begues",
    "Gelida",
    "Abrera",
    "Avinyonet del Penedès",
    "Cabrera d'Anoia",
    "Calaf",
    "Capellades",
    "Castellet i la Gornal",
    "Centelles",
    "El Bruc",
    "Les Cabanyes",
    "L'Ametlla del Vallès",
    "Aiguafreda",
    "Alella",
    "Argentona",
    "Artés",
    "Avià",
    "Balenyà",
    "Calldetenes",
    "Castellví de la Marca",
    "Arenys de Munt",
    "Avinyó",
    "Castellolí",
]
FIRST_NAMES = (
    "TRINIDAD NURIA FRANCISCA SARAY MONICA JAIME JORDI MARIA JOSEP ANNA MARC LAURA ÀNGELS "
    "JOAN MONTSERRAT DAVID CARME RAÚL ÒSCAR NÚRIA PERE MERCÈ ANTONIO ISABEL XAVIER ROSA "
    "FRANCESC MÍRIAM ALBERT SÍLVIA"
).split()
SURNAMES = (
    "Garcia Martínez López Sánchez Puig Vila Soler Ferrer Roca Serra Font Pujol Vidal Camps "
    "Riera Costa Casas Mas Bosch Sala Ribas Prat Torres Ruiz Fernández Pérez Giménez Castells"
).split()
COMPANIES = [
    "Naturgy",
    "Endesa",
    "Aigües de Barcelona",
    "Movistar",
    "Vodafone",
    "Orange",
    "Moneyman",
    "Amazon",
    "Vueling",
    "Ryanair",
    "MediaMarkt",
    "Iberdrola",
    "Securitas Direct",
    "Holaluz",
    "Digi",
    "Renfe",
    "",
]
DETAILS = [
    "Manca d'enviament de factura d'aigua",
    "Videofuocada",
    "Baixa Naturgy",
    "desistiment aparell",
    "ENOTUM fins 28/05. Cobrament impots indeguts",
    "Pendent de resposta de l'empresa",
    "Trasllat a l'Agència Catalana del Consum",
    "Mediació acceptada per l'empresa",
    "",
    "",
]
PROBLEMS = [
    "L'empresa em cobra dues vegades la mateixa factura de {company}.",
    "Vaig demanar la baixa del contracte amb {company} i continuen cobrant-me.",
    "El producte que vaig comprar a {company} no funciona i no me'l volen canviar.",
    "{company} no respon a la meva reclamació des de fa tres mesos.",
    "Em van vendre un contracte per telèfon que no vaig acceptar ({company}).",
]
STATUSES = {
    "pendent": 10,
    "en_tramit": 20,
    "documentacio_requerida": 8,
    "resolt": 40,
    "tancat": 15,
    "arxivat": 4,
    "desistit": 3,
}
TYPES = {"reclamacio": 60, "consulta": 20, "queixa": 10, "denuncia": 5, "mediacio": 5}
CHANNELS = {"telematica": 50, "umic": 40, "bustia": 10}


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# --- Filling the database -------------------------------------------------------------------


def reset(url: str) -> None:
    """Start from an empty database (scratch databases only)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    with db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


def ensure_people_and_towns() -> tuple[list[int], list[Municipality], list[Municipality]]:
    """The province's towns (25 enrolled) and the technicians; returns ids and towns."""
    if not db.session.scalar(select(func.count()).select_from(Municipality)):
        report = import_municipalities(MUNICIPALITIES_CSV)
        assert not report.errors, report.errors
    towns = list(db.session.scalars(select(Municipality)))
    by_name = {town.name: town for town in towns}
    enrolled = [by_name[name] for name in ENROLLED if name in by_name]
    for town in enrolled:
        town.enrolled_on = town.enrolled_on or date(2025, 3, 1)
    for username in [*TECHNICIANS, COORDINATOR]:
        user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is None:
            role = Role.COORDINATOR if username == COORDINATOR else Role.TECHNICIAN
            user = StaffUser(
                username=username,
                name=f"Tècnic {username[4:].title()}",
                email=f"{username.lower()}@example.org",
                role=role,
            )
            user.set_password(PASSWORD)
            db.session.add(user)
    db.session.commit()
    ids = list(db.session.scalars(select(StaffUser.id).where(StaffUser.username.in_(TECHNICIANS))))
    others = [town for town in towns if town not in enrolled]
    return ids, enrolled, others


def invent_cases(count: int, staff_ids, enrolled, others, organic: str, seed: int) -> list[dict]:
    """``count`` plausible cases over five years, numbered per year in request order."""
    rng = random.Random(seed)
    start = datetime(2021, 1, 1, 7, tzinfo=UTC)
    span = (datetime(2026, 11, 1, tzinfo=UTC) - start).total_seconds()
    moments = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(count))
    sequences: Counter[int] = Counter()
    rows = []
    for requested in moments:
        year = requested.astimezone(MADRID).year
        sequences[year] += 1
        roll = rng.random()
        town = rng.choice(enrolled) if roll < 0.9 else rng.choice(others) if roll < 0.98 else None
        company = rng.choice(COMPANIES)
        status = pick(rng, STATUSES)
        case_type = pick(rng, TYPES)
        channel = pick(rng, CHANNELS)
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)} {rng.choice(SURNAMES)}"
        values = {
            "year": year,
            "sequence": sequences[year],
            "number": format_number(year, sequences[year]),
            "procedure_name": PROCEDURE_NAMES[case_type],
            "registry": f"E/{rng.randrange(10**6):06d}-{year}" if channel == "bustia" else "",
            "call": "",
            "case_type": case_type,
            "channel": channel,
            "municipality_id": town.id if town else None,
            "interested_name": name,
            "interested_email": f"persona{rng.randrange(10**6)}@example.net",
            "interested_phone": f"6{rng.randrange(10**8):08d}",
            "interested_address": "",
            "sector": "",
            "company": company,
            "description": rng.choice(PROBLEMS).format(company=company or "l'empresa"),
            "status": status,
            "status_detail": "Documentació requerida" if status == "documentacio_requerida" else "",
            "internal_status": rng.choice(["", "", "Pendent d'empresa", "Revisat"]),
            "internal_detail": rng.choice(DETAILS),
            "assigned_to_id": rng.choice(staff_ids) if rng.random() < 0.9 else None,
            "organic": organic,
            "outcome": "",
            "requested_at": requested,
            "updated_at": requested + timedelta(days=rng.randrange(60), hours=rng.randrange(9)),
            "version": 1,
        }
        # The model calls the "registry" column registry_entry ("registry" is reserved).
        case = SimpleNamespace(
            **values, registry_entry=values["registry"], municipality=town, tracker_id=None
        )
        values["search_text"] = search_text(case)  # exactly what the app stores
        rows.append(values)
    return rows


def fill(count: int, organic: str, seed: int) -> None:
    staff_ids, enrolled, others = ensure_people_and_towns()
    have = db.session.scalar(select(func.count()).select_from(CaseFile))
    if have:
        if have != count:
            print(f"  the database already has {have:,} cases: measuring those (--fresh resets)")
        return
    print(f"  inventing {count:,} cases ...", flush=True)
    began = time.perf_counter()
    rows = invent_cases(count, staff_ids, enrolled, others, organic, seed)
    table = CaseFile.__table__
    for first in range(0, len(rows), 5000):
        db.session.execute(insert(table), rows[first : first + 5000])  # executemany
    last = Counter()
    for row in rows:
        last[row["year"]] = max(last[row["year"]], row["sequence"])
    for year, number in last.items():
        db.session.execute(insert(CaseCounter.__table__), {"year": year, "last_number": number})
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    print(f"  inserted in {time.perf_counter() - began:.1f} s", flush=True)


# --- Measuring ------------------------------------------------------------------------------


def sign_in(client) -> None:
    page = client.get("/entra").get_data(as_text=True)
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "username": COORDINATOR, "password": PASSWORD}
    response = client.post("/entra", data=data)
    assert response.status_code == 303, "could not sign in"


def timed(action, repeat: int) -> float:
    """Median milliseconds of ``action`` over ``repeat`` runs, after one warm-up."""
    action()
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        runs.append((time.perf_counter() - began) * 1000)
    return statistics.median(runs)


def measures(app) -> list[tuple[str, str, dict]]:
    """(name, path, URL parameters) of everything measured."""
    biggest_town = db.session.execute(
        select(CaseFile.municipality_id, func.count())
        .where(CaseFile.municipality_id.is_not(None))
        .group_by(CaseFile.municipality_id)
        .order_by(func.count().desc())
        .limit(1)
    ).first()[0]
    technician = db.session.scalar(select(StaffUser.id).where(StaffUser.username == TECHNICIANS[0]))
    sample = db.session.execute(
        select(CaseFile.number, CaseFile.interested_name).order_by(CaseFile.id).limit(1)
    ).one()
    total = db.session.scalar(select(func.count()).select_from(CaseFile))
    last_page = max(1, -(-total // app.config["CASES_PAGE_SIZE"]))
    surname = sample.interested_name.split()[-1]
    result = [
        ("first page, no filter", LIST, {}),
        ("filter estat=en_tramit", LIST, {"estat": "en_tramit"}),
        ("filter tipus=mediacio", LIST, {"tipus": "mediacio"}),
        ("filter canal=bustia", LIST, {"canal": "bustia"}),
        ("filter municipi (largest)", LIST, {"municipi": biggest_town}),
        ("filter assignat=technician", LIST, {"assignat": technician}),
        ("filter assignat=cap", LIST, {"assignat": "cap"}),
        ("filter dates (one month)", LIST, {"desde": "2025-05-01", "fins": "2025-05-31"}),
        (
            "filters combined",
            LIST,
            {"estat": "pendent", "canal": "telematica", "municipi": biggest_town},
        ),
        ("search 1 word (surname)", LIST, {"q": surname}),
        ("search 2 words", LIST, {"q": f"naturgy {surname}"}),
        ("search a case number", LIST, {"q": sample.number}),
        ("search 2 words, no match", LIST, {"q": "zzqx wwyv"}),
    ]
    for key, _header in queries.COLUMNS:
        for direction in ("asc", "desc"):
            result.append((f"sort {key} {direction}", LIST, {"ordre": key, "sentit": direction}))
    result += [
        ("page in the middle", LIST, {"pagina": last_page // 2}),
        ("last page (deep offset)", LIST, {"pagina": last_page}),
        ("last page, sort interessat", LIST, {"pagina": last_page, "ordre": "interessat"}),
        ("CSV export estat=pendent", CSV, {"estat": "pendent"}),
        ("CSV export, every case", CSV, {}),
        ("CSV export search 1 word", CSV, {"q": surname}),
    ]
    return result


def sql_time(args: dict, repeat: int, size: int) -> float:
    """Median milliseconds of the count and page statements alone."""
    query, _problems = queries.parse_args({k: str(v) for k, v in args.items()})
    return timed(lambda: queries.fetch_page(db.session, query, MADRID, size), repeat)


def statements_for(args: dict, size: int) -> list[tuple[str, object]]:
    query, _problems = queries.parse_args({k: str(v) for k, v in args.items()})
    total = db.session.execute(queries.count_statement(query, MADRID)).scalar_one()
    page = queries.page_of(total, query.page, size)
    statement, backwards = queries.page_rows_statement(query, MADRID, page)
    return [
        ("count", queries.count_statement(query, MADRID)),
        ("page" + (" (read backwards from the end)" if backwards else ""), statement),
    ]


def explain(statement) -> str:
    dialect = db.engine.dialect
    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    prefix = (
        "EXPLAIN (ANALYZE, BUFFERS) " if dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    )
    with db.engine.connect() as connection:
        # Literal binds: the driver sees no parameters (psycopg keeps "%%" as "%").
        rows = connection.exec_driver_sql(prefix + sql).all()
    if dialect.name == "postgresql":
        return "\n".join(row[0] for row in rows)
    return "\n".join(str(row[-1]) for row in rows)


def export_memory(client, args: dict) -> tuple[int, float]:
    """(bytes, peak Python memory in MB) of an export, read as a browser would."""
    tracemalloc.start()
    response = client.get(CSV + "?" + urlencode(args), buffered=False)
    size = sum(len(chunk) for chunk in response.iter_encoded())
    response.close()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return size, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a SCRATCH database URL")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--fresh", action="store_true", help="drop everything and refill")
    parser.add_argument("--explain", type=int, default=3, help="plans of the N slowest")
    parser.add_argument("--trigram", action="store_true", help="PostgreSQL: try a pg_trgm index")
    parser.add_argument(
        "--try-index", action="append", default=[], help='"CREATE INDEX bench_... ON ..."'
    )
    options = parser.parse_args()

    app = create_app(TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": options.database})
    with app.app_context():
        backend = db.engine.dialect.name
        if options.fresh:
            db.engine.dispose()
            reset(options.database)
        print(f"{backend}: migrating ...", flush=True)
        upgrade(directory=MIGRATIONS)
        fill(options.cases, app.config["CASE_ORGANIC"], options.seed)
        experiments = list(options.try_index)
        if options.trigram:
            if backend != "postgresql":
                parser.error("--trigram needs PostgreSQL")
            with db.engine.begin() as connection:
                connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            experiments.append(
                "CREATE INDEX bench_case_file_search_trgm ON case_file "
                "USING gin (search_text gin_trgm_ops)"
            )
        db.session.commit()  # no open transaction may hold a lock on case_file during DDL
        created = []
        for statement in experiments:
            name = statement.split()[2] if statement.upper().startswith("CREATE INDEX") else ""
            if not name.startswith("bench_"):
                parser.error("experimental indexes must be named bench_...")
            with db.engine.begin() as connection:
                connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
                connection.execute(text(statement))
                connection.execute(text("ANALYZE case_file"))
            created.append(name)
            print(f"  experiment: {statement}")
        try:
            run(app, options, backend)
        finally:
            db.session.rollback()
            db.session.close()
            with db.engine.begin() as connection:
                for name in created:
                    connection.execute(text(f"DROP INDEX IF EXISTS {name}"))


def run(app, options, backend: str) -> None:
    total = db.session.scalar(select(func.count()).select_from(CaseFile))
    size = app.config["CASES_PAGE_SIZE"]
    print(f"\n{backend}, {total:,} cases, page size {size}, median of {options.repeat} runs\n")
    client = app.test_client()
    sign_in(client)
    results = []
    for name, path, args in measures(app):
        url = path + ("?" + urlencode(args) if args else "")

        def request(url=url):
            response = client.get(url)
            body = response.get_data()
            assert response.status_code == 200, (url, response.status_code)
            return body

        request_ms = timed(request, options.repeat)
        rows = request().count(b"\r\n") - 1 if path == CSV else None
        sql_ms = sql_time(args, options.repeat, size) if path == LIST else None
        results.append((name, url, args, path, request_ms, sql_ms, rows))
        sql_text = f"{sql_ms:8.1f}" if sql_ms is not None else " " * 8
        extra = f"  ({rows:,} rows)" if rows is not None else ""
        print(f"{name:32} {request_ms:9.1f} {sql_text}{extra}", flush=True)

    print("\n| measure | request ms | SQL ms (count + page) |")
    print("| --- | ---: | ---: |")
    for name, _url, _args, _path, request_ms, sql_ms, rows in results:
        sql_text = f"{sql_ms:.1f}" if sql_ms is not None else "–"
        label = f"{name} ({rows:,} rows)" if rows is not None else name
        print(f"| {label} | {request_ms:.1f} | {sql_text} |")

    size_bytes, peak = export_memory(client, {})
    print(
        f"\nCSV export of all {total:,} cases: {size_bytes / 1e6:.1f} MB streamed, "
        f"peak Python memory {peak:.1f} MB"
    )
    one_page, one_peak = export_memory(client, {"q": "zzqx"})
    print(f"(an empty export for comparison: {one_page} bytes, peak {one_peak:.1f} MB)")

    slowest = sorted(
        (r for r in results if r[3] == LIST), key=lambda r: r[5] or r[4], reverse=True
    )[: options.explain]
    for name, url, args, _path, _request_ms, sql_ms, _rows in slowest:
        print(f"\n### {name} ({url}), SQL {sql_ms:.1f} ms")
        for label, statement in statements_for(args, size):
            print(f"\n-- {label}\n{explain(statement)}")


if __name__ == "__main__":
    main()
