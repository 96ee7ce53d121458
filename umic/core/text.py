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


def slugify(value: str) -> str:
    """'Santa Maria de Palautordera' -> 'santa-maria-de-palautordera'."""
    return fold(value).replace(" ", "-")


def clean(value: str | None, *, multiline: bool = False) -> str:
    """Strip outer spaces and control characters; keep newlines only in long text."""
    if value is None:
        return ""
    value = _CONTROL.sub("", value).replace("\r\n", "\n").replace("\r", "\n")
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
