"""A case as one file: the PDF dossier and the ZIP, for consumer arbitration or the archive.

**The PDF** (:func:`dossier_pdf`) is, in this order:

1. a cover with the case's data (number, type, status, town, interested person, company, the
   mediation if there is one, dates) and an index: the history's page and every document with
   the page of the dossier where it starts;
2. the history: every entry in order, with who and when (Europe/Madrid), written as the case
   page writes it (:func:`event_text`, with the helpers of ``display.py``);
3. every document in the order of the case page (uploaded_at, id): a PDF page by page, an
   image (JPEG, PNG) as an A4 page scaled to fit. Each of these pages is *stamped* with a thin
   line at its top edge naming the document ("Document 2 de 5 · factura.pdf · pàgina 1 de 3 ·
   p. 7 del dossier"), so a printed page is never separated from its name; no separator pages
   are added, so the dossier has exactly front + the documents' pages (an image: one page).

A PDF that cannot be read (damaged, encrypted with a password, missing on disk, an image
Pillow cannot open) is replaced by one page that names it and says why: the dossier is always
made. Encrypted PDFs with only an owner password (an empty user password: they open without
asking in any viewer) are included.

**Page numbers in the index.** The front matter is drawn once with the documents' page counts
known, its pages counted, and drawn again with the real numbers (and again if that changed its
length, which a long index can do). The history's own page comes from WeasyPrint
(``target-counter``). Drawing is WeasyPrint with the letters' rule (``umic.letters.render``:
every URL refused, nothing fetched), as plain PDF: see :func:`_html_to_pdf`.

**Memory.** A dossier is built in memory (pypdf writes one file). The documents' total size
is capped (``DOSSIER_MAX_BYTES``, 100 MB by default: a document is held about twice, read
and checked): over it :class:`DossierTooLarge` is
raised with a message for the technician, who can export the ZIP instead (it is written to a
temporary file, not held in memory, and has no cap beyond the uploads' own).

**The ZIP** (:func:`dossier_zip`): ``expedient.pdf`` (cover, index and history, without the
documents), ``historial.csv`` (UTF-8 with BOM, cells made formula-safe by
``umic.core.spreadsheet``), ``index.csv`` (every document: its file in the ZIP, name,
category, who, when, type, size, SHA-256) and ``documents/NN_<name>`` with the original bytes.
Names in the ZIP are ours: the original name cleaned (no folders, no ``..``, no control
characters, at most 100 characters), numbered, unique.

Anonymised cases export what remains: the personal data were erased from the rows, so they
are not in the dossier either.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import IO

from flask import current_app
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..core import codes
from ..core.spreadsheet import csv_text
from ..extensions import db
from ..models import CaseDocument
from ..models import CaseEvent
from ..models import CaseFile
from . import labels
from .display import history_value
from .display import moment_text
from .display import money_text
from .display import numeric_day
from .documents import case_documents
from .documents import size_text
from .documents import stored_path
from .sectors import sector_name

log = logging.getLogger(__name__)

#: The documents' total size above which no PDF dossier is made (the ZIP still is).
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
#: A4 in PDF points.
A4 = (595.28, 841.89)
#: Room at the top of an image page for its stamp, and the margin around the image.
IMAGE_TOP = 40.0
IMAGE_MARGIN = 28.0
#: An image is never enlarged more than this (a small photo stays sharp enough to read).
IMAGE_MAX_SCALE = 2.0
NAME_MAX = 100
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|]')


class DossierTooLarge(ValueError):
    """The documents are too large for one PDF."""

    def __init__(self, total: int, limit: int):
        super().__init__(f"documents total {total} bytes, limit {limit}")
        self.total = total
        self.limit = limit

    def message(self, locale: str = "ca") -> str:
        return _(
            "Els documents d'aquest expedient sumen %(total)s, més del màxim d'un dossier PDF "
            "(%(limit)s). Descarregueu-ne el ZIP, que els conté tots.",
            total=size_text(self.total, locale),
            limit=size_text(self.limit, locale),
        )


# --- Words ------------------------------------------------------------------------------------


def _label(kind: type[codes.Vocabulary], code: str | None) -> str:
    """A code's label in the current language; the code itself if unknown; "" for none."""
    if not code:
        return ""
    for member in kind:
        if member.value == code:
            return _(member.label)
    return code


def who_text(event: CaseEvent) -> str:
    """Who wrote a history entry, as the case page says it."""
    if event.kind == "imported":
        return _("importació")
    return event.actor.username if event.actor else _("la persona interessada o el sistema")


