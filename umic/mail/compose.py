"""E-mail through a persistent outbox.

Every message is written to ``outbox_message`` in the same transaction as the change that
caused it; ``umic.mail.outbox`` sends them later. So a booking succeeds with the mail server down,
and nothing is lost. Each message is rendered once, with its invitation bytes, and those
exact bytes are what every attempt sends: a retry repeats the same SEQUENCE
(docs/invitations.md, "The outbox: order and retries").
"""

from __future__ import annotations

import contextlib
import dataclasses
from contextvars import ContextVar
from datetime import datetime
from email.utils import make_msgid
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from flask import current_app
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy import update
from werkzeug.routing import BuildError

from .. import clock
from ..core import ics
from ..extensions import db
from ..models import Booking
from ..models import Mediation
from ..models import OutboxMessage
from ..models import OutboxStatus
from ..models import StaffUser
from ..web.access import issue_status_token
from ..web.i18n import link_language
from ..web.i18n import organisation_name
from ..web.i18n import service_name
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


#: Set while a mediation's joint session is being booked (umic.mediation.service), before the
#: mediation names its booking: its invitations are already "Sessió de mediació".
_booking_session: ContextVar[bool] = ContextVar("booking_mediation_session", default=False)


@contextlib.contextmanager
def booking_mediation_session():
    """Within this block, the booking being made is a mediation's joint session."""
    token = _booking_session.set(True)
    try:
        yield
    finally:
        _booking_session.reset(token)


def session_mediation(booking: Booking) -> Mediation | None:
    """The mediation whose joint session ``booking`` is, or None. Only staff book sessions,
    so a citizen's own booking costs no query."""
    if booking.id is None or booking.booked_by_id is None:
        return None
    return db.session.scalar(select(Mediation).where(Mediation.session_booking_id == booking.id))


def _is_session(booking: Booking) -> bool:
    return _booking_session.get() or session_mediation(booking) is not None


def _event(booking: Booking, description: str) -> ics.EventData:
    return ics.EventData(
        uid=booking.ical_uid,
        sequence=booking.ical_sequence,
        start=booking.start_utc,
        end=booking.end_utc,
        # in the language being written
        summary=_("Sessió de mediació") if _is_session(booking) else service_name(booking.service),
        description=description,
        link=booking.video_link,
        organizer=organizer(),
        stamp=clock.now(),
        prodid=current_app.config["ICS_PRODID"],
        tzid=current_app.config["TIMEZONE"],
        alarm_minutes=current_app.config["ICS_ALARM_MINUTES"],
        location=visit_place(booking),
    )


def visit_place(booking: Booking) -> str:
    """Where an in-person appointment is: "<place>, <town>" (empty for a video call)."""
    if booking.visit is None:
        return ""
    return f"{booking.visit.place}, {booking.municipality.name}"


def _in_person_description(booking: Booking, first_line: str) -> str:
    """An in-person appointment's DESCRIPTION: who, when, where and how to find it."""
    text = _(
        "%(first)s\n%(when)s (hora de Madrid).\n\nPresencialment a: %(place)s",
        first=first_line,
        when=when_text(booking.start_utc, booking.end_utc),
        place=visit_place(booking),
    )
    if booking.visit.place_details:
        text += "\n" + booking.visit.place_details
    return text


