"""Sending the outbox: claims due messages, sends them over SMTP, retries with backoff.

Several workers may run at once (one per server). A message is *claimed* with a conditional
UPDATE (``... WHERE id = :id AND status = 'pending'``): the database lets exactly one worker
change the row, so no message is sent twice by two workers. A worker that dies mid-send
leaves its claim behind; after ``OUTBOX_STALE_LOCK_MINUTES`` another worker takes it again.

The stored bodies have their link tokens masked; the worker splices the tokens back in to
send, and wipes them in the commit that marks the message sent, failed or superseded
(umic/mail/links.py; docs/invitations.md, "Links at rest"). Errors and the MAIL_DEBUG
dialogue name the message by id, never its recipient (``describe_error``, ``_smtp_debug``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import smtplib
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

import flask_mail
from flask import current_app
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import aliased

from .. import clock
from ..extensions import db
from ..models import AccessToken
from ..models import OutboxMessage
from ..models import OutboxStatus
from ..models import TokenPurpose
from ..web.access import issue_token
from . import links
from .mime import CalendarMessage
from .mime import MailMessage
from .mime import add_attachment

log = logging.getLogger(__name__)


@dataclass
class SendReport:
    """What one pass did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0


class _Connection(flask_mail.Connection):
    """Flask-Mail's connection with a socket timeout, so a stuck server cannot hang a worker."""

    def configure_host(self):
        timeout = current_app.config["MAIL_TIMEOUT_SECONDS"]
        if self.mail.use_ssl:
            host = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=timeout)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        # MAIL_DEBUG logs the SMTP dialogue, never a message's content nor an address
        # (ICS review §8.5, security review finding 11): _QuietData, _smtp_debug.
        host.set_debuglevel(int(self.mail.debug))
        host._print_debug = _smtp_debug
        host.data = _QuietData(host)
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        try:
            super().__exit__(exc_type, exc_value, traceback)
        except (OSError, smtplib.SMTPException):
            pass  # the messages went out; a failed QUIT changes nothing


class _QuietData:
    """``smtplib.SMTP.data`` with the debug output off while the message itself goes out.

    With a debug level set, smtplib prints every byte it sends, the whole message
    included: names, addresses and the live links. Only its size is logged instead.
    """

    def __init__(self, host: smtplib.SMTP):
        self.host = host
        self.data = host.data

    def __call__(self, msg):
        level = self.host.debuglevel
        if level:
            log.debug("smtp: DATA, %d bytes (content not logged)", len(msg))
        self.host.set_debuglevel(0)
        try:
            return self.data(msg)
        finally:
            self.host.set_debuglevel(level)


_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"']+@[^\s<>()\[\]\\,;:\"']+")


def _smtp_debug(*args) -> None:
    """smtplib's debug output, to the log instead of stderr, without addresses."""
    parts = []
    for arg in args:
        text = str(arg)
        if len(text) > 300:
            text = f"<{len(text)} characters not logged>"
        parts.append(_ADDRESS.sub("<address>", text))
    log.debug("smtp: %s", " ".join(parts))


