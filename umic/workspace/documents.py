"""Documents of a case: staff upload them and download them (citizens never can).

The list and the upload form are ``workspace/_case_documents.html``, which the case page
includes. An upload posts to ``/espai/expedients/<id>/documents`` and returns to the case
page; when it is refused, that same URL answers with the case's documents page (the list and
the form, with the error beside the field and in the summary): the case page's own forms stay
out of it. The include reads ``upload_form`` when given, else shows a fresh form.

Opening the documents page or downloading a citizen's upload marks it as seen (the agenda's
"new documents" notice goes), but only on a navigation of the technician's own
(:func:`navigated_here`): a GET has no CSRF token, and a link on another site must not be able
to clear the notice.
"""

from __future__ import annotations

import logging

from babel.dates import format_datetime
from flask import Response
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import send_file
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from .. import clock
from ..casefiles import documents
from ..casefiles import preview
from ..casefiles.documents import new_citizen_uploads  # noqa: F401  (the agenda's import)
from ..casefiles.labels import DOCUMENT_CATEGORIES
from ..core.codes import TextStatus
from ..extensions import db
from ..extensions import login_manager
from ..models import CaseDocument
from ..models import CaseEvent
from ..models import CaseFile
from ..web.forms import Form
from ..web.i18n import locale_name
from ..web.i18n import service_tz
from ..web.security import TRUSTED_FETCH_SITES
from ..web.security import origin_of
from ..web.security import own_origins
from . import bp

log = logging.getLogger(__name__)


def navigated_here() -> bool:
    """Whether this GET is the technician's own doing: a link on our pages, or typed.

    Browsers say so in ``Sec-Fetch-Site`` (``same-origin`` or ``none``). One too old to send it
    is believed when its ``Referer`` is ours or absent (typed, a bookmark).
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site.strip().lower() in TRUSTED_FETCH_SITES
    referrer = request.headers.get("Referer")
    return referrer is None or origin_of(referrer) in own_origins()


def category_chosen(form, field) -> None:
    if field.data not in DOCUMENT_CATEGORIES:
        raise ValidationError(_l("Trieu la categoria del document"))


def file_chosen(form, field) -> None:
    if field.data is None:
        raise ValidationError(_l("Trieu un fitxer"))


class StaffUploadForm(Form):
    """A file and its category. The file's content is checked when it is stored."""

    document = FileField(_l("Fitxer"), id="upload-document", validators=[file_chosen])
    category = SelectField(
        _l("Categoria"),
        id="upload-category",
        choices=[SelectChoice("", _l("Trieu una categoria"))]
        + [SelectChoice(code.value, text) for code, text in DOCUMENT_CATEGORIES.items()],
        validate_choice=False,
        validators=[category_chosen],
    )


class CategoryForm(Form):
    """Confirm a document's category, or change it. One per document (ids prefixed)."""

    category = SelectField(
        _l("Categoria"),
        choices=[SelectChoice(code.value, text) for code, text in DOCUMENT_CATEGORIES.items()],
        validate_choice=False,
        validators=[category_chosen],
    )


def category_form(document: CaseDocument, failed: CategoryForm | None = None) -> CategoryForm:
    """The form shown for ``document``: the failed one if it is this document's, else a
    fresh one offering the suggestion while the category is unconfirmed."""
    if failed is not None and failed.document_id == document.id:
        return failed
    unconfirmed = document.category_confirmed_at is None and document.suggested_category
    chosen = document.suggested_category if unconfirmed else document.category
    form = CategoryForm(formdata=None, prefix=f"doc{document.id}", category=chosen)
    form.document_id = document.id
    return form


#: What staff read about a document's text.
TEXT_STATUS = {
    TextStatus.PENDING: _l("S'està llegint"),
    TextStatus.EMPTY: _l("Sense text"),
    TextStatus.FAILED: _l("No s'ha pogut llegir"),
}


