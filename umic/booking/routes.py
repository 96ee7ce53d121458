"""The citizen's journey: find the town, choose a day and a time, give details, check,
confirm; later reschedule or cancel through the manage link.

Every step is a plain HTML form that works without JavaScript; htmx only swaps the list of
times in place. Routes stay thin: rules are in ``umic.core.scheduling`` and ``service``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import case
from sqlalchemy import or_
from sqlalchemy import select

from .. import clock
from ..core import ics
from ..core import scheduling
from ..core.dates import parse_day
from ..core.join import join_button
from ..core.sealed import seal
from ..core.sealed import unseal
from ..core.text import fold
from ..extensions import db
from ..mail import compose as mail
from ..models import Booking
from ..models import BookingDraft
from ..models import Municipality
from ..models import Service
from ..web import limits
from ..web.htmx import is_htmx
from ..web.htmx import render_fragment_memoised
from ..web.htmx import render_page_or_fragment
from ..web.i18n import locale_name
from ..web.i18n import switching_language
from . import abuse
from . import drafts
from . import free_times
from . import service as booking_service
from . import ways
from .forms import CancelForm
from .forms import ConfirmForm
from .forms import DetailsForm
from .picker import free_times_context
from .picker import parse_slot

bp = Blueprint("booking", __name__)
bp.record_once(lambda state: ways.register(state.app))  # the town pages' template helpers
log = logging.getLogger(__name__)
# Registered twice: here, and under /incrustat as "embed" for towns' iframes (umic/embed.py).
# Views and templates therefore link with relative endpoints (".town"), staying in their mode.

SESSION_DRAFT = "draft"  # {"key": <draft key>, "town": <municipality id>}
# {"<booking id>": <manage token, sealed>} for "back" after confirming. Sealed with the secret
# key: the cookie is signed but readable, and must not hold a bearer token (core/sealed.py).
SESSION_BOOKED = "booked"


# --- Finding the town -------------------------------------------------------------------


def search_towns(query: str, limit: int = 20) -> list[Municipality]:
    """Towns matching what was typed, forgiving short forms and typos (``core.town_search``,
    over the names this process keeps: ``ways.town_index``); or an INE code prefix."""
    folded = fold(query)
    if len(folded) < 2:
        return []
    if folded.isdigit():
        starts = Municipality.search_name.like(f"{folded}%")
        condition = or_(
            Municipality.search_name.like(f"%{folded}%"), Municipality.ine_code.like(f"{folded}%")
        )
        return list(
            db.session.scalars(
                select(Municipality)
                .where(condition)
                .order_by(case((starts, 0), else_=1), Municipality.search_name, Municipality.name)
                .limit(limit)
            )
        )
    ids = ways.town_index().search(query, limit)
    if not ids:
        return []
    found = {
        town.id: town
        for town in db.session.scalars(select(Municipality).where(Municipality.id.in_(ids)))
    }
    return [found[town_id] for town_id in ids if town_id in found]


@bp.get("/reserva/")
def index():
    """Step 1: which town do you live in? (type-ahead with htmx, a plain GET form without)."""
    query = request.args.get("q", "")[:100]
    results = search_towns(query) if query else []
    return render_page_or_fragment(
        "booking/index.html", "booking/_town_results.html", query=query, results=results
    )


def _town_or_404(slug: str) -> Municipality:
    town = db.session.scalar(select(Municipality).where(Municipality.slug == slug))
    if town is None:
        abort(404)
    return town


def _reads_only() -> None:
    """This request only reads: its statements run without a transaction (autocommit).

    The day-times fragment is the most frequent request of all, and on PostgreSQL a
    transaction costs two extra round trips to the server (BEGIN and ROLLBACK) for a request
    that makes one query: on a busy server each round trip means waiting for the database
    process to be scheduled. Each statement still sees only committed data, and the free
    times' number is read before what it stands for (``free_times``), so nothing shown can
    be older than the number it is kept under. The connection gets its usual transactions
    back when it returns to the pool.
    """
    if not db.session().in_transaction():
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


class _Bookable(NamedTuple):
    town: Municipality
    service: Service
    version: int | None  # the free times' number, read first (``free_times``)


def _bookable(slug: str) -> _Bookable | Response:
    """The town, the service and the free times' number (one query), or the page that says
    this town cannot book here."""
    town, service, version = booking_service.town_and_service(slug)
    if town is None:
        abort(404)
    if not town.can_book or service is None:
        context = ways.not_available_context(town, service, version, clock.now())
        return Response(render_template("booking/not_available.html", **context))
    return _Bookable(town, service, version)


# --- Choosing a day and a time ------------------------------------------------------------


@bp.get("/reserva/<slug>/")
def town(slug: str):
    """Step 2: the service, the next days with free times, and the times of the chosen day."""
    if is_htmx():
        quick = _quick_times(slug)
        if quick is not None:
            return quick
    _reads_only()
    found = _bookable(slug)
    if isinstance(found, Response):
        return found
    town, service, version = found
    context = _picker(service, town.id, fragment=is_htmx(), version=version)
    draft = _current_draft(town)
    values = dict(
        town=town,
        service=service,
        taken=request.args.get("ocupada") == "1",
        picker_url=url_for(".town", slug=town.slug),
        times_url=url_for(".details", slug=town.slug),
        current_slot=draft.slot_start if draft else None,
        **context,
    )
    if is_htmx():
        return _times_fragment(values)
    visits = ways.next_visits(town.id, clock.now(), version)  # "Other ways to get help"
    response = make_response(render_template("booking/town.html", visits=visits, **values))
    response.vary.add("HX-Request")  # caches must keep the page and the fragment apart
    return response


def _picker(service, municipality_id: int | None, **options) -> dict:
    """``free_times_context`` for this request's day (``dia``) and first day shown (``des``)."""
    return free_times_context(
        service,
        clock.now(),
        booking_service.rules(),
        parse_day(request.args.get("dia")),
        parse_day(request.args.get("des")),
        municipality_id=municipality_id,
        **options,
    )


