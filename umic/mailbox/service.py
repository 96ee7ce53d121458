"""A mailbox message becomes a case file: caps, one transaction, the acknowledgment.

The caps (per-day, per e-mail address and per client network) are counted on
``case_file.email_key`` and ``case_file.network_key`` over the 24 hours up to now, like the
booking's (``umic.booking.service``): checked once before anything is stored (a preview that
keeps the files from being written for nothing) and again inside the transaction, after the
INSERT, counting the new case (on PostgreSQL behind advisory locks on the key and the network,
so two messages at once take turns; on SQLite the INSERT holds the only write lock).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select

from ..casefiles import documents
from ..casefiles.follow import issue_status_token
from ..casefiles.service import create_case
from ..core import ics
from ..core.emails import email_key
from ..extensions import db
from ..mail.compose import enqueue
from ..models import CaseFile
from ..models import CaseStatus
from ..models import CaseType
from ..models import Channel
from ..models import DocumentCategory
from ..models import Municipality
from ..web.i18n import link_language
from ..web.urls import external_url

#: What a person may send through the mailbox (the codes of ``CaseType``).
KINDS = (CaseType.CONSULTA, CaseType.QUEIXA, CaseType.RECLAMACIO)

#: Cap refusals, as ``BookingRefusal.reason`` records them for the coordinators' alerts.
CAP_EMAIL_DAY = "mailbox_email_day"
CAP_NETWORK_DAY = "mailbox_network_day"

#: PostgreSQL advisory lock spaces ("umbe", "umbn"), apart from the booking's.
_EMAIL_LOCK_SPACE = 0x756D6265
_NETWORK_LOCK_SPACE = 0x756D626E

_DAY = timedelta(days=1)


class TooManyMessages(Exception):
    """A per-day cap refuses the message (``reason``: CAP_EMAIL_DAY or CAP_NETWORK_DAY)."""

    def __init__(self, reason: str, cap: int):
        super().__init__(reason)
        self.reason = reason
        self.cap = cap


def _setting(key: str) -> int:
    return int(current_app.config.get(key) or 0)


def max_files() -> int:
    """Most files one message may carry."""
    return _setting("MAILBOX_MAX_FILES") or 5


def _sent_since(condition, now: datetime) -> int:
    return db.session.scalar(
        select(func.count(CaseFile.id)).where(
            condition,
            CaseFile.channel == Channel.BUSTIA,
            CaseFile.requested_at > now - _DAY,
        )
    )


def check_caps(email: str, network: str | None, now: datetime, *, counting_new=False) -> None:
    """Raise TooManyMessages for the first cap this address or network is over.

    ``counting_new``: the new case is already in the counts (inside its transaction).
    """
    extra = 1 if counting_new else 0
    caps = [
        (
            CAP_EMAIL_DAY,
            _setting("MAILBOX_MAX_PER_EMAIL_PER_DAY"),
            lambda: _sent_since(CaseFile.email_key == email_key(email), now),
        )
    ]
    if network:
        caps.append(
            (
                CAP_NETWORK_DAY,
                _setting("MAILBOX_MAX_PER_NETWORK_PER_DAY"),
                lambda: _sent_since(CaseFile.network_key == network, now),
            )
        )
    for reason, cap, counted in caps:
        if cap and counted() - extra >= cap:
            raise TooManyMessages(reason, cap)


def _take_turns(key: str, network: str | None) -> None:
    """PostgreSQL: messages with one address or from one network are counted one at a time."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    locks = [(_EMAIL_LOCK_SPACE, key)] + ([(_NETWORK_LOCK_SPACE, network)] if network else [])
    for space, value in locks:
        db.session.execute(select(func.pg_advisory_xact_lock(space, func.hashtext(literal(value)))))


@dataclass(frozen=True)
class Message:
    """What the form gave, cleaned."""

    town: Municipality
    kind: str
    name: str
    email: str
    phone: str
    company: str
    description: str
    claim_request: str
    files: list  # Werkzeug FileStorage objects, already prechecked


def submit(
    message: Message, *, network: str | None, language: str, now: datetime
) -> tuple[CaseFile, str]:
    """Store the message as a case file with its documents, its follow link and the
    acknowledgment e-mail, in ONE transaction (committed here); returns the case and the token.

    Raises TooManyMessages (nothing stored) when a cap is reached meanwhile, and
    ``documents.DocumentRejected`` (nothing stored, no file left on disk) for a bad file.
    """
    key = email_key(message.email)
    stored: list[str] = []  # the files on disk, deleted again if anything fails
    shown: list[str] = []  # their names, for the e-mail
    try:
        _take_turns(key, network)
        case = create_case(
            {
                "case_type": message.kind,
                "channel": Channel.BUSTIA,
                "status": CaseStatus.PENDENT,
                "municipality_id": message.town.id,
                "interested_name": message.name,
                "interested_email": message.email,
                "interested_phone": message.phone,
                "company": message.company,
                "description": message.description,
                "claim_request": message.claim_request,
                "email_key": key,
                "network_key": network,
                "requested_at": now,
                "language": language,
            },
            actor=None,
            now=now,
        )
        check_caps(message.email, network, now, counting_new=True)
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            case.events[0].note = _(
                "Enviat per la bústia. Avís de privacitat acceptat: %(version)s",
                version=current_app.config["PRIVACY_NOTICE_VERSION"],
            )
        for upload in message.files:
            document = documents.add_document(
                case,
                upload,
                category=DocumentCategory.ALTRES,
                source=documents.CITIZEN,
                uploaded_by=None,
                now=now,
                commit=False,
            )
            stored.append(document.stored_name)
            shown.append(document.original_name)
        token = issue_status_token(case=case, now=now)
        acknowledge(case, token, language, shown)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        folder = documents.upload_folder()
        for name in stored:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(folder / name)
        raise
    return case, token


def waiting_messages() -> int:
    """Mailbox messages still pending that nobody has taken (the agenda's banner)."""
    return db.session.scalar(
        select(func.count(CaseFile.id)).where(
            CaseFile.channel == Channel.BUSTIA,
            CaseFile.status == CaseStatus.PENDENT,
            CaseFile.assigned_to_id.is_(None),
        )
    )


def follow_url(token: str) -> str:
    """The follow page's address in the citizen's language (``follow.status``)."""
    return external_url("follow.status", token=token, **link_language())


def acknowledge(case: CaseFile, token: str, language: str, document_names: list[str]) -> None:
    """Queue the acknowledgment: the reference, what was sent, the follow link (no commit)."""
    with force_locale(language):
        subject = _("Hem rebut el vostre missatge: expedient %(number)s", number=case.number)
        enqueue(
            kind="mailbox_ack",
            recipient=ics.Person(email=case.interested_email, name=case.interested_name),
            subject=subject,
            template="mailbox_ack",
            context={
                "case": case,
                "name": case.interested_name,
                "number": case.number,
                "town": case.municipality.name if case.municipality else "",
                "documents": document_names,
                "follow_url": follow_url(token),
                "organisation": current_app.config["SERVICE_ORGANISATION"],
                "help_phone": current_app.config["HELP_PHONE"],
            },
        )
