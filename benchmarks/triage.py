"""How long the triage models take to train and to answer, at 10,000 and 100,000 cases.

    .venv/bin/python benchmarks/triage.py                       # 10,000 and 100,000 cases
    .venv/bin/python benchmarks/triage.py --sizes 2000 20000    # other sizes

No database and no app: the pure models of ``umic.core.triage`` and
``umic.core.company_match``, as the service calls them.

**The cases.** The demo corpus (``umic/data/demo_triage_cases.tsv``, about a thousand labelled
descriptions) is too small, so N synthetic cases are made from it by perturbing its rows, each
keeping its row's case type, sector and company: sentences shuffled, a sentence swapped for one
of another row with the same case type and sector, amounts in euros and dates drawn at random,
and typos (a letter dropped, doubled, swapped with the next, an accent lost) in about one word
in twelve. So the vocabulary grows as a real service's would (typos make new words), while the
labels stay as learnable as in the corpus: the accuracy printed is no promise about real
cases (the held-out test, ``tests/test_triage_heldout.py``, is the honest figure).

**What it measures**, for each size:

- ``train()`` with its evaluation (cross-validation up to 20,000 examples, a 20 % held-out
  split above), both classifiers, the similar-cases index over every case and the documents'
  habits: wall time, and the accuracy each evaluation reports;
- the bytes of ``dumps()`` (LZMA-compressed pickle), and the time of ``dumps`` and ``loads``;
- one text through each classifier (``predict([text])``), the similar cases
  (``SimilarIndex.nearest``, k = 5, with a company) and a whole suggestion (both classifiers,
  the company, the similar cases and the usual documents): median and 95th percentile of
  ``--repeat`` (200) texts taken from the corpus;
- ``CompanyMatcher.match`` with 2,000 names (the 36 demo registry names and made-up ones, plus
  the corpus's mentions as aliases): median and 95th percentile of the same texts.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from umic.core import triage  # noqa: E402
from umic.core.company_match import CompanyMatcher  # noqa: E402
from umic.core.company_match import KnownName  # noqa: E402
from umic.demo.companies import COMPANIES  # noqa: E402

CORPUS = ROOT / "umic" / "data" / "demo_triage_cases.tsv"
REGISTRY = [name for name, *_rest in COMPANIES]  # the demo's registry of companies
DOCUMENTS = ("factura", "contracte", "dni", "reclamacio_previa", "correspondencia", "altres")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_AMOUNT = re.compile(r"\d+(?:[.,]\d+)?(?=\s?(?:€|euros?\b|eur\b))")
_DATE = re.compile(r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b")
_ACCENTS = str.maketrans("àèéíòóúïüÀÈÉÍÒÓÚç", "aeeioouiuAEEIOOUc")


def read_corpus(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word.translate(_ACCENTS)


def perturb(row: dict[str, str], same_kind: list[dict[str, str]], rng: random.Random) -> str:
    """A new text that says what ``row`` says, differently."""
    sentences = _SENTENCE.split(row["text"])
    if len(sentences) > 1 and rng.random() < 0.5:
        rng.shuffle(sentences)
    if same_kind and rng.random() < 0.5:
        other = _SENTENCE.split(rng.choice(same_kind)["text"])
        sentences[rng.randrange(len(sentences))] = rng.choice(other)
    text = " ".join(sentences)
    text = _AMOUNT.sub(lambda _: str(rng.randint(5, 2_000)), text)
    text = _DATE.sub(lambda _: f"{rng.randint(1, 28)}/{rng.randint(1, 12)}", text)
    words = text.split(" ")
    return " ".join(_typo(w, rng) if rng.random() < 1 / 12 else w for w in words)


def synthetic_cases(rows: list[dict[str, str]], count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    by_kind: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        by_kind.setdefault((row["case_type"], row["sector"]), []).append(row)
    company_ids = {name: number for number, name in enumerate(REGISTRY, start=1)}
    cases = []
    for number in range(count):
        row = rng.choice(rows)
        cases.append(
            {
                "id": number + 1,
                "text": perturb(row, by_kind[(row["case_type"], row["sector"])], rng),
                "case_type": row["case_type"],
                "sector": row["sector"],
                "company_id": company_ids.get(row["company"]),
                "documents": frozenset(
                    d for d in DOCUMENTS if rng.random() < (0.7 if d != "altres" else 0.2)
                ),
            }
        )
    return cases


def training_set(cases: list[dict]) -> triage.TrainingSet:
    return triage.TrainingSet(
        case_type=[triage.Example(c["text"], c["case_type"]) for c in cases],
        sector=[triage.Example(c["text"], c["sector"]) for c in cases],
        past=[triage.PastCase(c["id"], c["text"], c["company_id"]) for c in cases],
        documents=[
            triage.CaseDocuments(c["case_type"], c["sector"], c["documents"]) for c in cases
        ],
    )


def known_names(rows: list[dict[str, str]], total: int, seed: int) -> list[KnownName]:
    """The registry, the corpus's mentions as aliases, and made-up names up to ``total``."""
    ids = {name: number for number, name in enumerate(REGISTRY, start=1)}
    names = [KnownName(ids[name], name) for name in REGISTRY]
    names += [
        KnownName(ids[row["company"]], row["mention"])
        for row in rows
        if row.get("mention") and row.get("company") in ids
    ]
    rng = random.Random(seed)
    first = "Garcia Puig Roca Vidal Ferrer Soler Pujol Serra Font Riera Costa Camps Bosch Prat"
    trade = "Reformes Instal·lacions Serveis Motor Clima Fusteria Electrodomèstics Viatges"
    towns = "Gelida Abrera Manlleu Vic Olesa Cardedeu Sallent Navàs Tordera Calella Moià"
    form = ["S.L.", "S.A.", "SCCL", "", "S.L.U."]
    while len(names) < total:
        name = (
            f"{rng.choice(trade.split())} {rng.choice(first.split())} {rng.choice(towns.split())}"
        )
        names.append(KnownName(1_000 + len(names), f"{name} {rng.choice(form)}".strip()))
    return names


