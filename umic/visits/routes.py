"""The mobile unit's (UMIC) visits to a town, for citizens: see them, ask for a time.

``/umic/<town>/`` lists the town's next planned visits (day, time window, place, how to find
it) and says that anyone may just come; a bookable visit with free times offers them as
radio buttons. Choosing one leads to the details form, the check page and the confirmation,
which is the booking's manage page (``booking.manage``) as for a video call. Plain HTML
forms: no JavaScript needed.

The steps keep what was typed in a server-side draft (``umic.booking.drafts``), under its own
session key so a video booking in another tab is not disturbed; when the time goes meanwhile
the citizen is sent back to the visits with a notice, and the form comes back filled in.
Anti-abuse is the video booking's: the honeypot and form age (``umic.web.limits``), the caps
(``booking.service.check_cap`` before the check page, ``enforce_cap`` when booking) and
the rate limit on the POST steps.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Blueprint
from flask import abort
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.routing import BuildError

from .. import clock
from ..booking import drafts
from ..booking import service as booking_service
from ..booking.forms import ConfirmForm
from ..booking.forms import DetailsForm
from ..booking.picker import parse_slot
from ..booking.routes import booked_token
from ..booking.routes import current_draft
from ..booking.routes import keep_details
from ..booking.routes import looks_automated
from ..booking.routes import ready_to_show
from ..booking.routes import remember_booked
from ..booking.routes import too_many
from ..extensions import db
from ..models import BookingDraft
from ..models import Municipality
from ..models import UmicVisit
from ..web import limits
from ..web.i18n import locale_name
from ..web.i18n import switching_language
from . import service as visits_service

bp = Blueprint("visits", __name__)
log = logging.getLogger(__name__)

#: {"key": <draft key>, "town": <municipality id>}: this browser's in-person draft.
SESSION_DRAFT = "visit_draft"


def _town_or_404(slug: str) -> Municipality:
    town = db.session.scalar(select(Municipality).where(Municipality.slug == slug))
    if town is None:
        abort(404)
    return town


def _visit_or_404(town: Municipality, visit_id: int) -> UmicVisit:
    visit = db.session.get(UmicVisit, visit_id)
    if visit is None or visit.municipality_id != town.id:
        abort(404)
    return visit


def _optional_url(endpoint: str, **values) -> str | None:
    """A page of another feature, or None while it does not exist."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _slot_value(start: datetime) -> str:
    return start.astimezone(booking_service.rules().tz).isoformat()


@bp.get("/umic/<slug>/")
def town(slug: str):
    """The town's next visits, and the free times of those that take appointments."""
    town = _town_or_404(slug)
    now = clock.now()
    visits = visits_service.next_visits(town.id, now)
    times = visits_service.visit_times(visits, now)
    taken = request.args.get("ocupada", type=int)
    unchosen = request.args.get("tria", type=int)
    draft = _current_draft(town)
    return render_template(
        "visits/town.html",
        town=town,
        visits=visits,
        times=times,
        taken=taken,
        unchosen=unchosen,
        current_slot=draft.slot_start if draft else None,
        slot_value=_slot_value,
        mailbox_url=_optional_url("mailbox.town", slug=town.slug),
        booking_url=url_for("booking.town", slug=town.slug),
        can_book_video=town.can_book,
    )


def _current_draft(town: Municipality, *, include_used: bool = False) -> BookingDraft | None:
    return current_draft(SESSION_DRAFT, town, include_used=include_used)


def _taken(town: Municipality, visit: UmicVisit):
    """Back to the town's visits, saying the chosen time has just gone."""
    return redirect(url_for(".town", slug=town.slug, ocupada=visit.id) + f"#visita-{visit.id}", 303)


