"""The foundation: configuration, migrations, command line, staff sign-in, production server."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import CheckConstraint
from sqlalchemy import func
from sqlalchemy import inspect
from sqlalchemy import select

from support.apps import MIGRATIONS
from support.factories import make_staff
from support.htmlutil import csrf_token
from support.htmlutil import soup
from umic import clock
from umic import create_app
from umic.config import Config
from umic.config import TestConfig
from umic.extensions import db
from umic.models import Closure
from umic.models import Municipality
from umic.models import OpeningHours
from umic.models import Service
from umic.models import StaffUser
from umic.models.types import include_object_for
from umic.web.auth import required_role

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "umic" / "data"


# --- Configuration --------------------------------------------------------------------------


def test_production_refuses_the_development_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("UMIC_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="UMIC_SECRET_KEY"):
        create_app(Config, overrides={"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


def test_every_key_can_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("UMIC_SECRET_KEY", "a-long-random-production-secret-of-48-characters")
    monkeypatch.setenv("UMIC_BOOKING_HORIZON_DAYS", "12")
    monkeypatch.setenv("UMIC_VIDEO_LINK_TEMPLATE", "https://video.example/{room}")
    monkeypatch.setenv("UMIC_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path}/env.db")
    app = create_app(Config)
    assert app.config["BOOKING_HORIZON_DAYS"] == 12
    assert app.config["VIDEO_LINK_TEMPLATE"] == "https://video.example/{room}"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.db")


@pytest.mark.parametrize(("enabled", "warned"), [(True, True), (False, False)])
def test_production_warns_when_rate_limits_are_counted_per_process(
    monkeypatch, tmp_path, caplog, enabled, warned
):
    """memory:// (the default) keeps counters per process: fine for one, not for several."""
    monkeypatch.setenv("UMIC_SECRET_KEY", "a-long-random-production-secret-of-48-characters")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    database = f"sqlite:///{tmp_path}/x.db"
    create_app(
        Config, overrides={"SQLALCHEMY_DATABASE_URI": database, "RATELIMIT_ENABLED": enabled}
    )
    assert ("counted per process" in caplog.text) is warned


def test_readme_documents_every_configuration_key():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    keys = [k for k in dir(Config) if k.isupper()]
    missing = [k for k in keys if f"UMIC_{k}" not in readme]
    assert not missing, f"README.md does not document: {missing}"


