"""The coordinators' privacy page, ``/admin/privacitat/``: one person's data, found, exported
and erased (GDPR art. 15, 17 and 20), and the log of every such request.

Coordinators only (the blueprint's guard, like every ``/admin`` page). Every action is a POST:
the address or number searched never travels in a URL, so it stays out of the access logs
and the browser history. The search renders its results directly (nothing to redirect to
without putting the term in the URL); the export answers with the ZIP; the erasure has two
steps, "what will happen" with a required reason, then the confirmation, and redirects (303).
The rules are in ``umic.privacy.subjects``; docs/privacy.md explains them.
"""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import send_file
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import HiddenField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import ValidationError

from .. import clock
from ..core import identity
from ..core.codes import Resolved
from ..extensions import db
from ..models import Role
from ..models.privacy import PrivacyAction
from ..models.privacy import PrivacyAudit
from ..web.auth import role_guard
from ..web.forms import Form
from ..web.forms import line
from ..web.forms import text
from ..web.i18n import service_today
from . import subjects

bp = Blueprint("privacy", __name__)
bp.before_request(role_guard(Role.COORDINATOR))

#: Audit rows per page.
PAGE_SIZE = 25
#: The highest page number asked for that is taken as it is (a huge one gives the last page).
_MAX_PAGE = 100_000
REASON_MAX = 1000

ACTIONS = {
    PrivacyAction.FIND: _l("Cerca"),
    PrivacyAction.EXPORT: _l("Exportació"),
    PrivacyAction.ERASE: _l("Supressió"),
}
KINDS = {identity.EMAIL: _l("Correu electrònic"), identity.PHONE: _l("Telèfon")}
#: The words for the counts the page and the log show, in the order shown.
COUNT_LABELS = {
    "bookings": _l("Cites"),
    "drafts": _l("Esborranys de cita"),
    "cases": _l("Expedients"),
    "case_events": _l("Entrades d'historial"),
    "documents": _l("Documents"),
    "documents_missing": _l("Documents sense fitxer"),
    "outbox_messages": _l("Correus"),
    "access_tokens": _l("Enllaços d'accés"),
    "survey_responses": _l("Respostes d'enquesta"),
    "bookings_cancelled": _l("Cites anul·lades"),
    "bookings_anonymised": _l("Cites anonimitzades"),
    "cases_anonymised": _l("Expedients anonimitzats"),
    "documents_deleted": _l("Documents suprimits"),
    "drafts_deleted": _l("Esborranys suprimits"),
    "outbox_messages_deleted": _l("Correus suprimits"),
    "access_tokens_deleted": _l("Enllaços suprimits"),
    "survey_comments_blanked": _l("Comentaris d'enquesta esborrats"),
}


def _a_person(form, field) -> None:
    if field.data and identity.parse_term(field.data) is None:
        raise ValidationError(
            _l(
                "Escriviu una adreça de correu electrònic (nom@exemple.cat) o un número de "
                "telèfon (612 345 678)"
            )
        )


class SearchForm(Form):
    term = StringField(
        _l("Adreça de correu electrònic o telèfon de la persona"),
        filters=[line],
        validators=[
            DataRequired(_l("Escriviu l'adreça de correu electrònic o el telèfon de la persona")),
            Length(max=254, message=_l("Ha de tenir 254 caràcters o menys")),
            _a_person,
        ],
    )


class EraseForm(SearchForm):
    term = HiddenField(filters=[line], validators=[DataRequired(), _a_person])
    reason = TextAreaField(
        _l("Motiu de la supressió"),
        filters=[text],
        validators=[
            DataRequired(_l("Escriviu el motiu de la supressió")),
            Length(max=REASON_MAX, message=_l("El motiu ha de tenir 1.000 caràcters o menys")),
        ],
    )
    step = HiddenField()


def _page_number() -> int:
    page = request.args.get("pagina", 1, type=int) or 1
    return min(max(page, 1), _MAX_PAGE)


def _log_page():
    query = (
        select(PrivacyAudit)
        .options(joinedload(PrivacyAudit.actor))
        .order_by(PrivacyAudit.id.desc())
    )
    return db.paginate(query, page=_page_number(), per_page=PAGE_SIZE, error_out=False)


def _render(form: SearchForm, subject: subjects.Subject | None = None):
    return render_template(
        "admin/privacy/index.html",
        form=form,
        subject=subject,
        earlier=subjects.earlier_requests(subject.term) if subject else [],
        log=_log_page(),
        **_helpers(),
    )


def _helpers() -> dict:
    return {
        "actions": ACTIONS,
        "kinds": KINDS,
        "count_labels": COUNT_LABELS,
        "audit_counts": subjects.audit_counts,
        "resolved_labels": {member.value: _(member.label) for member in Resolved},
        "now": clock.now(),
    }


@bp.get("/")
def index():
    """The search form and the log of every request, newest first."""
    return _render(SearchForm(formdata=None))


@bp.post("/")
def search():
    """What the app holds about one person (the search is logged)."""
    form = SearchForm()
    if not form.validate_on_submit():
        return _render(form)
    term = identity.parse_term(form.term.data)
    subject = subjects.find(term)
    subjects.record(PrivacyAction.FIND, term, subject.counts(), actor=current_user, now=clock.now())
    db.session.commit()
    return _render(form, subject)


@bp.post("/exporta")
def export():
    """Everything held about the person, as a ZIP: ``dades.json`` and the documents."""
    form = SearchForm()
    if not form.validate_on_submit():
        return _render(form)
    term = identity.parse_term(form.term.data)
    now = clock.now()
    subject = subjects.find(term)
    archive, counts = subjects.write_export(subject, now)
    subjects.record(PrivacyAction.EXPORT, term, counts, actor=current_user, now=now)
    db.session.commit()
    day = service_today().strftime("%Y%m%d")
    response = send_file(
        archive,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"dades-personals-{day}.zip",
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"  # personal data: never cached
    return response


@bp.post("/suprimeix")
def erase():
    """Two steps: what will happen, with the reason asked; then, confirmed, the erasure."""
    form = EraseForm()
    term = identity.parse_term(form.term.data)
    if term is None:  # not from the search's button
        flash(_("Cerqueu primer la persona les dades de la qual voleu suprimir."), "error")
        return redirect(url_for("privacy.index"), 303)
    subject = subjects.find(term)
    # The first step (and the language switch, ``is_submitted`` False) only shows the page.
    if not (form.is_submitted() and form.step.data == "confirm") or not form.validate():
        return _erase_page(form, subject)
    try:
        done = subjects.erase(subject, reason=form.reason.data, actor=current_user, now=clock.now())
    except subjects.OpenCases:
        return _erase_page(form, subject)
    erased = sum(done.values())
    flash(
        _(
            "S'han suprimit o anonimitzat les dades de la persona (%(count)s registres). "
            "Queda anotat al registre de sol·licituds.",
            count=erased,
        ),
        "success",
    )
    return redirect(url_for("privacy.index"), 303)


def _erase_page(form: EraseForm, subject: subjects.Subject):
    return render_template(
        "admin/privacy/erase.html",
        form=form,
        subject=subject,
        future=subject.future_bookings(clock.now()),
        **_helpers(),
    )
