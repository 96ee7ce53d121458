"""Letters of the service: template versions, issuing a letter as a PDF, sending it.

A letter is issued from the newest version of its kind's text in its language (version 1 is
the shipped text, umic.letters.defaults, inserted the first time it is needed); the PDF is
stored as a document of the case (source "service", category correspondència) carrying the
kind, the language and the version it was written from, and its text is known, so it needs
no reading. Sending it is an e-mail through the outbox with the PDF attached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_currency
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core import dates
from ..core import ics
from ..core.codes import DocumentCategory
from ..core.codes import DocumentSource
from ..core.codes import LetterKind
from ..core.codes import MediationOutcome
from ..core.codes import TextStatus
from ..extensions import db
from ..models import CaseDocument
from ..models import CaseEvent
from ..models import CaseFile
from ..models import LetterTemplate
from ..models import OutboxMessage
from ..models import StaffUser
from ..web.i18n import organisation_name
from . import defaults
from . import render
from . import text as letter_text

LANGUAGES = defaults.LANGUAGES
#: Letters addressed to the company (the others go to the interested person).
TO_COMPANY = frozenset({LetterKind.RECLAMACIO_EMPRESA.value})
#: Where the date line says the letter was written.
PLACE = "Barcelona"


class LetterError(ValueError):
    """A letter that cannot be issued or sent (message for people, already translated)."""


# --- Template versions ----------------------------------------------------------------------


def _check_kind(kind: str, language: str) -> None:
    if kind not in {k.value for k in LetterKind}:
        raise LetterError(f"unknown letter kind {kind!r}")
    if language not in LANGUAGES:
        raise LetterError(f"letters are written in {LANGUAGES}, not {language!r}")


def ensure_shipped(kind: str, language: str) -> LetterTemplate:
    """Version 1 (the shipped text) of a kind and language, inserted if missing (flushes)."""
    _check_kind(kind, language)
    row = db.session.scalar(
        select(LetterTemplate).where(
            LetterTemplate.kind == kind,
            LetterTemplate.language == language,
            LetterTemplate.version == 1,
        )
    )
    if row is not None:
        return row
    subject, body = defaults.default_text(kind, language)
    row = LetterTemplate(
        kind=kind, language=language, version=1, subject=subject, body=body, shipped=True
    )
    try:
        with db.session.begin_nested():  # another request may insert it at the same moment
            db.session.add(row)
    except IntegrityError:
        row = db.session.scalar(
            select(LetterTemplate).where(
                LetterTemplate.kind == kind,
                LetterTemplate.language == language,
                LetterTemplate.version == 1,
            )
        )
    return row


def ensure_all_shipped() -> int:
    """Insert every missing shipped text (the demo loader calls this); how many inserted."""
    have = set(
        db.session.execute(
            select(LetterTemplate.kind, LetterTemplate.language).where(LetterTemplate.version == 1)
        ).all()
    )
    count = 0
    for kind in LetterKind:
        for language in LANGUAGES:
            if (kind.value, language) not in have:
                ensure_shipped(kind.value, language)
                count += 1
    return count


def current_template(kind: str, language: str) -> LetterTemplate:
    """The newest version of a kind's text in a language (the one letters use)."""
    _check_kind(kind, language)
    row = db.session.scalar(
        select(LetterTemplate)
        .where(LetterTemplate.kind == kind, LetterTemplate.language == language)
        .order_by(LetterTemplate.version.desc())
        .limit(1)
    )
    return row if row is not None else ensure_shipped(kind, language)


def current_templates() -> dict[tuple[str, str], LetterTemplate]:
    """The newest version of every kind and language (one query; shipped ones inserted)."""
    ensure_all_shipped()
    newest = (
        select(
            LetterTemplate.kind,
            LetterTemplate.language,
            func.max(LetterTemplate.version).label("version"),
        )
        .group_by(LetterTemplate.kind, LetterTemplate.language)
        .subquery()
    )
    rows = db.session.scalars(
        select(LetterTemplate).join(
            newest,
            (LetterTemplate.kind == newest.c.kind)
            & (LetterTemplate.language == newest.c.language)
            & (LetterTemplate.version == newest.c.version),
        )
    )
    return {(row.kind, row.language): row for row in rows}


def versions(kind: str, language: str) -> list[LetterTemplate]:
    """Every version of a kind's text in a language, newest first."""
    _check_kind(kind, language)
    ensure_shipped(kind, language)
    return list(
        db.session.scalars(
            select(LetterTemplate)
            .where(LetterTemplate.kind == kind, LetterTemplate.language == language)
            .order_by(LetterTemplate.version.desc())
        )
    )


