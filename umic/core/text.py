"""Small text helpers: accent folding for search, slugs for URLs. Pure."""

from __future__ import annotations

import re
import unicodedata

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
