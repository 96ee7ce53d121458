"""Documents of a case file: storage, checks on content, and asking the citizen for them.

Storage. Files live on disk outside ``static/``, in ``UPLOAD_FOLDER`` (default
``<instance>/uploads``), under a random name (160 bits, no part of it chosen by the user).
An upload is read in chunks into a temporary file in that folder, hashed (SHA-256) on the
way, refused as soon as it passes ``UPLOAD_MAX_BYTES``, and renamed into place only once it
is complete; if the database then refuses the row, the file is deleted again.

Checks. Only PDF, JPEG and PNG are accepted, and what counts is the file's first bytes, never
its name or the type the browser declares: a PNG called ``factura.pdf`` is stored as
``image/png``, an HTML page or a program called ``factura.pdf`` is refused.

Asking the citizen. When a case's status becomes *Documentació requerida* with a deadline
(``service.update_case`` calls :func:`request_documents`), the interested person gets an
e-mail with a personal upload link that works until the end of the deadline day (Madrid
time); the mail worker sends one reminder per deadline (:func:`queue_document_reminders`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm import joinedload

from .. import clock
from ..core import dates
from ..core import ics
from ..core.text import fold
from ..extensions import commit_keeping_loaded
from ..extensions import db
from ..mail.compose import enqueue
from ..models import AccessToken
from ..models import CaseDocument
from ..models import CaseEvent
from ..models import CaseFile
from ..models import CaseStatus
from ..models import StaffUser
from ..models import TokenPurpose
from ..web.access import find_token
from ..web.access import issue_status_token
from ..web.access import issue_token
from ..web.i18n import link_language
from ..web.i18n import locale_name
from ..web.urls import external_url
from .labels import DOCUMENT_CATEGORIES

log = logging.getLogger(__name__)

# --- Pure helpers: what a file is, what it may be called -------------------------------------

#: The accepted types and the bytes every file of that type starts with.
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
#: The extension a stored file gets, from its real type.
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
#: Extensions people give files of each type (a download keeps the name when it has one).
KNOWN_EXTENSIONS = {
    "application/pdf": {".pdf"},
    "image/jpeg": {".jpg", ".jpeg", ".jpe", ".jfif"},
    "image/png": {".png"},
}
#: What a file input may suggest to the browser's picker (it checks nothing).
ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"
SNIFF_BYTES = max(len(signature) for signature, _type in SIGNATURES)
CHUNK_BYTES = 64 * 1024
NAME_MAX = 200  # CaseDocument.original_name
STORED_NAME_BYTES = 20  # 160 random bits

CITIZEN = "citizen"
STAFF = "staff"

# Path separators, characters Windows refuses in names, and control characters.
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|]')


def sniff(head: bytes) -> str | None:
    """The type of a file from its first bytes: a PDF, JPEG or PNG content type, or None."""
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def clean_filename(name: str | None, content_type: str) -> str:
    """The name to show for an uploaded file: no folders, no control or invisible characters.

    Accents stay ("factura_març.pdf"); characters that are unsafe in a file name become "_";
    Unicode format characters (such as the right-to-left override that makes "fdp.exe" read
    "exe.pdf") are removed. Long names are cut to 200 characters, keeping the extension.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]  # old browsers send "C:\Users\...\factura.pdf"
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    name = " ".join(_UNSAFE_NAME.sub("_", name).split())
    name = name.strip(" .")  # no hidden files, no trailing dots (Windows drops them)
    if not name:
        return "document" + EXTENSIONS.get(content_type, "")
    if len(name) > NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= 10:
            name = stem[: NAME_MAX - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:NAME_MAX].rstrip(" .")
    return name


def download_name(original_name: str, content_type: str) -> str:
    """The name a download gets: the original one, with the right extension if it lacks it.

    A PNG sent as "factura.pdf" downloads as "factura.pdf.png", so the computer opens it
    with a picture viewer instead of a PDF reader that cannot read it.
    """
    extension = os.path.splitext(original_name)[1].lower()
    if extension in KNOWN_EXTENSIONS.get(content_type, set()):
        return original_name
    return original_name + EXTENSIONS.get(content_type, "")


