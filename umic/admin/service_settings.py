"""The service citizens book, edited by coordinators (``/admin/servei/``).

What a coordinator changes without a database console: the service's name and description in
each language (Catalan required, the source language; Spanish and English optional: empty
means the reader sees the Catalan text, ``Service.name_in``), the length of a call and the
video link template. The rules for the last two are the ones ``flask --app umic services``
applies (``umic.core.calls``): one rule, two doors.

Changing the length changes only the times offered from now on (the length is also the step
between start times, ``core/scheduling.py``); bookings already made keep their start, end and
claims: nothing here touches them.
"""

from __future__ import annotations

from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import ValidationError

from ..booking import service as booking_service
from ..core import calls
from ..extensions import db
from ..models import Service
from ..web.forms import DESCRIPTION_MAX
from ..web.forms import NAME_MAX
from ..web.forms import Form
from ..web.forms import line
from ..web.forms import text
from . import bp

#: The languages of the form, Catalan first (required), each with its own name and description.
LANGUAGES = ("ca", *Service.OTHER_LANGUAGES)

_NAME_TOO_LONG = _l("El nom ha de tenir 120 caràcters o menys")
_DESCRIPTION_TOO_LONG = _l("La descripció ha de tenir 1000 caràcters o menys")

_LINK_MESSAGES = {
    calls.LinkProblem.NOT_HTTPS: _l(
        "L'enllaç ha de començar per https://, com ara https://meet.jit.si/umic-{room}"
    ),
    calls.LinkProblem.NO_HOST: _l(
        "Escriviu l'adreça completa del servidor, com ara https://meet.jit.si/umic-{room}"
    ),
    calls.LinkProblem.SPACES: _l("L'enllaç no pot tenir espais"),
    calls.LinkProblem.PLACEHOLDER: _l(
        "L'únic camp variable permès és {room}: esborreu les altres claus { }"
    ),
    calls.LinkProblem.TOO_LONG: _l("L'enllaç ha de tenir 500 caràcters o menys"),
}


def _whole_minutes(form, field) -> None:
    """A multiple of 5 between 15 and 120 (``calls.call_minutes_ok``); keeps what was typed."""
    typed = (field.data or "").strip()
    minutes = int(typed) if typed.isdigit() else None
    if not calls.call_minutes_ok(minutes):
        raise ValidationError(
            _(
                "Escriviu la durada en minuts: un múltiple de %(step)s entre %(low)s i %(high)s, "
                "com ara 30 o 45",
                step=calls.CALL_MINUTES_STEP,
                low=calls.MIN_CALL_MINUTES,
                high=calls.MAX_CALL_MINUTES,
            )
        )


def _video_link(form, field) -> None:
    problem = calls.video_link_problem(field.data) if field.data else None
    if problem is not None:
        raise ValidationError(_LINK_MESSAGES[problem])


class ServiceForm(Form):
    """The service's names and descriptions, the length of a call, the video link."""

    name = StringField(
        _l("Nom del servei en català"),
        filters=[line],
        validators=[
            DataRequired(_l("Escriviu el nom del servei en català")),
            Length(max=NAME_MAX, message=_NAME_TOO_LONG),
        ],
    )
    name_es = StringField(
        _l("Nom del servei en castellà"),
        filters=[line],
        validators=[Length(max=NAME_MAX, message=_NAME_TOO_LONG)],
    )
    name_en = StringField(
        _l("Nom del servei en anglès"),
        filters=[line],
        validators=[Length(max=NAME_MAX, message=_NAME_TOO_LONG)],
    )
    description = TextAreaField(
        _l("Descripció en català"),
        filters=[text],
        validators=[Length(max=DESCRIPTION_MAX, message=_DESCRIPTION_TOO_LONG)],
    )
    description_es = TextAreaField(
        _l("Descripció en castellà"),
        filters=[text],
        validators=[Length(max=DESCRIPTION_MAX, message=_DESCRIPTION_TOO_LONG)],
    )
    description_en = TextAreaField(
        _l("Descripció en anglès"),
        filters=[text],
        validators=[Length(max=DESCRIPTION_MAX, message=_DESCRIPTION_TOO_LONG)],
    )
    minutes = StringField(_l("Durada de cada videotrucada (minuts)"), validators=[_whole_minutes])
    video_link = StringField(
        _l("Enllaç de la videotrucada"), filters=[line], validators=[_video_link]
    )


def _field(lang: str, what: str) -> str:
    return what if lang == "ca" else f"{what}_{lang}"


def _initial(service: Service) -> dict:
    data = {
        _field(lang, what): getattr(service, _field(lang, what)) or ""
        for lang in LANGUAGES
        for what in ("name", "description")
    }
    data["minutes"] = str(service.duration_minutes)
    data["video_link"] = service.video_link_template or ""
    return data


#: Each language's fieldset: its legend, and whether it may be left empty.
_LEGENDS = {"ca": _l("En català"), "es": _l("En castellà"), "en": _l("En anglès")}


def _languages(form: ServiceForm) -> list[tuple[str, str, object, object]]:
    """(code, legend, name field, description field), Catalan first."""
    return [
        (lang, str(_LEGENDS[lang]), form[_field(lang, "name")], form[_field(lang, "description")])
        for lang in LANGUAGES
    ]


@bp.route("/servei/", methods=["GET", "POST"])
def service_settings():
    """Edit the service citizens book (the active one: an installation has one)."""
    service = booking_service.active_service()
    if service is None:
        return render_template("admin/service.html", service=None, form=None)
    form = ServiceForm(data=_initial(service) if request.method == "GET" else None)
    if form.validate_on_submit():
        old_minutes = service.duration_minutes
        for lang in LANGUAGES:
            for what in ("name", "description"):
                setattr(service, _field(lang, what), form[_field(lang, what)].data or "")
        service.duration_minutes = int(form.minutes.data.strip())
        service.video_link_template = form.video_link.data or None
        db.session.commit()
        if service.duration_minutes != old_minutes:
            flash(
                _(
                    "S'ha desat el servei. Les videotrucades noves duraran %(minutes)s minuts; "
                    "les cites ja reservades mantenen la seva hora i la seva durada.",
                    minutes=service.duration_minutes,
                ),
                "success",
            )
        else:
            flash(_("S'ha desat el servei."), "success")
        return redirect(url_for("admin.service_settings"), 303)
    return render_template(
        "admin/service.html",
        service=service,
        form=form,
        languages=_languages(form),
        default_link=current_app.config["VIDEO_LINK_TEMPLATE"],
        step=calls.CALL_MINUTES_STEP,
        low=calls.MIN_CALL_MINUTES,
        high=calls.MAX_CALL_MINUTES,
    )
