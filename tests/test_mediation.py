"""The mediation with a company (umic.mediation): staff panel, company page, session, close.

Real parts only: the staff pages posted as a browser posts them (CSRF, multipart), the letters
drawn as PDFs (hence ``pdf``), the outbox, the booking's claims on the real database, the
invitations read by icalendar and by vobject (a second, independent parser).
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from support import icstools
from support.factories import make_case
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.outbox import clear_text
from umic import clock
from umic.booking import service as booking_service
from umic.companies import find_or_create
from umic.extensions import db
from umic.mediation import service
from umic.models import AccessToken
from umic.models import Booking
from umic.models import CaseDocument
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import Mediation
from umic.models import OutboxMessage

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PASSWORD = "correct horse battery"
LINK = re.compile(r"http://localhost(/empresa/[A-Za-z0-9_-]+)")


@pytest.fixture
def app_config(tmp_path) -> dict:
    return {"UPLOAD_FOLDER": str(tmp_path / "fitxers")}


@pytest.fixture
def world(app):
    return make_world(technicians=2)


def make_claim(world, *, case_type="reclamacio", status=CaseStatus.PENDENT, **values) -> CaseFile:
    values = {
        "interested_phone": "600123456",
        "description": "La factura de la llum de maig cobra dues vegades el mateix període.",
        "amount_claimed": Decimal("120.50"),
        **values,
    }
    return make_case(world, case_type=case_type, status=status, **values)


def endesa():
    company = find_or_create(
        "Endesa Energía", claims_email="reclamacions@endesa.example", language="es"
    )
    db.session.commit()
    return company


def naturgy():
    company = find_or_create("Naturgy", claims_email="reclamacions@naturgy.example")
    db.session.commit()
    return company


def case_page(client, case) -> str:
    response = client.get(f"/espai/expedients/{case.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # The panel's ids are not used anywhere else on the page.
    ids = [tag["id"] for tag in soup(html).select("[id]")]
    mine = {tag["id"] for tag in soup(html).select("#mediacio [id]")}
    assert [i for i in ids if i in mine and ids.count(i) > 1] == []
    return html


def open_through_page(client, case, company, email=""):
    page = case_page(client, case)
    data = {
        "mediacio-csrf_token": csrf_token(page),
        "mediacio-company_id": company.id,
        "mediacio-company_email": email,
    }
    return posted(client.post(f"/espai/expedients/{case.id}/mediacio", data=data))


def posted(response):
    """The response; the test's own view of the rows is read again after it."""
    db.session.expire_all()
    return response


def company_link() -> str:
    message = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind.in_(["mediation_claim", "mediation_reminder"]))
        .order_by(OutboxMessage.id.desc())
    ).first()
    return LINK.search(clear_text(message)).group(1)


def a_file(content: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(content), filename=name, content_type="application/pdf")


def answer_as_company(client, link, **data):
    page = client.get(link).get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), **data}
    return posted(client.post(link, data=form, content_type="multipart/form-data"))


def free_time(client, case) -> tuple[str, str]:
    """(day, slot value) of the first free time of the signed-in mediator."""
    today = clock.now().date()
    for offset in range(1, 15):
        day = (today + timedelta(days=offset)).isoformat()
        page = client.get(f"/espai/expedients/{case.id}?sessio_dia={day}").get_data(as_text=True)
        radio = soup(page).select_one('#mediacio input[name="mediacio-slot"]')
        if radio is not None:
            return day, radio["value"]
    raise AssertionError("no free time in two weeks")


def convene(client, case, day, slot):
    page = case_page(client, case)
    data = {"mediacio-csrf_token": csrf_token(page), "sessio_dia": day, "mediacio-slot": slot}
    return posted(client.post(f"/espai/expedients/{case.id}/mediacio/sessio", data=data))


def close(client, case, **data):
    page = case_page(client, case)
    form = {"mediacio-csrf_token": csrf_token(page)}
    form.update({f"mediacio-{key}": value for key, value in data.items()})
    return posted(client.post(f"/espai/expedients/{case.id}/mediacio/tanca", data=form))


def invitation_of(message: OutboxMessage) -> Calendar:
    return Calendar.from_ical(message.ics)


# --- Opening ---------------------------------------------------------------------------------