def size_text(size: int, locale: str = "ca") -> str:
    """'10 MB', '2,5 MB', '340 kB', '12 bytes': a size as people read it."""
    locale = str(locale).replace("-", "_")
    megabyte = 1024 * 1024
    if size >= megabyte:
        return f"{format_decimal(round(size / megabyte, 1), locale=locale)} MB"
    if size >= 1024:
        return f"{format_decimal(-(-size // 1024), locale=locale)} kB"
    return f"{size} bytes"


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first moment of a local calendar day, in UTC."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def deadline_end(deadline: date, tz: ZoneInfo) -> datetime:
    """When a deadline day is over: the next local midnight, in UTC."""
    return day_start(deadline + timedelta(days=1), tz)


class DocumentRejected(ValueError):
    """The upload cannot be accepted; ``message`` says how to put it right."""

    def __init__(self, reason: str, limit: int = 0):
        super().__init__(reason)
        self.reason = reason  # missing | empty | type | too_large | too_many
        self.limit = limit

    @property
    def message(self) -> str:
        """In the language of the current request."""
        if self.reason == "missing":
            return _("Trieu un fitxer")
        if self.reason == "empty":
            return _("El fitxer triat està buit")
        if self.reason == "type":
            return _("El fitxer ha de ser un PDF, JPG o PNG")
        if self.reason == "too_large":
            return _("El fitxer ha de pesar %(size)s o menys", size=max_size_text())
        return _(
            "Ja heu enviat %(count)s documents. Si n'heu d'enviar més, truqueu al %(phone)s.",
            count=self.limit,
            phone=current_app.config["HELP_PHONE"],
        )


# --- Where files live ---------------------------------------------------------------------------


def _locale() -> str:
    return locale_name()


def max_size_text() -> str:
    """The largest accepted file, e.g. '10 MB'."""
    return size_text(current_app.config["UPLOAD_MAX_BYTES"], _locale())


def upload_folder() -> Path:
    """UPLOAD_FOLDER (relative paths start at the instance folder), or ``<instance>/uploads``.

    Refuses a folder inside ``static/``, where anyone could fetch the files by name.
    """
    instance = Path(current_app.instance_path)
    configured = current_app.config.get("UPLOAD_FOLDER") or ""
    folder = Path(configured) if configured else instance / "uploads"
    if not folder.is_absolute():
        folder = instance / folder
    folder = folder.resolve()
    static = Path(current_app.static_folder or "").resolve()
    if folder == static or static in folder.parents:
        raise RuntimeError(f"UPLOAD_FOLDER ({folder}) must not be inside {static}")
    return folder


def stored_path(document: CaseDocument) -> Path:
    """Where a document's bytes are on disk."""
    name = document.stored_name
    if not name or Path(name).name != name or name.startswith("."):
        raise ValueError(f"unexpected stored name {name!r}")
    return upload_folder() / name


@dataclass(frozen=True)
class _Saved:
    path: Path
    content_type: str
    size: int
    sha256: str


def _save(stream: IO[bytes], folder: Path, limit: int) -> _Saved:
    """Copy ``stream`` into ``folder`` under a new random name, checking it on the way.

    Reads ``CHUNK_BYTES`` at a time and stops as soon as the file passes ``limit``; the type
    is decided by the first bytes. Whatever goes wrong, no partial file stays behind.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(AttributeError, OSError):
        stream.seek(0)  # from the start, even if something peeked at it
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    digest = hashlib.sha256()
    size = 0
    head = b""
    content_type = None
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(CHUNK_BYTES):
                size += len(chunk)
                if size > limit:
                    raise DocumentRejected("too_large")
                if content_type is None:
                    head = (head + chunk)[:SNIFF_BYTES]
                    if len(head) >= SNIFF_BYTES:
                        content_type = sniff(head)
                        if content_type is None:
                            raise DocumentRejected("type")
                digest.update(chunk)
                out.write(chunk)
            if size == 0:
                raise DocumentRejected("empty")
            content_type = content_type or sniff(head)
            if content_type is None:
                raise DocumentRejected("type")
            out.flush()
            os.fsync(out.fileno())
        final = folder / (secrets.token_hex(STORED_NAME_BYTES) + EXTENSIONS[content_type])
        os.replace(temporary, final)  # atomic: the file appears whole or not at all
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return _Saved(final, content_type, size, digest.hexdigest())


def precheck(upload) -> DocumentRejected | None:
    """What the first bytes alone tell (empty, wrong type), without storing anything.

    For a form refused for another reason (no category): all its errors show at once.
    """
    if upload is None or not getattr(upload, "filename", ""):
        return None
    stream = upload.stream
    try:
        position = stream.tell()
        head = stream.read(SNIFF_BYTES)
        stream.seek(position)
    except (AttributeError, OSError):
        return None
    if not head:
        return DocumentRejected("empty")
    return DocumentRejected("type") if sniff(head) is None else None


def _service_language():
    """History entries are written in the service's language, whoever caused them."""
    return force_locale(current_app.config["BABEL_DEFAULT_LOCALE"])


