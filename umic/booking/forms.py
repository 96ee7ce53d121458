"""The citizen's forms. Every check runs on the server; messages say how to fix the problem."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import EmailField
from wtforms import HiddenField
from wtforms import StringField
from wtforms import TelField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import ValidationError

from ..text import clean

DESCRIPTION_MAX = 1000
_PHONE_SEPARATORS = re.compile(r"[\s().\-]")
_PHONE = re.compile(r"\+?\d{9,15}")


def _line(value):
    return clean(value)


def _text(value):
    return clean(value, multiline=True)


def _email(value):
    return clean(value).replace(" ", "")


def valid_phone(form, field) -> None:
    """Spanish or international number; spaces, dots, dashes and brackets are fine."""
    digits = _PHONE_SEPARATORS.sub("", field.data or "")
    if digits and not _PHONE.fullmatch(digits):
        raise ValidationError(
            _l("Escriviu un número de telèfon vàlid, com ara 612 345 678 o +34 612 345 678")
        )


class DetailsForm(FlaskForm):
    """Nom i cognoms, correu, telèfon, adreça, el problema i el consentiment."""

    slot = HiddenField()
    name = StringField(
        _l("Nom i cognoms"),
        filters=[_line],
        validators=[
            DataRequired(_l("Escriviu el vostre nom i cognoms")),
            Length(max=120, message=_l("El nom ha de tenir 120 caràcters o menys")),
        ],
    )
    email = EmailField(
        _l("Correu electrònic"),
        filters=[_email],
        validators=[
            DataRequired(_l("Escriviu la vostra adreça de correu electrònic")),
            Length(max=254, message=_l("L'adreça de correu ha de tenir 254 caràcters o menys")),
            Email(_l("Escriviu una adreça de correu electrònic vàlida, com ara nom@exemple.cat")),
        ],
    )
    phone = TelField(
        _l("Número de telèfon"),
        filters=[_line],
        validators=[
            Optional(),
            Length(max=40, message=_l("El telèfon ha de tenir 40 caràcters o menys")),
            valid_phone,
        ],
    )
    address = StringField(
        _l("Adreça"),
        filters=[_line],
        validators=[Length(max=200, message=_l("L'adreça ha de tenir 200 caràcters o menys"))],
    )
    description = TextAreaField(
        _l("Explica breument el teu problema"),
        filters=[_text],
        validators=[
            Length(
                max=DESCRIPTION_MAX,
                message=_l("La descripció ha de tenir 1.000 caràcters o menys"),
            )
        ],
    )
    consent = BooleanField(
        _l("Accepto el tractament de les meves dades per gestionar la cita i la consulta"),
        validators=[DataRequired(_l("Heu d'acceptar el tractament de dades per demanar cita"))],
    )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the data is in the draft."""


class CancelForm(FlaskForm):
    """Why the citizen cancels (optional)."""

    reason = TextAreaField(
        _l("Motiu de l'anul·lació (opcional)"),
        filters=[_text],
        validators=[Length(max=500, message=_l("El motiu ha de tenir 500 caràcters o menys"))],
    )
