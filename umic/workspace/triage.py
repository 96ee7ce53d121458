"""The case page's "Suggeriments" and "Casos semblants" (umic.triage.service), and the one POST
that accepts or corrects a suggestion.

The panel (``workspace/_case_triage.html`` and ``_case_similar.html``, filled by the template
global ``triage_panel``) shows the undecided suggestions of a case to whoever may change it
(``case_detail.may_change``), each with a one-click "Accepta" and a "Corregeix" form; the
similar past cases to everyone. ``POST /espai/expedients/<id>/suggeriments/<kind>``: CSRF, 403
for who may not change the case, 404 for an unknown kind or a kind without a suggestion, 422
with the page drawn again and the error beside the field for a value that is not one of the
kind's, 409 when someone saved the case meanwhile (the page says so). Accepting the usual
documents takes the technician to the case form with the request for documents filled in:
the status "Documentació requerida" and the documents named in the detail; the technician
sets the deadline and saves, which sends the citizen the usual upload link.
"""

from __future__ import annotations

from babel.numbers import format_percent
from flask import abort
from flask import flash
from flask import g
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError
from wtforms import HiddenField

from .. import clock
from ..casefiles import labels
from ..casefiles.sectors import sector_name
from ..casefiles.service import StaleCase
from ..core.codes import SuggestionKind
from ..extensions import db
from ..models import CaseFile
from ..triage import service
from ..web.forms import Form
from ..web.i18n import locale_name
from . import bp
from .case_detail import _case_or_404
from .case_detail import _form_from
from .case_detail import _page
from .case_detail import _with_choices
from .case_detail import may_change
from .forms import NoteForm

#: Where the panel is on the case page.
ANCHOR = "#suggeriments"


class DecisionForm(Form):
    """Only CSRF and the case's version: the value is read from the request (a select, a text
    field or checkboxes, by kind) and checked by ``service.decide``."""

    version = HiddenField()


def _figures_url() -> str | None:
    """The coordinators' figures page, when that page exists in this app."""
    if not current_user.is_coordinator:
        return None
    try:
        return url_for("admin.triage_figures")
    except BuildError:
        return None


def triage_panel(case: CaseFile) -> dict:
    """What the two templates show (and the state of a refused POST of this request); worked
    out once per request and case, however many templates ask."""
    panels = g.setdefault("triage_panels", {})
    if case.id not in panels:
        panels[case.id] = _panel(case)
    return panels[case.id]


def _panel(case: CaseFile) -> dict:
    state = getattr(g, "triage_state", {})
    language = locale_name().split("_")[0]
    can_change = may_change(case, current_user)
    suggestions = []
    if can_change:
        suggestions = service.suggestions_for_case(case, now=clock.now())
    return {
        "can_change": can_change,
        "suggestions": suggestions,
        "choices": {kind: service.choices(kind) for kind in service.KINDS},
        "similar": service.similar_cases(case),
        "figures_url": _figures_url() if suggestions else None,
        "error_kind": state.get("kind"),
        "error": state.get("error"),
        "typed": state.get("typed"),
        "conflict": state.get("conflict", False),
        "version": case.version,
        "percent": triage_percent,
        "sector_label": lambda code: sector_name(code, language),
        "mediation_outcome_label": lambda code: str(labels.MEDIATION_OUTCOMES.get(code, code)),
    }


def triage_percent(value: float) -> str:
    """A confidence as people read it: "87 %"."""
    return format_percent(value, locale=locale_name())


bp.add_app_template_global(triage_panel, "triage_panel")
bp.add_app_template_global(triage_percent, "triage_percent")


def _again(case: CaseFile, status: int, **state):
    g.triage_state = state
    return _page(case, _with_choices(_form_from(case), case), NoteForm(), status=status)


def _typed(kind: str) -> str:
    if kind == SuggestionKind.DOCUMENTS:
        return ",".join(request.form.getlist("value"))
    return request.form.get("value", "")


@bp.post("/expedients/<int:case_id>/suggeriments/<kind>")
def decide_suggestion(case_id: int, kind: str):
    """Accept (the suggested value) or correct (another value) one suggestion of the case."""
    case = _case_or_404(case_id)
    if not may_change(case, current_user):
        abort(403)
    if kind not in service.KINDS:
        abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():  # CSRF (FlaskForm): an expired page
        abort(400)
    try:
        expected = int(form.version.data or 0)
    except ValueError:
        expected = 0
    value = _typed(kind)
    try:
        suggestion = service.decide(
            case, kind, value, actor=current_user, now=clock.now(), expected_version=expected
        )
    except LookupError:
        abort(404)
    except service.AlreadyDecided:
        flash(_("Aquest suggeriment ja s'havia decidit."), "error")
        return redirect(url_for("workspace.case_detail", case_id=case.id) + ANCHOR, 303)
    except service.BadValue as bad:
        db.session.rollback()
        return _again(case, 422, kind=kind, error=str(bad), typed=value)
    except StaleCase:
        db.session.rollback()
        case = _case_or_404(case_id)
        return _again(case, 409, kind=kind, conflict=True)
    db.session.commit()
    if kind == SuggestionKind.DOCUMENTS:
        flash(
            _("Indiqueu el termini i deseu l'expedient: la persona rebrà l'enllaç per enviar-los."),
            "success",
        )
        target = url_for("workspace.case_detail", case_id=case.id, demana=suggestion.final_value)
        return redirect(target + "#status", 303)
    if suggestion.decision == "accepted":
        flash(_("Suggeriment acceptat."), "success")
    else:
        flash(_("Suggeriment corregit."), "success")
    return redirect(url_for("workspace.case_detail", case_id=case.id) + ANCHOR, 303)
