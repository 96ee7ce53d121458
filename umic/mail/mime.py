"""An iMIP e-mail (RFC 6047) carrying one calendar invitation, built on Flask-Mail 0.10.

Flask-Mail cannot produce an iMIP message by itself: ``alts=`` gives a ``text/calendar``
part without the ``method`` parameter and without base64, and ``attach()`` puts the calendar
only beside the alternative, as an attachment. So :class:`CalendarMessage` overrides
Flask-Mail's private ``Message._message()`` to build the MIME tree of Google Calendar's own
invitations::

    multipart/mixed
    ├─ multipart/alternative
    │  ├─ text/plain; charset=utf-8
    │  ├─ text/html; charset=utf-8
    │  └─ text/calendar; method=REQUEST; charset=UTF-8     (base64, last part)
    └─ application/ics; name="invite.ics"                 (attachment, same bytes)

Why each detail matters: docs/invitations.md, "The e-mail around the invitation".
``Flask-Mail==0.10.*`` is pinned because of the private override; the MIME test
(``tests/unit/test_mime.py`` with ``tests/support/mimecheck.py``) is the guard.
"""

from __future__ import annotations

from email import encoders
from email.mime.base import MIMEBase
from email.utils import parseaddr
from typing import Any

from flask_mail import Message
from icalendar import Calendar

__all__ = ["CalendarMessage"]

ATTACHMENT_NAME = "invite.ics"
METHODS = ("REQUEST", "CANCEL")


class CalendarMessage(Message):
    """A Flask-Mail message whose invitation is recognised by mail clients.

    ``body`` and ``html`` are required: they create the ``multipart/alternative`` that the
    ``text/calendar`` part joins as the last alternative. ``ics`` is the exact output of
    :func:`umic.core.ics.invitation` and ``method`` its ``METHOD``.

    Refused with ``ValueError``, because each one breaks some client (docs/invitations.md,
    "The e-mail around the invitation", "Known client bugs"):

    * ``method`` other than REQUEST/CANCEL, or not the ``METHOD`` inside ``ics``;
    * anything but exactly one ``recipients`` address, or any ``cc``/``bcc`` (one message
      per person; nobody sees another attendee's address);
    * a recipient that is not an ATTENDEE of ``ics``, or a sender that is not its ORGANIZER;
    * ``alts`` or ``attachments`` (one calendar object, no other alternatives).
    """

    def __init__(self, *args: Any, ics: bytes, method: str, **kwargs: Any) -> None:
        for forbidden in ("alts", "attachments", "cc", "bcc"):
            if kwargs.get(forbidden):
                raise ValueError(f"CalendarMessage does not accept {forbidden}=")
        super().__init__(*args, **kwargs)
        if not self.body or not self.html:
            # Without both, Flask-Mail builds no multipart/alternative for the calendar.
            raise ValueError("CalendarMessage needs body= and html=")
        if not isinstance(ics, bytes):
            raise ValueError("ics must be bytes (the exact .ics output)")
        self.method = method.upper()
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        self.ics = ics
        self._check_against_ics()
        # A byte-identical copy for clients that only look at attachments. Flask-Mail
        # base64-encodes it and adds 'Content-Disposition: attachment; filename="invite.ics"'.
        self.attach(ATTACHMENT_NAME, f'application/ics; name="{ATTACHMENT_NAME}"', ics)

    def _check_against_ics(self) -> None:
        cal = Calendar.from_ical(self.ics)
        body_method = str(cal.get("METHOD", "")).upper()
        if body_method != self.method:
            # Outlook rejects a MIME method that differs from the body (maevsi/vibetype#2368).
            raise ValueError(f"method={self.method} but the .ics says METHOD:{body_method}")
        events = list(cal.walk("VEVENT"))
        if len(events) != 1:
            raise ValueError("the .ics must hold exactly one VEVENT")
        event = events[0]
        attendees = event.get("ATTENDEE", [])
        if not isinstance(attendees, list):
            attendees = [attendees]
        attendee_addresses = {_mailto(a) for a in attendees}
        organizer = _mailto(event.get("ORGANIZER", ""))

        if len(self.recipients) != 1:
            # One message per recipient, so nobody sees another attendee's address.
            raise ValueError("CalendarMessage takes exactly one recipient")
        recipient = _address(self.recipients[0])
        if recipient not in attendee_addresses:
            # Clients show RSVP controls only if they find their address as ATTENDEE.
            raise ValueError(f"recipient {recipient} is not an ATTENDEE of the .ics")
        if recipient == organizer:
            # Outlook shows nothing to accept in an invitation sent to its own organizer.
            raise ValueError("a calendar message must not be sent to the organizer")
        if _address(self.sender) != organizer:
            # From: must be the ORGANIZER (Gmail in-place updates, DMARC alignment).
            raise ValueError(f"sender must be the ORGANIZER {organizer!r}")

    def _message(self) -> MIMEBase:  # private Flask-Mail API: Flask-Mail==0.10.* is pinned
        """Flask-Mail's message plus the iMIP ``text/calendar`` part as last alternative."""
        msg = super()._message()
        payload = msg.get_payload()
        alternative = payload[0] if isinstance(payload, list) and payload else None
        if alternative is None or alternative.get_content_type() != "multipart/alternative":
            # Flask-Mail's private layout changed; refuse rather than send a non-iMIP mail.
            raise RuntimeError("unexpected Flask-Mail MIME layout; check the Flask-Mail pin")
        # The method parameter makes it an iMIP part; charset for the accents.
        part = MIMEBase("text", "calendar", method=self.method, charset="UTF-8")
        part.set_payload(self.ics)
        # base64, never 8bit (RFC 6047 §2.5); it also keeps the CRLF line ends intact.
        encoders.encode_base64(part)
        # The calendar part is the last alternative (the preferred one), with no
        # Content-Disposition: an invitation sent only as an attachment is shown as a file.
        alternative.attach(part)
        return msg


def _address(value: str | tuple[str, str]) -> str:
    """The bare, case-folded address of ``"Name <addr>"``, ``(name, addr)`` or ``addr``."""
    if isinstance(value, tuple):
        value = value[1]
    return parseaddr(str(value))[1].strip().casefold()


def _mailto(value: object) -> str:
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    return text.strip().casefold()