def _quick_times(slug: str) -> Response | None:
    """The day-times fragment from what this process keeps, while nothing has changed: no
    session, one primary-key read (``free_times.quick_lookup``). None: the usual way."""
    found = free_times.quick_lookup(slug)
    if found is None:
        return None
    town, service, version = found
    context = _picker(service, town.id, fragment=True, version=version)
    draft = _current_draft(town)
    return _times_fragment(
        dict(
            service=service,
            times_url=url_for(".details", slug=town.slug),
            current_slot=draft.slot_start if draft else None,
            **context,
        )
    )


def _times_fragment(values: dict) -> Response:
    """The day-times fragment, kept once rendered (``render_fragment_memoised``): its key is
    everything ``booking/_times.html`` shows."""
    key = (
        values["chosen_day"],
        values["day_missing"],
        tuple((slot.start, slot.end) for slot in values["times"]),
        values["current_slot"],
        values["service"].duration_minutes,
        values["times_url"],
        tuple(sorted((values.get("hidden_fields") or {}).items())),
    )
    return render_fragment_memoised("booking/_times.html", key, **values)


# --- Details, check answers, confirm ---------------------------------------------------------


def current_draft(
    session_key: str, town: Municipality, *, include_used: bool = False
) -> BookingDraft | None:
    """This browser's draft for this town kept under ``session_key`` (a video booking's, an
    in-person one's), if any; a draft already booked only with ``include_used``."""
    stored = session.get(session_key)
    if not isinstance(stored, dict) or stored.get("town") != town.id:
        return None
    draft = drafts.find_draft(stored.get("key"), clock.now())
    if draft is None or draft.municipality_id != town.id:
        return None
    if draft.booking_id is not None and not include_used:
        return None
    return draft


def _current_draft(town: Municipality, *, include_used: bool = False) -> BookingDraft | None:
    """This browser's draft for this town, if any."""
    return current_draft(SESSION_DRAFT, town, include_used=include_used)


def keep_details(
    session_key: str,
    draft: BookingDraft | None,
    form: DetailsForm,
    town: Municipality,
    service: Service,
    slot_start: datetime,
    now: datetime,
) -> BookingDraft:
    """Keep the time and what was typed in the draft (commits); a new draft's key goes in the
    session under ``session_key``."""
    draft, key = drafts.save_details(
        draft, town.id, service.id, slot_start, drafts.typed_details(form), now
    )
    if key is not None:
        session[session_key] = {"key": key, "town": town.id}
    return draft


