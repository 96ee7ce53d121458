"""Personal data taken out of a text before it leaves for the optional language model
(umic.assist). Pure: no Flask, no database.

``redact(text, known=())`` replaces what identifies a person with a placeholder in brackets
and says how many it replaced and of which kinds:

- ``[CORREU]``: e-mail addresses.
- ``[TELÈFON]``: Spanish phone numbers, 9 digits starting 6, 7, 8 or 9, written with spaces,
  dots or dashes anywhere, with or without +34 / 0034; other international numbers (+NN...).
- ``[DOCUMENT]``: DNI/NIF (8 digits and a letter, dots and a dash allowed: a mistyped letter is
  still somebody's DNI, so the control letter is not required), NIE (X/Y/Z, 7 digits, letter)
  and CIF (a letter, 7 digits and a control that checks, umic.core.companies.tax_id_problem:
  without the check too many product or contract codes look like one).
- ``[COMPTE]``: IBANs (ES and other countries, spaced in fours or not) and any run of 13 to 24
  digits in groups (cards, the old 20-digit bank account numbers).
- ``[ADREÇA]``: a street word (carrer, c/, calle, avinguda, avda., av., plaça, plaza, passeig,
  paseo, ronda, camí, travessera, rambla, via...) followed by up to five words of name and a
  number (or "s/n"), with floor and door ("3r 2a", "3º B", "baixos", "pral."); postcodes 08xxx.
- ``[NOM]``: names a person introduces ("em dic", "sóc", "el meu nom és", "me llamo", "soy",
  "mi nombre es") and the name that signs off a message ("Atentamente, ...", "Salutacions, ...").
- every ``known`` string (the case's own person: full name, e-mail, phone, address), wherever
  it appears, capitals and accents forgiven; a name's parts of 3 or more letters one by one too
  ("Raúl Sánchez" also removes a lone "sanchez"). A part that is also a common word ("Luz",
  "Rosa", "Mar", "Pilar"...) is removed only where it is written with a capital, so "la factura
  de la luz" survives a María Luz.

Everything is found on the original text first and replaced once at the end: the longest
match wins where two overlap (an e-mail holding the person's name is one [CORREU]), and a
placeholder is never matched again.

**Limits.** This is pattern matching, not understanding. A name that is not introduced and is
not the case's person (a neighbour, a shop assistant, "la meva mare Carme") passes; so do an
address without a street word or number, a phone written in words, a date of birth, a
licence plate. What it keeps on purpose: amounts ("120,50 €"), dates ("12/03/2024",
"12.03.2024"), invoice and contract numbers up to 12 digits not shaped like a phone, company
names. The technician sees the result: the text sent is a summary's input, never a record.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field

from .companies import tax_id_problem

NAME = "name"
EMAIL = "email"
PHONE = "phone"
DOCUMENT = "document"
ADDRESS = "address"
ACCOUNT = "account"

#: What each kind is replaced with.
PLACEHOLDERS = {
    NAME: "[NOM]",
    EMAIL: "[CORREU]",
    PHONE: "[TELÈFON]",
    DOCUMENT: "[DOCUMENT]",
    ADDRESS: "[ADREÇA]",
    ACCOUNT: "[COMPTE]",
}


@dataclass(frozen=True)
class Redacted:
    """The text with personal data replaced, how many replacements, and how many per kind."""

    text: str
    count: int
    kinds: dict[str, int] = field(default_factory=dict)


# --- Patterns ------------------------------------------------------------------------------

# Starts only where a run of address characters starts: else a long run without "@" is
# scanned again from each of its characters (quadratic).
_EMAIL = re.compile(r"(?<![\w.+\-'])[\w.+\-']+@[\w\-]+(?:\.[\w\-]+)+")

# A Spanish number: 9 digits from 6-9, any separators between digits, optional +34/0034.
_PHONE_ES = re.compile(
    r"(?<![\w+])(?:(?:\+|00)\s?34[\s.\-]?|\(\s?\+?34\s?\)\s?)?[6789](?:[\s.\-]?\d){8}(?!\d)"
)
# Another country's: + and 7 to 14 more digits.
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[\s.\-]?\d){6,13}(?!\d)")

# A letter after a space only in capitals: "12345678 a Endesa" is a number and a word.
_DNI = re.compile(r"(?<![\w.])\d{1,2}\.?\d{3}\.?\d{3}(?:-?[A-Za-z]|\s[A-Z])(?![\w])")
_NIE = re.compile(r"(?<![\w])[XYZxyz][\s\-]?\d{7}(?:-?[A-Za-z]|\s[A-Z])(?![\w])")
_CIF = re.compile(r"(?<![\w])[ABCDEFGHJNPQRSUVW][\s\-]?\d{7}[\s\-]?[0-9A-J](?![\w])")

_IBAN_ES = re.compile(r"(?<![\w])ES\d{2}(?:[ \-]?\d){20}(?!\d)", re.IGNORECASE)
_IBAN = re.compile(
    r"(?<![\w])[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]{4}){3,7}(?:[ \-]?[A-Z0-9]{1,4})?(?!\w)"
)
# 13 to 24 digits, in groups (cards, the old 20-digit CCC).
_LONG_NUMBER = re.compile(r"(?<![\w.,])\d(?:[ \-]?\d){12,23}(?![\w])")

_STREET_WORDS = (
    r"carrer|carrers|c/|c\.|cl\.|calle|c\/|avinguda|avingudes|avenida|avda\.?|av\.|avd\.|"
    r"pla[çc]a|pl\.|plaza|pza\.|passeig|pg\.|pº|paseo|ronda|cam[íi]|camino|travessera|"
    r"traves[íi]a|trav\.|rambla|carretera|ctra\.|via|v[íi]a|urbanitzaci[óo]|urbanizaci[óo]n|"
    r"urb\.|passatge|pasaje|ptge\.|pje\."
)
_NUMBER = r"(?:(?:n[úu]m\.?|n[º°o]\.?|n\.)\s?)?\d{1,4}[A-Za-z]?(?:\s?[\-–]\s?\d{1,4})?(?![\d,.]\d)"
_FLOOR_PART = (
    r"\d{1,2}\s?(?:º|ª|°|r|n|t|er|on|rt|è|e|a|o)(?!\w)|"
    r"\d{1,2}[\-/]\d{1,2}(?!\d)|"
    r"(?i:baixos|bxs\.?|bajos?|pral\.?|principal|[àa]tic|[áa]tico|entresol|entresuelo|entl?\.)|"
    r"(?i:esc(?:ala|alera)?\.?)\s?[A-Z\d]\b|"
    r"(?i:pis|piso|planta|porta|puerta|pta\.)\s?\w{1,3}\b|"
    r"[A-H](?![\w'’])"
)
_ADDRESS = re.compile(
    r"(?<![\w])(?i:" + _STREET_WORDS + r")\s?"
    r"(?P<name>(?:[^\W\d_][\w'’·.\-]*[\s,]+){0,5}?)"  # up to five words of name
    r"(?:" + _NUMBER + r"|(?i:s/n))"
    r"(?:[\s,]*(?:" + _FLOOR_PART + r")){0,3}"
    r"(?![\w])"
)
# After the number, a unit says it was not an address ("carrer amb 3 euros" is no street).
_UNIT_AFTER = re.compile(
    r"\s*(?:€|%|euros?|eur\b|dies|d[íi]as|mesos|meses|anys|años|hores|horas|minuts|minutos|"
    r"vegades|veces|setmanes|semanas|persones|personas|unitats|unidades|graus|grados|km|"
    r"quil[òo]metres|kil[óo]metros|metres|metros)",
    re.IGNORECASE,
)
_POSTCODE = re.compile(r"(?<![\w.,])08\d{3}(?![\w])")

# A capitalised word (any Latin capital, accented or not), and particles inside names.
_CAP_WORD = r"[A-ZÀ-ÖØ-Þ][^\W\d_]*(?:['’\-][^\W\d_]+)*"
# Catalan joins surnames with "i" (Puig i Ferrer); not Spanish "y": "Me llamo Juan Pérez y
# Vodafone..." would take the company too.
_PARTICLE = r"(?:de\s+la|de\s+los|de\s+las|del|dels|de|i|van|von|da|di)"
_CAPITALISED_NAME = re.compile(
    _CAP_WORD + r"(?:\s+(?:" + _PARTICLE + r"\s+)?" + _CAP_WORD + r"){0,3}"
)
_LOWER_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")

# Introductions. The unambiguous ones may be followed by a name in lower case; "sóc"/"soy"
# ("I am": also "sóc clienta de...", "soy jubilado") only by a capitalised one.
_INTRO_CLEAR = re.compile(
    r"(?<![\w])(?:em\s+dic|me\s+llamo|el\s+meu\s+nom\s+[ée]s|mi\s+nombre\s+[ée]s|"
    r"(?:signat|firmado|firma|signatura|nom|nombre)\s*:)"
    r"[\s:,]*(?:(?:en|na|la|el)\s+(?=[A-ZÀ-ÖØ-Þ])|[ln]['’])?",
    re.IGNORECASE,
)
_INTRO_IAM = re.compile(
    r"(?<![\w])(?:s[óo]c|soy|jo\s+s[óo]c|yo\s+soy)\s+(?:(?:en|na|la|el)\s+|[ln]['’])?",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"(?<![\w])(?:atentamente|atentament|cordialment|cordialmente|salutacions|saludos|"
    r"un\s+saludo|una\s+salutaci[óo]|moltes\s+gr[àa]cies|muchas\s+gracias|gr[àa]cies|gracias)"
    r"\s*[,.:]?\s*\n?\s*",
    re.IGNORECASE,
)
#: Words that end a name written in lower case after "em dic", "me llamo"...
_NOT_NAME = frozenset(
    """i y e que i tinc tengo soc sóc soy visc vivo i he he hola des desde de del i per por
    para amb con el la els les los las un una el meu mi i vull quiero escric escribo perque
    perquè porque i com como a al en""".split()
)
#: Name parts that are also everyday words: removed only where written with a capital.
_COMMON_WORD_NAMES = frozenset(
    """luz sol mar rosa pilar blanca paz pau cruz reyes flor font vila roca serra mas prat
    gracia gràcia mercè merce angeles ángeles consuelo amparo dolores remedios rocio rocío
    socorro soledad esperanza victoria mercedes clara franco leon león lleó bosch pla riba
    costa prats torres campos casas castillo mora rey""".split()
)
#: Short words never taken as a name part on their own.
_NOT_A_PART = frozenset("del dels las los les van von der den das die the san sant santa".split())


# --- Folding with positions ----------------------------------------------------------------


def _fold_char(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _folded(text: str) -> tuple[str, list[int]]:
    """The text in lower case without accents, and for each of its characters the index of
    the original character it came from (so a match on the folded text maps back)."""
    out: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        folded = ch if ch.isascii() and not ch.isupper() else _fold_char(ch)
        out.append(folded)
        origin.extend([index] * len(folded))
    origin.append(len(text))
    return "".join(out), origin


def _tokens(value: str) -> list[str]:
    return re.findall(r"\w+", _folded(value)[0])


def _flexible(tokens: list[str]) -> str:
    """A pattern for ``tokens`` in a folded text, anything but letters and digits (at most
    three characters: spaces, commas, dots, dashes) between them."""
    return r"(?<!\w)" + r"\W{0,3}".join(re.escape(token) for token in tokens) + r"(?!\w)"


# --- Finding -------------------------------------------------------------------------------

Span = tuple[int, int, str]  # start, end, kind


#: Words no street name holds: "fora al carrer amb 35 graus" is no address.
_NOT_STREET = frozenset(
    """amb con per por hi que i y era es és hay havia habia quan cuando va van fa hace sense
    sin tinc tengo uns unes unos unas un una més más mes molt muy tot todo""".split()
)


def _regex_spans(text: str) -> list[Span]:
    spans: list[Span] = []
    spans += [(m.start(), m.end(), EMAIL) for m in _EMAIL.finditer(text)]
    spans += [(m.start(), m.end(), DOCUMENT) for m in _DNI.finditer(text)]
    spans += [(m.start(), m.end(), DOCUMENT) for m in _NIE.finditer(text)]
    spans += [
        (m.start(), m.end(), DOCUMENT)
        for m in _CIF.finditer(text)
        if tax_id_problem(m.group()) is None
    ]
    spans += [(m.start(), m.end(), ACCOUNT) for m in _IBAN_ES.finditer(text)]
    spans += [
        (m.start(), m.end(), ACCOUNT)
        for m in _IBAN.finditer(text)
        if sum(ch.isdigit() for ch in m.group()) >= 10
    ]
    spans += [(m.start(), m.end(), ACCOUNT) for m in _LONG_NUMBER.finditer(text)]
    spans += [(m.start(), m.end(), PHONE) for m in _PHONE_ES.finditer(text)]
    spans += [(m.start(), m.end(), PHONE) for m in _PHONE_INTL.finditer(text)]
    for m in _ADDRESS.finditer(text):
        if _UNIT_AFTER.match(text, m.end()):
            continue
        if any(word.lower() in _NOT_STREET for word in re.findall(r"\w+", m.group("name"))):
            continue
        spans.append((m.start(), m.end(), ADDRESS))
    spans += [(m.start(), m.end(), ADDRESS) for m in _POSTCODE.finditer(text)]
    return spans


def _name_after(text: str, start: int, *, lower_allowed: bool) -> Span | None:
    """The name that starts at ``start``: capitalised words (with particles), or, after an
    unambiguous introduction, up to three words in lower case."""
    m = _CAPITALISED_NAME.match(text, start)
    if m:
        return (m.start(), m.end(), NAME)
    if not lower_allowed:
        return None
    end = start
    words = 0
    position = start
    while words < 3:
        w = _LOWER_WORD.match(text, position)
        if not w or w.group().lower() in _NOT_NAME:
            break
        end = w.end()
        words += 1
        gap = re.match(r"[ \t]+", text[end:])
        if not gap:
            break
        position = end + gap.end()
    return (start, end, NAME) if words else None


def _introduced_names(text: str) -> list[Span]:
    spans = []
    for m in _INTRO_CLEAR.finditer(text):
        span = _name_after(text, m.end(), lower_allowed=True)
        if span:
            spans.append(span)
    for m in _INTRO_IAM.finditer(text):
        span = _name_after(text, m.end(), lower_allowed=False)
        if span:
            spans.append(span)
    for m in _SIGN_OFF.finditer(text):
        span = _name_after(text, m.end(), lower_allowed=False)
        # Only a name that ends the text signs it: "Gràcies. Espero..." starts a sentence.
        if span and not text[span[1] :].strip(" \t\r\n.!"):
            spans.append(span)
    return spans


def _kind_of(value: str) -> str:
    digits = sum(ch.isdigit() for ch in value)
    if "@" in value:
        return EMAIL
    if digits >= 7 and re.fullmatch(r"[\d\s.\-+()]+", value):
        return PHONE
    if digits == 8 and tax_id_problem(value) != "format":
        return DOCUMENT
    if digits or re.match(r"(?i:" + _STREET_WORDS + r")(?!\w)", value.strip()):
        return ADDRESS
    return NAME


def _known_patterns(known: Iterable[str]) -> list[tuple[re.Pattern[str], str, bool]]:
    """(pattern on the folded text, kind, capital needed) for each known string."""
    patterns: list[tuple[re.Pattern[str], str, bool]] = []
    for value in known:
        value = (value or "").strip()
        tokens = _tokens(value)
        if not tokens:
            continue
        kind = _kind_of(value)
        if kind == PHONE:
            digits = re.sub(r"\D", "", value)
            if digits.startswith("0034"):
                digits = digits[4:]
            elif digits.startswith("34") and len(digits) == 11:
                digits = digits[2:]
            flexible = r"[\s.\-]?".join(digits)
            prefix = r"(?:(?:\+|00)\s?34[\s.\-]?)?"
            patterns.append(
                (re.compile(r"(?<![\d+])" + prefix + flexible + r"(?!\d)"), PHONE, False)
            )
            continue
        patterns.append((re.compile(_flexible(tokens)), kind, False))
        if kind == NAME:
            for token in tokens:
                if len(token) >= 3 and not token.isdigit() and token not in _NOT_A_PART:
                    patterns.append(
                        (re.compile(_flexible([token])), NAME, token in _COMMON_WORD_NAMES)
                    )
        elif kind == ADDRESS:
            # The street and its number alone ("Carrer Major, 5" of a whole address).
            number = next((i for i, token in enumerate(tokens) if token[0].isdigit()), None)
            if number is not None and 1 <= number < len(tokens) - 1:
                patterns.append((re.compile(_flexible(tokens[: number + 1])), ADDRESS, False))
        elif kind == EMAIL:
            local = value.split("@")[0]
            local_tokens = _tokens(local)
            if len(local) >= 5 and local_tokens:
                patterns.append((re.compile(_flexible(local_tokens)), EMAIL, False))
    return patterns


def _known_spans(text: str, known: Iterable[str]) -> list[Span]:
    patterns = _known_patterns(known)
    if not patterns:
        return []
    folded, origin = _folded(text)
    spans = []
    for pattern, kind, capital in patterns:
        target = text if kind == PHONE else folded
        for m in pattern.finditer(target):
            if kind == PHONE:
                start, end = m.start(), m.end()
            else:
                start, end = origin[m.start()], origin[m.end() - 1] + 1
            if capital and not text[start].isupper():
                continue
            spans.append((start, end, kind))
    return spans


_KEEP = "keep"  # a placeholder already in the text: left alone, never matched again
_PRIORITY = {_KEEP: -1, EMAIL: 0, DOCUMENT: 1, PHONE: 2, ACCOUNT: 3, ADDRESS: 4, NAME: 5}
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))


def _chosen(spans: list[Span]) -> list[Span]:
    """The spans to replace: longest first (of two as long, the likelier kind: "0034 600 12 34
    56" is a phone before it is 13 digits of an account), none overlapping one already taken."""
    starts: list[int] = []  # the taken spans' starts, in order (they never overlap)
    taken: list[Span] = []
    order = sorted(spans, key=lambda s: (s[2] != _KEEP, -(s[1] - s[0]), _PRIORITY[s[2]], s[0]))
    for span in order:
        place = bisect.bisect_right(starts, span[0])
        if place and taken[place - 1][1] > span[0]:
            continue  # the one starting before it reaches into it
        if place < len(taken) and taken[place][0] < span[1]:
            continue  # the next one starts inside it
        starts.insert(place, span[0])
        taken.insert(place, span)
    return taken


def _joined(text: str, spans: list[Span]) -> list[Span]:
    """Names next to each other ("Luz" and "Rosa" found one by one) as one name."""
    joined: list[Span] = []
    for span in spans:
        if (
            joined
            and span[2] == NAME
            and joined[-1][2] == NAME
            and not text[joined[-1][1] : span[0]].strip()
        ):
            joined[-1] = (joined[-1][0], span[1], NAME)
        else:
            joined.append(span)
    return joined


def redact(text: str, known: Iterable[str] = ()) -> Redacted:
    """``text`` with personal data replaced by placeholders (see the module's docstring)."""
    text = text or ""
    spans = _regex_spans(text) + _introduced_names(text) + _known_spans(text, known)
    spans += [(m.start(), m.end(), _KEEP) for m in _PLACEHOLDER.finditer(text)]
    chosen = _joined(text, _chosen([span for span in spans if span[1] > span[0]]))
    chosen = [span for span in chosen if span[2] != _KEEP]
    pieces = []
    position = 0
    for start, end, kind in chosen:
        pieces.append(text[position:start])
        pieces.append(PLACEHOLDERS[kind])
        position = end
    pieces.append(text[position:])
    kinds = Counter(kind for _, _, kind in chosen)
    return Redacted(text="".join(pieces), count=len(chosen), kinds=dict(kinds))
