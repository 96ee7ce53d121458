"""Opening hours (coordinators only).

Each person's weekly hours (up to two periods a day: morning and afternoon). Service
closures and personal absences are in ``closures.py``.

Every page here also lists the confirmed future appointments that no longer fit the hours
or fall on a closed day, so a coordinator can move them. The rule is
``scheduling.outside_hours`` (pure); this module only loads its input, in a fixed number of
queries whatever the number of bookings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import StringField

from .. import clock
from ..booking import misfits
from ..core import scheduling
from ..core.dates import parse_time
from ..extensions import db
from ..models import OpeningHours
from ..models import StaffUser
from ..web.forms import Form
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
                value = parse_time(text) if text else None
                if text and value is None:
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


# --- Appointments left outside the hours -------------------------------------------------------


#: Why an appointment no longer fits, as the list says it.
REASONS = {
    scheduling.Misfit.CLOSED: _l("Servei tancat aquell dia"),
    scheduling.Misfit.ABSENT: _l("Absència del tècnic o la tècnica"),
    scheduling.Misfit.OUTSIDE_HOURS: _l("Fora de l'horari"),
    scheduling.Misfit.OTHER_TOWNS: _l("La persona tècnica ja no atén aquest municipi"),
}


def _misfits(staff_id: int | None = None) -> dict:
    """What the ``_hours_outside.html`` fragment needs: the appointments that no longer fit."""
    return {"misfits": misfits.confirmed_misfits(clock.now(), staff_id), "reasons": REASONS}
