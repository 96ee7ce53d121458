"""Closures and absences (coordinators only): /admin/tancaments/.

Adding a closure is two steps, so that nobody is left with a call that will not happen
(docs/closures.md):

1. **Revisa** (``POST /admin/tancaments/``): the form is checked and the page shows what the
   closure would break, saving nothing: each confirmed booking of those days (of that
   technician, for an absence) with its citizen, time and technician, a link to the
   booking, and the proposed action (``core.closure_plan``): the same time with another
   technician, else the next free time, else cancel. The coordinator may change each
   row's action (move as proposed, cancel, or leave it as it is) and writes the reason the
   citizens read, prefilled with the closure's reason.
2. **Confirma** (``POST /admin/tancaments/confirma``): the closure is saved, then each row's
   action is applied through the booking functions that e-mail the citizen in their
   language and the technicians (``booking.closures.apply``). If the bookings of those days
   changed since the preview, nothing is saved and the preview is shown again. The result
   page (``GET /admin/tancaments/resultat``) says what happened to each booking, with a
   link to it, and lists whatever still does not fit.

Also the list of upcoming closures, absences and public holidays, and deleting a closure.
Public holidays are not stored: they come from the ``holidays`` package and are only shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from wtforms import HiddenField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import Length

from .. import clock
from ..booking import closures as closure_service
from ..booking import misfits
from ..core import scheduling
from ..core.closure_plan import Action
from ..core.dates import parse_day
from ..core.numbers import int_in_range
from ..core.text import clean
from ..extensions import db
from ..models import Closure
from ..models import StaffUser
from ..web.forms import Form
from ..web.i18n import day_text
from ..web.i18n import service_today
from ..web.i18n import switching_language
from . import bp
from .hours import REASONS

#: The longest closure or absence added at once (one row per day).
MAX_CLOSURE_DAYS = 366
#: How far ahead the closures page lists public holidays.
HOLIDAYS_AHEAD = timedelta(days=365)
#: The longest message the affected citizens read.
MESSAGE_MAX = 500
#: The most bookings a result page's address carries.
RESULTS_MAX = 2000


class ClosureForm(Form):
    """A closure of the whole service or one person's absence, for one day or a range."""

    first_day = StringField(_l("Primer dia"))
    last_day = StringField(_l("Últim dia"))
    staff = SelectField(_l("Qui no atén"), validate_choice=False)
    reason = StringField(
        _l("Motiu"),
        filters=[lambda value: clean(value or "")],
        validators=[Length(max=200, message=_l("El motiu ha de tenir 200 caràcters o menys"))],
    )


class ConfirmForm(ClosureForm):
    """The preview's form: the closure again (hidden), the bookings it was shown with, and
    the reason the citizens read. Each booking's action is a radio group named
    ``action-<booking id>``, and the proposal shown ``target-<booking id>``."""

    shown = HiddenField()
    message = TextAreaField(
        _l("Motiu que llegiran les persones afectades"),
        filters=[lambda value: clean(value or "", multiline=True)],
        validators=[
            Length(
                max=MESSAGE_MAX,
                message=_l("El motiu ha de tenir %(max)s caràcters o menys", max=MESSAGE_MAX),
            )
        ],
    )


def _read_day(field, missing: str | None) -> date | None:
    """The date in ``field``, or None after putting the error beside it."""
    text = (field.data or "").strip()
    if not text:
        if missing:
            field.errors = [*field.errors, missing]
        return None
    day = parse_day(text)
    if day is None:
        field.errors = [*field.errors, _("Escriviu una data real, com ara 24/06/2026")]
    return day


def _checked_closure(
    form: ClosureForm, people: dict[int, StaffUser], today: date
) -> tuple[date, date, StaffUser | None] | None:
    """(first day, last day, person or None) or None after putting errors beside fields."""
    first = _read_day(form.first_day, _("Escriviu el primer dia, com ara 24/06/2026"))
    last = _read_day(form.last_day, None)
    if first is not None and first < today:
        form.first_day.errors = [
            *form.first_day.errors,
            _("El primer dia ha de ser avui o més endavant"),
        ]
    if first is not None and last is not None and not form.first_day.errors:
        if last < first:
            form.last_day.errors = [
                *form.last_day.errors,
                _("L'últim dia ha de ser el mateix que el primer o posterior"),
            ]
        elif (last - first).days + 1 > MAX_CLOSURE_DAYS:
            form.last_day.errors = [
                *form.last_day.errors,
                _("Podeu afegir com a màxim %(num)s dies de cop", num=MAX_CLOSURE_DAYS),
            ]
    person = None
    if form.staff.data:
        person = people.get(int_in_range(form.staff.data))
        if person is None:
            form.staff.errors = [*form.staff.errors, _("Trieu una persona de la llista")]
    if any(field.errors for field in form):
        return None
    assert first is not None
    return first, last or first, person


