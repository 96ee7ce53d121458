"""The satisfaction survey: ``/enquesta/<token>``, the link in the e-mail after a call.

Public (no sign-in): the unguessable token is the key, and only its hash is stored. One
short page that works without JavaScript on a phone: two 0-10 ratings as radio groups, "was
your query resolved?", an optional comment (docs/accessibility.md, "Rating scales").

One answer per appointment. ``survey_response.booking_id`` is unique, so a second submit,
even two at the same moment, can never add a second row: the loser's INSERT is refused, and
it goes where the winner goes. A second visit says it was already answered; an expired link
says so (410), an unknown one is a 404.

Sending the e-mail and recording the answer are in ``umic.surveys.service``; the results,
in ``umic.stats.survey_results``.
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from wtforms import RadioField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length
from wtforms.validators import ValidationError

from .. import clock
from ..core.text import clean
from ..extensions import db
from ..web.forms import Form
from ..web.i18n import locale_name
from . import service

bp = Blueprint("surveys", __name__)

#: The hint tied to each rating's fieldset: a screen reader hears what the ends mean.
RATING_HINT = _l("0 vol dir gens de satisfacció i 10, molta.")
RESOLVED_CHOICES = [
    SelectChoice(answer.value, text) for answer, text in service.RESOLVED_LABELS.items()
]
RATING_CHOICES = [SelectChoice(str(n), str(n)) for n in service.SCORES]


def _one_of(values: set[str], message):
    """A radio answer must be one of the options offered (whatever the browser sent)."""

    def check(form, field) -> None:
        if field.data not in values:
            field.data = None  # nothing ticked when the page comes back
            raise ValidationError(message)

    return check


def _text(value):
    return clean(value, multiline=True)


class SurveyForm(Form):
    """The three questions and the comment."""

    attention = RadioField(
        _l("Valoració de l'atenció rebuda"),
        choices=RATING_CHOICES,
        validate_choice=False,
        validators=[
            _one_of(
                {str(n) for n in service.SCORES},
                _l("Trieu una valoració de l'atenció rebuda, de 0 a 10"),
            )
        ],
    )
    competence = RadioField(
        _l("Valoració de la competència de la persona tècnica"),
        choices=RATING_CHOICES,
        validate_choice=False,
        validators=[
            _one_of(
                {str(n) for n in service.SCORES},
                _l("Trieu una valoració de la competència de la persona tècnica, de 0 a 10"),
            )
        ],
    )
    resolved = RadioField(
        _l("S'ha resolt la consulta?"),
        choices=RESOLVED_CHOICES,
        validate_choice=False,
        validators=[
            _one_of(
                {choice.value for choice in RESOLVED_CHOICES},
                _l("Trieu si s'ha resolt la consulta"),
            )
        ],
    )
    comment = TextAreaField(
        _l("Comentaris"),
        filters=[_text],
        validators=[
            Length(
                max=service.COMMENT_MAX,
                message=_l("El comentari ha de tenir 1.000 caràcters o menys"),
            )
        ],
    )


def _summary(form: SurveyForm) -> list[tuple[str, str]]:
    """Error-summary links in page order; a radio group links to its first radio (a fieldset
    cannot take the focus)."""
    items = []
    for radios in (form.attention, form.competence, form.resolved):
        if radios.errors:
            items.append((f"#{radios.id}-0", radios.errors[0]))
    if form.comment.errors:
        items.append((f"#{form.comment.id}", form.comment.errors[0]))
    return items


def _link_or_page(token: str):
    """The open link, or the page to show instead (404 unknown, 410 expired or closed)."""
    link = service.find_survey_link(token, clock.now())
    if link.state == "unknown":
        return None, (render_template("surveys/unknown.html"), 404)
    if link.state == "answered":
        if request.method == "POST":  # a second answer: back to the link, which says so
            return None, redirect(url_for("surveys.survey", token=token), 303)
        return None, render_template("surveys/answered.html")
    if link.state in ("expired", "closed"):
        days = current_app.config["SURVEY_LINK_DAYS"]
        return None, (render_template("surveys/closed.html", reason=link.state, days=days), 410)
    return link, None


@bp.route("/enquesta/<token>", methods=["GET", "POST"])
def survey(token: str):
    """The questions; a valid answer is saved once and leads (303) to the thank-you page."""
    link, page = _link_or_page(token)
    if page is not None:
        return page
    form = SurveyForm()
    if form.validate_on_submit():
        service.new_response(
            link,
            attention=int(form.attention.data),
            competence=int(form.competence.data),
            resolved=form.resolved.data,
            comment=form.comment.data,
            language=locale_name(),
            now=clock.now(),
        )
        try:
            db.session.commit()
        except IntegrityError:
            # Answered meanwhile (another tab, a double click): the first answer stands.
            db.session.rollback()
            return redirect(url_for("surveys.survey", token=token), 303)
        return redirect(url_for("surveys.thanks", token=token), 303)
    return render_template(
        "surveys/form.html",
        form=form,
        token=token,
        booking=link.booking,
        errors=_summary(form),
        rating_hint=RATING_HINT,
        comment_max=format_decimal(service.COMMENT_MAX, format="#,##0"),
    )


@bp.get("/enquesta/<token>/gracies")
def thanks(token: str):
    """After answering. Before answering it sends to the questions."""
    link = service.find_survey_link(token, clock.now())
    if link.state == "unknown":
        return render_template("surveys/unknown.html"), 404
    if link.state != "answered":
        return redirect(url_for("surveys.survey", token=token), 303)
    return render_template("surveys/thanks.html")
