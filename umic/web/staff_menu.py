"""The staff menu: what each role sees, limited to the areas this app has."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

# (endpoint, label, coordinators only)
MENU = [
    ("admin.home", _l("Inici"), True),
    ("workspace.agenda", _l("Agenda"), False),
    ("workspace.case_list", _l("Expedients"), False),
    ("workspace.company_list", _l("Empreses"), False),
    ("workspace.new_booking", _l("Nova cita"), False),
    ("workspace.calendar_feed", _l("Calendari"), False),
    ("workspace.visits", _l("Visites UMIC"), False),
    ("admin.statistics", _l("Estadístiques"), True),
    ("admin.survey_results", _l("Enquestes"), True),
    ("admin.triage_figures", _l("Suggeriments automàtics"), True),
    ("admin.municipalities", _l("Municipis"), True),
    ("admin.expansion", _l("Ampliació"), True),
    ("admin.offices", _l("Oficines de consum"), True),
    ("admin.service_settings", _l("Servei"), True),
    ("admin.letters_list", _l("Cartes"), True),
    ("admin.staff", _l("Tècnics"), True),
    ("admin.hours", _l("Horaris"), True),
    ("admin.closures", _l("Tancaments"), True),
    ("admin.visits", _l("Planificació UMIC"), True),
    ("admin.outbox", _l("Correu"), True),
    ("admin.assist_log", _l("Model de llenguatge"), True),
    ("privacy.index", _l("Dades personals"), True),
    ("auth.account", _l("El meu compte"), False),
]


def staff_menu() -> list[tuple[str, str]]:
    """The menu entries for the signed-in member of staff."""
    if not current_user.is_authenticated:
        return []
    return [
        (endpoint, str(label))
        for endpoint, label, coordinators in MENU
        if endpoint in current_app.view_functions
        and (current_user.is_coordinator or not coordinators)
    ]