@pytest.mark.pdf
def test_opening_sends_the_letter_with_the_link_in_the_body_only(client, login, world):
    case = make_claim(world)
    company = endesa()
    login(world.technicians[0].username, PASSWORD)
    response = open_through_page(client, case, company)
    assert response.status_code == 303

    mediation = db.session.scalar(select(Mediation).where(Mediation.case_id == case.id))
    assert mediation.status == "oberta"
    assert mediation.company_email == "reclamacions@endesa.example"  # from the registry
    assert mediation.language == "es"
    assert mediation.answer_due > clock.now().date()
    case = db.session.get(CaseFile, case.id)
    assert case.status == CaseStatus.EN_TRAMIT
    assert case.company_id == company.id
    assert any(e.kind == "mediation" for e in case.events)

    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "mediation_claim")
    )
    letter = db.session.get(CaseDocument, message.document_id)
    assert letter.letter_kind == "reclamacio_empresa" and letter.language == "es"
    link = company_link()
    token = link.rsplit("/", 1)[1]
    assert token not in (letter.text or "")
    assert token not in message.body_text  # masked at rest
    row = db.session.scalar(select(AccessToken).where(AccessToken.purpose == "company"))
    assert row.case_id == case.id and row.expires_at.date() > mediation.answer_due

    page = case_page(client, case)
    assert "Endesa Energía" in soup(page).select_one("#mediacio").get_text()


def test_open_form_errors_are_beside_the_field_and_in_the_summary(client, login, world):
    case = make_claim(world)
    login(world.technicians[0].username, PASSWORD)
    page = case_page(client, case)
    data = {
        "mediacio-csrf_token": csrf_token(page),
        "mediacio-company_id": "0",
        "mediacio-company_email": "no és correu",
    }
    response = client.post(f"/espai/expedients/{case.id}/mediacio", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Trieu l'empresa del registre" in error_messages(html)
    assert [href for href, _text in summary_links(html)] == [
        "#mediacio-company_id",
        "#mediacio-company_email",
    ]
    assert soup(html).select_one("#mediacio-company_email")["value"] == "noéscorreu"  # kept, tidied
    assert db.session.scalar(select(Mediation)) is None


def test_only_claims_that_are_not_final_can_go_to_mediation(app, client, login, world):
    consultation = make_claim(world, case_type="consulta")
    closed = make_claim(world, status=CaseStatus.RESOLT)
    company = naturgy()
    for case in (consultation, closed):
        with pytest.raises(service.MediationRefused):
            service.open_mediation(
                case, company, company_email="a@naturgy.example", actor=None, now=clock.now()
            )
        db.session.rollback()
    login(world.technicians[0].username, PASSWORD)
    assert "Només es pot obrir una mediació" in case_page(client, consultation)
    # Another technician's case: no form, and a 403 if posted anyway.
    other = make_claim(world, assigned_to_id=world.technicians[1].id)
    assert f'action="/espai/expedients/{other.id}/mediacio"' not in case_page(client, other)
    assert open_through_page(client, other, company).status_code == 403


# --- The company's page ----------------------------------------------------------------------


@pytest.mark.pdf
def test_company_answers_with_a_proposal_and_a_pdf_then_adds_a_document(client, login, world):
    case = make_claim(world)
    login(world.technicians[0].username, PASSWORD)
    open_through_page(client, case, naturgy())
    link = company_link()

    page = client.get(link)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert "Raúl Sánchez" in html and "cobra dues vegades" in html
    assert "600123456" not in html and "raul@example.net" not in html

    # A proposal needs its explanation: kept input, error in field and summary.
    response = answer_as_company(client, link, answer="proposa", proposed_amount="60,25")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Expliqueu la vostra proposta o per què la rebutgeu" in error_messages(html)
    assert ("#text", "Expliqueu la vostra proposta o per què la rebutgeu") in summary_links(html)
    assert soup(html).select_one("#proposed_amount")["value"] == "60,25"

    response = answer_as_company(
        client,
        link,
        answer="proposa",
        text="Retornem la meitat del període duplicat.",
        proposed_amount="60,25",
        document=a_file(PDF, "abonament.pdf"),
    )
    assert response.status_code == 303
    assert "gracies=1" in response.headers["Location"]
    mediation = db.session.scalar(select(Mediation))
    assert mediation.answer == "proposa" and mediation.proposed_amount == Decimal("60.25")
    assert mediation.status == "resposta"
    docs = db.session.scalars(select(CaseDocument).where(CaseDocument.source == "company")).all()
    assert [d.original_name for d in docs] == ["abonament.pdf"]
    technician_mail = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "mediation_answered_technician")
    )
    assert technician_mail.recipient == world.technicians[0].email

    # Answering twice: the recorded answer, and documents may be added.
    html = client.get(link).get_data(as_text=True)
    assert soup(html).select_one("#recorded-answer") is not None
    assert soup(html).select_one('input[name="answer"]') is None
    response = answer_as_company(client, link, document=a_file(PDF, "factura-rectificada.pdf"))
    assert response.status_code == 303
    names = db.session.scalars(
        select(CaseDocument.original_name).where(CaseDocument.source == "company")
    ).all()
    assert sorted(names) == ["abonament.pdf", "factura-rectificada.pdf"]
    # A file that is not a PDF, JPEG or PNG is refused with the reason.
    response = answer_as_company(client, link, document=a_file(b"MZ\x90\x00", "virus.pdf"))
    assert response.status_code == 422
    assert any("PDF, JPG o PNG" in m for m in error_messages(response.get_data(as_text=True)))


