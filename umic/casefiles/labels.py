"""The words staff and citizens read for each code (translatable)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..models import BookingStatus
from ..models import CaseStatus
from ..models import CaseType
from ..models import Channel
from ..models import DocumentCategory
from ..models import Outcome

CASE_TYPES = {
    CaseType.CONSULTA: _l("Consulta"),
    CaseType.QUEIXA: _l("Queixa"),
    CaseType.RECLAMACIO: _l("Reclamació"),
    CaseType.DENUNCIA: _l("Denúncia"),
    CaseType.MEDIACIO: _l("Mediació"),
}
# "Nom tràmit" in the tracker: the procedure, in the plural.
PROCEDURE_NAMES = {
    CaseType.CONSULTA: "Consultes",
    CaseType.QUEIXA: "Queixes",
    CaseType.RECLAMACIO: "Reclamacions",
    CaseType.DENUNCIA: "Denúncies",
    CaseType.MEDIACIO: "Mediacions",
}
CHANNELS = {
    Channel.TELEMATICA: _l("Assistència telemàtica"),
    Channel.BUSTIA: _l("Bústia"),
    Channel.UMIC: _l("UMIC"),
}
CASE_STATUSES = {
    CaseStatus.PENDENT: _l("Pendent"),
    CaseStatus.EN_TRAMIT: _l("En tràmit"),
    CaseStatus.DOCUMENTACIO: _l("Documentació requerida"),
    CaseStatus.RESOLT: _l("Resolt"),
    CaseStatus.TANCAT: _l("Tancat"),
    CaseStatus.ARXIVAT: _l("Arxivat"),
    CaseStatus.DESISTIT: _l("Desistit"),
}
OUTCOMES = {
    "": _l("Encara no"),
    Outcome.FAVOURABLE: _l("Favorable"),
    Outcome.PARTIAL: _l("Parcialment favorable"),
    Outcome.UNFAVOURABLE: _l("Desfavorable"),
    Outcome.WITHDRAWN: _l("Desistiment"),
}
DOCUMENT_CATEGORIES = {
    DocumentCategory.FACTURA: _l("Factura"),
    DocumentCategory.CONTRACTE: _l("Contracte"),
    DocumentCategory.DNI: _l("DNI"),
    DocumentCategory.CORRESPONDENCIA: _l("Correspondència"),
    DocumentCategory.ALTRES: _l("Altres"),
}
BOOKING_STATUSES = {
    BookingStatus.CONFIRMED: _l("Confirmada"),
    BookingStatus.CANCELLED: _l("Anul·lada"),
    BookingStatus.ATTENDED: _l("Atesa"),
    BookingStatus.NO_SHOW: _l("No s'hi ha presentat"),
}
# The names of the fields as the history shows them.
FIELDS = {
    "case_type": _l("Tipus"),
    "channel": _l("Canal"),
    "municipality_id": _l("Municipi"),
    "interested_name": _l("Nom interessat"),
    "interested_email": _l("Correu electrònic"),
    "interested_phone": _l("Telèfon"),
    "interested_address": _l("Adreça"),
    "sector": _l("Sector"),
    "company": _l("Empresa"),
    "amount_claimed": _l("Import reclamat"),
    "description": _l("Descripció"),
    "status": _l("Estat petició"),
    "status_detail": _l("Detall estat"),
    "deadline": _l("Termini"),
    "internal_status": _l("Estat intern"),
    "internal_detail": _l("Detall estat intern"),
    "assigned_to_id": _l("Usuari assignat"),
    "organic": _l("Orgànic"),
    "outcome": _l("Resultat"),
    "amount_recovered": _l("Import recuperat"),
    "registry_entry": _l("Registre"),
    "call": _l("Convocatòria"),
    "procedure_name": _l("Nom tràmit"),
    "requested_at": _l("Data petició"),
}


def register(app) -> None:
    """Label lookups for templates: ``label('status', case.status)``."""
    tables = {
        "case_type": CASE_TYPES,
        "channel": CHANNELS,
        "status": CASE_STATUSES,
        "outcome": OUTCOMES,
        "category": DOCUMENT_CATEGORIES,
        "booking_status": BOOKING_STATUSES,
        "field": FIELDS,
    }

    def label(kind: str, code: str | None) -> str:
        return str(tables[kind].get(code or "", code or ""))

    coded = {
        "case_type": "case_type",
        "channel": "channel",
        "status": "status",
        "outcome": "outcome",
    }

    def history_value(field: str, value: str) -> str:
        """A value as the history shows it: the words for codes, the rest as recorded."""
        if field in coded and value:
            return label(field, value)
        if field == "sector" and value:
            from .sectors import sector_name

            return sector_name(value)
        return value

    app.jinja_env.globals["label"] = label
    app.jinja_env.globals["history_value"] = history_value
    app.jinja_env.globals["labels"] = tables
