"""Safe previews of a case's documents: always a PNG the server drew, never the file itself.

A PDF in the browser runs the browser's PDF reader on whatever the citizen or the company sent
(scripts, forms, links); an image straight from the upload keeps its metadata (GPS position,
camera) and whatever else is hidden in it. So staff see a picture: the PDF's page drawn by
pdfium on the server, or the image decoded by Pillow and encoded again as a new PNG (only the
pixels survive). Sizes are capped (``MAX_SIDE`` pixels, ``MAX_PAGES`` pages, decompression
bombs refused before decoding, see ``extract.open_image``); anything that cannot be drawn
raises :class:`PreviewUnavailable` and the page shows a message instead.

The route (``umic.workspace.documents``) serves it with headers that keep it an image:
``Content-Type: image/png``, ``nosniff``, a sandboxing Content-Security-Policy, no cache.
"""

from __future__ import annotations

import io

from .extract import ReadError
from .extract import open_image
from .extract import render_pdf_pages

#: Longest side of a preview, in pixels; pages of a PDF offered.
MAX_SIDE = 1200
MAX_PAGES = 10
DPI = 110

PREVIEW_HEADERS = {
    "Content-Type": "image/png",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
    "Content-Disposition": "inline",
}


class PreviewUnavailable(Exception):
    """The document cannot be drawn (damaged, too large, not a page that exists)."""


def _png(image) -> bytes:
    """A brand-new PNG holding only ``image``'s pixels, no larger than MAX_SIDE."""
    from PIL import Image

    if image.mode not in ("L", "RGB"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        if image.mode == "RGBA":  # transparency on white, as on paper
            background = Image.new("RGB", image.size, "white")
            background.paste(image, mask=image.getchannel("A"))
            image = background
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    fresh = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    fresh.save(out, format="PNG", optimize=False)
    return out.getvalue()


def page_count(data: bytes, content_type: str) -> int:
    """How many pages a preview can show (1 for an image; at most MAX_PAGES)."""
    if content_type != "application/pdf":
        return 1
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except Exception as error:
        raise PreviewUnavailable(str(error)) from error
    try:
        return max(0, min(len(pdf), MAX_PAGES))
    finally:
        pdf.close()


def render(data: bytes, content_type: str, page: int = 1) -> bytes:
    """Page ``page`` (from 1) of a PDF, or the image, as PNG bytes. Raises PreviewUnavailable."""
    if page < 1 or page > MAX_PAGES:
        raise PreviewUnavailable("no such page")
    try:
        if content_type == "application/pdf":
            if page > page_count(data, content_type):
                raise PreviewUnavailable("no such page")
            images = render_pdf_pages(data, pages=page, dpi=DPI, start=page - 1)
            image = None
            for image in images:  # noqa: B007 - the last one is the page asked for
                pass
            if image is None:
                raise PreviewUnavailable("no pages")
            return _png(image)
        if content_type in ("image/jpeg", "image/png"):
            if page != 1:
                raise PreviewUnavailable("no such page")
            return _png(open_image(data))
    except ReadError as error:
        raise PreviewUnavailable(str(error)) from error
    except PreviewUnavailable:
        raise
    except Exception as error:  # Pillow and pdfium raise many kinds on damaged input
        raise PreviewUnavailable(str(error)) from error
    raise PreviewUnavailable(f"unexpected content type {content_type!r}")
