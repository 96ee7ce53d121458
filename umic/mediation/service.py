"""The mediation with a company: open, answer, remind, convene, close (umic.core.mediation_rules).

Every step writes the case's history (CaseEvent kind "mediation") and leaves the commit to the
caller, except ``convene_session`` (the booking's race-proof procedure commits) and the job.

**The company's link.** ``/empresa/<token>`` is a bearer link (TokenPurpose.COMPANY, only its
hash stored) that names the case; it goes in the e-mail body, never in the PDF letter (a letter
is kept in the file and may be printed or forwarded). It lives until some days after the answer
is due, so that a late answer or a document can still come in.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy import update

from .. import clock
from ..booking import service as booking_service
from ..casefiles.display import money_text
from ..casefiles.labels import COMPANY_ANSWERS
from ..casefiles.labels import MEDIATION_OUTCOMES
from ..casefiles.labels import REFERRALS
from ..casefiles.service import update_case
from ..core import dates
from ..core import ics
from ..core import mediation_rules as rules
from ..core.codes import CaseType
from ..core.codes import DocumentCategory
from ..core.codes import DocumentSource
from ..core.codes import LetterKind
from ..core.codes import MediationOutcome
from ..core.codes import MediationStatus
from ..core.codes import Referral
from ..extensions import db
from ..mail import compose
from ..mail.compose import enqueue
from ..models import ACTIVE_STATUSES
from ..models import FINAL_STATUSES
from ..models import CaseEvent
from ..models import CaseFile
from ..models import CaseStatus
from ..models import Company
from ..models import Mediation
from ..models import StaffUser
from ..models import TokenPurpose
from ..web.access import issue_token
from ..web.urls import external_url

#: Case types a mediation may be opened for.
MEDIABLE_TYPES = frozenset({CaseType.RECLAMACIO, CaseType.QUEIXA, CaseType.MEDIACIO})
#: The company's link works this many days after the answer is due.
LINK_GRACE_DAYS = 30
#: What the company may send: the citizen's upload rules (PDF, JPEG, PNG).
REFERRAL_LETTERS = {
    Referral.ARBITRATGE: LetterKind.DERIVACIO_ARBITRATGE,
    Referral.INSPECCIO: LetterKind.DERIVACIO_INSPECCIO,
}


class MediationRefused(ValueError):
    """The step is not possible (``reason``: a short code the page words)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _holidays(years: tuple[int, ...]) -> frozenset[date]:
    rules_ = booking_service.rules()
    return booking_service._holidays(years, rules_.holidays_country, rules_.holidays_subdivision)


def due_date(now: datetime) -> date:
    """The answer's due date for a claim sent at ``now`` (config MEDIATION_ANSWER_DAYS)."""
    today = now.astimezone(_tz()).date()
    days = current_app.config["MEDIATION_ANSWER_DAYS"]
    return rules.answer_due(today, _holidays((today.year, today.year + 1)), days)


def _event(case: CaseFile, note: str, *, actor: StaffUser | None, now: datetime) -> None:
    case.events.append(
        CaseEvent(at=now, actor_id=actor.id if actor else None, kind="mediation", note=note)
    )
    case.updated_at = now


@contextmanager
def _history_language():
    """The history is written once, in the service's language (as the case's other entries);
    yields that locale for dates."""
    locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        yield locale


