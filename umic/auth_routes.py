"""Staff sign-in and sign-out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login import login_required
from flask_login import login_user
from flask_login import logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from .extensions import db
from .models import StaffUser
from .text import clean

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
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
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("admin.index")


@bp.route("/entra", methods=["GET", "POST"])
def login():
    """Sign in with the staff code and password."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        user = db.session.scalar(select(StaffUser).where(StaffUser.username == form.username.data))
        if user is not None and user.active and user.check_password(form.password.data):
            login_user(user)
            return redirect(_safe_next(request.args.get("next")), 303)
        failed = True
    return render_template("auth/login.html", form=form, failed=failed)


@bp.post("/surt")
@login_required
def logout():
    """Sign out (a POST, so another site cannot sign staff out)."""
    logout_user()
    return redirect(url_for("auth.login"), 303)
