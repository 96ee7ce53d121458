"""UMIC Atenció telemàtica: video appointments and case files for consumers.

``create_app`` is the table of contents: each ``register_*`` function is short.
"""

from __future__ import annotations

import os
import sqlite3

from flask import Flask
from flask import render_template
from flask import request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import DEV_SECRET_KEY
from .config import Config


def create_app(config: type[Config] = Config, overrides: dict | None = None) -> Flask:
    """Build the application: defaults, then ``UMIC_*`` environment variables, then overrides."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config)
    app.config.from_prefixed_env("UMIC")
    if overrides:
        app.config.update(overrides)
    check_production_config(app)
    check_retention_schedule(app)
    os.makedirs(app.instance_path, exist_ok=True)
    if app.config["PROXY_COUNT"]:
        # Behind N reverse proxies: trust their X-Forwarded-* headers, no one else's.
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    register_compression(app)  # first: its after_request runs last, on the finished response
    register_extensions(app)
    register_blueprints(app)
    register_limits(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


#: The shortest secret key production accepts: it signs sessions, form tokens and stamps.
SECRET_KEY_MIN_BYTES = 32


def check_production_config(app: Flask) -> None:
    """Refuse to serve real users with the development secret key, or a short one."""
    if app.debug or app.testing:
        return
    key = app.config.get("SECRET_KEY") or ""
    if not key or key == DEV_SECRET_KEY:
        raise RuntimeError(
            "UMIC_SECRET_KEY is not set: refusing to start in production with the "
            "development key. Set UMIC_SECRET_KEY to a long random value "
            "(python -c 'import secrets; print(secrets.token_hex(32))')."
        )
    if len(key.encode("utf-8") if isinstance(key, str) else key) < SECRET_KEY_MIN_BYTES:
        raise RuntimeError(
            f"UMIC_SECRET_KEY is too short: at least {SECRET_KEY_MIN_BYTES} bytes in "
            "production (python -c 'import secrets; print(secrets.token_hex(32))')."
        )
    if app.config.get("RATELIMIT_ENABLED") and app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        # Not an error (one process is fine), but with several each keeps its own counters.
        app.logger.warning(
            "Rate limits are counted per process (UMIC_RATELIMIT_STORAGE_URI=memory://): with "
            "several gunicorn workers, point it at a shared store such as redis://host:6379."
        )


def check_retention_schedule(app: Flask) -> None:
    """Refuse to start with retention settings that do not make a schedule (the message
    names each setting at fault), rather than fail in the worker or on the privacy page."""
    from .privacy.schedule import from_config

    from_config(app.config, app.config.get("SIGN_IN_WINDOW_MINUTES"))


def register_compression(app: Flask) -> None:
    """Static files and public fragments compressed, unless a proxy does it (``COMPRESS``)."""
    from .web import compression

    compression.init_app(app)


def register_extensions(app: Flask) -> None:
    """Attach the unbound extensions of ``extensions.py``."""
    from .connections import ping_after_idle
    from .extensions import babel
    from .extensions import csrf
    from .extensions import db
    from .extensions import login_manager
    from .extensions import mail
    from .extensions import migrate
    from .models import availability
    from .models.types import render_item
    from .web import auth  # noqa: F401  (registers the Flask-Login callbacks)
    from .web import i18n
    from .web import logs
    from .web import security
    from .web.i18n import select_locale

    db.init_app(app)
    with app.app_context():
        ping_after_idle(db.engine, float(app.config["DATABASE_PING_AFTER_IDLE_SECONDS"]))
    availability.watch()  # free times cached per process stay right (models/availability.py)
    # SQLite can only ALTER in batch mode; compare_type catches column type changes.
    migrate.init_app(
        app,
        db,
        directory=os.path.join(app.root_path, os.pardir, "migrations"),
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    # No context processor: it would load the user on every page, and "strong" session
    # protection would then rewrite every citizen's session. Templates get a lazy proxy.
    login_manager.init_app(app, add_context_processor=False)
    app.jinja_env.globals["current_user"] = current_user
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the sign-in page explains itself; no English flash
    # Real: staff sessions are never marked permanent (umic.web.auth, docs/sessions.md).
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    mail.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    i18n.init_app(app)  # ?lang= remembered in the session; Content-Language and Vary
    security.init_app(app)
    logs.install()  # no link tokens or searches in access logs (werkzeug, gunicorn)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite: enforce foreign keys, wait for locks instead of failing, let readers run."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def register_blueprints(app: Flask) -> None:
    """Public booking, static pages, staff sign-in, administration."""
    from . import embed
    from .admin import bp as admin_bp
    from .booking.routes import bp as booking_bp
    from .casefiles.follow import bp as follow_bp  # "Com va la meva consulta?"
    from .casefiles.uploads import bp as uploads_bp
    from .mailbox.routes import bp as mailbox_bp  # the consumer mailbox (bústia)
    from .mediation.routes import bp as mediation_bp  # /empresa/<token>; staff panel on workspace
    from .pages import bp as pages_bp
    from .surveys.routes import bp as surveys_bp
    from .visits.routes import bp as visits_bp  # the mobile unit's visits, for citizens
    from .web.sign_in import bp as auth_bp
    from .workspace import bp as workspace_bp
    from .workspace.feed import feeds as feeds_bp

    app.register_blueprint(pages_bp)
    app.register_blueprint(booking_bp)
    app.register_blueprint(mailbox_bp)
    app.register_blueprint(visits_bp)
    embed.init_app(app)  # the same booking and mailbox under /incrustat/, for towns' iframes
    app.register_blueprint(uploads_bp)
    app.register_blueprint(follow_bp)
    app.register_blueprint(mediation_bp)
    app.register_blueprint(feeds_bp)
    app.register_blueprint(surveys_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(workspace_bp, url_prefix="/espai")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    from .privacy.routes import bp as privacy_bp  # one person's data: find, export, erase

    app.register_blueprint(privacy_bp, url_prefix="/admin/privacitat")


def register_limits(app: Flask) -> None:
    """Rate limits on booking, manage links, survey and upload links, sign-in (wrap views)."""
    from .web import limits

    limits.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    """Friendly error pages in the citizen's language, never a stack trace."""
    from . import embed
    from .web import slow_forms

    def render_error(error):
        code = getattr(error, "code", 500) or 500
        template = f"errors/{code}.html" if code in (400, 403, 404, 405, 429) else "errors/500.html"
        return render_template(template, error=error), code

    for code in (400, 403, 404, 405, 429, 500):
        app.register_error_handler(code, render_error)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        """An expired or missing form token: explain, and let the user go back with their data."""
        fallback = embed.csrf_fallback(error)  # in a town's iframe: open it in a new tab
        if fallback is not None:
            return fallback
        back = request.referrer if (request.referrer or "").startswith(request.host_url) else None
        resend = slow_forms.resend_expired_form()  # only too old: send what was typed again
        return render_template("errors/csrf.html", error=error, back=back, resend=resend), 400