@pytest.mark.pdf
def test_unknown_and_expired_links(client, login, world):
    assert client.get("/empresa/" + "x" * 43).status_code == 404
    assert client.get("/empresa/" + "x" * 500).status_code == 404
    case = make_claim(world)
    login(world.technicians[0].username, PASSWORD)
    open_through_page(client, case, naturgy())
    link = company_link()
    row = db.session.scalar(select(AccessToken).where(AccessToken.purpose == "company"))
    row.expires_at = clock.now() - timedelta(seconds=1)
    db.session.commit()
    response = client.get(link)
    assert response.status_code == 410
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "caducat" in html and case.number not in html


@pytest.mark.pdf
def test_one_reminder_near_the_due_date_with_a_fresh_link(app, client, login, world):
    case = make_claim(world)
    login(world.technicians[0].username, PASSWORD)
    open_through_page(client, case, naturgy())
    mediation = db.session.scalar(select(Mediation))
    assert service.queue_company_reminders(clock.now()) == 0  # too early
    near = clock.now() + (mediation.answer_due - clock.now().date()) - timedelta(days=2)
    assert service.queue_company_reminders(near) == 1
    assert service.queue_company_reminders(near) == 0  # once
    reminder = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "mediation_reminder")
    )
    assert reminder.recipient == "reclamacions@naturgy.example"
    assert client.get(company_link()).status_code == 200
    from umic.jobs import PERIODIC

    assert service.queue_company_reminders in [job.run for job in PERIODIC]


# --- Session and close -------------------------------------------------------------------------


def _session_invitations(booking: Booking) -> dict[str, OutboxMessage]:
    messages = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.booking_id == booking.id, OutboxMessage.ics.is_not(None)
        )
    ).all()
    return {m.recipient: m for m in messages}


