"""The vocabulary (umic.core.codes): every code has what the app needs to show, read and store it.

A new status, channel or case type is one member in ``core.codes``; these tests name what is
still missing (a label in each language, a tracker word, a badge colour) instead of letting a
page show a bare code or an import refuse a word.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from umic.core import codes
from umic.core.codes import BookingStatus
from umic.core.codes import CaseStatus
from umic.core.codes import CaseType
from umic.core.codes import Channel
from umic.core.text import fold

UMIC = Path(__file__).resolve().parents[2] / "umic"
EVERY_CODE = [(kind.__name__, member) for kind in codes.VOCABULARIES for member in kind]


def _catalogue(language: str) -> dict[str, str]:
    path = UMIC / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id and not m.fuzzy}


@pytest.fixture(scope="module")
def catalogues() -> dict[str, dict[str, str]]:
    return {language: _catalogue(language) for language in ("es", "en")}


@pytest.mark.parametrize(("kind", "member"), EVERY_CODE, ids=lambda v: str(v))
def test_every_code_has_a_label_in_every_language(kind, member, catalogues):
    assert member.label.strip(), f"{kind}.{member.name} has no label"
    for language, catalogue in catalogues.items():
        assert catalogue.get(member.label), f"{member.label!r} has no {language} translation"


@pytest.mark.parametrize("member", [*CaseType, *CaseStatus, *Channel], ids=str)
def test_every_type_status_and_channel_has_a_tracker_word(member):
    assert member.tracker.strip(), f"{member!r} has no word for the tracker's files"


@pytest.mark.parametrize("member", [*CaseStatus, *BookingStatus], ids=str)
def test_every_status_has_a_badge_colour(member):
    css = (UMIC / "static" / "css" / "app.css").read_text(encoding="utf-8")
    assert re.search(rf"\.badge-{re.escape(member.value)}\b", css), f"no .badge-{member.value}"


@pytest.mark.parametrize("kind", codes.VOCABULARIES, ids=lambda kind: kind.__name__)
def test_each_word_stands_for_one_code_and_reads_back(kind):
    seen: dict[str, str] = {}
    for member in kind:
        for word in member.words:
            assert seen.setdefault(word, member) == member, f"{word!r}: {seen[word]} and {member}"
        for written in (member.value, member.label, member.tracker, *member.spellings):
            if written:
                assert kind.from_word(written) == member
                assert kind.from_word(f"  {written.upper()} ") == member
    assert kind.from_word("no such word") is None
    assert kind.from_word(None) is None


def test_codes_are_stored_as_their_value():
    assert CaseStatus.DOCUMENTACIO == "documentacio_requerida"
    assert f"{Channel.BUSTIA}" == "bustia" and CaseStatus("pendent") is CaseStatus.PENDENT
    assert all(member.value == fold(member.value).replace(" ", "_") for _kind, member in EVERY_CODE)


def test_check_constraints_list_every_code():
    assert codes.values(BookingStatus) == "'confirmed', 'cancelled', 'attended', 'no_show'"
    assert codes.values(codes.Outcome, "") == (
        "'', 'favorable', 'parcial', 'desfavorable', 'desistit'"
    )


def test_the_tracker_typo_and_spanish_words_are_read():
    assert CaseStatus.from_word("Documentació requereida") is CaseStatus.DOCUMENTACIO
    assert CaseStatus.from_word("En trámite") is CaseStatus.EN_TRAMIT
    assert CaseType.from_word("Reclamaciones") is CaseType.RECLAMACIO
    assert Channel.from_word("videotrucada") is Channel.TELEMATICA
    assert Channel.from_word("Bústia del consumidor") is Channel.BUSTIA
