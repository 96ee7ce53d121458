"""Documents of a case file: staff uploads and downloads, the citizen's upload link, the
request and reminder e-mails. Real database (SQLite file and PostgreSQL), real files in a
temporary UPLOAD_FOLDER, a real SMTP server, pages read with an HTML parser.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from support.apps import smtp_config
from support.concurrency import in_app_at_once
from support.days import madrid
from support.days import today
from support.factories import make_case
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.outbox import clear_text
from support.pdfs import blank_pdf
from support.queries import counted_queries
from umic import clock
from umic.casefiles import documents
from umic.casefiles.documents import add_document
from umic.casefiles.documents import find_upload_link
from umic.casefiles.documents import mark_citizen_uploads_seen
from umic.casefiles.documents import new_citizen_uploads
from umic.casefiles.documents import queue_document_reminders
from umic.casefiles.service import update_case
from umic.core.tokens import hash_token
from umic.extensions import db
from umic.jobs import run_worker
from umic.mail.outbox import send_pending
from umic.models import AccessToken
from umic.models import CaseDocument
from umic.models import CaseEvent
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import OutboxMessage
from umic.models import Role
from umic.models import TokenPurpose

MADRID = ZoneInfo("Europe/Madrid")
TYPE_ERROR = "El fitxer ha de ser un PDF, JPG o PNG"
SIZE_ERROR = "El fitxer ha de pesar 10 MB o menys"
CHOOSE_ERROR = "Trieu un fitxer"
EMPTY_ERROR = "El fitxer triat està buit"


# --- Real, minimal files --------------------------------------------------------------------------


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _jpeg() -> bytes:
    """An 8x8 grey baseline JPEG (one block: DC 0, end of block); Chromium decodes it."""
    one_code = bytes([1] + [0] * 15) + b"\x00"  # a Huffman table with one 1-bit code
    return b"".join(
        [
            b"\xff\xd8",
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _segment(0xDB, b"\x00" + b"\x01" * 64),
            _segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00"),
            _segment(0xC4, b"\x00" + one_code),
            _segment(0xC4, b"\x10" + one_code),
            _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
            b"\x3f",
            b"\xff\xd9",
        ]
    )


def _png() -> bytes:
    """A 1x1 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


PDF, JPEG, PNG = blank_pdf(), _jpeg(), _png()
HTML = b"<!doctype html><html><body><script>document.location='https://evil.example'</script>"
WINDOWS_PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
LINUX_PROGRAM = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56


# --- Fixtures and helpers -------------------------------------------------------------------------


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
    return make_world(technicians=2)


def ask_for_documents(
    case: CaseFile,
    deadline: date,
    *,
    detail: str = "La factura de l'aigua de maig",
    actor=None,
    now: datetime | None = None,
) -> None:
    update_case(
        case,
        {"status": CaseStatus.DOCUMENTACIO, "deadline": deadline, "status_detail": detail},
        actor=actor,
        expected_version=case.version,
        now=now or clock.now(),
    )
    db.session.commit()


LINK = re.compile(r"http://localhost(/documents/[A-Za-z0-9_-]+)")


def last_link() -> str:
    """The upload link (path) of the newest e-mail in the outbox."""
    message = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    return LINK.search(clear_text(message)).group(1)


def files_on_disk(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def multipart(fields: dict) -> dict:
    """A browser's multipart body, built in memory (the test client would spool big ones to
    a temporary file it never closes)."""
    boundary, body = encode_multipart(fields)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def a_file(content: bytes, name: str) -> FileStorage:
    # Browsers declare a type from the name; it must not matter.
    return FileStorage(io.BytesIO(content), filename=name, content_type="application/pdf")


def _post(client, page_url: str, action: str, content, name: str, data: dict):
    page = client.get(page_url)
    assert page.status_code == 200
    form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "category": "factura"}
    if content is not None:
        form["document"] = a_file(content, name)
    form.update(data)
    return client.post(action, **multipart(form))


def staff_post(client, case: CaseFile, content: bytes | None, name: str = "factura.pdf", **data):
    url = f"/espai/expedients/{case.id}"
    return _post(client, url, f"{url}/documents", content, name, data)


def citizen_post(client, link: str, content: bytes | None, name: str = "factura.pdf", **data):
    return _post(client, link, link, content, name, data)


def download(client, doc_id: int):
    """GET a document and close the response (it streams the file)."""
    response = client.get(f"/espai/documents/{doc_id}")
    response.get_data()
    response.close()
    return response


