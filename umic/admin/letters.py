"""The texts of the service's letters, edited by coordinators (``/admin/cartes/``).

One text per kind of letter (umic.core.codes.LetterKind) and language (Catalan, Spanish).
Saving never changes a text: it adds a version, and the newest version is the one new letters
use; every letter issued keeps the version it was written from, and the history shows who
wrote each version and when, with its text. A text is checked before it is saved (syntax,
unknown placeholders, anything the sandbox refuses: umic.letters.text), and can be
previewed as the PDF of a sample case without saving.
"""

from __future__ import annotations

from flask import Response
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import StringField
from wtforms import TextAreaField

from .. import clock
from ..core.codes import LetterKind
from ..extensions import db
from ..letters import service as letters
from ..letters import text as letter_text
from ..models import StaffUser
from ..web.forms import Form
from . import bp

LANGUAGE_NAMES = {"ca": _l("Català"), "es": _l("Castellà")}


class LetterTextForm(Form):
    """A letter's subject and text."""

    subject = StringField(_l("Assumpte"))
    body = TextAreaField(_l("Text de la carta"))


def _kind_or_404(kind: str, language: str) -> LetterKind:
    if kind not in {k.value for k in LetterKind} or language not in letters.LANGUAGES:
        abort(404)
    return LetterKind(kind)


@bp.get("/cartes/")
def letters_list():
    """Every kind and language with its current version and when it was written."""
    current = letters.current_templates()
    db.session.commit()  # the shipped texts, inserted the first time
    authors = _authors(current.values())
    rows = [
        (kind, [(language, current[(kind.value, language)]) for language in letters.LANGUAGES])
        for kind in LetterKind
    ]
    return render_template(
        "admin/letters.html", rows=rows, authors=authors, letter_languages=LANGUAGE_NAMES
    )


def _authors(templates) -> dict[int, str]:
    ids = {t.created_by_id for t in templates if t.created_by_id is not None}
    if not ids:
        return {}
    return dict(
        db.session.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(ids))).all()
    )


@bp.route("/cartes/<kind>/<language>/", methods=["GET", "POST"])
def letter_edit(kind: str, language: str):
    """Edit a text: preview it as a PDF (nothing saved) or save it as a new version."""
    member = _kind_or_404(kind, language)
    current = letters.current_template(kind, language)
    db.session.commit()
    form = LetterTextForm(
        data={"subject": current.subject, "body": current.body} if request.method == "GET" else None
    )
    if form.validate_on_submit():
        subject = " ".join((form.subject.data or "").split())
        body = (form.body.data or "").replace("\r\n", "\n").strip()
        problems = letters.check_text(subject, body)
        form.subject.errors = list(problems.subject)
        form.body.errors = list(problems.body)
        if not problems:
            if request.form.get("action") == "preview":
                return _preview(kind, language, subject, body)
            if subject == current.subject and body == current.body:
                flash(_("No hi ha cap canvi: no s'ha desat cap versió nova."), "success")
                return redirect(url_for("admin.letter_edit", kind=kind, language=language), 303)
            try:
                saved = letters.save_version(
                    kind, language, subject=subject, body=body, actor=current_user, now=clock.now()
                )
                db.session.commit()
            except letters.VersionConflict:
                db.session.rollback()
                form.body.errors = [
                    _(
                        "Algú altre ha desat una versió nova mentre editàveu. Reviseu la versió "
                        "actual abans de tornar a desar."
                    )
                ]
            else:
                flash(_("S'ha desat la versió %(version)s.", version=saved.version), "success")
                return redirect(url_for("admin.letter_edit", kind=kind, language=language), 303)
    return render_template(
        "admin/letter_edit.html",
        form=form,
        kind=member,
        language=language,
        letter_language=LANGUAGE_NAMES[language],
        current=current,
        placeholders=letter_text.PLACEHOLDERS,
    ), (422 if form.subject.errors or form.body.errors else 200)


def _preview(kind: str, language: str, subject: str, body: str) -> Response:
    """The text as the PDF of a sample case, shown in the browser (nothing is saved)."""
    context = letters.preview_context(language, now=clock.now())
    letter = letters.render_letter(kind, language, subject, body, context)
    response = Response(letter.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="previsualitzacio_{kind}_{language}.pdf"'
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/cartes/<kind>/<language>/versions")
def letter_versions(kind: str, language: str):
    """Every version of a text, newest first: who wrote it, when, and its text."""
    member = _kind_or_404(kind, language)
    versions = letters.versions(kind, language)
    db.session.commit()
    return render_template(
        "admin/letter_versions.html",
        kind=member,
        language=language,
        letter_language=LANGUAGE_NAMES[language],
        versions=versions,
        authors=_authors(versions),
    )
