"""One case file: its data, editing with a full history, notes; and new cases by hand.

**Who may change a case** (docs/architecture.md): every member of staff reads every case and
adds notes and documents (the team shares the work), but only the technician it is assigned
to, or a coordinator, saves the case form (status, outcome, amounts, the person's e-mail and
phone, and whom it is assigned to). An unassigned case is the team's queue: any technician may
take it. The others get the form read only, with a sentence saying who can change it, and a
403 if they post it anyway.

**Seen uploads.** Opening the page marks the citizen's new uploads as seen, but only when the
technician navigated here (``documents.navigated_here``): a link on another site cannot clear
the agenda's "new documents" notice.
"""

from __future__ import annotations

from decimal import Decimal

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import clock
from ..casefiles import labels
from ..casefiles.documents import mark_seen
from ..casefiles.documents import request_documents
from ..casefiles.sectors import sectors
from ..casefiles.service import EDITABLE_FIELDS
from ..casefiles.service import StaleCase
from ..casefiles.service import create_case
from ..casefiles.service import update_case
from ..companies import find_or_create
from ..core.numbers import int_in_range
from ..extensions import db
from ..models import CaseEvent
from ..models import CaseFile
from ..models import CaseStatus
from ..models import Company
from ..models import Municipality
from ..models import StaffUser
from ..triage.service import documents_request_text
from ..triage.service import note_edits
from ..web.i18n import locale_name
from . import bp
from .documents import navigated_here
from .forms import CaseForm
from .forms import NoteForm


def may_change(case: CaseFile, user) -> bool:
    """Whether ``user`` may save the case form: its technician, a coordinator, or anyone
    while nobody has it; nobody once the case is anonymised (its period is over or the person
    asked for erasure: umic/privacy/), so no edit or note writes personal data back."""
    if case.anonymised_at is not None:
        return False
    return user.is_coordinator or case.assigned_to_id in (None, user.id)


def _case_or_404(case_id: int) -> CaseFile:
    case = db.session.scalar(
        select(CaseFile)
        .options(
            selectinload(CaseFile.events).selectinload(CaseEvent.actor),
        )
        .where(CaseFile.id == case_id)
    )
    if case is None:
        abort(404)
    return case


def _with_choices(form: CaseForm, case: CaseFile | None = None) -> CaseForm:
    """Fill the selects: towns, staff, and the fixed vocabularies.

    Staff are the active ones, and the case's own technician even if no longer active (so
    saving other fields does not unassign the case).
    """
    language = locale_name().split("_")[0]
    form.case_type.choices = [(code.value, str(text)) for code, text in labels.CASE_TYPES.items()]
    form.channel.choices = [(code.value, str(text)) for code, text in labels.CHANNELS.items()]
    form.status.choices = [(code.value, str(text)) for code, text in labels.CASE_STATUSES.items()]
    form.outcome.choices = [(str(code), str(text)) for code, text in labels.OUTCOMES.items()]
    form.sector.choices = [("", _("Sense sector"))] + [
        (code, names.get(language, names["ca"])) for code, names in sectors().items()
    ]
    form.municipality_id.choices = [(0, _("Sense municipi"))] + [
        (town.id, town.name)
        for town in db.session.execute(
            select(Municipality.id, Municipality.name).order_by(
                Municipality.search_name,
                Municipality.name,  # Catalan order: core/text.sort_key
            )
        )
    ]
    form.company_names = db.session.scalars(
        select(Company.name).order_by(Company.name_key, Company.id)
    ).all()
    form.assigned_to_id.choices = [(0, _("Sense assignar"))] + [
        (user.id, f"{user.username} ({user.name})")
        for user in db.session.execute(
            select(StaffUser.id, StaffUser.username, StaffUser.name)
            .where(
                or_(
                    StaffUser.active.is_(True),
                    StaffUser.id == (case.assigned_to_id if case is not None else None),
                )
            )
            .order_by(StaffUser.username)
        )
    ]
    return form


def _changes(form: CaseForm) -> dict:
    """The form's values as model values (0 in a select means none)."""
    values = {}
    for field in EDITABLE_FIELDS:
        value = getattr(form, field).data
        if field in ("municipality_id", "assigned_to_id"):
            value = value or None
        elif field in ("amount_claimed", "amount_recovered"):
            value = Decimal(value).quantize(Decimal("0.01")) if value is not None else None
        elif value is None:
            value = "" if field != "deadline" else None
        values[field] = value
    return values


def _resolve_company(form: CaseForm, changes: dict) -> Company | None:
    """The registry's company for the name typed (``changes["company"]`` becomes its name).

    The company the form was drawn with, when its name was left as it was; otherwise the
    name is looked up (same tax id or same ``name_key``) and added to the registry when it
    is new (``umic.companies.find_or_create``). No name: no company.
    """
    name = changes.get("company") or ""
    if not name:
        return None
    company = None
    shown = int_in_range(form.company_id.data, low=1)
    if shown is not None:
        company = db.session.get(Company, shown)
        if company is not None and company.name != name:
            company = None
    if company is None:
        company = find_or_create(name, sector=changes.get("sector") or "")
    changes["company"] = company.name
    return company


