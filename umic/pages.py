"""Pages every visitor may read: the start page, the privacy notice, how to connect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import timedelta

from babel.units import format_unit
from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _

from .privacy.schedule import Kind
from .privacy.schedule import duration_parts
from .privacy.schedule import from_config
from .web.i18n import locale_name

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    """The service's start page sends people to the booking."""
    return redirect(url_for("booking.index"))


@dataclass(frozen=True)
class RetentionRow:
    """One line of the privacy page's "how long we keep it" table."""

    what: str
    how_long: str
    then: str


def period_text(period: timedelta | None) -> str | None:
    """'30 dies', '1 any', '24 hores' in the reader's language (Babel's CLDR units)."""
    if period is None:
        return None
    value, unit = duration_parts(period)
    return format_unit(value, unit, length="long", locale=locale_name())


def _how_long(kind: Kind, period: timedelta | None) -> str:
    text = period_text(period)
    if text is None:
        return _("Sense termini automàtic: fins que se'n decideixi la conservació o la supressió")
    since = {
        Kind.DRAFTS: _("%(period)s des que comenceu a demanar la cita", period=text),
        Kind.CANCELLED_BOOKINGS: _("%(period)s des que s'anul·la la cita", period=text),
        Kind.PAST_BOOKINGS: _("%(period)s des del dia de la cita", period=text),
        Kind.CLOSED_CASES: _("%(period)s des que es tanca l'expedient", period=text),
        Kind.DOCUMENTS: _("%(period)s des que es tanca l'expedient", period=text),
        Kind.OUTBOX: _("%(period)s des que s'envia el correu", period=text),
        Kind.SURVEY_COMMENTS: _("%(period)s des que responeu l'enquesta", period=text),
    }
    return since[kind]


def retention_rows(schedule) -> list[RetentionRow]:
    """The citizens' kinds of the retention schedule, as the privacy page words them."""
    what = {
        Kind.DRAFTS: _("Les dades d'una cita que no arribeu a confirmar"),
        Kind.CANCELLED_BOOKINGS: _("Les dades d'una cita anul·lada"),
        Kind.PAST_BOOKINGS: _(
            "Les dades d'una cita ja passada (feta, o a la qual no us vau connectar)"
        ),
        Kind.CLOSED_CASES: _("Les dades d'un expedient tancat (consulta, queixa, reclamació...)"),
        Kind.DOCUMENTS: _("Els documents que ens envieu per a un expedient"),
        Kind.OUTBOX: _("La còpia dels correus que us enviem"),
        Kind.SURVEY_COMMENTS: _("El comentari que escriviu a l'enquesta de satisfacció"),
    }
    anonymised = _(
        "S'anonimitzen: s'esborren el nom, el correu, el telèfon, l'adreça i la descripció del "
        "problema, i en queden només dades sense identificar per a les estadístiques "
        "(municipi, dia i hora, estat)."
    )
    if_case = _(
        "Si a partir de la cita s'ha obert un expedient, se segueix el termini de l'expedient."
    )
    then = {
        Kind.DRAFTS: _("S'esborren."),
        Kind.CANCELLED_BOOKINGS: f"{anonymised} {if_case}",
        Kind.PAST_BOOKINGS: f"{anonymised} {if_case}",
        Kind.CLOSED_CASES: _(
            "S'anonimitza: s'esborren les vostres dades, les notes i l'historial que us "
            "identifiquen, i en queden el tipus, el sector, el municipi, les dates i els "
            "imports, per a les estadístiques. Els documents s'esborren."
        ),
        Kind.DOCUMENTS: _("S'esborren, amb els fitxers. Els d'un expedient obert es conserven."),
        Kind.OUTBOX: _("S'esborra."),
        Kind.SURVEY_COMMENTS: _(
            "S'esborra el comentari; les puntuacions, sense cap dada vostra, es mantenen."
        ),
    }
    return [
        RetentionRow(what[rule.kind], _how_long(rule.kind, rule.period), then[rule.kind])
        for rule in schedule.public()
    ]


@bp.get("/privacitat")
def privacy():
    """Informació sobre protecció de dades (the version is stored with each consent).

    Who to contact and how long each kind of data is kept come from the configuration: the
    ``DPO_*`` settings and the retention schedule the worker applies (umic.privacy).
    """
    config = current_app.config
    schedule = from_config(config, config.get("SIGN_IN_WINDOW_MINUTES"))
    return render_template(
        "pages/privacy.html",
        version=config["PRIVACY_NOTICE_VERSION"],
        dpo={
            "name": config.get("DPO_NAME") or "",
            "email": config.get("DPO_EMAIL") or "",
            "address": config.get("DPO_ADDRESS") or "",
        },
        retention=retention_rows(schedule),
        cancelled_period=period_text(schedule.period(Kind.CANCELLED_BOOKINGS)),
    )


@bp.get("/com-connectar")
def instructions():
    """Com connectar-vos a la videotrucada."""
    return render_template("pages/instructions.html")


@bp.get("/accessibilitat")
def accessibility():
    """Declaració d'accessibilitat (Real Decreto 1112/2018, the EU model statement)."""
    return render_template(
        "pages/accessibility.html",
        statement_date=lambda: date.fromisoformat(current_app.config["ACCESSIBILITY_REVIEWED"]),
    )


@bp.get("/salut")
def health():
    """For load balancers: the app answers."""
    return {"status": "ok"}