def sign_out(client, case: CaseFile) -> None:
    page = client.get(f"/espai/expedients/{case.id}").get_data(as_text=True)
    assert client.post("/surt", data={"csrf_token": csrf_token(page)}).status_code in (302, 303)


def visible(html: str) -> str:
    """The text a reader sees (entities decoded)."""
    return soup(html).get_text()


def title(html: str) -> str:
    return soup(html).title.get_text(strip=True)


# --- Staff uploads: stored outside static/, checked on content ------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (PDF, "factura_març.pdf", "application/pdf"),
        (JPEG, "foto del contracte.jpeg", "image/jpeg"),
        (PNG, "captura.png", "image/png"),
    ],
)
def test_staff_upload_stores_the_file_outside_static_with_its_sha256(
    app, client, login, world, upload_dir, content, name, content_type
):
    case = make_case(world)
    login("OPSSVEGAVN")
    response = staff_post(client, case, content, name, category="contracte")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/espai/expedients/{case.id}#documents"

    (document,) = db.session.scalars(select(CaseDocument)).all()
    assert (document.case_id, document.category, document.source) == (case.id, "contracte", "staff")
    assert document.uploaded_by_id == world.technicians[0].id
    assert document.original_name == name
    assert document.content_type == content_type
    assert document.size == len(content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()

    (stored,) = files_on_disk(upload_dir)
    assert stored.name == document.stored_name
    assert stored.read_bytes() == content
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == document.sha256
    # A random name (160 bits) with the extension of the real type, nothing from the user.
    assert re.fullmatch(r"[0-9a-f]{40}\.(pdf|jpg|png)", stored.name)
    static = Path(app.static_folder).resolve()
    assert static not in stored.resolve().parents

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"S'ha afegit el document {name}." in visible(page)
    row = soup(page).find("a", href=f"/espai/documents/{document.id}")
    assert row is not None and row.get_text(strip=True) == name
    history = db.session.scalars(select(CaseEvent).where(CaseEvent.kind == "document")).one()
    assert history.note == f"S'ha afegit el document {name} (Contracte)"
    assert history.actor_id == world.technicians[0].id


def test_a_png_called_pdf_is_stored_and_served_as_a_png(client, login, world, upload_dir):
    case = make_case(world)
    login("OPSSVEGAVN")
    assert staff_post(client, case, PNG, "factura.pdf").status_code == 303
    document = db.session.scalars(select(CaseDocument)).one()
    assert document.content_type == "image/png"
    assert document.original_name == "factura.pdf"
    assert document.stored_name.endswith(".png")

    response = download(client, document.id)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == "attachment; filename=factura.pdf.png"


@pytest.mark.parametrize(
    "content",
    [HTML, WINDOWS_PROGRAM, LINUX_PROGRAM, b"%PD", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"],
    ids=["html", "windows-program", "linux-program", "truncated-pdf", "gif"],
)
def test_anything_but_pdf_jpeg_or_png_is_refused_whatever_its_name(
    client, login, world, upload_dir, content
):
    case = make_case(world)
    login("OPSSVEGAVN")
    response = staff_post(client, case, content, "factura.pdf", category="dni")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert error_messages(page) == [TYPE_ERROR]
    assert summary_links(page) == [("#upload-document", TYPE_ERROR)]
    assert title(page).startswith("Error: ")
    # The category chosen is kept; the field has its error beside it.
    form = soup(page).find("form", action=f"/espai/expedients/{case.id}/documents")
    assert form.find("option", selected=True)["value"] == "dni"
    assert form.find(id="upload-document")["aria-invalid"] == "true"
    assert count(CaseDocument) == 0
    assert files_on_disk(upload_dir) == []


def test_an_empty_file_no_file_and_no_category_are_each_explained(client, login, world, upload_dir):
    case = make_case(world)
    login("OPSSVEGAVN")

    empty = staff_post(client, case, b"", "buit.pdf").get_data(as_text=True)
    assert error_messages(empty) == [EMPTY_ERROR]

    nothing = staff_post(client, case, None, category="").get_data(as_text=True)
    assert error_messages(nothing) == [CHOOSE_ERROR, "Trieu la categoria del document"]
    assert [href for href, _text in summary_links(nothing)] == [
        "#upload-document",
        "#upload-category",
    ]

    no_category = staff_post(client, case, PDF, category="secret").get_data(as_text=True)
    assert error_messages(no_category) == ["Trieu la categoria del document"]

    # Every problem at once: the file's type is told even when the category is missing.
    both = staff_post(client, case, HTML, category="").get_data(as_text=True)
    assert error_messages(both) == [TYPE_ERROR, "Trieu la categoria del document"]
    assert count(CaseDocument) == 0
    assert files_on_disk(upload_dir) == []


def test_a_file_over_the_limit_is_refused_and_leaves_nothing_on_disk(
    app, client, login, world, upload_dir
):
    case = make_case(world)
    login("OPSSVEGAVN")
    limit = app.config["UPLOAD_MAX_BYTES"]
    assert limit == 10 * 1024 * 1024
    too_big = PDF + b"0" * (limit - len(PDF) + 1)
    page = staff_post(client, case, too_big).get_data(as_text=True)
    assert error_messages(page) == [SIZE_ERROR]
    assert count(CaseDocument) == 0
    assert files_on_disk(upload_dir) == []  # neither the file nor its temporary copy

    # Exactly the limit is fine.
    app.config["UPLOAD_MAX_BYTES"] = 4096
    assert staff_post(client, case, PDF + b"0" * (4096 - len(PDF))).status_code == 303
    assert db.session.scalars(select(CaseDocument.size)).one() == 4096


def test_an_upload_is_read_in_chunks_and_abandoned_past_the_limit(app, world, upload_dir):
    """A stream that would never end is read only a little past the limit."""

    class Endless(io.RawIOBase):
        served = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = (b"%PDF-" if self.served == 0 else b"") + b"0" * (len(buffer) - 5)
            chunk = chunk[: len(buffer)]
            buffer[: len(chunk)] = chunk
            self.served += len(chunk)
            return len(chunk)

    class Upload:
        filename = "infinit.pdf"
        stream = Endless()

    case = make_case(world)
    app.config["UPLOAD_MAX_BYTES"] = 256 * 1024
    with pytest.raises(documents.DocumentRejected) as rejected:
        add_document(
            case, Upload(), category="altres", source="staff", uploaded_by=None, now=clock.now()
        )
    assert rejected.value.reason == "too_large"
    assert Upload.stream.served <= 256 * 1024 + documents.CHUNK_BYTES
    assert files_on_disk(upload_dir) == []


def test_a_request_over_the_size_flask_accepts_gets_the_form_with_the_size_error(
    app, client, login, world, upload_dir
):
    case = make_case(world)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    huge = PDF + b"0" * (100 * 1024)

    # Anonymous: sign-in first, even though the size is what Flask notices first.
    token = csrf_token(client.get("/entra").get_data(as_text=True))
    anonymous = client.post(
        f"/espai/expedients/{case.id}/documents",
        **multipart({"csrf_token": token, "document": a_file(huge, "gran.pdf")}),
    )
    assert anonymous.status_code in (302, 303)
    assert "/entra" in anonymous.headers["Location"]

    login("OPSSVEGAVN")
    response = staff_post(client, case, huge, "gran.pdf")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert error_messages(page) == [SIZE_ERROR]
    assert title(page).startswith("Error: ")
    assert soup(page).find("form", action=f"/espai/expedients/{case.id}/documents") is not None
    assert count(CaseDocument) == 0
    assert files_on_disk(upload_dir) == []


def test_the_file_is_deleted_when_the_database_refuses_the_row(app, world, upload_dir):
    class Upload:
        filename = "factura.pdf"
        stream = io.BytesIO(PDF)

    case = make_case(world)
    with pytest.raises(IntegrityError):
        add_document(
            case, Upload(), category="no-such", source="staff", uploaded_by=None, now=clock.now()
        )
    assert count(CaseDocument) == 0
    assert files_on_disk(upload_dir) == []


def test_the_default_folder_is_in_the_instance_and_never_under_static(app):
    app.config["UPLOAD_FOLDER"] = ""
    assert documents.upload_folder() == (Path(app.instance_path) / "uploads").resolve()
    app.config["UPLOAD_FOLDER"] = str(Path(app.static_folder) / "uploads")
    with pytest.raises(RuntimeError):
        documents.upload_folder()


# --- Downloads: staff only ------------------------------------------------------------------------


def test_only_signed_in_staff_download_with_safe_headers(client, login, world):
    case = make_case(world)
    login("OPSSVEGAVN")
    staff_post(client, case, PDF, "factura_març.pdf")
    document = db.session.scalars(select(CaseDocument)).one()
    sign_out(client, case)

    anonymous = download(client, document.id)
    assert anonymous.status_code in (302, 303)
    assert urlsplit(anonymous.headers["Location"]).path == "/entra"

    login("OPSSAPRESGA")  # any member of staff
    response = download(client, document.id)
    assert response.status_code == 200
    assert response.data == PDF
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''factura_mar%C3%A7.pdf" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/espai/documents/999999").status_code == 404


def test_a_document_whose_file_is_gone_is_a_404_not_an_error(client, login, world, upload_dir):
    case = make_case(world)
    login("OPSSVEGAVN")
    staff_post(client, case, PDF)
    for path in files_on_disk(upload_dir):
        path.unlink()
    document = db.session.scalars(select(CaseDocument)).one()
    assert client.get(f"/espai/documents/{document.id}").status_code == 404


# --- Asking the citizen: the e-mail and its link --------------------------------------------------


def test_documents_requested_email_through_smtp_carries_a_working_upload_link(
    app, client, world, smtp
):
    case = make_case(world)
    deadline = today() + timedelta(days=10)
    ask_for_documents(case, deadline, actor=world.technicians[0])
    assert send_pending().sent == 1

    (received,) = smtp.messages()
    message = received.message
    assert received.rcpt_tos == ("raul@example.net",)
    assert str(message["Subject"]) == f"Documentació requerida per a l'expedient {case.number}"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    from umic.core.dates import day_text

    deadline_text = day_text(deadline, "ca")
    for body in (text, visible(html)):
        assert "Raúl Sánchez" in body
        assert case.number in body
        assert "La factura de l'aigua de maig" in body
        assert f"fins al {deadline_text} (inclòs)" in body
    link = LINK.search(text).group(1)
    assert f"http://localhost{link}" in html

    # Only the hash of the token is stored; it opens the upload page until the deadline.
    token = link.rsplit("/", 1)[1]
    stored = db.session.scalars(
        select(AccessToken).where(AccessToken.purpose == TokenPurpose.UPLOAD)
    ).one()
    assert stored.token_hash == hash_token(token) != token
    assert (stored.purpose, stored.case_id) == (TokenPurpose.UPLOAD, case.id)
    assert stored.expires_at == documents.deadline_end(deadline, MADRID)
    page = client.get(link)
    assert page.status_code == 200
    html_page = visible(page.get_data(as_text=True))
    assert case.number in html_page
    assert "La factura de l'aigua de maig" in html_page
    assert deadline_text in html_page

    # The history says so.
    sent = db.session.scalars(select(CaseEvent).where(CaseEvent.kind == "email")).one()
    assert sent.field == "documents_request" and sent.new_value == deadline.isoformat()
    assert sent.actor_id == world.technicians[0].id
    assert "raul@example.net" in sent.note and deadline_text in sent.note


def test_no_email_and_no_link_without_an_address(app, world):
    case = make_case(world, email="")
    ask_for_documents(case, today() + timedelta(days=5))
    assert count(OutboxMessage) == 0
    assert count(AccessToken) == 0
    assert db.session.get(CaseFile, case.id).status == CaseStatus.DOCUMENTACIO


def test_a_new_deadline_sends_a_new_link_and_earlier_links_follow_it(app, client, world):
    case = make_case(world)
    ask_for_documents(case, today() + timedelta(days=3))
    first = last_link()
    later = today() + timedelta(days=20)
    update_case(
        case, {"deadline": later}, actor=None, expected_version=case.version, now=clock.now()
    )
    db.session.commit()
    second = last_link()
    assert first != second
    assert count(OutboxMessage) == 2
    expiries = set(
        db.session.scalars(
            select(AccessToken.expires_at).where(AccessToken.purpose == TokenPurpose.UPLOAD)
        )
    )
    assert expiries == {documents.deadline_end(later, MADRID)}
    assert client.get(first).status_code == 200


def test_the_link_stops_working_after_the_deadline(app, client, world, upload_dir):
    case = make_case(world)
    deadline = today() + timedelta(days=2)
    ask_for_documents(case, deadline)
    link = last_link()
    token = link.rsplit("/", 1)[1]
    end = documents.deadline_end(deadline, MADRID)
    assert find_upload_link(token, end - timedelta(seconds=1)).state == "open"
    assert find_upload_link(token, end).state == "expired"

    # Time passes: the deadline is yesterday, the token's life is over.
    db.session.execute(update(AccessToken).values(expires_at=clock.now() - timedelta(minutes=1)))
    db.session.execute(update(CaseFile).values(deadline=today() - timedelta(days=1)))
    db.session.commit()
    page = client.get(link)
    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert "El termini per enviar documents ha acabat" in visible(html)
    assert case.number not in html and "<form" not in html.split("<main", 1)[1]
    posted = client.post(link, **multipart({"document": a_file(PDF, "tard.pdf")}))
    assert posted.status_code in (400, 410)
    assert count(CaseDocument) == 0
    assert files_on_disk(upload_dir) == []


def test_the_link_closes_when_the_case_no_longer_asks_for_documents(app, client, world):
    case = make_case(world)
    ask_for_documents(case, today() + timedelta(days=5))
    link = last_link()
    update_case(
        case,
        {"status": CaseStatus.EN_TRAMIT},
        actor=None,
        expected_version=case.version,
        now=clock.now(),
    )
    db.session.commit()
    page = client.get(link)
    assert page.status_code == 410
    assert "Ja no cal enviar documents" in visible(page.get_data(as_text=True))


def test_an_unknown_link_is_a_404(app, client, world):
    case = make_case(world)
    ask_for_documents(case, today() + timedelta(days=5))
    assert client.get("/documents/" + "A" * 32).status_code == 404
    assert client.get("/documents/" + "x" * 300).status_code == 404


# --- The citizen's upload page --------------------------------------------------------------------


def test_a_citizen_upload_reaches_the_history_and_the_assigned_technicians_new_uploads(
    app, client, world, upload_dir
):
    technician, other = world.technicians
    case = make_case(world, technician=technician)
    ask_for_documents(case, today() + timedelta(days=5))
    version = db.session.get(CaseFile, case.id).version
    link = last_link()

    response = citizen_post(client, link, PDF, "factura.pdf", category="factura")
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == link
    page = client.get(link).get_data(as_text=True)
    banner = soup(page).select_one(".banner-success")
    assert banner is not None and "factura.pdf" in banner.get_text()
    sent_list = soup(page).find("h2", string="Documents que ja ens heu enviat").find_next("ul")
    assert "factura.pdf" in sent_list.get_text()
    # The banner is shown once only.
    assert soup(client.get(link).get_data(as_text=True)).select_one(".banner-success") is None

    document = db.session.scalars(select(CaseDocument)).one()
    assert (document.source, document.uploaded_by_id, document.category) == (
        "citizen",
        None,
        "factura",
    )
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    note = db.session.scalars(
        select(CaseEvent.note).where(CaseEvent.case_id == case.id, CaseEvent.kind == "document")
    ).one()
    assert note.startswith("La persona interessada ha enviat factura.pdf")
    token = db.session.scalars(
        select(AccessToken).where(AccessToken.purpose == TokenPurpose.UPLOAD)
    ).one()
    assert token.last_used_at is not None
    # The case row is untouched: a technician editing it meanwhile is not made stale.
    db.session.expire_all()
    assert db.session.get(CaseFile, case.id).version == version

    db.session.expire_all()
    assert not technician.is_coordinator  # loaded before counting
    with counted_queries() as statements:
        (new,) = new_citizen_uploads(technician)
        assert (new.id, new.case.number, new.case.municipality.name) == (
            document.id,
            case.number,
            world.town.name,
        )
    assert len(statements) == 1
    assert new_citizen_uploads(other) == []
    coordinator = make_staff("OPSSCOORD", role=Role.COORDINATOR)
    assert [d.id for d in new_citizen_uploads(coordinator)] == [document.id]


def test_a_download_marks_a_citizens_upload_seen(app, client, login, world):
    case = make_case(world)
    ask_for_documents(case, today() + timedelta(days=5))
    citizen_post(client, last_link(), JPEG, "dni.jpg", category="dni")
    document = db.session.scalars(select(CaseDocument)).one()
    assert new_citizen_uploads(world.technicians[0]) != []

    login("OPSSVEGAVN")
    response = download(client, document.id)
    assert response.status_code == 200 and response.data == JPEG
    db.session.expire_all()
    assert db.session.get(CaseDocument, document.id).seen_at is not None
    assert new_citizen_uploads(world.technicians[0]) == []


def test_opening_the_case_marks_its_citizen_uploads_seen(app, client, login, world):
    case = make_case(world)
    other_case = make_case(world)
    for target in (case, other_case):
        ask_for_documents(target, today() + timedelta(days=5))
        citizen_post(app.test_client(), last_link(), PDF)
    assert len(new_citizen_uploads(world.technicians[0])) == 2

    login("OPSSAPRESGA")  # any member of staff who opens it
    page = client.get(f"/espai/expedients/{case.id}")
    assert page.status_code == 200
    assert soup(page.get_data(as_text=True)).find("a", string="factura.pdf") is not None
    db.session.expire_all()
    assert [d.case_id for d in new_citizen_uploads(world.technicians[0])] == [other_case.id]

    assert client.get(f"/espai/expedients/{other_case.id}/documents").status_code == 200
    db.session.expire_all()
    assert new_citizen_uploads(world.technicians[0]) == []
    assert mark_citizen_uploads_seen(case.id, now=clock.now()) == 0


def test_the_citizens_page_never_offers_a_download(app, client, login, world):
    case = make_case(world)
    login("OPSSVEGAVN")
    staff_post(client, case, PDF, "informe-intern.pdf")
    ask_for_documents(case, today() + timedelta(days=5))
    link = last_link()
    sign_out(client, case)

    citizen = app.test_client()
    citizen_post(citizen, link, PNG, "foto.png", category="altres")
    page = citizen.get(link).get_data(as_text=True)
    hrefs = [a["href"] for a in soup(page).find_all("a")]
    assert not [h for h in hrefs if "/espai/" in h or "download" in h]
    assert soup(page).find("a", download=True) is None
    assert "foto.png" in page  # what they sent, by name
    assert "informe-intern.pdf" not in page  # never the staff's files
    for document in db.session.scalars(select(CaseDocument)):
        response = download(citizen, document.id)
        assert response.status_code in (302, 303)
        assert urlsplit(response.headers["Location"]).path == "/entra"


def test_the_citizens_form_explains_each_problem_and_keeps_the_choice(app, client, world):
    case = make_case(world)
    ask_for_documents(case, today() + timedelta(days=5))
    link = last_link()

    nothing = citizen_post(client, link, None, category="")
    assert nothing.status_code == 200
    page = nothing.get_data(as_text=True)
    assert title(page).startswith("Error: ")
    assert error_messages(page) == ["Trieu quin tipus de document és", CHOOSE_ERROR]
    assert summary_links(page) == [
        ("#category-0", "Trieu quin tipus de document és"),
        ("#document", CHOOSE_ERROR),
    ]
    fieldset = soup(page).find("fieldset")
    assert fieldset.legend.get_text(strip=True) == "Quin document ens envieu?"
    assert fieldset.find(id="category-0") is not None

    wrong = citizen_post(client, link, HTML, "factura.pdf", category="contracte")
    page = wrong.get_data(as_text=True)
    assert error_messages(page) == [TYPE_ERROR]
    assert soup(page).find("input", {"name": "category", "value": "contracte"}).has_attr("checked")

    empty = citizen_post(client, link, b"", "buit.pdf").get_data(as_text=True)
    assert error_messages(empty) == [EMPTY_ERROR]

    both = citizen_post(client, link, WINDOWS_PROGRAM, "factura.pdf", category="")
    assert error_messages(both.get_data(as_text=True)) == [
        "Trieu quin tipus de document és",
        TYPE_ERROR,
    ]
    assert count(CaseDocument) == 0


def test_a_request_too_large_for_flask_gets_the_citizens_form_with_the_size_error(
    app, client, world, upload_dir
):
    case = make_case(world)
    ask_for_documents(case, today() + timedelta(days=5))
    link = last_link()
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    response = citizen_post(client, link, PDF + b"0" * (100 * 1024))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert error_messages(page) == [SIZE_ERROR]
    assert case.number in page
    assert soup(page).find("form", action=link) is not None
    assert files_on_disk(upload_dir) == []


def test_a_citizen_cannot_fill_the_disk(app, client, world):
    case = make_case(world)
    ask_for_documents(case, today() + timedelta(days=5))
    link = last_link()
    app.config["UPLOAD_MAX_CITIZEN_FILES"] = 2
    assert citizen_post(client, link, PDF, "u.pdf").status_code == 303
    assert citizen_post(client, link, PNG, "dos.png").status_code == 303
    third = citizen_post(client, link, JPEG, "tres.jpg")
    assert third.status_code == 200
    assert error_messages(third.get_data(as_text=True)) == [
        "Ja heu enviat 2 documents. Si n'heu d'enviar més, truqueu al 012."
    ]
    assert count(CaseDocument) == 2


# --- CSRF on both forms ---------------------------------------------------------------------------


def test_both_upload_forms_refuse_a_post_without_its_form_token(
    app, client, login, world, upload_dir
):
    case = make_case(world)
    ask_for_documents(case, today() + timedelta(days=5))
    link = last_link()
    client.get(link)  # the browser has a session
    forged = client.post(
        link, **multipart({"category": "factura", "document": a_file(PDF, "factura.pdf")})
    )
    assert forged.status_code == 400

    login("OPSSVEGAVN")
    forged = client.post(
        f"/espai/expedients/{case.id}/documents",
        **multipart({"category": "factura", "document": a_file(PDF, "factura.pdf")}),
    )
    assert forged.status_code == 400
    assert count(CaseDocument) == 0
    assert files_on_disk(upload_dir) == []


# --- Reminders ------------------------------------------------------------------------------------


def _reminders() -> list[CaseEvent]:
    return list(
        db.session.scalars(
            select(CaseEvent)
            .where(CaseEvent.field == "documents_reminder")
            .order_by(CaseEvent.case_id)
        )
    )


def test_a_reminder_is_queued_once_per_deadline_within_the_window(app, world):
    now = clock.now()
    week_ago = now - timedelta(days=7)
    days = app.config["DOCUMENT_REMINDER_DAYS_BEFORE"]
    due = make_case(world, email="due@x.net")
    due_today = make_case(world, email="today@x.net")
    later = make_case(world, email="later@x.net")
    no_email = make_case(world, email="")
    resolved = make_case(world, email="resolved@x.net")
    ask_for_documents(due, today() + timedelta(days=days), now=week_ago)
    ask_for_documents(due_today, today(), now=week_ago)
    ask_for_documents(later, today() + timedelta(days=days + 1), now=week_ago)
    ask_for_documents(no_email, today() + timedelta(days=1), now=week_ago)
    ask_for_documents(resolved, today() + timedelta(days=1), now=week_ago)
    update_case(
        resolved,
        {"status": CaseStatus.RESOLT},
        actor=None,
        expected_version=resolved.version,
        now=week_ago,
    )
    db.session.commit()
    requests = count(OutboxMessage)
    version = db.session.get(CaseFile, due.id).version

    assert queue_document_reminders(now=now) == 2
    assert queue_document_reminders(now=now) == 0
    # Later the same day: still nothing (at 23:30, five hours on would be another day).
    later_today = min(now + timedelta(hours=5), madrid(today(), 23, 59))
    assert queue_document_reminders(now=later_today) == 0
    reminded = _reminders()
    assert [(e.case_id, e.new_value) for e in reminded] == [
        (due.id, (today() + timedelta(days=days)).isoformat()),
        (due_today.id, today().isoformat()),
    ]
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "documents_reminder")
    ).all()
    assert sorted(m.recipient for m in messages) == ["due@x.net", "today@x.net"]
    assert count(OutboxMessage) == requests + 2
    db.session.expire_all()
    assert db.session.get(CaseFile, due.id).version == version  # open edits stay valid

    # A new deadline gets its own reminder when it comes near, once.
    update_case(
        later,
        {"deadline": today() + timedelta(days=days + 5)},
        actor=None,
        expected_version=later.version,
        now=week_ago,
    )
    db.session.commit()
    assert queue_document_reminders(now=now + timedelta(days=5)) == 1
    assert queue_document_reminders(now=now + timedelta(days=5)) == 0


