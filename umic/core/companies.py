"""Company names and tax ids: matching and checking, without a database. No Flask.

**Names.** A company is written many ways: "Endesa Energía, S.A.U.", "ENDESA ENERGIA SAU",
"Endesa Energia Sociedad Anónima Unipersonal". ``name_key`` folds all of them to one key
("endesa energia"): lower case, no accents, no punctuation, and no legal form. Long legal
forms ("Sociedad Anónima", "Societat Limitada", "Comunidad de Bienes") are dropped wherever
they are; the abbreviations ("SA", "S.L.U.", "S.Coop.", "SCCL") only at the end of the name,
because inside a name they may be words ("Sa Nostra", "Sl Motors").

**Tax ids.** ``normalize_tax_id`` writes a NIF/NIE/CIF as the Agència Tributària does (upper
case, no spaces, dots or hyphens, without the "ES" of a European VAT number);
``tax_id_problem`` checks its control character:

- NIF of a person: 8 digits and the letter ``TRWAGMYFPDXBNJZSQVHLCKE[number % 23]``;
  K, L and M (special NIFs) take the same letter computed on their 7 digits.
- NIE: X, Y or Z (read as 0, 1, 2), 7 digits, and the NIF letter of the 8-digit number.
- CIF of a legal entity: a letter for the kind of entity, 7 digits, and a control. Digits in
  odd places (1st, 3rd, 5th, 7th) are doubled and their digits added; those in even places are
  added; the control digit is ``(10 - total % 10) % 10`` and the control letter is
  ``JABCDEFGHI[digit]``. Public bodies, foreign entities and the like (N, P, Q, R, S, W) end
  in the letter; companies (A, B), owners' communities (E, H) end in the digit; the others
  (C, D, F, G, J, U, V) may end in either.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Hashable
from collections.abc import Iterable

from .text import fold

# --- Names ---------------------------------------------------------------------------------

#: Legal forms written in full, dropped wherever they appear (on the folded name).
_LONG_FORMS = (
    "sociedad anonima deportiva",
    "sociedad anonima laboral",
    "sociedad anonima unipersonal",
    "sociedad anonima",
    "societat anonima esportiva",
    "societat anonima laboral",
    "societat anonima unipersonal",
    "societat anonima",
    "sociedad de responsabilidad limitada unipersonal",
    "sociedad de responsabilidad limitada",
    "societat de responsabilitat limitada unipersonal",
    "societat de responsabilitat limitada",
    "sociedad limitada nueva empresa",
    "sociedad limitada laboral",
    "sociedad limitada unipersonal",
    "sociedad limitada",
    "societat limitada laboral",
    "societat limitada unipersonal",
    "societat limitada",
    "sociedad cooperativa valenciana",
    "sociedad cooperativa limitada",
    "sociedad cooperativa",
    "societat cooperativa catalana limitada",
    "societat cooperativa catalana",
    "societat cooperativa",
    "sociedad civil particular",
    "sociedad civil",
    "societat civil privada",
    "societat civil particular",
    "societat civil",
    "comunidad de bienes",
    "comunitat de bens",
)
_LONG = re.compile(r"\b(?:" + "|".join(re.escape(form) for form in _LONG_FORMS) + r")\b")

#: Abbreviated legal forms, as their letters (dots and spaces between them do not count).
_ABBREVIATIONS = (
    "sa",
    "sau",
    "sal",
    "sad",
    "sl",
    "slu",
    "sll",
    "slne",
    "srl",
    "srlu",
    "scp",
    "sc",
    "cb",
    "sccl",
    "scl",
    "aie",
    "ltd",
    "plc",
    "inc",
    "gmbh",
    "bv",
)


def _letters(form: str) -> str:
    """'sau' -> 's ?a ?u': the letters of a form, with or without a space between them."""
    return " ?".join(form)


_TAIL_FORM = "|".join(
    [r"s ?coop(?: ?v| ?c| ?and)?", r"coop(?: ?v)?", "unipersonal"]
    + [_letters(form) for form in sorted(_ABBREVIATIONS, key=len, reverse=True)]
)
_TAIL = re.compile(r"(?:^|\s)(?:" + _TAIL_FORM + r")$")


def name_key(name: str | None) -> str:
    """The name folded for matching: "Endesa Energía, S.A.U." -> "endesa energia".

    Two names with the same key are the same company to the registry (``group_duplicates``).
    A name that is nothing but a legal form keeps it ("S.A." -> "s a"): never an empty key.
    """
    folded = fold(name or "")
    key = " ".join(_LONG.sub(" ", folded).split())
    while True:
        shorter = _TAIL.sub("", key).strip()
        if shorter == key or not shorter:
            break
        key = shorter
    return key or folded


def group_duplicates(entries: Iterable[tuple[Hashable, str]]) -> list[list[Hashable]]:
    """Ids whose names share a key, in groups of two or more, each in the order given.

    ``entries`` are (id, name) pairs; groups come in the order their first member came.
    """
    groups: dict[str, list[Hashable]] = defaultdict(list)
    for ident, name in entries:
        groups[name_key(name)].append(ident)
    return [members for members in groups.values() if len(members) > 1]


# --- Tax ids -------------------------------------------------------------------------------

NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
CIF_CONTROL_LETTERS = "JABCDEFGHI"
#: CIF first letters whose control is a letter, a digit, or either.
CIF_LETTER_CONTROL = frozenset("NPQRSW")
CIF_DIGIT_CONTROL = frozenset("ABEH")
CIF_EITHER_CONTROL = frozenset("CDFGJUV")
CIF_KINDS = CIF_LETTER_CONTROL | CIF_DIGIT_CONTROL | CIF_EITHER_CONTROL

_SEPARATORS = re.compile(r"[\s.\-/]+")

#: Reasons ``tax_id_problem`` gives (the web layer words them).
PROBLEM_FORMAT = "format"
PROBLEM_CONTROL = "control"


def normalize_tax_id(value: str | None) -> str:
    """' es-b12.345.674 ' -> 'B12345674'; '' when nothing is written."""
    text = _SEPARATORS.sub("", (value or "").upper())
    if len(text) == 11 and text.startswith("ES"):
        text = text[2:]  # a European VAT number: ES + the NIF
    return text


def nif_letter(number: int) -> str:
    return NIF_LETTERS[number % 23]


def cif_control_digit(digits: str) -> int:
    """The control digit of a CIF's 7 digits."""
    total = 0
    for place, ch in enumerate(digits, start=1):
        value = int(ch)
        if place % 2:  # odd places are doubled, and the digits of the double added
            value *= 2
            value = value // 10 + value % 10
        total += value
    return (10 - total % 10) % 10


