"""The citizen's forms. Every check runs on the server; messages say how to fix the problem."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField
from wtforms import HiddenField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from ..web.forms import Form
from ..web.forms import address_field
from ..web.forms import description_field
from ..web.forms import email_field
from ..web.forms import name_field
from ..web.forms import phone_field
from ..web.forms import text


class DetailsForm(Form):
    """Nom i cognoms, correu, telèfon, adreça, el problema i el consentiment."""

    slot = HiddenField()
    name = name_field(_l("Nom i cognoms"), _l("Escriviu el vostre nom i cognoms"))
    email = email_field(
        _l("Correu electrònic"), _l("Escriviu la vostra adreça de correu electrònic")
    )
    phone = phone_field(_l("Número de telèfon"))
    address = address_field(_l("Adreça"))
    description = description_field(_l("Expliqueu breument el vostre problema"))
    consent = BooleanField(
        _l("Accepto el tractament de les meves dades per gestionar la cita i la consulta"),
        validators=[DataRequired(_l("Heu d'acceptar el tractament de dades per demanar cita"))],
    )
    # Against bots, without puzzles (umic.web.limits): a field people never meet (no validators,
    # so it never shows an error) and the signed time the form was shown.
    comentari = TextAreaField(_l("Deixeu aquest camp en blanc"))
    shown_at = HiddenField()


class ConfirmForm(Form):
    """Only the CSRF token: the data is in the draft."""


class CancelForm(Form):
    """Why the citizen cancels (optional)."""

    reason = TextAreaField(
        _l("Motiu de l'anul·lació (opcional)"),
        filters=[text],
        validators=[Length(max=500, message=_l("El motiu ha de tenir 500 caràcters o menys"))],
    )
