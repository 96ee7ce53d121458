"""When the triage models are trained: a coordinator's request, or the worker's schedule.

``request_training`` (the figures page's "Torna a entrenar ara" button) only writes the wish
in the shared state row (``triage_state``, id 1); ``scheduled_training`` is one of the
worker's periodic jobs (umic.jobs.PERIODIC) and does the training, when:

- **asked**: ``triage_state.requested_at`` is set (trigger "request", the requester recorded);
- **due**: ``TRIAGE_RETRAIN_HOURS`` > 0 and the newest run (ready *or failed*) is older than
  that, or there is no run yet and at least ``TRIAGE_MIN_EXAMPLES`` cases have a sector
  (trigger "schedule"). A failed run counts as the newest one on purpose: a training that fails
  (it stores its "failed" row, umic.triage.service) is tried again at the next period, not at
  every pass of the worker; the coordinators see the error on the figures page.

**Cheap when nothing is due.** The job runs every few seconds (``WORKER_POLL_SECONDS``): it
reads the state row and the newest run's date in one tiny query (two only while no model has
ever been trained and a schedule is set: then it also checks, with a LIMIT, whether there are
enough cases with a sector), and returns.

**One worker trains.** Every server may run a worker. A worker takes the training with one
conditional UPDATE of the state row (``running_since`` empty or older than
:data:`STALE_CLAIM`, so a worker killed mid-training does not block training forever) that the
database lets exactly one transaction win, and commits that claim before training. After the
claim it reads the state again: if another worker finished a training between our first read
and our claim, there is nothing left to do. When it ends it clears its own claim (only if it
still holds it) and the request it served (only a request made before it started: a button
pressed during the training asks for another one).

**Training blocks the worker's pass while it runs.** ``train_and_store`` runs inside the job, so
the other jobs of that pass and the outbox wait for it: about two and a half minutes at 100,000
cases (benchmarks/triage_page.py: 142 s, a 20 % held-out evaluation included, on this two-core
machine while it was shared), under a minute at 10,000, seconds at the demo's size. That is
acceptable because it happens at most once per ``TRIAGE_RETRAIN_HOURS`` (a day by default) or
when a coordinator asks; what falls due meanwhile (an e-mail, a reminder for the next day) only
goes out that much later, nothing is lost; and with a worker on each of two servers the other
one keeps sending. Training in a separate process or thread would need its own supervision and
the same claim: not worth it while a training takes minutes. If a training ever took hours, the
claim's :data:`STALE_CLAIM` would have to grow with it (another worker would take the claim
over).

**On failure** the job clears its claim and the request (so a failing training is not retried
in a tight loop: the coordinator sees the failed run on the figures page and may ask again),
logs the error, and returns 0: the pass goes on with the other jobs.
"""

from __future__ import annotations

import logging
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from ..extensions import db
from ..mail.outbox import worker_name
from ..models import CaseFile
from ..models import StaffUser
from ..models import TriageModel
from ..models import TriageState

log = logging.getLogger(__name__)

#: The state row's id (there is only one).
STATE_ID = 1
#: A claim older than this belonged to a worker that died mid-training: another may take it.
STALE_CLAIM = timedelta(hours=2)


