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

import re
from email import encoders
from email import policy
from email.charset import QP
from email.charset import Charset
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.text import MIMEText
from email.utils import formataddr
from email.utils import parseaddr
from typing import Any

from flask_mail import Message
from icalendar import Calendar

__all__ = ["CalendarMessage", "MailMessage", "encode_subject", "format_address"]

#: Lines of header fields are folded to this length (RFC 5322's SHOULD); never more than 998.
MAX_LINE = 78

#: The policy every message is written with: Python's SMTP policy (CRLF), but headers are
#: written as we encoded them. Python 3.11's refolding of an encoded header glues
#: encoded-words to plain text (``mar=?utf-8?q?=C3=A7?=``) or writes empty ones
#: (``=?utf-8?q??=``), which breaks RFC 2047; docs/invitations.md, "Headers and bodies".
POLICY = policy.SMTP.clone(refold_source="none")


def _fold_ascii(value: str, first: int) -> str:
    """Fold an ASCII header value at spaces so lines stay within MAX_LINE when possible.

    Each fold turns one space into CRLF + that space: unfolding (removing the CRLF) gives
    back exactly ``value``. A word longer than a line stays whole (lines stay under 998).
    """
    lines: list[str] = []
    current = ""
    room = MAX_LINE - first
    for word in value.split(" "):
        if current and len(current) + 1 + len(word) > room:
            lines.append(current)
            current, room = word, MAX_LINE - 1
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return "\n ".join(lines)


def encode_subject(subject: str, header: str = "Subject") -> str:
    """A ``Subject:`` value that every decoder reads back as exactly ``subject``.

    ASCII stays plain, folded at spaces. Anything else becomes a run of whole RFC 2047
    encoded-words, each on its own line (at most 76 characters), separated by folding
    white space only: never glued to text, never empty. Decoders ignore the white space
    between two encoded-words, so the subject comes back unchanged.
    """
    subject = " ".join(subject.splitlines())
    first = len(header) + 2
    if subject.isascii() and "=?" not in subject:
        return _fold_ascii(subject, first)
    return Header(subject, "utf-8", header_name=header).encode(linesep="\n")


def format_address(name: str, address: str, header: str = "To") -> str:
    """``Name <address>`` that parses back as one mailbox with this name and address.

    An ASCII name with specials (``<>",;@``) is quoted and escaped (``formataddr``); any
    other name is RFC 2047-encoded, where those characters are encoded too. So ``Joan,
    Evil <attacker@evil.example>`` stays one display name of the one recipient.
    """
    name = " ".join(name.split())
    if not name:
        return address
    if name.isascii() and "=?" not in name:
        return formataddr((name, address))
    return f"{_phrase(name)} <{address}>"


# A word that can stand as itself in a display name (an RFC 5322 atom, not encoded-word-like).
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")


def _phrase(name: str) -> str:
    """A display name as plain atoms and RFC 2047 encoded-words, never two encoded-words
    side by side: decoders disagree on the space between two of them (RFC 2047 drops it,
    Python's ``policy.default`` keeps it), but all keep the space between a word and an
    encoded-word. So each run of words that need encoding (accents, ``<>",;@``...) becomes
    one encoded-word, spaces included, and the plain words between runs stay plain.
    """
    words: list[str] = []
    run: list[str] = []
    for word in name.split(" "):
        if _ATOM.fullmatch(word) and "=?" not in word:
            if run:
                words.append(_encoded_word(" ".join(run)))
                run = []
            words.append(word)
        else:
            run.append(word)
    if run:
        words.append(_encoded_word(" ".join(run)))
    return _fold_ascii(" ".join(words), len("To: "))


def _encoded_word(text: str) -> str:
    # One encoded-word for the whole run (Q or B, whichever is shorter). A run longer than
    # RFC 2047's 75 characters once encoded stays one word: splitting it would put two
    # encoded-words side by side. Names are at most 120 characters; lines stay under 998.
    return Charset("utf-8").header_encode(text)


class MailMessage(Message):
    """Flask-Mail's message, with the headers and bodies every client reads right.

    * ``Subject``, ``From`` and ``To`` written by :func:`encode_subject` and
      :func:`format_address` and never refolded (:data:`POLICY`);
    * ``recipients`` are best given as bare addresses (the SMTP envelope), with
      ``to_name`` the display name of the first one, written in ``To:`` only;
    * text and HTML bodies quoted-printable: 7-bit on the wire, whatever the server
      announces (no ``BODY=8BITMIME`` needed, RFC 6152);
    * ``Auto-Submitted: auto-generated`` (RFC 3834): out-of-office replies stay away.
    """

    def __init__(self, *args: Any, to_name: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.to_name = to_name

    def _mimetext(self, text: str | None, subtype: str = "plain") -> MIMEText:
        charset = Charset("utf-8")
        charset.body_encoding = QP
        return MIMEText(text or "", _subtype=subtype, _charset=charset)

    def _message(self) -> MIMEBase:  # private Flask-Mail API: Flask-Mail==0.10.* is pinned
        msg = super()._message()
        # Store our values as they are (compat32 takes folded values); written by POLICY.
        msg.policy = policy.compat32
        if self.subject:
            msg.replace_header("Subject", encode_subject(self.subject))
        sender_name, sender_address = parseaddr(str(self.sender))
        msg.replace_header("From", format_address(sender_name, sender_address, "From"))
        people = [_name_and_address(r) for r in self.recipients]
        if self.to_name:
            people[0] = (self.to_name, people[0][1])
        msg.replace_header("To", ", ".join(format_address(n, a) for n, a in people))
        msg["Auto-Submitted"] = "auto-generated"
        msg.policy = POLICY
        return msg


def _name_and_address(value: str | tuple[str, str]) -> tuple[str, str]:
    if isinstance(value, tuple):
        return value[0] or "", value[1]
    name, address = parseaddr(value)
    return name, address or value


ATTACHMENT_NAME = "invite.ics"
METHODS = ("REQUEST", "CANCEL")


class CalendarMessage(MailMessage):
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


def add_attachment(message: Message, name: str, content_type: str, data: bytes) -> None:
    """Attach a file (a letter's PDF) to any of our messages, a calendar one included.

    A CalendarMessage refuses ``attachments=`` at construction (its invitation must stay
    the one calendar object); a document added afterwards is one more part of the outer
    ``multipart/mixed``, after the ``multipart/alternative`` that holds the invitation, so
    clients still find the invitation where they look for it.
    """
    message.attach(
        name,
        content_type,
        data,
        "attachment",
    )


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