def event_text(event: CaseEvent, case: CaseFile) -> str:
    """A history entry as the case page writes it (plain text)."""
    if event.kind == "created":
        return _("Expedient creat") + (f". {event.note}" if event.note else "")
    if event.kind == "imported":
        text = _("Expedient importat de l'eina de seguiment anterior")
        if case.tracker_id:
            text += " (" + _("ID %(id)s", id=case.tracker_id) + ")"
        return (
            f"{text}. {labels.FIELDS.get('requested_at', 'requested_at')}: "
            f"{history_value('requested_at', event.old_value)}. {_('Data actualització')}: "
            f"{history_value('updated_at', event.new_value)}."
        )
    if event.kind == "change":
        name = str(labels.FIELDS.get(event.field, event.field))
        return (
            f"{name}: {history_value(event.field, event.old_value)} → "
            f"{history_value(event.field, event.new_value)}"
        )
    return event.note


def case_events(case_id: int) -> list[CaseEvent]:
    """The case's history in order, with who wrote each entry (one query)."""
    return list(
        db.session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id)
            .options(joinedload(CaseEvent.actor))
            .order_by(CaseEvent.at, CaseEvent.id)
        )
    )


def _summary(case: CaseFile, language: str) -> list[tuple[str, str]]:
    """The cover's rows: (label, value), only those with a value."""
    rows = [
        (_("Número d'expedient"), case.number),
        (_("Tipus"), str(labels.CASE_TYPES.get(case.case_type, case.case_type))),
        (_("Canal"), str(labels.CHANNELS.get(case.channel, case.channel))),
        (_("Estat"), str(labels.CASE_STATUSES.get(case.status, case.status))),
        (_("Municipi"), case.municipality.name if case.municipality else ""),
        (_("Nom interessat"), case.interested_name),
        (_("Empresa"), case.company_entry.name if case.company_entry else case.company),
        (_("Sector"), sector_name(case.sector, language) if case.sector else ""),
        (_("Import reclamat"), money_text(case.amount_claimed) if case.amount_claimed else ""),
        (_("Resultat"), str(labels.OUTCOMES.get(case.outcome, "")) if case.outcome else ""),
        (
            _("Import recuperat"),
            money_text(case.amount_recovered) if case.amount_recovered else "",
        ),
        (_("Data petició"), moment_text(case.requested_at)),
        (_("Data actualització"), moment_text(case.updated_at)),
        (_("Data de resolució"), moment_text(case.resolved_at) if case.resolved_at else ""),
        (str(labels.FIELDS["assigned_to_id"]), case.assigned_to.name if case.assigned_to else ""),
    ]
    if case.anonymised_at is not None:
        rows.append((_("Anonimitzat el"), moment_text(case.anonymised_at)))
    return [(label, value) for label, value in rows if value]


def _mediation_rows(case: CaseFile) -> list[tuple[str, str]]:
    mediation = case.mediation
    if mediation is None:
        return []
    rows = [
        (_("Estat de la mediació"), _label(codes.MediationStatus, mediation.status)),
        (_("Empresa"), mediation.company.name if mediation.company else ""),
        (_("Oberta el"), moment_text(mediation.opened_at) if mediation.opened_at else ""),
        (
            _("Termini de resposta"),
            numeric_day(mediation.answer_due) if mediation.answer_due else "",
        ),
        (_("Resposta de l'empresa"), _label(codes.CompanyAnswer, mediation.answer)),
        (_("Respost el"), moment_text(mediation.answered_at) if mediation.answered_at else ""),
        (
            _("Import proposat"),
            money_text(mediation.proposed_amount) if mediation.proposed_amount else "",
        ),
        (_("Resultat de la mediació"), _label(codes.MediationOutcome, mediation.outcome)),
        (
            _("Import reclamat"),
            money_text(mediation.amount_claimed) if mediation.amount_claimed else "",
        ),
        (
            _("Import recuperat"),
            money_text(mediation.amount_recovered) if mediation.amount_recovered else "",
        ),
        (_("Derivació"), _label(codes.Referral, mediation.referral)),
        (_("Tancada el"), moment_text(mediation.closed_at) if mediation.closed_at else ""),
    ]
    return [(label, value) for label, value in rows if value]


def _who_added(document: CaseDocument) -> str:
    if document.source == "citizen":
        return _("Persona interessada")
    if document.source == "company":
        return _("Empresa")
    if document.source == "service":
        return _("Servei")
    return document.uploaded_by.username if document.uploaded_by else _("Personal")


