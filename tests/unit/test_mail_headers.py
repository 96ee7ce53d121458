"""The header fields of every e-mail the app writes, read back by strict and legacy decoders.

ICS review §6: Python's refolding of Flask-Mail's encoded subjects produced encoded-words
glued to text (``mar=?utf-8?q?=C3=A7?=``) or empty (``=?utf-8?q??=``) in about one subject
in five; security review finding 15: a display name with ``<>",`` broke the ``To:`` line.

The sweep takes every subject the app writes (the booking e-mails from
``umic.mail.compose``; the survey and document e-mails with the msgids of
``surveys/service.py`` and ``casefiles/documents.py``), in Catalan and Spanish, for every day
of 2027 at 09:00 and 17:00, with names with and without accents, and writes its ``Subject:``
field exactly as the message generator does (``POLICY.fold_binary`` of the value
``MailMessage`` stores). Each must decode to exactly the subject intended with
``policy.default`` (its header factory, what its parser calls) and with ``compat32``'s
``decode_header`` + ``make_header``, and pass ``mimecheck.check_headers`` (every
encoded-word whole and set apart by white space, no line over 998 octets); every Subject
line stays within 78 characters. (About 21,000 subjects in a few seconds.)

A second pass builds the whole message bytes (``umic.mail.outbox.build_message``, the
worker's own builder, from an outbox row that is never stored: no database) for one day of
each month, each on another weekday, and parses them with both parsers; its Subject lines
are the same bytes as the sweep's.
"""

from __future__ import annotations

import email
import re
from datetime import date
from datetime import timedelta
from email import policy
from email.header import decode_header
from email.header import make_header
from email.utils import getaddresses

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from support.days import madrid
from support.mimecheck import check_headers
from support.mimecheck import header_block
from umic import create_app
from umic.config import TestConfig
from umic.core import dates
from umic.mail import compose
from umic.mail.mime import POLICY
from umic.mail.mime import encode_subject
from umic.mail.outbox import build_message
from umic.models import OutboxMessage
from umic.web.i18n import when_text

SENDER = "Consum Diputació de Barcelona <cites@example.org>"
NAMES = [
    "Anna Roig",
    "Francesc Xavier Çanadell",
    "Maria Dolors Martínez-Fernández de la Torre i Puigdollers",
]
DAYS_2027 = [date(2027, 1, 1) + timedelta(days=i) for i in range(365)]


@pytest.fixture(scope="module")
def app():
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        yield app


def row(subject: str, name: str = "Anna Roig") -> OutboxMessage:
    return OutboxMessage(
        subject=subject,
        sender=SENDER,
        recipient="persona@example.net",
        recipient_name=name,
        body_text="Hola",
        body_html="<p>Hola</p>",
        message_id="<1@example.org>",
    )


def legacy_unfold(value: str) -> str:
    return re.sub(r"\r?\n", "", value)


def subject_field(subject: str) -> bytes:
    """The ``Subject:`` field as the generator writes it (BytesGenerator calls fold_binary)."""
    return POLICY.fold_binary("Subject", encode_subject(subject))


def check_field(field: bytes, subject: str) -> None:
    check_headers(field + b"\r\n")
    for line in field.split(b"\r\n")[:-1]:
        assert len(line) <= 78, line
    value = field.decode("ascii").split(":", 1)[1]
    # policy.default's parser: unfold (drop the line breaks), then its header factory.
    strict = policy.default.header_factory("Subject", "".join(value.splitlines()).lstrip())
    assert str(strict) == subject
    assert str(make_header(decode_header(legacy_unfold(value).lstrip()))) == subject


def check_subject(subject: str, name: str = "Anna Roig") -> None:
    """The whole message: built by the worker's builder, parsed by both parsers."""
    raw = build_message(row(subject, name)).as_bytes()
    check_headers(raw)
    lines = header_block(raw)
    start = next(i for i, line in enumerate(lines) if line.startswith(b"Subject:"))
    end = start + 1
    while end < len(lines) and lines[end].startswith((b" ", b"\t")):
        end += 1
    assert b"\r\n".join(lines[start:end]) + b"\r\n" == subject_field(subject)
    strict = email.message_from_bytes(raw, policy=policy.default)
    assert str(strict["Subject"]) == subject
    legacy = email.message_from_bytes(raw, policy=policy.compat32)
    assert str(make_header(decode_header(legacy_unfold(legacy["Subject"])))) == subject