def test_no_reminder_when_the_request_itself_came_inside_the_window(app, world):
    case = make_case(world)
    ask_for_documents(case, today() + timedelta(days=1))  # asked today, due tomorrow
    assert queue_document_reminders() == 0
    assert _reminders() == []


def test_reminders_from_two_workers_at_once_are_queued_once(app, world):
    now = clock.now()
    for number in range(6):
        case = make_case(world, email=f"r{number}@x.net")
        ask_for_documents(case, today() + timedelta(days=1), now=now - timedelta(days=7))
    db.session.close()
    counts = in_app_at_once(app, lambda _: queue_document_reminders(now=now), range(2))
    assert sum(counts) == 6
    reminded = _reminders()
    assert len(reminded) == 6 and len({e.case_id for e in reminded}) == 6
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "documents_reminder")
        )
        == 6
    )


def test_the_reminder_email_through_smtp_has_a_fresh_working_link(app, client, world, smtp):
    case = make_case(world)
    deadline = today() + timedelta(days=1)
    ask_for_documents(case, deadline, now=clock.now() - timedelta(days=7))
    assert send_pending().sent == 1
    assert queue_document_reminders() == 1
    assert send_pending().sent == 1

    request, reminder = smtp.messages()
    assert str(reminder.message["Subject"]).startswith(
        f"Recordatori: envieu la documentació de l'expedient {case.number}"
    )
    text = reminder.message.get_body(preferencelist=("plain",)).get_content()
    assert "Us recordem que el termini" in text
    fresh = LINK.search(text).group(1)
    first = LINK.search(request.message.get_body(preferencelist=("plain",)).get_content())
    assert fresh != first.group(1)
    assert client.get(fresh).status_code == 200
    assert citizen_post(client, fresh, PDF).status_code == 303