def citizen_event(booking: Booking) -> ics.EventData:
    """The invitation as the citizen sees it (also the web download)."""
    if booking.in_person:
        first = _(
            "Cita presencial amb %(org)s (unitat mòbil).",
            org=organisation_name(),
        )
        return _event(booking, _in_person_description(booking, first))
    description = _(
        "Videotrucada amb %(org)s.\n%(when)s (hora de Madrid).\n\n"
        "Enllaç per entrar a la videotrucada:\n%(link)s\n\n"
        "Com connectar-vos: %(help)s",
        org=organisation_name(),
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
    if booking.in_person:
        description = _(
            "%(name)s (%(town)s).\n%(when)s (hora de Madrid).\n\n%(problem)s\n\n"
            "Presencialment a: %(place)s",
            name=booking.citizen_name,
            town=booking.municipality.name,
            when=when_text(start, end),
            problem=booking.description or _("No s'ha indicat cap descripció."),
            place=visit_place(booking),
        )
        return dataclasses.replace(_event(booking, description), start=start, end=end)
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
        "book_url": external_url(
            "visits.town" if booking.in_person else "booking.town",
            slug=booking.municipality.slug,
            **lang,
        ),
        "organisation": organisation_name(),
        "visit_place": visit_place(booking),
    }


#: The kinds of booking e-mail each person can get (the subject sweep test reads these).
#: A technician's "assigned" is a booking newly given to them by a change (a REQUEST that
#: adds it to their calendar); "removed" takes them off a booking that goes on (a CANCEL
#: with the times they knew); "reassigned" is the same for a coordinator's reassignment.
CITIZEN_KINDS = ("created", "rescheduled", "cancelled", "reminder", "reassigned")
TECHNICIAN_KINDS = ("created", "rescheduled", "cancelled", "reassigned", "assigned", "removed")


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
        "assigned": _("Nova cita de %(name)s: %(when)s"),
        "removed": _("Ja no teniu aquesta cita: %(name)s, %(when)s"),
    }
    return subjects[kind] % {"name": name, "when": when}


def _to_citizen(
    booking: Booking,
    kind: str,
    token: str | None,
    method: str,
    *,
    reason: str = "",
    changed_by: str = "",
    reminder_day: str = "",
):
    """Citizen's copy, in the language they booked in (none when staff booked without e-mail).

    ``reason`` is what staff wrote for the citizen when they moved the booking;
    ``changed_by`` says who moved it ("citizen" or "staff").
    """
    if not booking.citizen_email:
        return
    with force_locale(booking.language):
        context = _context(booking, kind, token)
        if token:
            # "Com va la meva consulta?" (umic.casefiles.follow): a follow link of its own,
            # issued with each manage link; masked at rest like every token (links.py).
            follow = issue_status_token(booking=booking, now=clock.now())
            context["follow_url"] = external_url("follow.status", token=follow, **link_language())
        context["reason"] = reason
        context["changed_by"] = changed_by
        context["reminder_day"] = reminder_day
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


#: What a person's calendar holds of a booking, judged from the outbox (``calendar_state``).
HAS_EVENT = "has"  # the last invitation that went out to them was a REQUEST
NO_EVENT = "none"  # nothing went out yet (only unsent messages), or a CANCEL went out last
UNKNOWN = "unknown"  # no message to them is stored (older than the outbox's retention)


def calendar_state(booking: Booking, email: str) -> str:
    """Whether this person's calendar holds the booking's event: one query.

    Only messages that went out (sent, or in a worker's hands) count; an unsent one may
    still be superseded and never reach them (docs/invitations.md, "The outbox: order and
    retries").
    """
    rows = db.session.execute(
        select(OutboxMessage.ics_method, OutboxMessage.status)
        .where(
            OutboxMessage.booking_id == booking.id,
            OutboxMessage.recipient == email,
            OutboxMessage.ics_method.in_(("REQUEST", "CANCEL")),
        )
        .order_by(OutboxMessage.id.desc())
    ).all()
    if not rows:
        return UNKNOWN
    for method, status in rows:
        if status in (OutboxStatus.SENT, OutboxStatus.SENDING):
            return HAS_EVENT if method == "REQUEST" else NO_EVENT
    return NO_EVENT


def _withdraw(booking: Booking, email: str) -> None:
    """Supersede this person's unsent messages about the booking, sending nothing new."""
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.booking_id == booking.id,
            OutboxMessage.recipient == email,
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED]),
        )
        .values(status=OutboxStatus.SUPERSEDED, link_tokens=None)
    )


