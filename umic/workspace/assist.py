"""The optional language model on the case page: a summary of a long description and a first
draft of a reply (umic.assist). Off while ``ASSIST_URL`` is empty: no buttons, and the two
addresses answer 404.

Both are POSTs with the CSRF token (they send data to another server and write the log), and
answer with a page of their own: the summary, or the draft in a labelled textarea to copy and
edit. Nothing is saved on the case and the text is not kept: a second look is a second call
(and a second line in the log). A failure is a plain page saying the model did not answer,
never a 500; the use is logged all the same.
"""

from __future__ import annotations

from flask import abort
from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..assist import service as assist
from ..core.codes import AssistPurpose
from ..extensions import db
from ..models import CaseFile
from . import bp


def _reason_text(reason: str) -> str:
    """The client's short reason, in words for the technician."""
    if reason == "timeout":
        return _("El model no ha respost a temps.")
    if reason.startswith("connection"):
        return _("No s'ha pogut connectar amb el servidor del model.")
    if reason.startswith("HTTP"):
        return _("El servidor del model ha respost amb un error (%(status)s).", status=reason)
    if reason == "empty answer":
        return _("El model ha respost sense text.")
    return _("El model no ha pogut respondre.")


@bp.app_context_processor
def _assist_helpers() -> dict:
    """What ``_case_assist.html`` needs (also when another blueprint renders the case page)."""
    return {
        "assist_enabled": assist.enabled,
        "assist_summary_offered": assist.summary_offered,
    }


def _case_or_404(case_id: int) -> CaseFile:
    if not assist.enabled():
        abort(404)
    case = db.session.get(CaseFile, case_id)
    if case is None or case.anonymised_at is not None:
        abort(404)
    return case


def _answer(case: CaseFile, purpose: str):
    try:
        if purpose == AssistPurpose.SUMMARY:
            result = assist.summarise(case, actor=current_user, now=clock.now())
        else:
            result = assist.draft_reply(case, actor=current_user, now=clock.now())
    except assist.AssistError as error:
        return render_template(
            "workspace/assist_result.html",
            case=case,
            purpose=purpose,
            result=None,
            error=_reason_text(error.reason),
        ), 502
    return render_template(
        "workspace/assist_result.html", case=case, purpose=purpose, result=result, error=None
    )


@bp.post("/expedients/<int:case_id>/assistent/resum")
def assist_summary(case_id: int):
    """A short summary of a long description, by the language model."""
    case = _case_or_404(case_id)
    if not assist.summary_offered(case):
        abort(404)
    return _answer(case, AssistPurpose.SUMMARY)


@bp.post("/expedients/<int:case_id>/assistent/esborrany")
def assist_draft(case_id: int):
    """A first draft of the reply to the person, by the language model."""
    case = _case_or_404(case_id)
    if not (case.description or "").strip():
        abort(404)
    return _answer(case, AssistPurpose.DRAFT)