# --- Reading the documents ----------------------------------------------------------------------


@dataclass
class _Part:
    """One document as it goes into the dossier: its pages, or why it could not."""

    document: CaseDocument
    pages: list = field(default_factory=list)  # pypdf PageObjects
    problem: str = ""
    start: int = 0  # 1-based page of the dossier

    @property
    def count(self) -> int:
        return len(self.pages) if not self.problem else 1


def _read_pdf(data: bytes):
    """The document's pages re-written by pypdf (so a damage shows here, not while the dossier
    is written), or a reason why not."""
    from pypdf import PdfReader
    from pypdf import PdfWriter

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception:  # noqa: BLE001 - an unknown or broken encryption
                opened = 0
            if not opened:
                return None, _("el PDF està protegit amb contrasenya")
        if len(reader.pages) == 0:
            return None, _("el PDF no té cap pàgina")
        writer = PdfWriter()
        for page in reader.pages:
            writer.add_page(page)
        for page in writer.pages:
            page.transfer_rotation_to_content()
        out = io.BytesIO()
        writer.write(out)
        clean = PdfReader(io.BytesIO(out.getvalue()))
        pages = list(clean.pages)
        for page in pages:
            float(page.mediabox.width)  # a page without a size fails here
        return pages, ""
    except Exception as error:  # noqa: BLE001 - any damage: the placeholder says so
        log.info("dossier: PDF not readable: %s", error)
        return None, _("el PDF està malmès o no es pot llegir")


def _read_image(data: bytes):
    """An image as one A4 page (scaled to fit, never past IMAGE_MAX_SCALE), or why not."""
    from PIL import Image
    from PIL import ImageOps
    from pypdf import PageObject
    from pypdf import PdfReader
    from pypdf import Transformation

    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened)
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                background = Image.new("RGB", image.size, "white")
                background.paste(image, mask=image.getchannel("A"))
                image = background
            elif image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            buffer = io.BytesIO()
            image.save(buffer, "PDF", resolution=72.0)
        source = PdfReader(io.BytesIO(buffer.getvalue())).pages[0]
        width, height = float(source.mediabox.width), float(source.mediabox.height)
        room_w = A4[0] - 2 * IMAGE_MARGIN
        room_h = A4[1] - IMAGE_TOP - IMAGE_MARGIN
        scale = min(room_w / width, room_h / height, IMAGE_MAX_SCALE)
        x = (A4[0] - width * scale) / 2
        y = A4[1] - IMAGE_TOP - height * scale
        page = PageObject.create_blank_page(width=A4[0], height=A4[1])
        page.merge_transformed_page(source, Transformation().scale(scale).translate(x, y))
        return [page], ""
    except Exception as error:  # noqa: BLE001 - a broken image: the placeholder says so
        log.info("dossier: image not readable: %s", error)
        return None, _("la imatge està malmesa o no es pot llegir")


def _read(document: CaseDocument) -> _Part:
    part = _Part(document)
    try:
        data = stored_path(document).read_bytes()
    except (OSError, ValueError):
        part.problem = _("el fitxer no es troba al servidor")
        return part
    if document.content_type == "application/pdf":
        pages, part.problem = _read_pdf(data)
    elif document.content_type in ("image/jpeg", "image/png"):
        pages, part.problem = _read_image(data)
    else:
        pages, part.problem = None, _("aquest tipus de fitxer no es pot incloure")
    part.pages = pages or []
    return part


# --- Drawing ----------------------------------------------------------------------------------


class FetchRefused(ValueError):
    """The dossier's HTML asked WeasyPrint for a URL: nothing is fetched."""


def _refuse_urls(url: str, *args, **kwargs):
    raise FetchRefused(f"the dossier fetches nothing: {url[:80]!r}")


def _html_to_pdf(html: str, language: str) -> bytes:
    """Draw with the letters' engine and rule (WeasyPrint, every URL refused, see
    ``umic.letters.render``), as plain PDF: the dossier appends other people's PDFs, so it
    cannot be PDF/A whatever its front is, and the PDF/A output intent would only cost time."""
    import weasyprint

    document = weasyprint.HTML(string=html, url_fetcher=_refuse_urls, base_url=None)
    return document.write_pdf(uncompressed_pdf=False)


