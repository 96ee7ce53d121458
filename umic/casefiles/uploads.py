"""The citizen's upload page: ``/documents/<token>``, the link in the "documentació requerida"
e-mail. Public (no sign-in): the unguessable token is the key, and only its hash is stored.

The page says which case, what is asked and until when, and takes one or several files at a
time (the pages of an invoice, photographed one by one) with their category. Every file is
checked before any is stored, so a wrong one is named and nothing half-sent is left to guess
about; a limit reached half-way (the case's maximum) keeps the files stored before it and says
which ones. It lists the names of the files sent since the link was issued, never their content:
citizens cannot download anything. An unknown link is a 404; a link past its deadline, or of a
case that no longer asks for documents, is a page that says so (410).
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint
from flask import abort
from flask import flash
from flask import get_flashed_messages
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from .. import clock
from ..extensions import db
from ..models import AccessToken
from ..models import CaseFile
from ..web.forms import Form
from . import documents
from .labels import DOCUMENT_CATEGORIES

bp = Blueprint("uploads", __name__)

SENT = "document_sent"  # flash category: the name of the file just received


def _category_chosen(form, field) -> None:
    if field.data not in DOCUMENT_CATEGORIES:
        raise ValidationError(_l("Trieu quin tipus de document és"))


def chosen_files(field) -> list:
    """The files chosen in a file box (an empty box still sends one part without a name)."""
    return [upload for upload in field.data or [] if getattr(upload, "filename", "")]


def _file_chosen(form, field) -> None:
    if not chosen_files(field):
        raise ValidationError(_l("Trieu un fitxer"))


class CitizenUploadForm(Form):
    """What the documents are, and the files."""

    category = RadioField(
        _l("Quin document ens envieu?"),
        choices=[SelectChoice(code.value, text) for code, text in DOCUMENT_CATEGORIES.items()],
        validate_choice=False,
        validators=[_category_chosen],
    )
    document = MultipleFileField(_l("Fitxers"), validators=[_file_chosen])


def error_summary(form: CitizenUploadForm) -> list[tuple[str, str]]:
    """Error-summary links in page order; a radio group links to its first radio (a fieldset
    cannot take the focus)."""
    items = []
    if form.category.errors:
        items.append((f"#{form.category.id}-0", form.category.errors[0]))
    if form.document.errors:
        items.append((f"#{form.document.id}", form.document.errors[0]))
    return items


def _page(link: documents.UploadLink, token: str, form: CitizenUploadForm, status: int = 200):
    return (
        render_template(
            "uploads/upload.html",
            case=link.case,
            token=token,
            form=form,
            errors=error_summary(form),
            sent=documents.uploads_through(link),
            just_sent=get_flashed_messages(category_filter=[SENT]),
            max_size=documents.max_size_text(),
            accept=documents.ACCEPT,
        ),
        status,
    )


def _closed(link: documents.UploadLink):
    """No case details here: the link no longer gives access to anything."""
    return render_template("uploads/closed.html", reason=link.state), 410


def _problem(files: list, rejected: documents.DocumentRejected, upload) -> str:
    """The error to show: the file's name in front when several were chosen."""
    if len(files) < 2:
        return rejected.message
    return _("%(name)s: %(problem)s", name=upload.filename, problem=rejected.message)


def _first_problem(files: list) -> str | None:
    """What the first bytes of each file tell (empty, wrong type), before storing any."""
    for upload in files:
        problem = documents.precheck(upload)
        if problem is not None:
            return _problem(files, problem, upload)
    return None


def receive(
    form: CitizenUploadForm, case: CaseFile, link: AccessToken, now: datetime, sent: str
) -> bool:
    """Take a citizen's POST of the upload form for ``case`` through ``link`` (the upload
    page's or the follow page's): True when every chosen file was stored, each flashed under
    the category ``sent``; otherwise False with the error on the form.

    Every file is checked before any is stored. Each is stored (committed) alone with
    ``documents.add_document`` as the citizen's; a file refused half-way (the case's maximum)
    rolls the session back, which expires the loaded rows, and names the file."""
    if not form.validate_on_submit():
        if form.is_submitted() and not form.document.errors:
            problem = _first_problem(chosen_files(form.document))
            if problem is not None:
                form.document.errors = [problem]
        return False
    files = chosen_files(form.document)
    problem = _first_problem(files)
    if problem is not None:
        form.document.errors = [problem]
        return False
    link.last_used_at = now
    for upload in files:
        try:
            document = documents.add_document(
                case,
                upload,
                category=form.category.data,
                source=documents.CITIZEN,
                uploaded_by=None,
                now=now,
            )
        except documents.DocumentRejected as rejected:
            db.session.rollback()
            form.document.errors = [_problem(files, rejected, upload)]
            return False
        flash(document.original_name, sent)  # each file is stored (committed) alone
    return True


def too_large_form() -> CitizenUploadForm:
    """An empty form with the size error, for a body over MAX_CONTENT_LENGTH (never read)."""
    form = CitizenUploadForm(formdata=None)
    form.document.errors = [documents.DocumentRejected("too_large").message]
    return form


@bp.route("/documents/<token>", methods=["GET", "POST"])
def upload(token: str):
    """Show what is asked; take the files and their category; 303 back here with a banner."""
    now = clock.now()
    link = documents.find_upload_link(token, now)
    if link.state == "unknown":
        abort(404)
    if not link.is_open:
        return _closed(link)
    form = CitizenUploadForm()
    if receive(form, link.case, link.token, now, SENT):
        return redirect(url_for("uploads.upload", token=token), 303)
    return _page(link, token, form)


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error):
    """Over MAX_CONTENT_LENGTH: the same page with the size error (the body is never read)."""
    token = (request.view_args or {}).get("token", "")
    link = documents.find_upload_link(token, clock.now())
    if link.state == "unknown":
        return render_template("errors/404.html", error=error), 404
    if not link.is_open:
        return _closed(link)
    return _page(link, token, too_large_form(), 413)
