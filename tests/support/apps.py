"""The app as the tests build it: on a given database, with a client that behaves like a
browser's separate requests, and with mail sent to a real SMTP server on loopback."""

from __future__ import annotations

import contextvars
from pathlib import Path

from flask import Flask
from flask.globals import _cv_app
from flask.testing import FlaskClient
from jinja2 import BytecodeCache

from umic import create_app
from umic.config import TestConfig

from .smtpserver import LoopbackSMTP

#: The migrations: the only way a test database gets its schema.
MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own application context, as in production.

    Tests hold an app context for their own queries; without this, requests would reuse it and
    share ``g`` (Flask-WTF caches the CSRF token there) and the database session with the test
    and with other clients.
    """

    def open(self, *args, **kwargs):
        def in_fresh_context():
            _cv_app.set(None)  # only inside this copied context
            return FlaskClient.open(self, *args, **kwargs)

        return contextvars.copy_context().run(in_fresh_context)


class _SharedBytecode(BytecodeCache):
    """Compiled templates kept in memory for every test's app: each test builds a new app,
    and compiling the same templates again was a fifth of the suite's time."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_BYTECODE = _SharedBytecode()


def make_app(url: str, overrides: dict | None = None) -> Flask:
    """The application on the database at ``url``, with the test configuration."""
    config = {"SQLALCHEMY_DATABASE_URI": url}
    config.update(overrides or {})
    app = create_app(TestConfig, overrides=config)
    app.test_client_class = IsolatedClient
    app.jinja_env.bytecode_cache = _BYTECODE
    return app


def smtp_config(server: LoopbackSMTP, **extra) -> dict:
    """App settings that send mail to ``server`` for real (override ``app_config`` with it)."""
    return {
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": server.port,
        "MAIL_TIMEOUT_SECONDS": 5,
        **extra,
    }
