"""Staff forms of the workspace."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import DateField
from wtforms import DecimalField
from wtforms import EmailField
from wtforms import HiddenField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TelField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional
from wtforms.widgets import TextInput

from ..booking.forms import DESCRIPTION_MAX
from ..booking.forms import valid_phone
from ..text import clean


def _line(value):
    return clean(value)


def _text(value):
    return clean(value, multiline=True)


def _email(value):
    return clean(value).replace(" ", "")


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


class PhoneBookingForm(FlaskForm):
    """A booking made for a citizen who called: e-mail optional, consent given by phone."""

    slot = HiddenField()
    name = StringField(
        _l("Nom i cognoms"),
        filters=[_line],
        validators=[
            DataRequired(_l("Escriviu el nom i cognoms de la persona")),
            Length(max=120, message=_l("El nom ha de tenir 120 caràcters o menys")),
        ],
    )
    email = EmailField(
        _l("Correu electrònic"),
        filters=[_email],
        validators=[
            Optional(),
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
        _l("El problema"),
        filters=[_text],
        validators=[
            Length(
                max=DESCRIPTION_MAX,
                message=_l("La descripció ha de tenir 1.000 caràcters o menys"),
            )
        ],
    )
    technician = SelectField(_l("Tècnic o tècnica"), coerce=int, validate_choice=False)
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


class StaffCancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Motiu (el rebrà la persona)"),
        filters=[_text],
        validators=[Length(max=500, message=_l("El motiu ha de tenir 500 caràcters o menys"))],
    )


class ReassignForm(FlaskForm):
    technician = SelectField(_l("Reassigna a"), coerce=int, validate_choice=False)


class CaseForm(FlaskForm):
    """Every editable field of a case file, plus a note for the history."""

    version = HiddenField()
    case_type = SelectField(_l("Tipus"))
    channel = SelectField(_l("Canal"))
    municipality_id = SelectField(_l("Municipi"), coerce=int, validate_choice=False)
    interested_name = StringField(
        _l("Nom interessat"),
        filters=[_line],
        validators=[
            DataRequired(_l("Escriviu el nom de la persona interessada")),
            Length(max=120, message=_l("El nom ha de tenir 120 caràcters o menys")),
        ],
    )
    interested_email = EmailField(
        _l("Correu electrònic"),
        filters=[_email],
        validators=[
            Optional(),
            Length(max=254, message=_l("L'adreça de correu ha de tenir 254 caràcters o menys")),
            Email(_l("Escriviu una adreça de correu electrònic vàlida, com ara nom@exemple.cat")),
        ],
    )
    interested_phone = TelField(
        _l("Telèfon"),
        filters=[_line],
        validators=[
            Optional(),
            Length(max=40, message=_l("El telèfon ha de tenir 40 caràcters o menys")),
            valid_phone,
        ],
    )
    interested_address = StringField(
        _l("Adreça"),
        filters=[_line],
        validators=[Length(max=200, message=_l("L'adreça ha de tenir 200 caràcters o menys"))],
    )
    sector = SelectField(_l("Sector"))
    company = StringField(
        _l("Empresa reclamada"),
        filters=[_line],
        validators=[Length(max=200, message=_l("L'empresa ha de tenir 200 caràcters o menys"))],
    )
    amount_claimed = MoneyField(
        _l("Import reclamat (€)"),
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0, max=9_999_999_999, message=_l("Escriviu un import positiu")),
        ],
    )
    description = TextAreaField(
        _l("Descripció"),
        filters=[_text],
        validators=[
            Length(max=5000, message=_l("La descripció ha de tenir 5.000 caràcters o menys"))
        ],
    )
    status = SelectField(_l("Estat petició"))
    status_detail = TextAreaField(
        _l("Detall estat (el veu la persona)"),
        filters=[_text],
        validators=[Length(max=2000, message=_l("El detall ha de tenir 2.000 caràcters o menys"))],
    )
    deadline = DateField(
        _l("Termini per aportar documentació"),
        validators=[Optional()],
        render_kw={"type": "date"},
    )
    internal_status = StringField(
        _l("Estat intern"),
        filters=[_line],
        validators=[Length(max=80, message=_l("L'estat intern ha de tenir 80 caràcters o menys"))],
    )
    internal_detail = TextAreaField(
        _l("Detall estat intern (només personal)"),
        filters=[_text],
        validators=[Length(max=2000, message=_l("El detall ha de tenir 2.000 caràcters o menys"))],
    )
    assigned_to_id = SelectField(_l("Usuari assignat"), coerce=int, validate_choice=False)
    organic = StringField(
        _l("Orgànic"),
        filters=[_line],
        validators=[Length(max=120, message=_l("L'orgànic ha de tenir 120 caràcters o menys"))],
    )
    outcome = SelectField(_l("Resultat per a la persona"))
    amount_recovered = MoneyField(
        _l("Import recuperat (€)"),
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0, max=9_999_999_999, message=_l("Escriviu un import positiu")),
        ],
    )
    registry_entry = StringField(
        _l("Registre"),
        filters=[_line],
        validators=[Length(max=40, message=_l("El registre ha de tenir 40 caràcters o menys"))],
    )
    call = StringField(
        _l("Convocatòria"),
        filters=[_line],
        validators=[Length(max=80, message=_l("La convocatòria ha de tenir 80 caràcters o menys"))],
    )
    note = TextAreaField(
        _l("Nota per a l'historial (opcional)"),
        filters=[_text],
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


class NoteForm(FlaskForm):
    note = TextAreaField(
        _l("Nota"),
        filters=[_text],
        validators=[
            DataRequired(_l("Escriviu la nota")),
            Length(max=2000, message=_l("La nota ha de tenir 2.000 caràcters o menys")),
        ],
    )
