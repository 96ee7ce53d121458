"""The triage models measured on descriptions they never saw (issue 15, "Done when").

Trained on every row of the demo corpus (``umic/data/demo_triage_cases.tsv``), measured on
``tests/data/triage_heldout.tsv``, written independently and never used for training (see
``tests/data/README.md``). The bar: case type and sector accuracy at least 0.80. The company
matcher, built from the demo registry's names plus the corpus's mentions as aliases (as the
service learns them from its cases), must find the company of the held-out rows that name
one, and name none in the others; built from the registry names alone, it must find every
company written with typos or without legal form in ``tests/data/company_typos.tsv``.

Run with ``-s`` to see the figures. No database.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from umic.core.company_match import CompanyMatcher
from umic.core.company_match import KnownName
from umic.core.triage import Example
from umic.core.triage import TextClassifier
from umic.demo.companies import COMPANIES

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "umic" / "data" / "demo_triage_cases.tsv"
HELD_OUT = ROOT / "tests" / "data" / "triage_heldout.tsv"
TYPOS = ROOT / "tests" / "data" / "company_typos.tsv"
# The demo's registry of companies (umic/demo/companies.py): name, sector, e-mail, language.
REGISTRY = [name for name, *_rest in COMPANIES]
IDS = {name: number for number, name in enumerate(REGISTRY, start=1)}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.fixture(scope="module")
def corpus():
    return _read(CORPUS)


@pytest.fixture(scope="module")
def held_out():
    return _read(HELD_OUT)


def test_no_held_out_text_is_in_the_training_corpus(corpus, held_out):
    assert not {row["text"] for row in corpus} & {row["text"] for row in held_out}


@pytest.mark.parametrize("field", ["case_type", "sector"])
def test_the_classifiers_reach_80_percent_on_held_out_descriptions(corpus, held_out, field):
    model = TextClassifier.fit([Example(row["text"], row[field]) for row in corpus])
    guesses = model.predict([row["text"] for row in held_out])
    right = sum(guess.label == row[field] for guess, row in zip(guesses, held_out, strict=True))
    accuracy = right / len(held_out)
    mistakes = Counter(
        (row[field], guess.label)
        for guess, row in zip(guesses, held_out, strict=True)
        if guess.label != row[field]
    )
    print(
        f"\n{field}: trained on {len(corpus)}, held-out accuracy {accuracy:.3f} "
        f"({right}/{len(held_out)}); mistakes (truth, guess): {mistakes.most_common(5)}"
    )
    assert accuracy >= 0.80


def test_the_company_is_found_in_held_out_descriptions(corpus, held_out):
    names = [KnownName(IDS[name], name) for name in REGISTRY]
    names += [KnownName(IDS[row["company"]], row["mention"]) for row in corpus if row["mention"]]
    matcher = CompanyMatcher(names)
    naming = [row for row in held_out if row["company"]]
    found = [
        row
        for row in naming
        if (g := matcher.match(row["text"])) and g.company_id == IDS[row["company"]]
    ]
    wrong = [row["text"] for row in held_out if not row["company"] and matcher.match(row["text"])]
    share = len(found) / len(naming)
    print(
        f"\ncompany: {len(found)}/{len(naming)} held-out rows naming a company found "
        f"({share:.3f}); {len(wrong)} of {len(held_out) - len(naming)} without one given one"
    )
    assert share >= 0.95
    assert len(wrong) <= 0.02 * (len(held_out) - len(naming))


def test_names_with_typos_or_without_legal_form_are_found_by_the_registry_alone():
    matcher = CompanyMatcher(KnownName(IDS[name], name) for name in REGISTRY)
    rows = _read(TYPOS)
    missed = [
        (row["written"], row["company"])
        for row in rows
        if (guess := matcher.match(row["written"])) is None
        or guess.company_id != IDS[row["company"]]
    ]
    print(f"\ncompany typos: {len(rows) - len(missed)}/{len(rows)} found")
    assert missed == []
