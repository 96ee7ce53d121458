"""Pooled connections are checked after a quiet spell (umic/connections.py): one that died
while idle is replaced before a request uses it."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from support.apps import make_app
from support.days import working_days
from support.factories import make_world
from umic.extensions import db


@pytest.fixture
def app_config() -> dict:
    return {"DATABASE_PING_AFTER_IDLE_SECONDS": 0}


def _kill_the_pool(url: str) -> int:
    """End every other server process on the test database, as a restart would."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as killer:
        return len(
            killer.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        )


def test_a_connection_that_died_while_idle_is_replaced(app, client, backend, database_url):
    if backend != "postgresql":
        return  # an SQLite file has no server to lose
    make_world()
    assert client.get("/reserva/gelida/").status_code == 200
    with db.engine.connect() as connection:  # the pool now holds idle connections
        assert connection.execute(text("SELECT 1")).scalar() == 1
    db.session.remove()
    fragment = ("/reserva/gelida/?dia=" + working_days(1).isoformat(), {"HX-Request": "true"})
    assert client.get(fragment[0], headers=fragment[1]).status_code == 200
    assert _kill_the_pool(database_url) >= 2  # the pool's and the free times' number's own
    assert client.get("/reserva/gelida/").status_code == 200
    assert client.get("/reserva/gelida/").status_code == 200
    for _ in range(2):  # the number's own connection is opened again
        response = client.get(fragment[0], headers=fragment[1])
        assert response.status_code == 200 and 'name="slot"' in response.get_data(as_text=True)


def _pings(app, monkeypatch, requests: int) -> int:
    """How many pings ``requests`` requests to ``app`` cost, its pool warmed up first."""
    client = app.test_client()
    with app.app_context():
        dialect = db.engine.dialect
    client.get("/reserva/")  # a connection in the pool
    pings: list[int] = []
    original = dialect.do_ping

    def counting(dbapi_connection):
        pings.append(1)
        return original(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counting)
    for _ in range(requests):
        assert client.get("/reserva/").status_code == 200
    return len(pings)


def test_idle_connections_are_pinged(app, monkeypatch):
    assert _pings(app, monkeypatch, 3) == 3  # idle for 0 s or more: before every use


def test_connections_in_steady_use_are_not_pinged(app, database_url, monkeypatch):
    """The point of it: no round trip to the database before each request of a busy app."""
    busy = make_app(database_url)  # the default: after 10 idle seconds
    try:
        assert _pings(busy, monkeypatch, 3) == 0
    finally:
        with busy.app_context():
            db.engine.dispose()
