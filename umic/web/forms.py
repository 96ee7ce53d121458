"""What every form of the app is built from: the base ``Form`` and the fields about a person.

``Form`` is the base of every form: the language switch never submits it (``umic.web.i18n``).

The field factories are shared by the citizen's and the staff's forms: each returns a new field
with the same cleaning and limits wherever a name, an e-mail, a phone or an address is asked
for; only the label and, for required fields, the message differ (a citizen reads "your
name", staff read "the person's name").
"""

from __future__ import annotations

import re
from email.utils import parseaddr

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms import StringField
from wtforms import TelField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import ValidationError

from ..core.emails import same_mailbox
from ..core.text import clean
from .i18n import switching_language


class Form(FlaskForm):
    """The base of every form: the language switch never submits it.

    Posted by the switch, the fields still take what was typed, but ``is_submitted()`` (and so
    ``validate_on_submit()``) is False: the view shows the form again, unchecked and unsaved.
    """

    def is_submitted(self) -> bool:
        return super().is_submitted() and not switching_language()


NAME_MAX = 120
EMAIL_MAX = 254
PHONE_MAX = 40
ADDRESS_MAX = 200
#: The longest description of a problem, whoever writes it (the citizen or staff).
DESCRIPTION_MAX = 1000

_PHONE_SEPARATORS = re.compile(r"[\s().\-]")
_PHONE = re.compile(r"\+?\d{9,15}")


def line(value):
    """One line of text, spaces tidied."""
    return clean(value)


def text(value):
    """Several lines of text, spaces tidied."""
    return clean(value, multiline=True)


def email_address(value):
    """An address as typed, without the spaces phones like to add."""
    return clean(value).replace(" ", "")


def valid_phone(form, field) -> None:
    """Spanish or international number; spaces, dots, dashes and brackets are fine."""
    digits = _PHONE_SEPARATORS.sub("", field.data or "")
    if digits and not _PHONE.fullmatch(digits):
        raise ValidationError(
            _l("Escriviu un número de telèfon vàlid, com ara 612 345 678 o +34 612 345 678")
        )


def name_field(label, required_message) -> StringField:
    return StringField(
        label,
        filters=[line],
        validators=[
            DataRequired(required_message),
            Length(max=NAME_MAX, message=_l("El nom ha de tenir 120 caràcters o menys")),
        ],
    )


def not_the_service_address(form, field) -> None:
    """Not the service's own mailbox (MAIL_DEFAULT_SENDER), in any case or with a +tag.

    The app sends every message from that address and invites from it; a message to it would
    be an invitation to its own organizer, which calendar clients cannot show (security
    review, finding 12: it was a 500).
    """
    own = parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")[1]
    if field.data and same_mailbox(field.data, own):
        raise ValidationError(
            _l("Aquesta és l'adreça del servei. Escriviu la vostra adreça de correu electrònic.")
        )


def email_field(label, required_message=None) -> EmailField:
    """Required when ``required_message`` is given, optional otherwise; never the service's."""
    return EmailField(
        label,
        filters=[email_address],
        validators=[
            DataRequired(required_message) if required_message else Optional(),
            Length(
                max=EMAIL_MAX,
                message=_l("L'adreça de correu ha de tenir 254 caràcters o menys"),
            ),
            Email(_l("Escriviu una adreça de correu electrònic vàlida, com ara nom@exemple.cat")),
            not_the_service_address,
        ],
    )


def phone_field(label) -> TelField:
    return TelField(
        label,
        filters=[line],
        validators=[
            Optional(),
            Length(max=PHONE_MAX, message=_l("El telèfon ha de tenir 40 caràcters o menys")),
            valid_phone,
        ],
    )


def address_field(label) -> StringField:
    return StringField(
        label,
        filters=[line],
        validators=[
            Length(max=ADDRESS_MAX, message=_l("L'adreça ha de tenir 200 caràcters o menys"))
        ],
    )


def description_field(label) -> TextAreaField:
    """The person's problem in their own words (optional, several lines)."""
    return TextAreaField(
        label,
        filters=[text],
        validators=[
            Length(
                max=DESCRIPTION_MAX,
                message=_l("La descripció ha de tenir 1.000 caràcters o menys"),
            )
        ],
    )
