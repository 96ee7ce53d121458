"""The staff's "my account" page: their open sessions, and changing their password.

Any signed-in member of staff, about themselves only. Ending a session or changing the
password takes effect on the server at once (umic.web.auth, docs/sessions.md): the other
browser's next request goes to the sign-in page.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy import update
from wtforms import PasswordField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from .. import clock
from ..core.sessions import PASSWORD_MIN_LENGTH
from ..core.sessions import EndReason
from ..core.sessions import password_weakness
from ..extensions import db
from ..models import StaffSession
from .auth import current_session
from .auth import end_sessions
from .auth import password_matches
from .auth import sign_out
from .auth import staff_only
from .forms import Form
from .sign_in import bp

PASSWORD_MAX = 200


class PasswordForm(Form):
    current = PasswordField(
        _l("Contrasenya actual"),
        validators=[
            DataRequired(_l("Escriviu la contrasenya actual")),
            Length(max=PASSWORD_MAX),
        ],
    )
    new = PasswordField(
        _l("Contrasenya nova"),
        validators=[
            DataRequired(_l("Escriviu la contrasenya nova")),
            Length(
                max=PASSWORD_MAX,
                message=_l("La contrasenya pot tenir com a màxim %(max)d caràcters"),
            ),
        ],
    )
    repeat = PasswordField(
        _l("Repetiu la contrasenya nova"),
        validators=[DataRequired(_l("Torneu a escriure la contrasenya nova"))],
    )

    def check(self, user) -> bool:
        """The form's own checks, then the ones that need the user."""
        valid = self.validate()
        if self.current.data and not self.current.errors:
            if not password_matches(user, self.current.data):
                self.current.errors.append(_("La contrasenya actual no és correcta"))
                valid = False
        if self.new.data and not self.new.errors:
            weakness = password_weakness(self.new.data, user.username)
            if weakness == "short":
                self.new.errors.append(
                    _(
                        "La contrasenya nova ha de tenir com a mínim %(min)s caràcters",
                        min=PASSWORD_MIN_LENGTH,
                    )
                )
                valid = False
            elif weakness == "username":
                self.new.errors.append(_("La contrasenya nova no pot ser el vostre codi d'usuari"))
                valid = False
        if self.repeat.data and not self.repeat.errors and self.repeat.data != self.new.data:
            self.repeat.errors.append(_("Les dues contrasenyes noves no coincideixen"))
            valid = False
        return valid


def open_sessions(user_id: int) -> list[StaffSession]:
    """The user's sessions still in force (one query), the most recently used first."""
    config = current_app.config
    now = clock.now()
    return list(
        db.session.scalars(
            select(StaffSession)
            .where(
                StaffSession.user_id == user_id,
                StaffSession.ended_at.is_(None),
                StaffSession.created_at > now - timedelta(hours=config["STAFF_SESSION_MAX_HOURS"]),
                StaffSession.last_seen_at > now - timedelta(minutes=config["STAFF_IDLE_MINUTES"]),
            )
            .order_by(StaffSession.last_seen_at.desc(), StaffSession.id.desc())
        )
    )


@bp.route("/espai/compte", methods=["GET", "POST"])
@staff_only
def account():
    """My sessions, and the form to change my password."""
    form = PasswordForm()
    if form.is_submitted() and form.check(current_user):
        current_user.set_password(form.new.data)
        this = current_session()
        ended = end_sessions(
            current_user.id,
            EndReason.PASSWORD_CHANGED,
            clock.now(),
            except_id=this.id if this else None,
        )
        db.session.commit()
        if ended:
            flash(
                _(
                    "Heu canviat la contrasenya. Les altres sessions obertes s'han tancat.",
                ),
                "success",
            )
        else:
            flash(_("Heu canviat la contrasenya."), "success")
        return redirect(url_for("auth.account"), 303)
    this = current_session()
    this_id = this.id if this else None
    sessions = sorted(open_sessions(current_user.id), key=lambda s: s.id != this_id)  # this first
    return render_template(
        "auth/account.html",
        form=form,
        sessions=sessions,
        this_id=this_id,
        min_length=PASSWORD_MIN_LENGTH,
    )


@bp.post("/espai/compte/sessions/<int:session_id>/tanca")
@staff_only
def end_session(session_id: int):
    """End one of my sessions (this one too: that is signing out)."""
    this = current_session()
    if this is not None and this.id == session_id:
        sign_out(EndReason.ENDED_BY_USER)
        db.session.commit()
        return redirect(url_for("auth.login"), 303)
    ended = db.session.execute(
        update(StaffSession)
        .where(
            StaffSession.id == session_id,
            StaffSession.user_id == current_user.id,
            StaffSession.ended_at.is_(None),
        )
        .values(ended_at=clock.now(), end_reason=EndReason.ENDED_BY_USER)
    ).rowcount
    if not ended:
        abort(404)
    db.session.commit()
    flash(_("La sessió s'ha tancat."), "success")
    return redirect(url_for("auth.account"), 303)


@bp.post("/espai/compte/sessions/tanca-les-altres")
@staff_only
def end_other_sessions():
    """End every session of mine but this one."""
    this = current_session()
    ended = end_sessions(
        current_user.id, EndReason.ENDED_BY_USER, clock.now(), except_id=this.id if this else None
    )
    db.session.commit()
    flash(
        _("S'han tancat les altres sessions.") if ended else _("No teníeu cap altra sessió."),
        "success",
    )
    return redirect(url_for("auth.account"), 303)
