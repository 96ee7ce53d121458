"""The mailbox pages: the form (with or without the town in the address) and the confirmation.

Plain HTML forms, no JavaScript. A refused form comes back with every error beside its field
and in the summary, and with what was typed (browsers never keep chosen files: the message
says to attach them again). Registered twice (here and under /incrustat, ``umic.embed``):
views and templates link with relative endpoints.
"""

from __future__ import annotations

import logging

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.fields.choices import SelectChoice

from .. import clock
from ..booking import abuse
from ..casefiles import documents
from ..casefiles.uploads import chosen_files
from ..core.text import sort_key
from ..extensions import db
from ..models import Municipality
from ..web import limits
from ..web.i18n import locale_name
from ..web.i18n import switching_language
from . import service
from .forms import KIND_HINTS
from .forms import MailboxForm

bp = Blueprint("mailbox", __name__)
log = logging.getLogger(__name__)

#: The last case number sent from this browser, for the confirmation page (not a secret:
#: a case number opens nothing).
SESSION_SENT = "mailbox_sent"


def _town_or_404(slug: str) -> Municipality:
    town = db.session.scalar(select(Municipality).where(Municipality.slug == slug))
    if town is None:
        abort(404)
    return town


def town_choices() -> list[SelectChoice]:
    """Every town, in Catalan order (``sort_key``), after an empty first choice."""
    towns = db.session.execute(select(Municipality.id, Municipality.name)).all()
    ordered = sorted(towns, key=lambda row: sort_key(row.name))
    return [SelectChoice("", _("Trieu el municipi"))] + [
        SelectChoice(row.id, row.name) for row in ordered
    ]


def form_age(form: MailboxForm) -> float | None:
    return limits.stamp_age(current_app.config["SECRET_KEY"], form.shown_at.data, clock.timestamp())


def looks_automated(form: MailboxForm) -> bool:
    """The booking's checks: the hidden field filled, or sent faster than a person types."""
    return limits.looks_automated(
        form.comentari.data, form_age(form), current_app.config["BOOKING_MIN_FILL_SECONDS"]
    )


def _file_problem(form: MailboxForm, files: list) -> str | None:
    """Too many files, or the first one the first bytes tell is wrong (empty, not a PDF, JPG
    or PNG): the upload page's checks and messages (``documents.precheck``)."""
    if len(files) > service.max_files():
        return _("Podeu adjuntar com a màxim %(count)s fitxers", count=service.max_files())
    for upload in files:
        problem = documents.precheck(upload)
        if problem is not None:
            return _name_problem(files, upload, problem)
    return None


def _name_problem(files: list, upload, problem: documents.DocumentRejected) -> str:
    if len(files) < 2:
        return problem.message
    return _("%(name)s: %(problem)s", name=upload.filename, problem=problem.message)


def _again(message: str) -> str:
    """A file error, with what the person must do: browsers drop chosen files."""
    return _("%(problem)s. Torneu a adjuntar els fitxers.", problem=message.rstrip("."))


def _summary(form: MailboxForm, notice: str | None) -> list[tuple[str, str]]:
    """Error-summary links in page order; the radio group links to its first radio (a
    fieldset cannot take the focus); the too-fast notice links to the first field."""
    items = [
        (f"#{field.id}-0" if field is form.kind else f"#{field.id}", field.errors[0])
        for field in form
        if field.errors and field.type != "CSRFTokenField"
    ]
    if notice:
        items.append((f"#{form.name.id}", notice))
    return items


def _page(form: MailboxForm, town: Municipality | None, *, notice=None, status=200):
    form.comentari.data = ""  # never sent back filled
    if form_age(form) is None:
        form.shown_at.data = limits.form_stamp(current_app.config["SECRET_KEY"], clock.timestamp())
    return (
        render_template(
            "mailbox/form.html",
            form=form,
            errors=_summary(form, notice),
            town=town,
            office=town.office if town is not None else None,
            kind_hints=KIND_HINTS,
            notice=notice,
            max_files=service.max_files(),
            max_size=documents.max_size_text(),
            accept=documents.ACCEPT,
        ),
        status,
    )


def _handle(town: Municipality | None):
    form = MailboxForm()
    if town is not None:
        del form.town
    else:
        form.town.choices = town_choices()
    if not form.is_submitted() or switching_language():
        return _page(form, town)
    valid = form.validate()
    files = chosen_files(form.documents)
    problem = _file_problem(form, files)
    if problem is not None:
        form.documents.errors = [_again(problem)]
        valid = False
    if not valid:
        if files and not form.documents.errors:
            form.documents.errors = [
                _("Torneu a adjuntar els fitxers: el navegador no els conserva si hi ha un error.")
            ]
        return _page(form, town)
    if looks_automated(form):
        log.info("mailbox form refused as automated")
        return _page(
            form,
            town,
            notice=_(
                "Heu enviat el formulari molt de pressa. Comproveu les dades i torneu a "
                "prémer «Envia»."
            )
            + (" " + _("Torneu a adjuntar els fitxers.") if files else ""),
        )
    if town is None:
        town = db.session.get(Municipality, form.town.data)
    now = clock.now()
    network = limits.client_network_key()
    message = service.Message(
        town=town,
        kind=form.kind.data,
        name=form.name.data,
        email=form.email.data,
        phone=form.phone.data or "",
        company=form.company.data or "",
        description=form.description.data,
        claim_request=form.claim_request.data or "",
        files=files,
    )
    try:
        service.check_caps(message.email, network, now)
        case, _token = service.submit(message, network=network, language=locale_name(), now=now)
    except service.TooManyMessages as over:
        log.info("mailbox message refused by the %s cap (town %s)", over.reason, town.slug)
        abuse.record_refusal(over.reason, now)
        return render_template("mailbox/too_many.html", town=town, reason=over.reason)
    except documents.DocumentRejected as rejected:
        form.documents.errors = [_again(rejected.message)]
        return _page(form, town)
    session[SESSION_SENT] = {"number": case.number, "email": case.interested_email}
    return redirect(url_for(".sent", slug=town.slug), 303)


@bp.route("/bustia/", methods=["GET", "POST"])
def index():
    """The form with a select of the 311 towns."""
    return _handle(None)


@bp.route("/bustia/<slug>/", methods=["GET", "POST"])
def town(slug: str):
    """The form for a town (its own consumer office, if any, named at the top)."""
    return _handle(_town_or_404(slug))


@bp.get("/bustia/<slug>/enviat")
def sent(slug: str):
    """The reference and where the acknowledgment went (never the follow link)."""
    town = _town_or_404(slug)
    sent = session.get(SESSION_SENT)
    if not isinstance(sent, dict) or not sent.get("number"):
        return redirect(url_for(".town", slug=town.slug), 303)
    return render_template(
        "mailbox/sent.html", town=town, number=sent["number"], email=sent.get("email", "")
    )


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    """Over MAX_CONTENT_LENGTH: the form again (the body is never read, so it is empty)."""
    slug = (request.view_args or {}).get("slug")
    town = _town_or_404(slug) if slug else None
    form = MailboxForm(formdata=None)
    if town is not None:
        del form.town
    else:
        form.town.choices = town_choices()
    form.documents.errors = [
        _(
            "Els fitxers pesen massa junts (com a màxim %(size)s cadascun). Torneu a omplir el "
            "formulari i adjunteu-ne menys.",
            size=documents.max_size_text(),
        )
    ]
    return _page(form, town, status=413)