def _timed(function, items) -> tuple[float, float]:
    """Median and 95th percentile, in milliseconds, of ``function`` over ``items``."""
    times = []
    for item in items:
        started = time.perf_counter()
        function(item)
        times.append((time.perf_counter() - started) * 1_000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def measure(rows: list[dict[str, str]], size: int, args) -> None:
    print(f"\n## {size:,} cases", flush=True)
    cases = synthetic_cases(rows, size, args.seed)
    data = training_set(cases)
    started = time.perf_counter()
    models = triage.train(data, seed=args.seed)
    seconds = time.perf_counter() - started
    print(f"train() with evaluation: {seconds:.1f} s")
    for name, evaluation in (("type", models.case_type_eval), ("sector", models.sector_eval)):
        print(
            f"  {name}: {evaluation.method} ({evaluation.folds} folds), "
            f"{evaluation.evaluated:,} scored, accuracy {evaluation.accuracy:.3f}"
        )
    started = time.perf_counter()
    blob = triage.dumps(models)
    dumped = time.perf_counter() - started
    started = time.perf_counter()
    models = triage.loads(blob)
    loaded = time.perf_counter() - started
    print(f"dumps(): {len(blob) / 1e6:.1f} MB in {dumped:.1f} s; loads() {loaded:.1f} s")

    rng = random.Random(args.seed + 1)
    texts = [rng.choice(rows)["text"] for _ in range(args.repeat)]
    companies = [rng.choice([None, *range(1, len(REGISTRY) + 1)]) for _ in texts]
    matcher = CompanyMatcher(known_names(rows, 2_000, args.seed))
    lines = [
        ("type predict, one text", lambda t: models.case_type.predict([t])),
        ("sector predict, one text", lambda t: models.sector.predict([t])),
        (
            f"SimilarIndex.nearest, {models.similar.size:,} cases",
            lambda i: models.similar.nearest(texts[i], companies[i], k=5),
        ),
        ("CompanyMatcher.match, 2,000 names", matcher.match),
        ("whole suggestion", lambda t: _suggest(models, matcher, t)),
    ]
    print(f"\n| one text ({args.repeat} texts) | median ms | p95 ms |\n| --- | ---: | ---: |")
    for label, function in lines:
        items = range(len(texts)) if "nearest" in label else texts
        function(texts[0] if not isinstance(items, range) else 0)  # warm-up
        median, p95 = _timed(function, items)
        print(f"| {label} | {median:.2f} | {p95:.2f} |", flush=True)


def _suggest(models: triage.Models, matcher: CompanyMatcher, text: str):
    kind = models.case_type.predict([text])[0]
    sector = models.sector.predict([text])[0]
    company = matcher.match(text)
    similar = models.similar.nearest(text, company.company_id if company else None)
    return kind, sector, company, similar, models.documents.usual(kind.label, sector.label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the labelled TSV")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=200, help="texts timed per measure")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = read_corpus(args.corpus)
    print(f"{triage.LIBRARY}; corpus {args.corpus.name}: {len(rows):,} rows")
    for size in args.sizes:
        measure(rows, size, args)


if __name__ == "__main__":
    main()
