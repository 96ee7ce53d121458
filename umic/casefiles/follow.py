"""“Com va la meva consulta?”: the link a citizen gets to follow their request.

Every acknowledgment (a mailbox message) and every booking e-mail carries one. The link
opens the request's status in the seed's words, what the service is waiting for (documents,
with the upload) and the date of the last change; never the internal notes.

The token is random (192 bits) and only its hash is stored (``umic.web.access``). A link
names a case file, or a booking before a case file exists for it (the page then follows the
booking to its case once a technician opens one).

**What the page shows, and what it never shows.** The case's number, type, channel and
status (the words of ``CaseStatus``, each with one plain sentence), what is asked when the
status is *Documentació requerida* (the deadline and the request's text, ``status_detail``,
which is the same text the request e-mail already sent to the citizen), the names and dates
of the files the citizen has sent, and the date of the last change a citizen can see (the
status, what is asked, its deadline, a document, the opening). Never: the internal status or
detail, notes, the history, who is assigned, the organic unit, staff's own documents. An
anonymised case says its data has been removed and nothing else.

**Uploading from here.** While documents are asked for (until the end of the deadline day,
Madrid time), this page takes them itself, with the upload page's form and the very same
checks and storage (``documents.precheck`` and ``documents.add_document``: type by content,
size, the per-case maximum). The upload link of the request e-mail is a separate token whose
plain value the app does not keep, so this page cannot link to it; taking the files here is
the honest way to give "what the service is waiting for, with the upload" on one page. The
follow link itself lives longer than the deadline, so the form appears only while the case
asks for documents.

**Dead links.** An unknown token is the 404 page (as a manage link's); an expired one is a
friendly page (410) that says how to ask, with no case details. The page is never cached
(``no-store``) nor indexed (``X-Robots-Tag``), and is rate limited with the other token
pages (``umic.web.limits``).
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import get_flashed_messages
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import inspect
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import RequestEntityTooLarge

from .. import clock
from ..core.join import join_button
from ..extensions import db
from ..models import ACTIVE_STATUSES
from ..models import AccessToken
from ..models import Booking
from ..models import CaseDocument
from ..models import CaseEvent
from ..models import CaseFile
from ..models import CaseStatus
from ..models import TokenPurpose
from ..web.access import FOLLOW_LINK_DAYS  # noqa: F401  (re-exported: the link's life)
from ..web.access import find_token
from ..web.access import issue_status_token as _issue
from . import documents
from .uploads import CitizenUploadForm
from .uploads import error_summary
from .uploads import receive
from .uploads import too_large_form

bp = Blueprint("follow", __name__)

SENT = "follow_document_sent"  # flash category: the names of the files just received

#: One plain sentence per status, for the citizen (vós).
STATUS_EXPLAINED = {
    CaseStatus.PENDENT: _l(
        "Hem rebut la vostra petició. Una persona tècnica la revisarà aviat i us dirà alguna "
        "cosa si cal."
    ),
    CaseStatus.EN_TRAMIT: _l(
        "Una persona tècnica està treballant en la vostra petició. Si necessitem res més, "
        "us ho farem saber."
    ),
    CaseStatus.DOCUMENTACIO: _l(
        "Per continuar, necessitem que ens envieu documentació abans que acabi el termini."
    ),
    CaseStatus.RESOLT: _l(
        "Hem acabat de tramitar la vostra petició i us n'hem comunicat el resultat."
    ),
    CaseStatus.TANCAT: _l("L'expedient està tancat: no hi farem cap més gestió."),
    CaseStatus.ARXIVAT: _l(
        "L'expedient s'ha arxivat sense una resolució, per exemple perquè no vam rebre la "
        "informació que calia o perquè l'assumpte no és competència d'aquest servei."
    ),
    CaseStatus.DESISTIT: _l(
        "Heu retirat la petició, o s'ha considerat retirada, i l'expedient s'ha tancat."
    ),
}

#: The history entries a citizen may see the date of (never a note or an internal field).
PUBLIC_FIELDS = ("status", "status_detail", "deadline")


def issue_status_token(
    *, case: CaseFile | None = None, booking: Booking | None = None, now: datetime
) -> str:
    """Store a new follow link for a case or a booking; returns the token. Caller commits."""
    return _issue(case=case, booking=booking, now=now)


def status_url(token: str) -> str:
    """The page's absolute address, for e-mails."""
    return url_for("follow.status", token=token, _external=True)


# --- Reading what the citizen may see -----------------------------------------------------------


def case_of_booking(booking: Booking) -> CaseFile | None:
    """The case file a technician opened for this booking, if any."""
    return db.session.scalar(select(CaseFile).where(CaseFile.booking_id == booking.id))


