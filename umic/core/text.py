"""Small text helpers: accent folding for search, slugs for URLs, councils' names. Pure."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# Control characters other than tab and newline: PostgreSQL refuses NUL in text, and the
# rest only ever arrive by mistake or malice.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def fold(value: str) -> str:
    """Lower case, no accents or punctuation: 'L'Ametlla del Vallès' -> 'l ametlla del valles'."""
    decomposed = unicodedata.normalize("NFKD", value.replace("·", "").lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_ALNUM.sub(" ", plain).split())


def sort_key(name: str) -> tuple[str, str]:
    """How the app sorts names (towns above all), as Catalan does: accents, capitals and
    apostrophes do not count, so "Argençola", "Avià", "Cànoves i Samalús", "l'Ametlla del
    Vallès", "Òdena" come in that order (a plain text sort puts accented capitals after "Z").
    The name itself breaks ties, so the order is total.

    The database sorts towns by ``Municipality.search_name``, which is ``fold(name)``: the
    same order (order by ``search_name, name``). Lists sorted in Python use this key.
    """
    return fold(name), name


def slugify(value: str) -> str:
    """'Santa Maria de Palautordera' -> 'santa-maria-de-palautordera'."""
    return fold(value).replace(" ", "-")


#: Zero-width joiner and non-joiner: kept only inside a word of a script that needs them.
_JOINERS = {"\u200c", "\u200d"}


def _is_letter_beyond_latin(ch: str) -> bool:
    return ord(ch) >= 0x0370 and unicodedata.category(ch)[0] in "LM"


def _invisible_removed(value: str) -> str:
    """Drop Unicode format characters (category Cf: bidi overrides and marks such as RLO
    U+202E, zero-width space, BOM, soft hyphen, tag characters) and surrogates; line and
    paragraph separators become a newline.

    Format characters change how text is shown without being seen: in a name they let a
    citizen's booking read as someone else's on the staff's pages (finding 16 of the security
    review). The one exception is the zero-width (non-)joiner between two letters of a script
    beyond Latin and Greek's start (U+0370 on): Persian writes ZWNJ inside words and names
    ("زین‌العابدین"), and Indic scripts (Malayalam, Sinhala, Devanagari) use ZWJ/ZWNJ to choose
    a letter's form. Between Latin letters, at a word's edge or alone they are dropped.
    Letters with diacritics (é, ç, l·l, ñ) are letters, not format characters: untouched.
    """
    if value.isascii():
        return value
    kept = []
    last = len(value) - 1
    for i, ch in enumerate(value):
        category = unicodedata.category(ch)
        if category in ("Zl", "Zp"):
            kept.append("\n")
        elif ch in _JOINERS:
            if (
                0 < i < last
                and _is_letter_beyond_latin(value[i - 1])
                and _is_letter_beyond_latin(value[i + 1])
            ):
                kept.append(ch)
        elif category not in ("Cf", "Cs"):
            kept.append(ch)
    return "".join(kept)


def clean(value: str | None, *, multiline: bool = False) -> str:
    """Strip outer spaces, control and invisible format characters; keep newlines only in
    long text."""
    if value is None:
        return ""
    value = _invisible_removed(_CONTROL.sub("", value))
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:
        value = " ".join(value.split())
    return value.strip()


@lru_cache(maxsize=1024)  # a province has a few hundred towns; exports ask once per row
def council_name(town: str | None) -> str:
    """A town's council as the service writes it (the tracker's Classificació, the seed's
    results table): "Ajuntament de Gelida", "Ajuntament del Bruc" (for "El Bruc" or "el
    Bruc"), "Ajuntament dels Prats de Rei", "Ajuntament d'Abrera", "Ajuntament d'Hostalric",
    "Ajuntament de l'Hospitalet de Llobregat", "Ajuntament de la Garriga"."""
    if not town:
        return ""
    folded = fold(town)
    for article, contracted in (("el ", "del "), ("els ", "dels ")):
        if folded.startswith(article):
            return f"Ajuntament {contracted}{town[len(article) :]}"
    if folded.startswith(("la ", "les ", "l ")):  # "de la Garriga": the article in lower case
        return f"Ajuntament de {town[:1].lower()}{town[1:]}"
    if folded[:1] in set("aeiouh"):
        return f"Ajuntament d'{town}"
    return f"Ajuntament de {town}"