def citizen_upload_limit() -> int:
    """How many files the citizen may send to one case (a full disk helps nobody)."""
    return int(current_app.config.get("UPLOAD_MAX_CITIZEN_FILES", 30))


def add_document(
    case: CaseFile,
    upload,
    *,
    category: str,
    source: str,
    uploaded_by: StaffUser | None,
    now: datetime,
    commit: bool = True,
) -> CaseDocument:
    """Store an uploaded file (a Werkzeug ``FileStorage``) on ``case`` and COMMIT.

    ``commit=False`` (the mailbox: the case and its documents in one transaction) only
    flushes; the caller then commits, or rolls back and deletes the stored files.

    Raises DocumentRejected (nothing stored) when there is no file, it is empty, too large or
    not a PDF, JPEG or PNG. The file and its row are committed together: if the database
    refuses the row, the file is deleted and the error raised. The case row itself is not
    touched, so a citizen's upload never makes a technician's open edit stale.
    """
    if upload is None or not getattr(upload, "filename", ""):
        raise DocumentRejected("missing")
    if source == CITIZEN:
        count = db.session.scalar(
            select(func.count())
            .select_from(CaseDocument)
            .where(CaseDocument.case_id == case.id, CaseDocument.source == CITIZEN)
        )
        if count >= citizen_upload_limit():
            raise DocumentRejected("too_many", limit=citizen_upload_limit())
    saved = _save(upload.stream, upload_folder(), current_app.config["UPLOAD_MAX_BYTES"])
    try:
        document = _document_row(
            case, saved, upload.filename, source, category, uploaded_by=uploaded_by, now=now
        )
        db.session.add(document)
        with _service_language():
            label = str(DOCUMENT_CATEGORIES.get(category, category))
            if source == CITIZEN:
                note = _(
                    "La persona interessada ha enviat %(name)s (%(category)s)",
                    name=document.original_name,
                    category=label,
                )
            else:
                note = _(
                    "S'ha afegit el document %(name)s (%(category)s)",
                    name=document.original_name,
                    category=label,
                )
        db.session.add(
            CaseEvent(
                case_id=case.id,
                at=now,
                actor_id=document.uploaded_by_id,
                kind="document",
                note=note,
            )
        )
        if commit:
            db.session.commit()
        else:
            db.session.flush()
    except BaseException:
        db.session.rollback()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(saved.path)
        raise
    return document


def store_bytes(
    case: CaseFile,
    data: bytes,
    *,
    name: str,
    source: str,
    category: str,
    uploaded_by: StaffUser | None = None,
    now: datetime,
    **columns,
) -> CaseDocument:
    """Store ``data`` (a file the app made or received: a letter, a company's answer) on
    ``case`` with the same rules as an upload, and FLUSH (the caller commits).

    Random stored name, type from the first bytes (PDF, JPEG or PNG only), the size limit,
    SHA-256. ``columns`` are further CaseDocument columns (``letter_kind``, ``language``,
    ``template_id``, ``text``, ``text_status``, ...). No history entry is written: the caller
    says in its own what the document is. Raises DocumentRejected (nothing stored); if the
    database refuses the row, the file is deleted and the error raised (the session is left
    for the caller to roll back).
    """
    for key in columns:
        if key in _FIXED_COLUMNS or not hasattr(CaseDocument, key):
            raise TypeError(f"store_bytes() cannot set {key!r}")
    saved = _save(io.BytesIO(data), upload_folder(), current_app.config["UPLOAD_MAX_BYTES"])
    try:
        document = _document_row(
            case, saved, name, source, category, uploaded_by=uploaded_by, now=now, **columns
        )
        if "search_text" not in columns and columns.get("text"):
            document.search_text = document_search_text(document.original_name, columns["text"])
        db.session.add(document)
        db.session.flush()
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(saved.path)
        raise
    return document