@bp.route("/umic/<slug>/<int:visit_id>/dades", methods=["GET", "POST"])
def details(slug: str, visit_id: int):
    """Name, e-mail, phone, address, what it is about, and the consent."""
    town = _town_or_404(slug)
    visit = _visit_or_404(town, visit_id)
    service = booking_service.active_service()
    if service is None or visit.is_cancelled or not visit.bookable:
        return redirect(url_for(".town", slug=town.slug), 303)
    now = clock.now()
    draft = _current_draft(town)
    form = DetailsForm()
    if request.method == "GET":
        if draft is not None:
            form.process(data=drafts.form_data(draft))
        form.slot.data = (request.args.get("slot") or "")[:40]
    slot_start = parse_slot(form.slot.data)
    slot_error = form_notice = None
    if request.method == "GET":
        if slot_start is None:  # "Continua" with no time chosen: say so beside the times
            return redirect(
                url_for(".town", slug=town.slug, tria=visit.id) + f"#visita-{visit.id}", 303
            )
        if not visits_service.time_is_free(visit, slot_start, now):
            return _taken(town, visit)
    elif not switching_language():
        valid = form.validate()
        if slot_start is None:
            slot_error = _("Trieu una hora per a la cita")
        elif not visits_service.time_is_free(visit, slot_start, now):
            slot_error = _("Aquesta hora ja no està disponible. Trieu-ne una altra.")
        automated = valid and slot_error is None and looks_automated(form, draft)
        if automated:
            log.info("visit details form refused as automated (town %s)", town.slug)
            form_notice = limits.too_fast_message(_("Continua"))
        elif valid and slot_start is not None:
            draft = keep_details(SESSION_DRAFT, draft, form, town, service, slot_start, now)
            if slot_error is None:
                try:
                    booking_service.check_cap(draft.email, now, limits.client_network_key())
                except booking_service.TooManyBookings as over:
                    return _too_many(town, visit, draft.email, over)
                return redirect(url_for(".check", slug=town.slug, visit_id=visit.id), 303)
    ready_to_show(form)
    return render_template(
        "visits/details.html",
        town=town,
        visit=visit,
        form=form,
        slot_start=slot_start,
        slot_end=visits_service.appointment_end(visit, slot_start) if slot_start else None,
        slot_error=slot_error,
        form_notice=form_notice,
    )


def _too_many(town, visit, email, over):
    """Over a cap: the video booking's page, its link back to this visit's details."""
    back_url = url_for(".details", slug=town.slug, visit_id=visit.id)
    return too_many(town, email, over, back_url=back_url)


@bp.route("/umic/<slug>/<int:visit_id>/comprova", methods=["GET", "POST"])
def check(slug: str, visit_id: int):
    """Check the answers, then confirm. Re-checks the time; never books twice."""
    town = _town_or_404(slug)
    visit = _visit_or_404(town, visit_id)
    draft = _current_draft(town, include_used=True)
    if draft is None or draft.slot_start is None:
        return redirect(url_for(".town", slug=town.slug), 303)
    if draft.booking_id is not None:
        token = booked_token(draft)
        if token:
            return redirect(url_for("booking.manage", token=token), 303)
        return redirect(url_for(".town", slug=town.slug), 303)
    if not draft.details_complete:
        return redirect(
            url_for(
                ".details", slug=town.slug, visit_id=visit.id, slot=_slot_value(draft.slot_start)
            ),
            303,
        )
    form = ConfirmForm()
    if form.validate_on_submit():
        now = clock.now()
        try:
            booking, token = visits_service.book_at_visit(
                visit,
                draft.slot_start,
                drafts.details_of(draft),
                now,
                language=locale_name(),
                network=limits.client_network_key(),
                consent_version=draft.consent_version,
            )
        except booking_service.SlotUnavailable:
            db.session.rollback()
            return _taken(town, visit)
        except booking_service.TooManyBookings as over:
            return _too_many(town, visit, draft.email, over)
        draft = db.session.get(BookingDraft, draft.id)
        draft.booking_id = booking.id
        db.session.commit()
        remember_booked(booking, token)
        return redirect(url_for("booking.manage", token=token), 303)
    return render_template(
        "visits/check.html",
        town=town,
        visit=visit,
        draft=draft,
        form=form,
        slot_end=visits_service.appointment_end(visit, draft.slot_start),
        details_url=url_for(
            ".details", slug=town.slug, visit_id=visit.id, slot=_slot_value(draft.slot_start)
        ),
    )