def test_security_headers_on_every_page(client):
    response = client.get("/reserva/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_htmx_is_vendored_and_pinned(client):
    page = client.get("/reserva/").get_data(as_text=True)
    src = soup(page).select_one("script[src]")["src"]
    assert src == "/static/js/htmx-2.0.11.min.js"
    with client.get(src) as response:
        assert b'version:"2.0.11"' in response.data
    scripts = soup(page).select("script")
    assert len(scripts) == 1, "htmx is the only script"
    assert all(s.get("src") for s in scripts), "no inline scripts (strict CSP)"


# --- Migrations -------------------------------------------------------------------------------


def test_migrations_build_the_schema_the_models_describe(app, backend):
    """What `flask db check` does: the migrated schema and the models have no difference."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_object": include_object_for(backend)},
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def _codes_in(sqltext: str) -> set[str]:
    return set(re.findall(r"'([^']*)'", sqltext))


def test_every_check_constraint_of_the_models_is_the_migrated_one(app, backend):
    """Alembic does not compare CHECK constraints: a code added to ``core.codes`` without a
    migration would pass the test above and be refused by the database. Here the codes each
    constraint lists in the migrated database must be the ones its model lists."""
    inspector = inspect(db.engine)
    for table in db.metadata.sorted_tables:
        expected = {
            constraint.name: _codes_in(str(constraint.sqltext))
            for constraint in table.constraints
            if isinstance(constraint, CheckConstraint)
        }
        found = {
            check["name"]: _codes_in(check["sqltext"])
            for check in inspector.get_check_constraints(table.name)
        }
        assert found == expected, table.name


def test_migrations_go_down_and_up_again(tmp_path):
    app = create_app(
        TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/m.db"}
    )
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        assert "booking_claim" in inspect(db.engine).get_table_names()
        downgrade(directory=MIGRATIONS, revision="base")
        assert "booking_claim" not in inspect(db.engine).get_table_names()
        upgrade(directory=MIGRATIONS)
        assert "booking" in inspect(db.engine).get_table_names()
        db.engine.dispose()


# --- Command line -------------------------------------------------------------------------------


def test_municipalities_import_loads_the_311_real_towns_idempotently(app, runner):
    csv = str(DATA / "municipalities_barcelona.csv")
    omics = str(DATA / "consumer_offices.csv")
    first = runner.invoke(args=["municipalities", "import", csv, "--offices", omics])
    assert first.exit_code == 0, first.output
    assert "311 created" in first.output and "10 newly marked" in first.output
    second = runner.invoke(args=["municipalities", "import", csv, "--offices", omics])
    assert "0 created, 0 updated, 311 unchanged, 0 newly marked" in second.output
    assert db.session.scalar(select(func.count()).select_from(Municipality)) == 311
    town = db.session.scalar(select(Municipality).where(Municipality.ine_code == "08289"))
    assert (town.name, town.slug, town.comarca) == (
        "Torrelles de Llobregat",
        "torrelles-de-llobregat",
        "Baix Llobregat",
    )
    assert town.population == 6170 and not town.has_omic
    barcelona = db.session.scalar(select(Municipality).where(Municipality.ine_code == "08019"))
    assert barcelona.has_omic


def test_a_bad_municipalities_file_changes_nothing(app, runner, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "ine_code,name,comarca,population,population_year\n"
        "08001,Abrera,Baix Llobregat,13227,2025\n"
        "8002,Aguilar de Segarra,Bages,292,2025\n"
        "08003,Alella,Maresme,molts,2025\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["municipalities", "import", str(bad)])
    assert result.exit_code != 0
    assert "line 3" in result.output and "line 4" in result.output
    assert db.session.scalar(select(func.count()).select_from(Municipality)) == 0


def test_demo_data_loads_once(app, runner):
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0, result.output
    enrolled = db.session.scalars(select(Municipality).where(Municipality.enrolled_on.is_not(None)))
    names = {m.name for m in enrolled}
    assert len(names) == 25
    assert {"Torrelles de Llobregat", "Santa Maria de Palautordera", "Begues", "Gelida"} <= names
    assert (
        db.session.scalar(
            select(func.count()).select_from(Municipality).where(Municipality.has_omic)
        )
        == 10
    )
    technicians = db.session.scalars(select(StaffUser).where(StaffUser.role == "technician")).all()
    assert len(technicians) == 3
    assert db.session.scalar(select(func.count()).select_from(OpeningHours)) >= 15
    assert db.session.scalar(select(Service.duration_minutes)) == 30
    again = runner.invoke(args=["demo", "load", "--if-empty"])
    assert "already has data" in again.output


def test_demo_data_shows_the_seeds_pilot(app, runner):
    """make run opens on the real pilot: the seed's per-town table and survey figures."""
    from zoneinfo import ZoneInfo

    from umic.models import SurveyResponse
    from umic.stats.requests import Period
    from umic.stats.requests import requests_by_town

    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    names = {m.id: m.name for m in db.session.scalars(select(Municipality))}
    tz = ZoneInfo("Europe/Madrid")
    pilot = requests_by_town(Period(date(2025, 3, 1), date(2025, 5, 31)), tz)
    table = {names[town]: tuple(counts.values()) for town, counts in pilot.items()}
    assert table == {
        "Torrelles de Llobregat": (4, 0, 5),
        "Santa Maria de Palautordera": (6, 0, 6),
        "Begues": (4, 0, 0),
        "Gelida": (7, 0, 9),
    }
    seven_months = requests_by_town(Period(date(2025, 3, 1), date(2025, 9, 30)), tz)
    assert sum(c["telematica"] for c in seven_months.values()) == 90
    attention, competence, answers = db.session.execute(
        select(
            func.avg(SurveyResponse.attention),
            func.avg(SurveyResponse.competence),
            func.count(),
        )
    ).one()
    assert (round(float(attention), 1), round(float(competence), 1), answers) == (9.4, 9.3, 20)
    resolved = dict(
        db.session.execute(
            select(SurveyResponse.resolved, func.count()).group_by(SurveyResponse.resolved)
        ).all()
    )
    assert resolved == {"totalment": 14, "parcialment": 6}
    # The mobile unit's visits (demo/visits.py): Gelida's next one is bookable, and the people
    # seen at a past visit are UMIC case files of that visit.
    from umic.models import CaseFile
    from umic.models import UmicVisit

    coming = db.session.scalars(select(UmicVisit).where(UmicVisit.start_utc > clock.now())).all()
    assert len({visit.municipality_id for visit in coming}) >= 4
    gelida = [visit for visit in coming if names[visit.municipality_id] == "Gelida"]
    assert gelida and gelida[0].bookable and gelida[0].place == "Plaça de la Vila"
    seen = db.session.scalars(select(CaseFile).where(CaseFile.visit_id.is_not(None))).all()
    assert {case.channel for case in seen} == ({"umic"} if clock.now().year > 2025 else set())


def test_users_create_asks_for_the_password_and_hashes_it(app, runner, real_password_hashes):
    result = runner.invoke(
        args=["users", "create", "opssnou", "--role", "coordinator", "--email", "nou@example.org"],
        input="una contrasenya llarga\nuna contrasenya llarga\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == "OPSSNOU"))
    assert user.role == "coordinator"
    assert "una contrasenya llarga" not in user.password_hash
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("una contrasenya llarga") and not user.check_password("x")
    duplicate = runner.invoke(
        args=["users", "create", "OPSSNOU", "--email", "x@example.org", "--password", "0123456789"]
    )
    assert duplicate.exit_code != 0


def test_closures_add_from_the_command_line(app, runner):
    make_staff("OPSSVEGAVN")
    assert runner.invoke(args=["closures", "add", "2030-12-24", "--reason", "Nadal"]).exit_code == 0
    result = runner.invoke(args=["closures", "add", "2030-12-31", "--technician", "opssvegavn"])
    assert result.exit_code == 0
    rows = db.session.scalars(select(Closure).order_by(Closure.day)).all()
    assert [(c.day.isoformat(), c.staff_id is None) for c in rows] == [
        ("2030-12-24", True),
        ("2030-12-31", False),
    ]
    assert runner.invoke(args=["closures", "add", "2030-12-30", "--technician", "nobody"]).exit_code


# --- Staff sign-in --------------------------------------------------------------------------------


def test_sign_in_and_out(client, login):
    make_staff("OPSSCOORD", role="coordinator")
    login("OPSSCOORD")
    assert client.get("/espai/").status_code == 200
    page = client.get("/espai/").get_data(as_text=True)
    client.post("/surt", data={"csrf_token": csrf_token(page)})
    assert client.get("/espai/").status_code == 302


def test_wrong_password_shows_an_error_without_saying_which_part(client):
    make_staff("OPSSVEGAVN")
    page = client.get("/entra").get_data(as_text=True)
    response = client.post(
        "/entra", data={"csrf_token": csrf_token(page), "username": "opssvegavn", "password": "no"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "El codi d'usuari o la contrasenya no són correctes" in html
    assert soup(html).title.get_text().startswith("Error: ")


def test_sign_in_never_redirects_to_another_site(client):
    make_staff("OPSSVEGAVN", role="coordinator")
    page = client.get("/entra").get_data(as_text=True)
    from support.factories import PASSWORD

    response = client.post(
        "/entra?next=//evil.example/",
        data={"csrf_token": csrf_token(page), "username": "OPSSVEGAVN", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/"  # a coordinator's home


def test_every_staff_route_needs_sign_in_and_the_right_role(app, client, login):
    """Walk the URL map: anonymous users go to sign-in; technicians get 403 on coordinators'."""
    make_staff("OPSSVEGAVN")
    staff_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith(("/admin", "/espai"))]
    assert staff_rules
    # The sign-in and role checks answer before any view runs: any value fits any argument.
    samples = defaultdict(lambda: 1)

    def url(rule):
        return rule.build({k: samples[k] for k in rule.arguments}, append_unknown=False)[1]

    # A valid form token, so what answers a POST is the sign-in check, not the CSRF check.
    token = csrf_token(client.get("/entra").get_data(as_text=True))
    for rule in staff_rules:
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(url(rule), method=method, data={"csrf_token": token})
        assert response.status_code in (302, 303), (rule.rule, response.status_code)
        assert "/entra" in response.headers["Location"]

    login("OPSSVEGAVN")
    coordinator_only = [r for r in staff_rules if required_role(app, r.endpoint) == "coordinator"]
    # Every /admin page by the blueprint's guard; some of the workspace's by their own.
    assert {r.endpoint for r in staff_rules if r.rule.startswith("/admin")} <= {
        r.endpoint for r in coordinator_only
    }
    assert {"admin.outbox", "admin.outbox_retry", "workspace.reassign_booking"} <= {
        r.endpoint for r in coordinator_only
    }
    page = client.get("/espai/").get_data(as_text=True)
    for rule in coordinator_only:
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(url(rule), method=method, data={"csrf_token": csrf_token(page)})
        assert response.status_code == 403, (rule.rule, response.status_code)


def test_an_expired_session_on_an_htmx_request_sends_the_page_to_sign_in(client):
    response = client.get("/admin/correu/", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/entra")


# --- Production server ----------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_gunicorn_serves_the_app_with_several_workers(sqlite_template, tmp_path):
    database = tmp_path / "prod.db"
    database.write_bytes(sqlite_template.read_bytes())
    port = _free_port()
    env = {
        **os.environ,
        "UMIC_SECRET_KEY": "production-secret-for-the-test-at-least-32-bytes",
        "UMIC_SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
    }
    env.pop("FLASK_DEBUG", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "--workers", "3", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/salut", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    output = process.stdout.read().decode() if process.poll() is not None else ""
                    pytest.fail(f"gunicorn did not start: {output}")
                time.sleep(0.2)
        for _ in range(6):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/reserva/", timeout=5) as r:
                assert r.status == 200 and b"En quin municipi viviu?" in r.read()
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def test_citizen_pages_set_only_the_session_cookie_and_only_once(client):
    """No analytics, no remember-me churn: one necessary cookie, so no cookie banner."""
    from support.factories import make_world

    make_world()
    first = client.get("/reserva/gelida/").headers.getlist("Set-Cookie")
    assert len(first) == 1 and first[0].startswith("session=")
    assert "HttpOnly" in first[0] and "SameSite=Lax" in first[0]
    for url in ("/reserva/gelida/", "/reserva/", "/com-connectar"):
        assert client.get(url).headers.getlist("Set-Cookie") == [], url


def test_the_demo_data_raises_no_alarm_of_unusual_bookings(app, runner):
    """make run must not open on a coordinator alert: the demo's upcoming bookings were made
    over the last days, not all in the minute it was loaded."""
    from umic.booking.abuse import watch
    from umic.config import Config
    from umic.models import OutboxMessage

    for key in ("BOOKING_ALERT_NEW_PER_HOUR", "BOOKING_ALERT_NEW_PER_DAY"):
        app.config[key] = getattr(Config, key)
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    watch(clock.now())
    kinds = db.session.scalars(select(OutboxMessage.kind)).all()
    assert "booking_alert" not in kinds


def test_every_entry_of_the_staff_menu_is_a_page_of_the_app(app):
    """The menu leaves out endpoints the app lacks (an area switched off); a misspelt one
    would vanish silently, so every entry must name a real view."""
    from umic.web.staff_menu import MENU

    missing = [
        endpoint for endpoint, _label, _coordinators in MENU if endpoint not in app.view_functions
    ]
    assert missing == []