def _page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def _front_html(case, events, parts, *, language, now, with_documents=True) -> str:
    return render_template(
        "pdf/dossier.html",
        case=case,
        summary=_summary(case, language),
        mediation_rows=_mediation_rows(case),
        events=[(moment_text(e.at), who_text(e), event_text(e, case)) for e in events],
        parts=parts if with_documents else [],
        with_documents=with_documents,
        made_at=moment_text(now),
        language=language,
        category=lambda code: str(labels.DOCUMENT_CATEGORIES.get(code, code)),
        who_added=_who_added,
        moment_text=moment_text,
    )


def _stamp_text(part: _Part, index: int, total: int, page: int) -> str:
    return _(
        "Document %(n)s de %(total)s · %(name)s · pàgina %(page)s de %(pages)s · "
        "p. %(dossier)s del dossier",
        n=index,
        total=total,
        name=part.document.original_name,
        page=page,
        pages=part.count,
        dossier=part.start + page - 1,
    )


def _overlays_html(case: CaseFile, parts: list[_Part], language: str) -> str:
    """One page per document page: a stamp the size of that page (transparent but for its
    line), or for a document that could not be included, an A4 page saying why."""
    sizes: dict[tuple[float, float], str] = {}
    pages = []
    total = len(parts)
    for index, part in enumerate(parts, start=1):
        if part.problem:
            pages.append(
                (
                    "a4",
                    "placeholder",
                    _stamp_text(part, index, total, 1),
                    _(
                        "El document «%(name)s» no s'ha pogut incloure en aquest dossier: "
                        "%(reason)s. En podeu descarregar l'original des de l'expedient o "
                        "dins del ZIP.",
                        name=part.document.original_name,
                        reason=part.problem,
                    ),
                )
            )
            continue
        for number, page in enumerate(part.pages, start=1):
            size = (round(float(page.mediabox.width), 2), round(float(page.mediabox.height), 2))
            name = sizes.setdefault(size, f"s{len(sizes)}")
            pages.append((name, "stamp", _stamp_text(part, index, total, number), ""))
    css = [
        "@page a4 { size: A4; margin: 25mm; }",
        'html { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; }',
        "body { margin: 0; }",
        ".page { break-after: page; }",
        ".page:last-child { break-after: auto; }",
        ".stamp { margin: 0; padding: 0; font-size: 7pt; line-height: 1.2; }",
        ".stamp span { background: #fff; color: #000; padding: 1.5pt 4pt; }",
        ".placeholder .line { font-size: 8pt; border-bottom: 0.6pt solid #999; "
        "padding-bottom: 2mm; margin-bottom: 10mm; }",
        ".placeholder h1 { font-size: 14pt; }",
    ]
    for (width, height), name in sizes.items():
        css.append(f"@page {name} {{ size: {width}pt {height}pt; margin: 3pt 6pt 0 6pt; }}")
    heading = _("Document no inclòs")
    body = []
    for name, kind, line, text in pages:
        if kind == "stamp":
            body.append(
                f'<div class="page stamp" style="page: {name}"><span>{escape(line)}</span></div>'
            )
        else:
            body.append(
                f'<div class="page placeholder" style="page: a4"><p class="line">'
                f"{escape(line)}</p><h1>{escape(heading)}</h1>"
                f"<p>{escape(text)}</p></div>"
            )
    title = _("Dossier de l'expedient %(number)s", number=case.number)
    return (
        f'<!DOCTYPE html><html lang="{escape(language)}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{''.join(css)}</style></head><body>{''.join(body)}</body></html>"
    )


def _check_size(documents: list[CaseDocument], max_bytes: int | None) -> None:
    limit = max_bytes or current_app.config.get("DOSSIER_MAX_BYTES") or DEFAULT_MAX_BYTES
    total = sum(document.size or 0 for document in documents)
    if total > limit:
        raise DossierTooLarge(total, limit)