def ready_to_show(form: DetailsForm) -> None:
    """Before the details form is shown: the hidden field empty, and the time it was first
    shown stamped (kept when a valid stamp came back)."""
    form.comentari.data = ""  # never sent back filled
    if form_age(form) is None:
        form.shown_at.data = limits.form_stamp(current_app.config["SECRET_KEY"], clock.timestamp())


def booked_token(draft: BookingDraft) -> str | None:
    """The manage link's token of the booking made from this draft, when this browser made it."""
    return unseal(
        current_app.config["SECRET_KEY"],
        SESSION_BOOKED,
        session.get(SESSION_BOOKED, {}).get(str(draft.booking_id)),
    )


def remember_booked(booking: Booking, token: str) -> None:
    """Keep the new booking's token (sealed) for this browser, the last five only, and flash
    the confirmation banner of the manage page."""
    booked = dict(session.get(SESSION_BOOKED, {}))
    booked[str(booking.id)] = seal(current_app.config["SECRET_KEY"], SESSION_BOOKED, token)
    session[SESSION_BOOKED] = dict(list(booked.items())[-5:])
    flash("booked", "confirmation")


def _slot_is_free(
    service: Service, start: datetime, town: Municipality, version: int | None = None
) -> bool:
    rules_ = booking_service.rules()
    slots = free_times.day_times(
        service,
        clock.now(),
        rules_,
        start.astimezone(rules_.tz).date(),
        municipality_id=town.id,
        version=version,
    )
    return scheduling.find_slot(slots, start) is not None


@bp.route("/reserva/<slug>/dades", methods=["GET", "POST"])
def details(slug: str):
    """Step 3: name, e-mail, phone, address, the problem, and the consent."""
    found = _bookable(slug)
    if isinstance(found, Response):
        return found
    town, service, version = found
    draft = _current_draft(town)
    form = DetailsForm()
    if request.method == "GET":
        if draft is not None:
            form.process(data=drafts.form_data(draft))
        chosen = request.args.get("slot") or (
            draft.slot_start.isoformat() if draft and draft.slot_start else ""
        )
        form.slot.data = chosen[:40]
    slot_start = parse_slot(form.slot.data)
    slot_error = form_notice = None
    if request.method == "GET":
        if slot_start is None:
            return redirect(url_for(".town", slug=town.slug), 303)
        if not _slot_is_free(service, slot_start, town, version):
            return _taken(town, slot_start)
    elif not switching_language():  # the language switch shows what was typed, unchecked
        valid = form.validate()
        if slot_start is None:
            slot_error = _("Trieu una hora per a la cita")
        elif not _slot_is_free(service, slot_start, town, version):
            slot_error = _("Aquesta hora ja no està disponible. Trieu-ne una altra.")
        if valid and slot_error is None and looks_automated(form, draft):
            log.info("details form refused as automated (town %s)", town.slug)
            form_notice = limits.too_fast_message(_("Continua"))  # M5: what to do
        elif valid and slot_error is None:
            now = clock.now()
            draft = keep_details(SESSION_DRAFT, draft, form, town, service, slot_start, now)
            try:
                booking_service.check_cap(draft.email, now, limits.client_network_key())
            except booking_service.TooManyBookings as over:
                return too_many(town, draft.email, over)
            return redirect(url_for(".check", slug=town.slug), 303)
        elif valid and slot_start is not None and not looks_automated(form, draft):
            # The time went meanwhile: keep what was typed, so that the form is filled in
            # again when the citizen has chosen another time.
            draft = keep_details(SESSION_DRAFT, draft, form, town, service, slot_start, clock.now())
    ready_to_show(form)
    return render_template(
        "booking/details.html",
        town=town,
        service=service,
        form=form,
        slot_start=slot_start,
        slot_end=(slot_start + service.duration) if slot_start else None,
        slot_error=slot_error,
        form_notice=form_notice,
    )


