"""The mediation's forms: the staff panel's three, and the company's answer."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField
from wtforms import RadioField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import ValidationError

from ..core.codes import CompanyAnswer
from ..core.codes import MediationOutcome
from ..core.codes import Referral
from ..web.forms import Form
from ..web.forms import email_field
from ..web.forms import text as multiline
from ..workspace.forms import MoneyField


def _company_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class OpenMediationForm(Form):
    company_id = SelectField(_l("Empresa"), coerce=_company_id, validate_choice=False)
    # Optional: empty means the company's own claims address from the registry.
    company_email = email_field(_l("Correu electrònic de l'empresa per a reclamacions"))

    def validate_company_id(self, field) -> None:
        if not field.data or field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("Trieu l'empresa del registre"))


class ConveneForm(Form):
    slot = StringField(_l("Hora"))


def _not_negative(form, field) -> None:
    if field.data is not None and field.data < 0:
        raise ValidationError(_l("L'import no pot ser negatiu"))


class CloseMediationForm(Form):
    outcome = RadioField(
        _l("Resultat de la mediació"),
        choices=[SelectChoice(code.value, _l(code.label)) for code in MediationOutcome],
        validate_choice=False,
    )
    amount_claimed = MoneyField(_l("Import reclamat"), validators=[Optional(), _not_negative])
    amount_recovered = MoneyField(_l("Import recuperat"), validators=[Optional(), _not_negative])
    over_claim = BooleanField(_l("L'import recuperat supera el reclamat (interessos, compensació)"))
    referral = RadioField(
        _l("Derivació"),
        choices=[SelectChoice("", _l("Cap"))]
        + [SelectChoice(code.value, _l(code.label)) for code in Referral],
        validate_choice=False,
        default="",
    )

    def validate_outcome(self, field) -> None:
        if field.data not in {code.value for code in MediationOutcome}:
            raise ValidationError(_l("Trieu com ha acabat la mediació"))


class CompanyAnswerForm(Form):
    answer = RadioField(
        _l("La vostra resposta"),
        choices=[SelectChoice(code.value, _l(code.label)) for code in CompanyAnswer],
        validate_choice=False,
    )
    text = TextAreaField(
        _l("Explicació"),
        filters=[multiline],
        validators=[Length(max=5000, message=_l("Escriviu 5.000 caràcters o menys"))],
    )
    proposed_amount = MoneyField(_l("Import que proposeu"), validators=[Optional(), _not_negative])
    document = MultipleFileField(_l("Documents"))

    def validate_answer(self, field) -> None:
        if field.data not in {code.value for code in CompanyAnswer}:
            raise ValidationError(
                _l("Trieu si accepteu, proposeu una solució o rebutgeu la reclamació")
            )

    def validate_text(self, field) -> None:
        needs = self.answer.data in (CompanyAnswer.PROPOSA, CompanyAnswer.REBUTJA)
        if needs and not (field.data or "").strip():
            raise ValidationError(_l("Expliqueu la vostra proposta o per què la rebutgeu"))


class CompanyFilesForm(Form):
    document = MultipleFileField(_l("Documents"), validators=[DataRequired(_l("Trieu un fitxer"))])
