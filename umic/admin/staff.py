"""The staff and the towns each technician serves (coordinators only).

- ``/admin/tecnics/``: every member of staff with their role, whether the account is active,
  their weekly hours (edited at ``admin.technician_hours``) and the towns they serve. Three
  queries whatever the number of people.
- ``/admin/tecnics/<id>/municipis``: a technician's towns: every town that can book (the
  default, stored as no rows at all, so a town enrolled later is served at once), or a chosen
  list, checkboxes grouped by comarca (no JavaScript).

The slots engine honours the list: a technician limited to some towns is offered, chosen and
claimed only for bookings from those towns (``booking.service.load_availability``,
``StaffTown.serves``). ``towns_without_technician`` finds the towns where that leaves
citizens with nobody: the coordinators' home shows them.

Accounts are created and their passwords set from the command line
(``flask --app umic users create|set-password``); this page does not add or remove anyone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import RadioField
from wtforms import SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from .. import clock
from ..core.text import fold
from ..extensions import db
from ..models import Booking
from ..models import BookingStatus
from ..models import Municipality
from ..models import OpeningHours
from ..models import Role
from ..models import StaffTown
from ..models import StaffUser
from ..web.forms import Form
from . import bp
from .hours import WEEKDAYS
from .hours import periods_text
from .hours import week_of

ROLES = {Role.TECHNICIAN: _l("Tècnic/a"), Role.COORDINATOR: _l("Coordinació")}
ALL, SOME = "tots", "alguns"


# --- Queries ---------------------------------------------------------------------------------


def bookable_towns() -> list[Municipality]:
    """Towns whose residents can book, in Catalan order (accents ignored): one query."""
    towns = db.session.scalars(select(Municipality).where(Municipality.can_book)).all()
    return sorted(towns, key=lambda town: (fold(town.name), town.name))


def towns_of(staff_ids: list[int] | None = None) -> dict[int, list[str]]:
    """Each technician's listed towns by name (absent: every town), one query."""
    query = select(StaffTown.staff_id, Municipality.name).join(
        Municipality, Municipality.id == StaffTown.municipality_id
    )
    if staff_ids is not None:
        query = query.where(StaffTown.staff_id.in_(staff_ids))
    found: dict[int, list[str]] = defaultdict(list)
    for staff_id, name in db.session.execute(query):
        found[staff_id].append(name)
    return {staff_id: sorted(names, key=fold) for staff_id, names in found.items()}


@dataclass(frozen=True)
class TownWithoutTechnician:
    """A town that can book but that no active technician with hours serves."""

    id: int
    name: str
    slug: str
    upcoming_bookings: int  # confirmed bookings from now on


def towns_without_technician(
    now: datetime | None = None, *, with_bookings_only: bool = False
) -> list[TownWithoutTechnician]:
    """Towns that can book where nobody can take a call: no active member of staff with
    opening hours serves them (``StaffTown.serves``), so their residents see no free time.
    Those with upcoming bookings first, then by name. One query, whatever the number of
    towns.

    ``with_bookings_only``: only those with confirmed bookings from ``now`` on (bookings made
    before a technician's towns changed).
    """
    now = now or clock.now()
    served = exists().where(
        and_(
            StaffUser.active.is_(True),
            exists().where(OpeningHours.staff_id == StaffUser.id),
            StaffTown.serves(StaffUser.id, Municipality.id),
        )
    )
    upcoming = (
        select(Booking.municipality_id, func.count(Booking.id).label("n"))
        .where(Booking.status == BookingStatus.CONFIRMED, Booking.start_utc >= now)
        .group_by(Booking.municipality_id)
        .subquery()
    )
    count = func.coalesce(upcoming.c.n, 0)
    query = (
        select(Municipality.id, Municipality.name, Municipality.slug, count)
        .outerjoin(upcoming, upcoming.c.municipality_id == Municipality.id)
        .where(Municipality.can_book, ~served)
    )
    if with_bookings_only:
        query = query.where(count > 0)
    rows = [TownWithoutTechnician(*row) for row in db.session.execute(query)]
    return sorted(rows, key=lambda town: (-town.upcoming_bookings, fold(town.name)))


