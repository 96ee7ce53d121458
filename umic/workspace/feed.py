"""Each member of staff's private calendar feed: a secret .ics URL of their appointments.

Two halves:

* ``workspace.calendar_feed`` (``/espai/calendari``, signed in): create, change or switch
  off one's own link. Only the SHA-256 of the token is stored (like the citizens' links), so
  the full URL is shown once, right after it is made; changing it makes the old one stop
  working at once.
* ``feeds.calendar`` (``/calendari/<token>.ics``, public): what calendar programs fetch on
  their own, without cookies or a sign-in. The token is the only key; unknown or revoked
  gives 404. The file is a ``METHOD:PUBLISH`` calendar (``umic.core.ics.feed``) whose events
  carry the same UID and SEQUENCE as the e-mailed invitations.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import clock
from ..core import ics
from ..core.tokens import hash_token
from ..core.tokens import new_token
from ..extensions import db
from ..mail import compose as mail
from ..models import ACTIVE_STATUSES
from ..models import Booking
from ..models import StaffUser
from ..web.forms import Form
from ..web.urls import external_url
from . import bp

#: The public blueprint of the .ics URL; registered without a prefix.
feeds = Blueprint("feeds", __name__)

#: Which appointments the feed holds, around the moment it is fetched.
FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=90)
#: How often calendar programs are asked to fetch it again.
FEED_REFRESH = timedelta(hours=1)

# Where the new URL waits, between the POST that made it and the page that shows it once.
_SESSION_NEW_URL = "calendar_feed_url"
_ACTIONS = {"crea", "canvia", "desactiva"}


def feed_url(token: str) -> str:
    """The absolute https URL of a feed, built on BASE_URL."""
    return external_url("feeds.calendar", token=token)


def webcal_url(url: str) -> str:
    """The same URL with the webcal: scheme, which opens the calendar program to subscribe."""
    return urlunsplit(urlsplit(url)._replace(scheme="webcal"))


@bp.route("/calendari", methods=["GET", "POST"])
def calendar_feed():
    """Create, change or switch off my calendar link; the new URL is shown once."""
    user = db.session.get(StaffUser, current_user.id)
    form = Form()
    if request.method == "POST":
        action = request.form.get("accio", "")
        if not form.validate_on_submit() or action not in _ACTIONS:
            abort(400)
        if action == "desactiva":
            had_feed = user.calendar_token_hash is not None
            user.calendar_token_hash = None
            db.session.commit()
            session.pop(_SESSION_NEW_URL, None)
            if had_feed:
                flash(_("S'ha desactivat l'enllaç del calendari: ja no funciona."), "success")
        else:
            replaced = user.calendar_token_hash is not None
            token = new_token()
            user.calendar_token_hash = hash_token(token)
            db.session.commit()
            # Shown once by the next page (the session cookie is signed and only the
            # owner's browser holds it; the page removes it from there at once).
            session[_SESSION_NEW_URL] = feed_url(token)
            if replaced:
                message = _("S'ha canviat l'enllaç del calendari: l'anterior ja no funciona.")
            else:
                message = _("S'ha creat l'enllaç del calendari.")
            flash(message, "success")
        return redirect(url_for("workspace.calendar_feed"), 303)
    new_url = session.pop(_SESSION_NEW_URL, None)
    if user.calendar_token_hash is None:
        new_url = None  # switched off in another tab meanwhile
    return render_template(
        "workspace/calendar_feed.html",
        has_feed=user.calendar_token_hash is not None,
        new_url=new_url,
        webcal=webcal_url(new_url) if new_url else None,
        past_days=FEED_PAST.days,
        ahead_days=FEED_AHEAD.days,
    )


@feeds.get("/calendari/<token>.ics")
def calendar(token: str):
    """The owner's appointments as one calendar; 404 for an unknown or revoked token."""
    if not token or len(token) > 100:
        abort(404)
    owner = db.session.scalar(
        select(StaffUser).where(
            StaffUser.calendar_token_hash == hash_token(token), StaffUser.active.is_(True)
        )
    )
    if owner is None:
        abort(404)
    now = clock.now()
    bookings = db.session.scalars(
        select(Booking)
        .options(joinedload(Booking.municipality), joinedload(Booking.service))
        .where(
            Booking.technician_id == owner.id,
            Booking.status.in_(ACTIVE_STATUSES),
            Booking.start_utc >= now - FEED_PAST,
            Booking.start_utc <= now + FEED_AHEAD,
        )
        .order_by(Booking.start_utc, Booking.id)
    ).all()
    events = [
        replace(
            mail.technician_event(booking),
            summary=_(
                "Videotrucada: %(name)s (%(town)s)",
                name=booking.citizen_name,
                town=booking.municipality.name,
            ),
            stamp=now,
        )
        for booking in bookings
    ]
    body = ics.feed(
        events,
        prodid=current_app.config["ICS_PRODID"],
        name=_("Cites de videotrucada – %(name)s", name=owner.name),
        refresh=FEED_REFRESH,
    )
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = 'inline; filename="cites.ics"'
    # The URL is a secret: keep it out of search engines and of other sites' logs.
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
