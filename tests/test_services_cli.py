"""`flask --app umic services`: the service citizens book and the length of its calls."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select

from support.factories import make_staff
from support.factories import make_town
from support.journey import Citizen
from umic.extensions import db
from umic.models import Service


def service(slug: str = "atencio-telematica") -> Service | None:
    db.session.expire_all()
    return db.session.scalar(select(Service).where(Service.slug == slug))


def test_a_new_installation_creates_its_service_and_changes_the_length(runner):
    result = runner.invoke(
        args=["services", "create", "Atenció telemàtica", "--name", "Consum. Atenció telemàtica"]
    )
    assert result.exit_code == 0, result.output
    assert service().duration_minutes == 30 and service().active
    result = runner.invoke(args=["services", "set", "atencio-telematica", "--minutes", "45"])
    assert result.exit_code == 0, result.output
    assert "45-minute calls" in result.output and service().duration_minutes == 45
    listed = runner.invoke(args=["services", "list"]).output
    assert "atencio-telematica  45 min  Consum. Atenció telemàtica" in listed


def test_a_length_that_is_not_a_multiple_of_five_minutes_is_refused(runner):
    runner.invoke(args=["services", "create", "atencio-telematica", "--name", "Atenció"])
    for minutes in ("0", "32", "300", "-5"):
        result = runner.invoke(args=["services", "set", "atencio-telematica", "--minutes", minutes])
        assert result.exit_code != 0 and "multiple of 5" in result.output, minutes
    assert service().duration_minutes == 30
    again = runner.invoke(args=["services", "create", "atencio-telematica", "--name", "X"])
    assert again.exit_code != 0 and "already exists" in again.output
    unknown = runner.invoke(args=["services", "set", "cap", "--minutes", "45"])
    assert unknown.exit_code != 0 and "no service" in unknown.output


def test_a_longer_call_changes_the_times_offered_and_what_the_pages_say(client, runner):
    make_town()
    make_staff(hours={weekday: [(time(9), time(11))] for weekday in range(7)})
    runner.invoke(args=["services", "create", "atencio-telematica", "--name", "Atenció"])
    runner.invoke(args=["services", "set", "atencio-telematica", "--minutes", "45"])
    citizen = Citizen(client)
    day = citizen.days()[1]  # never today, whose early times may have passed
    assert [slot[11:16] for slot in citizen.slots(day)] == ["09:00", "09:45"]
    assert "videotrucada de 45 minuts" in client.get("/reserva/").get_data(as_text=True)
    assert "dura 45 minuts" in client.get("/com-connectar").get_data(as_text=True)
