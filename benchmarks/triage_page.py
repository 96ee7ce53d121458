"""The case page with its triage suggestions at 100,000 cases, and training through the app.

    .venv/bin/python benchmarks/triage_page.py --database sqlite:////tmp/umic-triage.db
    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE umic_bench_t"
    .venv/bin/python benchmarks/triage_page.py \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/umic_bench_t

A SCRATCH database only. ``benchmarks/triage.py`` times the models alone; this script times
what the issue asks of the app, through the app's own code:

1. fills the database like ``case_list.py`` (the real towns, staff, five years of cases in bulk),
   but each case's description, type, sector and company come from the demo corpus
   (``umic/data/demo_triage_cases.tsv``), perturbed as ``triage.py`` does (typos, shuffled
   sentences, other amounts and dates); 70 % of the cases have their sector recorded, and the
   registry holds the demo's companies;
2. times ``umic.triage.service.training_set`` (reading the labels) and ``train_and_store``
   (training with its evaluation, storing the models);
3. times the case page of open cases (GET through the Flask test client, signed in, template
   rendered), the median of ``--repeat`` rounds over 20 cases: **before** any model exists and
   **after** training, once each case's suggestions are stored (the steady state); the first
   view of a case (which stores its suggestions) and the first request of a process (which
   reads and unpickles the models) are reported apart.

The difference between after and before is what the suggestions and the similar cases add.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import case_list  # noqa: E402
import triage as models_bench  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import delete  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy import text  # noqa: E402

from umic import clock  # noqa: E402
from umic import create_app  # noqa: E402
from umic.casefiles.service import search_text  # noqa: E402
from umic.casefiles.tracker import PROCEDURE_NAMES  # noqa: E402
from umic.companies import find_or_create  # noqa: E402
from umic.config import TestConfig  # noqa: E402
from umic.demo.companies import COMPANIES  # noqa: E402
from umic.extensions import db  # noqa: E402
from umic.models import CaseCounter  # noqa: E402
from umic.models import CaseFile  # noqa: E402
from umic.models import TriageModel  # noqa: E402
from umic.models import TriageSuggestion  # noqa: E402
from umic.triage import service  # noqa: E402

MIGRATIONS = str(ROOT / "migrations")


def fill(count: int, organic: str, seed: int) -> None:
    if db.session.scalar(select(func.count()).select_from(CaseFile)):
        print("  the database already has cases: measuring those (--fresh resets)")
        return
    began = time.perf_counter()
    staff_ids, enrolled, others = case_list.ensure_people_and_towns()
    company_ids = {}
    for name, sector, _email, _language in COMPANIES:
        company_ids[name] = find_or_create(name, sector=sector).id
    db.session.commit()
    rows = case_list.invent_cases(count, staff_ids, enrolled, others, organic, seed)
    corpus = models_bench.read_corpus(models_bench.CORPUS)
    invented = models_bench.synthetic_cases(corpus, count, seed)
    names = {number: name for number, name in enumerate(models_bench.REGISTRY, start=1)}
    rng = random.Random(seed)
    for row, made in zip(rows, invented, strict=True):
        name = names.get(made["company_id"], "")
        row.update(
            description=made["text"],
            case_type=made["case_type"],
            procedure_name=PROCEDURE_NAMES[made["case_type"]],
            sector=made["sector"] if rng.random() < 0.7 else "",
            company=name,
            company_id=company_ids.get(name),
        )
        case = SimpleNamespace(
            **row, registry_entry=row["registry"], municipality=None, tracker_id=None
        )
        row["search_text"] = search_text(case)
    for first in range(0, len(rows), 5000):
        db.session.execute(insert(CaseFile.__table__), rows[first : first + 5000])
    last: dict[int, int] = {}
    for row in rows:
        last[row["year"]] = max(last.get(row["year"], 0), row["sequence"])
    for year, number in last.items():
        db.session.execute(insert(CaseCounter.__table__), {"year": year, "last_number": number})
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    print(f"  {count:,} cases inserted in {time.perf_counter() - began:.1f} s", flush=True)


def page_times(client, case_ids: list[int], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        for case_id in case_ids:
            began = time.perf_counter()
            response = client.get(f"/espai/expedients/{case_id}")
            response.get_data()
            times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.status_code
    return times


def describe(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a SCRATCH database URL")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--fresh", action="store_true", help="drop everything and refill")
    options = parser.parse_args()
    app = create_app(TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": options.database})
    # Requests are made outside any application context of this script's own: each gets a fresh
    # one, as in production (flask.g, where a request keeps the loaded models, starts empty).
    with app.app_context():
        backend = db.engine.dialect.name
        if options.fresh:
            db.engine.dispose()
            case_list.reset(options.database)
        upgrade(directory=MIGRATIONS)
        fill(options.cases, app.config["CASE_ORGANIC"], options.seed)
        db.session.execute(delete(TriageSuggestion))
        db.session.execute(delete(TriageModel))
        db.session.commit()
        service.forget_loaded()
        total = db.session.scalar(select(func.count()).select_from(CaseFile))
        case_ids = list(
            db.session.scalars(
                select(CaseFile.id)
                .where(CaseFile.status == "en_tramit", CaseFile.sector == "")
                .order_by(CaseFile.id)
                .limit(20)
            )
        )
    print(f"\n{backend}, {total:,} cases; the case page of {len(case_ids)} open cases\n")
    client = app.test_client()
    case_list.sign_in(client)
    page_times(client, case_ids, 1)  # warm-up
    before = page_times(client, case_ids, options.repeat)

    with app.app_context():
        began = time.perf_counter()
        data = service.training_set()
        read = time.perf_counter() - began
        began = time.perf_counter()
        run = service.train_and_store(now=clock.now(), trigger="command")
        trained = time.perf_counter() - began
        evaluation = run.evaluation
        size = db.session.scalar(select(func.length(TriageModel.artefact)).limit(1)) or 0
        service.forget_loaded()
    began = time.perf_counter()
    page_times(client, case_ids[:1], 1)
    first_request = (time.perf_counter() - began) * 1000
    first_views = page_times(client, case_ids[1:], 1)
    after = page_times(client, case_ids, options.repeat)

    print(
        f"training_set(): {read:.1f} s ({len(data.case_type):,} types, "
        f"{len(data.sector):,} sectors, {len(data.past):,} finished cases)"
    )
    print(f"train_and_store(): {trained:.1f} s, models {size / 1e6:.1f} MB")
    print(f"  measured: {evaluation}")
    print(f"case page before any model:   {describe(before)}")
    print(f"case page with suggestions:   {describe(after)}")
    added = statistics.median(after) - statistics.median(before)
    print(f"added by the suggestions and similar cases (medians): {added:.1f} ms")
    print(f"a case's first view (stores its suggestions): {describe(first_views)}")
    print(f"a process's first request (reads the models): {first_request:.0f} ms")
    with app.app_context():
        shown = db.session.scalar(select(func.count()).select_from(TriageSuggestion))
    print(f"suggestions stored: {shown} (for {len(case_ids)} cases)")
    assert shown, "no suggestion was shown: the measure after training is not one"


if __name__ == "__main__":
    main()
