"""The consumer mailbox (bústia): a written message becomes a case file, without JavaScript.

Real parts: the form posted as a browser posts it (multipart, CSRF token, the hidden stamp),
the files stored on disk, the outbox written in the same commit.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from support.factories import make_staff
from support.factories import make_town
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from umic import clock
from umic.booking import abuse
from umic.casefiles import documents
from umic.casefiles.queries import UNASSIGNED
from umic.extensions import db
from umic.mail import links
from umic.models import AccessToken
from umic.models import BookingRefusal
from umic.models import CaseDocument
from umic.models import CaseEvent
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import Channel
from umic.models import OutboxMessage
from umic.models import TokenPurpose
from umic.privacy.anonymise import anonymise_cases

# Forms, caps and bot checks do not depend on the database: SQLite is enough for them.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def app_config(tmp_path) -> dict:
    # Rate limits on, with room for every test's posts; the rate test narrows them.
    return {
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_BOOKING": "20 per minute",
    }


def hidden(html: str, name: str) -> str:
    field = soup(html).select_one(f'input[name="{name}"]')
    return field["value"] if field is not None and field.has_attr("value") else ""


def fields(page: str, **changes) -> dict:
    """A filled-in claim, as a person would send it from ``page``."""
    data = {
        "csrf_token": csrf_token(page),
        "shown_at": hidden(page, "shown_at"),
        "comentari": "",
        "name": "Marta Puig",
        "email": "marta@example.net",
        "phone": "612 345 678",
        "kind": "reclamacio",
        "company": "Telefonia Exemple SA",
        "description": "Em cobren una permanència que no vaig signar.",
        "claim_request": "Que em tornin els 120 euros.",
        "consent": "y",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def pdf(name: str = "factura.pdf", body: bytes = PDF):
    return (io.BytesIO(body), name)


def send(client, url: str, data: dict, files=()):
    payload = dict(data)
    if files:
        payload["documents"] = list(files)
    return client.post(url, data=payload, content_type="multipart/form-data")


def test_a_claim_with_a_pdf_becomes_an_unassigned_case_with_an_acknowledgment(app, client, login):
    town = make_town()
    page = client.get(f"/bustia/{town.slug}/").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and "multiple" in page
    assert "<script" not in soup(page).select_one("main").decode()  # no JavaScript needed

    response = send(client, f"/bustia/{town.slug}/", fields(page), [pdf()])
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(f"/bustia/{town.slug}/enviat")

    case = db.session.scalar(select(CaseFile))
    assert case.channel == Channel.BUSTIA and case.case_type == "reclamacio"
    assert case.status == CaseStatus.PENDENT and case.assigned_to_id is None
    assert case.municipality_id == town.id and case.company == "Telefonia Exemple SA"
    assert case.claim_request == "Que em tornin els 120 euros."
    assert case.email_key == "marta@example.net" and len(case.network_key) == 32
    assert timedelta(0) <= clock.now() - case.requested_at < timedelta(seconds=30)
    kinds = db.session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert sorted(kinds) == ["created", "document"]
    document = db.session.scalar(select(CaseDocument))
    assert document.source == documents.CITIZEN and document.original_name == "factura.pdf"
    assert documents.stored_path(document).read_bytes() == PDF
    assert (
        db.session.scalar(
            select(func.count(AccessToken.id)).where(AccessToken.purpose == TokenPurpose.STATUS)
        )
        == 1
    )

    message = db.session.scalar(select(OutboxMessage))
    assert message.kind == "mailbox_ack" and message.recipient == "marta@example.net"
    assert case.number in message.subject and case.number in message.body_text
    assert "factura.pdf" in message.body_text
    # The follow link is stored masked, its token kept apart until it is sent.
    assert "http://localhost/seguiment/" in message.body_text
    assert links.MASK in message.body_text and links.MASK in message.body_html
    (token,) = links.load(message.link_tokens)
    assert token not in message.body_text and token not in message.body_html
    assert f"/seguiment/{token}" in links.unmask(message.body_text, [token])

    done = client.get(response.headers["Location"]).get_data(as_text=True)
    assert case.number in done and "marta@example.net" in done
    assert token not in done  # the link is only in the e-mail
    assert soup(done).select_one('main a[href^="tel:"]') is not None

    # The technicians' list, filtered to what nobody has taken from the mailbox, shows it.
    make_staff()
    login("OPSSVEGAVN")
    listed = client.get(f"/espai/expedients/?assignat={UNASSIGNED}&canal=bustia")
    assert case.number in listed.get_data(as_text=True)
    detail = client.get(f"/espai/expedients/{case.id}").get_data(as_text=True)
    assert "Que em tornin els 120 euros." in detail  # what they ask for
    assert "Avís de privacitat acceptat: " in detail  # the consent, in the history
    agenda = client.get("/espai/").get_data(as_text=True)
    assert "1 missatge nou de la bústia sense assignar" in agenda
    assert "/espai/expedients/?canal=bustia&amp;assignat=cap&amp;estat=pendent" in agenda


def test_the_town_select_lists_every_town_in_catalan_order_and_a_consultation_needs_less(
    app, client
):
    make_town("Òdena", "08143")
    make_town("l'Ametlla del Vallès", "08005")
    avia = make_town("Avià", "08011")
    page = client.get("/bustia/").get_data(as_text=True)
    options = [o.get_text() for o in soup(page).select("select[name=town] option")][1:]
    assert options == ["Avià", "l'Ametlla del Vallès", "Òdena"]  # accents, case, l' ignored

    data = fields(page, town=str(avia.id), kind="consulta", company="", claim_request="")
    response = send(client, "/bustia/", data)
    assert response.status_code == 303, error_messages(response.get_data(as_text=True))
    case = db.session.scalar(select(CaseFile))
    assert case.case_type == "consulta" and case.municipality_id == avia.id
    assert response.headers["Location"].endswith("/bustia/avia/enviat")

    # In Spanish: the page, and the e-mail's follow link keeps the language.
    page = client.get(f"/bustia/{avia.slug}/?lang=es").get_data(as_text=True)
    assert '<html lang="es"' in page
    send(client, f"/bustia/{avia.slug}/?lang=es", fields(page, email="ana@example.net"))
    message = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert message.recipient == "ana@example.net" and "?lang=es" in message.body_text
    spanish = db.session.scalar(
        select(CaseFile).where(CaseFile.interested_email == "ana@example.net")
    )
    assert spanish.language == "es"  # later e-mails (documents asked) are written in it
    assert documents._citizen_language(spanish) == "es"


def test_every_error_is_beside_its_field_and_in_the_summary_and_the_input_is_kept(app, client):
    make_town()
    page = client.get("/bustia/").get_data(as_text=True)
    data = fields(
        page,
        town="",
        name="",
        email="not-an-address",
        phone="12",
        kind=None,
        company="",
        description="",
        claim_request="",
        consent=None,
    )
    html = send(client, "/bustia/", data).get_data(as_text=True)
    assert html.count("Trieu el vostre municipi") == 2
    expected = [
        "Trieu el vostre municipi",
        "Escriviu el vostre nom i cognoms",
        "Escriviu una adreça de correu electrònic vàlida, com ara nom@exemple.cat",
        "Escriviu un número de telèfon vàlid, com ara 612 345 678 o +34 612 345 678",
        "Trieu si és una consulta, una queixa o una reclamació",
        "Expliqueu què ha passat",
        "Heu d'acceptar el tractament de dades per enviar el missatge",
    ]
    assert error_messages(html) == expected
    assert [text for _href, text in summary_links(html)] == expected
    assert ("#kind-0", expected[4]) in summary_links(html)
    assert hidden(html, "email") == "not-an-address"  # kept

    # A claim needs the company and what is asked; long texts are refused; files are lost.
    data = fields(page, town=hidden(page, "town") or "", company="", claim_request="")
    town_id = soup(page).select("select[name=town] option")[1]["value"]
    data["town"] = town_id
    data["description"] = "x" * 4001
    html = send(client, "/bustia/", data, [pdf()]).get_data(as_text=True)
    assert error_messages(html) == [
        "Escriviu el nom de l'empresa",
        "El text ha de tenir 4.000 caràcters o menys",
        "Expliqueu què demaneu a l'empresa",
        "Torneu a adjuntar els fitxers: el navegador no els conserva si hi ha un error.",
    ]
    assert "Marta Puig" in html and "Em cobren" not in html  # name kept; the long text too:
    assert soup(html).select_one("textarea[name=description]").get_text().strip() == "x" * 4001
    assert db.session.scalar(select(func.count(CaseFile.id))) == 0
    assert db.session.scalar(select(func.count(CaseDocument.id))) == 0


def test_a_bad_file_is_refused_with_the_upload_message_and_nothing_is_stored(app, client):
    town = make_town()
    url = f"/bustia/{town.slug}/"
    page = client.get(url).get_data(as_text=True)
    html = send(client, url, fields(page), [pdf("factura.pdf", b"<html>hi</html>")]).get_data(
        as_text=True
    )
    assert error_messages(html) == [
        "El fitxer ha de ser un PDF, JPG o PNG. Torneu a adjuntar els fitxers."
    ]
    too_many = [pdf(f"f{n}.pdf") for n in range(6)]
    html = send(client, url, fields(page), too_many).get_data(as_text=True)
    assert error_messages(html) == [
        "Podeu adjuntar com a màxim 5 fitxers. Torneu a adjuntar els fitxers."
    ]
    app.config["UPLOAD_MAX_BYTES"] = 20  # passes the first bytes, refused while stored
    html = send(client, url, fields(page), [pdf(), pdf("b.pdf")]).get_data(as_text=True)
    assert error_messages(html) == [
        "El fitxer ha de pesar 20 bytes o menys. Torneu a adjuntar els fitxers."
    ]
    app.config["MAX_CONTENT_LENGTH"] = 2000  # the whole request: refused unread
    response = send(client, url, fields(page), [pdf("big.pdf", PDF + b"0" * 3000)])
    assert response.status_code == 413
    assert "Torneu a omplir el formulari" in error_messages(response.get_data(as_text=True))[0]
    assert db.session.scalar(select(func.count(CaseFile.id))) == 0
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    assert not any(documents.upload_folder().glob("*.pdf"))


def test_the_honeypot_and_a_too_fast_form_store_nothing_and_say_what_to_do(app, client):
    town = make_town()
    url = f"/bustia/{town.slug}/"
    page = client.get(url).get_data(as_text=True)
    html = send(client, url, fields(page, comentari="Buy cheap pills")).get_data(as_text=True)
    assert "Heu enviat el formulari molt de pressa" in html
    assert hidden(html, "name") == "Marta Puig"
    assert soup(html).select_one("textarea[name=comentari]").get_text().strip() == ""

    app.config["BOOKING_MIN_FILL_SECONDS"] = 2
    page = client.get(url).get_data(as_text=True)
    html = send(client, url, fields(page), [pdf()]).get_data(as_text=True)
    notice = (
        "Heu enviat el formulari molt de pressa. Comproveu les dades i torneu a prémer «Envia». "
        "Torneu a adjuntar els fitxers."
    )
    assert ("#name", notice) in summary_links(html)
    assert "Marta Puig" in html and "Telefonia Exemple SA" in html
    assert db.session.scalar(select(func.count(CaseFile.id))) == 0

    clock.advance(timedelta(seconds=3))  # a person, reading it again: goes through
    response = send(client, url, fields(html))
    assert response.status_code == 303


def test_the_per_day_caps_refuse_the_next_message_and_the_job_erases_network_keys(app, client):
    town = make_town()
    url = f"/bustia/{town.slug}/"
    app.config["MAILBOX_MAX_PER_EMAIL_PER_DAY"] = 2
    app.config["MAILBOX_MAX_PER_NETWORK_PER_DAY"] = 3
    page = client.get(url).get_data(as_text=True)
    for email in ("marta@example.net", "Marta+2@Example.net"):
        assert send(client, url, fields(page, email=email)).status_code == 303
    html = send(client, url, fields(page, email="MARTA@example.net")).get_data(as_text=True)
    assert "Avui no podem rebre més missatges per internet" in html
    assert "amb aquesta adreça de correu" in html
    assert soup(html).select_one('main a[href^="tel:"]') is not None
    assert send(client, url, fields(page, email="joan@example.net")).status_code == 303
    html = send(client, url, fields(page, email="pere@example.net")).get_data(as_text=True)
    assert "des de la mateixa connexió a internet" in html
    assert db.session.scalar(select(func.count(CaseFile.id))) == 3
    reasons = db.session.scalars(select(BookingRefusal.reason)).all()
    assert sorted(reasons) == ["mailbox_email_day", "mailbox_network_day"]

    clock.advance(timedelta(days=1, seconds=1))
    abuse.watch(clock.now())
    assert (
        db.session.scalar(select(func.count(CaseFile.id)).where(CaseFile.network_key.is_not(None)))
        == 0
    )
    assert send(client, url, fields(page, email="pere@example.net")).status_code == 303


def test_without_the_csrf_token_nothing_is_stored(app, client):
    town = make_town()
    page = client.get(f"/bustia/{town.slug}/").get_data(as_text=True)
    response = send(client, f"/bustia/{town.slug}/", fields(page, csrf_token="forged"))
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(CaseFile.id))) == 0


def test_an_unknown_town_is_404_and_a_town_with_an_office_names_it(app, client):
    from umic.models import ConsumerOffice

    assert client.get("/bustia/enlloc/").status_code == 404
    town = make_town("Terrassa", "08279")
    town.office = ConsumerOffice(kind="omic", name="OMIC de Terrassa", phone="937 397 000")
    db.session.commit()
    page = client.get("/bustia/terrassa/").get_data(as_text=True)
    assert "OMIC de Terrassa" in page and 'href="tel:' in page
    assert send(client, "/bustia/terrassa/", fields(page)).status_code == 303  # still accepted


def test_the_embedded_mailbox_is_framed_by_the_town_and_stays_embedded(app, client):
    town = make_town()
    town.embed_origins = "https://www.gelida.cat"
    db.session.commit()
    response = client.get(f"/incrustat/bustia/{town.slug}/")
    assert response.status_code == 200
    assert "https://www.gelida.cat" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers
    page = response.get_data(as_text=True)
    assert f'action="/incrustat/bustia/{town.slug}/"' in page
    assert "embed-frame.js" in page
    done = send(client, f"/incrustat/bustia/{town.slug}/", fields(page))
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/incrustat/bustia/{town.slug}/enviat")
    # A frame whose browser keeps no cookie: the same form on the site, in a new tab.
    other = app.test_client()
    refused = send(other, f"/incrustat/bustia/{town.slug}/", fields(page))
    assert refused.status_code == 200
    assert f'href="/bustia/{town.slug}/"' in refused.get_data(as_text=True)
    # The site's own mailbox is not frameable.
    assert "frame-ancestors 'none'" in client.get("/bustia/").headers["Content-Security-Policy"]


def test_anonymising_a_mailbox_case_blanks_its_request_and_keys(app, client):
    town = make_town()
    page = client.get(f"/bustia/{town.slug}/").get_data(as_text=True)
    send(client, f"/bustia/{town.slug}/", fields(page))
    case = db.session.scalar(select(CaseFile))
    assert anonymise_cases([case.id], clock.now()) == 1
    db.session.commit()
    db.session.refresh(case)
    assert (case.claim_request, case.email_key, case.network_key) == ("", None, None)
    assert case.company == "Telefonia Exemple SA"  # the figures' fields stay


def test_sending_is_rate_limited_per_client(app, client):
    town = make_town()
    url = f"/bustia/{town.slug}/"
    app.config["RATELIMIT_BOOKING"] = "2 per minute"
    page = client.get(url).get_data(as_text=True)
    bad = fields(page, name="")  # refused forms count too: guessing is sending
    assert [send(client, url, bad).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(url).status_code == 200  # reading the form is not limited