def text_status_label(document: CaseDocument) -> str:
    """'Text llegit per OCR', 'Text del PDF', 'Sense text', 'S'està llegint'..."""
    if document.text_status == TextStatus.DONE:
        if document.text_method == "ocr":
            return _("Text llegit per OCR")
        return _("Text del PDF")
    return str(TEXT_STATUS.get(document.text_status, ""))


def blank_upload_form() -> StaffUploadForm:
    """A form that never reads the request (safe in any handler, even after a 413)."""
    return StaffUploadForm(formdata=None)


@bp.context_processor
def _document_helpers() -> dict:
    """What ``_case_documents.html`` needs, whoever renders the case page."""
    return {
        "case_documents": lambda case: documents.case_documents(case.id),
        "blank_upload_form": blank_upload_form,
        "document_size": lambda size: documents.size_text(size, locale_name()),
        "document_time": lambda moment: format_datetime(
            moment, "dd/MM/yyyy HH:mm", tzinfo=service_tz(), locale=locale_name()
        ),
        "max_document_size": documents.max_size_text,
        "document_accept": documents.ACCEPT,
        "category_form": category_form,
        "text_status_label": text_status_label,
        "preview_pages": preview.MAX_PAGES,
    }


def _case_or_404(case_id: int) -> CaseFile:
    case = db.session.get(CaseFile, case_id)
    if case is None:
        abort(404)
    return case


def _documents_page(
    case: CaseFile,
    form: StaffUploadForm,
    status: int = 200,
    failed_category: CategoryForm | None = None,
):
    """The case's documents and the upload form (with its errors, if any)."""
    return render_template(
        "uploads/staff_documents.html",
        case=case,
        upload_form=form,
        failed_category=failed_category,
    ), status


@bp.route("/expedients/<int:case_id>/documents", methods=["GET", "POST"])
def upload_document(case_id: int):
    """Attach a file to the case and go back to the case page; or say what is wrong."""
    case = _case_or_404(case_id)
    if request.method == "GET":
        if navigated_here():
            documents.mark_seen(case, clock.now())
        return _documents_page(case, blank_upload_form())
    form = StaffUploadForm()
    if form.validate_on_submit():
        try:
            document = documents.add_document(
                case,
                form.document.data,
                category=form.category.data,
                source=documents.STAFF,
                uploaded_by=current_user,
                now=clock.now(),
            )
        except documents.DocumentRejected as rejected:
            form.document.errors = [rejected.message]
        else:
            flash(_("S'ha afegit el document %(name)s.", name=document.original_name), "success")
            return redirect(url_for("workspace.case_detail", case_id=case.id) + "#documents", 303)
    elif not form.document.errors:
        problem = documents.precheck(form.document.data)
        if problem is not None:
            form.document.errors = [problem.message]
    return _documents_page(case, form)