def _document_row(
    case: CaseFile,
    saved,
    name: str | None,
    source: str,
    category: str,
    *,
    uploaded_by,
    now,
    **columns,
) -> CaseDocument:
    """The row of a file just saved (``_save``) in ``case``: an upload's or generated bytes."""
    return CaseDocument(
        case_id=case.id,
        uploaded_at=now,
        uploaded_by_id=uploaded_by.id if uploaded_by is not None else None,
        source=source,
        category=category,
        original_name=clean_filename(name, saved.content_type),
        stored_name=saved.path.name,
        content_type=saved.content_type,
        size=saved.size,
        sha256=saved.sha256,
        **columns,
    )


def document_search_text(name: str, text: str) -> str:
    """What the case list's search looks in for a document: its name and text, folded like
    the case's own search text (lower case, no accents or punctuation)."""
    return " ".join(part for part in (fold(name or ""), fold(text or "")) if part)


#: Columns store_bytes decides itself.
_FIXED_COLUMNS = frozenset(
    {"id", "case_id", "case", "stored_name", "content_type", "size", "sha256", "original_name"}
)


# --- Reading ----------------------------------------------------------------------------------


def case_documents(case_id: int) -> list[CaseDocument]:
    """A case's documents, oldest first, with who uploaded them (one query)."""
    return list(
        db.session.scalars(
            select(CaseDocument)
            .where(CaseDocument.case_id == case_id)
            .options(joinedload(CaseDocument.uploaded_by))
            .order_by(CaseDocument.uploaded_at, CaseDocument.id)
        )
    )


def new_citizen_uploads(user: StaffUser) -> list[CaseDocument]:
    """Citizens' uploads no member of staff has opened yet, newest first, for the agenda.

    On the cases assigned to ``user`` (coordinators: every case); each document comes with
    its case and the case's municipality, all in one query.
    """
    query = (
        select(CaseDocument)
        .join(CaseDocument.case)
        .options(contains_eager(CaseDocument.case).joinedload(CaseFile.municipality))
        .where(CaseDocument.source == CITIZEN, CaseDocument.seen_at.is_(None))
        .order_by(CaseDocument.uploaded_at.desc(), CaseDocument.id.desc())
    )
    if not user.is_coordinator:
        query = query.where(CaseFile.assigned_to_id == user.id)
    return list(db.session.scalars(query))


