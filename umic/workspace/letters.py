"""Letters from the case page (``workspace/_case_letters.html``): generate one, send it.

Thin: the work is umic.letters (issue_letter, send_letter). Who may write on behalf of the
case is who may change it (``case_detail.may_change``: its technician, a coordinator, anyone
while nobody has it; nobody once anonymised). Both actions are POST forms with CSRF and go
back to the case page's letters section with a message.
"""

from __future__ import annotations

from flask import abort
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import clock
from ..casefiles.documents import DocumentRejected
from ..core import ics
from ..core.codes import DocumentSource
from ..core.codes import LetterKind
from ..extensions import db
from ..letters import service as letters
from ..letters.text import LetterTextError
from ..models import CaseDocument
from ..models import OutboxMessage
from . import bp
from .case_detail import _case_or_404
from .case_detail import may_change


def _back(case_id: int):
    return redirect(url_for("workspace.case_detail", case_id=case_id, _anchor="cartes"), 303)


@bp.post("/expedients/<int:case_id>/cartes")
def issue_case_letter(case_id: int):
    """Generate a letter from the newest text and store it among the case's documents."""
    case = _case_or_404(case_id)
    if not may_change(case, current_user):
        abort(403)
    kind = request.form.get("kind", "")
    language = request.form.get("language", "")
    if kind not in {k.value for k in LetterKind}:
        flash(_("Trieu quina carta voleu generar."), "error")
        return _back(case.id)
    if language not in letters.LANGUAGES:
        flash(_("Trieu la llengua de la carta."), "error")
        return _back(case.id)
    try:
        document = letters.issue_letter(case, kind, language, actor=current_user, now=clock.now())
        db.session.commit()
    except (LetterTextError, DocumentRejected):
        db.session.rollback()
        flash(
            _(
                "No s'ha pogut generar la carta. Reviseu-ne el text a Cartes (coordinació) i "
                "torneu-ho a provar."
            ),
            "error",
        )
        return _back(case_id)
    flash(
        _(
            "S'ha generat la carta %(name)s i s'ha afegit als documents.",
            name=document.original_name,
        ),
        "success",
    )
    return _back(case.id)


def recipients(case) -> list[tuple[str, ics.Person]]:
    """Who a letter of this case can be e-mailed to: ("citizen", person), ("company", ...)."""
    out = []
    if case.interested_email and not case.anonymised_at:
        out.append(("citizen", ics.Person(email=case.interested_email, name=case.interested_name)))
    company = case.company_entry
    if company is not None and company.claims_email:
        out.append(("company", ics.Person(email=company.claims_email, name=company.name)))
    return out


@bp.post("/expedients/<int:case_id>/cartes/<int:document_id>/envia")
def send_case_letter(case_id: int, document_id: int):
    """E-mail a generated letter (the PDF attached) to the citizen or to the company."""
    case = _case_or_404(case_id)
    if not may_change(case, current_user):
        abort(403)
    document = db.session.get(CaseDocument, document_id)
    if (
        document is None
        or document.case_id != case.id
        or document.source != DocumentSource.SERVICE.value
        or not document.letter_kind
    ):
        abort(404)
    chosen = dict(recipients(case)).get(request.form.get("to", ""))
    if chosen is None:
        flash(_("Trieu a qui voleu enviar la carta."), "error")
        return _back(case.id)
    letters.send_letter(document, recipient=chosen, now=clock.now(), actor=current_user)
    db.session.commit()
    flash(
        _(
            "La carta s'enviarà per correu a %(address)s en uns minuts.",
            address=chosen.email,
        ),
        "success",
    )
    return _back(case.id)


@bp.app_context_processor
def _letter_helpers() -> dict:
    """What ``_case_letters.html`` needs (also when another blueprint renders the page)."""
    return {
        "letter_kinds": list(LetterKind),
        "letter_kind_labels": {kind.value: kind.label for kind in LetterKind},
        "letter_language_codes": letters.LANGUAGES,
        "letter_default_language": letters.case_language,
        "letter_recipients": recipients,
        "letter_may_write": lambda case: may_change(case, current_user),
        "letter_sendings": sendings,
    }


def sendings(documents) -> dict[int, list[OutboxMessage]]:
    """The e-mails each letter went out with (one query), oldest first."""
    ids = [document.id for document in documents]
    if not ids:
        return {}
    found: dict[int, list[OutboxMessage]] = {}
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.document_id.in_(ids))
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    for row in rows:
        found.setdefault(row.document_id, []).append(row)
    return found
