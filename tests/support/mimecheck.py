"""The iMIP MIME checker: is this e-mail an invitation that mail clients will recognise?

``check_imip(raw)`` takes the bytes of one e-mail (``msg.as_bytes()`` from Flask-Mail, or the
bytes received by the loopback SMTP server) and raises ``AssertionError`` with a clear
message on the first violation. The expected shape and its reasons are in
docs/invitations.md, "The e-mail around the invitation". Flask-Mail's plain
``Message(alts={"calendar": ics})``, which has no ``method`` parameter, must fail it: that
is the checker's own self-test.

It parses the calendar with a few lines of its own (unfold, split name/params/value) rather
than with icalendar, so it stays an independent reading of the bytes.
"""

from __future__ import annotations

import email
import re
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses
from email.utils import parseaddr

_BARE_NEWLINE = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def _fail(message: str) -> None:
    raise AssertionError(f"iMIP check: {message}")


def _content_lines(data: bytes) -> list[tuple[str, dict[str, str], str]]:
    """(NAME, {PARAM: value}, value) for each unfolded content line (RFC 5545 §3.1)."""
    text = data.decode("utf-8")
    text = re.sub(r"\r\n[ \t]", "", text)
    lines = []
    for line in text.split("\r\n"):
        if not line:
            continue
        # Split at the first ":" that is not inside a quoted parameter value.
        in_quotes = False
        for i, char in enumerate(line):
            if char == '"':
                in_quotes = not in_quotes
            elif char == ":" and not in_quotes:
                head, value = line[:i], line[i + 1 :]
                break
        else:
            _fail(f"content line without ':' {line!r}")
        name, *raw_params = re.findall(r'(?:[^;"]|"[^"]*")+', head)
        params = {}
        for raw in raw_params:
            key, _, val = raw.partition("=")
            params[key.upper()] = val.strip('"')
        lines.append((name.upper(), params, value))
    return lines


def _mailto(value: str) -> str:
    if not value.lower().startswith("mailto:"):
        _fail(f"calendar address is not a mailto: URI: {value!r}")
    return value[len("mailto:") :].strip().casefold()


def _check_calendar_part(part: EmailMessage, what: str) -> bytes:
    cte = part.get("Content-Transfer-Encoding", "").strip().lower()
    if cte not in ("base64", "quoted-printable"):
        # RFC 6047 §2.5; 8bit or 7bit calendar parts get mangled on the way.
        _fail(f"{what} must be base64 or quoted-printable, not {cte or 'absent'!r}")
    data = part.get_payload(decode=True)
    if not data:
        _fail(f"{what} is empty")
    if _BARE_NEWLINE.search(data) or b"\r\r\n" in data:
        _fail(f"{what} payload has a bare CR or LF (lines must end in CRLF)")
    if not data.endswith(b"\r\n") or data.endswith(b"\r\n\r\n"):
        _fail(f"{what} payload must end with exactly one CRLF")
    return data