def _to_technician(
    booking: Booking,
    technician: StaffUser,
    kind: str,
    method: str,
    *,
    uninvite: bool = False,
    times: tuple[datetime, datetime] | None = None,
    reason: str = "",
    changed_by: str = "",
):
    """Technician's copy, in the service's language; one message per technician and change.

    ``times`` gives the revision a technician had, when they are taken off a moved booking:
    their CANCEL must name the times they knew, so that their client finds the entry.

    What their calendar holds decides (``calendar_state``): a CANCEL for an event that never
    reached them is not sent (their unsent invitation is withdrawn instead), and a change
    of a booking they never received is a "Nova cita" that creates it, while a booking given
    back to someone whose calendar still holds it is a change of that entry.
    """
    state = calendar_state(booking, technician.email)
    if method == "CANCEL" and state == NO_EVENT:
        _withdraw(booking, technician.email)
        return
    if kind == "rescheduled" and state == NO_EVENT:
        kind = "assigned"
    elif kind == "assigned" and state == HAS_EVENT:
        kind = "rescheduled"
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        context = _context(booking, kind)
        context.update(_technician_context(booking, reason=reason, changed_by=changed_by))
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


def booking_card_url(booking: Booking) -> str:
    """The booking's card in the staff's workspace (absolute, on BASE_URL)."""
    try:
        return external_url("workspace.booking_card", booking_id=booking.id)
    except BuildError:  # before the card page exists: the agenda of that day
        day = booking.start_utc.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
        return external_url("workspace.agenda", dia=day.isoformat())


def _technician_context(booking: Booking, *, reason: str, changed_by: str) -> dict:
    """The technician's extras: the link into the app, the citizen's language, the reason
    staff gave, and who changed the booking ("citizen", "staff" or nobody)."""
    language = {"ca": _("català"), "es": _("castellà"), "en": _("anglès")}.get(
        booking.language, booking.language
    )
    return {
        "card_url": booking_card_url(booking),
        "citizen_language": language,
        "citizen_language_code": booking.language,
        "reason": reason,
        "changed_by": changed_by,
    }


def notify_booking_created(booking: Booking, token: str) -> None:
    """Confirmation with invitation to the citizen; "Nova reserva" to the technician."""
    _to_citizen(booking, "created", token, "REQUEST")
    _to_technician(booking, booking.technician, "created", "REQUEST")


def notify_booking_changed(
    booking: Booking,
    token: str,
    previous_technician: StaffUser,
    previous_times: tuple[datetime, datetime],
    *,
    reason: str = "",
    changed_by: str = "staff",
) -> None:
    """After a move (the citizen's reschedule or a staff move): same UID, higher SEQUENCE.

    The citizen gets the update (with ``reason``, staff's words to them). Each technician
    gets exactly one message saying what happened to them: the one who keeps it "Cita
    canviada" (REQUEST), one newly given it "Nova cita" (REQUEST), one taken off it "Ja no
    teniu aquesta cita" (CANCEL with the times they knew). Never "reassigned" for a move.
    """
    moved = (booking.start_utc, booking.end_utc) != tuple(previous_times)
    _to_citizen(
        booking,
        "rescheduled" if moved else "reassigned",
        token,
        "REQUEST",
        reason=reason,
        changed_by=changed_by,
    )
    if previous_technician.id == booking.technician_id:
        _to_technician(
            booking,
            booking.technician,
            "rescheduled",
            "REQUEST",
            reason=reason,
            changed_by=changed_by,
        )
        _to_company(booking, "rescheduled" if moved else "reassigned")
        return
    _to_technician(
        booking,
        previous_technician,
        "removed",
        "CANCEL",
        uninvite=True,
        times=previous_times,
        reason=reason,
        changed_by=changed_by,
    )
    _to_technician(
        booking, booking.technician, "assigned", "REQUEST", reason=reason, changed_by=changed_by
    )
    _to_company(booking, "rescheduled" if moved else "reassigned")


