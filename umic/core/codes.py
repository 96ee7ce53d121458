"""The service's vocabulary: every code a case file, a booking or a survey answer can hold.

One place per code, and beside it everything the app says or reads about it:

- its **label**, in Catalan, as people read it (marked with :func:`N_`, so ``make
  translations-update`` collects it; each page translates it when it shows it);
- its **tracker word**: how the old case tracker writes it (the seed's table: "En tràmit",
  "Reclamacions"), which the tracker export writes and its import reads;
- the other **spellings** an imported file may use (the tracker's typo "Documentació
  requereida", Spanish words, "videotrucada"); the code itself, its label and its tracker
  word are always accepted too, compared without accents or case.

So a new status or channel is one member here, then a migration (the CHECK constraints are
built from these lists), the translations, and, for a status, a badge colour in ``app.css``;
``tests/unit/test_codes.py`` fails while any of those is missing. Statistics count a new
channel's requests by default (``umic.stats.requests``).

Codes are English or Catalan words without accents, stored as they are; never rename one
without a migration of the rows that hold it. Pure: the standard library and ``core.text``.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable

from .text import fold


def N_(text: str) -> str:
    """Marks a label to be translated where it is shown (gettext's "no-op" marker)."""
    return text


class Vocabulary(enum.StrEnum):
    """A code that is also a string (stored and compared as its value), with its words."""

    label: str
    tracker: str
    spellings: tuple[str, ...]

    def __new__(cls, code: str, label: str, tracker: str = "", spellings: Iterable[str] = ()):
        member = str.__new__(cls, code)
        member._value_ = code
        member.label = label
        member.tracker = tracker
        member.spellings = tuple(spellings)
        return member

    @property
    def words(self) -> frozenset[str]:
        """Every way a file may write this code, folded (lower case, no accents)."""
        written = (self.value.replace("_", " "), self.label, self.tracker, *self.spellings)
        return frozenset(fold(word) for word in written if word)

    @classmethod
    def from_word(cls, text: str | None):
        """The member a word stands for (any of its spellings), or None."""
        return _spellings(cls).get(fold(text or ""))


@functools.cache
def _spellings(kind: type[Vocabulary]) -> dict[str, Vocabulary]:
    """word -> member, built once per vocabulary (imports ask once per row)."""
    return {word: member for member in kind for word in member.words}


def values(kind: type[enum.StrEnum], *extra: str) -> str:
    """``'a', 'b', 'c'``: the codes of ``kind`` (and ``extra`` ones) for a CHECK constraint."""
    return ", ".join(f"'{code}'" for code in (*extra, *(member.value for member in kind)))


# --- Case files -------------------------------------------------------------------------------


class CaseType(Vocabulary):
    """Tipus: what the citizen asks for. The tracker word is its "Nom tràmit" (a plural)."""

    CONSULTA = ("consulta", N_("Consulta"), "Consultes", ("consultas",))
    QUEIXA = ("queixa", N_("Queixa"), "Queixes", ("quejas", "queja"))
    RECLAMACIO = (
        "reclamacio",
        N_("Reclamació"),
        "Reclamacions",
        ("reclamaciones", "reclamacion"),
    )
    DENUNCIA = ("denuncia", N_("Denúncia"), "Denúncies", ("denuncias",))
    MEDIACIO = ("mediacio", N_("Mediació"), "Mediacions", ("mediaciones", "mediacion"))


class Channel(Vocabulary):
    """Canal: how the request arrived. Files of monthly counts may name it in any word."""

    TELEMATICA = (
        "telematica",
        N_("Assistència telemàtica"),
        "Assistència telemàtica",
        ("videotrucada",),
    )
    BUSTIA = ("bustia", N_("Bústia"), "Bústia del consumidor")
    UMIC = ("umic", N_("UMIC"), "UMIC")


class CaseStatus(Vocabulary):
    """Estat petició: what the citizen is told."""

    PENDENT = ("pendent", N_("Pendent"), "Pendent", ("pendiente",))
    EN_TRAMIT = ("en_tramit", N_("En tràmit"), "En tràmit", ("en tramite", "tramitant"))
    DOCUMENTACIO = (  # with a deadline
        "documentacio_requerida",
        N_("Documentació requerida"),
        "Documentació requerida",
        (
            "documentacio requereida",  # the tracker's own typo
            "documentacio requirida",
            "documentacion requerida",
            "requeriment de documentacio",
        ),
    )
    RESOLT = ("resolt", N_("Resolt"), "Resolt", ("resuelto",))
    TANCAT = ("tancat", N_("Tancat"), "Tancat", ("cerrado",))
    # Filed without a resolution (no answer, out of scope).
    ARXIVAT = ("arxivat", N_("Arxivat"), "Arxivat", ("archivado",))
    DESISTIT = ("desistit", N_("Desistit"), "Desistit", ("desistido", "desistiment"))


#: Statuses after which the case is over (a resolution date is recorded).
FINAL_STATUSES = (CaseStatus.RESOLT, CaseStatus.TANCAT, CaseStatus.ARXIVAT, CaseStatus.DESISTIT)


class Outcome(Vocabulary):
    """How it ended for the consumer (no code: not resolved yet)."""

    FAVOURABLE = ("favorable", N_("Favorable"))
    PARTIAL = ("parcial", N_("Parcialment favorable"))
    UNFAVOURABLE = ("desfavorable", N_("Desfavorable"))
    WITHDRAWN = ("desistit", N_("Desistiment"))


class DocumentCategory(Vocabulary):
    """What a document of a case file is."""

    FACTURA = ("factura", N_("Factura"))
    CONTRACTE = ("contracte", N_("Contracte"))
    DNI = ("dni", N_("DNI"))
    # A claim the consumer already made to the company (its reference, a complaint sheet).
    RECLAMACIO_PREVIA = ("reclamacio_previa", N_("Reclamació prèvia"))
    CORRESPONDENCIA = ("correspondencia", N_("Correspondència"))
    ALTRES = ("altres", N_("Altres"))


class DocumentSource(Vocabulary):
    """Who put a document in the case file."""

    CITIZEN = ("citizen", N_("Persona interessada"))
    STAFF = ("staff", N_("Personal tècnic"))
    COMPANY = ("company", N_("Empresa"))
    SERVICE = ("service", N_("Carta del servei"))  # a letter the app wrote (umic.letters)


class TextStatus(enum.StrEnum):
    """Where reading a document's text stands (umic.casefiles.extract)."""

    PENDING = "pending"  # not read yet: the worker will
    DONE = "done"  # text found (from the PDF's own text or by OCR)
    EMPTY = "empty"  # read, and no text in it
    FAILED = "failed"  # could not be read (damaged file, OCR engine missing)


# --- Mediation with the company (umic.mediation) ---------------------------------------------


class MediationStatus(Vocabulary):
    """Where a mediation stands."""

    OBERTA = ("oberta", N_("Enviada a l'empresa"))
    RESPOSTA = ("resposta", N_("L'empresa ha respost"))
    SESSIO = ("sessio", N_("Sessió de mediació convocada"))
    TANCADA = ("tancada", N_("Tancada"))


class CompanyAnswer(Vocabulary):
    """What the company answers through its link."""

    ACCEPTA = ("accepta", N_("Accepta la reclamació"))
    PROPOSA = ("proposa", N_("Proposa una solució"))
    REBUTJA = ("rebutja", N_("Rebutja la reclamació"))


class MediationOutcome(Vocabulary):
    """How a mediation ended."""

    ACORD_TOTAL = ("acord_total", N_("Acord total"))
    ACORD_PARCIAL = ("acord_parcial", N_("Acord parcial"))
    SENSE_ACORD = ("sense_acord", N_("Sense acord"))
    DESISTIT = ("desistit", N_("Desistiment"))


class Referral(Vocabulary):
    """Where a mediation without agreement is sent on."""

    ARBITRATGE = ("arbitratge", N_("Arbitratge de consum"))
    INSPECCIO = ("inspeccio", N_("Inspecció de consum"))


class LetterKind(Vocabulary):
    """The letters the service writes (umic.letters): one template per kind and language."""

    ACUSAMENT = ("acusament", N_("Acusament de recepció"))
    REQUERIMENT = ("requeriment", N_("Requeriment de documentació"))
    RECLAMACIO_EMPRESA = ("reclamacio_empresa", N_("Reclamació a l'empresa"))
    CONVOCATORIA = ("convocatoria", N_("Convocatòria de sessió de mediació"))
    TANCAMENT = ("tancament", N_("Carta de tancament"))
    DERIVACIO_ARBITRATGE = ("derivacio_arbitratge", N_("Derivació a l'arbitratge de consum"))
    DERIVACIO_INSPECCIO = ("derivacio_inspeccio", N_("Derivació a la inspecció de consum"))


# --- Triage: suggestions made by the service's own models (umic.triage) -----------------------


class SuggestionKind(Vocabulary):
    """What a suggestion on a case proposes."""

    CASE_TYPE = ("case_type", N_("Tipus"))
    SECTOR = ("sector", N_("Sector"))
    COMPANY = ("company", N_("Empresa"))
    DOCUMENTS = ("documents", N_("Documents habituals"))


class SuggestionDecision(Vocabulary):
    """What a person did with a suggestion ("" while nobody has)."""

    ACCEPTED = ("accepted", N_("Acceptat"))
    CORRECTED = ("corrected", N_("Corregit"))


class AssistPurpose(Vocabulary):
    """What the optional language model was asked for (umic.assist)."""

    SUMMARY = ("summary", N_("Resum"))
    DRAFT = ("draft", N_("Esborrany de resposta"))


# --- Consumer offices and the mobile unit ----------------------------------------------------


class OfficeKind(Vocabulary):
    """Which public consumer office a town's residents go to (Codi de consum de Catalunya,
    art. 126-10.2): their municipal office; where there is none, the comarcal one; where
    there is none, the Agència Catalana del Consum."""

    OMIC = (
        "omic",
        N_("Oficina municipal d'informació al consumidor (OMIC)"),
        "OMIC",
        ("oficina municipal",),
    )
    OCIC = (
        "ocic",
        N_("Oficina comarcal d'informació al consumidor (OCIC)"),
        "OCIC",
        ("oficina comarcal", "consell comarcal"),
    )
    AGENCIA = (
        "agencia",
        N_("Agència Catalana del Consum"),
        "ACC",
        ("agencia catalana del consum", "acc"),
    )


class OfficeStatus(Vocabulary):
    """Where a town's residents stand with consumer offices (``umic.core.offices``): their
    own municipal office, this service, a comarcal office, the Agència, or not yet known."""

    OWN = ("own_office", N_("Oficina municipal pròpia"))
    SERVED = ("served", N_("Atès per aquest servei"))
    COMARCAL = ("comarcal", N_("Oficina comarcal"))
    AGENCIA = ("agencia", N_("Sense oficina local: Agència Catalana del Consum"))
    UNKNOWN = ("unknown", N_("Oficina encara no coneguda"))


class VisitStatus(Vocabulary):
    """Where a visit of the mobile unit (UMIC) to a town stands."""

    PLANNED = ("planned", N_("Prevista"))
    CANCELLED = ("cancelled", N_("Anul·lada"))


# --- Bookings and surveys ---------------------------------------------------------------------


class BookingStatus(Vocabulary):
    """Where an appointment stands."""

    CONFIRMED = ("confirmed", N_("Confirmada"))
    CANCELLED = ("cancelled", N_("Anul·lada"))
    ATTENDED = ("attended", N_("Atesa"))  # marked by staff after the call
    NO_SHOW = ("no_show", N_("No s'hi ha presentat"))  # the citizen did not come


#: Bookings that hold their technician's time (a cancelled one frees it).
ACTIVE_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW)


class Resolved(Vocabulary):
    """The survey's "S'ha resolt la consulta?"."""

    FULLY = ("totalment", N_("Sí, totalment"))
    PARTLY = ("parcialment", N_("Sí, parcialment"))
    NO = ("no", N_("No"))


#: Every vocabulary, for the checks that each code has what it needs.
VOCABULARIES = (
    CaseType,
    Channel,
    CaseStatus,
    Outcome,
    DocumentCategory,
    DocumentSource,
    MediationStatus,
    CompanyAnswer,
    MediationOutcome,
    Referral,
    LetterKind,
    SuggestionKind,
    SuggestionDecision,
    AssistPurpose,
    OfficeKind,
    OfficeStatus,
    VisitStatus,
    BookingStatus,
    Resolved,
)
