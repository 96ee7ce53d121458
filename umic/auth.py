"""Staff sign-in (Flask-Login) and role checks."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user

from .extensions import db
from .extensions import login_manager
from .htmx import hx_redirect
from .models import Role
from .models import StaffUser


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
    """For ``before_request``: any signed-in member of staff."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


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

        return wrapped

    return decorator
