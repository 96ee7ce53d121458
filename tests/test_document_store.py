"""store_bytes: files the app makes or receives (letters, a company's answer) stored with the
same rules as uploads. Real database (SQLite file and PostgreSQL), real files on disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from support.factories import make_case
from support.factories import make_world
from umic import clock
from umic.casefiles.documents import DocumentRejected
from umic.casefiles.documents import store_bytes
from umic.casefiles.documents import stored_path
from umic.core.codes import DocumentSource
from umic.core.codes import TextStatus
from umic.extensions import db
from umic.models import CaseDocument

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00"
    b":~\x9bU\x00\x00\x00\nIDATx\x9cc\xe8\x00\x00\x00\x82\x00\x81\xdd\xfd\xf2\x14\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def upload_dir(tmp_path) -> Path:
    return tmp_path / "fitxers"


@pytest.fixture
def app_config(upload_dir) -> dict:
    return {"UPLOAD_FOLDER": str(upload_dir)}


@pytest.fixture
def case(app):
    return make_case(make_world(technicians=1))


def test_stores_a_letter_with_its_columns(case, upload_dir):
    now = clock.now()
    document = store_bytes(
        case,
        PDF,
        name="Carta a l'empresa.pdf",
        source=DocumentSource.SERVICE,
        category="correspondencia",
        now=now,
        letter_kind="company_letter",
        language="ca",
        text="Benvolguts senyors, Carrer de la Riera",
        text_status=TextStatus.DONE,
    )
    db.session.commit()
    row = db.session.scalars(select(CaseDocument)).one()
    assert row.id == document.id
    assert row.content_type == "application/pdf"
    assert row.size == len(PDF)
    assert row.sha256 == hashlib.sha256(PDF).hexdigest()
    assert row.letter_kind == "company_letter" and row.language == "ca"
    assert row.text_status == TextStatus.DONE
    assert "carrer de la riera" in row.search_text
    assert row.original_name == "Carta a l'empresa.pdf"
    assert stored_path(row).read_bytes() == PDF
    assert stored_path(row).parent == upload_dir.resolve()
    assert "empresa" not in row.stored_name


def test_refuses_what_is_not_a_pdf_jpeg_or_png(case, upload_dir):
    with pytest.raises(DocumentRejected) as refused:
        store_bytes(
            case,
            b"<html>hola</html>",
            name="x.pdf",
            source="company",
            category="altres",
            now=clock.now(),
        )
    assert refused.value.reason == "type"
    with pytest.raises(DocumentRejected) as empty:
        store_bytes(case, b"", name="x.pdf", source="company", category="altres", now=clock.now())
    assert empty.value.reason == "empty"
    assert not list(upload_dir.glob("*")) if upload_dir.exists() else True


def test_refuses_a_file_over_the_limit(app, case, upload_dir):
    app.config["UPLOAD_MAX_BYTES"] = 100
    with pytest.raises(DocumentRejected) as refused:
        store_bytes(
            case,
            PNG + b"\0" * 200,
            name="a.png",
            source="company",
            category="altres",
            now=clock.now(),
        )
    assert refused.value.reason == "too_large"
    assert not [p for p in upload_dir.iterdir()]


def test_file_removed_when_the_row_is_refused(case, upload_dir):
    with pytest.raises(IntegrityError):
        store_bytes(case, PNG, name="a.png", source="nobody", category="altres", now=clock.now())
    db.session.rollback()
    assert not [p for p in upload_dir.iterdir()]
    assert db.session.scalars(select(CaseDocument)).all() == []


def test_refuses_columns_it_decides(case):
    with pytest.raises(TypeError):
        store_bytes(
            case,
            PNG,
            name="a.png",
            source="company",
            category="altres",
            now=clock.now(),
            sha256="0" * 64,
        )