def describe_error(error: Exception) -> str:
    """An error as logged and shown to staff: its kind and the server's code and reason,
    without any name or address (the recipient's is in the message row already).
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = sorted({(code, _text(reply)) for code, reply in error.recipients.values()})
        detail = "; ".join(f"{code} {reply}" for code, reply in replies)
    elif isinstance(error, smtplib.SMTPResponseException):
        detail = f"{error.smtp_code} {_text(error.smtp_error)}"
    else:
        detail = str(error)
    return f"{type(error).__name__}: {_ADDRESS.sub('<address>', detail)}"[:2000]


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def build_message(row: OutboxMessage, *, with_links: bool = False) -> flask_mail.Message:
    """The e-mail as stored: same bytes of invitation on every attempt.

    Its links are masked (what the outbox page and its ``.eml`` show) unless
    ``with_links``: the worker's copy, with the tokens spliced back in. A message whose
    tokens were already wiped cannot be built with its links (umic/mail/links.py).
    """
    tokens = links.load(row.link_tokens) if with_links else []
    body, html = row.body_text, row.body_html
    if with_links and not tokens and links.has_masked_links(body, html):
        raise ValueError("the links of this message are no longer kept")
    common = {
        "subject": row.subject,
        "sender": row.sender,
        "recipients": [row.recipient],
        "to_name": row.recipient_name,
        "body": links.unmask(body, tokens),
        "html": links.unmask(html, tokens) or None,
    }
    if row.ics:
        message = CalendarMessage(ics=row.ics, method=row.ics_method, **common)
    else:
        message = MailMessage(**common)
    if row.document_id is not None:
        # A letter of the service (umic.letters): its stored file, read at send time.
        attach_document(message, row.document_id)
    message.msgId = row.message_id
    return message


#: Reads a case document for an attachment: document id -> (download name, type, bytes).
#: Documents live in umic.casefiles, a floor above the mail; umic.letters (which puts
#: documents in messages) installs the reader when it is imported, as the app does.
document_reader: Callable[[int], tuple[str, str, bytes]] | None = None


def attach_document(message: flask_mail.Message, document_id: int) -> None:
    """Attach a case document's stored file under its download name. Raises (LookupError,
    FileNotFoundError, RuntimeError without a reader): the attempt fails and is recorded."""
    if document_reader is None:
        raise RuntimeError("no document reader installed (import umic.letters)")
    name, content_type, data = document_reader(document_id)
    add_attachment(message, name, content_type, data)


def _backoff(attempts: int) -> timedelta:
    config = current_app.config
    seconds = config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, config["OUTBOX_RETRY_MAX_SECONDS"]))


def _release_stale_claims(now: datetime) -> None:
    """Take back messages whose worker died mid-send; that try counts as an attempt.

    Counting it means a message that crashes every worker ends up ``failed``, where staff
    see it, instead of going round for ever.
    """
    stale = now - timedelta(minutes=current_app.config["OUTBOX_STALE_LOCK_MINUTES"])
    is_stale = (OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.locked_at < stale)
    last_try = OutboxMessage.attempts + 1 >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
    common = {"locked_by": "", "locked_at": None, "attempts": OutboxMessage.attempts + 1}
    db.session.execute(
        update(OutboxMessage)
        .where(*is_stale, last_try)
        .values(
            status=OutboxStatus.FAILED,
            last_error="the worker stopped while sending",
            link_tokens=None,
            **common,
        )
    )
    db.session.execute(
        update(OutboxMessage)
        .where(*is_stale)
        .values(status=OutboxStatus.PENDING, next_attempt_at=now, **common)
    )
    db.session.commit()


def _candidates(now: datetime, limit: int) -> list[int]:
    """Due messages, oldest first, skipping any whose older sibling is still on its way.

    A sibling is an earlier message of the same booking to the same person: the later one
    must wait, or an older SEQUENCE could arrive after a newer one (docs/invitations.md,
    "SEQUENCE").
    """
    older = aliased(OutboxMessage)
    blocked = exists().where(
        older.booking_id == OutboxMessage.booking_id,
        older.recipient == OutboxMessage.recipient,
        older.id < OutboxMessage.id,
        older.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
    )
    query = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.booking_id.is_(None), ~blocked),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def _claim(message_id: int, worker: str, now: datetime) -> bool:
    """Take one message for this worker; False if another worker was quicker."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENDING, locked_by=worker, locked_at=now)
    )
    db.session.commit()
    return result.rowcount == 1