def _end_of(day: date) -> datetime:
    """The end of a Madrid calendar day, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), _tz()).astimezone(UTC)


def company_link_expiry(mediation: Mediation) -> datetime:
    return _end_of(mediation.answer_due + timedelta(days=LINK_GRACE_DAYS))


def may_open(case: CaseFile) -> str | None:
    """Why a mediation cannot be opened for ``case`` (a code), or None."""
    if case.anonymised_at is not None:
        return "anonymised"
    if case.case_type not in MEDIABLE_TYPES:
        return "type"
    if case.status in FINAL_STATUSES:
        return "final"
    if case.mediation is not None:
        return "exists"
    return None


def _company_email(mediation: Mediation, token: str, kind: str) -> None:
    """The claim (with the letter attached) or the reminder to the company, with its link."""
    case = mediation.case
    with force_locale(mediation.language):
        day = dates.day_text(mediation.answer_due, mediation.language)
        context = {
            "kind": kind,
            "number": case.number,
            "company": mediation.company.name,
            "due_text": day,
            "answer_url": external_url("mediation.company_page", token=token),
            "organisation": current_app.config["SERVICE_ORGANISATION"],
            "help_phone": current_app.config["HELP_PHONE"],
        }
        if kind == "claim":
            subject = _("Reclamació de consum %(number)s: us demanem resposta", number=case.number)
        else:
            subject = _(
                "Recordatori: responeu la reclamació %(number)s fins al %(day)s",
                number=case.number,
                day=day,
            )
        return enqueue(
            kind=f"mediation_{kind}",
            recipient=ics.Person(email=mediation.company_email, name=mediation.company.name),
            subject=subject,
            template="mediation_company",
            context=context,
        )


def open_mediation(
    case: CaseFile, company: Company, *, company_email: str, actor: StaffUser | None, now: datetime
) -> Mediation:
    """Send the claim to ``company``: the mediation, the company's link, the claim letter in
    the company's language (attached to an e-mail whose body carries the link), the history,
    and the case to "en tràmit" if it was pending. Flushes; the caller commits."""
    from ..letters import issue_letter  # the letters module (another part of issue 14)

    reason = may_open(case)
    if reason:
        raise MediationRefused(reason)
    if not company_email.strip():
        raise MediationRefused("email")
    language = company.language if company.language in ("ca", "es") else "ca"
    mediation = Mediation(
        case_id=case.id,
        company_id=company.id,
        status=MediationStatus.OBERTA,
        company_email=company_email.strip(),
        language=language,
        opened_at=now,
        opened_by_id=actor.id if actor else None,
        answer_due=due_date(now),
        updated_at=now,
    )
    db.session.add(mediation)
    case.mediation = mediation
    if case.company_id is None:
        case.company_id = company.id
    db.session.flush()
    token = issue_token(TokenPurpose.COMPANY, company_link_expiry(mediation), case=case, now=now)
    document = issue_letter(
        case,
        LetterKind.RECLAMACIO_EMPRESA,
        language,
        actor=actor,
        now=now,
    )
    # The link must be in the e-mail's body, never in the PDF (kept in the file, printed,
    # forwarded): this e-mail carries both, the letter as its attachment.
    message = _company_email(mediation, token, "claim")
    message.document_id = document.id
    with _history_language() as locale:
        note = _(
            "Mediació oberta amb %(company)s (%(email)s); resposta fins al %(day)s",
            company=company.name,
            email=mediation.company_email,
            day=dates.day_text(mediation.answer_due, locale),
        )
    _event(case, note, actor=actor, now=now)
    if case.status == CaseStatus.PENDENT:
        update_case(
            case,
            {"status": CaseStatus.EN_TRAMIT},
            actor=actor,
            expected_version=case.version,
            now=now,
        )
    db.session.flush()
    return mediation


def record_answer(
    mediation: Mediation,
    answer: str,
    text: str,
    proposed_amount: Decimal | None,
    files: list[tuple[str, bytes]],
    now: datetime,
) -> None:
    """The company's answer through its link, with its files (name, bytes), stored as the
    company's documents; the technician is told by e-mail and in the history. A second answer
    is refused (``answered``); files alone may follow with ``add_company_files``. Flushes."""
    if mediation.answered_at is not None:
        raise MediationRefused("answered")
    if mediation.status == MediationStatus.TANCADA:
        raise MediationRefused("closed")
    mediation.answer = answer
    mediation.answer_text = text.strip()
    mediation.proposed_amount = proposed_amount
    mediation.answered_at = now
    if rules.can_move(mediation.status, MediationStatus.RESPOSTA):
        mediation.status = MediationStatus.RESPOSTA
    mediation.updated_at = now
    names = add_company_files(mediation, files, now, history=False)
    with _history_language():
        note = _("L'empresa ha respost: %(answer)s", answer=COMPANY_ANSWERS[answer])
        if proposed_amount is not None:
            note += " (" + money_text(proposed_amount) + ")"
        if names:
            note += "; " + _("documents: %(names)s", names=", ".join(names))
    _event(mediation.case, note, actor=None, now=now)
    _notify_technician(mediation, "answered")
    db.session.flush()


def add_company_files(
    mediation: Mediation, files: list[tuple[str, bytes]], now: datetime, *, history: bool = True
) -> list[str]:
    """Store the company's files on the case; returns their names. Flushes."""
    from ..casefiles.documents import store_bytes

    names = []
    for name, data in files:
        document = store_bytes(
            mediation.case,
            data,
            name=name,
            source=DocumentSource.COMPANY,
            category=DocumentCategory.CORRESPONDENCIA,
            now=now,
        )
        names.append(document.original_name)
    if names and history:
        with _history_language():
            note = _("L'empresa ha enviat: %(names)s", names=", ".join(names))
        _event(mediation.case, note, actor=None, now=now)
        _notify_technician(mediation, "documents")
    return names


