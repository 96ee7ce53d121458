"""The periodic jobs (umic.jobs): one list, run by `flask worker` and `flask outbox send`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from support.apps import smtp_config
from support.factories import make_world
from support.journey import Citizen
from umic import clock
from umic import jobs
from umic.extensions import db
from umic.models import BookingDraft
from umic.models import OutboxMessage
from umic.models import OutboxStatus
from umic.models import SignInAttempt


@pytest.fixture
def app_config(smtp) -> dict:
    return smtp_config(smtp)


def _attempts() -> list[str]:
    return list(db.session.scalars(select(SignInAttempt.username).order_by(SignInAttempt.id)))


def _old_and_new_sign_in_attempts() -> None:
    now = clock.now()
    db.session.add_all(
        [
            SignInAttempt(
                username="VELL", ip="192.0.2.1", at=now - timedelta(days=2), success=False
            ),
            SignInAttempt(
                username="NOU", ip="192.0.2.1", at=now - timedelta(hours=1), success=False
            ),
        ]
    )
    db.session.commit()


def test_outbox_send_runs_every_periodic_job_then_sends(app, client, runner, smtp):
    make_world()
    Citizen(client).book()
    _old_and_new_sign_in_attempts()
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    named = [part.split(":")[0] for part in result.output.strip().split("; ")[:-1]]
    assert named == [job.name for job in jobs.PERIODIC]
    assert "sign-in attempts: 1;" in result.output  # the purge runs (it never did before)
    assert result.output.strip().endswith("2 sent, 0 to retry, 0 failed")
    assert _attempts() == ["NOU"]
    assert len(smtp.messages()) == 2


def test_the_worker_runs_the_same_list(app, client, smtp):
    make_world()
    citizen = Citizen(client)
    citizen.details(citizen.first_slot())  # a draft, left unfinished
    db.session.execute(
        BookingDraft.__table__.update().values(expires_at=clock.now() - timedelta(minutes=1))
    )
    db.session.commit()
    _old_and_new_sign_in_attempts()
    jobs.run_worker(stop_after=1)
    assert _attempts() == ["NOU"]
    assert db.session.scalar(select(func.count(BookingDraft.id))) == 0


def test_a_failing_job_stops_neither_the_others_nor_the_mail(
    app, client, runner, smtp, monkeypatch
):
    def broken(now):
        db.session.add(SignInAttempt(username="A MITGES", ip="", at=now, success=False))
        db.session.flush()
        raise RuntimeError("a bug in one feature")

    monkeypatch.setattr(jobs, "PERIODIC", (jobs.Job("broken", broken), *jobs.PERIODIC))
    make_world()
    Citizen(client).book()
    _old_and_new_sign_in_attempts()
    report = jobs.run_pass()
    assert report.failed_jobs == ["broken"]
    assert report.jobs["sign-in attempts"] == 1
    assert report.sent.sent == 2
    assert _attempts() == ["NOU"]  # what the broken job half-did was rolled back
    statuses = set(db.session.scalars(select(OutboxMessage.status)))
    assert statuses == {OutboxStatus.SENT}
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code != 0 and "failed: broken" in result.output