def all_subjects(language: str, days: list[date] = DAYS_2027) -> list[str]:
    """Every subject the app writes, for each of ``days`` at 09:00 and 17:00."""
    subjects = []
    with force_locale(language):
        for day in days:
            day_text = dates.day_text(day, language)
            for hour in (9, 17):
                start = madrid(day, hour)
                when = when_text(start, start + timedelta(minutes=30))
                subjects += [compose.citizen_subject(k, when) for k in compose.CITIZEN_KINDS]
                for name in NAMES:
                    subjects += [
                        compose.technician_subject(k, name, when) for k in compose.TECHNICIAN_KINDS
                    ]
            # surveys/service.py, casefiles/documents.py (their msgids).
            subjects.append(_("Com valoreu la videotrucada del %(day)s?", day=day_text))
            number = f"{day.year}/{day.timetuple().tm_yday:04d}"
            subjects.append(_("Documentació requerida per a l'expedient %(number)s", number=number))
            subjects.append(
                _(
                    "Recordatori: envieu la documentació de l'expedient %(number)s fins al %(day)s",
                    number=number,
                    day=day_text,
                )
            )
    return subjects


@pytest.mark.parametrize("language", ["ca", "es"])
def test_every_subject_of_2027_reads_back_exactly(app, language: str) -> None:
    subjects = all_subjects(language)
    # Six technician kinds: a change tells each one what happened to them ("assigned", "removed").
    assert len(subjects) == 365 * (2 * (5 + 6 * len(NAMES)) + 3)
    assert any(not s.isascii() for s in subjects) and any(s.isascii() for s in subjects)
    for subject in subjects:
        check_field(subject_field(subject), subject)


# One day a month, each month on the next weekday (Monday in January, Tuesday in February...).
SAMPLE_DAYS = [
    next(
        date(2027, month, d)
        for d in range(1, 8)
        if date(2027, month, d).weekday() == (month - 1) % 7
    )
    for month in range(1, 13)
]


@pytest.mark.parametrize("language", ["ca", "es"])
def test_whole_messages_read_back_exactly(app, language: str) -> None:
    assert {d.weekday() for d in SAMPLE_DAYS} == set(range(7))
    for subject in all_subjects(language, SAMPLE_DAYS):
        check_subject(subject, "Núria Puig i Ferrer")


def test_the_review_s_malformed_subjects_are_well_formed_now(app) -> None:
    # The two subjects the ICS review quotes (§6.1, §6.2).
    check_subject(
        "Cita reassignada a una altra persona: Francesc Xavier Çanadell, dimarts, 20 de "
        "juliol de 2027, 17:00-17:30"
    )
    check_subject("La vostra reserva s'ha confirmat: divendres, 2 d’abril de 2027, 09:00-09:30")


def test_the_checker_catches_the_review_s_headers() -> None:
    bad = [
        b"Subject: Cita reassignada a una altra persona: Francesc Xavier =?utf-8?q??=\r\n"
        b" =?utf-8?q?=C3=87anad?=ell, dimarts\r\n\r\nbody",
        b"Subject: Puig i Ferrer: dilluns, 1 de\r\n mar=?utf-8?q?=C3=A7?= de 2027\r\n\r\n",
    ]
    for raw in bad:
        with pytest.raises(AssertionError):
            check_headers(raw)


HOSTILE_NAMES = [
    "Joan, Evil <attacker@evil.example>",
    '<script>alert(1)</script>"><img src=x onerror=alert(2)>',
    'Àlex "el; bo" <a@b.example>, Évil',
    "=?utf-8?q?attacker=40evil.example?=",
    "Anna (Roig) \\ Puig; Ferrer: x@y",
    "Maria Dolors Martínez-Fernández de la Torre i Puigdollers, <molt@llarg.example>",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_to_is_one_recipient_with_the_right_address_and_name(app, name: str) -> None:
    raw = build_message(row("Hola", name)).as_bytes()
    check_headers(raw)
    strict = email.message_from_bytes(raw, policy=policy.default)
    (address,) = strict["To"].addresses
    assert address.addr_spec == "persona@example.net"
    assert address.display_name == name
    # The legacy way: split the raw header into addresses, then decode each name.
    legacy = email.message_from_bytes(raw, policy=policy.compat32)
    pairs = getaddresses([legacy_unfold(value) for value in legacy.get_all("To")])
    assert [addr for _n, addr in pairs] == ["persona@example.net"]
    assert str(make_header(decode_header(pairs[0][0]))) == name
    # The SMTP envelope is the bare address.
    assert build_message(row("Hola", name)).send_to == {"persona@example.net"}