def form_age(form: DetailsForm) -> float | None:
    """Seconds since this browser was first shown the form (None: no valid stamp)."""
    return limits.stamp_age(current_app.config["SECRET_KEY"], form.shown_at.data, clock.timestamp())


def looks_automated(form: DetailsForm, draft: BookingDraft | None) -> bool:
    """The hidden field filled, or a first form sent back faster than a person can type.

    A browser that already has a draft is not timed: it may change one letter and continue.
    """
    min_seconds = 0 if draft is not None else current_app.config["BOOKING_MIN_FILL_SECONDS"]
    return limits.looks_automated(form.comentari.data, form_age(form), min_seconds)


def too_many(
    town: Municipality,
    email: str,
    over: booking_service.TooManyBookings,
    back_url: str | None = None,
) -> str:
    """Over a cap: a page (200) that says what happened and what to do instead. The draft
    keeps what was typed: the page's link back (``back_url``, else the video details step)
    shows the form filled in. Also for in-person appointments (``umic.visits.routes``)."""
    log.info("booking refused by the %s cap (town %s)", over.reason, town.slug)
    abuse.record_refusal(over.reason, clock.now())
    return render_template(
        "booking/too_many.html",
        town=town,
        email=email,
        active=over.active,
        cap=over.cap,
        reason=over.reason,
        back_url=back_url,
    )


def _taken(town: Municipality, start: datetime) -> Response:
    """Back to the day's remaining times, saying the chosen one has just gone."""
    day = start.astimezone(booking_service.rules().tz).date()
    return redirect(
        url_for(".town", slug=town.slug, dia=day.isoformat(), ocupada=1) + "#hores", 303
    )


@bp.route("/reserva/<slug>/comprova", methods=["GET", "POST"])
def check(slug: str):
    """Step 4: check the answers, then confirm. Re-checks the time; never books twice."""
    found = _bookable(slug)
    if isinstance(found, Response):
        return found
    town, service, _version = found
    draft = _current_draft(town, include_used=True)
    if draft is None or draft.slot_start is None:
        return redirect(url_for(".town", slug=town.slug), 303)
    if draft.booking_id is not None:
        token = booked_token(draft)
        if token:
            return redirect(url_for(".manage", token=token), 303)
        return render_template("booking/already_booked.html", town=town)
    if not draft.details_complete:
        return redirect(url_for(".details", slug=town.slug), 303)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            booking, token = booking_service.book(
                draft, clock.now(), language=locale_name(), network=limits.client_network_key()
            )
        except booking_service.SlotUnavailable:
            db.session.rollback()
            return _taken(town, draft.slot_start)
        except booking_service.TooManyBookings as over:
            return too_many(town, draft.email, over)
        remember_booked(booking, token)
        return redirect(url_for(".manage", token=token), 303)
    return render_template(
        "booking/check.html",
        town=town,
        service=service,
        draft=draft,
        form=form,
        slot_end=draft.slot_start + service.duration,
    )


# --- Manage: see, add to calendar, reschedule, cancel ----------------------------------------


def _booking_or_404(token: str) -> Booking:
    booking = booking_service.find_by_token(token, clock.now())
    if booking is None:
        abort(404)
    return booking


def _state(booking: Booking, now: datetime) -> str:
    if booking.is_cancelled:
        return "cancelled"
    if now >= booking.end_utc:
        return "past"
    if not booking_service.change_allowed(booking, now):
        return "locked"
    return "open"


@bp.get("/cita/<token>")
def manage(token: str):
    """The manage link: the booking, how to join, add to calendar, reschedule or cancel."""
    booking = _booking_or_404(token)
    event = mail.citizen_event(booking)
    now = clock.now()
    return render_template(
        # An in-person appointment at a visit of the mobile unit: the place, no video link.
        "visits/manage.html" if booking.in_person else "booking/manage.html",
        booking=booking,
        token=token,
        state=_state(booking, now),
        # The join button is live only shortly before the call (umic/core/join.py, L8).
        join=join_button(
            booking.start_utc,
            booking.end_utc,
            now,
            current_app.config["JOIN_OPENS_MINUTES_BEFORE"],
        ),
        google_url=ics.google_calendar_url(event),
        outlook_url=ics.outlook_calendar_url(event),
        cutoff_minutes=current_app.config["BOOKING_CHANGE_CUTOFF_MINUTES"],
    )


