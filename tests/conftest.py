"""Shared fixtures: the app on a real database built by the migrations.

Every database test runs on SQLite (a real file) and, when ``UMIC_TEST_DATABASE_URL`` names a
PostgreSQL database, on PostgreSQL too. The schema comes only from ``flask db upgrade``:
once per session into a template file (SQLite) or the test database (PostgreSQL); each test
then gets a copy of the file, or emptied tables.

Time comes from the app's clock (``umic.clock``). With ``UMIC_TEST_NOW`` set to a moment
(``2026-12-23T17:30:00+01:00``), every test starts at that moment and the clock runs on from
there; without it, tests run at the real time. ``make test-days`` runs the suite at the awkward
moments (holidays, daylight-saving changes, New Year's Eve, a leap day).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from support.apps import MIGRATIONS
from support.apps import make_app
from support.htmlutil import csrf_token
from support.smtpserver import LoopbackSMTP
from umic import clock
from umic.extensions import db
from umic.models import StaffUser

# A developer's own UMIC_* settings must not leak into the tests' configuration.
for _name in [n for n in os.environ if n.startswith("UMIC_")]:
    if _name not in {
        "UMIC_TEST_DATABASE_URL",
        "UMIC_REQUIRE_ALL_TESTS",
        "UMIC_UPDATE_GOLDEN",
        "UMIC_TEST_NOW",
    }:
        del os.environ[_name]


def _test_now() -> datetime | None:
    """The moment every test starts at (``UMIC_TEST_NOW``), or None for the real time."""
    value = os.environ.get("UMIC_TEST_NOW", "").strip()
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise pytest.UsageError(f"UMIC_TEST_NOW needs a UTC offset: {value!r}")
    return moment


TEST_NOW = _test_now()
if TEST_NOW is not None:
    clock.move_to(TEST_NOW)  # module constants computed at collection see it too

PG_URL = os.environ.get("UMIC_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def pytest_report_header(config) -> str:
    return f"clock: {TEST_NOW.isoformat() if TEST_NOW else 'the real time'}"


@pytest.fixture(autouse=True)
def _clock_at_test_now() -> Iterator[None]:
    """Every test starts at ``UMIC_TEST_NOW`` (or the real time); a test may move or freeze
    ``umic.clock`` as it likes, it is put back afterwards."""
    if TEST_NOW is not None:
        clock.move_to(TEST_NOW)
    else:
        clock.reset()
    yield
    clock.reset()


def _cheapen_password_hashes(patch: pytest.MonkeyPatch) -> None:
    patch.setattr(StaffUser, "password_method", "pbkdf2:sha256:1")


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[pytest.MonkeyPatch]:
    """One round of PBKDF2 instead of scrypt: a third of the suite's time was hashing."""
    with pytest.MonkeyPatch.context() as patch:
        _cheapen_password_hashes(patch)
        yield patch


@pytest.fixture
def real_password_hashes(_cheap_password_hashes) -> Iterator[None]:
    """The app's own password hashing (scrypt), for the tests that check it."""
    _cheap_password_hashes.undo()
    yield
    _cheapen_password_hashes(_cheap_password_hashes)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An SQLite file migrated to head, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "umic.db"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_ready() -> str:
    """The PostgreSQL test database, emptied and migrated to head once per session."""
    if not PG_URL:
        pytest.skip("UMIC_TEST_DATABASE_URL is not set")
    app = make_app(PG_URL)
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()
    return PG_URL


def _truncate_all() -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app_config() -> dict:
    """Extra configuration for the app of one test module (override this fixture)."""
    return {}


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """Which database this test runs on."""
    return request.param


@pytest.fixture
def database_url(backend, request, tmp_path) -> str:
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "umic.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgres_ready")


@pytest.fixture
def app(database_url, backend, app_config) -> Iterator[Flask]:
    """The application on a fresh, migrated database."""
    app = make_app(database_url, app_config)
    with app.app_context():
        if backend == "postgresql":
            _truncate_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login(client):
    """Sign in through the real form."""

    def _login(username: str, password: str = "correct horse battery") -> None:
        page = client.get("/entra").get_data(as_text=True)
        data = {"csrf_token": csrf_token(page), "username": username, "password": password}
        response = client.post("/entra", data=data)
        assert response.status_code == 303, response.get_data(as_text=True)

    return _login


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1 and a free port, running; stopped at teardown."""
    server = LoopbackSMTP()
    server.start()
    yield server
    server.stop()
