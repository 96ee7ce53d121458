"""Opening hours and closures (coordinators only).

Each person's weekly hours (up to two periods a day: morning and afternoon), service
closures and personal absences, one ``Closure`` row per day. Catalan public holidays are
not stored: they come from the ``holidays`` package and are only shown.

Every page here also lists the confirmed future appointments that no longer fit the hours
or fall on a closed day, so a coordinator can move them. The rule is
``scheduling.outside_hours`` (pure); this module only loads its input, in a fixed number of
queries whatever the number of bookings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from datetime import time
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
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectField
from wtforms import StringField
from wtforms.validators import Length

from .. import clock
from ..booking import misfits
from ..core import scheduling
from ..core.dates import parse_day
from ..core.numbers import int_in_range
from ..core.text import clean
from ..extensions import db
from ..models import Closure
from ..models import OpeningHours
from ..models import StaffUser
from ..web.forms import Form
from ..web.i18n import day_text
from ..web.i18n import service_today
from . import bp

WEEKDAYS = [
    _l("Dilluns"),
    _l("Dimarts"),
    _l("Dimecres"),
    _l("Dijous"),
    _l("Divendres"),
    _l("Dissabte"),
    _l("Diumenge"),
]
PARTS = [_l("Matí"), _l("Tarda")]  # the two periods a day may have, in this order
#: The longest closure or absence added at once (one row per day).
MAX_CLOSURE_DAYS = 366
#: How far ahead the closures page lists public holidays.
HOLIDAYS_AHEAD = timedelta(days=365)


# --- Weekly hours ---------------------------------------------------------------------------


def _time_text(value: time) -> str:
    return value.strftime("%H:%M")


def periods_text(periods: list[tuple[time, time]]) -> str:
    """'09:00-14:00, 15:30-19:00' (in time order); empty when closed."""
    return ", ".join(f"{_time_text(start)}-{_time_text(end)}" for start, end in sorted(periods))


def week_of(rows: list[OpeningHours]) -> dict[int, list[tuple[time, time]]]:
    """A person's periods by weekday, each day in time order."""
    week: dict[int, list[tuple[time, time]]] = {day: [] for day in range(7)}
    for row in rows:
        week[row.weekday].append((row.start_time, row.end_time))
    return {day: sorted(periods) for day, periods in week.items()}


_TIME = re.compile(r"(\d{1,2})[:.h](\d{2})(?::(\d{2}))?")


def parse_time(text: str) -> time:
    """'09:00', '9:00', '9.00', '09:00:00' (what browsers send for type=time) -> time.

    Raises ValueError for anything else.
    """
    match = _TIME.fullmatch(text.strip())
    if not match:
        raise ValueError(text)
    hour, minute, second = (int(part or 0) for part in match.groups())
    return time(hour, minute, second)


def _field_name(day: int, part: int, which: str) -> str:
    return f"d{day}_p{part}_{which}"


class HoursForm(Form):
    """Start and end of the morning and afternoon periods of each weekday.

    Checked in ``_checked_week`` rather than by field validators: the rules concern a whole
    day (two periods that must not overlap), and every message names the day and period.
    """


for _day in range(7):
    for _part in range(len(PARTS)):
        setattr(HoursForm, _field_name(_day, _part, "start"), StringField(_l("Inici")))
        setattr(HoursForm, _field_name(_day, _part, "end"), StringField(_l("Final")))


