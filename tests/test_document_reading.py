"""Reading documents: text and OCR, the suggested category, staff confirming it, the case
list finding a case by a word on its invoice, and safe previews.

Real database (SQLite file and PostgreSQL), real files, real Tesseract, real HTTP requests
through the staff pages. The invoice is drawn here with Pillow and DejaVu Sans.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from support.factories import make_case
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import soup
from umic import clock
from umic.casefiles.extract import extract_pending
from umic.extensions import db
from umic.jobs import run_pass
from umic.models import CaseDocument
from umic.models import CaseEvent
from umic.models import CaseFile

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
STREET = "Tramuntana"  # the distinctive word on the invoice
INVOICE_LINES = [
    ("FACTURA", BOLD, 64),
    ("Núm. factura: 2024-0457", FONT, 40),
    ("NIF: B00000000", FONT, 40),
    (f"Passeig {STREET} 12, Granollers", FONT, 40),
    ("Reparació de la rentadora", FONT, 40),
    ("Base imposable: 100,00 EUR", FONT, 40),
    ("IVA 21%: 21,00 EUR", FONT, 40),
    ("Total: 121,00 EUR", BOLD, 44),
]


def invoice_image() -> Image.Image:
    """A printed invoice, as a scanner at about 150 dpi would see an A5 page."""
    image = Image.new("L", (1240, 900), 255)
    draw = ImageDraw.Draw(image)
    y = 60
    for text, font, size in INVOICE_LINES:
        draw.text((80, y), text, fill=0, font=ImageFont.truetype(font, size))
        y += size + 36
    return image


def invoice_png() -> bytes:
    out = io.BytesIO()
    invoice_image().save(out, format="PNG")
    return out.getvalue()


def invoice_scanned_pdf() -> bytes:
    """An image-only PDF (no text in it), as a scanner makes."""
    out = io.BytesIO()
    invoice_image().convert("RGB").save(out, format="PDF", resolution=150)
    return out.getvalue()


def bomb_png() -> bytes:
    """A valid PNG header claiming 50,000 x 50,000 pixels: decoding it would take 2.5 GB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


DAMAGED_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> garbage \x00\xff" * 3


@pytest.fixture
def upload_dir(tmp_path) -> Path:
    return tmp_path / "fitxers"


@pytest.fixture
def app_config(upload_dir) -> dict:
    return {"UPLOAD_FOLDER": str(upload_dir)}


@pytest.fixture
def world(app):
    return make_world(technicians=2)