@pytest.mark.pdf
def test_three_party_session_then_agreement_shows_on_the_follow_page(
    client, login, world, tmp_path
):
    case = make_claim(world)
    technician = world.technicians[0]
    login(technician.username, PASSWORD)
    open_through_page(client, case, naturgy())

    day, slot = free_time(client, case)
    response = convene(client, case, day, slot)
    assert response.status_code == 303, response.get_data(as_text=True)
    mediation = db.session.scalar(select(Mediation))
    booking = db.session.get(Booking, mediation.session_booking_id)
    assert mediation.status == "sessio"
    assert booking.technician_id == technician.id
    invitations = _session_invitations(booking)
    assert set(invitations) == {
        "raul@example.net",
        technician.email,
        "reclamacions@naturgy.example",
    }
    for recipient, message in invitations.items():
        event = invitation_of(message).walk("VEVENT")[0]
        assert str(event["UID"]) == booking.ical_uid
        assert int(event["SEQUENCE"]) == booking.ical_sequence
        assert str(event["SUMMARY"]) == "Sessió de mediació"
        assert booking.video_link in str(event["DESCRIPTION"])
        path = Path(tmp_path) / f"{recipient}.ics"
        path.write_bytes(message.ics)
        parsed = icstools.vobject_read(path)
        assert parsed["summary"] == "Sessió de mediació"
        assert [a["value"].lower() for a in parsed["attendees"]] == [f"mailto:{recipient}"]
    company_message = invitations["reclamacions@naturgy.example"]
    convocation = db.session.get(CaseDocument, company_message.document_id)
    assert convocation.letter_kind == "convocatoria"

    # Closing: an agreement with the amount recovered.
    response = close(
        client, case, outcome="acord_total", amount_claimed="120,50", amount_recovered="150"
    )
    assert response.status_code == 422  # more than claimed, not stated
    assert "L'import recuperat supera el reclamat" in " ".join(
        error_messages(response.get_data(as_text=True))
    )
    response = close(
        client, case, outcome="acord_total", amount_claimed="120,50", amount_recovered="120,50"
    )
    assert response.status_code == 303
    mediation = db.session.scalar(select(Mediation))
    case = db.session.get(CaseFile, case.id)
    assert mediation.status == "tancada" and mediation.outcome == "acord_total"
    assert case.outcome == "favorable" and case.amount_recovered == Decimal("120.50")
    changes = {e.field for e in case.events if e.kind == "change"}
    assert {"outcome", "amount_recovered"} <= changes
    # The history reads as the case's other entries: words and Madrid dates, not codes.
    notes = [e.note for e in case.events if e.kind == "mediation"]
    assert notes[0].startswith("Mediació oberta amb Naturgy (reclamacions@naturgy.example)")
    assert any(
        n.startswith("Sessió de mediació convocada: ") and booking.reference in n for n in notes
    )
    assert notes[-1] == "Mediació tancada: Acord total; recuperat 120,50\xa0€"
    kinds = set(db.session.scalars(select(CaseDocument.letter_kind)).all())
    assert {"reclamacio_empresa", "convocatoria", "tancament"} <= kinds

    # The citizen's follow page.
    from umic.web.access import issue_status_token

    token = issue_status_token(case=case, now=clock.now())
    db.session.commit()
    html = client.get(f"/seguiment/{token}").get_data(as_text=True)
    section = soup(html).select_one("#mediacio").get_text(" ", strip=True)
    assert "Naturgy" in section and "Acord total" in section and "120,50" in section
    assert "Sessió de mediació" in section


@pytest.mark.pdf
def test_the_same_mediator_cannot_hold_two_sessions_at_once(client, login, world):
    first = make_claim(world)
    second = make_claim(world, interested_name="Marta Puig", interested_email="marta@example.net")
    login(world.technicians[0].username, PASSWORD)
    company = naturgy()
    open_through_page(client, first, company)
    open_through_page(client, second, company)
    day, slot = free_time(client, first)
    assert convene(client, first, day, slot).status_code == 303
    response = convene(client, second, day, slot)
    assert response.status_code == 409
    assert "Aquesta hora ja no és lliure" in " ".join(
        error_messages(response.get_data(as_text=True))
    )
    mediation = db.session.scalar(select(Mediation).where(Mediation.case_id == second.id))
    assert mediation.session_booking_id is None


@pytest.mark.pdf
def test_moving_or_cancelling_the_session_updates_the_company(client, login, world):
    case = make_claim(world)
    login(world.technicians[0].username, PASSWORD)
    open_through_page(client, case, naturgy())
    day, slot = free_time(client, case)
    convene(client, case, day, slot)
    booking_id = db.session.scalar(select(Mediation.session_booking_id))
    booking_service.cancel(booking_id, clock.now(), reason="", by="staff")
    db.session.commit()
    cancels = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.recipient == "reclamacions@naturgy.example",
            OutboxMessage.ics_method == "CANCEL",
        )
    ).all()
    assert len(cancels) == 1
    assert cancels[0].kind == "mediation_session_cancelled_company"
    # A cancelled session may be convened again.
    assert "Convoca la sessió de mediació" in case_page(client, case)


@pytest.mark.pdf
def test_the_demo_has_one_mediation_with_the_companys_proposal(app):
    from umic.demo import load

    load()
    mediations = db.session.scalars(select(Mediation)).all()
    assert len(mediations) == 1
    assert mediations[0].answer == "proposa" and mediations[0].status == "resposta"
    assert mediations[0].company_email.endswith(".example")