# (problem, box) -> message; %(when)s is the day and period, e.g. "Dilluns, matí".
_MESSAGES = {
    ("format", "start"): _l("%(when)s: escriviu l'hora d'inici amb el format HH:MM, com ara 09:00"),
    ("format", "end"): _l("%(when)s: escriviu l'hora de final amb el format HH:MM, com ara 14:00"),
    (scheduling.PeriodProblem.MISSING_START, "start"): _l(
        "%(when)s: escriviu l'hora d'inici, o esborreu també la de final"
    ),
    (scheduling.PeriodProblem.MISSING_END, "end"): _l(
        "%(when)s: escriviu l'hora de final, o esborreu també la d'inici"
    ),
    (scheduling.PeriodProblem.NOT_ALIGNED, "start"): _l(
        "%(when)s: l'hora d'inici ha de ser un múltiple de 5 minuts, com ara 09:05"
    ),
    (scheduling.PeriodProblem.NOT_ALIGNED, "end"): _l(
        "%(when)s: l'hora de final ha de ser un múltiple de 5 minuts, com ara 14:05"
    ),
    (scheduling.PeriodProblem.ORDER, "end"): _l(
        "%(when)s: l'hora de final ha de ser posterior a la d'inici"
    ),
    (scheduling.PeriodProblem.OVERLAP, "start"): _l(
        "%(when)s: coincideix amb el matí; ha de començar quan acaba el matí o més tard"
    ),
}


def _checked_week(form: HoursForm) -> dict[int, list[tuple[time, time]]] | None:
    """The week typed in, or None after putting an error beside each wrong box.

    One message per box. A box that cannot be read as a time gets only that message; the
    other box of its period is still checked on its own, but the period takes no part in
    the overlap check until it can be read.
    """
    week: dict[int, list[tuple[time, time]]] = {}
    valid = True
    for day in range(7):
        periods: list[tuple[time | None, time | None]] = []
        unreadable: set[tuple[int, str]] = set()
        for part in range(len(PARTS)):
            values: list[time | None] = []
            for which in ("start", "end"):
                field = form[_field_name(day, part, which)]
                text = (field.data or "").strip()
                try:
                    value = parse_time(text) if text else None
                except ValueError:
                    value = None
                    unreadable.add((part, which))
                if value is not None:  # shown back as HH:MM, which a time box can display
                    field.data = value.strftime("%H:%M:%S" if value.second else "%H:%M")
                values.append(value)
            periods.append((values[0], values[1]))
        broken = {part for part, _which in unreadable}
        problems: dict[tuple[int, str], scheduling.PeriodProblem | str] = dict(
            scheduling.day_period_problems(
                [(None, None) if part in broken else p for part, p in enumerate(periods)]
            )
        )
        for part in broken:
            for (_index, which), problem in scheduling.day_period_problems([periods[part]]).items():
                problems[(part, which)] = problem
        problems.update(dict.fromkeys(unreadable, "format"))
        for (part, which), problem in problems.items():
            when = f"{WEEKDAYS[day]}, {str(PARTS[part]).lower()}"
            field = form[_field_name(day, part, which)]
            field.errors = [*field.errors, str(_MESSAGES[(problem, which)]) % {"when": when}]
            valid = False
        week[day] = sorted((s, e) for s, e in periods if s is not None and e is not None)
    return week if valid else None


def _initial_data(rows: list[OpeningHours]) -> dict[str, str]:
    data = {}
    for day, periods in week_of(rows).items():
        for part, (start, end) in enumerate(periods[: len(PARTS)]):
            data[_field_name(day, part, "start")] = _time_text(start)
            data[_field_name(day, part, "end")] = _time_text(end)
    return data


@dataclass(frozen=True)
class DayFields:
    """One weekday of the form, for the template: its name and (part name, start, end)."""

    name: str
    parts: list[tuple[str, object, object]]


def _form_days(form: HoursForm) -> list[DayFields]:
    return [
        DayFields(
            name=str(WEEKDAYS[day]),
            parts=[
                (
                    str(PARTS[part]),
                    form[_field_name(day, part, "start")],
                    form[_field_name(day, part, "end")],
                )
                for part in range(len(PARTS))
            ],
        )
        for day in range(7)
    ]


@bp.get("/horaris/")
def hours():
    """Everyone's weekly hours in one table, and the appointments left outside them."""
    people = db.session.scalars(
        select(StaffUser)
        .where(StaffUser.active.is_(True))
        .options(selectinload(StaffUser.hours))
        .order_by(StaffUser.name, StaffUser.username)
    ).all()
    rows = [
        (person, [periods_text(periods) for periods in week_of(person.hours).values()])
        for person in people
    ]
    return render_template(
        "admin/hours.html",
        rows=rows,
        weekdays=[str(name) for name in WEEKDAYS],
        **_misfits(),
    )