def _notify_technician(mediation: Mediation, kind: str) -> None:
    case = mediation.case
    technician = case.assigned_to or db.session.get(StaffUser, mediation.opened_by_id or 0)
    if technician is None or not technician.email:
        return
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        enqueue(
            kind=f"mediation_{kind}_technician",
            recipient=ics.Person(email=technician.email, name=technician.name),
            subject=_(
                "%(company)s ha respost la reclamació %(number)s",
                company=mediation.company.name,
                number=case.number,
            )
            if kind == "answered"
            else _(
                "%(company)s ha enviat documents a la reclamació %(number)s",
                company=mediation.company.name,
                number=case.number,
            ),
            template="mediation_technician",
            context={
                "kind": kind,
                "number": case.number,
                "company": mediation.company.name,
                "mediation": mediation,
                "case_url": external_url("workspace.case_detail", case_id=case.id),
                "organisation": current_app.config["SERVICE_ORGANISATION"],
            },
        )


def queue_company_reminders(now: datetime | None = None) -> int:
    """The one reminder to each company that has not answered, some days before its due date
    (config MEDIATION_REMINDER_DAYS). Each is taken with a conditional UPDATE, so that two
    workers never send it twice; the reminder carries a fresh link (the first one's plain
    value is not kept)."""
    now = now or clock.now()
    today = now.astimezone(_tz()).date()
    before = current_app.config["MEDIATION_REMINDER_DAYS"]
    rows = db.session.execute(
        select(Mediation.id, Mediation.answer_due).where(
            Mediation.status == MediationStatus.OBERTA,
            Mediation.answered_at.is_(None),
            Mediation.reminder_sent_at.is_(None),
            Mediation.answer_due >= today,
            Mediation.answer_due <= today + timedelta(days=before),
        )
    ).all()
    sent = 0
    for mediation_id, due in rows:
        if not rules.reminder_due(
            today=today,
            due=due,
            status=MediationStatus.OBERTA,
            answered=False,
            already_sent=False,
            days_before=before,
        ):
            continue
        taken = db.session.execute(
            update(Mediation)
            .where(Mediation.id == mediation_id, Mediation.reminder_sent_at.is_(None))
            .values(reminder_sent_at=now)
        ).rowcount
        if not taken:
            db.session.rollback()
            continue
        mediation = db.session.get(Mediation, mediation_id)
        token = issue_token(
            TokenPurpose.COMPANY, company_link_expiry(mediation), case=mediation.case, now=now
        )
        _company_email(mediation, token, "reminder")
        with _history_language():
            note = _("Recordatori enviat a l'empresa")
        _event(mediation.case, note, actor=None, now=now)
        db.session.commit()
        sent += 1
    return sent


def session_details(mediation: Mediation) -> dict:
    case = mediation.case
    return {
        "name": case.interested_name,
        "email": case.interested_email,
        "phone": case.interested_phone,
        "address": case.interested_address,
        "description": _(
            "Sessió de mediació amb %(company)s (expedient %(number)s)",
            company=mediation.company.name,
            number=case.number,
        ),
    }


