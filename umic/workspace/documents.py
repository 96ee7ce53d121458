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

from babel.dates import format_datetime
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
from ..casefiles.documents import new_citizen_uploads  # noqa: F401  (the agenda's import)
from ..casefiles.labels import DOCUMENT_CATEGORIES
from ..extensions import db
from ..extensions import login_manager
from ..models import CaseDocument
from ..models import CaseFile
from ..web.forms import Form
from ..web.i18n import locale_name
from ..web.i18n import service_tz
from ..web.security import TRUSTED_FETCH_SITES
from ..web.security import origin_of
from ..web.security import own_origins
from . import bp


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
    }


def _case_or_404(case_id: int) -> CaseFile:
    case = db.session.get(CaseFile, case_id)
    if case is None:
        abort(404)
    return case


def _documents_page(case: CaseFile, form: StaffUploadForm, status: int = 200):
    """The case's documents and the upload form (with its errors, if any)."""
    return render_template("uploads/staff_documents.html", case=case, upload_form=form), status


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