@dataclass
class TextErrors:
    """Why a text cannot be saved, per field (messages for people)."""

    subject: list[str]
    body: list[str]

    def __bool__(self) -> bool:
        return bool(self.subject or self.body)


def _describe(problems: letter_text.Problems) -> list[str]:
    messages = []
    for syntax in problems.syntax:
        line, _colon, message = syntax.partition(": ")
        messages.append(
            _("Error de format a la línia %(line)s: %(message)s", line=line, message=message)
        )
    if problems.unknown:
        messages.append(
            _(
                "Camps desconeguts: %(names)s. Feu servir només els de la llista.",
                names=", ".join("{{ " + name + " }}" for name in problems.unknown),
            )
        )
    if problems.unsafe:
        messages.append(
            _(
                "No es pot fer servir: %(names)s.",
                names=", ".join(problems.unsafe),
            )
        )
    return messages


def check_text(subject: str, body: str) -> TextErrors:
    """What is wrong with a text before it is saved (nothing: it renders)."""
    errors = TextErrors(subject=[], body=[])
    if not subject.strip():
        errors.subject.append(_("Escriviu l'assumpte."))
    elif len(subject) > letter_text.SUBJECT_MAX:
        errors.subject.append(
            _("L'assumpte pot tenir com a màxim %(n)s caràcters.", n=letter_text.SUBJECT_MAX)
        )
    elif "\n" in subject.strip():
        errors.subject.append(_("L'assumpte ha de ser d'una sola línia."))
    else:
        errors.subject.extend(_describe(letter_text.check(subject)))
    if not body.strip():
        errors.body.append(_("Escriviu el text de la carta."))
    elif len(body) > letter_text.BODY_MAX:
        errors.body.append(
            _("El text pot tenir com a màxim %(n)s caràcters.", n=letter_text.BODY_MAX)
        )
    else:
        errors.body.extend(_describe(letter_text.check(body)))
    if not errors:
        # The last word: it must render with every placeholder filled.
        for text, bucket in ((subject, errors.subject), (body, errors.body)):
            try:
                letter_text.render(text, letter_text.sample_context())
            except letter_text.LetterTextError as error:
                bucket.extend(error.errors)
    return errors


class VersionConflict(LetterError):
    """Somebody else saved a version of the same text at the same moment."""