def last_change(case: CaseFile) -> datetime:
    """When something the citizen can see last changed: one query on the history."""
    latest = db.session.scalar(
        select(func.max(CaseEvent.at)).where(
            CaseEvent.case_id == case.id,
            or_(
                CaseEvent.kind.in_(("created", "document")),
                and_(CaseEvent.kind == "change", CaseEvent.field.in_(PUBLIC_FIELDS)),
            ),
        )
    )
    return max(latest, case.requested_at) if latest is not None else case.requested_at


def citizen_documents(case: CaseFile) -> list[CaseDocument]:
    """What the citizen has sent (names and dates only are ever shown)."""
    return list(
        db.session.scalars(
            select(CaseDocument)
            .where(CaseDocument.case_id == case.id, CaseDocument.source == documents.CITIZEN)
            .order_by(CaseDocument.uploaded_at, CaseDocument.id)
        )
    )


def asks_for_documents(case: CaseFile, now: datetime) -> bool:
    """The case waits for documents and its deadline day is not over (Madrid time)."""
    return (
        case.anonymised_at is None
        and case.status == CaseStatus.DOCUMENTACIO
        and case.deadline is not None
        and documents.deadline_end(case.deadline, documents._tz()) > now
    )


# --- The mediation with the company ------------------------------------------------------------


def mediation_view(case: CaseFile, now: datetime) -> dict | None:
    """Where the case's mediation stands, as the citizen may read it: when the claim went to
    the company, the kind of answer and the amount proposed (never the company's own text:
    the technician explains it), the session with its join button near the time, and the
    outcome with the amount recovered. None without a mediation."""
    mediation = case.mediation
    if mediation is None:
        return None
    booking = mediation.session_booking
    session = None
    if booking is not None and booking.status in ACTIVE_STATUSES:
        session = {
            "booking": booking,
            "join": join_button(
                booking.start_utc,
                booking.end_utc,
                now,
                current_app.config["JOIN_OPENS_MINUTES_BEFORE"],
            ),
        }
    return {"mediation": mediation, "session": session}


# --- The page --------------------------------------------------------------------------------


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _render(row: AccessToken, token: str, form: CitizenUploadForm | None, status: int = 200):
    now = clock.now()
    booking = row.booking
    case = row.case if row.case is not None else (booking and case_of_booking(booking))
    values = dict(token=token, case=case, booking=booking, form=None, errors=[])
    if case is not None and case.anonymised_at is None:
        uploading = asks_for_documents(case, now)
        if uploading and form is None:
            form = CitizenUploadForm(formdata=None)
        values.update(
            form=form if uploading else None,
            errors=error_summary(form) if (uploading and form is not None) else [],
            explained=STATUS_EXPLAINED.get(case.status, ""),
            last_change=last_change(case),
            sent=citizen_documents(case),
            just_sent=get_flashed_messages(category_filter=[SENT]),
            max_size=documents.max_size_text(),
            accept=documents.ACCEPT,
            mediation=mediation_view(case, now),
        )
    response = make_response(render_template("follow/status.html", **values), status)
    return _no_store(response)


def _link(token: str) -> AccessToken:
    """The stored link, or the 404 page; an expired one is the 410 page (raised)."""
    row = find_token(
        token,
        TokenPurpose.STATUS,
        joinedload(AccessToken.case),
        joinedload(AccessToken.booking),
    )
    if row is None or (row.case is None and row.booking is None):
        abort(404)
    if row.expires_at <= clock.now():
        abort(_no_store(make_response(render_template("follow/expired.html"), 410)))
    return row


@bp.route("/seguiment/<token>", methods=["GET", "POST"])
def status(token: str):
    """The request's status; while documents are asked for, their upload (303 back here)."""
    row = _link(token)
    if request.method == "GET":
        return _render(row, token, None)
    now = clock.now()
    case = row.case if row.case is not None else (row.booking and case_of_booking(row.booking))
    if case is None or not asks_for_documents(case, now):
        return redirect(url_for("follow.status", token=token), 303)
    form = CitizenUploadForm()
    if receive(form, case, row, now, SENT):
        return redirect(url_for("follow.status", token=token) + "#enviats", 303)
    if inspect(row).expired:
        row = _link(token)  # the rollback expired it
    return _render(row, token, form)


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error):
    """Over MAX_CONTENT_LENGTH: the same page with the size error (the body is never read)."""
    token = (request.view_args or {}).get("token", "")
    row = _link(token)
    return _render(row, token, too_large_form(), 413)
