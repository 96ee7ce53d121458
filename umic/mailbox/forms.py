"""The mailbox form. Every check runs on the server; messages say how to fix the problem.

The person's fields are the booking's (``umic.web.forms``); the consent is the booking's
wording for this purpose and the same privacy notice version; the bot checks are the
booking's honeypot (``comentari``) and signed stamp (``shown_at``).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField
from wtforms import HiddenField
from wtforms import RadioField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import ValidationError

from ..core.codes import CaseType
from ..web.forms import Form
from ..web.forms import email_field
from ..web.forms import line
from ..web.forms import name_field
from ..web.forms import phone_field
from ..web.forms import text

#: The longest text of "what happened" and "what you ask for".
TEXT_MAX = 4000
COMPANY_MAX = 200  # CaseFile.company

#: What each kind of message is, in one line (umic/data/SOURCES.md, "Types of request").
KIND_CHOICES = (
    (CaseType.CONSULTA, _l("Una consulta")),
    (CaseType.QUEIXA, _l("Una queixa")),
    (CaseType.RECLAMACIO, _l("Una reclamació")),
)
KIND_HINTS = {
    CaseType.CONSULTA: _l("Una pregunta sobre els vostres drets i obligacions com a consumidors."),
    CaseType.QUEIXA: _l(
        "Feu saber que una empresa us ha atès malament perquè millori, sense demanar-hi "
        "cap compensació."
    ),
    CaseType.RECLAMACIO: _l(
        "Demaneu una solució: que reparin un dany, que us tornin diners o que anul·lin un "
        "contracte o un deute. Abans l'heu d'haver reclamat a l'empresa."
    ),
}


def _kind_chosen(form, field) -> None:
    if field.data not in {code for code, _label in KIND_CHOICES}:
        raise ValidationError(_l("Trieu si és una consulta, una queixa o una reclamació"))


def _town_chosen(form, field) -> None:
    if not field.data or field.data not in {choice.value for choice in field.choices}:
        raise ValidationError(_l("Trieu el vostre municipi"))


def _needed_unless_consulta(message):
    """Required for a complaint or a claim; optional for a consultation."""

    def check(form, field) -> None:
        if form.kind.data in (CaseType.QUEIXA, CaseType.RECLAMACIO) and not field.data:
            raise ValidationError(message)

    return check


def _town_id(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class MailboxForm(Form):
    """Town (when not in the address), the person, the message, documents, consent."""

    town = SelectField(
        _l("Municipi on viviu"), coerce=_town_id, validate_choice=False, validators=[_town_chosen]
    )
    name = name_field(_l("Nom i cognoms"), _l("Escriviu el vostre nom i cognoms"))
    email = email_field(
        _l("Correu electrònic"), _l("Escriviu la vostra adreça de correu electrònic")
    )
    phone = phone_field(_l("Número de telèfon"))
    kind = RadioField(
        _l("Què ens voleu enviar?"),
        choices=[SelectChoice(code.value, label) for code, label in KIND_CHOICES],
        validate_choice=False,
        validators=[_kind_chosen],
    )
    company = StringField(
        _l("Empresa"),
        filters=[line],
        validators=[
            _needed_unless_consulta(_l("Escriviu el nom de l'empresa")),
            Length(
                max=COMPANY_MAX, message=_l("El nom de l'empresa ha de tenir 200 caràcters o menys")
            ),
        ],
    )
    description = TextAreaField(
        _l("Què ha passat?"),
        filters=[text],
        validators=[
            DataRequired(_l("Expliqueu què ha passat")),
            Length(max=TEXT_MAX, message=_l("El text ha de tenir 4.000 caràcters o menys")),
        ],
    )
    claim_request = TextAreaField(
        _l("Què demaneu?"),
        filters=[text],
        validators=[
            _needed_unless_consulta(_l("Expliqueu què demaneu a l'empresa")),
            Length(max=TEXT_MAX, message=_l("El text ha de tenir 4.000 caràcters o menys")),
        ],
    )
    documents = MultipleFileField(_l("Documents"))
    consent = BooleanField(
        _l("Accepto el tractament de les meves dades per gestionar la consulta"),
        validators=[
            DataRequired(_l("Heu d'acceptar el tractament de dades per enviar el missatge"))
        ],
    )
    # Against bots, as on the booking's details (umic.web.limits).
    comentari = TextAreaField(_l("Deixeu aquest camp en blanc"))
    shown_at = HiddenField()