@dataclass(frozen=True)
class ClosureEntry:
    """One line of the closures list: a stored closure or absence, or a public holiday."""

    day: date
    kind: str  # "holiday", "closure" (whole service) or "absence"
    who: str
    reason: str
    closure_id: int | None = None


def upcoming_closures(today: date) -> list[ClosureEntry]:
    """Stored closures and absences from ``today`` on, with the public holidays of a year."""
    entries = [
        ClosureEntry(
            day=closure.day,
            kind="closure" if closure.staff_id is None else "absence",
            who=name or "",
            reason=closure.reason,
            closure_id=closure.id,
        )
        for closure, name in db.session.execute(
            select(Closure, StaffUser.name)
            .outerjoin(StaffUser, StaffUser.id == Closure.staff_id)
            .where(Closure.day >= today)
            .order_by(Closure.day, Closure.id)
        )
    ]
    config = current_app.config
    holidays = scheduling.public_holidays(
        range(today.year, (today + HOLIDAYS_AHEAD).year + 1),
        config["HOLIDAYS_COUNTRY"],
        config["HOLIDAYS_SUBDIVISION"] or None,
    )
    entries += [
        ClosureEntry(day=day, kind="holiday", who="", reason=name)
        for day, name in holidays.items()
        if today <= day <= today + HOLIDAYS_AHEAD
    ]
    order = {"holiday": 0, "closure": 1, "absence": 2}
    return sorted(entries, key=lambda entry: (entry.day, order[entry.kind], entry.who))


def _people() -> dict[int, StaffUser]:
    return {
        person.id: person
        for person in db.session.scalars(
            select(StaffUser)
            .where(StaffUser.active.is_(True))
            .order_by(StaffUser.name, StaffUser.username)
        )
    }


def _with_choices(form: ClosureForm, people: dict[int, StaffUser]) -> ClosureForm:
    form.staff.choices = [("", _("Tot el servei (tancament)"))] + [
        (str(person.id), f"{person.name} ({person.username})") for person in people.values()
    ]
    return form


def _misfits() -> dict:
    """What the ``_hours_outside.html`` fragment needs: the appointments that no longer fit."""
    return {"misfits": misfits.confirmed_misfits(clock.now()), "reasons": REASONS}


def _closures_page(form: ClosureForm, today: date):
    return render_template(
        "admin/closures.html",
        form=form,
        entries=upcoming_closures(today),
        **_misfits(),
    )


def _scope(checked) -> closure_service.Scope:
    first, last, person = checked
    return closure_service.Scope(first, last, person.id if person else None)


def _preview_page(form: ConfirmForm, scope, person, rows, *, changed: bool = False):
    """The preview: what the closure breaks and what will be done, nothing saved yet."""
    form.shown.data = ",".join(str(row.booking_id) for row in rows)
    chosen = {
        row.booking_id: _chosen_action(row) if request.method == "POST" else row.proposal.action
        for row in rows
    }
    return render_template(
        "admin/closure_preview.html",
        form=form,
        scope=scope,
        person=person,
        rows=rows,
        chosen=chosen,
        changed=changed,
        Action=Action,
        message_max=MESSAGE_MAX,
    )


def _chosen_action(row: closure_service.Row) -> Action:
    value = request.form.get(f"action-{row.booking_id}", "")
    return Action(value) if value in row.choices else row.proposal.action


def _target(row: closure_service.Row) -> tuple[datetime, int] | None:
    """The (start, technician) the preview showed for this booking, if it reads as one."""
    start, _sep, tech = request.form.get(f"target-{row.booking_id}", "").partition("/")
    technician = int_in_range(tech)
    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        return None
    if technician is None or moment.tzinfo is None:
        return None
    return moment, technician


