"""E-mailed links at rest, the outbox page, errors without people, and what the server gets.

Security review findings 1, 11 (mail), 14, 16 (the citizen's cookie); ICS review §8.2 and
§8.4, §8.5. Real parts only: bookings through the pages, the worker talking SMTP to a server
on loopback, and a "database copy" that is every text and binary column of every table.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from support import managing
from support.apps import smtp_config
from support.dump import database_text
from support.factories import PASSWORD
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.journey import DETAILS
from support.journey import Citizen
from support.mimecheck import check_headers
from support.outbox import clear_text
from umic import clock
from umic.booking import service as booking_service
from umic.casefiles.service import create_case
from umic.casefiles.service import update_case
from umic.extensions import db
from umic.mail import links
from umic.mail.outbox import send_pending
from umic.models import BookingStatus
from umic.models import CaseStatus
from umic.models import OutboxMessage
from umic.models import OutboxStatus
from umic.models import Role

TOKEN_LINK = re.compile(
    r"http://localhost/(?:cita|documents|enquesta|seguiment)/([A-Za-z0-9_-]{20,})"
)


@pytest.fixture
def app_config(smtp) -> dict:
    return smtp_config(smtp, OUTBOX_MAX_ATTEMPTS=2, OUTBOX_RETRY_BASE_SECONDS=1)


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def tokens_received(smtp) -> set[str]:
    found = set()
    for received in smtp.messages():
        for part in received.message.walk():
            if part.get_content_maintype() == "text":
                found |= set(TOKEN_LINK.findall(part.get_content()))
    return found


def documents_requested(world) -> None:
    case = create_case(
        {
            "interested_name": "Raúl Sánchez",
            "interested_email": "raul@example.net",
            "municipality_id": world.town.id,
            "assigned_to_id": world.technicians[0].id,
            "status": CaseStatus.EN_TRAMIT,
        },
        actor=None,
        now=clock.now(),
    )
    db.session.commit()
    update_case(
        case,
        {
            "status": CaseStatus.DOCUMENTACIO,
            "deadline": clock.today(booking_service.rules().tz) + timedelta(days=10),
            "status_detail": "La factura",
        },
        actor=None,
        expected_version=case.version,
        now=clock.now(),
    )
    db.session.commit()


# --- Finding 1: no live token in a copy of the database ------------------------------------------


def test_a_database_copy_opens_nothing_and_the_mail_carries_working_links(app, client, smtp):
    world = make_world()
    citizen = Citizen(client)
    manage = citizen.book()
    first_token = manage.rsplit("/", 1)[1]

    # Queued, not sent: the token is in the database, in link_tokens and nowhere else.
    (pending,) = [m for m in rows() if m.recipient == DETAILS["email"]]
    stored = json.loads(pending.link_tokens)  # the manage link, then the follow link
    assert stored[0] == first_token and len(stored) == 2
    assert f"/seguiment/{stored[1][:4]}{links.MASK}" in pending.body_text
    assert first_token not in pending.body_text + pending.body_html
    assert f"/cita/{first_token[:4]}{links.MASK}" in pending.body_text
    dump = database_text()
    assert dump.count(first_token) == 1

    # A reschedule (a new manage link), the survey and a request for documents.
    send_pending()
    day = managing.days(client, manage)[-1]
    managing.reschedule(client, manage, managing.slots(client, manage, day)[0])
    booking = booking_service.find_by_token(first_token, clock.now())
    clock.move_to(booking.end_utc + timedelta(minutes=1))  # the call took place
    booking_service.mark(
        booking.id, BookingStatus.ATTENDED, actor_id=booking.technician_id, now=clock.now()
    )
    db.session.commit()
    documents_requested(world)
    while (report := send_pending()).sent:  # a later message waits for its sibling's pass
        assert report.failed == 0 and report.retrying == 0
    assert {m.status for m in rows()} == {OutboxStatus.SENT}

    tokens = tokens_received(smtp)
    kinds = {
        m.group(0).split("/")[3]
        for r in smtp.messages()
        for m in TOKEN_LINK.finditer(r.message.get_body(("plain",)).get_content())
    }
    assert kinds == {"cita", "documents", "enquesta", "seguiment"}
    assert first_token in tokens and len(tokens) >= 4
    # Every link the citizen got works...
    for received in smtp.messages():
        check_headers(received.data)
    for path in {
        m.group(0)[len("http://localhost") :]
        for r in smtp.messages()
        for m in TOKEN_LINK.finditer(r.message.get_body(("plain",)).get_content())
    }:
        assert client.get(path).status_code == 200, path
    # ... and none of them is anywhere in a copy of the database.
    dump = database_text()
    for token in tokens:
        assert token not in dump
    assert all(m.link_tokens is None for m in rows())
    assert links.MASK in dump


def test_the_citizen_cookie_holds_no_manage_token(app, client):
    make_world()
    manage = Citizen(client).book()
    token = manage.rsplit("/", 1)[1]
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    session = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert token not in json.dumps(session)
    assert session["booked"]  # something is kept for "back"...
    back = client.get("/reserva/gelida/comprova")  # ...and "back" still finds the booking
    assert back.status_code == 303 and back.headers["Location"] == manage


def test_a_failed_message_retried_by_staff_gets_fresh_working_links(app, client, login, smtp):
    make_world()
    make_staff("COORDINACIO", role=Role.COORDINATOR)
    smtp.reject.add(DETAILS["email"])
    manage = Citizen(client).book()
    send_pending()
    (failed,) = [m for m in rows() if m.recipient == DETAILS["email"]]
    assert failed.status == OutboxStatus.FAILED
    assert failed.link_tokens is None  # wiped with the failure
    assert manage.rsplit("/", 1)[1] not in database_text()

    smtp.reject.clear()
    login("COORDINACIO", PASSWORD)
    page = client.get(f"/admin/correu/{failed.id}").get_data(as_text=True)
    response = client.post(
        f"/admin/correu/{failed.id}/reintenta", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 303
    send_pending()
    (received,) = smtp.to(DETAILS["email"])
    body = received.message.get_body(("plain",)).get_content()
    (fresh,) = set(re.findall(r"http://localhost/cita/([A-Za-z0-9_-]{20,})", body))
    assert fresh != manage.rsplit("/", 1)[1]
    assert client.get(f"/cita/{fresh}").status_code == 200
    # The follow link ("Com va la meva consulta?") is issued afresh the same way.
    (follow,) = set(re.findall(r"http://localhost/seguiment/([A-Za-z0-9_-]{20,})", body))
    assert client.get(f"/seguiment/{follow}").status_code == 200
    assert fresh not in database_text() and follow not in database_text()


# --- The outbox page: masked, and downloads never cached (finding 14) ---------------------------


def test_the_outbox_page_shows_masked_links_and_its_downloads_are_not_stored(
    app, client, login, smtp
):
    make_world()
    make_staff("COORDINACIO", role=Role.COORDINATOR)
    manage = Citizen(client).book()
    token = manage.rsplit("/", 1)[1]
    (message,) = [m for m in rows() if m.recipient == DETAILS["email"]]
    login("COORDINACIO", PASSWORD)
    for sent in (False, True):
        pages = {
            "page": client.get(f"/admin/correu/{message.id}"),
            "html": client.get(f"/admin/correu/{message.id}/html"),
            "eml": client.get(f"/admin/correu/{message.id}/missatge.eml"),
            "ics": client.get(f"/admin/correu/{message.id}/invite.ics"),
            "list": client.get("/admin/correu/"),
        }
        for name, response in pages.items():
            assert response.status_code == 200, name
            assert token not in response.get_data(as_text=True), name
            assert response.headers["Cache-Control"] == "no-store", name
        assert f"/cita/{token[:4]}{links.MASK}" in pages["page"].get_data(as_text=True)
        assert pages["page"].get_data(as_text=True).count('id="masked-links"') == 1
        assert pages["eml"].headers["X-Content-Type-Options"] == "nosniff"
        assert pages["ics"].headers["X-Content-Type-Options"] == "nosniff"
        if not sent:
            send_pending()
    assert token in clear_text(message) or message.link_tokens is None


# --- Finding 11 (mail) and ICS review §8.5: no people in errors and logs -------------------------


def test_errors_and_logs_name_no_one(app, client, smtp, caplog, capfd):
    app.extensions["mail"].debug = True  # MAIL_DEBUG: the SMTP dialogue
    make_world()
    smtp.reject.add(DETAILS["email"])
    manage = Citizen(client).book()
    token = manage.rsplit("/", 1)[1]
    with caplog.at_level(logging.DEBUG, logger="umic"):
        send_pending()
    app_log = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("umic"))
    assert "outbox message" in app_log
    (failed,) = [m for m in rows() if m.recipient == DETAILS["email"]]
    assert failed.status == OutboxStatus.FAILED
    assert failed.last_error.startswith("SMTPRecipientsRefused: 550")
    stderr = capfd.readouterr().err
    assert "rcpt TO" in app_log and "550" in app_log  # the dialogue is there...
    for text in (failed.last_error, app_log, stderr):
        assert DETAILS["email"] not in text
        assert DETAILS["name"] not in text
        assert token not in text
    for text in (app_log, stderr):  # ...never a message
        assert "Subject:" not in text and "Content-Type" not in text


# --- ICS review §8.2 and §8.4: 7-bit bodies, Auto-Submitted ---------------------------------------


def test_the_server_receives_7bit_quoted_printable_text_that_decodes_to_the_text(app, client, smtp):
    make_world()
    Citizen(client).book(name="Núria Puig i Solà")
    queued = {m.recipient: (clear_text(m), m.body_html) for m in rows()}
    send_pending()
    assert len(smtp.messages()) == 2
    for received in smtp.messages():
        # Nothing 8-bit on the wire, so no BODY=8BITMIME is needed (RFC 6152).
        assert all(byte < 128 for byte in received.data)
        assert not any(o.upper().startswith("BODY=") for o in received.mail_options)
        message = received.message
        assert message["Auto-Submitted"] == "auto-generated"
        for part in message.walk():
            if part.get_content_type() in ("text/plain", "text/html"):
                assert part["Content-Transfer-Encoding"] == "quoted-printable"
        text, html = queued[received.rcpt_tos[0]]
        # The same text, line for line (CRLF on the wire).
        decoded = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        assert decoded == text
        if received.rcpt_tos[0] != DETAILS["email"]:  # (the citizen's HTML has masked links)
            assert message.get_body(("html",)).get_content().replace("\r\n", "\n") == html
    citizen_mail = smtp.to(DETAILS["email"])[0].message
    assert "Núria Puig i Solà" in citizen_mail.get_body(("plain",)).get_content()


# --- The migration masks what was stored before ---------------------------------------------------


def test_the_migration_masks_stored_tokens_and_keeps_only_the_waiting_ones(tmp_path):
    from flask_migrate import upgrade

    from support.apps import MIGRATIONS
    from umic import create_app
    from umic.config import TestConfig

    app = create_app(
        TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/m.db"}
    )
    sent_token, waiting_token = "S" * 32, "W" * 8 + "x" * 24
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="8396f04616f9")
        insert = sa.text(
            "INSERT INTO outbox_message (created_at, kind, recipient, recipient_name, sender, "
            "subject, body_text, body_html, ics_method, message_id, status, attempts, "
            "next_attempt_at, last_error, locked_by) VALUES ('2026-01-01 00:00:00', 'k', "
            "'a@example.net', '', 's@example.org', 'S', :text, :html, '', '<m>', :status, 0, "
            "'2026-01-01 00:00:00', '', '')"
        )
        with db.engine.begin() as connection:
            for token, status in ((sent_token, "sent"), (waiting_token, "pending")):
                connection.execute(
                    insert,
                    {
                        "text": f"Veure: http://localhost/cita/{token}?lang=es\n",
                        "html": f'<a href="http://localhost/enquesta/{token}">x</a>',
                        "status": status,
                    },
                )
        upgrade(directory=MIGRATIONS, revision="a10c0a000001")
        with db.engine.connect() as connection:
            stored = connection.execute(
                sa.text(
                    "SELECT status, body_text, body_html, link_tokens, link_refs "
                    "FROM outbox_message ORDER BY id"
                )
            ).all()
        db.engine.dispose()
    (sent, waiting) = stored
    assert sent_token not in "".join(map(str, sent))
    assert sent.body_text == f"Veure: http://localhost/cita/SSSS{links.MASK}?lang=es\n"
    assert f"/enquesta/SSSS{links.MASK}" in sent.body_html
    assert sent.link_tokens is None and json.loads(sent.link_refs)[0][0] == "SSSS" + links.MASK
    assert waiting_token not in waiting.body_text + waiting.body_html
    assert json.loads(waiting.link_tokens) == [waiting_token]