def _ensure_state() -> None:
    """The state row, created if missing (INSERT ... ON CONFLICT DO NOTHING: two workers may
    create it at once, and the tests empty every table)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(TriageState).values(id=STATE_ID, running_by="").on_conflict_do_nothing()
    )


def request_training(*, actor: StaffUser, now: datetime) -> None:
    """A coordinator asks for a training: the worker does it in its next pass. Commits.

    Asking again while a request is waiting only updates who asked and when: one training.
    """
    _ensure_state()
    db.session.execute(
        update(TriageState)
        .where(TriageState.id == STATE_ID)
        .values(requested_at=now, requested_by_id=actor.id)
    )
    db.session.commit()


def _state() -> tuple[datetime | None, int | None, datetime | None, datetime | None]:
    """(requested_at, requested_by_id, running_since, the newest run's trained_at): one query."""
    state = select(TriageState).where(TriageState.id == STATE_ID)
    row = db.session.execute(
        select(
            state.with_only_columns(TriageState.requested_at).scalar_subquery(),
            state.with_only_columns(TriageState.requested_by_id).scalar_subquery(),
            state.with_only_columns(TriageState.running_since).scalar_subquery(),
            select(func.max(TriageModel.trained_at)).scalar_subquery(),
        )
    ).one()
    return row[0], row[1], row[2], row[3]


def _enough_examples(minimum: int) -> bool:
    """At least ``minimum`` usable cases with a sector (a LIMIT: it never counts them all)."""
    found = db.session.execute(
        select(CaseFile.id)
        .where(
            CaseFile.sector != "",
            CaseFile.description != "",
            CaseFile.anonymised_at.is_(None),
        )
        .offset(max(minimum, 1) - 1)
        .limit(1)
    ).first()
    return found is not None


def _trigger(requested_at: datetime | None, newest: datetime | None, now: datetime) -> str | None:
    """Why to train now ("request", "schedule"), or None."""
    if requested_at is not None:
        return "request"
    hours = current_app.config["TRIAGE_RETRAIN_HOURS"]
    if not hours or hours <= 0:
        return None
    if newest is not None:
        return "schedule" if newest <= now - timedelta(hours=hours) else None
    return "schedule" if _enough_examples(current_app.config["TRIAGE_MIN_EXAMPLES"]) else None


def _claim(now: datetime, worker: str) -> bool:
    """Take the training for this worker; committed. False when another worker holds it."""
    _ensure_state()
    taken = db.session.execute(
        update(TriageState)
        .where(
            TriageState.id == STATE_ID,
            (TriageState.running_since.is_(None)) | (TriageState.running_since < now - STALE_CLAIM),
        )
        .values(running_since=now, running_by=worker)
    ).rowcount
    db.session.commit()
    return taken == 1


def _release(worker: str, served: datetime | None) -> None:
    """Clear our claim (if we still hold it) and the request we served (if made before)."""
    db.session.rollback()
    values: dict = {
        "running_since": case(
            (TriageState.running_by == worker, None), else_=TriageState.running_since
        ),
        "running_by": case((TriageState.running_by == worker, ""), else_=TriageState.running_by),
    }
    if served is not None:
        cleared = TriageState.requested_at <= served
        values["requested_at"] = case((cleared, None), else_=TriageState.requested_at)
        values["requested_by_id"] = case((cleared, None), else_=TriageState.requested_by_id)
    db.session.execute(update(TriageState).where(TriageState.id == STATE_ID).values(**values))
    db.session.commit()


def scheduled_training(now: datetime) -> int:
    """The worker's job: train when asked or due; 1 if it trained, 0 otherwise."""
    requested_at, _by, running_since, newest = _state()
    db.session.commit()  # end the read: the other jobs run in their own transactions
    if running_since is not None and running_since >= now - STALE_CLAIM:
        return 0  # another worker is training
    if _trigger(requested_at, newest, now) is None:
        return 0
    worker = worker_name()[:120]
    if not _claim(now, worker):
        return 0
    # Read again under our claim: another worker may have just finished this very training.
    requested_at, requested_by_id, _running, newest = _state()
    trigger = _trigger(requested_at, newest, now)
    if trigger is None:
        _release(worker, None)
        return 0
    actor = db.session.get(StaffUser, requested_by_id) if requested_by_id else None

    from . import service  # scikit-learn is imported only by the worker that trains

    log.info("triage training started (%s) by %s", trigger, worker)
    try:
        model = service.train_and_store(now=now, trigger=trigger, actor=actor)
    except Exception:
        # train_and_store has logged the error with its traceback and stored the failed run.
        log.error("triage training failed (%s); no new try before the next period", trigger)
        _release(worker, requested_at)
        return 0
    log.info("triage training done: model %s in %.1f s", model.id, model.seconds)
    _release(worker, requested_at)
    return 1
