"""The words staff and citizens read for each code, in their language.

The words themselves are written once, beside each code, in ``umic.core.codes``; this module
looks them up as translatable text for pages and forms, and gives templates ``label()``.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..core.codes import BookingStatus
from ..core.codes import CaseStatus
from ..core.codes import CaseType
from ..core.codes import Channel
from ..core.codes import CompanyAnswer
from ..core.codes import DocumentCategory
from ..core.codes import MediationOutcome
from ..core.codes import MediationStatus
from ..core.codes import Outcome
from ..core.codes import Referral
from ..core.codes import Vocabulary


def _labels(kind: type[Vocabulary]) -> dict:
    """code -> its label, translated into the reader's language when shown."""
    return {member: _l(member.label) for member in kind}


CASE_TYPES = _labels(CaseType)
CHANNELS = _labels(Channel)
CASE_STATUSES = _labels(CaseStatus)
OUTCOMES = {"": _l("Encara no"), **_labels(Outcome)}
DOCUMENT_CATEGORIES = _labels(DocumentCategory)
BOOKING_STATUSES = _labels(BookingStatus)
MEDIATION_STATUSES = _labels(MediationStatus)
COMPANY_ANSWERS = _labels(CompanyAnswer)
MEDIATION_OUTCOMES = _labels(MediationOutcome)
REFERRALS = _labels(Referral)
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
    "tracker_id": _l("ID anterior"),
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
        "mediation_status": MEDIATION_STATUSES,
        "company_answer": COMPANY_ANSWERS,
        "field": FIELDS,
    }

    def label(kind: str, code: str | None) -> str:
        return str(tables[kind].get(code or "", code or ""))

    app.jinja_env.globals["label"] = label
    app.jinja_env.globals["labels"] = tables
    # The history's values as people write them (245,50 €, 18/12/2026): one helper.
    from . import display  # imports this module

    display.register(app)
