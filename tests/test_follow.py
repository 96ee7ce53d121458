"""“Com va la meva consulta?” (``/seguiment/<token>``), the follow links in the e-mails, and
the join button's timing on the manage page (review finding L8).

Real database, real files in a temporary UPLOAD_FOLDER, pages read with an HTML parser; the
e-mails through the outbox (masked at rest) and, once, a real SMTP server.
"""

from __future__ import annotations

import io
import re
from datetime import date
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from support.apps import smtp_config
from support.days import madrid
from support.days import today
from support.factories import make_booking
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import soup
from support.journey import DETAILS
from support.journey import Citizen
from support.outbox import clear_text
from umic import clock
from umic.casefiles import documents
from umic.casefiles.follow import issue_status_token
from umic.casefiles.service import case_from_booking
from umic.casefiles.service import create_case
from umic.casefiles.service import update_case
from umic.core.join import EARLY
from umic.core.join import OPEN
from umic.core.join import OVER
from umic.core.join import join_button
from umic.extensions import db
from umic.mail import links
from umic.mail.outbox import send_pending
from umic.models import AccessToken
from umic.models import CaseDocument
from umic.models import CaseStatus
from umic.models import Channel
from umic.models import OutboxMessage
from umic.models import TokenPurpose
from umic.web.logs import mask

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
SECRETS = ("NOTA-INTERNA-7731", "ESTAT-INTERN-7731", "DETALL-INTERN-7731", "ORGANIC-7731")
FOLLOW = re.compile(r"http://localhost(/seguiment/[A-Za-z0-9_-]{20,})")


@pytest.fixture
def app_config(tmp_path, request) -> dict:
    config = {"UPLOAD_FOLDER": str(tmp_path / "fitxers")}
    if "smtp" in request.fixturenames:
        config.update(smtp_config(request.getfixturevalue("smtp")))
    return config


@pytest.fixture
def world(app):
    return make_world(technicians=1)


def text_of(response) -> str:
    return soup(response.get_data(as_text=True)).get_text(" ", strip=True)


def mailbox_case(world):
    """A written query as the mailbox files it, with staff's internal words on it."""
    case = create_case(
        {
            "interested_name": "Marta Vidal",
            "interested_email": "marta@example.net",
            "municipality_id": world.town.id,
            "channel": Channel.BUSTIA,
            "status": CaseStatus.PENDENT,
            "internal_status": SECRETS[1],
            "internal_detail": SECRETS[2],
            "organic": SECRETS[3],
            "assigned_to_id": world.technicians[0].id,
        },
        actor=None,
        now=clock.now(),
    )
    db.session.commit()
    update_case(
        case, {}, actor=None, expected_version=case.version, now=clock.now(), note=SECRETS[0]
    )
    db.session.commit()
    return case


def follow_path(**target) -> str:
    token = issue_status_token(now=clock.now(), **target)
    db.session.commit()
    return f"/seguiment/{token}"


def test_a_mailbox_case_shows_its_status_in_plain_words_and_never_the_internal_ones(client, world):
    case = mailbox_case(world)
    path = follow_path(case=case)
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]
    text = text_of(response)
    assert case.number in text and "Bústia" in text and "Pendent" in text
    assert "Hem rebut la vostra petició" in text
    assert "Darrer canvi" in text
    html = response.get_data(as_text=True)
    for secret in (*SECRETS, world.technicians[0].name, world.technicians[0].username):
        assert secret not in html, secret
    assert not soup(html).select("form[enctype]")  # nothing asked: no upload

    # In Spanish: the page's language follows ?lang=es.
    spanish = client.get(path, query_string={"lang": "es"})
    assert spanish.status_code == 200 and soup(spanish.get_data(as_text=True)).html["lang"] == "es"

    # Anonymised: the data is gone, and the page says so.
    case.anonymised_at = clock.now()
    db.session.commit()
    text = text_of(client.get(path, query_string={"lang": "ca"}))  # the choice is kept
    assert "s'han suprimit" in text and "Bústia" not in text and "Pendent" not in text


def test_documents_requested_the_deadline_the_upload_here_and_the_email_link(client, world):
    case = mailbox_case(world)
    deadline = today() + timedelta(days=7)
    update_case(
        case,
        {
            "status": CaseStatus.DOCUMENTACIO,
            "deadline": deadline,
            "status_detail": "La factura de maig de la companyia d'aigua",
        },
        actor=None,
        expected_version=case.version,
        now=clock.now(),
    )
    db.session.commit()

    # The request e-mail carries the follow link, masked at rest, working once spliced back.
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "documents_requested")
    ).one()
    assert "/seguiment/" in message.body_text and links.MASK in message.body_text
    path = FOLLOW.search(clear_text(message)).group(1)
    assert path.rsplit("/", 1)[1] not in message.body_text + message.body_html

    page = client.get(path)
    text = text_of(page)
    assert "Documentació requerida" in text and "La factura de maig" in text
    assert "necessitem que ens envieu documentació abans que acabi el termini" in text
    html = page.get_data(as_text=True)
    for secret in SECRETS:
        assert secret not in html
    assert "Encara no ens n'heu enviat cap" in text

    # The upload, right here, with the upload page's checks.
    bad = {"csrf_token": csrf_token(html), "category": "factura"}
    bad["document"] = FileStorage(io.BytesIO(b"<html>"), filename="factura.pdf")
    boundary, body = encode_multipart(bad)
    refused = client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert refused.status_code == 200
    assert "El fitxer ha de ser un PDF, JPG o PNG" in text_of(refused)
    good = {"csrf_token": csrf_token(html), "category": "factura"}
    good["document"] = FileStorage(io.BytesIO(PDF), filename="factura maig.pdf")
    boundary, body = encode_multipart(good)
    sent = client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert sent.status_code == 303
    text = text_of(client.get(path))
    assert "Document enviat" in text and "factura maig.pdf" in text
    stored = db.session.scalars(select(CaseDocument)).one()
    assert stored.source == documents.CITIZEN and stored.content_type == "application/pdf"

    # After the deadline day: no form, and the page says whom to call.
    clock.move_to(madrid(deadline + timedelta(days=1), 9))
    late = client.get(path)
    assert not soup(late.get_data(as_text=True)).select("form[enctype]")
    assert "El termini per enviar documents ha acabat" in text_of(late)
    boundary, body = encode_multipart(good)
    assert (
        client.post(
            path, data=body, content_type=f"multipart/form-data; boundary={boundary}"
        ).status_code
        == 303
    )
    assert db.session.scalar(select(func.count()).select_from(CaseDocument)) == 1


