"""Staff forms of the workspace."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField
from wtforms import DateField
from wtforms import DecimalField
from wtforms import HiddenField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional
from wtforms.validators import ValidationError
from wtforms.widgets import TextInput

from ..core.numbers import int_in_range
from ..web.forms import Form
from ..web.forms import address_field
from ..web.forms import description_field
from ..web.forms import email_field
from ..web.forms import line
from ..web.forms import name_field
from ..web.forms import phone_field
from ..web.forms import text


class MoneyField(DecimalField):
    """Euros as people in Catalonia write them: "1.200,50", "120,5", "120.50 €".

    A text box, not ``type=number``: browsers refuse a decimal comma in a number input.
    """

    widget = TextInput()

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0].strip():
            text = valuelist[0].replace("€", "").replace(" ", "").strip()
            if "," in text:
                text = text.replace(".", "").replace(",", ".")
            valuelist = [text]
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_l("Escriviu un import en euros, com ara 120,50")) from None

    def _value(self):
        if self.data is None:
            return self.raw_data[0] if self.raw_data else ""
        return f"{self.data:.2f}".replace(".", ",")


def _id_or_none(value) -> int | None:
    """A select's value as an id (0: "none of them"); None for anything else."""
    return int_in_range(value, low=0)


class IdSelectField(SelectField):
    """A select of database ids (0 for "none"): only one of its choices is accepted.

    The view fills ``choices``. Any other value (an unknown or inactive id, ``-5``, a number
    too big for the database, text) is an error beside the field, never a database error.
    """

    def __init__(self, label, message, **kwargs):
        kwargs.setdefault("default", 0)  # a form posted without the field: "none"
        super().__init__(label, coerce=_id_or_none, validate_choice=False, **kwargs)
        self.message = message

    def pre_validate(self, form) -> None:
        if self.data is None or all(self.data != choice[0] for choice in self.choices or []):
            self.data = None
            raise ValidationError(self.message)


def money_field(label) -> MoneyField:
    """An optional amount in euros, never negative."""
    return MoneyField(
        label,
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0, max=9_999_999_999, message=_l("Escriviu un import positiu")),
        ],
    )


class PhoneBookingForm(Form):
    """A booking made for a citizen who called: e-mail optional, consent given by phone."""

    slot = HiddenField()
    name = name_field(_l("Nom i cognoms"), _l("Escriviu el nom i cognoms de la persona"))
    email = email_field(_l("Correu electrònic"))
    phone = phone_field(_l("Número de telèfon"))
    address = address_field(_l("Adreça"))
    description = description_field(_l("El problema"))
    technician = IdSelectField(
        _l("Tècnic o tècnica"), _l("Trieu una persona de la llista o «Qualsevol persona lliure»")
    )
    # The e-mails and the invitation go in this language (the view offers LANGUAGES; any
    # other value, or none, means the service's own).
    language = SelectField(_l("Idioma dels correus"), validate_choice=False)
    consent = BooleanField(
        _l("La persona ha acceptat per telèfon el tractament de les seves dades"),
        validators=[DataRequired(_l("Cal el consentiment de la persona per demanar-li cita"))],
    )

    def validate(self, extra_validators=None) -> bool:
        """Some way to reach the person (checked here: Optional() would skip it)."""
        valid = super().validate(extra_validators)
        if not self.email.data and not self.phone.data and not self.email.errors:
            self.email.errors = [_l("Cal un correu electrònic o un telèfon per avisar la persona")]
            return False
        return valid


class StaffCancelForm(Form):
    reason = TextAreaField(
        _l("Motiu (el rebrà la persona)"),
        filters=[text],
        validators=[Length(max=500, message=_l("El motiu ha de tenir 500 caràcters o menys"))],
    )


class ReassignForm(Form):
    technician = IdSelectField(_l("Reassigna a"), _l("Trieu a qui voleu reassignar la cita."))


class CaseForm(Form):
    """Every editable field of a case file, plus a note for the history."""

    version = HiddenField()
    case_type = SelectField(_l("Tipus"))
    channel = SelectField(_l("Canal"))
    municipality_id = IdSelectField(_l("Municipi"), _l("Trieu un municipi de la llista"))
    interested_name = name_field(
        _l("Nom interessat"), _l("Escriviu el nom de la persona interessada")
    )
    interested_email = email_field(_l("Correu electrònic"))
    interested_phone = phone_field(_l("Telèfon"))
    interested_address = address_field(_l("Adreça"))
    sector = SelectField(_l("Sector"))
    company = StringField(
        _l("Empresa reclamada"),
        filters=[line],
        validators=[Length(max=200, message=_l("L'empresa ha de tenir 200 caràcters o menys"))],
    )
    # The registry's company the case is linked to when the form was drawn: kept when the
    # name is left as it is; a changed name is looked up again (umic.companies).
    company_id = HiddenField()
    amount_claimed = money_field(_l("Import reclamat (€)"))
    description = TextAreaField(
        _l("Descripció"),
        filters=[text],
        validators=[
            Length(max=5000, message=_l("La descripció ha de tenir 5.000 caràcters o menys"))
        ],
    )
    status = SelectField(_l("Estat petició"))
    status_detail = TextAreaField(
        _l("Detall estat (el veu la persona)"),
        filters=[text],
        validators=[Length(max=2000, message=_l("El detall ha de tenir 2.000 caràcters o menys"))],
    )
    deadline = DateField(
        _l("Termini per aportar documentació"),
        validators=[Optional()],
        render_kw={"type": "date"},
    )
    internal_status = StringField(
        _l("Estat intern"),
        filters=[line],
        validators=[Length(max=80, message=_l("L'estat intern ha de tenir 80 caràcters o menys"))],
    )
    internal_detail = TextAreaField(
        _l("Detall estat intern (només personal)"),
        filters=[text],
        validators=[Length(max=2000, message=_l("El detall ha de tenir 2.000 caràcters o menys"))],
    )
    assigned_to_id = IdSelectField(
        _l("Usuari assignat"), _l("Trieu una persona en actiu de la llista o «Sense assignar»")
    )
    organic = StringField(
        _l("Orgànic"),
        filters=[line],
        validators=[Length(max=120, message=_l("L'orgànic ha de tenir 120 caràcters o menys"))],
    )
    outcome = SelectField(_l("Resultat per a la persona"))
    amount_recovered = money_field(_l("Import recuperat (€)"))
    registry_entry = StringField(
        _l("Registre"),
        filters=[line],
        validators=[Length(max=40, message=_l("El registre ha de tenir 40 caràcters o menys"))],
    )
    call = StringField(
        _l("Convocatòria"),
        filters=[line],
        validators=[Length(max=80, message=_l("La convocatòria ha de tenir 80 caràcters o menys"))],
    )
    note = TextAreaField(
        _l("Nota per a l'historial (opcional)"),
        filters=[text],
        validators=[Length(max=2000, message=_l("La nota ha de tenir 2.000 caràcters o menys"))],
    )

    def validate(self, extra_validators=None) -> bool:
        """Asking for documents needs a deadline (checked here: Optional() would skip it)."""
        valid = super().validate(extra_validators)
        if self.status.data == "documentacio_requerida" and not self.deadline.data:
            if not self.deadline.errors:
                self.deadline.errors = [
                    _l("Indiqueu fins quan té la persona per aportar la documentació")
                ]
            return False
        return valid


class NoteForm(Form):
    note = TextAreaField(
        _l("Nota"),
        filters=[text],
        validators=[
            DataRequired(_l("Escriviu la nota")),
            Length(max=2000, message=_l("La nota ha de tenir 2.000 caràcters o menys")),
        ],
    )
