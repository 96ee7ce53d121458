"""The agenda (/espai/): the appointments of any day or any week, a person's or the team's.

The address says what is shown, so any link can point at any day:

- ``dia``: the day (``2026-12-14``, or a typed ``14/12/2026``: ``core.dates.parse_day``);
  without it, today. A day that is not one (``2026-13-45``, ``hola``) shows today, with the
  problem beside the date field and in the error summary: never an error page.
- ``vista=setmana``: the week, Monday to Sunday, that holds ``dia``; otherwise that day alone.
- ``tecnic``: whose appointments. A person's id, or ``tots`` for the whole team. Without it a
  technician sees their own and a coordinator the team's.

Previous and next (a day or a week), "today", the days of the week and the date form are
plain links and a GET form: everything works from the keyboard and without JavaScript. The
whole team's appointments are there to read for everyone (who is free, who has what); acting
on one (joining, marking, cancelling, its card) stays with its technician and the
coordinators, as ``appointments._booking_for_me`` decides.

Cost: the day's or week's bookings, their case files, the mobile unit's visits (shown on
each day as "Visita UMIC · Gelida · 10:00–13:00 · place", linked to the visit's page), the
staff list and the uploads, plus the calls still to mark when the range holds today: the
same queries for 1 or 1,000 bookings.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta

from flask import current_app
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import clock
from ..casefiles.documents import new_citizen_uploads
from ..core import dates
from ..core import scheduling
from ..core.dates import parse_day
from ..core.numbers import int_in_range
from ..core.periods import Period
from ..extensions import db
from ..mailbox.service import waiting_messages
from ..models import Booking
from ..models import BookingStatus
from ..models import CaseFile
from ..models import Closure
from ..models import OpeningHours
from ..models import StaffUser
from ..models import UmicVisit
from ..models import VisitStatus
from ..web.i18n import day_text
from ..web.i18n import locale_name
from ..web.i18n import service_tz
from . import bp

#: How far back the agenda looks for calls nobody marked attended or missed.
UNMARKED_DAYS = 14
#: The ``tecnic`` value for the whole team.
TEAM = "tots"


class View(enum.StrEnum):
    """How much the agenda shows at once (the ``vista`` parameter)."""

    DAY = "dia"
    WEEK = "setmana"


@dataclass(frozen=True)
class Span:
    """The days shown: ``day`` alone, or the Monday-to-Sunday week holding it."""

    day: date
    view: View

    @property
    def first(self) -> date:
        if self.view == View.WEEK:
            return self.day - timedelta(days=self.day.weekday())
        return self.day

    @property
    def last(self) -> date:
        return self.first + timedelta(days=6 if self.view == View.WEEK else 0)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def week(self) -> list[date]:
        """The week holding ``day`` (the row of links to each of its days)."""
        monday = self.day - timedelta(days=self.day.weekday())
        return [monday + timedelta(days=n) for n in range(7)]

    @property
    def step(self) -> timedelta:
        return timedelta(days=7 if self.view == View.WEEK else 1)

    @property
    def previous(self) -> date:
        return self.day - self.step

    @property
    def next(self) -> date:
        return self.day + self.step


def chosen_person(user: StaffUser, raw: str | None) -> int | None:
    """Whose appointments: a staff id, or None for the whole team."""
    if raw == TEAM:
        return None
    person = int_in_range(raw)  # anything but a plausible id is the default, never a 500
    if person:
        return person
    return None if user.is_coordinator else user.id


def person_arg(user: StaffUser, person: int | None) -> str | int | None:
    """The ``tecnic`` value that keeps ``person`` in links (None: the default, left out)."""
    default = None if user.is_coordinator else user.id
    if person == default:
        return None
    return TEAM if person is None else person


def of_person(query, person: int | None):
    """The bookings of one person (None: everyone's)."""
    return query if person is None else query.where(Booking.technician_id == person)


def staff_choices() -> list[tuple[StaffUser, bool]]:
    """Active staff by name, each with whether they take calls (have opening hours): one
    query. A coordinator without hours reads the agenda but is never offered as the
    technician of a booking."""
    takes_calls = exists().where(OpeningHours.staff_id == StaffUser.id)
    rows = db.session.execute(
        select(StaffUser, takes_calls).where(StaffUser.active.is_(True)).order_by(StaffUser.name)
    )
    return [(person, bool(takes)) for person, takes in rows]


def join_state(booking: Booking, now: datetime) -> str:
    """'soon' (not yet), 'live' (from N minutes before until the end) or 'over'.

    Whatever the status but cancelled, a call is 'live' until its end: a technician whose
    call dropped after marking it attended can still rejoin."""
    opens = booking.start_utc - timedelta(minutes=current_app.config["JOIN_LINK_MINUTES_BEFORE"])
    if now < opens:
        return "soon"
    if now < booking.end_utc:
        return "live"
    return "over"


def may_act(booking: Booking, user: StaffUser) -> bool:
    """Whether ``user`` may act on (and open the card of) ``booking``: theirs, or any for a
    coordinator (the rule ``appointments._booking_for_me`` enforces)."""
    return user.is_coordinator or booking.technician_id == user.id


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return Period(first, last).bounds(service_tz())


def closed_days(span: Span, person: int | None) -> dict[date, str]:
    """Why nobody (or the person shown) takes calls on a day of ``span``, in words: a public
    holiday, a closure of the service, the person's absence. One query (the holidays come
    from the same package the slots engine reads)."""
    config = current_app.config
    holidays = scheduling.public_holidays(
        range(span.first.year, span.last.year + 1),
        config["HOLIDAYS_COUNTRY"],
        config["HOLIDAYS_SUBDIVISION"] or None,
    )
    notes = {
        day: _("Festiu oficial: %(name)s", name=name)
        for day, name in holidays.items()
        if span.first <= day <= span.last
    }
    whose = Closure.staff_id.is_(None)
    if person is not None:
        whose = or_(whose, Closure.staff_id == person)
    rows = db.session.execute(
        select(Closure.day, Closure.staff_id, Closure.reason)
        .where(Closure.day >= span.first, Closure.day <= span.last, whose)
        .order_by(Closure.day, Closure.staff_id.is_not(None), Closure.id)
    )
    for day, staff_id, reason in rows:
        what = _("Servei tancat") if staff_id is None else _("Absència")
        notes.setdefault(day, f"{what}: {reason}" if reason else what)
    return notes


def agenda_context(user: StaffUser, span: Span, person: int | None, now: datetime) -> dict:
    """The days of ``span`` with ``person``'s appointments (None: the team's)."""
    tz = service_tz()
    today = now.astimezone(tz).date()
    start, end = _bounds(span.first, span.last)
    query = (
        select(Booking)
        .options(joinedload(Booking.municipality), joinedload(Booking.technician))
        .where(Booking.start_utc >= start, Booking.start_utc < end)
        .order_by(Booking.start_utc, Booking.id)
    )
    bookings = list(db.session.scalars(of_person(query, person)))
    unmarked: list[Booking] = []
    if span.first <= today <= span.last:
        # Calls of the last two weeks that ended before today and nobody marked attended or
        # missed: shown beside today, where the day's work starts.
        today_start, _end = _bounds(today, today)
        unmarked_query = (
            select(Booking)
            .options(joinedload(Booking.municipality), joinedload(Booking.technician))
            .where(
                Booking.status == BookingStatus.CONFIRMED,
                Booking.end_utc <= now,
                Booking.start_utc >= now - timedelta(days=UNMARKED_DAYS),
                Booking.start_utc < today_start,
            )
            .order_by(Booking.start_utc, Booking.id)
        )
        unmarked = list(db.session.scalars(of_person(unmarked_query, person)))
    cases = dict(
        db.session.execute(
            select(CaseFile.booking_id, CaseFile.id).where(
                CaseFile.booking_id.in_([b.id for b in bookings + unmarked])
            )
        ).all()
    )
    by_day: dict[date, list[Booking]] = defaultdict(list)
    for booking in bookings:
        by_day[booking.start_utc.astimezone(tz).date()].append(booking)
    visits_by_day = _visits_by_day(start, end, person, tz)
    people = staff_choices()
    return {
        "today": today,
        "span": span,
        "days": [(day, by_day.get(day, [])) for day in span.days],
        # The mobile unit's visits of each day (workspace/visits.py), one query for them all.
        "visits": visits_by_day,
        "closed": closed_days(span, person),
        "unmarked": unmarked,
        "cases": cases,
        "now": now,
        "people": [p for p, _takes in people],
        # Whom a coordinator may give a booking to (the reassign choice of each item).
        "technicians": [p for p, takes in people if takes] if user.is_coordinator else [],
        "person": person,
        "join_state": join_state,
        "may_act": may_act,
        "uploads": _new_uploads(user),
        # Mailbox messages nobody has taken yet (umic.mailbox): one count.
        "mailbox_waiting": waiting_messages(),
    }


def _visits_by_day(start: datetime, end: datetime, person: int | None, tz) -> dict:
    """The planned visits of the mobile unit starting in [start, end), by local day: one
    query whatever the number of days."""
    query = (
        select(UmicVisit)
        .options(joinedload(UmicVisit.municipality), joinedload(UmicVisit.technician))
        .where(
            UmicVisit.status == VisitStatus.PLANNED,
            UmicVisit.start_utc >= start,
            UmicVisit.start_utc < end,
        )
        .order_by(UmicVisit.start_utc, UmicVisit.id)
    )
    if person is not None:
        query = query.where(UmicVisit.technician_id == person)
    found: dict[date, list[UmicVisit]] = defaultdict(list)
    for visit in db.session.scalars(query):
        found[visit.start_utc.astimezone(tz).date()].append(visit)
    return dict(found)


def _new_uploads(user: StaffUser) -> list:
    """Documents citizens sent and no one has looked at yet."""
    return new_citizen_uploads(user)


def _heading(span: Span, today: date) -> str:
    """What the page shows, in words: its title and its heading."""
    if span.view == View.WEEK:
        return _(
            "Setmana de %(first)s a %(last)s",
            first=day_text(span.first, year=False),
            last=day_text(span.last),
        )
    text = day_text(span.day)
    return _("Avui, %(day)s", day=text) if span.day == today else text[:1].upper() + text[1:]


@bp.get("/")
def agenda():
    """Agenda: a day or a week, a person's or the team's, with join links and actions."""
    now = clock.now()
    today = now.astimezone(service_tz()).date()
    raw_day = request.args.get("dia", "")
    day = parse_day(raw_day) if raw_day.strip() else today
    day_error = None
    if day is None:
        day = today
        day_error = _("Escriviu una data real, per exemple %(example)s.", example="14/12/2026")
    view = View.WEEK if request.args.get("vista") == View.WEEK else View.DAY
    span = Span(day, view)
    person = chosen_person(current_user, request.args.get("tecnic"))
    context = agenda_context(current_user, span, person, now)

    tecnic = person_arg(current_user, person)
    vista = View.WEEK.value if view == View.WEEK else None

    def link(**args) -> str:
        """The agenda's address with ``args`` changed, keeping whose and which view."""
        values = {"dia": None, "vista": vista, "tecnic": tecnic} | args
        return url_for("workspace.agenda", **{k: v for k, v in values.items() if v is not None})

    locale = locale_name()
    return render_template(
        "workspace/agenda.html",
        **context,
        heading=_heading(span, context["today"]),
        day_error=day_error,
        raw_day=raw_day[:40],
        tecnic=tecnic,
        links={
            "previous": link(dia=span.previous.isoformat()),
            "next": link(dia=span.next.isoformat()),
            "today": link(),
            "day_view": link(dia=None if day == today else day.isoformat(), vista=None),
            "week_view": link(dia=None if day == today else day.isoformat(), vista=View.WEEK.value),
        },
        week=[
            (d, dates.weekday_text(d, locale), link(dia=d.isoformat(), vista=None))
            for d in span.week
        ],
        back=request.full_path.rstrip("?"),
    )