def test_a_booking_without_a_case_then_with_one(client, world):
    start = madrid(today() + timedelta(days=3), 10)
    booking, _manage = make_booking(world.town, world.service, world.technicians[0], start)
    path = follow_path(booking=booking)
    text = text_of(client.get(path))
    assert booking.reference in text and "Per videotrucada" in text and "Confirmada" in text
    assert "Encara no s'ha obert cap expedient" in text

    case = case_from_booking(booking, actor=None, now=clock.now())
    db.session.commit()
    text = text_of(client.get(path))
    assert case.number in text and "En tràmit" in text
    assert "Encara no s'ha obert cap expedient" not in text


def test_unknown_and_expired_links(client, world):
    assert client.get("/seguiment/no-such-token-at-all").status_code == 404
    # The token never reaches an access log.
    assert mask('"GET /seguiment/abcDEF123?lang=es HTTP/1.1" 200') == (
        '"GET /seguiment/***?lang=es HTTP/1.1" 200'
    )
    case = mailbox_case(world)
    path = follow_path(case=case)
    row = db.session.scalars(
        select(AccessToken).where(AccessToken.purpose == TokenPurpose.STATUS)
    ).one()
    clock.move_to(row.expires_at + timedelta(seconds=1))
    response = client.get(path)
    assert response.status_code == 410
    text = text_of(response)
    assert "ha caducat" in text and case.number not in text


def test_booking_emails_carry_the_manage_page_and_a_working_follow_link(app, client, smtp):
    make_world(technicians=1)
    manage = Citizen(client).book()
    (confirmation,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == DETAILS["email"])
    ).all()
    # At rest: both links masked (L9: the manage page's own address is in the e-mail).
    token = manage.rsplit("/", 1)[1]
    assert f"http://localhost/cita/{token[:4]}{links.MASK}\n" in confirmation.body_text
    assert "Com va la meva consulta?" in confirmation.body_text
    assert re.search(r"/seguiment/\S{4}" + links.MASK, confirmation.body_text)
    # Sent for real: the citizen gets working links.
    send_pending()
    (received,) = smtp.to(DETAILS["email"])
    body = received.message.get_body(("plain",)).get_content()
    assert re.search(rf"http://localhost{manage}\r?\n", body)
    path = FOLLOW.search(body).group(1)
    assert links.MASK not in body
    text = text_of(client.get(path))
    assert "Encara no s'ha obert cap expedient" in text and "Confirmada" in text


# --- L8: the join button is live only shortly before the call --------------------------------


def test_the_join_rule():
    start = madrid(today() + timedelta(days=1), 10, 30)
    end = start + timedelta(minutes=30)
    assert join_button(start, end, start - timedelta(days=2), 10).state == EARLY
    assert join_button(start, end, start - timedelta(minutes=11), 10).state == EARLY
    assert join_button(start, end, start - timedelta(minutes=10), 10).state == OPEN
    assert join_button(start, end, start + timedelta(minutes=29), 10).state == OPEN
    assert join_button(start, end, end, 10).state == OVER
    assert join_button(start, end, end, 10).opens_at == start - timedelta(minutes=10)


def test_the_manage_page_offers_the_join_link_from_ten_minutes_before(client, world):
    # On the day the clocks go back (the last Sunday of October), seen the day before: the
    # times are computed in UTC and the page says the local time of the day itself.
    start = madrid(date(2027, 10, 31), 10, 30)
    booking, token = make_booking(world.town, world.service, world.technicians[0], start)

    def page():
        return soup(client.get(f"/cita/{token}").get_data(as_text=True))

    clock.move_to(start - timedelta(days=1))
    early = page()
    assert not early.find("a", href=booking.video_link)
    notice = early.select_one(".join-later").get_text(" ", strip=True)
    assert "s'activarà 10 minuts abans de la cita" in notice and "a les 10:20" in notice

    clock.move_to(start - timedelta(minutes=9))
    live = page().find("a", href=booking.video_link)
    assert live is not None and "Uniu-vos a la vostra cita" in live.get_text()

    clock.move_to(start + timedelta(minutes=31))
    over = page()
    assert not over.find("a", href=booking.video_link)
    assert "Aquesta cita ja ha passat" in over.get_text()
