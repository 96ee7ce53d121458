"""When the worker trains the triage models (umic.triage.schedule, issue 15).

Real database (SQLite file and PostgreSQL) and the real training (umic.triage.service with
scikit-learn) on 40 short labelled cases, a fraction of a second. The tests' configuration has
TRIAGE_RETRAIN_HOURS = 0 (the worker trains only when asked); the schedule's tests set it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from support.concurrency import in_app_at_once
from support.factories import make_staff
from support.queries import counted_queries
from umic import clock
from umic import jobs
from umic.extensions import db
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import Role
from umic.models import TriageModel
from umic.models import TriageState
from umic.triage import schedule
from umic.triage.schedule import request_training
from umic.triage.schedule import scheduled_training

TEXTS = {
    ("consulta", "TELECOM"): "Vull saber quins drets tinc amb la companyia de telefon mobil {i}",
    ("reclamacio", "TELECOM"): "Reclamo que em tornin els diners cobrats de mes a la factura "
    "de la fibra i el mobil {i}",
    ("consulta", "TRANSPORT"): "Quin termini tinc per preguntar pels drets si el vol {i} "
    "s'endarrereix",
    ("reclamacio", "TRANSPORT"): "Exigeixo la devolucio del bitllet del vol cancel·lat {i} "
    "i la compensacio",
}


@pytest.fixture
def coordinator(app):
    return make_staff("OPSSCOORD", role=Role.COORDINATOR)


def labelled_cases(per_label: int = 10) -> None:
    """per_label finished cases of each (type, sector): labels a person stands behind."""
    cases = []
    for (case_type, sector), text in TEXTS.items():
        for i in range(per_label):
            n = len(cases) + 1
            cases.append(
                CaseFile(
                    year=2025,
                    sequence=n,
                    number=f"2025/{n:07d}",
                    case_type=case_type,
                    sector=sector,
                    description=text.format(i=i),
                    status=CaseStatus.TANCAT,
                )
            )
    db.session.add_all(cases)
    db.session.commit()


def state() -> TriageState | None:
    db.session.expire_all()
    return db.session.get(TriageState, 1)


def runs() -> list[TriageModel]:
    return db.session.scalars(select(TriageModel).order_by(TriageModel.id)).all()


def test_nothing_due_costs_one_query_and_trains_nothing(app):
    labelled_cases()
    now = clock.now()
    with counted_queries() as statements:
        assert scheduled_training(now) == 0
    assert len(statements) == 1, statements
    assert runs() == []
    # With a schedule and a recent model: still one query.
    app.config["TRIAGE_RETRAIN_HOURS"] = 24
    db.session.add(TriageModel(trained_at=now - timedelta(hours=1), status="ready"))
    db.session.commit()
    with counted_queries() as statements:
        assert scheduled_training(now) == 0
    assert len(statements) == 1, statements
    assert len(runs()) == 1


def test_asked_trains_once_and_clears_the_request(app, coordinator):
    labelled_cases()
    now = clock.now()
    request_training(actor=coordinator, now=now)
    request_training(actor=coordinator, now=now)  # twice is one request
    assert scheduled_training(now) == 1
    (run,) = runs()
    assert (run.status, run.trigger, run.requested_by_id) == ("ready", "request", coordinator.id)
    assert run.type_examples == 40 and run.sector_examples == 40
    row = state()
    assert row.requested_at is None and row.requested_by_id is None
    assert row.running_since is None and row.running_by == ""
    assert scheduled_training(now + timedelta(seconds=5)) == 0
    assert len(runs()) == 1


def test_a_request_made_during_the_training_is_kept_for_the_next_pass(
    app, coordinator, monkeypatch
):
    """The coordinator presses the button while the worker trains: one more training."""
    from umic.triage import service

    labelled_cases()
    now = clock.now()
    request_training(actor=coordinator, now=now)
    real = service.train_and_store

    def pressed_meanwhile(**kwargs):
        request_training(actor=coordinator, now=now + timedelta(minutes=1))
        return real(**kwargs)

    monkeypatch.setattr(service, "train_and_store", pressed_meanwhile)
    assert scheduled_training(now) == 1
    assert state().requested_at is not None
    monkeypatch.setattr(service, "train_and_store", real)
    assert scheduled_training(now + timedelta(minutes=2)) == 1
    assert state().requested_at is None and len(runs()) == 2


def test_due_by_age_with_a_schedule(app):
    labelled_cases()
    app.config["TRIAGE_RETRAIN_HOURS"] = 24
    now = clock.now()
    db.session.add(TriageModel(trained_at=now - timedelta(hours=23), status="ready"))
    db.session.commit()
    assert scheduled_training(now) == 0
    assert scheduled_training(now + timedelta(hours=1, seconds=1)) == 1
    newest = runs()[-1]
    assert (newest.trigger, newest.status, newest.requested_by_id) == ("schedule", "ready", None)
    assert scheduled_training(now + timedelta(hours=2)) == 0


def test_the_first_training_waits_for_enough_cases(app):
    app.config["TRIAGE_RETRAIN_HOURS"] = 24
    app.config["TRIAGE_MIN_EXAMPLES"] = 30
    labelled_cases(per_label=7)  # 28 cases with a sector
    now = clock.now()
    with counted_queries() as statements:
        assert scheduled_training(now) == 0
    assert len(statements) == 2, statements
    db.session.add_all(
        CaseFile(year=2026, sequence=n, number=f"2026/{n:07d}", sector=sector, description="Cas")
        for n, sector in ((1, "TELECOM"), (2, "TRANSPORT"))
    )
    db.session.commit()
    assert scheduled_training(now) == 1
    assert runs()[-1].trigger == "schedule"


def test_a_claim_held_by_another_worker_is_left_alone(app, coordinator):
    labelled_cases()
    now = clock.now()
    request_training(actor=coordinator, now=now)
    row = state()
    row.running_since, row.running_by = now - timedelta(minutes=10), "another:1:abc"
    db.session.commit()
    assert scheduled_training(now) == 0
    assert runs() == []
    row = state()
    assert row.requested_at is not None and row.running_by == "another:1:abc"


def test_a_stale_claim_is_taken_over(app, coordinator):
    """A worker killed mid-training (3 hours ago) does not block training for ever."""
    labelled_cases()
    now = clock.now()
    request_training(actor=coordinator, now=now)
    row = state()
    row.running_since, row.running_by = now - timedelta(hours=3), "dead:1:abc"
    db.session.commit()
    assert scheduled_training(now) == 1
    row = state()
    assert row.running_since is None and row.running_by == "" and row.requested_at is None
    assert [run.status for run in runs()] == ["ready"]


def test_a_failing_training_leaves_a_failed_run_and_the_pass_goes_on(app, coordinator, monkeypatch):
    """The training fails inside core.train (as running out of memory would): the service
    stores the failed run with its error, the job clears its claim and the request and
    returns 0, the worker's pass runs its other jobs, and the failed run counts as the newest
    for the schedule (no retry at every pass)."""
    from umic.core import triage as core

    def out_of_memory(*args, **kwargs):
        raise MemoryError("no hi cap")

    monkeypatch.setattr(core, "train", out_of_memory)
    labelled_cases()
    app.config["TRIAGE_RETRAIN_HOURS"] = 24
    now = clock.now()
    request_training(actor=coordinator, now=now)
    report = jobs.run_pass(now)
    assert report.jobs["triage training"] == 0
    assert report.failed_jobs == []
    assert list(report.jobs) == [job.name for job in jobs.PERIODIC]
    (run,) = runs()
    assert run.status == "failed" and "no hi cap" in run.error
    assert run.trigger == "request" and run.requested_by_id == coordinator.id
    row = state()
    assert row.requested_at is None and row.running_since is None
    # Neither the next pass nor the schedule retries before TRIAGE_RETRAIN_HOURS.
    assert scheduled_training(now + timedelta(seconds=5)) == 0
    assert scheduled_training(now + timedelta(hours=23)) == 0
    assert len(runs()) == 1


def test_the_claim_is_one_conditional_update(app):
    """Two workers that both saw the training due: the database lets one claim it."""
    now = clock.now()
    assert schedule._claim(now, "first:1:aaa") is True
    assert schedule._claim(now, "second:2:bbb") is False
    assert state().running_by == "first:1:aaa"
    schedule._release("second:2:bbb", None)  # not its claim: left alone
    assert state().running_by == "first:1:aaa"
    schedule._release("first:1:aaa", None)
    assert state().running_since is None


def test_two_workers_at_once_train_once(app, coordinator):
    """Two workers see the same request in the same instant: one trains, the other leaves it."""
    labelled_cases()
    now = clock.now()
    request_training(actor=coordinator, now=now)
    db.session.close()
    counts = in_app_at_once(app, lambda _: scheduled_training(now), range(2))
    assert sorted(counts) == [0, 1]
    assert len(runs()) == 1
    row = state()
    assert row.requested_at is None and row.running_since is None
