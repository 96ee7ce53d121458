"""Every translatable string of the source has a translation in every catalogue we ship.

The messages are extracted here, in-process, the way ``make translations-extract`` does it
(Babel, the ``babel.cfg`` mapping, the Makefile's keywords), so a string added to a template
or a view fails this test until the Spanish (and English) catalogues translate it, even before
anyone runs ``make translations-update``. Placeholders and markup must survive translation,
and each compiled ``.mo`` must say what its ``.po`` says (``make translations-compile``).
"""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "umic"
TRANSLATIONS = PACKAGE / "translations"
LANGUAGES = sorted(p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES").is_dir())

_PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def makefile_keywords() -> dict:
    """Babel's default keywords plus the Makefile's ``-k`` ones (``_l``, ``lazy_gettext``)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    line = next(line for line in makefile.splitlines() if line.startswith("BABEL_EXTRACT"))
    keywords = dict(DEFAULT_KEYWORDS)
    keywords.update({name: None for name in re.findall(r"-k\s+(\S+)", line)})
    return keywords


def extract_source() -> dict[str | tuple[str, ...], list[str]]:
    """msgid (a tuple for plurals) -> where it is used, from umic/ as babel.cfg maps it."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(PACKAGE), method_map, options_map, keywords=makefile_keywords()
    ):
        key = message if isinstance(message, str) else tuple(message)
        if key:
            found.setdefault(key, []).append(f"umic/{filename}:{lineno}")
    return found


def load_po(language: str) -> Catalog:
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


def problems(source: dict, catalog: Catalog) -> list[str]:
    """Each source message that the catalogue lacks, leaves empty or marks fuzzy."""
    found = []
    for msgid, places in sorted(source.items(), key=lambda item: str(item[0])):
        entry = catalog.get(msgid[0] if isinstance(msgid, tuple) else msgid)
        strings = () if entry is None else entry.string
        strings = (strings,) if isinstance(strings, str) else tuple(strings)
        if entry is None:
            why = "missing"
        elif entry.fuzzy:
            why = "fuzzy"
        elif not strings or not all(strings):
            why = "untranslated"
        elif isinstance(msgid, tuple) and not entry.pluralizable:
            why = "needs plural forms"
        else:
            continue
        found.append(f"{why}: {msgid!r} ({places[0]})")
    return found


@pytest.fixture(scope="module")
def source() -> dict:
    return extract_source()


def test_the_extraction_finds_the_app_strings(source):
    """The extraction itself works: templates, _l() in forms and ngettext plurals are seen."""
    assert "Les vostres dades" in source  # a template
    assert "Nom i cognoms" in source  # _l() in booking/forms.py
    assert ("%(num)s minut", "%(num)s minuts") in source  # ngettext in i18n.py
    assert len(source) > 500


def test_spanish_is_required_and_shipped():
    assert "es" in LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated(source, language):
    missing = problems(source, load_po(language))
    assert not missing, (
        f"{len(missing)} strings without a {language} translation; run "
        "`make translations-update`, translate them, then `make translations-compile`:\n"
        + "\n".join(missing)
    )


def test_the_check_catches_a_missing_an_empty_and_a_fuzzy_string():
    catalog = Catalog(locale="es")
    catalog.add("Hola", "Hola")
    catalog.add("Adéu", "")
    catalog.add("Fins ara", "Hasta ahora", flags=["fuzzy"])
    catalog.add(("%(num)s cita", "%(num)s cites"), ("%(num)s cita", ""))
    source = {
        "Hola": ["a.html:1"],
        "Adéu": ["a.html:2"],
        "Fins ara": ["a.html:3"],
        "Nou": ["a.html:4"],
        ("%(num)s cita", "%(num)s cites"): ["a.html:5"],
    }
    reasons = [line.split(":")[0] for line in problems(source, catalog)]
    assert sorted(reasons) == ["fuzzy", "missing", "untranslated", "untranslated"]


def placeholder_problems(catalog: Catalog) -> list[str]:
    """Translations whose %(name)s placeholders or HTML tags differ from the msgid's."""
    found = []
    for entry in catalog:
        if not entry.id or entry.fuzzy:
            continue
        ids = (entry.id,) if isinstance(entry.id, str) else tuple(entry.id)
        strings = (entry.string,) if isinstance(entry.string, str) else tuple(entry.string)
        wanted = set().union(*(_PLACEHOLDER.findall(i) for i in ids))
        tags = Counter(_TAG.findall(ids[0]))
        for string in filter(None, strings):
            have = set(_PLACEHOLDER.findall(string))
            # A plural form may say "una" instead of "%(num)s"; nothing else may go or come.
            plural_ok = len(ids) > 1 and have | {"num"} == wanted | {"num"}
            if have != wanted and not plural_ok:
                found.append(f"placeholders {sorted(have)} != {sorted(wanted)}: {ids[0]!r}")
            if Counter(_TAG.findall(string)) != tags:
                found.append(f"HTML tags differ: {ids[0]!r} -> {string!r}")
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_and_markup_survive_translation(language):
    assert placeholder_problems(load_po(language)) == []


def test_the_placeholder_check_catches_a_lost_or_renamed_placeholder():
    catalog = Catalog(locale="es")
    catalog.add("Hola, %(name)s", "Hola")
    catalog.add("Cita a %(town)s", "Cita en %(ciudad)s")
    catalog.add("<strong>Ara</strong>", "Ahora")
    catalog.add(("%(num)s cita", "%(num)s cites"), ("una cita", "%(num)s citas"))  # fine
    assert len(placeholder_problems(catalog)) == 3


def _as_tuple(value) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def messages_of_mo(mo) -> dict:
    """msgid -> msgstr of a compiled catalogue (tuples, so plurals compare too)."""
    return {_as_tuple(m.id): _as_tuple(m.string) for m in read_mo(mo) if m.id}


def compiled(catalog: Catalog) -> dict:
    """The catalogue as gettext will read it: compiled like pybabel compile (no fuzzy)."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return messages_of_mo(buffer)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_mo_file_is_compiled_from_its_po(language):
    mo_path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), f"run `make translations-compile` and commit {mo_path.name}"
    with open(mo_path, "rb") as mo:
        shipped = messages_of_mo(mo)
    assert shipped == compiled(load_po(language)), (
        f"{language}: messages.mo is out of date: run `make translations-compile`"
    )
