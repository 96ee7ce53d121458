"""Staff sign-in and sign-out (the rules are in umic.web.auth; docs/sessions.md)."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login import login_required
from sqlalchemy import select
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from .. import clock
from ..core.text import clean
from ..extensions import db
from ..models import StaffUser
from .auth import client_address
from .auth import password_matches
from .auth import record_sign_in
from .auth import sign_in_throttled
from .auth import sign_out
from .auth import start_session
from .forms import Form
from .i18n import clear_session
from .urls import local_path

bp = Blueprint("auth", __name__)


class LoginForm(Form):
    username = StringField(
        _l("Codi d'usuari"),
        filters=[lambda v: clean(v).upper()],
        validators=[DataRequired(_l("Escriviu el vostre codi d'usuari")), Length(max=40)],
    )
    password = PasswordField(
        _l("Contrasenya"),
        validators=[DataRequired(_l("Escriviu la contrasenya")), Length(max=200)],
    )


def _safe_next(target: str | None, user=None) -> str:
    """Only local paths: never redirect to another site after sign-in. Without one, a
    coordinator lands on their home (what needs attention), a technician on the agenda."""
    user = user if user is not None else current_user
    home = "admin.home" if getattr(user, "is_coordinator", False) else "workspace.agenda"
    return local_path(target) or url_for(home)


@bp.route("/entra", methods=["GET", "POST"])
def login():
    """Sign in with the staff code and password."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    failed = throttled = False
    if form.validate_on_submit():
        now = clock.now()
        username, ip = form.username.data, client_address()
        if sign_in_throttled(username, ip, now):
            # Not even checked: the answer must not reveal whether the password was right.
            throttled = True
        else:
            user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
            # The hasher runs whether or not the name exists (timing tells nothing).
            ok = password_matches(user, form.password.data) and user.active
            record_sign_in(username, ip, now, success=ok)
            if ok:
                clear_session()  # a fresh session: only the language carries over
                notices = start_session(user, now)
                db.session.commit()
                for notice in notices:
                    flash(notice, "error")
                return redirect(_safe_next(request.args.get("next"), user), 303)
            db.session.commit()
            failed = True
    wait_minutes = current_app.config["SIGN_IN_WINDOW_MINUTES"]
    page = render_template(
        "auth/login.html", form=form, failed=failed, throttled=throttled, wait_minutes=wait_minutes
    )
    if throttled:
        # As the address-wide rate limit does (umic.web.limits): scripts learn when to come back.
        return page, 429, {"Retry-After": str(wait_minutes * 60)}
    return page


@bp.post("/surt")
@login_required
def logout():
    """Sign out (a POST, so another site cannot sign staff out): the session ends on the
    server too, so a copy of the cookie no longer works."""
    sign_out()
    db.session.commit()
    return redirect(url_for("auth.login"), 303)


from . import account  # noqa: E402, F401  (adds the "my account" views to this blueprint)
