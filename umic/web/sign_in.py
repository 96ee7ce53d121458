"""Staff sign-in and sign-out."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login import login_required
from flask_login import login_user
from flask_login import logout_user
from sqlalchemy import select
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from .. import clock
from ..core.text import clean
from ..extensions import db
from ..models import StaffUser
from .auth import record_sign_in
from .auth import sign_in_throttled
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


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site after sign-in."""
    return local_path(target) or url_for("workspace.agenda")


@bp.route("/entra", methods=["GET", "POST"])
def login():
    """Sign in with the staff code and password."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    failed = throttled = False
    if form.validate_on_submit():
        now = clock.now()
        username, ip = form.username.data, request.remote_addr or ""
        if sign_in_throttled(username, ip, now):
            # Not even checked: the answer must not reveal whether the password was right.
            throttled = True
        else:
            user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
            ok = user is not None and user.active and user.check_password(form.password.data)
            record_sign_in(username, ip, now, success=ok)
            db.session.commit()
            if ok:
                clear_session()  # a fresh session: only the language carries over
                login_user(user)
                session.permanent = True
                session["last_seen"] = int(clock.timestamp())
                return redirect(_safe_next(request.args.get("next")), 303)
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
    """Sign out (a POST, so another site cannot sign staff out)."""
    logout_user()
    return redirect(url_for("auth.login"), 303)
