"""E-mail through a persistent outbox.

Every message is written to ``outbox_message`` in the same transaction as the change that
caused it; ``umic.mail.outbox`` sends them later. So a booking succeeds with the mail server down,
and nothing is lost. Each message is rendered once, with its invitation bytes, and those
exact bytes are what every attempt sends: a retry repeats the same SEQUENCE
(docs/invitations.md, "The outbox: order and retries").
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from email.utils import make_msgid
from email.utils import parseaddr

from flask import current_app
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import update

from .. import clock
from ..core import ics
from ..extensions import db
from ..models import Booking
from ..models import OutboxMessage
from ..models import OutboxStatus
from ..models import StaffUser
from ..web.i18n import link_language
from ..web.i18n import when_text
from ..web.urls import external_url
from . import links


def organizer() -> ics.Person:
    """The service mailbox: ORGANIZER of every invitation and From of every e-mail.

    Clients match updates by organizer and sender (docs/invitations.md, "ORGANIZER and
    ATTENDEE").
    """
    name, address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])
    return ics.Person(email=address, name=name or address)


def enqueue(
    *,
    kind: str,
    recipient: ics.Person,
    subject: str,
    template: str,
    context: dict,
    booking: Booking | None = None,
    invitation: bytes | None = None,
    method: str = "",
) -> OutboxMessage:
    """Write one message to the outbox (the caller commits).

    Unsent (pending or failed) messages of the same booking to the same person are
    superseded: the new one describes the booking as it is now, and an older revision must
    never arrive after it, not even when staff retry a failed one (docs/invitations.md,
    "SEQUENCE"). A message without an invitation (the reminder) only replaces others
    without one: it must never take the place of a calendar update that has not been
    delivered yet.
    """
    sender = organizer()
    if recipient.email.lower() == sender.email.lower():
        # A calendar message addressed to its own organizer breaks Outlook: it shows nothing
        # to accept.
        raise ValueError("refusing to send an invitation to the organizer mailbox")
    if booking is not None and booking.id is not None:
        outdated = update(OutboxMessage).where(
            OutboxMessage.booking_id == booking.id,
            OutboxMessage.recipient == recipient.email,
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED]),
        )
        if invitation is None:
            outdated = outdated.where(OutboxMessage.ics.is_(None))
        db.session.execute(outdated.values(status=OutboxStatus.SUPERSEDED, link_tokens=None))
    text = render_template(f"email/{template}.txt", **context)
    html = render_template(f"email/{template}.html", **context)
    # Links at rest (umic/mail/links.py): the bodies are stored with every token masked;
    # the tokens wait in link_tokens until the message is sent, then are wiped.
    tokens = links.find_tokens(text, html)
    links.check_tokens(tokens)
    if invitation is not None and any(token.encode() in invitation for token in tokens):
        # The invitation is stored and sent byte for byte: it must never carry a token.
        raise ValueError("an invitation must not carry a link token")
    domain = sender.email.rpartition("@")[2] or None
    message = OutboxMessage(
        kind=kind,
        booking=booking,
        recipient=recipient.email,
        recipient_name=recipient.name,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        subject=subject,
        body_text=links.mask(text, tokens),
        body_html=links.mask(html, tokens),
        link_tokens=links.dump(tokens),
        link_refs=links.refs(tokens),
        ics=invitation,
        ics_method=method,
        ical_sequence=booking.ical_sequence if (booking is not None and invitation) else None,
        message_id=make_msgid(domain=domain),
        status=OutboxStatus.PENDING,
        next_attempt_at=clock.now(),
    )
    db.session.add(message)
    return message


def _event(booking: Booking, description: str) -> ics.EventData:
    return ics.EventData(
        uid=booking.ical_uid,
        sequence=booking.ical_sequence,
        start=booking.start_utc,
        end=booking.end_utc,
        summary=booking.service.name,
        description=description,
        link=booking.video_link,
        organizer=organizer(),
        stamp=clock.now(),
        prodid=current_app.config["ICS_PRODID"],
        tzid=current_app.config["TIMEZONE"],
        alarm_minutes=current_app.config["ICS_ALARM_MINUTES"],
    )


def citizen_event(booking: Booking) -> ics.EventData:
    """The invitation as the citizen sees it (also the web download)."""
    description = _(
        "Videotrucada amb %(org)s.\n%(when)s (hora de Madrid).\n\n"
        "Enllaç per entrar a la videotrucada:\n%(link)s\n\n"
        "Com connectar-vos: %(help)s",
        org=current_app.config["SERVICE_ORGANISATION"],
        when=when_text(booking.start_utc, booking.end_utc),
        link=booking.video_link,
        help=external_url("pages.instructions", **link_language()),
    )
    return _event(booking, description)


def technician_event(
    booking: Booking, times: tuple[datetime, datetime] | None = None
) -> ics.EventData:
    """The invitation as the technician sees it: who, from where, and what about.

    ``times`` replaces the booking's times (start and end, and the ones written out in
    DESCRIPTION): a technician taken off a moved booking gets a CANCEL for the times they had.
    """
    start, end = times or (booking.start_utc, booking.end_utc)
    description = _(
        "%(name)s (%(town)s).\n%(when)s (hora de Madrid).\n\n%(problem)s\n\n"
        "Enllaç per entrar a la videotrucada:\n%(link)s",
        name=booking.citizen_name,
        town=booking.municipality.name,
        when=when_text(start, end),
        problem=booking.description or _("No s'ha indicat cap descripció."),
        link=booking.video_link,
    )
    return dataclasses.replace(_event(booking, description), start=start, end=end)


def _citizen(booking: Booking) -> ics.Person:
    return ics.Person(email=booking.citizen_email, name=booking.citizen_name)


def _staff(user: StaffUser) -> ics.Person:
    return ics.Person(email=user.email, name=user.name)


def _context(booking: Booking, kind: str, token: str | None = None) -> dict:
    """What the e-mail templates show; links open the pages in the e-mail's language."""
    lang = link_language()
    return {
        "booking": booking,
        "kind": kind,
        "when": when_text(booking.start_utc, booking.end_utc),
        "manage_url": external_url("booking.manage", token=token, **lang) if token else None,
        "reschedule_url": (
            external_url("booking.reschedule", token=token, **lang) if token else None
        ),
        "cancel_url": external_url("booking.cancel", token=token, **lang) if token else None,
        "instructions_url": external_url("pages.instructions", **lang),
        "book_url": external_url("booking.town", slug=booking.municipality.slug, **lang),
        "organisation": current_app.config["SERVICE_ORGANISATION"],
    }