def register_template_helpers(app: Flask) -> None:
    """Globals every template may use."""
    from .booking.service import call_minutes
    from .casefiles.labels import register as register_labels
    from .core.text import council_name
    from .web.htmx import is_htmx
    from .web.i18n import locale_name
    from .web.i18n import register_template_helpers as register_dates
    from .web.staff_menu import staff_menu

    register_dates(app)
    register_labels(app)
    app.jinja_env.globals.update(
        council_name=council_name,
        call_minutes=call_minutes,
        staff_menu=staff_menu,
        htmx_file=HTMX_FILE,
        is_htmx=is_htmx,
        error_items=error_items,
        locale_name=locale_name,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def error_items(form, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    """(link, message) for the error summary: one per field with an error, in form order."""
    items = [
        (f"#{field.id}", field.errors[0])
        for field in form
        if field.errors and field.type != "CSRFTokenField"
    ]
    return items + [item for item in extra if item[1]]


#: The vendored htmx (no CDN). Pinned: htmx 4 changes events and error swapping.
HTMX_VERSION = "2.0.11"
HTMX_FILE = f"js/htmx-{HTMX_VERSION}.min.js"


def register_commands(app: Flask) -> None:
    """``flask --app umic ...`` commands."""
    from .cli import register

    register(app)
