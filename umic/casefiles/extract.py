"""Reading a document's text: the PDF's own text, or OCR of a scan or a photo; then a
suggested category (umic.core.doc_classify) and the case list's search text.

The worker (:func:`extract_pending`, in ``umic.jobs.PERIODIC``) reads documents still
*pending*, oldest first, each in its own transaction. Nothing here may stop the worker: a
damaged file, a decompression bomb or a missing OCR engine leave the document *failed*, with
the reason in the log, and the next document is read.

Limits, so that one file cannot hold the worker: at most ``MAX_PAGES`` pages (text or OCR),
pages drawn at ``OCR_DPI`` and never larger than ``MAX_SIDE`` pixels, ``OCR_TIMEOUT`` seconds
per page and ``DOCUMENT_SECONDS`` per document, images of at most ``MAX_PIXELS`` pixels (Pillow
refuses larger ones before decoding them), and ``MAX_TEXT`` characters kept.

The category chosen at upload stays: staff confirm or change it on the case page, where the
suggestion is shown when it differs or was never confirmed.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import warnings
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy import update

from .. import clock
from ..core.codes import TextStatus
from ..core.doc_classify import suggest
from ..core.text import clean
from ..extensions import db
from ..models import CaseDocument
from .documents import document_search_text
from .documents import stored_path

log = logging.getLogger(__name__)

MAX_PAGES = 10
OCR_DPI = 200
MAX_SIDE = 2500
OCR_TIMEOUT = 20  # seconds per page
DOCUMENT_SECONDS = 90
MAX_PIXELS = 40_000_000
MAX_TEXT = 100_000
#: Fewer letters and digits than this in a PDF's own text: it is a scan, read it by OCR.
MIN_PDF_CHARS = 30
OCR_LANGUAGES = "cat+spa"
BATCH = 20


class ReadError(Exception):
    """The document could not be read; the message is logged."""


@dataclass(frozen=True)
class Reading:
    text: str
    method: str  # pdf | ocr


def _meaningful(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def _ocr(image, deadline: float) -> str:
    """Tesseract on one Pillow image (grey, upright, not too large)."""
    try:
        import pytesseract
    except ImportError as error:  # pragma: no cover - installed with the app
        raise ReadError("pytesseract is not installed") from error
    remaining = deadline - time.monotonic()
    if remaining <= 1:
        raise ReadError("time limit reached")
    try:
        return pytesseract.image_to_string(
            image, lang=OCR_LANGUAGES, timeout=min(OCR_TIMEOUT, remaining)
        )
    except pytesseract.TesseractNotFoundError as error:
        raise ReadError("tesseract is not installed") from error
    except (pytesseract.TesseractError, RuntimeError, OSError) as error:
        raise ReadError(f"tesseract failed: {error}") from error


def _fit(image):
    """Grey and no larger than MAX_SIDE on either side."""
    image = image.convert("L")
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    return image


def open_image(data: bytes):
    """A Pillow image, upright (EXIF orientation), refusing decompression bombs."""
    from PIL import Image
    from PIL import ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            previous = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = MAX_PIXELS
            try:
                image = Image.open(io.BytesIO(data))
                if image.width * image.height > MAX_PIXELS:
                    raise ReadError("image too large")
                image.load()
            finally:
                Image.MAX_IMAGE_PIXELS = previous
        return ImageOps.exif_transpose(image)
    except ReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ReadError(f"decompression bomb: {error}") from error
    except Exception as error:  # Pillow raises many kinds on damaged files
        raise ReadError(f"damaged image: {error}") from error


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    parts = []
    for page in reader.pages[:MAX_PAGES]:
        parts.append(page.extract_text() or "")
        if sum(map(len, parts)) > MAX_TEXT:
            break
    return "\n".join(parts)


def render_pdf_pages(data: bytes, *, pages: int = MAX_PAGES, dpi: int = OCR_DPI, start: int = 0):
    """Pages ``start`` (from 0) to ``pages`` - 1 of a PDF as Pillow images (pypdfium2), each at most
    MAX_SIDE pixels on its longer side. Raises ReadError on a damaged PDF."""
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except Exception as error:
        raise ReadError(f"damaged PDF: {error}") from error
    try:
        for index in range(start, min(len(pdf), pages)):
            page = pdf[index]
            try:
                width, height = page.get_size()  # points
                scale = min(dpi / 72, MAX_SIDE / max(width, height, 1))
                yield page.render(scale=scale, grayscale=True).to_pil()
            finally:
                page.close()
    except ReadError:
        raise
    except Exception as error:
        raise ReadError(f"damaged PDF: {error}") from error
    finally:
        pdf.close()


def read_bytes(data: bytes, content_type: str) -> Reading:
    """The text of a PDF, JPEG or PNG file. Raises ReadError."""
    deadline = time.monotonic() + DOCUMENT_SECONDS
    if content_type == "application/pdf":
        try:
            text = _pdf_text(data)
        except Exception as error:  # pypdf: many kinds on damaged files
            log.info("pypdf could not read the text (%s); trying OCR", error)
            text = ""
        if _meaningful(text) >= MIN_PDF_CHARS:
            return Reading(text, "pdf")
        parts = []
        for image in render_pdf_pages(data):
            parts.append(_ocr(_fit(image), deadline))
        return Reading("\n".join(parts), "ocr")
    if content_type in ("image/jpeg", "image/png"):
        return Reading(_ocr(_fit(open_image(data)), deadline), "ocr")
    raise ReadError(f"unexpected content type {content_type!r}")


def _clean_text(text: str) -> str:
    text = clean(text[: MAX_TEXT * 2], multiline=True)
    return text[:MAX_TEXT]


def read_document(document: CaseDocument, *, now: datetime) -> None:
    """Read ``document``'s text and set text, text_method, text_status, extracted_at,
    suggested_category and search_text. Never raises for a bad file (the caller commits)."""
    try:
        data = stored_path(document).read_bytes()
        reading = read_bytes(data, document.content_type)
    except (ReadError, OSError, ValueError) as error:
        log.warning("document %s could not be read: %s", document.id, error)
        document.text = ""
        document.text_method = ""
        document.text_status = TextStatus.FAILED
    else:
        document.text = _clean_text(reading.text)
        document.text_method = reading.method
        document.text_status = TextStatus.DONE if _meaningful(document.text) else TextStatus.EMPTY
    document.extracted_at = now
    document.suggested_category = (
        suggest(document.text, document.original_name).category if document.text else ""
    )
    document.search_text = document_search_text(document.original_name, document.text)


def extract_pending(now: datetime | None = None, *, batch: int = BATCH) -> int:
    """Read up to ``batch`` pending documents, oldest first, each committed on its own.

    Several workers at once: each writes its result with a conditional UPDATE (only while the
    document is still pending), so a document read twice is written once.
    """
    now = now or clock.now()
    ids = list(
        db.session.scalars(
            select(CaseDocument.id)
            .where(CaseDocument.text_status == TextStatus.PENDING)
            .order_by(CaseDocument.uploaded_at, CaseDocument.id)
            .limit(batch)
        )
    )
    db.session.rollback()
    done = 0
    for document_id in ids:
        document = db.session.get(CaseDocument, document_id)
        if document is None or document.text_status != TextStatus.PENDING:
            db.session.rollback()
            continue
        try:
            read_document(document, now=now)
            values = {
                "text": document.text,
                "text_method": document.text_method,
                "text_status": document.text_status,
                "extracted_at": document.extracted_at,
                "suggested_category": document.suggested_category,
                "search_text": document.search_text,
            }
            db.session.expunge(document)
            result = db.session.execute(
                update(CaseDocument)
                .where(
                    CaseDocument.id == document_id,
                    CaseDocument.text_status == TextStatus.PENDING,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
            done += result.rowcount
        except Exception:
            db.session.rollback()
            log.exception("reading document %s failed", document_id)
            with contextlib.suppress(Exception):
                _mark_failed(document_id, now)
    return done


def _mark_failed(document_id: int, now: datetime) -> None:
    db.session.execute(
        update(CaseDocument)
        .where(CaseDocument.id == document_id, CaseDocument.text_status == TextStatus.PENDING)
        .values(text_status=TextStatus.FAILED, extracted_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