def _link(case: CaseFile, company: Company | None) -> None:
    """Point the case at ``company`` (its text was saved with the case's other fields)."""
    case.company_id = company.id if company is not None else None


def _form_from(case: CaseFile) -> CaseForm:
    form = CaseForm(obj=case)
    form.municipality_id.data = case.municipality_id or 0
    form.assigned_to_id.data = case.assigned_to_id or 0
    form.company_id.data = str(case.company_id or "")
    form.version.data = str(case.version)
    return form


@bp.get("/expedients/<int:case_id>")
def case_detail(case_id: int):
    """The case file page: the form, the notes, the history, the documents."""
    case = _case_or_404(case_id)
    if navigated_here():
        mark_seen(case, clock.now())  # opening the case is seeing what the citizen sent
    form = _with_choices(_form_from(case), case)
    asked = documents_request_text(request.args.get("demana", "").split(","))
    if asked and may_change(case, current_user):  # an accepted "usual documents" suggestion
        form.status.data = CaseStatus.DOCUMENTACIO.value
        form.status_detail.data = asked
    return _page(case, form, NoteForm())


def _page(case: CaseFile, form: CaseForm, note_form: NoteForm, conflict=None, status=200):
    """The case page; the form read only for those who may not change the case."""
    return render_template(
        "workspace/case_detail.html",
        case=case,
        form=form,
        note_form=note_form,
        conflict=conflict,
        can_change=may_change(case, current_user),
    ), status


@bp.post("/expedients/<int:case_id>")
def update_case_view(case_id: int):
    """Save the edits; on a conflict show what changed and keep what this person typed."""
    case = _case_or_404(case_id)
    if not may_change(case, current_user):
        abort(403)
    form = _with_choices(CaseForm(), case)
    conflict = None
    if form.validate_on_submit():
        try:
            expected = int(form.version.data or 0)
        except ValueError:
            expected = 0
        try:
            changes = _changes(form)
            company = _resolve_company(form, changes)
            events = update_case(
                case,
                changes,
                actor=current_user,
                expected_version=expected,
                now=clock.now(),
                note=form.note.data or "",
            )
            _link(case, company)
            note_edits(case, events, actor=current_user, now=clock.now())  # suggestions decided
            db.session.commit()
        except StaleCase:
            db.session.rollback()
            case = _case_or_404(case_id)
            conflict = {
                "fields": [
                    field
                    for field, value in _changes(form).items()
                    if str(getattr(case, field) or "") != str(value or "")
                ],
            }
            form.version.data = str(case.version)  # a second save means "keep mine"
        else:
            flash(
                _("Expedient desat.") if events else _("No hi havia cap canvi per desar."),
                "success",
            )
            return redirect(url_for("workspace.case_detail", case_id=case.id), 303)
    return _page(case, form, NoteForm(), conflict, 409 if conflict else 200)


@bp.post("/expedients/<int:case_id>/nota")
def add_note(case_id: int):
    """A note in the history, without touching the data."""
    case = _case_or_404(case_id)
    if case.anonymised_at is not None:
        abort(403)
    note_form = NoteForm()
    if note_form.validate_on_submit():
        update_case(
            case,
            {},
            actor=current_user,
            expected_version=case.version,
            now=clock.now(),
            note=note_form.note.data,
        )
        db.session.commit()
        flash(_("Nota afegida a l'historial."), "success")
        return redirect(url_for("workspace.case_detail", case_id=case.id) + "#historial", 303)
    return _page(case, _with_choices(_form_from(case), case), note_form)


@bp.route("/expedients/nou", methods=["GET", "POST"])
def new_case():
    """A case that did not come from an appointment (bústia, UMIC visit, phone)."""
    form = _with_choices(CaseForm())
    if request.method == "GET":
        form.channel.data = request.args.get("canal") or "bustia"
        form.status.data = "pendent"
        form.assigned_to_id.data = current_user.id
    if form.validate_on_submit():
        now = clock.now()
        changes = _changes(form)
        company = _resolve_company(form, changes)
        case = create_case(changes, actor=current_user, now=now)
        _link(case, company)
        if case.status == CaseStatus.DOCUMENTACIO and case.deadline:
            request_documents(case, actor=current_user, now=now)
        if form.note.data:
            update_case(
                case,
                {},
                actor=current_user,
                expected_version=case.version,
                now=clock.now(),
                note=form.note.data,
            )
        db.session.commit()
        flash(_("Expedient %(number)s creat.", number=case.number), "success")
        return redirect(url_for("workspace.case_detail", case_id=case.id), 303)
    return render_template("workspace/case_new.html", form=form)
