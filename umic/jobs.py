"""What happens every few seconds: the one list of periodic jobs, and the worker that runs it.

``flask worker`` runs :func:`run_pass` forever (every ``WORKER_POLL_SECONDS``); ``flask outbox
send`` runs it once. Both read :data:`PERIODIC`, so they can never do different things, and a
new periodic job is one line here. Each job takes ``now`` (from ``umic.clock``), does its part
in its own transactions and returns how many things it did; then the outbox sends what is due.

A job that fails is logged and rolled back, and the others and the sending still run: a bug
in one feature must not stop the service's e-mail.

Every job is safe with several workers at once (one per server): what it takes, it takes with
a conditional UPDATE or a DELETE that the database lets exactly one transaction win.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from flask import current_app

from . import clock
from .booking import abuse as booking_abuse
from .booking.drafts import purge_expired_drafts
from .booking.reminders import queue_due_reminders
from .casefiles.documents import queue_document_reminders
from .casefiles.extract import extract_pending
from .extensions import db
from .mail.outbox import SendReport
from .mail.outbox import send_pending
from .mail.outbox import worker_name
from .mediation.service import queue_company_reminders
from .privacy.retention import apply_retention
from .privacy.retention import expire_sign_in_attempts
from .surveys.service import queue_due_surveys
from .triage.schedule import scheduled_training
from .web.auth import purge_staff_sessions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One periodic job: what the log calls it, and the function (``now`` -> how many)."""

    name: str
    run: Callable[[datetime], int]


#: Every periodic job, in the order a pass runs them (then the outbox sends).
PERIODIC: tuple[Job, ...] = (
    Job("reminders", queue_due_reminders),  # the day before a call
    Job("document reminders", queue_document_reminders),  # before a documents deadline
    Job("document text", extract_pending),  # text, OCR and suggested category
    Job("surveys", queue_due_surveys),  # after a call
    Job("expired drafts", purge_expired_drafts),  # unfinished bookings hold personal data
    Job("sign-in attempts", expire_sign_in_attempts),  # they hold addresses: the schedule's
    Job("retention", apply_retention),  # the retention schedule (umic.privacy.retention)
    Job("staff sessions", purge_staff_sessions),  # a network and a browser; 30 days
    Job("booking abuse", booking_abuse.watch),  # alerts; network keys erased after a day
    Job("company reminders", queue_company_reminders),  # a mediation's answer due soon
    Job("triage training", scheduled_training),  # when asked or due (umic.triage.schedule)
)


@dataclass
class PassReport:
    """What one pass did: each job's count (None: it failed), and the sending."""

    jobs: dict[str, int | None] = field(default_factory=dict)
    sent: SendReport = field(default_factory=SendReport)

    @property
    def failed_jobs(self) -> list[str]:
        return [name for name, count in self.jobs.items() if count is None]

    def describe(self) -> str:
        """'reminders: 1; ...; sign-in attempts: 0; 2 sent, 0 to retry, 0 failed'."""
        jobs = [
            f"{name}: {'FAILED' if count is None else count}" for name, count in self.jobs.items()
        ]
        sent = self.sent
        return "; ".join(
            [*jobs, f"{sent.sent} sent, {sent.retrying} to retry, {sent.failed} failed"]
        )


def run_pass(now: datetime | None = None, worker: str | None = None) -> PassReport:
    """Run every periodic job once, then send what is due."""
    now = now or clock.now()
    report = PassReport()
    for job in PERIODIC:
        try:
            report.jobs[job.name] = job.run(now)
        except Exception:
            db.session.rollback()
            log.exception("periodic job %r failed", job.name)
            report.jobs[job.name] = None
    report.sent = send_pending(now, worker=worker)
    return report


def run_worker(stop_after: int | None = None) -> None:
    """Run a pass every ``WORKER_POLL_SECONDS``, forever (or ``stop_after`` passes)."""
    worker = worker_name()
    poll = current_app.config["WORKER_POLL_SECONDS"]
    passes = 0
    log.info("worker %s started", worker)
    while stop_after is None or passes < stop_after:
        try:
            report = run_pass(worker=worker)
            sent = report.sent
            if sent.sent or sent.retrying or sent.failed or report.failed_jobs:
                log.info("pass: %s", report.describe())
        except Exception:  # keep the worker alive; the next pass tries again
            db.session.rollback()
            log.exception("worker pass failed")
        finally:
            db.session.remove()
        passes += 1
        if stop_after is None or passes < stop_after:
            time.sleep(poll)