def mark_citizen_uploads_seen(case_id: int, *, now: datetime) -> int:
    """Staff opened the case: its citizen uploads are no longer new (the caller commits)."""
    result = db.session.execute(
        update(CaseDocument)
        .where(
            CaseDocument.case_id == case_id,
            CaseDocument.source == CITIZEN,
            CaseDocument.seen_at.is_(None),
        )
        .values(seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def mark_seen(case: CaseFile, now: datetime) -> int:
    """Staff opened the case page: its citizen uploads are no longer new. COMMITS.

    Meant to run before the page renders: what the page has already loaded stays loaded
    (nothing is expired by this commit), so the page costs no extra queries.
    """
    changed = mark_citizen_uploads_seen(case.id, now=now)
    if changed:
        commit_keeping_loaded()
    return changed


def mark_document_seen(document: CaseDocument, *, now: datetime) -> None:
    """Staff downloaded a citizen's upload (the caller commits)."""
    if document.source == CITIZEN and document.seen_at is None:
        document.seen_at = now


# --- The citizen's upload link ------------------------------------------------------------------


@dataclass(frozen=True)
class UploadLink:
    """What an upload link opens: ``state`` is open, expired, closed (no longer asked) or
    unknown; ``token`` and ``case`` are None when unknown."""

    state: str
    token: AccessToken | None = None
    case: CaseFile | None = None

    @property
    def is_open(self) -> bool:
        return self.state == "open"


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def find_upload_link(token: str, now: datetime) -> UploadLink:
    """Look a link up by the hash of its token; open only while the case still asks for
    documents, until the end of its current deadline day and of the token's own life."""
    row = find_token(token, TokenPurpose.UPLOAD, joinedload(AccessToken.case))
    if row is None or row.case is None:
        return UploadLink("unknown")
    case = row.case
    if row.expires_at <= now:
        return UploadLink("expired", row, case)
    if case.status != CaseStatus.DOCUMENTACIO or case.deadline is None:
        return UploadLink("closed", row, case)
    if deadline_end(case.deadline, _tz()) <= now:
        return UploadLink("expired", row, case)
    return UploadLink("open", row, case)


def uploads_through(link: UploadLink) -> list[CaseDocument]:
    """What the citizen has sent since this link was issued (names only are ever shown)."""
    return list(
        db.session.scalars(
            select(CaseDocument)
            .where(
                CaseDocument.case_id == link.case.id,
                CaseDocument.source == CITIZEN,
                CaseDocument.uploaded_at >= link.token.created_at,
            )
            .order_by(CaseDocument.uploaded_at, CaseDocument.id)
        )
    )


def _issue_upload_token(case: CaseFile, expires_at: datetime, now: datetime) -> str:
    return issue_token(TokenPurpose.UPLOAD, expires_at, case=case, now=now)


def _citizen_language(case: CaseFile) -> str:
    if case.language:  # a mailbox message: the language it was written in
        return case.language
    if case.booking is not None and case.booking.language:
        return case.booking.language
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _email_citizen(case: CaseFile, token: str, kind: str) -> str:
    """Queue the request or the reminder; returns the deadline as written in the e-mail."""
    language = _citizen_language(case)
    with force_locale(language):
        deadline_text = dates.day_text(case.deadline, language)
        context = {
            "case": case,
            "name": case.interested_name,
            "number": case.number,
            "detail": case.status_detail,
            "deadline_text": deadline_text,
            "upload_url": external_url("uploads.upload", token=token, **link_language()),
            # "Com va la meva consulta?" (umic.casefiles.follow): its own, longer-lived link.
            "follow_url": external_url(
                "follow.status",
                token=issue_status_token(case=case, now=clock.now()),
                **link_language(),
            ),
            "max_size": size_text(current_app.config["UPLOAD_MAX_BYTES"], language),
            "organisation": current_app.config["SERVICE_ORGANISATION"],
            "help_phone": current_app.config["HELP_PHONE"],
        }
        if kind == "requested":
            subject = _("Documentació requerida per a l'expedient %(number)s", number=case.number)
        else:
            subject = _(
                "Recordatori: envieu la documentació de l'expedient %(number)s fins al %(day)s",
                number=case.number,
                day=deadline_text,
            )
        enqueue(
            kind=f"documents_{kind}",
            recipient=ics.Person(email=case.interested_email, name=case.interested_name),
            subject=subject,
            template=f"documents_{kind}",
            context=context,
        )
    return deadline_text


def request_documents(case: CaseFile, *, actor: StaffUser | None, now: datetime) -> str | None:
    """E-mail the interested person a link to send what the case asks for (the caller commits).

    Called when the status becomes Documentació requerida with a deadline, or the deadline
    changes. The new link, and the case's other links still alive, work until the end of the
    deadline day (Madrid time). Returns the token, or None when nothing was sent: no e-mail
    address, or a deadline already over.
    """
    if not case.interested_email or case.deadline is None:
        return None
    expires_at = deadline_end(case.deadline, _tz())
    if expires_at <= now:
        return None
    # Earlier links of the case follow the new deadline (longer or shorter), as the e-mails say.
    db.session.execute(
        update(AccessToken)
        .where(
            AccessToken.case_id == case.id,
            AccessToken.purpose == TokenPurpose.UPLOAD,
            AccessToken.expires_at > now,
        )
        .values(expires_at=expires_at)
        .execution_options(synchronize_session=False)
    )
    token = _issue_upload_token(case, expires_at, now)
    _email_citizen(case, token, "requested")
    with _service_language():
        note = _(
            "Correu a %(email)s: se li demana documentació fins al %(day)s",
            email=case.interested_email,
            day=dates.day_text(case.deadline, current_app.config["BABEL_DEFAULT_LOCALE"]),
        )
    case.events.append(
        CaseEvent(
            at=now,
            actor_id=actor.id if actor is not None else None,
            kind="email",
            field="documents_request",
            new_value=case.deadline.isoformat(),
            note=note,
        )
    )
    return token


# --- Reminders (the mail worker) --------------------------------------------------------------


def queue_document_reminders(now: datetime | None = None) -> int:
    """Remind citizens whose document deadline is within DOCUMENT_REMINDER_DAYS_BEFORE days.

    Once per case and deadline: the reminder is recorded in the case's history as
    ``CaseEvent(kind="email", field="documents_reminder", new_value=<deadline ISO>)`` and a
    case with that entry is skipped; a new deadline gets its own reminder. No reminder when
    the request itself was sent inside that window (it is reminder enough).

    Two workers at once: each case is reminded in its own transaction that first takes the
    case row's write lock (a no-op conditional UPDATE), then looks for the history entry.
    The second worker waits for the first one's commit (PostgreSQL row lock; SQLite's single
    writer), and its look-up, a new statement, sees the entry and skips. A plain
    "SELECT, then INSERT" would not do: both would see nothing and both would send.
    """
    now = now or clock.now()
    tz = _tz()
    today = now.astimezone(tz).date()
    days_before = int(current_app.config["DOCUMENT_REMINDER_DAYS_BEFORE"])
    candidates = db.session.execute(
        select(CaseFile.id, CaseFile.deadline).where(
            CaseFile.status == CaseStatus.DOCUMENTACIO,
            CaseFile.deadline >= today,
            CaseFile.deadline <= today + timedelta(days=days_before),
            CaseFile.interested_email != "",
        )
    ).all()
    if not candidates:
        return 0
    emails = db.session.execute(
        select(CaseEvent.case_id, CaseEvent.field, CaseEvent.new_value, CaseEvent.at).where(
            CaseEvent.case_id.in_([case_id for case_id, _deadline in candidates]),
            CaseEvent.kind == "email",
            CaseEvent.field.in_(["documents_request", "documents_reminder"]),
        )
    ).all()
    db.session.rollback()  # end the read before taking any lock
    queued = 0
    for case_id, deadline in candidates:
        key = deadline.isoformat()
        window_start = day_start(deadline - timedelta(days=days_before), tz)
        done = any(
            event.case_id == case_id
            and event.new_value == key
            and (event.field == "documents_reminder" or event.at >= window_start)
            for event in emails
        )
        if not done and _remind(case_id, deadline, now):
            queued += 1
    return queued


def _remind(case_id: int, deadline: date, now: datetime) -> bool:
    """Queue one reminder, unless another worker has just done it; commits."""
    locked = db.session.execute(
        update(CaseFile)
        .where(
            CaseFile.id == case_id,
            CaseFile.status == CaseStatus.DOCUMENTACIO,
            CaseFile.deadline == deadline,
        )
        .values(updated_at=CaseFile.updated_at)  # changes nothing; takes the row's lock
        .execution_options(synchronize_session=False)
    )
    if locked.rowcount != 1:
        db.session.rollback()
        return False
    key = deadline.isoformat()
    already = db.session.scalar(
        select(CaseEvent.id)
        .where(
            CaseEvent.case_id == case_id,
            CaseEvent.kind == "email",
            CaseEvent.field == "documents_reminder",
            CaseEvent.new_value == key,
        )
        .limit(1)
    )
    if already is not None:
        db.session.rollback()
        return False
    case = db.session.get(CaseFile, case_id, populate_existing=True)
    token = _issue_upload_token(case, deadline_end(deadline, _tz()), now)
    _email_citizen(case, token, "reminder")
    with _service_language():
        note = _(
            "Correu a %(email)s: recordatori del termini per enviar documentació (%(day)s)",
            email=case.interested_email,
            day=dates.day_text(deadline, current_app.config["BABEL_DEFAULT_LOCALE"]),
        )
    db.session.add(
        CaseEvent(
            case_id=case_id,
            at=now,
            kind="email",
            field="documents_reminder",
            new_value=key,
            note=note,
        )
    )
    db.session.commit()
    return True
