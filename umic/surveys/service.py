"""The satisfaction survey: when it is sent, the citizen's link, and the answer.

A citizen gets one survey per appointment, by e-mail through the outbox, once the call is
over: at once when it is marked attended after its end (:func:`survey_after_mark`, called by
``booking.service.mark``); by the periodic job (:func:`queue_due_surveys`, in ``umic.jobs``)
when it was marked attended during the call (the technician clicks "attended" while still
talking: the citizen is not asked to rate a call that has not finished, and a call marked by
mistake can still be corrected before anything leaves), or ``SURVEY_UNMARKED_AFTER_HOURS``
after its end if nobody marked it. Never for a no-show or a cancelled booking, never
without an e-mail address, never twice: the survey is *taken* with a conditional UPDATE
(``... SET survey_sent_at = now WHERE survey_sent_at IS NULL``) that the database lets only
one transaction win, whatever the number of workers. The link is an ``AccessToken`` of
purpose SURVEY (only the hash is stored) that works for ``SURVEY_LINK_DAYS``.

The results for coordinators are figures, in ``umic.stats.survey_results``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from .. import clock
from ..core import dates
from ..core import ics
from ..extensions import db
from ..mail.compose import enqueue
from ..models import AccessToken
from ..models import Booking
from ..models import BookingStatus
from ..models import OutboxMessage
from ..models import OutboxStatus
from ..models import Resolved
from ..models import SurveyResponse
from ..models import TokenPurpose
from ..web.access import find_token
from ..web.access import issue_token
from ..web.i18n import link_language
from ..web.urls import external_url

#: The outbox ``kind`` of the survey e-mail.
MAIL_KIND = "survey"
#: Ratings go from 0 (not satisfied at all) to 10 (very satisfied).
SCORES = tuple(range(11))
#: The longest comment a citizen may leave.
COMMENT_MAX = 1000
#: No survey for a call that ended longer ago than this (old calls when the feature is
#: switched on, or a call marked weeks late); ``SURVEY_MAX_AGE_DAYS`` overrides it.
DEFAULT_MAX_AGE_DAYS = 14

#: "S'ha resolt la consulta?": the answers as the citizen and the results read them.
RESOLVED_LABELS = {answer: _l(answer.label) for answer in Resolved}


# --- Sending ------------------------------------------------------------------------------------


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _max_age() -> timedelta:
    return timedelta(days=int(current_app.config.get("SURVEY_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS)))


def _due(now: datetime):
    """SQL: the booking's survey may go now: the call has ended, and it was marked attended
    or nobody marked it long enough after its end. A call marked attended while it is still
    on is not due yet: the periodic job takes it once its end has passed."""
    unmarked_after = timedelta(hours=float(current_app.config["SURVEY_UNMARKED_AFTER_HOURS"]))
    oldest = now - _max_age()
    return and_(
        Booking.citizen_email != "",
        # The start bound lets the index on start_utc skip the history (no call lasts a day).
        Booking.start_utc >= oldest - timedelta(days=1),
        Booking.start_utc <= now,
        Booking.end_utc >= oldest,
        or_(
            and_(Booking.status == BookingStatus.ATTENDED, Booking.end_utc <= now),
            and_(
                Booking.status == BookingStatus.CONFIRMED,
                Booking.end_utc <= now - unmarked_after,
            ),
        ),
    )


def _take(booking_id: int, now: datetime) -> bool:
    """Record that this booking's survey goes now; False if it is not due or already went.

    One conditional UPDATE: of two workers (or a worker and a member of staff marking the
    call), the database lets exactly one change the row; the other changes nothing.
    """
    taken = db.session.execute(
        update(Booking)
        .where(Booking.id == booking_id, Booking.survey_sent_at.is_(None), _due(now))
        .values(survey_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return taken.rowcount == 1


def _issue_token(booking: Booking, expires_at: datetime, now: datetime) -> str:
    return issue_token(TokenPurpose.SURVEY, expires_at, booking=booking, now=now)


def _email(booking: Booking, now: datetime) -> None:
    """Write the survey e-mail, in the citizen's language, to go out when the call is over."""
    send_at = max(now, booking.end_utc)
    expires_at = send_at + timedelta(days=int(current_app.config["SURVEY_LINK_DAYS"]))
    token = _issue_token(booking, expires_at, now)
    tz = _tz()
    language = booking.language or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(language):
        day = dates.day_text(booking.start_utc.astimezone(tz).date(), language)
        context = {
            "name": booking.citizen_name,
            "day": day,
            "survey_url": external_url("surveys.survey", token=token, **link_language()),
            "until": dates.day_text(expires_at.astimezone(tz).date(), language),
            "organisation": current_app.config["SERVICE_ORGANISATION"],
            "help_phone": current_app.config["HELP_PHONE"],
        }
        message = enqueue(
            kind=MAIL_KIND,
            recipient=ics.Person(email=booking.citizen_email, name=booking.citizen_name),
            subject=_("Com valoreu la videotrucada del %(day)s?", day=day),
            template="survey",
            context=context,
            booking=booking,
        )
    # Only due once the call has ended (``_due``); never before its end in any case.
    message.next_attempt_at = send_at