def staff_upload(client, case: CaseFile, content: bytes, name: str, category: str = "altres"):
    page = client.get(f"/espai/expedients/{case.id}").get_data(as_text=True)
    fields = {
        "csrf_token": csrf_token(page),
        "category": category,
        "document": FileStorage(io.BytesIO(content), filename=name),
    }
    boundary, body = encode_multipart(fields)
    response = client.post(
        f"/espai/expedients/{case.id}/documents",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return db.session.scalars(select(CaseDocument).order_by(CaseDocument.id.desc())).first()


def listed_numbers(client, q: str) -> list[str]:
    response = client.get("/espai/expedients/", query_string={"q": q})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return [number for number in _case_numbers(html)]


def _case_numbers(html: str) -> list[str]:
    page = soup(html)
    return [link.get_text(strip=True) for link in page.select("#case-results tbody a")]


# --- Done when #2: a scanned invoice is read, classified and found -----------------------------


@pytest.mark.pdf
@pytest.mark.parametrize("kind", ["png", "pdf"])
def test_scanned_invoice_is_read_classified_and_found(client, login, world, kind):
    case = make_case(world)
    other = make_case(world, interested_name="Marta Puig")
    login("OPSSVEGAVN")
    content = invoice_png() if kind == "png" else invoice_scanned_pdf()
    document = staff_upload(client, case, content, f"escaneig.{kind}")
    assert document.text_status == "pending"
    assert case.number not in listed_numbers(client, STREET)

    report = run_pass(clock.now())  # the worker's pass, as in production
    assert report.jobs["document text"] == 1

    db.session.expire_all()
    document = db.session.get(CaseDocument, document.id)
    assert document.text_status == "done"
    assert document.text_method == "ocr"
    assert STREET.lower() in document.text.lower()
    assert document.suggested_category == "factura"
    assert document.category == "altres"  # the choice at upload stays until staff confirm
    assert document.extracted_at is not None

    numbers = listed_numbers(client, STREET.lower())
    assert numbers == [case.number]
    assert other.number not in numbers
    # Two words: one from the case, one from its document.
    assert listed_numbers(client, f"sanchez {STREET}") == [case.number]

    page = soup(client.get(f"/espai/expedients/{case.id}").get_data(as_text=True))
    row = page.select_one(f"#document-{document.id}").find_next_sibling("tr")
    assert "Suggerit: Factura — confirmeu-ho" in row.get_text()
    assert "Text llegit per OCR" in row.get_text()
    assert STREET in row.select_one("details.document-text pre").get_text()


# --- The worker: failures are recorded, never raised --------------------------------------------


@pytest.mark.pdf
def test_damaged_files_and_bombs_fail_without_stopping_the_worker(client, login, world, caplog):
    case = make_case(world)
    login("OPSSVEGAVN")
    damaged = staff_upload(client, case, DAMAGED_PDF, "malmès.pdf")
    bomb = staff_upload(client, case, bomb_png(), "bomba.png")
    assert extract_pending(clock.now()) == 2
    db.session.expire_all()
    for document in (damaged, bomb):
        document = db.session.get(CaseDocument, document.id)
        assert document.text_status == "failed"
        assert document.extracted_at is not None
        assert document.suggested_category == ""
    assert "could not be read" in caplog.text
    assert extract_pending(clock.now()) == 0  # not read again


# --- Confirming the category ---------------------------------------------------------------------


def test_staff_confirm_or_change_the_category_with_a_history_entry(client, login, world):
    case = make_case(world)
    login("OPSSVEGAVN")
    document = staff_upload(client, case, invoice_png(), "escaneig.png")
    document.suggested_category = "factura"
    document.text_status = "done"
    db.session.commit()

    page = client.get(f"/espai/expedients/{case.id}").get_data(as_text=True)
    form = soup(page).select_one(f"form[action='/espai/documents/{document.id}/categoria']")
    select_ = form.select_one("select")
    assert form.find("label", attrs={"for": select_["id"]}) is not None
    assert select_.select_one("option[selected]")["value"] == "factura"  # the suggestion

    response = client.post(
        f"/espai/documents/{document.id}/categoria",
        data={"csrf_token": csrf_token(page), select_["name"]: "factura"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"#document-{document.id}")
    db.session.expire_all()
    document = db.session.get(CaseDocument, document.id)
    assert document.category == "factura"
    assert document.category_confirmed_at is not None
    assert document.category_confirmed_by_id == world.technicians[0].id
    event = db.session.scalars(
        select(CaseEvent).where(CaseEvent.field == "document_category")
    ).one()
    assert (event.old_value, event.new_value) == ("altres", "factura")

    page = client.get(f"/espai/expedients/{case.id}").get_data(as_text=True)
    assert "Suggerit:" not in page
    # A value that is no category: the error beside the field and in the summary, no 500.
    response = client.post(
        f"/espai/documents/{document.id}/categoria",
        data={"csrf_token": csrf_token(page), select_["name"]: "virus"},
    )
    assert response.status_code == 400
    html = soup(response.get_data(as_text=True))
    assert html.select_one(".error-summary a")["href"] == f"#{select_['id']}"
    assert html.select_one(f"#{select_['id']}-error") is not None
    db.session.expire_all()
    assert db.session.get(CaseDocument, document.id).category == "factura"


def test_confirming_needs_the_csrf_token_and_a_sign_in(client, login, world):
    case = make_case(world)
    login("OPSSVEGAVN")
    document = staff_upload(client, case, invoice_png(), "escaneig.png")
    response = client.post(f"/espai/documents/{document.id}/categoria", data={})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(CaseDocument, document.id).category_confirmed_at is None
    page = client.get(f"/espai/expedients/{case.id}").get_data(as_text=True)
    client.post("/surt", data={"csrf_token": csrf_token(page)})
    response = client.post(
        f"/espai/documents/{document.id}/categoria",
        data={"csrf_token": csrf_token(page), f"doc{document.id}-category": "dni"},
    )
    # Signed out, the old token is no longer valid either: refused before anything changes.
    assert response.status_code in (302, 303, 400, 401)
    db.session.expire_all()
    assert db.session.get(CaseDocument, document.id).category == "altres"


# --- Safe previews ---------------------------------------------------------------------------


SAFE_HEADERS = {
    "Content-Type": "image/png",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Content-Disposition": "inline",
}


@pytest.mark.pdf
def test_previews_are_pngs_drawn_by_the_server(client, login, world):
    case = make_case(world)
    login("OPSSVEGAVN")
    exif = Image.Exif()
    exif[0x010E] = "secret camera note"  # ImageDescription
    out = io.BytesIO()
    invoice_image().convert("RGB").save(out, format="JPEG", exif=exif.tobytes())
    photo = staff_upload(client, case, out.getvalue(), "foto.jpg")
    scan = staff_upload(client, case, invoice_scanned_pdf(), "escaneig.pdf")

    for document in (photo, scan):
        response = client.get(f"/espai/documents/{document.id}/vista/1.png")
        assert response.status_code == 200
        for name, value in SAFE_HEADERS.items():
            assert response.headers[name] == value
        assert "no-store" in response.headers["Cache-Control"]
        assert "private" in response.headers["Cache-Control"]
        body = response.get_data()
        assert body.startswith(b"\x89PNG")
        assert b"secret camera note" not in body
        image = Image.open(io.BytesIO(body))
        assert max(image.size) <= 1200
        assert not image.getexif()
    assert client.get(f"/espai/documents/{scan.id}/vista/2.png").status_code == 404

    page = soup(client.get(f"/espai/expedients/{case.id}").get_data(as_text=True))
    image = page.select_one(f"img[src='/espai/documents/{scan.id}/vista/1.png']")
    assert image["alt"] == "Pàgina 1 de escaneig.pdf"
    assert image["loading"] == "lazy"
    preview_page = client.get(f"/espai/documents/{scan.id}/vista")
    assert preview_page.status_code == 200


@pytest.mark.pdf
def test_bombs_and_damaged_files_get_a_message_not_a_500(client, login, world):
    case = make_case(world)
    login("OPSSVEGAVN")
    for content, name in ((bomb_png(), "bomba.png"), (DAMAGED_PDF, "malmès.pdf")):
        document = staff_upload(client, case, content, name)
        assert client.get(f"/espai/documents/{document.id}/vista/1.png").status_code == 404
        page = client.get(f"/espai/documents/{document.id}/vista")
        assert page.status_code == 200
        assert "No es pot mostrar la vista prèvia" in page.get_data(as_text=True)


def test_previews_are_for_signed_in_staff_only(app, client, login, world):
    case = make_case(world)
    login("OPSSVEGAVN")
    document = staff_upload(client, case, invoice_png(), "escaneig.png")
    anonymous = app.test_client()
    for url in (
        f"/espai/documents/{document.id}/vista/1.png",
        f"/espai/documents/{document.id}/vista",
    ):
        response = anonymous.get(url)
        assert response.status_code in (302, 303, 401)
        assert not response.get_data().startswith(b"\x89PNG")
    assert client.get("/espai/documents/999999/vista/1.png").status_code == 404


def test_a_case_with_several_matching_documents_is_listed_once(client, login, world):
    from support.queries import counted_queries
    from umic.casefiles.documents import store_bytes

    case = make_case(world)
    other = make_case(world, interested_name="Marta Puig")
    for number in range(3):
        store_bytes(
            case,
            b"%PDF-1.4\n%%EOF\n",
            name=f"carta {number}.pdf",
            source="company",
            category="correspondencia",
            now=clock.now(),
            text="Benvolguda senyora, Passeig Tramuntana",
            text_status="done",
        )
    db.session.commit()
    login("OPSSVEGAVN")
    assert listed_numbers(client, "tramuntana") == [case.number]
    assert other.number not in listed_numbers(client, "puig tramuntana")
    with counted_queries() as plain:
        client.get("/espai/expedients/", query_string={"q": "raul"})
    with counted_queries() as with_documents:
        client.get("/espai/expedients/", query_string={"q": "tramuntana"})
    assert len(with_documents) == len(plain)