@bp.route("/horaris/<int:staff_id>", methods=["GET", "POST"])
def technician_hours(staff_id: int):
    """Edit one person's weekly hours; saving replaces all of them at once."""
    person = db.session.get(StaffUser, staff_id)
    if person is None:
        abort(404)
    form = HoursForm(data=_initial_data(person.hours) if request.method == "GET" else None)
    if form.validate_on_submit():
        week = _checked_week(form)
        if week is not None:
            # Lock the person's row: two coordinators saving at once are serialised, and
            # the second one replaces the first one's rows instead of adding to them.
            db.session.refresh(person, with_for_update=True)
            person.hours = [
                OpeningHours(weekday=day, start_time=start, end_time=end)
                for day, periods in week.items()
                for start, end in periods
            ]
            db.session.commit()
            flash(_("S'ha desat l'horari de %(name)s.", name=person.name), "success")
            return redirect(url_for("admin.hours"), 303)
    # Stored by other means (an import, the shell): the form shows only two a day.
    crowded = [
        str(WEEKDAYS[day])
        for day, periods in week_of(person.hours).items()
        if len(periods) > len(PARTS)
    ]
    return render_template(
        "admin/hours_edit.html",
        person=person,
        form=form,
        crowded=crowded,
        days=_form_days(form),
        **_misfits(person.id),
    )


# --- Closures and absences -------------------------------------------------------------------


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


@bp.route("/tancaments/", methods=["GET", "POST"])
def closures():
    """Closures and absences from today on; add one for a day or a range of days."""
    people = {
        person.id: person
        for person in db.session.scalars(
            select(StaffUser)
            .where(StaffUser.active.is_(True))
            .order_by(StaffUser.name, StaffUser.username)
        )
    }
    form = ClosureForm()
    form.staff.choices = [("", _("Tot el servei (tancament)"))] + [
        (str(person.id), f"{person.name} ({person.username})") for person in people.values()
    ]
    today = service_today()
    if form.validate_on_submit():
        checked = _checked_closure(form, people, today)
        if checked is not None:
            first, last, person = checked
            added = _add_closures(first, last, person, form.reason.data or "")
            if person is None:
                message = ngettext(
                    "S'ha afegit %(num)s dia de tancament del servei.",
                    "S'han afegit %(num)s dies de tancament del servei.",
                    added,
                )
            else:
                message = ngettext(
                    "S'ha afegit %(num)s dia d'absència de %(name)s.",
                    "S'han afegit %(num)s dies d'absència de %(name)s.",
                    added,
                    name=person.name,
                )
            flash(message, "success")
            return redirect(url_for("admin.closures"), 303)
    return render_template(
        "admin/closures.html",
        form=form,
        entries=upcoming_closures(today),
        **_misfits(),
    )


def _add_closures(first: date, last: date, person: StaffUser | None, reason: str) -> int:
    """One row per day from ``first`` to ``last``, skipping days already closed the same way."""
    scope = Closure.staff_id.is_(None) if person is None else Closure.staff_id == person.id
    existing = set(
        db.session.scalars(select(Closure.day).where(scope, Closure.day.between(first, last)))
    )
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    new = [day for day in days if day not in existing]
    db.session.add_all(
        Closure(day=day, staff_id=person.id if person else None, reason=reason) for day in new
    )
    db.session.commit()
    return len(new)


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


# --- Appointments left outside the hours -------------------------------------------------------


#: Why an appointment no longer fits, as the list says it.
REASONS = {
    scheduling.Misfit.CLOSED: _l("Servei tancat aquell dia"),
    scheduling.Misfit.ABSENT: _l("Absència del tècnic o la tècnica"),
    scheduling.Misfit.OUTSIDE_HOURS: _l("Fora de l'horari"),
}


def _misfits(staff_id: int | None = None) -> dict:
    """What the ``_hours_outside.html`` fragment needs: the appointments that no longer fit."""
    return {"misfits": misfits.confirmed_misfits(clock.now(), staff_id), "reasons": REASONS}