#: The kinds of booking e-mail each person can get (the subject sweep test reads these).
CITIZEN_KINDS = ("created", "rescheduled", "cancelled", "reminder", "reassigned")
TECHNICIAN_KINDS = ("created", "rescheduled", "cancelled", "reassigned")


def citizen_subject(kind: str, when: str) -> str:
    """The citizen's subject, in the current locale."""
    subjects = {
        "created": _("La vostra reserva s'ha confirmat: %(when)s"),
        "rescheduled": _("La vostra cita ha canviat: %(when)s"),
        "cancelled": _("La vostra cita s'ha anul·lat: %(when)s"),
        "reminder": _("Recordatori de la vostra cita: %(when)s"),
        "reassigned": _("Canvi en la vostra cita: %(when)s"),
    }
    return subjects[kind] % {"when": when}


def technician_subject(kind: str, name: str, when: str) -> str:
    """The technician's subject, in the current locale."""
    subjects = {
        "created": _("Nova reserva de %(name)s: %(when)s"),
        "rescheduled": _("Cita canviada de %(name)s: %(when)s"),
        "cancelled": _("Cita anul·lada de %(name)s: %(when)s"),
        "reassigned": _("Cita reassignada a una altra persona: %(name)s, %(when)s"),
    }
    return subjects[kind] % {"name": name, "when": when}


def _to_citizen(booking: Booking, kind: str, token: str | None, method: str):
    """Citizen's copy, in the language they booked in (none when staff booked without e-mail)."""
    if not booking.citizen_email:
        return
    with force_locale(booking.language):
        context = _context(booking, kind, token)
        invitation = None
        if method:
            invitation = ics.invitation(
                citizen_event(booking), _citizen(booking), method=method, role="citizen"
            )
        enqueue(
            kind=f"{kind}_citizen",
            recipient=_citizen(booking),
            subject=citizen_subject(kind, context["when"]),
            template="citizen",
            context=context,
            booking=booking,
            invitation=invitation,
            method=method,
        )


def _to_technician(
    booking: Booking,
    technician: StaffUser,
    kind: str,
    method: str,
    *,
    uninvite: bool = False,
    times: tuple[datetime, datetime] | None = None,
):
    """Technician's copy, in the service's language.

    ``times`` gives the revision a technician had, when they are taken off a moved booking:
    their CANCEL must name the times they knew, so that their client finds the entry.
    """
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        context = _context(booking, kind)
        event = technician_event(booking, times)
        if times is not None:
            context["when"] = when_text(*times)
        invitation = ics.invitation(
            event,
            _staff(technician),
            method=method,
            role="technician",
            uninvite=uninvite,
        )
        enqueue(
            kind=f"{kind}_technician",
            recipient=_staff(technician),
            subject=technician_subject(kind, booking.citizen_name, context["when"]),
            template="technician",
            context=context,
            booking=booking,
            invitation=invitation,
            method=method,
        )


def notify_booking_created(booking: Booking, token: str) -> None:
    """Confirmation with invitation to the citizen; "Nova reserva" to the technician."""
    _to_citizen(booking, "created", token, "REQUEST")
    _to_technician(booking, booking.technician, "created", "REQUEST")


def notify_booking_rescheduled(
    booking: Booking,
    token: str,
    previous_technician: StaffUser,
    previous_times: tuple[datetime, datetime],
) -> None:
    """An update (same UID, higher SEQUENCE) to both; a CANCEL to a technician taken off it."""
    _to_citizen(booking, "rescheduled", token, "REQUEST")
    _to_technician(booking, booking.technician, "rescheduled", "REQUEST")
    if previous_technician.id != booking.technician_id:
        _to_technician(
            booking,
            previous_technician,
            "reassigned",
            "CANCEL",
            uninvite=True,
            times=previous_times,
        )


def notify_booking_reassigned(booking: Booking, token: str, previous_technician: StaffUser) -> None:
    """Another technician takes the call: CANCEL to the old, REQUEST to the rest.

    All with the booking's UID and its new SEQUENCE (docs/invitations.md, "Who gets what").
    """
    _to_technician(
        booking,
        previous_technician,
        "reassigned",
        "CANCEL",
        uninvite=True,
        times=(booking.start_utc, booking.end_utc),
    )
    _to_technician(booking, booking.technician, "created", "REQUEST")
    _to_citizen(booking, "reassigned", token, "REQUEST")


def notify_booking_cancelled(booking: Booking) -> None:
    """METHOD:CANCEL to the citizen and the technician."""
    _to_citizen(booking, "cancelled", None, "CANCEL")
    _to_technician(booking, booking.technician, "cancelled", "CANCEL")


def notify_reminder(booking: Booking, token: str) -> None:
    """The reminder the day before: when, the join link, how to change or cancel."""
    _to_citizen(booking, "reminder", token, "")
