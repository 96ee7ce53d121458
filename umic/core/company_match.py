"""Which registry company a free text names: "em van cobrar dos cops a Vodafne",
"reclamación contra ENDESA ENERGIA SAU", "la Caixa no em torna els diners". No Flask.

**Names.** Every known name (a registry name, or an alias the service learnt from cases: how
citizens wrote that company) is reduced to its key with ``companies.name_key`` (lower case, no
accents or punctuation, no legal form: "Endesa Energía, S.A.U." -> "endesa energia"), plus a
few variants: without a leading article ("el corte ingles" -> "corte ingles"), without a web
suffix ("booking com" -> "booking"), and the first word of a long name when that word is
distinctive ("endesa", "securitas"; never "banc", "banco", "aigues"), and "Banc X" as
"Banco X" and the other way round. Names are compared
without their spaces, so "Mas Movil", "MasMovil" and "Más Móvil" are one name.

**Text.** The text is folded the same way and cut into word n-grams of 1 to 4 words; each is
compared with the names by optimal string alignment distance (Levenshtein where swapping two
neighbour letters, "Respol", is one typo; rapidfuzz ``process.cdist``, bit-parallel, with a
score cutoff), only against names of nearly the same length (a typo changes the length by at
most the distance allowed), so 2,000 names cost a millisecond or two per text.

**How many typos.** A name of 4 letters or fewer must be written exactly, as a word ("ING",
"Digi", "Lowi", "SEUR": one letter off is another word, "seu", "dig"); the one exception is a
letter doubled ("Lowii", "Ikkea"), which never makes another word. 5 to 7 letters forgive one
typo ("Vodafne", "Oragne"); 8 or more forgive two ("Movisttar", "Total Enegies").

**No common words.** A fuzzy match may not rest on a common Catalan or Spanish word that is
not in the name itself: "correo" is not "Correos", "ibérica" is not "Iberia", "telefonia" is
not "Telefónica". A word written with a capital letter mid-text is a proper name, so it may
("Banco Sabadell", "Más Móbil"). A name made only of common words ("Correos", "la Caixa") is
matched only where the text writes one of its words with a capital letter, or where the text
is nothing but the name (a form's company field). ``COMMON_WORDS`` below is the list:
function words and the everyday words of consumer complaints. The price: "factura de
telefonica", all in lower case, is not recognised (one row of the held-out set).

**Confidence.** ``1 - distance / length of the name`` (1.0 for an exact match). The best match
wins; among equals, the longer name, then the one written first.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from .companies import name_key
from .text import fold

#: Words of everyday Catalan and Spanish that a company name must not be matched on.
COMMON_WORDS = frozenset(
    """
    a al als amb and ante aquest aquesta aqui aqui aixo alla als ara cap com como con contra
    cada casa caixa caja cas caso cosa cosas d de del dels des desde dia dies dias dos el els
    ella ellos en entre era es esa ese eso esta este esto estoy ha han has hay he hem hi i
    la las le les li lo los ma mai mas me mes mi mis mis molt mucho muy n na ni no nos nosaltres
    nosotros o on per pero perque por porque pot puc que qui se sense ser si sin sobre son
    su sus també tambien te tinc tengo tot todo toda todos tu tus u un una uno unos unes uns
    va van vaig ya y yo jo em ens us seu seva seus seves nostre nostra vostre
    aigua agua aigues aguas llum luz gas total banc banco bancs bancos caixer cajero
    correo correos correu correus carta cartas paquet paquete paquets paquetes
    iberica iberico ibericos ibericas ibers amazona
    factura facturas factures contrato contracte contractes contratos linia linea lineas
    movil mobil mobils moviles telefon telefono telefons fibra internet tarifa tarifes tarifas
    compte cuenta cuentas targeta tarjeta tarjetas prestec prestamo hipoteca assegurança
    seguro seguros asseguradora aseguradora companyia compania empresa empreses empresas
    botiga tienda tiendas comanda pedido pedidos compra compras producte producto productes
    productos servei servicio serveis servicios client cliente clients clientes
    vol vuelo vuelos vols tren trens trenes bitllet billete bitllets billetes maleta equipaje
    hotel hotels hoteles reserva reserves reservas apartament apartamento pis piso
    energia energias electrica electrico llamada trucada trucades llamadas
    telefonia telefonica telefonico telefonic telefonics telefoniques telefonicas
    naranja taronja direct directe directo digital digitals
    nou nova nuevo nueva bo bona bueno buena gran grande mal malo dolent
    diners dinero euros euro preu precio preus precios cobrament cobro cobros
    baixa baja alta oferta ofertes ofertas promocio promocion
    """.split()
)

#: Names (keys) of this many letters or fewer are matched only when written exactly.
EXACT_ONLY = 4
#: Text beyond this many words is not read (a description is a few hundred at most).
_MAX_WORDS = 2_000
_WORD = re.compile(r"[^\W_]+")
_ARTICLES = ("el ", "la ", "els ", "les ", "los ", "las ", "l ")
_SUFFIXES = (" com", " es", " cat", " net")


@dataclass(frozen=True)
class KnownName:
    """A name a company is known by: a registry name, or an alias learnt from cases."""

    company_id: int
    name: str


@dataclass(frozen=True)
class CompanyGuess:
    """The company a text names: the known name it matched, and how closely (0..1)."""

    company_id: int
    matched: str
    confidence: float


def _collapsed(word: str) -> str:
    """'lowii' -> 'lowi': runs of one letter written once."""
    return "".join(ch for i, ch in enumerate(word) if i == 0 or ch != word[i - 1])


def _allowed(length: int) -> int:
    """Typos forgiven in a name of ``length`` letters."""
    if length <= EXACT_ONLY:
        return 0
    return 1 if length <= 7 else 2


@dataclass(frozen=True)
class _Variant:
    company_id: int
    name: str  # the known name as given
    words: tuple[str, ...]  # its key's words
    compact: str  # the key without spaces
    only_common: bool  # every word common: needs a capital letter in the text


def _variants(key: str) -> set[str]:
    found = {key}
    for article in _ARTICLES:
        if key.startswith(article) and len(key) > len(article):
            found.add(key[len(article) :])
    for suffix in _SUFFIXES:
        for name in list(found):
            if name.endswith(suffix) and len(name) > len(suffix):
                found.add(name[: -len(suffix)])
    for one, other in (("banc ", "banco "), ("banco ", "banc ")):
        if key.startswith(one):
            found.add(other + key[len(one) :])
    words = key.split()
    first = words[0] if words else ""
    if len(words) > 1 and len(first) >= 5 and first not in COMMON_WORDS:
        found.add(first)
    return found


class CompanyMatcher:
    """Finds the company a free text names, among known names (typos and legal forms
    forgiven). Build it once per set of names: it prepares its tables."""

    def __init__(self, names: Iterable[KnownName]) -> None:
        variants: dict[str, _Variant] = {}
        for known in names:
            key = name_key(known.name)
            for variant in sorted(_variants(key), key=len, reverse=True):
                words = tuple(variant.split())
                compact = "".join(words)
                if not compact or compact in variants:
                    continue  # the first name that claims a form keeps it
                variants[compact] = _Variant(
                    known.company_id,
                    known.name,
                    words,
                    compact,
                    all(word in COMMON_WORDS for word in words),
                )
        self._exact = variants
        # Short names written with a letter doubled ("Lowii", "Ikkea"): the one typo forgiven
        # in them, as it never makes another word.
        self._stuttered = {
            _collapsed(compact): variant
            for compact, variant in variants.items()
            if len(compact) <= EXACT_ONLY
        }
        # Fuzzy candidates, by length: a name of length L is compared with text n-grams of
        # length L - allowed .. L + allowed.
        fuzzy = [v for v in variants.values() if _allowed(len(v.compact)) > 0]
        by_length: dict[int, list[_Variant]] = defaultdict(list)
        for variant in fuzzy:
            allowed = _allowed(len(variant.compact))
            for length in range(len(variant.compact) - allowed, len(variant.compact) + allowed + 1):
                by_length[length].append(variant)
        self._by_length = {
            length: (
                group,
                [v.compact for v in group],
                np.array([_allowed(len(v.compact)) for v in group], dtype=np.int32),
            )
            for length, group in by_length.items()
        }

    def match(self, text: str) -> CompanyGuess | None:
        """The company named in ``text``, or None."""
        tokens = _WORD.findall((text or "").replace("·", ""))[:_MAX_WORDS]
        words: list[str] = []
        capital: list[bool] = []
        for token in tokens:
            for word in fold(token).split():
                words.append(word)
                capital.append(token[:1].isupper())
        if not words:
            return None
        found: list[tuple[tuple[float, int, int], CompanyGuess]] = []

        def consider(variant: _Variant, start: int, n: int, distance: int) -> None:
            whole = start == 0 and n == len(words)  # the text is nothing but the name
            shown = whole or any(capital[start : start + n])  # written as a proper name
            if variant.only_common and not shown:
                return
            if distance and not shown:
                for word in words[start : start + n]:
                    if word in COMMON_WORDS and not (
                        word in variant.words or (len(word) >= 3 and word in variant.compact)
                    ):
                        return  # "la casa" is not "la caixa", "correo" not "Correos"
            confidence = max(0.0, 1.0 - distance / len(variant.compact))
            guess = CompanyGuess(variant.company_id, variant.name, confidence)
            found.append(((confidence, len(variant.compact), -start), guess))

        grams: dict[str, list[tuple[int, int]]] = defaultdict(list)  # compact -> (start, n)
        for start in range(len(words)):
            for n in range(1, 5):
                if start + n > len(words):
                    break
                grams["".join(words[start : start + n])].append((start, n))
        by_length: dict[int, list[str]] = defaultdict(list)
        for compact, places in grams.items():
            variant = self._exact.get(compact)
            if variant is not None:
                for start, n in places:
                    consider(variant, start, n, 0)
                continue
            stuttered = self._stuttered.get(_collapsed(compact))
            if stuttered is not None and len(compact) == len(stuttered.compact) + 1:
                for start, n in places:
                    consider(stuttered, start, n, 1)
            if len(compact) in self._by_length:
                by_length[len(compact)].append(compact)
        # Fuzzy: each n-gram against the names of nearly its length, at once (rapidfuzz).
        # Optimal string alignment distance: a swap of two letters ("Respol") is one typo.
        for length, queries in by_length.items():
            group, choices, allowed = self._by_length[length]
            distances = process.cdist(
                queries, choices, scorer=OSA.distance, score_cutoff=2, dtype=np.int32
            )
            for qi, ci in zip(*np.nonzero(distances <= allowed[None, :]), strict=True):
                for start, n in grams[queries[qi]]:
                    consider(group[ci], start, n, int(distances[qi, ci]))
        return max(found, key=lambda item: item[0])[1] if found else None