# --- The staff list --------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffRow:
    person: StaffUser
    role: str
    hours: list[tuple[str, str]]  # (weekday, periods) for the days with hours
    towns: list[str] | None  # None: every town


@bp.get("/tecnics/")
def staff():
    """Everyone on the staff: role, account, weekly hours and towns served."""
    people = db.session.scalars(
        select(StaffUser)
        .options(selectinload(StaffUser.hours))
        .order_by(StaffUser.active.desc(), StaffUser.name, StaffUser.username)
    ).all()
    listed = towns_of()
    rows = [
        StaffRow(
            person=person,
            role=str(ROLES.get(person.role, person.role)),
            hours=[
                (str(WEEKDAYS[day]), periods_text(periods))
                for day, periods in week_of(person.hours).items()
                if periods
            ],
            towns=listed.get(person.id),
        )
        for person in people
    ]
    return render_template("admin/staff.html", rows=rows)


# --- A technician's towns --------------------------------------------------------------------


def _town_id(value) -> int:
    text = str(value)
    return int(text) if text.isdigit() and len(text) < 10 else 0


def _some_chosen(form, field) -> None:
    if form.scope.data == SOME and not field.data:
        raise ValidationError(
            _l("Trieu almenys un municipi, o marqueu «Tots els municipis adherits»")
        )


class TownsForm(Form):
    """Every town, or the ones ticked."""

    scope = RadioField(
        _l("Quins municipis atén"),
        choices=[
            SelectChoice(
                ALL, _l("Tots els municipis adherits, també els que s'adhereixin més endavant")
            ),
            SelectChoice(SOME, _l("Només els municipis marcats")),
        ],
        default=ALL,
        validate_choice=False,  # anything but SOME means every town
    )
    # Unknown or garbled ids are dropped by the view, never an error in another language.
    towns = SelectMultipleField(
        _l("Municipis"), coerce=_town_id, validate_choice=False, validators=[_some_chosen]
    )


@dataclass(frozen=True)
class Comarca:
    name: str
    towns: list[Municipality]


def _by_comarca(towns: list[Municipality]) -> list[Comarca]:
    grouped: dict[str, list[Municipality]] = defaultdict(list)
    for town in towns:
        grouped[town.comarca or ""].append(town)
    return [
        Comarca(name=name, towns=grouped[name])
        for name in sorted(grouped, key=lambda name: (name == "", fold(name)))
    ]


@bp.route("/tecnics/<int:staff_id>/municipis", methods=["GET", "POST"])
def technician_towns(staff_id: int):
    """Choose the towns one technician serves; saving replaces the list at once."""
    person = db.session.get(StaffUser, staff_id)
    if person is None:
        abort(404)
    towns = bookable_towns()
    current = set(
        db.session.scalars(select(StaffTown.municipality_id).where(StaffTown.staff_id == staff_id))
    )
    if request.method == "GET":
        form = TownsForm(data={"scope": SOME if current else ALL, "towns": sorted(current)})
    else:
        form = TownsForm()
    known = {town.id for town in towns}
    form.towns.choices = [SelectChoice(town.id, town.name) for town in towns]
    if request.method == "POST":
        form.towns.data = [town_id for town_id in form.towns.data or [] if town_id in known]
    if form.validate_on_submit():
        chosen = set(form.towns.data) if form.scope.data == SOME else set()
        # Lock the person's row: two coordinators saving at once are serialised.
        db.session.refresh(person, with_for_update=True)
        db.session.execute(delete(StaffTown).where(StaffTown.staff_id == staff_id))
        db.session.add_all(
            StaffTown(staff_id=staff_id, municipality_id=town_id) for town_id in sorted(chosen)
        )
        db.session.commit()
        if chosen:
            message = ngettext(
                "%(name)s atén %(num)s municipi.",
                "%(name)s atén %(num)s municipis.",
                len(chosen),
                name=person.name,
            )
        else:
            message = _("%(name)s atén tots els municipis adherits.", name=person.name)
        flash(message, "success")
        return redirect(url_for("admin.staff"), 303)
    ticked = set(form.towns.data or [])
    return render_template(
        "admin/staff_towns.html",
        person=person,
        form=form,
        comarques=_by_comarca(towns),
        ticked=ticked,
    )