def test_the_worker_and_outbox_send_queue_document_reminders(app, runner, world):
    first = make_case(world, email="worker@x.net")
    second = make_case(world, email="cli@x.net")
    ask_for_documents(first, today() + timedelta(days=1), now=clock.now() - timedelta(days=7))
    first_id, second_id = first.id, second.id
    run_worker(stop_after=1)  # ends with the session removed
    assert [e.case_id for e in _reminders()] == [first_id]

    second = db.session.get(CaseFile, second_id)
    ask_for_documents(second, today() + timedelta(days=1), now=clock.now() - timedelta(days=7))
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("reminders: 0; document reminders: 1; document text: 0;")
    assert [e.case_id for e in _reminders()] == [first_id, second_id]


# --- Several files at once (the review's L12: one file per submission) --------------------------


def _several(client, link: str, files: list[tuple[bytes, str]], category: str = "factura"):
    page = client.get(link).get_data(as_text=True)
    form = {
        "csrf_token": csrf_token(page),
        "category": category,
        "document": [a_file(content, name) for content, name in files],
    }
    return client.post(link, **multipart(form))


def test_a_citizen_sends_several_files_in_one_go(app, client, world, upload_dir):
    """L12: the pages of an invoice, photographed one by one, go in one submission."""
    case = make_case(world)
    ask_for_documents(case, today() + timedelta(days=5))
    link = last_link()
    box = soup(client.get(link).get_data(as_text=True)).find("input", {"name": "document"})
    assert box.has_attr("multiple")
    response = _several(client, link, [(PDF, "pàgina-1.pdf"), (PNG, "p2.png"), (JPEG, "p3.jpg")])
    assert response.status_code == 303
    names = {d.original_name for d in db.session.scalars(select(CaseDocument))}
    assert names == {"pàgina-1.pdf", "p2.png", "p3.jpg"}
    page = client.get(link).get_data(as_text=True)
    banner = soup(page).select_one(".banner-success")
    assert banner.select_one(".banner-title").get_text(strip=True) == "Documents enviats"
    assert [li.get_text(strip=True) for li in banner.select("li")] == [
        "pàgina-1.pdf",
        "p2.png",
        "p3.jpg",
    ]


