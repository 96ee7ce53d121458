"""What kind of document a text looks like: a suggestion for staff to confirm. Pure.

Weighted rules on the folded text (lower case, no accents or punctuation: see
``umic.core.text.fold``), in Catalan and Spanish. Each category adds up the weights of the
rules its text matches; the best total wins if it reaches ``THRESHOLD`` and beats the runner-up
by ``MARGIN``, otherwise the suggestion is *altres* with a low score. The score (0..1) is the
winner's total over ``FULL`` (capped): it says how many signs agree, not a probability.

The thresholds are honest rather than clever: one weak sign (a "total", a "correu") never
decides alone; one strong sign ("factura" with a number, a DNI number with its letter, "full
de reclamació") plus any other does. Staff always confirm: the suggestion only saves a click.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field

from .text import fold

FACTURA = "factura"
CONTRACTE = "contracte"
DNI = "dni"
RECLAMACIO_PREVIA = "reclamacio_previa"
CORRESPONDENCIA = "correspondencia"
ALTRES = "altres"

#: A category needs this total to be suggested, and this lead over the next one.
THRESHOLD = 4.0
MARGIN = 1.0
#: A total at which the score is 1.
FULL = 10.0
#: Only the start of a long text is read (a contract's annexes add nothing).
MAX_CHARS = 20_000


@dataclass(frozen=True)
class Rule:
    category: str
    weight: float
    pattern: re.Pattern
    reason: str


def _rule(category: str, weight: float, pattern: str, reason: str) -> Rule:
    return Rule(category, weight, re.compile(pattern), reason)


# Patterns run on folded text: "Núm. factura" -> "num factura", "NIF: B-12345678" ->
# "nif b 12345678", "12345678-Z" -> "12345678 z".
RULES: tuple[Rule, ...] = (
    # Factura / factura
    _rule(FACTURA, 3, r"\bfactura\b", "factura"),
    _rule(
        FACTURA, 2, r"\b(?:num(?:ero)?|n) (?:de )?factura\b|\bfactura (?:num|n)\b", "núm. factura"
    ),
    _rule(FACTURA, 2, r"\bbase (?:imposable|imponible)\b", "base imposable"),
    _rule(FACTURA, 2, r"\b(?:iva|i v a)\b", "IVA"),
    _rule(FACTURA, 1, r"\btotal\b", "total"),
    _rule(FACTURA, 1, r"\b(?:import|importe)\b", "import"),
    _rule(FACTURA, 1, r"\b(?:nif|cif)\b", "NIF/CIF"),
    _rule(
        FACTURA, 2, r"\bperiode de facturacio\b|\bperiodo de facturacion\b", "període de facturació"
    ),
    _rule(
        FACTURA, 1, r"\bdata de (?:la )?factura\b|\bfecha de (?:la )?factura\b", "data de factura"
    ),
    _rule(FACTURA, 1, r"\b(?:consum|consumo)\b", "consum"),
    _rule(FACTURA, 1, r"\bdata de venciment\b|\bfecha de vencimiento\b", "venciment"),
    # Contracte / contrato
    _rule(CONTRACTE, 3, r"\b(?:contracte|contrato)\b", "contracte"),
    _rule(
        CONTRACTE, 2, r"\bcondicions generals\b|\bcondiciones generales\b", "condicions generals"
    ),
    _rule(CONTRACTE, 2, r"\b(?:clausula|clausules|clausulas)\b", "clàusula"),
    _rule(
        CONTRACTE,
        2,
        r"\bcondicions particulars\b|\bcondiciones particulares\b",
        "condicions particulars",
    ),
    _rule(CONTRACTE, 1, r"\b(?:signat|signatura|firmado|firma)\b", "signat"),
    _rule(CONTRACTE, 1, r"\b(?:les parts|las partes|reunits|reunidos)\b", "les parts"),
    _rule(CONTRACTE, 1, r"\b(?:durada|duracion|permanencia)\b", "durada"),
    _rule(CONTRACTE, 1, r"\b(?:arrendador|arrendatari|arrendatario)\b", "arrendament"),
    # DNI / NIE
    _rule(
        DNI,
        4,
        r"\bdocumento nacional de identidad\b|\bdocument nacional d identitat\b",
        "document nacional d'identitat",
    ),
    _rule(DNI, 3, r"\b\d{8} ?[a-z]\b", "número de DNI"),
    _rule(DNI, 3, r"\b[xyz] ?\d{7} ?[a-z]\b", "número de NIE"),
    _rule(DNI, 2, r"\bdata de naixement\b|\bfecha de nacimiento\b", "data de naixement"),
    _rule(DNI, 1, r"\b(?:nacionalitat|nacionalidad)\b", "nacionalitat"),
    _rule(DNI, 1, r"\b(?:sexe|sexo)\b", "sexe"),
    _rule(DNI, 1, r"\b(?:validesa|validez|valido hasta)\b", "validesa"),
    _rule(DNI, 1, r"\besp\b|\bespana\b", "ESP"),
    # Reclamació prèvia / hoja de reclamaciones
    _rule(
        RECLAMACIO_PREVIA,
        4,
        r"\bfull(?:s)? de reclamaci(?:o|ons)\b|\bhojas? de reclamacion(?:es)?\b",
        "full de reclamació",
    ),
    _rule(
        RECLAMACIO_PREVIA, 3, r"\breclamacio previa\b|\breclamacion previa\b", "reclamació prèvia"
    ),
    _rule(
        RECLAMACIO_PREVIA,
        2,
        r"\b(?:num(?:ero)?|n) (?:de )?(?:reclamacio|reclamacion|incidencia)\b",
        "número de reclamació",
    ),
    _rule(
        RECLAMACIO_PREVIA,
        2,
        r"\bservei d atencio al client\b|\bservicio de atencion al cliente\b",
        "servei d'atenció al client",
    ),
    _rule(
        RECLAMACIO_PREVIA, 1, r"\b(?:reclamacio|reclamacion|queixa|queja|denuncia)\b", "reclamació"
    ),
    _rule(RECLAMACIO_PREVIA, 1, r"\b(?:reclamant|reclamante|reclamada)\b", "reclamant"),
    # Correspondència / cartas y correos
    _rule(
        CORRESPONDENCIA,
        2,
        r"\b(?:benvolgut|benvolguda|benvolguts|estimat|estimada|estimado|apreciado)\b",
        "benvolgut",
    ),
    _rule(
        CORRESPONDENCIA,
        2,
        r"\b(?:atentament|atentamente|cordialment|cordialmente|salutacions|saludos)\b",
        "atentament",
    ),
    _rule(CORRESPONDENCIA, 1, r"\b(?:assumpte|asunto)\b", "assumpte"),
    _rule(CORRESPONDENCIA, 1, r"\b(?:correu|correo|e mail|email)\b", "correu"),
    _rule(
        CORRESPONDENCIA,
        1,
        r"\b(?:us escrivim|le escribimos|en resposta|en respuesta)\b",
        "en resposta",
    ),
)

CATEGORIES = (FACTURA, CONTRACTE, DNI, RECLAMACIO_PREVIA, CORRESPONDENCIA)


@dataclass(frozen=True)
class Suggestion:
    """The suggested category, how sure (0..1) and the signs that were found."""

    category: str
    score: float
    reasons: tuple[str, ...] = field(default_factory=tuple)


def suggest(text: str, filename: str = "") -> Suggestion:
    """The category ``text`` (a document's extracted text) most looks like.

    The file name counts as a little more text ("factura_maig.pdf"). Falls back to *altres*
    (score below 0.3) when no category has enough signs or two are too close.
    """
    folded = fold((text or "")[:MAX_CHARS])
    name = fold(re.sub(r"\.[a-z0-9]{2,4}$", "", filename or "", flags=re.I))
    folded = f"{name} {folded}".strip()
    totals = dict.fromkeys(CATEGORIES, 0.0)
    reasons: dict[str, list[str]] = {category: [] for category in CATEGORIES}
    for rule in RULES:
        if rule.pattern.search(folded):
            totals[rule.category] += rule.weight
            reasons[rule.category].append(rule.reason)
    ranked = sorted(CATEGORIES, key=lambda category: -totals[category])
    best, second = ranked[0], ranked[1]
    if totals[best] >= THRESHOLD and totals[best] - totals[second] >= MARGIN:
        return Suggestion(best, round(min(totals[best] / FULL, 1.0), 2), tuple(reasons[best]))
    return Suggestion(ALTRES, round(min(totals[best] / FULL, 0.29), 2), ())