def notify_booking_rescheduled(
    booking: Booking,
    token: str,
    previous_technician: StaffUser,
    previous_times: tuple[datetime, datetime],
) -> None:
    """The citizen moved their booking (``notify_booking_changed``)."""
    notify_booking_changed(
        booking, token, previous_technician, previous_times, changed_by="citizen"
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
    _to_company(booking, "reassigned")


def notify_booking_cancelled(booking: Booking) -> None:
    """METHOD:CANCEL to the citizen and the technician."""
    _to_citizen(booking, "cancelled", None, "CANCEL")
    _to_technician(booking, booking.technician, "cancelled", "CANCEL")
    _to_company(booking, "cancelled")


def notify_reminder(booking: Booking, token: str, day: str = "later") -> None:
    """The reminder before the call: when, the join link, how to change or cancel.

    ``day`` ("today", "tomorrow", "later"; ``booking.reminders.reminder_day``) picks the
    words "d'avui" or "de demà"; "later" names no day (the date line says it).
    """
    _to_citizen(booking, "reminder", token, "", reminder_day=day)


# --- Mediation sessions: the company's own invitation (umic.mediation) -----------------------

#: What the company's e-mail about a mediation session can say.
COMPANY_SESSION_KINDS = ("created", "rescheduled", "reassigned", "cancelled")


def company_session_event(booking: Booking, mediation: Mediation) -> ics.EventData:
    """The session as the company sees it: the case, when, and the video link."""
    description = _(
        "Sessió de mediació de l'expedient %(number)s amb %(org)s.\n%(when)s (hora de Madrid)."
        "\n\nEnllaç per entrar a la videotrucada:\n%(link)s",
        number=mediation.case.number,
        org=organisation_name(),
        when=when_text(booking.start_utc, booking.end_utc),
        link=booking.video_link,
    )
    return _event(booking, description)


def notify_company_session(
    booking: Booking, mediation: Mediation, kind: str
) -> OutboxMessage | None:
    """The company's invitation to a mediation's joint session, in the mediation's language:
    the booking's UID and SEQUENCE, the company as the only attendee; CANCEL when cancelled."""
    if kind not in COMPANY_SESSION_KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if not mediation.company_email:
        return None
    company = ics.Person(email=mediation.company_email, name=mediation.company.name)
    method = "CANCEL" if kind == "cancelled" else "REQUEST"
    with force_locale(mediation.language or current_app.config["BABEL_DEFAULT_LOCALE"]):
        when = when_text(booking.start_utc, booking.end_utc)
        invitation = ics.invitation(
            company_session_event(booking, mediation), company, method=method, role="citizen"
        )
        subjects = {
            "created": _("Convocatòria de sessió de mediació (expedient %(number)s): %(when)s"),
            "rescheduled": _("La sessió de mediació (expedient %(number)s) ha canviat: %(when)s"),
            "reassigned": _("Canvi en la sessió de mediació (expedient %(number)s): %(when)s"),
            "cancelled": _("La sessió de mediació (expedient %(number)s) s'ha anul·lat: %(when)s"),
        }
        return enqueue(
            kind=f"mediation_session_{kind}_company",
            recipient=company,
            subject=subjects[kind] % {"number": mediation.case.number, "when": when},
            template="mediation_session",
            context={
                "kind": kind,
                "number": mediation.case.number,
                "company": mediation.company.name,
                "when": when,
                "video_link": booking.video_link,
                "organisation": organisation_name(),
                "help_phone": current_app.config["HELP_PHONE"],
            },
            booking=booking,
            invitation=invitation,
            method=method,
        )


def _to_company(booking: Booking, kind: str) -> None:
    """A change to a booking that is a mediation's session also updates the company."""
    mediation = session_mediation(booking)
    if mediation is not None:
        notify_company_session(booking, mediation, kind)
