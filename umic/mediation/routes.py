"""The mediation's pages: the staff panel on the case page, and the company's page.

**Staff** (on the workspace blueprint, so signed in): the "Mediació" panel of the case page
(``workspace/_case_mediation.html``, filled by the template global ``mediation_panel``), and
three POSTs: open, convene the session, close. Who may act is who may change the case
(``workspace.case_detail.may_change``). An invalid form shows the case page again with the
errors beside the fields and in the summary; nothing is lost and nothing is a 500.

**The company** (public, no account): ``/empresa/<token>``. It shows the minimum the company
needs to answer: the case number, the consumer's name, what they claim and the amount, and the
deadline; never the consumer's phone, e-mail or address. The page is in the mediation's
language, never cached nor indexed, sends no referrer, and is rate limited with the other
token pages. An unknown link is the 404 page; an expired one a polite page (410).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from flask import Blueprint
from flask import abort
from flask import flash
from flask import g
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.fields.choices import SelectChoice

from .. import clock
from ..booking import service as booking_service
from ..booking.picker import parse_slot
from ..booking.picker import slot_value
from ..casefiles import documents
from ..casefiles import labels
from ..casefiles.uploads import chosen_files
from ..core import mediation_rules as rules
from ..core.codes import DocumentSource
from ..core.codes import MediationStatus
from ..core.dates import parse_day
from ..extensions import db
from ..models import CaseFile
from ..models import Company
from ..models import Mediation
from ..workspace import bp as workspace_bp
from ..workspace.case_detail import _case_or_404
from ..workspace.case_detail import _form_from
from ..workspace.case_detail import _page
from ..workspace.case_detail import _with_choices
from ..workspace.case_detail import may_change
from ..workspace.forms import NoteForm
from . import service
from .forms import CloseMediationForm
from .forms import CompanyAnswerForm
from .forms import CompanyFilesForm
from .forms import ConveneForm
from .forms import OpenMediationForm

bp = Blueprint("mediation", __name__)

#: The staff forms' prefix: their fields share the case page with the case form's
#: (``amount_claimed``, ``company_id``), and ids must be unique.
PREFIX = "mediacio"

OUTCOME_LABELS = labels.MEDIATION_OUTCOMES
REFERRAL_LABELS = labels.REFERRALS

#: Why a mediation cannot be opened (service.may_open), for staff.
REFUSALS = {
    "anonymised": _l("Aquest expedient està anonimitzat."),
    "type": _l("Només es pot obrir una mediació en reclamacions, queixes i mediacions."),
    "final": _l("L'expedient ja està tancat."),
    "exists": _l("Aquest expedient ja té una mediació."),
    "email": _l("L'empresa no té cap correu per a reclamacions: escriviu-ne un."),
    "closed": _l("La mediació ja està tancada."),
    "convened": _l("La sessió ja està convocada. Per canviar-la, moveu o anul·leu la cita."),
    "town": _l("L'expedient no té municipi: poseu-n'hi un per poder convocar la sessió."),
    "service": _l("No hi ha cap servei de videotrucades actiu."),
}

#: The rules' codes (core.mediation_rules.check_outcome), worded.
OUTCOME_ERRORS = {
    rules.AMOUNT_OVER: _l(
        "L'import recuperat supera el reclamat: corregiu-lo o marqueu que és així"
    ),
    rules.AMOUNT_NEGATIVE: _l("L'import no pot ser negatiu"),
    rules.REFERRAL_WITH_AGREEMENT: _l("Amb un acord total no es deriva la reclamació"),
    rules.REFERRAL_NOT_ALLOWED: _l("Només es deriva una mediació sense acord"),
    rules.OUTCOME_UNKNOWN: _l("Trieu com ha acabat la mediació"),
    rules.REFERRAL_UNKNOWN: _l("Trieu una derivació de la llista"),
}


# --- The staff panel ---------------------------------------------------------------------------


def _companies() -> list[SelectChoice]:
    return [
        SelectChoice(row.id, row.name)
        for row in db.session.execute(
            select(Company.id, Company.name).order_by(Company.name_key, Company.id)
        )
    ]


def _open_form(case: CaseFile, formdata=None) -> OpenMediationForm:
    form = OpenMediationForm(formdata=formdata, prefix=PREFIX)
    form.company_id.choices = [SelectChoice(0, _("Trieu una empresa"))] + _companies()
    return form


def _prefilled_open_form(case: CaseFile) -> OpenMediationForm:
    form = OpenMediationForm(formdata=None, prefix=PREFIX)
    form.company_id.choices = [SelectChoice(0, _("Trieu una empresa"))] + _companies()
    if case.company_id:
        form.company_id.data = case.company_id
        company = db.session.get(Company, case.company_id)
        form.company_email.data = company.claims_email if company else ""
    return form


def _free_times(case: CaseFile, day):
    """The mediator's (this user's) free times on ``day`` for the case's town."""
    service_ = booking_service.active_service()
    if service_ is None or case.municipality_id is None or day is None:
        return []
    staff_rules = dataclasses.replace(booking_service.rules(), min_notice=timedelta(0))
    slots, _availability = booking_service.open_slots(
        service_, clock.now(), staff_rules, day=day, municipality_id=case.municipality_id
    )
    return [slot for slot in slots if current_user.id in slot.technicians]


