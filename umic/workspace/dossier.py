"""A case exported as one file: ``dossier.pdf`` and ``dossier.zip`` (umic/casefiles/dossier.py).

Every member of staff may export any case (as they may read it). The file is an attachment
named after the case number, never cached (``no-store``) or sniffed, and the export is written
in the case's history ("Dossier exportat (PDF)"), in the service's language like every entry:
a file with personal data left the application, and who took it is on record.

The dossier is drawn in the language of the page the technician is reading.
"""

from __future__ import annotations

from io import BytesIO

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import send_file
from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..casefiles.dossier import DossierTooLarge
from ..casefiles.dossier import dossier_pdf
from ..casefiles.dossier import dossier_zip
from ..extensions import db
from ..models import CaseEvent
from ..models import CaseFile
from ..web.i18n import locale_name
from . import bp

#: The history entry's kind (the case page shows its note).
EVENT_KIND = "dossier"


def _case_or_404(case_id: int) -> CaseFile:
    case = db.session.get(CaseFile, case_id)
    if case is None:
        abort(404)
    return case


def file_stem(case: CaseFile) -> str:
    """``dossier-2025-0029005``: the case number in a file name (no slash)."""
    return "dossier-" + case.number.replace("/", "-")


def _record(case: CaseFile, what: str, now) -> None:
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        note = _("Dossier exportat (%(format)s)", format=what)
    db.session.add(
        CaseEvent(case_id=case.id, at=now, actor_id=current_user.id, kind=EVENT_KIND, note=note)
    )
    db.session.commit()


def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/expedients/<int:case_id>/dossier.pdf")
def case_dossier_pdf(case_id: int):
    """The case as one PDF: cover, index, history and every document."""
    case = _case_or_404(case_id)
    now = clock.now()
    language = locale_name().split("_")[0]
    try:
        pdf = dossier_pdf(case, language=language, now=now)
    except DossierTooLarge as too_large:
        flash(too_large.message(language), "error")
        return redirect(url_for("workspace.case_detail", case_id=case.id) + "#dossier", 303)
    _record(case, "PDF", now)
    return _private(
        send_file(
            BytesIO(pdf),
            mimetype="application/pdf",
            as_attachment=True,
            download_name=file_stem(case) + ".pdf",
            conditional=False,
            etag=False,
            max_age=None,
        )
    )


@bp.get("/expedients/<int:case_id>/dossier.zip")
def case_dossier_zip(case_id: int):
    """The case as a ZIP: expedient.pdf, historial.csv, index.csv and the original files."""
    case = _case_or_404(case_id)
    now = clock.now()
    archive = dossier_zip(case, language=locale_name().split("_")[0], now=now)
    _record(case, "ZIP", now)
    return _private(
        send_file(
            archive,
            mimetype="application/zip",
            as_attachment=True,
            download_name=file_stem(case) + ".zip",
            conditional=False,
            etag=False,
            max_age=None,
        )
    )