@bp.route("/tancaments/", methods=["GET", "POST"])
def closures():
    """Closures and absences from today on; "Revisa" previews a new one (nothing saved)."""
    people = _people()
    today = service_today()
    if request.method == "POST" and "edit" in request.form:  # back from the preview
        return _closures_page(_with_choices(ClosureForm(), people), today)
    form = _with_choices(ConfirmForm(), people)
    # The preview's language switch posts it here: the preview again, in the new language.
    again = switching_language() and "shown" in request.form
    if form.validate_on_submit() or again:
        checked = _checked_closure(form, people, today)
        if checked is not None:
            scope = _scope(checked)
            if not again:
                form.message.data = form.reason.data or ""
            rows = closure_service.preview(scope, clock.now())
            return _preview_page(form, scope, checked[2], rows)
    return _closures_page(form, today)


@bp.post("/tancaments/confirma")
def confirm_closure():
    """Save the closure previewed and apply each booking's action; 303 to the result."""
    people = _people()
    today = service_today()
    form = _with_choices(ConfirmForm(), people)
    if not form.is_submitted():  # the language switch never confirms
        abort(400)
    if not form.validate_on_submit() and form.errors.keys() - {"message"}:
        abort(400)  # the form token, or a form that the preview did not write
    message_errors = list(form.message.errors)
    form.message.errors = []
    checked = _checked_closure(form, people, today)
    if checked is None:  # a day passed since the preview, a person left...
        return _closures_page(form, today)
    scope = _scope(checked)
    now = clock.now()
    rows = closure_service.preview(scope, now)
    shown = {int_in_range(part) for part in (form.shown.data or "").split(",") if part}
    if shown != {row.booking_id for row in rows}:
        return _preview_page(form, scope, checked[2], rows, changed=True)
    form.message.errors = message_errors
    actions = {row.booking_id: _chosen_action(row) for row in rows}
    message = form.message.data or ""
    if not message and any(action != Action.LEAVE for action in actions.values()):
        form.message.errors = [
            *form.message.errors,
            _("Escriviu el motiu que llegiran les persones afectades"),
        ]
    if form.message.errors:
        return _preview_page(form, scope, checked[2], rows)

    added = closure_service.add_days(scope, form.reason.data or "")
    db.session.commit()
    applied = closure_service.apply(
        scope,
        rows,
        actions,
        {row.booking_id: target for row in rows if (target := _target(row)) is not None},
        message=message,
        now=now,
        actor_id=current_user.id,
    )
    person = checked[2]
    if person is None:
        text = ngettext(
            "S'ha afegit %(num)s dia de tancament del servei.",
            "S'han afegit %(num)s dies de tancament del servei.",
            added,
        )
    else:
        text = ngettext(
            "S'ha afegit %(num)s dia d'absència de %(name)s.",
            "S'han afegit %(num)s dies d'absència de %(name)s.",
            added,
            name=person.name,
        )
    flash(text, "success")
    code = ",".join(f"{item.booking_id}{item.outcome.value}" for item in applied)
    return redirect(url_for("admin.closure_result", r=code or None), 303)


def _read_results(text: str) -> list[tuple[int, closure_service.Outcome]]:
    """'12m,13c' -> [(12, MOVED), (13, CANCELLED)]; anything unreadable is skipped."""
    found = []
    letters = {outcome.value: outcome for outcome in closure_service.Outcome}
    for part in text.split(",")[:RESULTS_MAX]:
        booking_id = int_in_range(part[:-1])
        outcome = letters.get(part[-1:])
        if booking_id is not None and outcome is not None:
            found.append((booking_id, outcome))
    return found


@bp.get("/tancaments/resultat")
def closure_result():
    """What happened to each booking of the closure just added, and what still does not fit."""
    return render_template(
        "admin/closure_result.html",
        results=closure_service.results(_read_results(request.args.get("r", ""))),
        Outcome=closure_service.Outcome,
        **_misfits(),
    )


@bp.post("/tancaments/<int:closure_id>/esborra")
def delete_closure(closure_id: int):
    """Remove one day of closure or absence (public holidays cannot be removed)."""
    closure = db.session.get(Closure, closure_id)
    if closure is None:
        abort(404)
    if not Form().validate_on_submit():
        abort(400)
    day = closure.day
    db.session.delete(closure)
    db.session.commit()
    flash(
        _("S'ha esborrat el tancament del %(day)s.", day=day_text(day)),
        "success",
    )
    return redirect(url_for("admin.closures"), 303)