def _errors(form, order) -> list[tuple[str, str]]:
    """Error-summary links in page order; a radio group links to its first radio."""
    items = []
    for name, radio in order:
        field = getattr(form, name)
        if field.errors:
            items.append((f"#{field.id}-0" if radio else f"#{field.id}", field.errors[0]))
    return items


def mediation_panel(case: CaseFile) -> dict:
    """What ``workspace/_case_mediation.html`` shows: forms (or the ones with errors from this
    request), the company's documents, the session, and the mediator's free times."""
    state = getattr(g, "mediation_state", {})
    mediation = case.mediation
    panel = {
        "mediation": mediation,
        "can_change": may_change(case, current_user),
        "outcome_labels": OUTCOME_LABELS,
        "referral_labels": REFERRAL_LABELS,
        "errors": state.get("errors", []),
        "refusal": state.get("refusal"),
    }
    if mediation is None:
        reason = service.may_open(case)
        panel["cannot_open"] = REFUSALS[reason] if reason else None
        if reason is None:
            panel["open_form"] = state.get("open_form") or _prefilled_open_form(case)
            panel["due_preview"] = service.due_date(clock.now())
        return panel
    panel["company_documents"] = [
        document for document in case.documents if document.source == DocumentSource.COMPANY
    ]
    booking = mediation.session_booking
    panel["session"] = booking
    open_ = mediation.status != MediationStatus.TANCADA
    session_active = booking is not None and booking.status in booking_service.ACTIVE_STATUSES
    if open_ and not session_active:
        day = parse_day(request.args.get("sessio_dia")) or state.get("day")
        panel["session_day"] = day
        panel["free_times"] = [(slot_value(slot), slot) for slot in _free_times(case, day)]
        panel["convene_form"] = state.get("convene_form") or ConveneForm(
            formdata=None, prefix=PREFIX
        )
        panel["taken"] = state.get("taken", False)
    if open_:
        if "close_form" in state:
            panel["close_form"] = state["close_form"]
        else:
            form = CloseMediationForm(formdata=None, prefix=PREFIX)
            form.amount_claimed.data = case.amount_claimed
            if mediation.answer == "accepta":
                form.amount_recovered.data = case.amount_claimed
            panel["close_form"] = form
    return panel


def _again(case: CaseFile, status: int, **state):
    """The case page again, with this request's mediation forms and errors."""
    g.mediation_state = state
    return _page(case, _with_choices(_form_from(case), case), NoteForm(), status=status)


def _back(case: CaseFile):
    return redirect(url_for("workspace.case_detail", case_id=case.id) + "#mediacio", 303)


def _editable(case_id: int) -> CaseFile:
    case = _case_or_404(case_id)
    if not may_change(case, current_user):
        abort(403)
    return case


