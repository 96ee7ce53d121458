"""The rights of the people whose data we hold: a coordinator finds everything about one
person, exports it and erases it (``/admin/privacitat/``, ``flask privacy find|export|erase``).

Real database (SQLite file and PostgreSQL), real files in a temporary UPLOAD_FOLDER, a real
SMTP server for the technician's cancellation, the real booking pages for a future booking.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from support.apps import smtp_config
from support.days import madrid
from support.days import today
from support.dump import database_text
from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.journey import Citizen
from support.queries import counted_selects
from umic import clock
from umic.casefiles.documents import add_document
from umic.casefiles.service import case_from_booking
from umic.casefiles.service import create_case
from umic.core.periods import Period
from umic.extensions import db
from umic.mail.outbox import send_pending
from umic.models import AccessToken
from umic.models import Booking
from umic.models import BookingDraft
from umic.models import BookingStatus
from umic.models import CaseDocument
from umic.models import CaseEvent
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import OutboxMessage
from umic.models import Role
from umic.models import SurveyResponse
from umic.models.privacy import PrivacyAudit
from umic.privacy import subjects
from umic.stats.requests import requests_by_month
from umic.stats.requests import requests_by_town

MADRID = ZoneInfo("Europe/Madrid")
NAME = "Raúl Sánchez Puig"
EMAIL = "raul.sanchez@example.net"
PHONE = "612 345 678"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
#: Ways the person's identifiers may have been written anywhere (case-insensitive search).
TRACES = (
    "raúl",
    "raul.sanchez@example.net",
    "raul.sanchez+",
    "sánchez",
    "sanchez puig",
    "612345678",
    "612 345 678",
)


@pytest.fixture
def upload_dir(tmp_path):
    return tmp_path / "fitxers"


@pytest.fixture
def app_config(upload_dir, request) -> dict:
    config = {"UPLOAD_FOLDER": str(upload_dir)}
    if "smtp" in request.fixturenames:
        config.update(smtp_config(request.getfixturevalue("smtp")))
    return config


@pytest.fixture
def world(app):
    return make_world(technicians=2)


@pytest.fixture
def coordinator(world):
    return make_staff("OPSSCOORDINA", role=Role.COORDINATOR)


def _pdf(name: str = "factura Raúl Sánchez.pdf") -> FileStorage:
    return FileStorage(io.BytesIO(PDF), filename=name, content_type="application/pdf")


def the_person(world, *, case_status=CaseStatus.TANCAT):
    """One person's trail: an attended call two weeks ago with its closed case (a note, a
    document), a survey answer with a comment, a cancelled booking under another spelling of
    the address, a booking made by phone with only the number, and a draft never confirmed.
    Returns the attended booking and its case."""
    technician = world.technicians[0]
    now = clock.now()
    past_day = today() - timedelta(days=14)
    attended, _token = make_booking(
        world.town,
        world.service,
        technician,
        madrid(past_day, 10),
        status=BookingStatus.ATTENDED,
        citizen_name=NAME,
        citizen_email=" Raul.Sanchez@Example.NET",
        citizen_phone="+34 612 34 56 78",
        citizen_address="Carrer Major, 1, Gelida",
        description="La companyia d'aigua em cobra dues vegades.",
        marked_at=madrid(past_day, 10, 30),
    )
    make_booking(
        world.town,
        world.service,
        technician,
        madrid(past_day, 12),
        status=BookingStatus.CANCELLED,
        citizen_name=NAME,
        citizen_email="RAUL.SANCHEZ+cita@example.net",
        cancelled_at=now - timedelta(days=20),
        cancel_reason="No puc venir, Raúl",
    )
    make_booking(
        world.town,
        world.service,
        technician,
        madrid(past_day, 16),
        status=BookingStatus.NO_SHOW,
        citizen_name="Raúl S.",
        citizen_email="",
        citizen_phone="0034 612-345-678",
    )
    db.session.add(
        SurveyResponse(
            booking_id=attended.id,
            technician_id=technician.id,
            municipality_id=world.town.id,
            attention=9,
            competence=8,
            resolved="totalment",
            comment="Molt bé. Raúl Sánchez",
            answered_at=now - timedelta(days=13),
        )
    )
    db.session.add(
        BookingDraft(
            key_hash="d" * 64,
            municipality_id=world.town.id,
            service_id=world.service.id,
            name=NAME,
            email="raul.sanchez@EXAMPLE.net",
            phone="612.345.678",
            expires_at=now + timedelta(hours=20),
        )
    )
    db.session.commit()
    case = case_from_booking(attended, actor=technician, now=now)
    db.session.commit()
    add_document(case, _pdf(), category="factura", source="citizen", uploaded_by=None, now=now)
    case.status = case_status
    db.session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            actor_id=technician.id,
            kind="note",
            note="Ha trucat en Raúl Sánchez, 612 345 678",
        )
    )
    db.session.commit()
    return attended, case


def someone_else(world):
    """Close but not the same: another address, another number."""
    booking, _token = make_booking(
        world.town,
        world.service,
        world.technicians[1],
        madrid(today() - timedelta(days=15), 11),
        status=BookingStatus.ATTENDED,
        citizen_name="Raquel Sala",
        citizen_email="raul.sanchez@example.com",
        citizen_phone="612 345 679",
    )
    create_case(
        {
            "interested_name": "Raquel Sala",
            "interested_email": "raulsanchez@example.net",
            "municipality_id": world.town.id,
            "status": CaseStatus.TANCAT,
        },
        actor=None,
        now=clock.now(),
    )
    db.session.commit()
    return booking


def search(client, term: str):
    page = client.get("/admin/privacitat/").get_data(as_text=True)
    return client.post("/admin/privacitat/", data={"csrf_token": csrf_token(page), "term": term})


def post_with_token(client, url: str, data: dict):
    page = client.get("/admin/privacitat/").get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_token(page), **data})


# --- Find -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["raul.sanchez@example.net", "  RAUL.Sanchez@example.NET ", "raul.sanchez+x@example.net"],
)
def test_find_by_address_whatever_its_case_spaces_or_tag(world, coordinator, typed):
    attended, case = the_person(world)
    other = someone_else(world)
    subject = subjects.find(subjects.identity.parse_term(typed))
    assert {b.citizen_name for b in subject.bookings} == {NAME}
    assert len(subject.bookings) == 2  # attended + cancelled (the phone booking has no address)
    assert other.id not in {b.id for b in subject.bookings}
    assert [c.id for c in subject.cases] == [case.id]
    assert len(subject.drafts) == 1
    assert len(subject.documents) == 1
    assert {e.kind for e in subject.events} >= {"created", "note"}
    assert [s.booking_id for s in subject.surveys] == [attended.id]
    assert subject.tokens == 2  # the two bookings' manage links


@pytest.mark.parametrize(
    "typed", ["612345678", "+34 612 34 56 78", "0034-612-345-678", "612.345.678"]
)
def test_find_by_phone_in_any_format(world, coordinator, typed):
    the_person(world)
    someone_else(world)
    subject = subjects.find(subjects.identity.parse_term(typed))
    statuses = sorted(b.status for b in subject.bookings)
    assert statuses == sorted([BookingStatus.ATTENDED, BookingStatus.NO_SHOW])
    assert len(subject.drafts) == 1 and len(subject.cases) == 1


def test_find_costs_the_same_queries_for_one_booking_or_many(world, coordinator):
    the_person(world)
    term = subjects.identity.parse_term(EMAIL)
    with counted_selects() as few:
        subjects.find(term)
    for hour in range(8, 20):
        make_booking(
            world.town,
            world.service,
            world.technicians[1],
            madrid(today() - timedelta(days=30), hour),
            status=BookingStatus.ATTENDED,
            citizen_name=NAME,
            citizen_email=EMAIL,
        )
    db.session.expire_all()
    with counted_selects() as many:
        subject = subjects.find(term)
    assert len(subject.bookings) == 14
    assert len(many) == len(few) <= 8


def test_the_page_shows_everything_and_logs_the_search_without_the_address(
    client, login, world, coordinator
):
    the_person(world)
    login("OPSSCOORDINA")
    response = search(client, " Raul.Sanchez@example.net ")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = soup(html)
    for heading in (
        "Cites",
        "Esborranys de cita",
        "Expedients",
        "Documents",
        "Respostes d'enquesta",
    ):
        assert page.find("h3", string=heading), heading
    assert NAME in html and "factura" in html
    # The number found in the rows is offered as the next search.
    others = [b.get_text(" ", strip=True) for b in page.select("button.link-button")]
    assert "Cerca +34 612 34 56 78" in others
    entry = db.session.scalar(select(PrivacyAudit))
    assert (entry.action, entry.via, entry.term_kind, entry.term_mask) == (
        "find",
        "web",
        "email",
        "r…@e…",
    )
    assert entry.actor_id == coordinator.id
    assert json.loads(entry.counts)["bookings"] == 2
    assert "raul" not in entry.term_digest + entry.counts + entry.reason
    # The log is on the page, with no address in it.
    log = soup(client.get("/admin/privacitat/").get_data(as_text=True)).find(id="log-caption")
    assert log is not None
    listed = log.find_parent("table").get_text()
    assert "Cerca" in listed and "r…@e…" in listed and "raul" not in listed.lower()


def test_a_bad_term_is_refused_beside_the_field_and_in_the_summary(
    client, login, world, coordinator
):
    login("OPSSCOORDINA")
    response = search(client, "Raúl Sánchez")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert error_messages(html) and summary_links(html)[0][0] == "#term"
    assert 'value="Raúl Sánchez"' in html  # what was typed is kept
    assert db.session.scalar(select(func.count()).select_from(PrivacyAudit)) == 0


@pytest.mark.parametrize(
    ("url", "term"),
    [
        ("/admin/privacitat/", "x" * 100_000),
        ("/admin/privacitat/", "nul\x00 \u202e"),
        ("/admin/privacitat/exporta", ""),
        ("/admin/privacitat/exporta", "nobody"),
        ("/admin/privacitat/suprimeix", ""),
        ("/admin/privacitat/suprimeix", "'; drop table booking; --"),
    ],
)
def test_bad_input_never_gives_an_error_page(client, login, world, coordinator, url, term):
    login("OPSSCOORDINA")
    response = post_with_token(client, url, {"term": term, "step": "confirm", "reason": "x"})
    assert response.status_code in (200, 303)
    assert response.mimetype == "text/html"
    assert db.session.scalar(select(func.count()).select_from(PrivacyAudit)) == 0


def test_the_log_is_paginated_newest_first_and_a_huge_page_number_is_no_error(
    client, login, world, coordinator
):
    term = subjects.identity.parse_term(EMAIL)
    for n in range(30):
        subjects.record("find", term, {"bookings": n}, actor=coordinator, now=clock.now())
    db.session.commit()
    login("OPSSCOORDINA")
    first = client.get("/admin/privacitat/").get_data(as_text=True)
    assert "Cites: 29" in first and "Cites: 3;" not in first and "Pàgina 1 de 2" in first
    second = client.get("/admin/privacitat/?pagina=2").get_data(as_text=True)
    assert "Cites: 3" in second
    assert client.get("/admin/privacitat/?pagina=99999999999999999999").status_code == 200


# --- Export -----------------------------------------------------------------------------------


def test_export_is_a_zip_with_the_json_and_the_documents_never_cached(
    client, login, world, coordinator
):
    attended, case = the_person(world)
    login("OPSSCOORDINA")
    response = post_with_token(client, "/admin/privacitat/exporta", {"term": "612 345 678"})
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    response.close()  # what the WSGI server does: the spooled file is closed
    data = json.loads(archive.read("dades.json"))
    assert data["format"] == "umic-personal-data" and data["searched_by"] == "phone"
    booking = next(b for b in data["bookings"] if b["reference"] == attended.reference)
    assert booking["name"] == NAME and booking["phone"] == "+34 612 34 56 78"
    assert booking["start"].endswith("Z")  # ISO 8601, UTC
    assert booking["start"] == attended.start_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [c["number"] for c in data["case_files"]] == [case.number]
    assert data["case_files"][0]["booking_reference"] == attended.reference
    assert any(e["note"].startswith("Ha trucat") for e in data["case_events"])
    document = data["documents"][0]
    assert archive.read(document["file"]) == PDF
    assert document["sha256"] == db.session.scalar(select(CaseDocument.sha256))
    assert data["survey_responses"][0]["comment"] == "Molt bé. Raúl Sánchez"
    assert data["access_links"] == {"count": 2}  # the two bookings found by the number
    entry = db.session.scalar(select(PrivacyAudit))
    assert (entry.action, entry.term_kind, entry.term_mask) == ("export", "phone", "…78")
    assert json.loads(entry.counts)["documents"] == 1


def test_the_export_command_writes_the_same_zip_and_logs_the_cli(runner, world, tmp_path):
    the_person(world)
    target = tmp_path / "out.zip"
    result = runner.invoke(args=["privacy", "export", "--email", EMAIL, "-o", str(target)])
    assert result.exit_code == 0, result.output
    data = json.loads(zipfile.ZipFile(target).read("dades.json"))
    assert len(data["bookings"]) == 2 and (target.stat().st_mode & 0o077) == 0
    result = runner.invoke(args=["privacy", "find", "--phone", "+34612345678"])
    assert "bookings: 2" in result.output
    entries = db.session.scalars(select(PrivacyAudit).order_by(PrivacyAudit.id)).all()
    assert [(e.action, e.via, e.actor_id) for e in entries] == [
        ("export", "cli", None),
        ("find", "cli", None),
    ]


# --- Erase ------------------------------------------------------------------------------------


def _figures():
    first = today().replace(day=1) - timedelta(days=400)
    period = Period(first=first.replace(day=1), last=today())
    return requests_by_town(period, MADRID), requests_by_month(period, MADRID)


def _erase_via_page(client, term: str, reason: str | None):
    step_one = post_with_token(client, "/admin/privacitat/suprimeix", {"term": term})
    assert step_one.status_code == 200
    data = {"term": term, "step": "confirm"}
    if reason is not None:
        data["reason"] = reason
    return client.post(
        "/admin/privacitat/suprimeix",
        data={"csrf_token": csrf_token(step_one.get_data(as_text=True)), **data},
    ), step_one


def test_erase_leaves_no_trace_but_keeps_the_case_row_and_the_figures(
    client, login, world, coordinator, upload_dir, smtp
):
    attended, case = the_person(world)
    # A future booking through the real pages: confirmation e-mails, a manage link.
    Citizen(client).book(name=NAME, email=EMAIL, phone=PHONE)
    future = db.session.scalar(select(Booking).where(Booking.status == BookingStatus.CONFIRMED))
    assert send_pending().sent == 2  # the confirmations go out
    delivered_before = len(smtp.messages())
    other = someone_else(world)
    files_before = list(upload_dir.iterdir())
    assert len(files_before) == 1
    figures = _figures()
    cases = db.session.scalar(select(func.count()).select_from(CaseFile))
    scores = db.session.execute(select(SurveyResponse.attention, SurveyResponse.competence)).all()

    login("OPSSCOORDINA")
    response, step_one = _erase_via_page(
        client, EMAIL, "Petició de la Sra. Sánchez (raul.sanchez@example.net), registre 2026/77"
    )
    page = step_one.get_data(as_text=True)
    assert "1 cita futura s'anul·larà" in page and "no rep cap correu" in page
    assert response.status_code == 303

    # The booking made by phone has no address: the page names the number to search next.
    assert not subjects.find(subjects.identity.parse_term(EMAIL)).found
    assert len(subjects.find(subjects.identity.parse_term(PHONE)).bookings) == 1
    response, _step_one = _erase_via_page(client, PHONE, "Mateixa petició, registre 2026/77")
    assert response.status_code == 303

    # No trace of the person in any text column of any table.
    dump = database_text().lower()
    for trace in TRACES:
        assert trace not in dump, [line for line in dump.splitlines() if trace in line]
    assert list(upload_dir.iterdir()) == []
    # The case row is still there, anonymised; so are the bookings and the survey's scores.
    assert db.session.scalar(select(func.count()).select_from(CaseFile)) == cases
    kept = db.session.get(CaseFile, case.id)
    assert (
        kept.number == case.number
        and kept.interested_name == ""
        and kept.status == CaseStatus.TANCAT
    )
    assert db.session.get(Booking, attended.id).status == BookingStatus.ATTENDED
    assert db.session.get(Booking, future.id).status == BookingStatus.CANCELLED
    assert (
        db.session.execute(select(SurveyResponse.attention, SurveyResponse.competence)).all()
        == scores
    )
    assert _figures() == figures
    # What the erasure deletes is gone; someone else's data is untouched.
    assert db.session.scalar(select(func.count()).select_from(BookingDraft)) == 0
    assert (
        db.session.scalar(
            select(func.count()).select_from(AccessToken).where(AccessToken.booking_id != other.id)
        )
        == 0
    )
    assert db.session.get(Booking, other.id).citizen_name == "Raquel Sala"
    # The technician's calendar gets the cancellation, naming nobody; the person gets nothing.
    send_pending()
    delivered = smtp.messages()[delivered_before:]
    assert [r.rcpt_tos for r in delivered] == [(future.technician.email,)]
    assert "CANCEL" in delivered[0].data.decode("utf-8", "replace")
    assert EMAIL not in " ".join(" ".join(r.rcpt_tos) for r in delivered)
    cancel = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.booking_id == future.id, OutboxMessage.ics_method == "CANCEL"
        )
    )
    assert cancel is not None and cancel.recipient == future.technician.email
    # The log: who, what, the counts, the reason without the person in it.
    entry = db.session.scalars(
        select(PrivacyAudit).where(PrivacyAudit.action == "erase").order_by(PrivacyAudit.id)
    ).first()
    assert entry.actor_id == coordinator.id
    counts = json.loads(entry.counts)
    assert counts["bookings_cancelled"] == 1 and counts["documents_deleted"] == 1
    assert counts["cases_anonymised"] == 1 and counts["survey_comments_blanked"] == 1
    assert "registre 2026/77" in entry.reason and "nchez" not in entry.reason
    # Run again: nothing more is found.
    assert not subjects.find(subjects.identity.parse_term(EMAIL)).found
    assert not subjects.find(subjects.identity.parse_term(PHONE)).found


def test_an_open_case_stops_the_erasure_and_changes_nothing(
    client, login, world, coordinator, upload_dir
):
    attended, case = the_person(world, case_status=CaseStatus.EN_TRAMIT)
    login("OPSSCOORDINA")
    before = database_text().lower()
    response, step_one = _erase_via_page(client, EMAIL, "Petició per correu")
    assert "No es pot suprimir res encara" in step_one.get_data(as_text=True)
    assert case.number in step_one.get_data(as_text=True)
    assert response.status_code == 200
    assert "No es pot suprimir res encara" in response.get_data(as_text=True)
    db.session.expire_all()
    assert database_text().lower() == before
    assert len(list(upload_dir.iterdir())) == 1
    assert (
        db.session.scalar(
            select(func.count()).select_from(PrivacyAudit).where(PrivacyAudit.action == "erase")
        )
        == 0
    )
    result = client.application.test_cli_runner().invoke(
        args=["privacy", "erase", "--email", EMAIL, "--reason", "x", "--yes"]
    )
    assert result.exit_code != 0 and case.number in result.output


def test_the_reason_is_required_and_the_form_kept(client, login, world, coordinator):
    the_person(world)
    login("OPSSCOORDINA")
    response, _step_one = _erase_via_page(client, EMAIL, "   ")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Escriviu el motiu de la supressió" in error_messages(html)
    assert summary_links(html)[0][0] == "#reason"
    assert db.session.get(CaseFile, db.session.scalar(select(CaseFile.id))).interested_name == NAME


def test_the_erase_command_asks_for_confirmation_and_logs_the_cli(runner, world):
    the_person(world)
    refused = runner.invoke(
        args=["privacy", "erase", "--phone", "612345678", "--reason", "Registre 2026/9"],
        input="n\n",
    )
    assert refused.exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(PrivacyAudit)) == 0
    done = runner.invoke(
        args=["privacy", "erase", "--phone", "612345678", "--reason", "Registre 2026/9"],
        input="y\n",
    )
    assert done.exit_code == 0, done.output
    entry = db.session.scalar(select(PrivacyAudit))
    assert (entry.action, entry.via, entry.reason) == ("erase", "cli", "Registre 2026/9")
    assert "612345678" not in database_text().lower().replace(" ", "")


# --- Who may ----------------------------------------------------------------------------------


ROUTES = [
    ("GET", "/admin/privacitat/"),
    ("POST", "/admin/privacitat/"),
    ("POST", "/admin/privacitat/exporta"),
    ("POST", "/admin/privacitat/suprimeix"),
]


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_a_technician_gets_403_everywhere(client, login, world, method, url):
    the_person(world)
    login(world.technicians[0].username)
    token = csrf_token(client.get("/espai/").get_data(as_text=True))
    response = client.open(
        url,
        method=method,
        data={"csrf_token": token, "term": EMAIL, "step": "confirm", "reason": "x"},
    )
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(PrivacyAudit)) == 0


@pytest.mark.parametrize("url", [u for m, u in ROUTES if m == "POST"])
def test_every_post_needs_the_form_token(client, login, world, coordinator, url):
    the_person(world)
    login("OPSSCOORDINA")
    response = client.post(url, data={"term": EMAIL, "step": "confirm", "reason": "Registre 1"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(PrivacyAudit)) == 0
    assert db.session.scalar(select(CaseFile.interested_name)) == NAME


def test_the_menu_offers_the_page_to_coordinators_only(client, login, world, coordinator):
    login(world.technicians[0].username)
    assert "/admin/privacitat/" not in client.get("/espai/").get_data(as_text=True)
    client.post(
        "/surt", data={"csrf_token": csrf_token(client.get("/espai/").get_data(as_text=True))}
    )
    login("OPSSCOORDINA")
    assert "/admin/privacitat/" in client.get("/espai/").get_data(as_text=True)


# --- In the browser ---------------------------------------------------------------------------


@pytest.mark.browser
def test_the_pages_pass_the_accessibility_checks(sqlite_template, tmp_path):
    """axe (WCAG 2.2 AA), reflow at 320 px and text spacing on each state of the pages, in
    Chromium: search, its error, results, the erasure's refusal, its two steps, the log. (The
    pages have no script of their own: plain forms.)"""
    from support.a11y import check_state
    from support.a11y import serve_site
    from support.browser import launched

    with launched() as browser, serve_site(sqlite_template, tmp_path, browser) as site:
        the_person(site, case_status=CaseStatus.EN_TRAMIT)
        problems = []
        with site.page(user="OPSSCOORD") as page:
            page.goto(site.url("/admin/privacitat/"))
            problems += check_state(page, "privacy: search").blocking
            page.fill("#term", "raul")
            page.click("button:text-is('Cerca')")
            assert page.locator(".error-summary").count() == 1
            problems += check_state(page, "privacy: search error").blocking
            page.fill("#term", "+34 612 345 678")
            page.click("button:text-is('Cerca')")
            assert page.locator("#results-title").count() == 1
            problems += check_state(page, "privacy: results").blocking
            page.click("text=Suprimeix les dades…")
            assert page.locator("text=No es pot suprimir res encara").count() == 1
            problems += check_state(page, "privacy: erase refused").blocking
            case = db.session.scalar(select(CaseFile))
            case.status = CaseStatus.TANCAT
            db.session.commit()
            page.goto(site.url("/admin/privacitat/"))
            page.fill("#term", "+34 612 345 678")
            page.click("button:text-is('Cerca')")
            page.click("text=Suprimeix les dades…")
            page.click("text=Confirmo: suprimeix les dades")
            assert page.locator(".error-summary").count() == 1
            problems += check_state(page, "privacy: erase reason missing").blocking
            page.fill("#reason", "Registre d'entrada 2026/5")
            page.click("text=Confirmo: suprimeix les dades")
            page.wait_for_url(site.url("/admin/privacitat/"))
            assert page.locator(".banner-success").count() == 1
            problems += check_state(page, "privacy: erased, the log").blocking
            assert page.problems == [], page.problems
        assert problems == [], "\n".join(problems)