def save_version(
    kind: str, language: str, *, subject: str, body: str, actor: StaffUser, now: datetime
) -> LetterTemplate:
    """A new version (n+1) of a kind's text; never changes an old one. Flushes.

    The caller checks the text first (:func:`check_text`); a text with errors is refused
    here too (LetterError). VersionConflict when another version got number n+1 first.
    """
    _check_kind(kind, language)
    subject = " ".join(subject.split())
    body = body.replace("\r\n", "\n").strip()
    if check_text(subject, body):
        raise LetterError("the text has errors: check_text() first")
    newest = current_template(kind, language)
    row = LetterTemplate(
        kind=kind,
        language=language,
        version=newest.version + 1,
        subject=subject,
        body=body,
        shipped=False,
        created_at=now,
        created_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError as error:
        raise VersionConflict("another version was saved meanwhile") from error
    return row


# --- Filling a letter -----------------------------------------------------------------------


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def date_text(day: date | None, language: str) -> str:
    """'5 de desembre de 2026' / '5 de diciembre de 2026'."""
    if day is None:
        return letter_text.BLANK
    # Catalan's format-context month carries its preposition ("de desembre", "d'abril").
    pattern = "d MMMM 'de' y" if language == "ca" else "d 'de' MMMM 'de' y"
    return format_date(day, pattern, locale=language)


def money_text(amount: Decimal | None, language: str) -> str:
    """'1.234,50 €' in the letter's language."""
    if amount is None:
        return letter_text.BLANK
    return format_currency(amount, "EUR", locale=language)


def case_language(case: CaseFile) -> str:
    """The language letters to the interested person go out in (Catalan by default)."""
    return case.reply_language


def letter_context(
    case: CaseFile,
    language: str,
    *,
    actor: StaffUser | None,
    now: datetime,
    extra: dict | None = None,
) -> dict:
    """The placeholders' values for a case: its company, mediation and session if any.

    A value the case does not have yet is a blank line to fill in by hand. ``extra``
    overrides any value (``{"deadline": "...", "session": {...}}``).
    """
    tz = _tz()
    mediation = case.mediation
    company = case.company_entry or (mediation.company if mediation is not None else None)
    booking = mediation.session_booking if mediation is not None else None
    deadline = None
    if mediation is not None and mediation.answer_due and not mediation.answered_at:
        deadline = mediation.answer_due
    elif case.deadline is not None:
        deadline = case.deadline
    outcome = ""
    if mediation is not None and mediation.outcome:
        member = MediationOutcome(mediation.outcome)
        with force_locale(language):
            outcome = _(member.label)
    amount_claimed = (
        mediation.amount_claimed
        if mediation is not None and mediation.amount_claimed is not None
        else case.amount_claimed
    )
    amount_recovered = (
        mediation.amount_recovered
        if mediation is not None and mediation.amount_recovered is not None
        else case.amount_recovered
    )
    technician = case.assigned_to or actor
    with force_locale(language):
        organisation = organisation_name()
    context = {
        "case": {
            "number": case.number,
            "date": date_text(case.requested_at.astimezone(tz).date(), language),
        },
        "consumer": {
            "name": case.interested_name or letter_text.BLANK,
            "address": case.interested_address or letter_text.BLANK,
            "email": case.interested_email or letter_text.BLANK,
        },
        "company": {
            "name": (company.name if company is not None else case.company) or letter_text.BLANK,
            "address": (company.address if company is not None else "") or letter_text.BLANK,
        },
        "deadline": date_text(deadline, language),
        "session": {
            "when": (
                dates.when_text(booking.start_utc, booking.end_utc, tz, language)
                if booking is not None
                else letter_text.BLANK
            ),
            "link": booking.video_link if booking is not None else letter_text.BLANK,
        },
        "amount_claimed": money_text(amount_claimed, language),
        "amount_recovered": money_text(amount_recovered, language),
        "outcome": outcome or letter_text.BLANK,
        "technician": {"name": technician.name if technician is not None else ""},
        "today": date_text(now.astimezone(tz).date(), language),
        "town": case.municipality.name if case.municipality is not None else letter_text.BLANK,
        "organisation": organisation,
    }
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(context.get(key), dict):
            context[key] = {**context[key], **value}
        else:
            context[key] = value
    return context


@dataclass
class Rendered:
    """A letter filled in: its subject, its text and its PDF."""

    subject: str
    text: str
    html: str
    pdf: bytes


def _recipient_lines(kind: str, context: dict) -> list[str]:
    if kind in TO_COMPANY:
        lines = [context["company"]["name"], context["company"]["address"]]
    else:
        lines = [context["consumer"]["name"], context["consumer"]["address"]]
    return [line for line in lines if line and line != letter_text.BLANK]


def render_letter(kind: str, language: str, subject: str, body: str, context: dict) -> Rendered:
    """Fill a text with ``context`` and lay it out as a PDF (LetterTextError if it cannot)."""
    subject_text = " ".join(letter_text.render(subject, context).split())
    body_text = letter_text.render(body, context)
    with force_locale(language):
        meta = [
            f"{PLACE}, {context['today']}",
            _("Expedient: %(number)s", number=context["case"]["number"]),
        ]
        signature = [
            line for line in (context["technician"]["name"], context["organisation"]) if line
        ]
    html = render.letter_html(
        language=language,
        title=subject_text,
        body=body_text,
        recipient_lines=_recipient_lines(kind, context),
        meta_lines=meta,
        signature_lines=signature,
    )
    pdf = render.html_to_pdf(html, language=language)
    text = "\n\n".join(
        [*_recipient_lines(kind, context), *meta, subject_text, body_text, "\n".join(signature)]
    )
    return Rendered(subject=subject_text, text=text, html=html, pdf=pdf)


def _service_language():
    return force_locale(current_app.config["BABEL_DEFAULT_LOCALE"])


def kind_label(kind: str) -> str:
    """A kind's label in the current language."""
    return _(LetterKind(kind).label)


def file_name(kind: str, case: CaseFile, version: int) -> str:
    """'carta_acusament_2025-0029005_v1.pdf'."""
    return f"carta_{kind}_{case.number.replace('/', '-')}_v{version}.pdf"


def issue_letter(
    case: CaseFile,
    kind: str,
    language: str,
    *,
    actor: StaffUser | None,
    now: datetime,
    extra: dict | None = None,
) -> CaseDocument:
    """Write a letter for ``case`` from the newest text, store its PDF, note it. Flushes.

    The document is of source "service", category correspondència, with the kind, language
    and template version; its text is the letter's (no reading needed). A history entry
    "Carta generada: <kind> (versió n)". LetterTextError when the text cannot be filled.
    """
    from ..casefiles.documents import store_bytes  # the documents module imports mail

    template = current_template(kind, language)
    context = letter_context(case, language, actor=actor, now=now, extra=extra)
    letter = render_letter(kind, language, template.subject, template.body, context)
    document = store_bytes(
        case,
        letter.pdf,
        name=file_name(kind, case, template.version),
        source=DocumentSource.SERVICE.value,
        category=DocumentCategory.CORRESPONDENCIA.value,
        uploaded_by=actor,
        now=now,
        letter_kind=kind,
        language=language,
        template_id=template.id,
        text=letter.text,
        text_status=TextStatus.DONE.value,
        text_method="pdf",
        extracted_at=now,
        seen_at=now,
    )
    with _service_language():
        note = _(
            "Carta generada: %(kind)s (versió %(version)s)",
            kind=kind_label(kind),
            version=template.version,
        )
    _history(case, note, actor=actor, now=now)
    return document


def letter_subject(document: CaseDocument) -> str:
    """The subject of an issued letter (its first line of text after the meta lines)."""
    if document.template_id is not None:
        template = db.session.get(LetterTemplate, document.template_id)
        if template is not None:
            try:
                context = letter_context(
                    document.case,
                    document.language or "ca",
                    actor=None,
                    now=document.uploaded_at,
                )
                return " ".join(letter_text.render(template.subject, context).split())
            except letter_text.LetterTextError:
                pass
    with force_locale(document.language or "ca"):
        return _("Carta de l'expedient %(number)s", number=document.case.number)


def send_letter(
    document: CaseDocument,
    *,
    recipient: ics.Person,
    now: datetime,
    actor: StaffUser | None = None,
) -> OutboxMessage:
    """E-mail an issued letter to ``recipient`` with its PDF attached (the caller commits).

    The e-mail is in the letter's language; the history says "Carta enviada a <address>".
    """
    from ..mail.compose import enqueue

    if document.source != DocumentSource.SERVICE.value or not document.letter_kind:
        raise LetterError("only letters of the service are sent this way")
    if not recipient.email:
        raise LetterError("no address to send the letter to")
    case = document.case
    language = document.language or "ca"
    subject = letter_subject(document)
    with force_locale(language):
        message = enqueue(
            kind=f"letter_{document.letter_kind}",
            recipient=recipient,
            subject=subject,
            template="letter",
            context={
                "name": recipient.name,
                "number": case.number,
                "subject": subject,
                "kind_label": kind_label(document.letter_kind),
                "file_name": document.original_name,
                "organisation": organisation_name(),
            },
        )
    message.document_id = document.id
    with _service_language():
        note = _("Carta enviada a %(address)s", address=recipient.email)
    _history(case, note, actor=actor, now=now)
    return message


def _history(case: CaseFile, note: str, *, actor, now: datetime) -> None:
    """A letter's entry in the case's history (kind "letter"), flushed."""
    db.session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            actor_id=actor.id if actor is not None else None,
            kind="letter",
            note=note,
        )
    )
    db.session.flush()


def preview_context(language: str, *, now: datetime) -> dict:
    """A sample case's values in ``language``, to preview a text without real data."""
    context = letter_text.sample_context()
    today = now.astimezone(_tz()).date()
    context["today"] = date_text(today, language)
    context["case"] = {**context["case"], "date": date_text(today, language)}
    context["deadline"] = date_text(date.fromordinal(today.toordinal() + 10), language)
    context["amount_claimed"] = money_text(Decimal("120.00"), language)
    context["amount_recovered"] = money_text(Decimal("120.00"), language)
    with force_locale(language):
        context["outcome"] = _(MediationOutcome.ACORD_TOTAL.label)
        context["organisation"] = organisation_name()
    return context


def read_document(document_id: int) -> tuple[str, str, bytes]:
    """A case document as an e-mail attachment: (download name, type, bytes).

    Installed as the outbox's ``document_reader`` (the mail cannot import casefiles).
    """
    from ..casefiles.documents import download_name
    from ..casefiles.documents import stored_path

    document = db.session.get(CaseDocument, document_id)
    if document is None:
        raise LookupError(f"document {document_id} of this message is gone")
    data = stored_path(document).read_bytes()
    return download_name(document.original_name, document.content_type), document.content_type, data