@workspace_bp.post("/expedients/<int:case_id>/mediacio")
def open_mediation(case_id: int):
    """Open the mediation: the claim letter and the company's link go out."""
    case = _editable(case_id)
    form = _open_form(case, request.form)
    if not form.validate_on_submit():
        errors = _errors(form, (("company_id", False), ("company_email", False)))
        return _again(case, 422, open_form=form, errors=errors)
    company = db.session.get(Company, form.company_id.data)
    email = form.company_email.data or company.claims_email
    if not email:
        form.company_email.errors = [str(REFUSALS["email"])]
        errors = _errors(form, (("company_email", False),))
        return _again(case, 422, open_form=form, errors=errors)
    try:
        service.open_mediation(
            case, company, company_email=email, actor=current_user, now=clock.now()
        )
    except service.MediationRefused as refused:
        db.session.rollback()
        flash(str(REFUSALS.get(refused.reason, refused.reason)), "error")
        return _back(case)
    db.session.commit()
    flash(_("Hem enviat la reclamació a l'empresa."), "success")
    return _back(case)


@workspace_bp.post("/expedients/<int:case_id>/mediacio/sessio")
def convene_session(case_id: int):
    """Convene the joint session at the chosen time of this mediator (refused when taken)."""
    case = _editable(case_id)
    mediation = case.mediation
    if mediation is None:
        abort(404)
    form = ConveneForm(prefix=PREFIX)
    day = parse_day(request.form.get("sessio_dia"))
    start = parse_slot(form.slot.data)
    if not form.validate_on_submit() or start is None:
        form.slot.errors = [_("Trieu una hora lliure")]
        return _again(
            case,
            422,
            convene_form=form,
            day=day,
            errors=[(f"#{form.slot.id}-0", form.slot.errors[0])],
        )
    try:
        service.convene_session(mediation, start, actor=current_user, now=clock.now())
    except booking_service.SlotUnavailable:
        db.session.rollback()
        case = _case_or_404(case_id)
        form.slot.errors = [_("Aquesta hora ja no és lliure: trieu-ne una altra")]
        day = start.astimezone(booking_service.rules().tz).date()
        return _again(
            case,
            409,
            convene_form=form,
            day=day,
            taken=True,
            errors=[(f"#{form.slot.id}-0", form.slot.errors[0])],
        )
    except service.MediationRefused as refused:
        db.session.rollback()
        flash(str(REFUSALS.get(refused.reason, refused.reason)), "error")
        return _back(case)
    flash(_("Sessió de mediació convocada. Les tres parts reben la invitació."), "success")
    return _back(case)


@workspace_bp.post("/expedients/<int:case_id>/mediacio/tanca")
def close_mediation(case_id: int):
    """Close it: outcome, amounts, referral; the letters are issued."""
    case = _editable(case_id)
    mediation = case.mediation
    if mediation is None:
        abort(404)
    form = CloseMediationForm(prefix=PREFIX)
    order = (
        ("outcome", True),
        ("amount_claimed", False),
        ("amount_recovered", False),
        ("referral", True),
    )
    if not form.validate_on_submit():
        return _again(case, 422, close_form=form, errors=_errors(form, order))
    problems = rules.check_outcome(
        form.outcome.data,
        form.amount_claimed.data,
        form.amount_recovered.data,
        form.referral.data or "",
        over_claim_allowed=form.over_claim.data,
    )
    if problems:
        for name, code in problems.items():
            getattr(form, name).errors = [str(OUTCOME_ERRORS[code])]
        return _again(case, 422, close_form=form, errors=_errors(form, order))
    try:
        service.close_mediation(
            mediation,
            form.outcome.data,
            form.amount_claimed.data,
            form.amount_recovered.data,
            form.referral.data or "",
            actor=current_user,
            now=clock.now(),
            over_claim_allowed=form.over_claim.data,
        )
    except service.MediationRefused as refused:
        db.session.rollback()
        flash(str(REFUSALS.get(refused.reason, refused.reason)), "error")
        return _back(case)
    db.session.commit()
    flash(_("Mediació tancada."), "success")
    return _back(case)


# --- The company's page ---------------------------------------------------------------------

SENT = "company_documents_sent"


