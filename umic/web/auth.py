"""Staff sign-in (Flask-Login) and role checks."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from functools import wraps

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import logout_user
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..extensions import login_manager
from ..models import Role
from ..models import SignInAttempt
from ..models import StaffUser
from .htmx import hx_redirect


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    """The signed-in member of staff, or None if the account is gone or disabled."""
    if not user_id.isdigit():
        return None
    user = db.session.get(StaffUser, int(user_id))
    return user if user is not None and user.active else None


@login_manager.unauthorized_handler
def unauthorized():
    """Send to sign-in; an htmx request gets a full-page redirect, never a fragment of it."""
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request") == "true":
        return hx_redirect(target)
    return redirect(target)


def staff_required() -> None:
    """For ``before_request``: any signed-in member of staff, active within the idle limit."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    now = int(clock.timestamp())
    idle_limit = current_app.config["STAFF_IDLE_MINUTES"] * 60
    last_seen = session.get("last_seen", now)
    if not isinstance(last_seen, int) or now - last_seen > idle_limit:
        logout_user()
        session.pop("last_seen", None)
        flash(_("La sessió s'ha tancat per inactivitat. Torneu a entrar."), "error")
        return login_manager.unauthorized()
    session["last_seen"] = now
    return None


def sign_in_throttled(username: str, ip: str, now: datetime) -> bool:
    """Too many recent failures for this user name, or from this address."""
    config = current_app.config
    since = now - timedelta(minutes=config["SIGN_IN_WINDOW_MINUTES"])
    failures = select(func.count()).where(
        SignInAttempt.success.is_(False), SignInAttempt.at >= since
    )
    by_user = db.session.scalar(failures.where(SignInAttempt.username == username))
    by_ip = db.session.scalar(failures.where(SignInAttempt.ip == ip))
    limit = config["SIGN_IN_MAX_FAILURES"]
    # An address may try a few user names (a shared office); a user name is locked sooner.
    return by_user >= limit or by_ip >= limit * 4


def record_sign_in(username: str, ip: str, now: datetime, success: bool) -> None:
    db.session.add(SignInAttempt(username=username[:40], ip=ip[:45], at=now, success=success))


def purge_sign_in_attempts(now: datetime) -> int:
    """Forget attempts older than a day (they only matter within the throttling window)."""
    result = db.session.execute(
        delete(SignInAttempt).where(SignInAttempt.at < now - timedelta(days=1))
    )
    db.session.commit()
    return result.rowcount or 0


def role_required(role: Role):
    """Decorator for a single view that needs a role."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role != role:
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_role = role  # read by ``required_role`` (the route-walk test)
        return wrapped

    return decorator


def role_guard(role: Role):
    """For a blueprint's ``before_request``: every view of it needs a signed-in ``role``."""

    def guard():
        refused = staff_required()
        if refused is not None:
            return refused
        if current_user.role != role:
            abort(403)
        return None

    guard.required_role = role
    return guard


def required_role(app, endpoint: str) -> str | None:
    """The role a view needs, by its own decorator or its blueprint's guard (None: any staff).

    The route-walk test asks this of every staff route, so a guard cannot be forgotten.
    """
    role = getattr(app.view_functions[endpoint], "required_role", None)
    blueprint = endpoint.rpartition(".")[0]
    for function in app.before_request_funcs.get(blueprint, ()):
        role = role or getattr(function, "required_role", None)
    return role