def queue_survey(booking: Booking, now: datetime) -> bool:
    """Queue the survey of ``booking`` if it is due and was never sent (the caller commits).

    Called right after a call is marked attended, in the same transaction; during the call
    it is not due yet and nothing is queued (the periodic job sends it after the end).
    """
    if booking.id is None or not booking.citizen_email:
        return False
    db.session.flush()  # the new status must be in the row the UPDATE looks at
    if not _take(booking.id, now):
        return False
    set_committed_value(booking, "survey_sent_at", now)
    _email(booking, now)
    return True


def survey_after_mark(booking: Booking, now: datetime) -> None:
    """After staff mark a call (the caller commits): attended queues the survey if the call
    has ended (otherwise the periodic job does, after the end); a call corrected to no-show
    takes back a survey that has not left yet."""
    if booking.status == BookingStatus.ATTENDED:
        queue_survey(booking, now)
    elif booking.status == BookingStatus.NO_SHOW and booking.survey_sent_at is not None:
        withdrawn = db.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.booking_id == booking.id,
                OutboxMessage.kind == MAIL_KIND,
                OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED]),
            )
            .values(status=OutboxStatus.SUPERSEDED, link_tokens=None)
            .execution_options(synchronize_session=False)
        )
        if withdrawn.rowcount:
            db.session.execute(
                update(AccessToken)
                .where(
                    AccessToken.booking_id == booking.id,
                    AccessToken.purpose == TokenPurpose.SURVEY,
                )
                .values(expires_at=now)
                .execution_options(synchronize_session=False)
            )
            booking.survey_sent_at = None


def queue_due_surveys(now: datetime | None = None) -> int:
    """Queue every survey that is due (the mail worker's pass); commits; returns how many.

    Calls marked attended whose survey did not go yet, and calls nobody marked that ended
    ``SURVEY_UNMARKED_AFTER_HOURS`` ago. Each in its own transaction, taken first.
    """
    now = now or clock.now()
    due = db.session.scalars(
        select(Booking.id)
        .where(
            Booking.survey_sent_at.is_(None),
            Booking.status.in_([BookingStatus.ATTENDED, BookingStatus.CONFIRMED]),
            # The index on (status, start_utc) finds the few recent calls.
            Booking.start_utc >= now - _max_age() - timedelta(days=1),
            _due(now),
        )
        .order_by(Booking.id)
    ).all()
    db.session.rollback()  # end the read before taking any row
    queued = 0
    for booking_id in due:
        if not _take(booking_id, now):
            db.session.rollback()
            continue
        booking = db.session.get(Booking, booking_id, populate_existing=True)
        _email(booking, now)
        db.session.commit()
        queued += 1
    return queued


# --- The citizen's link -------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyLink:
    """What a survey link opens. ``state``: open, answered, expired, closed (the call turned
    out a no-show or was cancelled) or unknown (then ``token`` and ``booking`` are None)."""

    state: str
    token: AccessToken | None = None
    booking: Booking | None = None


def find_survey_link(token: str, now: datetime) -> SurveyLink:
    """Look a link up by the hash of its token (two queries)."""
    row = find_token(token, TokenPurpose.SURVEY, joinedload(AccessToken.booking))
    if row is None or row.booking is None:
        return SurveyLink("unknown")
    booking = row.booking
    answered = db.session.scalar(
        select(SurveyResponse.id).where(SurveyResponse.booking_id == booking.id).limit(1)
    )
    if answered is not None:
        return SurveyLink("answered", row, booking)
    if row.expires_at <= now:
        return SurveyLink("expired", row, booking)
    if booking.status not in (BookingStatus.ATTENDED, BookingStatus.CONFIRMED):
        return SurveyLink("closed", row, booking)
    return SurveyLink("open", row, booking)


def new_response(
    link: SurveyLink,
    *,
    attention: int,
    competence: int,
    resolved: str,
    comment: str,
    language: str,
    now: datetime,
) -> SurveyResponse:
    """The answer of an open link, with the technician and town copied from the booking.

    Added to the session, not committed: the caller commits, and a second answer for the
    same booking (two submits at once) is refused by the database's unique constraint.
    """
    booking = link.booking
    response = SurveyResponse(
        booking_id=booking.id,
        technician_id=booking.technician_id,
        municipality_id=booking.municipality_id,
        attention=attention,
        competence=competence,
        resolved=resolved,
        comment=comment,
        language=language[:5],
        answered_at=now,
    )
    link.token.last_used_at = now
    db.session.add(response)
    return response
