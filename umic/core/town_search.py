"""Finding a town by what a citizen types, forgiving short forms and typos (review L10).

People type "Sta. Maria de Palautordera", "lhospitalet" or "torreles" and expect Santa Maria
de Palautordera, L'Hospitalet de Llobregat and the two Torrelles. The search compares
*normalised* names (``normalise``: lower case, no accents or punctuation, "Sta."/"St."/"San"
written out as "santa"/"sant") and their *compact* form without spaces (so "lhospitalet" and
"l hospitalet" are the same), in three tiers, best first:

1. the name starts with what was typed ("sabadell", "sant cu");
2. what was typed is inside the name ("llobregat", "hospitalet");
3. only when neither finds anything: a fuzzy match (rapidfuzz's ``partial_ratio``, how well
   the typed text matches the best-matching part of a name), for typos ("torreles",
   "terasa"). Names whose beginning matches come first, then the rest by score.

Within a tier, names keep the app's order (``text.sort_key``). Too short a query (under two
letters) finds nothing, and a fuzzy match needs four letters: "vi" must not list half the
province. Pure: the caller keeps a ``TownIndex`` of the 311 names per process and rebuilds
it when the towns change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz import process

from .text import fold
from .text import sort_key

#: Short forms written out, word by word, on both sides of the comparison.
SHORT_FORMS = {"sta": "santa", "st": "sant", "sto": "sant", "san": "sant", "sn": "sant"}
#: The least fuzzy score (0-100) a name needs, and the shortest query (compact letters).
FUZZY_CUTOFF = 80
FUZZY_MIN_LETTERS = 4
#: At most this many fuzzy matches: a typo should give a handful of names, not a list.
FUZZY_LIMIT = 8


def normalise(text: str) -> str:
    """'Sta. Maria de Palautordera' -> 'santa maria de palautordera'."""
    return " ".join(SHORT_FORMS.get(word, word) for word in fold(text).split())


def compact(normalised: str) -> str:
    return normalised.replace(" ", "")


@dataclass(frozen=True)
class TownIndex:
    """The towns' names prepared for searching, in the app's order."""

    ids: tuple[int, ...]
    names: tuple[str, ...]  # normalised
    compacts: tuple[str, ...]

    @classmethod
    def build(cls, towns: Iterable[tuple[int, str]]) -> TownIndex:
        ordered = sorted(towns, key=lambda town: sort_key(town[1]))
        names = tuple(normalise(name) for _id, name in ordered)
        return cls(
            ids=tuple(town_id for town_id, _name in ordered),
            names=names,
            compacts=tuple(compact(name) for name in names),
        )

    def search(self, query: str, limit: int = 20) -> list[int]:
        """The ids of the towns matching ``query``, best first (module docstring)."""
        typed = normalise(query)
        typed_compact = compact(typed)
        if len(typed_compact) < 2:
            return []
        starts, inside = [], []
        for position, (name, packed) in enumerate(zip(self.names, self.compacts, strict=True)):
            if name.startswith(typed) or packed.startswith(typed_compact):
                starts.append(position)
            elif typed in name or typed_compact in packed:
                inside.append(position)
        found = starts + inside
        if not found and len(typed_compact) >= FUZZY_MIN_LETTERS:
            found = self._fuzzy(typed_compact)
        return [self.ids[position] for position in found[:limit]]

    def _fuzzy(self, typed_compact: str) -> list[int]:
        matches = process.extract(
            typed_compact,
            self.compacts,
            scorer=fuzz.partial_ratio,
            score_cutoff=FUZZY_CUTOFF,
            limit=None,
        )
        width = len(typed_compact) + 1

        def rank(match) -> tuple[float, float, int]:
            _packed, score, position = match
            beginning = fuzz.ratio(typed_compact, self.compacts[position][:width])
            return (-round(score), -beginning, position)

        return [position for _packed, _score, position in sorted(matches, key=rank)][:FUZZY_LIMIT]