def check_imip(raw: bytes) -> EmailMessage:
    """Check one iMIP e-mail (parts, tree, addresses, headers); return the parsed message."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)

    # The iMIP part itself first: method and charset (the most common defects).
    calendars = [c for c in msg.walk() if c.get_content_type() == "text/calendar"]
    if len(calendars) != 1:
        _fail(f"exactly one text/calendar part expected, found {len(calendars)}")
    calendar = calendars[0]
    method = calendar.get_param("method")
    if not method:
        _fail("text/calendar part has no method parameter (not an iMIP part)")
    charset = calendar.get_param("charset")
    if not charset or str(charset).lower() != "utf-8":
        _fail(f"text/calendar part must have charset=UTF-8, has {charset!r}")
    if calendar.get("Content-Disposition"):
        _fail("the text/calendar alternative must not have a Content-Disposition")

    # Tree shape: the one Google Calendar uses for its own invitations.
    if msg.get_content_type() != "multipart/mixed":
        _fail(f"root must be multipart/mixed, not {msg.get_content_type()}")
    children = list(msg.iter_parts())
    shape = [c.get_content_type() for c in children]
    if shape != ["multipart/alternative", "application/ics"]:
        _fail(f"multipart/mixed must hold [multipart/alternative, application/ics], got {shape}")
    alternative, attachment = children
    alternatives = list(alternative.iter_parts())
    alt_shape = [c.get_content_type() for c in alternatives]
    if alt_shape != ["text/plain", "text/html", "text/calendar"]:
        _fail(
            "multipart/alternative must be [text/plain, text/html, text/calendar] "
            f"with the calendar last, got {alt_shape}"
        )

    # The attachment copy, for clients that only look at attachments.
    if attachment.get_param("name") != "invite.ics":
        _fail(f'application/ics must have name="invite.ics", has {attachment.get_param("name")!r}')
    if attachment.get_content_disposition() != "attachment":
        _fail("application/ics must be Content-Disposition: attachment")
    if attachment.get_filename() != "invite.ics":
        _fail(f"attachment filename must be invite.ics, is {attachment.get_filename()!r}")

    body = _check_calendar_part(calendar, "text/calendar part")
    copy = _check_calendar_part(attachment, "application/ics attachment")
    if body != copy:
        _fail("text/calendar and application/ics parts differ (must be one calendar object)")

    lines = _content_lines(body)
    methods = [value for name, _, value in lines if name == "METHOD"]
    if len(methods) != 1:
        _fail(f"the calendar must have exactly one METHOD line, has {methods}")
    if methods[0].upper() != str(method).upper():
        _fail(f"MIME method={method} differs from the body METHOD:{methods[0]}")

    organizers = [_mailto(value) for name, _, value in lines if name == "ORGANIZER"]
    if len(organizers) != 1:
        _fail(f"exactly one ORGANIZER expected, found {len(organizers)}")
    attendees = {_mailto(value) for name, _, value in lines if name == "ATTENDEE"}

    # From is the ORGANIZER (clients match updates by organizer and sender).
    sender = parseaddr(str(msg.get("From", "")))[1].casefold()
    if sender != organizers[0]:
        _fail(f"From {sender!r} is not the ORGANIZER {organizers[0]!r}")
    # Every To/Cc address is an ATTENDEE (or the client shows no RSVP buttons); none is the
    # organizer (Outlook then shows nothing to accept).
    recipients = [
        addr.casefold()
        for _, addr in getaddresses([str(v) for v in msg.get_all("To", []) + msg.get_all("Cc", [])])
    ]
    if not recipients:
        _fail("no To address")
    for addr in recipients:
        if addr not in attendees:
            _fail(f"recipient {addr!r} is not an ATTENDEE {sorted(attendees)}")
        if addr == organizers[0]:
            _fail("the message is addressed to the organizer")
    for header in ("Message-ID", "Date", "Subject"):
        if not msg.get(header):
            _fail(f"missing {header} header")
    check_headers(raw)
    return msg


# --- Header fields of any e-mail (ICS review §6) ------------------------------------------------

# An RFC 2047 encoded-word; encoded-text must not be empty (`=?utf-8?q??=` is not one).
ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")


def header_block(raw: bytes) -> list[bytes]:
    """The top-level header lines of ``raw`` (physical lines, CRLF removed)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    return head.split(b"\r\n")


def check_headers(raw: bytes) -> None:
    """Every header line under 998 octets, ASCII, and every encoded-word well formed and set
    apart by white space: no empty encoded-text, nothing glued to either side
    (RFC 2047 §5(1): ``mar=?utf-8?q?=C3=A7?=`` or ``=?utf-8?q?=C3=87anad?=ell`` are not
    decoded alike by every client).
    """
    for line in header_block(raw):
        if len(line) > 998:
            _fail(f"header line longer than 998 octets: {line[:60]!r}...")
        if not line.isascii():
            _fail(f"8-bit header line: {line!r}")
        for match in ENCODED_WORD.finditer(line):
            if not match.group(3):
                _fail(f"empty encoded-word in {line!r}")
            before = line[: match.start()]
            after = line[match.end() :]
            if before and not before.endswith((b" ", b"\t", b":", b"(")):
                _fail(f"encoded-word glued to the text before it in {line!r}")
            if after and not after.startswith((b" ", b"\t", b")", b",")):
                _fail(f"encoded-word glued to the text after it in {line!r}")