@bp.get("/documents/<int:doc_id>")
def download_document(doc_id: int):
    """The file as it was uploaded, as an attachment; a citizen's upload is then seen."""
    document = db.session.get(CaseDocument, doc_id)
    if document is None:
        abort(404)
    path = documents.stored_path(document)
    if not path.is_file():
        abort(404)
    if document.source == documents.CITIZEN and document.seen_at is None and navigated_here():
        documents.mark_document_seen(document, now=clock.now())
        db.session.commit()
    response = send_file(
        path,
        mimetype=document.content_type,
        as_attachment=True,
        download_name=documents.download_name(document.original_name, document.content_type),
        conditional=False,
        etag=False,
        max_age=None,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/documents/<int:doc_id>/categoria")
def confirm_category(doc_id: int):
    """Staff confirm the document's category, or change it; the history says so."""
    document = db.session.get(CaseDocument, doc_id)
    if document is None:
        abort(404)
    form = CategoryForm(prefix=f"doc{document.id}")
    form.document_id = document.id
    if not form.validate_on_submit():
        if not form.category.errors:  # the CSRF token: the page was too old
            form.category.errors = [_("El formulari ha caducat. Torneu-ho a provar.")]
        return _documents_page(document.case, blank_upload_form(), 400, failed_category=form)
    now = clock.now()
    old = document.category
    document.category = form.category.data
    document.category_confirmed_at = now
    document.category_confirmed_by_id = current_user.id
    with documents._service_language():
        new_label = str(DOCUMENT_CATEGORIES.get(document.category, document.category))
        if old == document.category:
            note = _(
                "S'ha confirmat la categoria de %(name)s: %(category)s",
                name=document.original_name,
                category=new_label,
            )
        else:
            note = _(
                "S'ha canviat la categoria de %(name)s: %(old)s → %(category)s",
                name=document.original_name,
                old=str(DOCUMENT_CATEGORIES.get(old, old)),
                category=new_label,
            )
    db.session.add(
        CaseEvent(
            case_id=document.case_id,
            at=now,
            actor_id=current_user.id,
            kind="document",
            field="document_category",
            old_value=old,
            new_value=document.category,
            note=note,
        )
    )
    db.session.commit()
    flash(note, "success")
    return redirect(
        url_for("workspace.case_detail", case_id=document.case_id) + f"#document-{document.id}",
        303,
    )


def _document_or_404(doc_id: int) -> CaseDocument:
    document = db.session.get(CaseDocument, doc_id)
    if document is None:
        abort(404)
    return document


def _preview_bytes(document: CaseDocument, page: int) -> bytes:
    try:
        data = documents.stored_path(document).read_bytes()
    except (OSError, ValueError) as error:
        raise preview.PreviewUnavailable(str(error)) from error
    return preview.render(data, document.content_type, page)


@bp.get("/documents/<int:doc_id>/vista/<int:page>.png")
def preview_image(doc_id: int, page: int):
    """Page ``page`` of the document drawn as a PNG by the server (never the file itself).

    404 when it cannot be drawn: the page around it says so in words (``preview_page``).
    """
    document = _document_or_404(doc_id)
    try:
        png = _preview_bytes(document, page)
    except preview.PreviewUnavailable as error:
        log_preview_problem(document, error)
        abort(404)
    return Response(png, status=200, headers=preview.PREVIEW_HEADERS)


def log_preview_problem(document: CaseDocument, error: Exception) -> None:
    log.info("no preview for document %s: %s", document.id, error)


@bp.get("/documents/<int:doc_id>/vista")
def preview_page(doc_id: int):
    """A document's preview, a page at a time, with links to the other pages."""
    document = _document_or_404(doc_id)
    page = request.args.get("pagina", "1")
    page = int(page) if page.isdigit() and 0 < len(page) < 4 else 1
    try:
        data = documents.stored_path(document).read_bytes()
        pages = preview.page_count(data, document.content_type)
        if pages and document.content_type != "application/pdf":
            preview.render(data, document.content_type, 1)  # a bomb or a damaged image?
        available = bool(pages)
    except (OSError, ValueError, preview.PreviewUnavailable) as error:
        log_preview_problem(document, error)
        pages, available = 0, False
    page = min(page, max(pages, 1))
    return render_template(
        "workspace/document_preview.html",
        document=document,
        case=document.case,
        page=page,
        pages=pages,
        available=available,
    )


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error):
    """A request over MAX_CONTENT_LENGTH: the documents page with the size error, not a raw 413.

    Flask refuses it while the CSRF check reads the form, before the sign-in check runs, so
    the sign-in is checked here; the request's form is never read again.
    """
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    case_id = (request.view_args or {}).get("case_id")
    upload = request.endpoint == "workspace.upload_document"
    case = db.session.get(CaseFile, case_id) if upload else None
    if case is None:  # no file upload here: a plain error page
        return render_template("errors/400.html", error=error), 413
    form = blank_upload_form()
    form.document.errors = [documents.DocumentRejected("too_large").message]
    return _documents_page(case, form, 413)