def convene_session(
    mediation: Mediation, start: datetime, *, actor: StaffUser, now: datetime
) -> int:
    """Book the joint session: the citizen's booking with the mediator (``actor``) at
    ``start`` through the booking's race-proof path (SlotUnavailable when taken), the
    convocation letter, and the company's own invitation. Commits; returns the booking id."""
    from ..letters import issue_letter

    if mediation.status == MediationStatus.TANCADA:
        raise MediationRefused("closed")
    current = mediation.session_booking
    if current is not None and current.status in ACTIVE_STATUSES:
        raise MediationRefused("convened")
    case = mediation.case
    if case.municipality_id is None:
        raise MediationRefused("town")
    service = booking_service.active_service()
    if service is None:
        raise MediationRefused("service")
    mediation_id, case_id = mediation.id, case.id
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        details = session_details(mediation)
    with compose.booking_mediation_session():
        booking, _token = booking_service.book_for_citizen(
            service=service,
            municipality_id=case.municipality_id,
            start=start,
            details=details,
            staff=actor,
            now=now,
            technician_id=actor.id,
            language=case.language or None,
        )
    booking_id = booking.id
    mediation = db.session.get(Mediation, mediation_id)
    case = db.session.get(CaseFile, case_id)
    mediation.session_booking = booking
    if rules.can_move(mediation.status, MediationStatus.SESSIO):
        mediation.status = MediationStatus.SESSIO
    mediation.updated_at = now
    db.session.flush()
    letter = issue_letter(case, LetterKind.CONVOCATORIA, mediation.language, actor=actor, now=now)
    # The company's invitation carries the convocation letter.
    message = compose.notify_company_session(booking, mediation, "created")
    if message is not None:
        message.document_id = letter.id
    with _history_language() as locale:
        note = _(
            "Sessió de mediació convocada: %(when)s (%(reference)s)",
            when=dates.when_text(booking.start_utc, booking.end_utc, _tz(), locale),
            reference=booking.reference,
        )
    _event(case, note, actor=actor, now=now)
    db.session.commit()
    return booking_id


def close_mediation(
    mediation: Mediation,
    outcome: str,
    amount_claimed: Decimal | None,
    amount_recovered: Decimal | None,
    referral: str,
    *,
    actor: StaffUser | None,
    now: datetime,
    over_claim_allowed: bool = False,
) -> None:
    """End the mediation: outcome, amounts (copied to the case through its history), the
    referral letter when sent on, the closing letter to the citizen. Flushes; caller commits.

    Raises MediationRefused("closed") on a closed one, ValueError with the rules' errors
    ({field: code}) when the outcome and amounts disagree."""
    from ..letters import issue_letter
    from ..letters import send_letter
    from ..letters.service import case_language

    if mediation.status == MediationStatus.TANCADA:
        raise MediationRefused("closed")
    errors = rules.check_outcome(
        outcome, amount_claimed, amount_recovered, referral, over_claim_allowed=over_claim_allowed
    )
    if errors:
        raise OutcomeInvalid(errors)
    case = mediation.case
    mediation.status = MediationStatus.TANCADA
    mediation.outcome = outcome
    mediation.amount_claimed = amount_claimed
    mediation.amount_recovered = amount_recovered
    mediation.referral = referral or ""
    mediation.closed_at = now
    mediation.closed_by_id = actor.id if actor else None
    mediation.updated_at = now
    language = case_language(case)
    db.session.flush()
    citizen = ics.Person(email=case.interested_email, name=case.interested_name)
    if referral:
        letter = issue_letter(
            case, REFERRAL_LETTERS[Referral(referral)], language, actor=actor, now=now
        )
        mediation.referral_document_id = letter.id
        if citizen.email:
            send_letter(letter, recipient=citizen, now=now, actor=actor)
    closing = issue_letter(case, LetterKind.TANCAMENT, language, actor=actor, now=now)
    if citizen.email:
        send_letter(closing, recipient=citizen, now=now, actor=actor)
    with _history_language():
        note = _("Mediació tancada: %(outcome)s", outcome=MEDIATION_OUTCOMES[outcome])
        if amount_recovered is not None:
            note += "; " + _("recuperat %(amount)s", amount=money_text(amount_recovered))
        if referral:
            note += "; " + _("derivada: %(where)s", where=REFERRALS[referral])
    _event(case, note, actor=actor, now=now)
    changes = {"outcome": rules.CASE_OUTCOME[MediationOutcome(outcome)]}
    if amount_claimed is not None:
        changes["amount_claimed"] = amount_claimed
    if amount_recovered is not None:
        changes["amount_recovered"] = amount_recovered
    update_case(case, changes, actor=actor, expected_version=case.version, now=now)
    db.session.flush()


class OutcomeInvalid(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def find_company_link(token: str, now: datetime):
    """(mediation, expired) for a company token; (None, False) when unknown."""
    from ..web.access import find_token

    row = find_token(token, TokenPurpose.COMPANY)
    if row is None or row.case is None or row.case.mediation is None:
        return None, False
    return row.case.mediation, row.expires_at <= now