def _is_permanent(error: Exception) -> bool:
    """A 5xx answer about this message (unknown mailbox, refused sender): retrying won't help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _text in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def _record_failure(
    row: OutboxMessage,
    error: Exception,
    now: datetime,
    report: SendReport,
    *,
    permanent: bool = False,
):
    row.attempts += 1
    row.last_error = describe_error(error)
    row.locked_by, row.locked_at = "", None
    if permanent or row.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        row.status = OutboxStatus.FAILED
        row.link_tokens = None  # failed for good: its links must not outlive it
        report.failed += 1
        log.error("outbox message %s failed for good: %s", row.id, row.last_error)
    else:
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = now + _backoff(row.attempts)
        report.retrying += 1
        log.warning("outbox message %s will be retried: %s", row.id, row.last_error)
    db.session.commit()


def send_pending(now: datetime | None = None, worker: str | None = None) -> SendReport:
    """One pass: claim what is due and send it over one SMTP connection."""
    now = now or clock.now()
    worker = worker or worker_name()
    report = SendReport()
    _release_stale_claims(now)
    _wipe_links_of_finished()
    claimed = [
        message_id
        for message_id in _candidates(now, current_app.config["OUTBOX_BATCH_SIZE"])
        if _claim(message_id, worker, now)
    ]
    if not claimed:
        return report
    rows = list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(claimed)).order_by(OutboxMessage.id)
        )
    )
    with contextlib.ExitStack() as stack:
        try:
            connection = stack.enter_context(_Connection(current_app.extensions["mail"]))
        except (OSError, smtplib.SMTPException) as error:
            for row in rows:  # no server: every claimed message waits for its next attempt
                _record_failure(row, error, now, report)
            return report
        for row in rows:
            if not _send_one(connection, row, rows, now, report):
                break  # the connection is gone: the rest wait for the next pass
    return report


def _send_one(connection, row: OutboxMessage, rows, now: datetime, report: SendReport) -> bool:
    """Send one claimed message and record the outcome; False when the connection is lost."""
    try:
        message = build_message(row, with_links=True)
    except Exception as error:  # a message that cannot be built: staff must see it
        _record_failure(row, error, now, report, permanent=True)
        return True
    try:
        connection.send(message)
    except (OSError, smtplib.SMTPException) as error:
        _record_failure(row, error, now, report, permanent=_is_permanent(error))
        # SMTPException is a subclass of OSError: test for a lost connection (or a socket
        # error) explicitly. A refused recipient or message is only this message's failure;
        # smtplib has reset the session, the rest go on.
        lost = isinstance(error, smtplib.SMTPServerDisconnected) or not isinstance(
            error, smtplib.SMTPException
        )
        if lost:
            _unclaim([r for r in rows if r.status == OutboxStatus.SENDING])
        return not lost
    row.status = OutboxStatus.SENT
    row.sent_at = clock.now()
    row.attempts += 1
    row.locked_by, row.locked_at, row.last_error = "", None, ""
    row.link_tokens = None  # sent: the tokens go in the same commit (umic/mail/links.py)
    db.session.commit()
    report.sent += 1
    return True


def _wipe_links_of_finished() -> None:
    """Wipe the tokens of any message that can no longer be sent as it is.

    Sending, failing and superseding in this module wipe them in the same transaction; this
    catches a message superseded or withdrawn elsewhere (a survey taken back, for example).
    """
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.link_tokens.is_not(None),
            OutboxMessage.status.not_in([OutboxStatus.PENDING, OutboxStatus.SENDING]),
        )
        .values(link_tokens=None)
    )
    db.session.commit()


def _unclaim(rows: list[OutboxMessage]) -> None:
    for row in rows:
        row.status = OutboxStatus.PENDING
        row.locked_by, row.locked_at = "", None
    db.session.commit()


def retry(message_id: int) -> bool:
    """Staff asked to try a failed message again, now, with a fresh set of attempts.

    Refused when a newer invitation for the same booking and person exists: it may have
    been sent already, and an older SEQUENCE must never arrive after it (docs/invitations.md,
    "SEQUENCE"). (A message still in flight when the newer one was queued could not be
    superseded then.)
    """
    newer = aliased(OutboxMessage)
    replaced = exists().where(
        newer.booking_id == OutboxMessage.booking_id,
        newer.recipient == OutboxMessage.recipient,
        newer.id > OutboxMessage.id,
        newer.ics.is_not(None),
    )
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == OutboxStatus.FAILED,
            ~replaced,
        )
        .values(
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=clock.now(),
            last_error="",
        )
    )
    if result.rowcount != 1 or not _reissue_links(message_id):
        db.session.rollback()
        return False
    db.session.commit()
    return True


def _reissue_links(message_id: int) -> bool:
    """Fresh links for a message retried after its tokens were wiped (umic/mail/links.py).

    Each masked link gets a new token for the same page (same purpose, booking or case, and
    expiry as the one it replaces), and the message's masked places now show the new one.
    False when a page's link no longer exists (then the message is not retried).
    """
    row = db.session.get(OutboxMessage, message_id, populate_existing=True)
    if row.link_tokens is not None or not row.link_refs:
        return True
    pairs = links.load_refs(row.link_refs)
    stored = {
        token.token_hash: token
        for token in db.session.scalars(
            select(AccessToken).where(AccessToken.token_hash.in_([h for _m, h in pairs]))
        )
    }
    if len(stored) != len({h for _m, h in pairs}):
        return False
    fresh = []
    body, html = row.body_text, row.body_html
    for masked, token_hash in pairs:
        old = stored[token_hash]
        token = issue_token(
            TokenPurpose(old.purpose), old.expires_at, booking=old.booking, case=old.case
        )
        body = body.replace(masked, links.masked(token))
        html = html.replace(masked, links.masked(token))
        fresh.append(token)
    links.check_tokens(fresh)
    row.body_text, row.body_html = body, html
    row.link_tokens, row.link_refs = links.dump(fresh), links.refs(fresh)
    return True