def tax_id_problem(value: str | None) -> str | None:
    """None when ``value`` (normalised or not) is a valid NIF, NIE or CIF; else a reason:
    ``PROBLEM_FORMAT`` (not the shape of any of them) or ``PROBLEM_CONTROL`` (the shape, but
    the control character is wrong: a typing mistake)."""
    text = normalize_tax_id(value)
    if len(text) != 9:
        return PROBLEM_FORMAT
    first, middle, last = text[0], text[1:8], text[8]
    if not middle.isdecimal() or not middle.isascii():
        return PROBLEM_FORMAT
    if first.isdecimal():  # NIF of a person: 8 digits and a letter
        if not last.isalpha():
            return PROBLEM_FORMAT
        return None if last == nif_letter(int(text[:8])) else PROBLEM_CONTROL
    if first in "XYZ":  # NIE
        if not last.isalpha():
            return PROBLEM_FORMAT
        number = int(str("XYZ".index(first)) + middle)
        return None if last == nif_letter(number) else PROBLEM_CONTROL
    if first in "KLM":  # special NIF: the letter of the 7 digits
        if not last.isalpha():
            return PROBLEM_FORMAT
        return None if last == nif_letter(int(middle)) else PROBLEM_CONTROL
    if first in CIF_KINDS:
        digit = cif_control_digit(middle)
        letter = CIF_CONTROL_LETTERS[digit]
        if last.isdecimal():
            if first in CIF_LETTER_CONTROL:
                return PROBLEM_CONTROL
            return None if int(last) == digit else PROBLEM_CONTROL
        if last.isalpha() and last.isascii():
            if first in CIF_DIGIT_CONTROL:
                return PROBLEM_CONTROL
            return None if last == letter else PROBLEM_CONTROL
    return PROBLEM_FORMAT
