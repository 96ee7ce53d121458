"""A case as one file: the PDF dossier and the ZIP (umic/casefiles/dossier.py and its routes).

Real database (SQLite file and PostgreSQL), real files stored with the documents' own rules in
a temporary UPLOAD_FOLDER, the PDF opened with two parsers (pypdf and pypdfium2).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from datetime import timedelta
from decimal import Decimal

import pypdfium2
import pytest
from PIL import Image
from pypdf import PdfReader
from pypdf import PdfWriter

from support.factories import make_case as make_open_case
from support.factories import make_world
from support.pdfs import text_pdf
from umic import clock
from umic.casefiles import documents
from umic.casefiles.dossier import DossierTooLarge
from umic.casefiles.dossier import case_events
from umic.casefiles.dossier import dossier_pdf
from umic.casefiles.dossier import dossier_zip
from umic.casefiles.dossier import history_csv
from umic.casefiles.dossier import safe_name
from umic.casefiles.dossier import zip_names
from umic.casefiles.service import update_case
from umic.extensions import db
from umic.models import CaseEvent
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import Company
from umic.models import Mediation

# --- Real files ---------------------------------------------------------------------------------


def image(kind: str, size=(320, 200), colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf("SECRET"))))
    writer.encrypt(user_password="clau", owner_password="clau")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


DAMAGED_PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nthis is not a PDF\n"


def add_note(case, note, *, actor, now) -> None:
    update_case(case, {}, actor=actor, expected_version=case.version, now=now, note=note)


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def app_config(tmp_path) -> dict:
    return {"UPLOAD_FOLDER": str(tmp_path / "fitxers")}


@pytest.fixture
def world(app):
    return make_world(technicians=1)


def make_case(world, **values) -> CaseFile:
    now = clock.now() - timedelta(days=3)
    values = {
        "status": CaseStatus.PENDENT,
        "company": '=HYPERLINK("http://evil.example")',
        **values,
    }
    case = make_open_case(world, actor=world.technicians[0], now=now, **values)
    update_case(
        case,
        {"status": CaseStatus.EN_TRAMIT},
        actor=world.technicians[0],
        expected_version=case.version,
        now=now + timedelta(hours=1),
    )
    add_note(case, "Ha trucat: demana resposta aviat", actor=world.technicians[0], now=now)
    db.session.commit()
    return case


def store(case, data: bytes, name: str, minutes: int, category="altres") -> None:
    documents.store_bytes(
        case,
        data,
        name=name,
        source="staff",
        category=category,
        now=clock.now() - timedelta(days=2) + timedelta(minutes=minutes),
    )
    db.session.commit()


def full_case(world) -> CaseFile:
    case = make_case(world)
    store(case, text_pdf("FACTURA-U", "FACTURA-DOS"), "factura.pdf", 1, "factura")
    store(case, image("JPEG"), "foto.jpg", 2)
    store(case, image("PNG", size=(60, 900)), "captura.png", 3)
    store(case, DAMAGED_PDF, "malmes.pdf", 4)
    store(case, encrypted_pdf(), "protegit.pdf", 5)
    store(case, text_pdf("CONTRACTE-U"), "contracte.pdf", 6, "contracte")
    return case


def page_texts(pdf: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


# --- Pure parts ---------------------------------------------------------------------------------


def test_safe_names_stay_inside_the_zip():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\Users\\x\\factura.pdf") == "factura.pdf"
    assert safe_name("...") == "document"
    assert safe_name("a\x00b\nc.pdf") == "a_b_c.pdf"
    long = safe_name("x" * 300 + ".pdf")
    assert len(long) == 100 and long.endswith(".pdf")


def test_zip_names_are_numbered_and_unique():
    class Doc:
        def __init__(self, name):
            self.original_name = name

    names = zip_names([Doc("a.pdf"), Doc("a.pdf"), Doc("../a.pdf")])
    assert names == ["documents/01_a.pdf", "documents/02_a.pdf", "documents/03_a.pdf"]


def test_history_csv_is_formula_safe(app, world):
    case = make_case(world, interested_name="Anna")
    add_note(case, "=1+2", actor=None, now=clock.now())
    db.session.commit()
    with app.test_request_context():
        text = history_csv(case, case_events(case.id))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0][0] == "Data"
    assert len(rows) == 1 + len(case_events(case.id))
    assert "'=1+2" in [row[-1] for row in rows]


# --- The PDF ------------------------------------------------------------------------------------


@pytest.mark.pdf
def test_dossier_pdf_has_cover_history_and_every_page(app, world):
    case = full_case(world)
    company = Company(name="Naturgy", name_key="naturgy")
    db.session.add(company)
    db.session.flush()
    db.session.add(
        Mediation(
            case_id=case.id,
            company_id=company.id,
            status="tancada",
            answer_due=clock.now().date() + timedelta(days=10),
            answer="proposa",
            outcome="acord_parcial",
            amount_recovered=Decimal("120.50"),
        )
    )
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(CaseFile, case.id)
    with app.test_request_context():
        pdf = dossier_pdf(case, language="ca", now=clock.now())

    reader = PdfReader(io.BytesIO(pdf))
    texts = page_texts(pdf)
    assert len(reader.pages) == len(texts)
    # factura 2 + foto 1 + captura 1 + malmès 1 (placeholder) + protegit 1 + contracte 1
    documents_pages = 7
    front = len(texts) - documents_pages
    assert front >= 1
    cover = "\n".join(texts[:front])
    assert f"Dossier de l'expedient {case.number}" in texts[0]
    assert "Raúl Sánchez" in texts[0]
    assert "Historial" in cover
    assert "Ha trucat: demana resposta aviat" in cover
    assert "Expedient creat" in cover
    assert "OPSSVEGAVN" in cover
    assert "Mediació" in cover and "Naturgy" in cover
    assert "Acord parcial" in cover and "Proposa una solució" in cover
    assert "120,50" in cover

    # The index: each document's row ends with its page; that page is the document's first.
    flat = re.sub(r"\s+", " ", cover)
    expected = {
        "factura.pdf": "FACTURA-U",
        "foto.jpg": None,
        "captura.png": None,
        "malmes.pdf": "no s'ha pogut incloure",
        "protegit.pdf": "contrasenya",
        "contracte.pdf": "CONTRACTE-U",
    }
    starts = []
    for name, content in expected.items():
        match = re.search(re.escape(name) + r".*?\d{4}(?: \d\d:\d\d)? (\d+)", flat)
        assert match, (name, flat)
        page = int(match.group(1))
        starts.append(page)
        text = texts[page - 1]
        assert name in text and "pàgina 1 de" in text
        assert f"p. {page} del dossier" in text
        if content:
            assert content in text
    history_page = int(re.search(r"Historial (\d+)", flat).group(1))
    assert history_page <= front
    assert "Ha trucat: demana resposta aviat" in texts[history_page - 1]
    assert starts[0] == front + 1
    assert starts == sorted(starts)
    assert "FACTURA-DOS" in texts[starts[0]]  # the second page follows the first
    assert starts[-1] == len(texts)
    # An image is one A4 page.
    image_page = reader.pages[starts[1] - 1]
    assert round(float(image_page.mediabox.width)) == 595


@pytest.mark.pdf
def test_rotated_and_cropped_pages_are_stamped_upright(app, world):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf("GIRADA", "RETALLADA"))))
    writer.pages[0].rotate(90)
    writer.pages[1].mediabox.lower_left = (50, 50)
    writer.pages[1].mediabox.upper_right = (300, 400)
    out = io.BytesIO()
    writer.write(out)
    case = make_case(world)
    store(case, out.getvalue(), "girada.pdf", 1)
    with app.test_request_context():
        pdf = dossier_pdf(case, language="ca", now=clock.now())
    reader = PdfReader(io.BytesIO(pdf))
    texts = page_texts(pdf)
    first, second = reader.pages[-2], reader.pages[-1]
    assert float(first.mediabox.width) > float(first.mediabox.height)  # now landscape
    assert not first.get("/Rotate")
    assert "GIRADA" in texts[-2] and "girada.pdf · pàgina 1 de 2" in texts[-2]
    assert "RETALLADA" in texts[-1] and "girada.pdf · pàgina 2 de 2" in texts[-1]
    assert round(float(second.mediabox.width)) == 250  # the visible part keeps its size


def test_dossier_size_cap(app, world):
    case = full_case(world)
    with app.test_request_context(), pytest.raises(DossierTooLarge) as raised:
        dossier_pdf(case, language="ca", now=clock.now(), max_bytes=100)
    with app.test_request_context():
        assert "ZIP" in raised.value.message()


# --- The ZIP ------------------------------------------------------------------------------------


@pytest.mark.pdf
def test_dossier_zip_holds_the_originals(app, world):
    case = full_case(world)
    add_note(case, '=HYPERLINK("http://evil.example")', actor=None, now=clock.now())
    db.session.commit()
    with app.test_request_context():
        archive = dossier_zip(case, language="ca", now=clock.now())
    with archive, zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        assert names[:2] == ["expedient.pdf", "historial.csv"]
        assert names[-1] == "index.csv"
        stored = documents.case_documents(case.id)
        assert names[2:-1] == [
            f"documents/{n:02d}_{d.original_name}" for n, d in enumerate(stored, start=1)
        ]
        for name, document in zip(names[2:-1], stored, strict=True):
            data = zipped.read(name)
            assert hashlib.sha256(data).hexdigest() == document.sha256
            assert data == documents.stored_path(document).read_bytes()
        index = zipped.read("index.csv").decode("utf-8")
        assert index.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(index[1:]), delimiter=";"))
        assert [row[0] for row in rows[1:]] == names[2:-1]
        assert [row[-1] for row in rows[1:]] == [d.sha256 for d in stored]
        history = zipped.read("historial.csv").decode("utf-8")
        assert "Ha trucat" in history
        assert "'=HYPERLINK" in history  # the note as typed, made safe
        expedient = zipped.read("expedient.pdf")
        assert len(PdfReader(io.BytesIO(expedient)).pages) >= 1
        assert "Historial" in "".join(page_texts(expedient))


# --- Routes -------------------------------------------------------------------------------------


def test_dossier_needs_staff(client, world):
    case = make_case(world)
    for suffix in ("pdf", "zip"):
        response = client.get(f"/espai/expedients/{case.id}/dossier.{suffix}")
        assert response.status_code in (302, 303)
        assert "/entra" in response.headers["Location"]


def test_unknown_case_is_404(client, login, world):
    login("OPSSVEGAVN")
    for suffix in ("pdf", "zip"):
        assert client.get(f"/espai/expedients/99999/dossier.{suffix}").status_code == 404


@pytest.mark.pdf
def test_dossier_routes_send_attachments_and_write_history(client, login, world):
    case = full_case(world)
    login("OPSSVEGAVN")
    page = client.get(f"/espai/expedients/{case.id}").get_data(as_text=True)
    assert f"/espai/expedients/{case.id}/dossier.pdf" in page
    assert f"/espai/expedients/{case.id}/dossier.zip" in page
    stem = "dossier-" + case.number.replace("/", "-")
    for suffix, mimetype in (("pdf", "application/pdf"), ("zip", "application/zip")):
        response = client.get(f"/espai/expedients/{case.id}/dossier.{suffix}")
        assert response.status_code == 200
        assert response.mimetype == mimetype
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment") and f"{stem}.{suffix}" in disposition
        body = response.get_data()
        response.close()  # what the WSGI server does: closes the ZIP's temporary file
        if suffix == "pdf":
            assert len(PdfReader(io.BytesIO(body)).pages) > 7
        else:
            assert zipfile.ZipFile(io.BytesIO(body)).testzip() is None
    notes = [
        event.note
        for event in db.session.query(CaseEvent).filter_by(case_id=case.id, kind="dossier")
    ]
    assert notes == ["Dossier exportat (PDF)", "Dossier exportat (ZIP)"]
    page = client.get(f"/espai/expedients/{case.id}").get_data(as_text=True)
    assert "Dossier exportat (ZIP)" in page


def test_too_large_dossier_goes_back_with_a_message(app, client, login, world):
    case = full_case(world)
    app.config["DOSSIER_MAX_BYTES"] = 100
    login("OPSSVEGAVN")
    response = client.get(f"/espai/expedients/{case.id}/dossier.pdf")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Descarregueu-ne el ZIP" in page


@pytest.mark.pdf
def test_anonymised_case_still_exports(app, client, login, world):
    from umic.privacy.anonymise import anonymise_cases

    case = full_case(world)
    anonymise_cases([case.id], clock.now())
    db.session.commit()
    login("OPSSVEGAVN")
    response = client.get(f"/espai/expedients/{case.id}/dossier.pdf")
    assert response.status_code == 200
    text = "".join(page_texts(response.get_data()))
    assert "Raúl" not in text and "Ha trucat" not in text
    assert "anonimitzat" in text