def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _mediation_or_abort(token: str) -> Mediation:
    mediation, expired = service.find_company_link(token, clock.now())
    if mediation is None:
        abort(404)
    if expired or mediation.case.anonymised_at is not None:
        with force_locale(mediation.language):
            page = render_template("mediation/expired.html")
        abort(_private(make_response(page, 410)))
    return mediation


def _company_page(mediation: Mediation, token: str, form, status: int = 200, errors=()):
    case = mediation.case
    sent = [document for document in case.documents if document.source == DocumentSource.COMPANY]
    with force_locale(mediation.language):
        page = render_template(
            "mediation/company.html",
            mediation=mediation,
            case=case,
            token=token,
            form=form,
            errors=list(errors),
            sent=sent,
            max_size=documents.max_size_text(),
            accept=documents.ACCEPT,
            thanks=request.args.get("gracies") == "1",
        )
    return _private(make_response(page, status))


def _read_files(field) -> tuple[list[tuple[str, bytes]], str | None]:
    """The chosen files as (name, bytes), or the first problem (type, emptiness)."""
    files = chosen_files(field)
    for upload in files:
        problem = documents.precheck(upload)
        if problem is not None:
            return [], f"{upload.filename}: {problem.message}"
    result = []
    for upload in files:
        upload.stream.seek(0)
        result.append((upload.filename, upload.read()))
    return result, None


@bp.route("/empresa/<token>", methods=["GET", "POST"])
def company_page(token: str):
    """The claim, the deadline and the answer form; once answered, the answer and more
    documents."""
    mediation = _mediation_or_abort(token)
    answered = mediation.answered_at is not None
    with force_locale(mediation.language):
        form = CompanyFilesForm() if answered else CompanyAnswerForm()
        if request.method == "GET":
            return _company_page(mediation, token, form)
        if not form.validate_on_submit():
            order = (
                (("document", False),)
                if answered
                else (
                    ("answer", True),
                    ("text", False),
                    ("proposed_amount", False),
                )
            )
            return _company_page(mediation, token, form, 422, _errors(form, order))
        files, problem = _read_files(form.document)
        if problem is None and answered and not files:
            problem = _("Trieu un fitxer")
        if problem is not None:
            form.document.errors = [problem]
            return _company_page(mediation, token, form, 422, [(f"#{form.document.id}", problem)])
        now = clock.now()
        try:
            if answered:
                service.add_company_files(mediation, files, now)
            else:
                service.record_answer(
                    mediation,
                    form.answer.data,
                    form.text.data or "",
                    form.proposed_amount.data,
                    files,
                    now,
                )
        except documents.DocumentRejected as rejected:
            db.session.rollback()
            mediation = _mediation_or_abort(token)
            form.document.errors = [rejected.message]
            return _company_page(
                mediation, token, form, 422, [(f"#{form.document.id}", rejected.message)]
            )
        except service.MediationRefused:
            db.session.rollback()
            return redirect(url_for("mediation.company_page", token=token), 303)
        db.session.commit()
    return redirect(url_for("mediation.company_page", token=token, gracies=1), 303)


@bp.errorhandler(RequestEntityTooLarge)
def company_upload_too_large(error):
    token = (request.view_args or {}).get("token", "")
    mediation = _mediation_or_abort(token)
    with force_locale(mediation.language):
        form = (
            CompanyFilesForm(formdata=None)
            if mediation.answered_at
            else CompanyAnswerForm(formdata=None)
        )
        message = _(
            "Els fitxers superen la mida màxima (%(size)s).", size=documents.max_size_text()
        )
        form.document.errors = [message]
    return _company_page(mediation, token, form, 413, [(f"#{form.document.id}", message)])


bp.add_app_template_global(mediation_panel, "mediation_panel")


def _money(amount) -> str:
    from ..casefiles.display import money_text

    return money_text(amount) if amount is not None else ""


bp.add_app_template_global(_money, "money_text")


def _outcome_label(code: str) -> str:
    return str(OUTCOME_LABELS.get(code, code))


bp.add_app_template_global(_outcome_label, "mediation_outcome_label")
