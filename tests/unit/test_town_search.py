"""The town search forgives short forms, apostrophes, spaces and typos (review L10), over
the province's real 311 names."""

from __future__ import annotations

import csv

import pytest

from umic.core.town_search import TownIndex
from umic.core.town_search import normalise
from umic.municipalities import MUNICIPALITIES_CSV


@pytest.fixture(scope="module")
def index() -> TownIndex:
    with MUNICIPALITIES_CSV.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 311
    return TownIndex.build((number, row["name"]) for number, row in enumerate(rows, start=1))


@pytest.fixture(scope="module")
def names(index) -> dict[int, str]:
    with MUNICIPALITIES_CSV.open(newline="", encoding="utf-8-sig") as handle:
        return {number: row["name"] for number, row in enumerate(csv.DictReader(handle), start=1)}


def found(index, names, query: str) -> list[str]:
    return [names[town_id] for town_id in index.search(query)]


def test_short_forms_are_written_out():
    assert normalise("Sta. Maria de Palautordera") == "santa maria de palautordera"
    assert normalise("St. Cugat") == normalise("San Cugat") == "sant cugat"
    assert normalise("L'Hospitalet") == "l hospitalet"


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("Sta. Maria de Palautordera", ["Santa Maria de Palautordera"]),
        ("sta maria de palau", ["Santa Maria de Palautordera"]),
        ("lhospitalet", ["L'Hospitalet de Llobregat"]),
        ("l'hospitalet", ["L'Hospitalet de Llobregat"]),
        ("hospitalet", ["L'Hospitalet de Llobregat"]),
        ("st cugat", ["Sant Cugat del Vallès", "Sant Cugat Sesgarrigues"]),
        ("torreles", ["Torrelles de Foix", "Torrelles de Llobregat"]),
        ("terasa", ["Terrassa"]),
        ("sabadel", ["Sabadell"]),
        ("GELIDA", ["Gelida"]),
        ("mataro", ["Mataró"]),
        ("palau-solita", ["Palau-solità i Plegamans"]),
    ],
)
def test_what_people_type_finds_their_town_first(index, names, query, first):
    assert found(index, names, query)[: len(first)] == first


def test_the_beginning_of_a_name_comes_before_a_match_inside_it(index, names):
    result = found(index, names, "vic")
    assert result[0] == "Vic"
    assert "Sant Vicenç dels Horts" in result  # inside a name: after those that start so


def test_exact_matches_bring_no_fuzzy_noise(index, names):
    # "mollet" is inside one name: Ripollet (a near miss) is not offered with it.
    assert found(index, names, "mollet") == ["Mollet del Vallès"]


def test_too_short_or_nonsense_finds_nothing_and_fuzzy_needs_four_letters(index, names):
    assert found(index, names, "") == []
    assert found(index, names, "v") == []
    assert found(index, names, "'.") == []
    assert found(index, names, "xyzzy") == []
    assert found(index, names, "qqq") == []


def test_a_typo_gives_a_handful_not_the_province(index, names):
    assert 1 <= len(found(index, names, "torreles")) <= 8
    assert len(index.search("a", limit=20)) == 0
    assert len(index.search("sant", limit=5)) == 5
