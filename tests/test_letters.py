"""Letters of the service (issue 14): texts with versions, PDF/A letters, sending them.

Real database (SQLite file and PostgreSQL), real files in a temporary UPLOAD_FOLDER, real
PDFs (WeasyPrint) opened with pypdf and pypdfium2, a real loopback SMTP server.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import select

from support.apps import smtp_config
from support.factories import make_case as make_open_case
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from umic import clock
from umic.casefiles.service import create_case
from umic.core import ics
from umic.core.codes import LetterKind
from umic.extensions import db
from umic.letters import issue_letter
from umic.letters import send_letter
from umic.letters import service
from umic.letters import text as letter_text
from umic.letters.defaults import DEFAULTS
from umic.letters.render import html_to_pdf
from umic.letters.render import letter_html
from umic.mail.outbox import send_pending
from umic.models import CaseEvent
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import LetterTemplate
from umic.models import OutboxMessage
from umic.models import Role

KINDS = [kind.value for kind in LetterKind]


@pytest.fixture
def upload_dir(tmp_path) -> Path:
    return tmp_path / "fitxers"


@pytest.fixture
def app_config(upload_dir, request) -> dict:
    config = {"UPLOAD_FOLDER": str(upload_dir)}
    if "smtp" in request.fixturenames:
        config.update(smtp_config(request.getfixturevalue("smtp")))
    return config


@pytest.fixture
def world(app):
    return make_world(technicians=1)


def make_case(world, **values) -> CaseFile:
    """A case in progress against a water company, with an amount claimed."""
    values = {"company": "Empresa de l'aigua", "amount_claimed": Decimal("1234.50"), **values}
    return make_open_case(world, **values)


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


# --- The template language (no database) ------------------------------------------------------


def test_every_shipped_text_is_valid():
    for (kind, language), (subject, body) in DEFAULTS.items():
        assert not letter_text.check(subject), (kind, language)
        assert not letter_text.check(body), (kind, language)
        assert "{{ case.number }}" in subject + body
    assert {kind for kind, _lang in DEFAULTS} == set(KINDS)
    assert {lang for _kind, lang in DEFAULTS} == {"ca", "es"}


def test_unknown_placeholders_and_syntax_errors_are_found():
    problems = letter_text.check("Hola {{ consumer.name }} {{ foo }}\n{{ case.nombre }}")
    assert problems.unknown == ["case.nombre", "foo"]
    problems = letter_text.check("Hola\n\n{{ case.number ")
    assert problems.syntax and problems.syntax[0].startswith("3:")
    problems = letter_text.check("{{ consumer }}")  # a group, not a value
    assert problems.unknown == ["consumer"]


def test_the_sandbox_refuses_python_internals():
    assert letter_text.check("{{ ''.__class__ }}").unsafe == ["__class__"]
    with pytest.raises(letter_text.LetterTextError):
        letter_text.render("{{ ''.__class__.__mro__ }}", {})
    with pytest.raises(letter_text.LetterTextError):
        letter_text.render("{{ case.number.__class__ }}", {"case": {"number": "1"}})


def test_values_are_text_never_markup():
    out = letter_text.render("A {{ consumer.name }} B", {"consumer": {"name": "<b>Jo & tu</b>"}})
    assert out == "A <b>Jo & tu</b> B"  # plain text; the layout escapes it
    html = letter_html(language="ca", title="T", body=out)
    assert "<b>Jo" not in html and "&lt;b&gt;Jo &amp; tu&lt;/b&gt;" in html


# --- PDFs ---------------------------------------------------------------------------------------


@pytest.mark.pdf
def test_html_to_pdf_is_pdfa_and_fetches_nothing(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET")
    html = letter_html(language="es", title="Prueba", body="Hola")
    html = html.replace(
        "</body>", f'<img src="file://{secret}"><img src="http://127.0.0.1:9/x.png"></body>'
    )
    data = html_to_pdf(html, language="es")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "Prueba"
    xmp = reader.xmp_metadata.stream.get_data()
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="B"' in xmp
    text = pdf_text(data)
    assert "Hola" in text and "SECRET" not in text
    assert "Diputació de Barcelona" in text and "Página 1 de 1" in text


@pytest.mark.pdf
def test_every_kind_in_catalan_and_spanish_renders(app, world):
    import pypdfium2

    case = make_case(world)
    actor = world.technicians[0]
    for kind in KINDS:
        for language in ("ca", "es"):
            template = service.current_template(kind, language)
            context = service.letter_context(case, language, actor=actor, now=clock.now())
            letter = service.render_letter(kind, language, template.subject, template.body, context)
            text = pdf_text(letter.pdf)
            assert case.number in text, (kind, language)
            assert "Atentament" in text if language == "ca" else "Atentamente" in text
            pdf = pypdfium2.PdfDocument(letter.pdf)
            assert len(pdf) >= 1
            pdf.close()
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(LetterTemplate)) == 14


# --- Issuing and sending --------------------------------------------------------------------------


@pytest.mark.pdf
def test_issue_letter_stores_a_service_document(app, world):
    case = make_case(world)
    actor = world.technicians[0]
    document = issue_letter(case, "acusament", "ca", actor=actor, now=clock.now())
    db.session.commit()
    assert document.source == "service" and document.category == "correspondencia"
    assert document.letter_kind == "acusament" and document.language == "ca"
    template = db.session.get(LetterTemplate, document.template_id)
    assert template.version == 1 and template.shipped
    assert document.text_status == "done" and case.number in document.text
    assert document.content_type == "application/pdf"
    assert "Raúl Sánchez" in document.text
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.kind == "letter")).all()
    assert [e.note for e in events] == ["Carta generada: Acusament de recepció (versió 1)"]


def test_amounts_and_dates_in_the_letters_language(app, world):
    case = make_case(world)
    for language in ("ca", "es"):
        context = service.letter_context(case, language, actor=None, now=clock.now())
        assert context["amount_claimed"].endswith("234,50\xa0€")
    assert service.date_text(date(2026, 4, 5), "ca") == "5 d’abril de 2026"
    assert service.date_text(date(2026, 12, 5), "es") == "5 de diciembre de 2026"
    assert context["deadline"] == letter_text.BLANK  # nothing asked yet: a blank to fill


@pytest.mark.pdf
def test_send_letter_through_real_smtp_with_the_pdf_attached(app, world, smtp):
    case = make_case(world)
    actor = world.technicians[0]
    document = issue_letter(case, "requeriment", "es", actor=actor, now=clock.now())
    message = send_letter(
        document,
        recipient=ics.Person(email="raul@example.net", name="Raúl Sánchez"),
        now=clock.now(),
        actor=actor,
    )
    db.session.commit()
    assert message.document_id == document.id
    report = send_pending()
    assert report.sent == 1, report
    [received] = smtp.messages()
    mail = received.message
    assert "Requerimiento de documentación" in str(mail["Subject"])
    attachments = [part for part in mail.iter_attachments()]
    [pdf] = [part for part in attachments if part.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == document.original_name
    assert case.number in pdf_text(pdf.get_content())
    body = mail.get_body(("plain",)).get_content()
    assert case.number in body
    notes = [
        e.note for e in db.session.scalars(select(CaseEvent).where(CaseEvent.kind == "letter"))
    ]
    assert "Carta enviada a raul@example.net" in notes


# --- Versions -------------------------------------------------------------------------------------


def test_an_edit_is_a_new_version_and_the_newest_is_used(app, world):
    coordinator = make_staff("OPSCOORD", role=Role.COORDINATOR)
    first = service.current_template("tancament", "ca")
    assert first.version == 1
    new = service.save_version(
        "tancament",
        "ca",
        subject="Tancament {{ case.number }}",
        body="Benvolgut/Benvolguda senyor/a,\n\nText nou.\n\nAtentament,",
        actor=coordinator,
        now=clock.now(),
    )
    db.session.commit()
    assert new.version == 2 and not new.shipped and new.created_by_id == coordinator.id
    assert service.current_template("tancament", "ca").id == new.id
    db.session.refresh(first)
    assert first.subject.startswith("Tancament de l'expedient")  # never changed
    assert [v.version for v in service.versions("tancament", "ca")] == [2, 1]
    assert service.current_template("tancament", "es").version == 1


def test_an_unknown_placeholder_is_refused_at_save(app, world):
    errors = service.check_text("Assumpte {{ case.number }}", "Hola {{ consumer.nom }}")
    assert errors.body and "consumer.nom" in errors.body[0] and not errors.subject
    errors = service.check_text("{{ ''.__class__ }}", "Hola")
    assert errors.subject
    coordinator = make_staff("OPSCOORD", role=Role.COORDINATOR)
    with pytest.raises(service.LetterError):
        service.save_version(
            "acusament", "ca", subject="S", body="{{ nope }}", actor=coordinator, now=clock.now()
        )


# --- The coordinators' editor (/admin/cartes/) ---------------------------------------------


def test_editor_is_for_coordinators_only(app, client, login, world):
    make_staff("OPSTECNIC", role=Role.TECHNICIAN)
    assert client.get("/admin/cartes/").status_code in (302, 303)  # signed out: sign in
    login("OPSTECNIC")
    assert client.get("/admin/cartes/").status_code == 403
    assert client.get("/admin/cartes/acusament/ca/").status_code == 403
    assert client.post("/admin/cartes/acusament/ca/", data={}).status_code in (400, 403)


def test_editor_lists_edits_previews_and_keeps_versions(app, client, login, world):
    make_staff("OPSCOORD", role=Role.COORDINATOR, name="Coordinadora Prova")
    login("OPSCOORD")
    page = client.get("/admin/cartes/")
    assert page.status_code == 200
    table = soup(page.text).select_one("#letters")
    assert len(table.select("tbody tr")) == 14
    assert client.get("/admin/cartes/nope/ca/").status_code == 404
    assert client.get("/admin/cartes/acusament/fr/").status_code == 404

    url = "/admin/cartes/tancament/es/"
    page = client.get(url)
    assert page.status_code == 200
    assert "{{ case.number }}" in soup(page.text).select_one("#placeholder-list").get_text()
    token = csrf_token(page.text)

    # An unknown placeholder: refused, beside the field and in the summary, text kept.
    bad = {
        "csrf_token": token,
        "subject": "Cierre {{ case.number }}",
        "action": "save",
        "body": "Estimado/a señor/a:\n\n{{ consumer.nombre }}",
    }
    page = client.post(url, data=bad)
    assert page.status_code == 422
    assert any("consumer.nombre" in message for message in error_messages(page.text))
    assert ("#body", error_messages(page.text)[0]) in summary_links(page.text)
    assert "{{ consumer.nombre }}" in soup(page.text).select_one("#body").get_text()
    # The sandbox's refusals are errors too, never a 500.
    page = client.post(url, data={**bad, "body": "{{ ''.__class__.__mro__ }}"})
    assert page.status_code == 422 and error_messages(page.text)
    page = client.post(url, data={**bad, "body": "Hola {{ case.number "})
    assert page.status_code == 422 and "línia 1" in error_messages(page.text)[0]

    # Preview: a PDF shown inline, nothing saved.
    good = {
        **bad,
        "body": "Estimado/a señor/a:\n\nTexto nuevo {{ consumer.name }}.\n\nAtentamente,",
    }
    preview = client.post(url, data={**good, "action": "preview"})
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    assert preview.headers["Content-Disposition"].startswith("inline")
    assert preview.headers["X-Content-Type-Options"] == "nosniff"
    assert "Texto nuevo Persona de prova" in pdf_text(preview.data)
    assert service.current_template("tancament", "es").version == 1

    # Save: version 2, the newest is used; the history shows both with who and the text.
    saved = client.post(url, data=good)
    assert saved.status_code == 303
    assert service.current_template("tancament", "es").version == 2
    history = client.get("/admin/cartes/tancament/es/versions")
    versions = soup(history.text).select("#versions > li")
    assert [li["id"] for li in versions] == ["version-2", "version-1"]
    assert "Coordinadora Prova" in versions[0].get_text()
    assert "Texto nuevo" in versions[0].get_text()
    assert "Junta Arbitral de Consumo" in versions[1].get_text()


# --- The case page's letters section -------------------------------------------------------------


@pytest.mark.pdf
def test_case_page_generates_and_sends_a_letter(app, client, login, world, smtp):
    technician = world.technicians[0]
    other = make_staff("OPSALTRE", role=Role.TECHNICIAN)
    case = make_case(world, language="es")
    login(other.username)
    page = client.get(f"/espai/expedients/{case.id}")
    assert page.status_code == 200
    assert soup(page.text).select_one("#cartes form") is None, page.text[:3000]  # not theirs
    token = csrf_token(page.text)
    denied = client.post(
        f"/espai/expedients/{case.id}/cartes",
        data={"csrf_token": token, "kind": "acusament", "language": "ca"},
    )
    assert denied.status_code == 403
    assert client.post("/surt", data={"csrf_token": token}).status_code in (302, 303)

    login(technician.username)
    page = client.get(f"/espai/expedients/{case.id}")
    section = soup(page.text).select_one("#cartes")
    assert section.select_one("#letter-language-es")["checked"] is not None  # the case's
    token = csrf_token(page.text)
    bad = client.post(
        f"/espai/expedients/{case.id}/cartes",
        data={"csrf_token": token, "kind": "nope", "language": "es"},
    )
    assert bad.status_code == 303
    made = client.post(
        f"/espai/expedients/{case.id}/cartes",
        data={"csrf_token": token, "kind": "acusament", "language": "es"},
    )
    assert made.status_code == 303
    page = client.get(f"/espai/expedients/{case.id}")
    [item] = soup(page.text).select("#letters-issued li")
    document_id = int(item["id"].removeprefix("letter-"))
    assert "Carta del servei" in soup(page.text).select_one("#documents").get_text()
    sent = client.post(
        f"/espai/expedients/{case.id}/cartes/{document_id}/envia",
        data={"csrf_token": token, "to": "citizen"},
    )
    assert sent.status_code == 303
    page = client.get(f"/espai/expedients/{case.id}")
    assert "Enviada a raul@example.net" in soup(page.text).select_one("#letters-issued").get_text()
    assert send_pending().sent == 1
    [received] = smtp.messages()
    assert received.rcpt_tos == ("raul@example.net",)
    pdfs = [
        p for p in received.message.iter_attachments() if p.get_content_type() == "application/pdf"
    ]
    assert case.number in pdf_text(pdfs[0].get_content())
    assert "Acuse de recibo" in pdf_text(pdfs[0].get_content())


@pytest.mark.pdf
def test_a_message_with_an_invitation_and_a_letter_stays_a_valid_invitation(app, world):
    import email
    from datetime import timedelta
    from email import policy

    from support.factories import make_booking
    from umic.mail import compose
    from umic.mail.outbox import build_message

    technician = world.technicians[0]
    start = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    booking, token = make_booking(world.town, world.service, technician, start)
    compose.notify_booking_created(booking, token)
    case = make_case(world)
    document = issue_letter(case, "convocatoria", "ca", actor=technician, now=clock.now())
    row = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == booking.citizen_email)
    ).first()
    assert row.ics
    row.document_id = document.id
    db.session.commit()

    raw = build_message(row).as_bytes()
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert mail.get_content_type() == "multipart/mixed"
    parts = list(mail.iter_parts())
    assert [p.get_content_type() for p in parts] == [
        "multipart/alternative",
        "application/ics",
        "application/pdf",
    ]
    alternatives = [p.get_content_type() for p in parts[0].iter_parts()]
    assert alternatives == ["text/plain", "text/html", "text/calendar"]
    assert parts[1].get_filename() == "invite.ics"
    calendar = [p for p in mail.walk() if p.get_content_type() == "text/calendar"][0]
    assert calendar.get_content().encode() == parts[1].get_content() or calendar.get_payload(
        decode=True
    ) == parts[1].get_payload(decode=True)
    assert parts[2].get_filename() == document.original_name
    assert parts[2].get_content_disposition() == "attachment"
    assert pypdf.PdfReader(io.BytesIO(parts[2].get_content())).pages


# --- In the browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.pdf
def test_the_letter_pages_pass_the_accessibility_checks(sqlite_template, tmp_path):
    """axe, reflow at 320 px and text spacing in Chromium: the list of texts, the editor and
    its error, the history, and the case page's letters section with a letter made."""
    from support.a11y import check_state
    from support.a11y import serve_site
    from support.browser import launched

    with launched() as browser, serve_site(sqlite_template, tmp_path, browser) as site:
        technician = site.technicians[0]
        case = create_case(
            {
                "interested_name": "Raúl Sánchez",
                "interested_email": "raul@example.net",
                "municipality_id": site.town.id,
                "assigned_to_id": technician.id,
                "status": CaseStatus.EN_TRAMIT,
            },
            actor=None,
            now=clock.now(),
        )
        db.session.commit()
        problems = []
        with site.page(user="OPSSCOORD") as page:
            page.goto(site.url("/admin/cartes/"))
            problems += check_state(page, "letters: list").blocking
            page.goto(site.url("/admin/cartes/acusament/ca/"))
            problems += check_state(page, "letters: editor").blocking
            page.fill("#body", "Hola {{ foo }}")
            page.click("button[value=save]")
            assert page.locator(".error-summary").count() == 1
            problems += check_state(page, "letters: editor error").blocking
            page.goto(site.url("/admin/cartes/acusament/ca/versions"))
            problems += check_state(page, "letters: history").blocking
        with site.page(user=technician.username) as page:
            page.goto(site.url(f"/espai/expedients/{case.id}"))
            page.click("text=Genera la carta")
            assert page.locator("#letters-issued li").count() == 1
            # Only this section is ours: the documents list above it is checked by its own
            # tests (umic/templates/workspace/_case_documents.html).
            problems += [
                problem
                for problem in check_state(page, "letters: case page").blocking
                if ".document-" not in problem
            ]
        assert not problems, "\n".join(problems)