def dossier_pdf(
    case: CaseFile, *, language: str, now: datetime, max_bytes: int | None = None
) -> bytes:
    """The whole case as one PDF (see the module). Raises DossierTooLarge."""
    from pypdf import PdfReader
    from pypdf import PdfWriter
    from pypdf import Transformation

    documents = case_documents(case.id)
    _check_size(documents, max_bytes)
    events = case_events(case.id)
    with force_locale(language):
        parts = [_read(document) for document in documents]
        front = b""
        front_pages = 0
        for _attempt in range(4):
            start = front_pages + 1
            for part in parts:
                part.start = start
                start += part.count
            front = _html_to_pdf(
                _front_html(case, events, parts, language=language, now=now), language
            )
            counted = _page_count(front)
            if counted == front_pages:
                break
            front_pages = counted
        overlays = []
        if parts:
            drawn = _html_to_pdf(_overlays_html(case, parts, language), language)
            overlays = list(PdfReader(io.BytesIO(drawn)).pages)
        writer = PdfWriter()
        writer.append(PdfReader(io.BytesIO(front)))
        overlay = iter(overlays)
        for index, part in enumerate(parts, start=1):
            first = len(writer.pages)
            if part.problem:
                writer.add_page(next(overlay))
            else:
                for page in part.pages:
                    stamp = next(overlay)
                    added = writer.add_page(page)
                    left, bottom = float(added.mediabox.left), float(added.mediabox.bottom)
                    if left or bottom:
                        added.merge_transformed_page(
                            stamp, Transformation().translate(left, bottom)
                        )
                    else:
                        added.merge_page(stamp)
            title = f"{index}. {part.document.original_name}"
            writer.add_outline_item(title=title, page_number=first)
        writer.add_metadata(
            {
                "/Title": _("Dossier de l'expedient %(number)s", number=case.number),
                "/Producer": "UMIC",
            }
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- ZIP --------------------------------------------------------------------------------------


def safe_name(name: str | None, fallback: str = "document") -> str:
    """A file name for inside the ZIP: no folders, no control or reserved characters, no
    leading dots, at most NAME_MAX characters (the extension kept)."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE.sub("_", text).strip().lstrip(".").strip()
    if not text:
        text = fallback
    if len(text) > NAME_MAX:
        stem, dot, extension = text.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            text = stem[: NAME_MAX - len(extension) - 1] + "." + extension
        else:
            text = text[:NAME_MAX]
    return text


def zip_names(documents: list[CaseDocument]) -> list[str]:
    """``documents/NN_<name>`` for each document, numbered in order and unique."""
    width = max(2, len(str(len(documents))))
    names, seen = [], set()
    for number, document in enumerate(documents, start=1):
        name = f"documents/{number:0{width}d}_{safe_name(document.original_name)}"
        while name.lower() in seen:  # cannot happen with the numbers; kept for safety
            name = name + "_"
        seen.add(name.lower())
        names.append(name)
    return names


def history_csv(case: CaseFile, events: list[CaseEvent]) -> str:
    """The history as a spreadsheet: when (Madrid), who, kind, field, old, new, the entry."""
    return csv_text(
        [_("Data"), _("Qui"), _("Tipus"), _("Camp"), _("Abans"), _("Després"), _("Entrada")],
        (
            [
                moment_text(event.at),
                who_text(event),
                event.kind,
                event.field,
                event.old_value,
                event.new_value,
                event_text(event, case),
            ]
            for event in events
        ),
    )


def dossier_zip(case: CaseFile, *, language: str, now: datetime) -> IO[bytes]:
    """The ZIP (see the module) in a temporary file, positioned at its start; the caller
    closes it. Documents missing on disk are listed in index.csv as missing."""
    documents = case_documents(case.id)
    events = case_events(case.id)
    names = zip_names(documents)
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned
    with force_locale(language):
        expedient = _html_to_pdf(
            _front_html(case, events, [], language=language, now=now, with_documents=False),
            language,
        )
        rows = []
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            stamp = now.astimezone(_tz()).timetuple()[:6]

            def add(name: str, data: bytes | str) -> None:
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)

            add("expedient.pdf", expedient)
            add("historial.csv", history_csv(case, events))
            for name, document in zip(names, documents, strict=True):
                try:
                    path = stored_path(document)
                    digest = hashlib.sha256()
                    info = zipfile.ZipInfo(name, date_time=stamp)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    with path.open("rb") as source, archive.open(info, "w") as target:
                        while chunk := source.read(64 * 1024):
                            digest.update(chunk)
                            target.write(chunk)
                    sha256, included = digest.hexdigest(), name
                except (OSError, ValueError):
                    sha256, included = document.sha256, ""
                rows.append(
                    [
                        included or _("(no trobat al servidor)"),
                        document.original_name,
                        str(labels.DOCUMENT_CATEGORIES.get(document.category, document.category)),
                        _who_added(document),
                        moment_text(document.uploaded_at),
                        document.content_type,
                        document.size,
                        sha256,
                    ]
                )
            add(
                "index.csv",
                csv_text(
                    [
                        _("Fitxer"),
                        _("Nom original"),
                        _("Categoria"),
                        _("Afegit per"),
                        _("Data"),
                        _("Tipus"),
                        _("Mida (bytes)"),
                        "SHA-256",
                    ],
                    rows,
                ),
            )
    out.seek(0)
    return out


def _tz():
    from ..web.i18n import service_tz

    return service_tz()