@bp.get("/cita/<token>/calendari.ics")
def calendar_file(token: str):
    """The "Afegeix al calendari" file (no METHOD, same UID and SEQUENCE as the invitations).

    A cancelled booking's file is the cancelled event (STATUS:CANCELLED, the cancellation's
    SEQUENCE) rather than a 410: a calendar that imported the appointment and imports this
    file again marks it cancelled, where an error would leave it standing.
    """
    booking = _booking_or_404(token)
    body = ics.download(mail.citizen_event(booking), cancelled=booking.is_cancelled)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="cita-{booking.reference}.ics"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _changeable_or_redirect(booking: Booking, token: str) -> Response | None:
    if _state(booking, clock.now()) != "open":
        return redirect(url_for(".manage", token=token), 303)
    return None


def _movable_or_redirect(booking: Booking, token: str) -> Response | None:
    """Rescheduling online is for video calls: an in-person appointment is cancelled and
    another time chosen at the town's visits (umic/visits/service.py says why)."""
    if booking.in_person:
        return redirect(url_for(".manage", token=token), 303)
    return _changeable_or_redirect(booking, token)


@bp.get("/cita/<token>/planifica")
def reschedule(token: str):
    """Torna a planificar: the same day and time picker, for the same booking."""
    booking = _booking_or_404(token)
    blocked = _movable_or_redirect(booking, token)
    if blocked:
        return blocked
    context = _picker(
        booking.service,
        booking.municipality_id,
        fragment=is_htmx(),
        exclude_booking_id=booking.id,
        leave_out=booking.start_utc,
    )
    values = dict(
        booking=booking,
        token=token,
        town=booking.municipality,
        service=booking.service,
        taken=request.args.get("ocupada") == "1",
        picker_url=url_for(".reschedule", token=token),
        times_url=url_for(".reschedule_confirm", token=token),
        current_slot=None,
        **context,
    )
    if is_htmx():
        return _times_fragment(values)
    response = make_response(render_template("booking/reschedule.html", **values))
    response.vary.add("HX-Request")  # caches must keep the page and the fragment apart
    return response


@bp.route("/cita/<token>/planifica/confirma", methods=["GET", "POST"])
def reschedule_confirm(token: str):
    """Confirm the new time: nothing changes until the citizen confirms it."""
    booking = _booking_or_404(token)
    blocked = _movable_or_redirect(booking, token)
    if blocked:
        return blocked
    new_start = parse_slot(request.values.get("slot"))
    if new_start is None:
        return redirect(url_for(".reschedule", token=token), 303)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            booking_service.reschedule(booking.id, new_start, clock.now())
        except booking_service.SlotUnavailable:
            day = new_start.astimezone(booking_service.rules().tz).date()
            return redirect(
                url_for(".reschedule", token=token, dia=day.isoformat(), ocupada=1), 303
            )
        except booking_service.ChangeNotAllowed:
            return redirect(url_for(".manage", token=token), 303)
        flash("rescheduled", "confirmation")
        return redirect(url_for(".manage", token=token), 303)
    return render_template(
        "booking/reschedule_confirm.html",
        booking=booking,
        token=token,
        form=form,
        new_start=new_start,
        new_end=new_start + booking.service.duration,
        slot=request.values.get("slot"),
    )


@bp.route("/cita/<token>/anulla", methods=["GET", "POST"])
def cancel(token: str):
    """Cancel, with an optional reason, after a confirmation step."""
    booking = _booking_or_404(token)
    blocked = _changeable_or_redirect(booking, token)
    if blocked:
        return blocked
    form = CancelForm()
    if form.validate_on_submit():
        try:
            booking_service.cancel(booking.id, clock.now(), reason=form.reason.data or "")
        except booking_service.ChangeNotAllowed:
            return redirect(url_for(".manage", token=token), 303)
        flash("cancelled", "confirmation")
        return redirect(url_for(".manage", token=token), 303)
    return render_template("booking/cancel.html", booking=booking, token=token, form=form)
