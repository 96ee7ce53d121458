"""The iMIP e-mail built by umic.mail.mime.CalendarMessage.

The expected shape and its reasons: docs/invitations.md, "The e-mail around the invitation".
Each message is rendered with Flask-Mail inside a minimal app (TESTING=True, so nothing
reaches SMTP) and its bytes go through the MIME checker, tests/support/mimecheck.py. The
checker is itself tested: Flask-Mail's plain ``alts=`` and ``attach()`` outputs, which are
not iMIP, must fail it.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from email import policy

import pytest
from flask import Flask
from flask_mail import Mail
from flask_mail import Message

from support.mimecheck import check_imip
from umic.core.ics import EventData
from umic.core.ics import Person
from umic.core.ics import invitation
from umic.mail.mime import CalendarMessage

SENDER = "Consum Diputació de Barcelona <cites@example.org>"
ORGANIZER = Person("cites@example.org", "Consum Diputació de Barcelona")
CITIZEN = Person("nuria.puig@example.net", "Núria Puig i Solà")
TECH = Person("jordi.vila@example.org", "Jordi Vila")
SUBJECT = "Cita confirmada: atenció telemàtica de consum"
BODY = "Bon dia,\n\nLa vostra cita és el 15/06/2026 a les 10:00 (hora de Madrid).\n"
HTML = "<p>Bon dia,</p><p>La vostra cita és el 15/06/2026 a les 10:00 (hora de Madrid).</p>"
LINK = "https://meet.jit.si/umic-7q2m9x4k8v1c3n6b5z0p1r8t"


def event(sequence: int = 0) -> EventData:
    start = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)
    return EventData(
        uid="5f0c6b1e-2a4d-4c8e-9b7a-3d2e1f0a9b8c",
        sequence=sequence,
        start=start,
        end=start + timedelta(minutes=30),
        summary="Consum_DIBA. Atenció telemàtica",
        description="15/06/2026, 10:00 (hora de Madrid)",
        link=LINK,
        organizer=ORGANIZER,
        stamp=datetime.now(UTC),
        prodid="-//Diputacio de Barcelona//umic//CA",
    )


@pytest.fixture
def mail() -> Iterator[Mail]:
    app = Flask(__name__)
    # TESTING before Mail(app), so Flask-Mail suppresses sending.
    app.config.update(TESTING=True, MAIL_DEFAULT_SENDER=SENDER)
    mail = Mail(app)
    with app.app_context():
        yield mail


def calendar_message(
    method: str = "REQUEST", who: Person = CITIZEN, role: str = "citizen", **kwargs
) -> CalendarMessage:
    ics = invitation(event(), who, method=method, role=role)
    fields = {
        "subject": SUBJECT,
        "sender": SENDER,
        "recipients": [(who.name, who.email)],
        "body": BODY,
        "html": HTML,
    }
    fields.update(kwargs)
    return CalendarMessage(ics=ics, method=method, **fields)


@pytest.mark.parametrize(
    ("method", "who", "role"),
    [
        ("REQUEST", CITIZEN, "citizen"),
        ("CANCEL", CITIZEN, "citizen"),
        ("REQUEST", TECH, "technician"),
    ],
)
def test_calendar_message_passes_imip_check(
    mail: Mail, method: str, who: Person, role: str
) -> None:
    msg = calendar_message(method, who, role)
    parsed = check_imip(msg.as_bytes())
    calendar = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == method
    assert calendar.get_payload(decode=True) == msg.ics


def test_tree_shape_and_calendar_last(mail: Mail) -> None:
    msg = calendar_message()
    parsed = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    alternative, attachment = parsed.iter_parts()
    children = list(alternative.iter_parts())
    assert [c.get_content_type() for c in children] == ["text/plain", "text/html", "text/calendar"]
    last = children[-1]
    assert last.get_content_type() == "text/calendar"  # the last (preferred) alternative
    assert last["Content-Transfer-Encoding"] == "base64"  # never 8bit
    assert last.get_param("charset") == "UTF-8"  # for the accents
    assert last.get("Content-Disposition") is None
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_filename() == "invite.ics"  # an ASCII file name
    assert attachment["Content-Transfer-Encoding"] == "base64"
    assert attachment.get_payload(decode=True) == last.get_payload(decode=True) == msg.ics


def test_headers_rfc2047_and_c6(mail: Mail) -> None:
    raw = calendar_message().as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    # Accented subject and names are RFC 2047 encoded; the header block is pure ASCII.
    head.decode("ascii")
    assert b"=?utf-8?" in head.lower()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert str(parsed["Subject"]) == SUBJECT
    assert parsed["From"].addresses[0].display_name == "Consum Diputació de Barcelona"
    assert parsed["From"].addresses[0].addr_spec == "cites@example.org"
    assert parsed["To"].addresses[0].display_name == CITIZEN.name
    assert parsed["To"].addresses[0].addr_spec == CITIZEN.email
    assert parsed["Message-ID"] and parsed["Date"]


def test_unique_message_ids(mail: Mail) -> None:
    first = email.message_from_bytes(calendar_message().as_bytes(), policy=policy.default)
    second = email.message_from_bytes(calendar_message().as_bytes(), policy=policy.default)
    assert first["Message-ID"] != second["Message-ID"]


def test_record_messages_outbox(mail: Mail) -> None:
    # What Flask-Mail would hand to SMTP.
    with mail.record_messages() as outbox:
        mail.send(calendar_message("CANCEL"))
    assert len(outbox) == 1
    check_imip(outbox[0].as_bytes())


# --- the checker's self-test: Flask-Mail's own calendar messages must fail it ---------------


def test_plain_flask_mail_alts_fails_check(mail: Mail) -> None:
    # alts= gives a text/calendar part with no method parameter and no base64.
    ics = invitation(event(), CITIZEN, method="REQUEST", role="citizen")
    msg = Message(
        subject=SUBJECT,
        sender=SENDER,
        recipients=[CITIZEN.email],
        body=BODY,
        html=HTML,
        alts={"calendar": ics.decode("utf-8")},
    )
    with pytest.raises(AssertionError, match="method"):
        check_imip(msg.as_bytes())


def test_flask_mail_attach_only_fails_check(mail: Mail) -> None:
    # Right parameters, but only as a multipart/mixed attachment, outside the alternative.
    ics = invitation(event(), CITIZEN, method="REQUEST", role="citizen")
    msg = Message(subject=SUBJECT, sender=SENDER, recipients=[CITIZEN.email], body=BODY, html=HTML)
    msg.attach("invite.ics", "text/calendar; method=REQUEST; charset=UTF-8", ics)
    with pytest.raises(AssertionError):
        check_imip(msg.as_bytes())


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        (b'method="REQUEST"', b'method="CANCEL"', "differs"),
        (b'charset="UTF-8"', b'charset="iso-8859-1"', "charset"),
        (b"From: ", b"From: Other <other@example.org>, ", "ORGANIZER"),
    ],
)
def test_checker_catches_tampering(mail: Mail, old: bytes, new: bytes, match: str) -> None:
    raw = calendar_message().as_bytes()
    assert old in raw
    with pytest.raises(AssertionError, match=match):
        check_imip(raw.replace(old, new, 1))


def test_checker_catches_different_attachment(mail: Mail) -> None:
    msg = calendar_message()
    other = invitation(event(sequence=5), CITIZEN, method="REQUEST", role="citizen")
    msg.attachments[0].data = other
    with pytest.raises(AssertionError, match="differ"):
        check_imip(msg.as_bytes())


# --- CalendarMessage refuses what would break a client ---------------------------------------


def test_method_must_match_body(mail: Mail) -> None:
    ics = invitation(event(), CITIZEN, method="REQUEST", role="citizen")
    with pytest.raises(ValueError, match="METHOD"):
        CalendarMessage(
            subject=SUBJECT,
            sender=SENDER,
            recipients=[CITIZEN.email],
            body=BODY,
            html=HTML,
            ics=ics,
            method="CANCEL",
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"recipients": [TECH.email]}, "ATTENDEE"),
        ({"recipients": [CITIZEN.email, TECH.email]}, "exactly one"),
        ({"sender": "Other <other@example.org>"}, "ORGANIZER"),
        ({"cc": [TECH.email]}, "cc"),
        ({"html": None}, "html"),
        ({"alts": {"calendar": "x"}}, "alts"),
    ],
)
def test_refuses_invalid_messages(mail: Mail, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        calendar_message(**kwargs)


def test_default_sender_is_used(mail: Mail) -> None:
    ics = invitation(event(), CITIZEN, method="REQUEST", role="citizen")
    msg = CalendarMessage(
        subject=SUBJECT, recipients=[CITIZEN.email], body=BODY, html=HTML, ics=ics, method="REQUEST"
    )
    check_imip(msg.as_bytes())