def test_a_wrong_file_among_several_is_named_and_none_is_stored(app, client, world, upload_dir):
    """L12: every file is checked before any is stored; the wrong one is named."""
    case = make_case(world)
    ask_for_documents(case, today() + timedelta(days=5))
    link = last_link()
    response = _several(client, link, [(PDF, "factura.pdf"), (HTML, "rebut.pdf")])
    assert response.status_code == 200
    assert error_messages(response.get_data(as_text=True)) == [f"rebut.pdf: {TYPE_ERROR}"]
    assert count(CaseDocument) == 0
    assert files_on_disk(upload_dir) == []


def test_a_limit_reached_half_way_keeps_the_files_before_it_and_says_so(app, client, world):
    """L12: the case's maximum reached by the third file: the first two are stored and
    listed, the third is named with the reason."""
    case = make_case(world)
    ask_for_documents(case, today() + timedelta(days=5))
    link = last_link()
    app.config["UPLOAD_MAX_CITIZEN_FILES"] = 2
    response = _several(client, link, [(PDF, "u.pdf"), (PNG, "dos.png"), (JPEG, "tres.jpg")])
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert error_messages(page) == [
        "tres.jpg: Ja heu enviat 2 documents. Si n'heu d'enviar més, truqueu al 012."
    ]
    assert [li.get_text(strip=True) for li in soup(page).select(".banner-success li")] == [
        "u.pdf",
        "dos.png",
    ]
    assert count(CaseDocument) == 2
