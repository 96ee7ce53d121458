"""A coordinator's home: ``/admin/``, what needs attention now.

Each block says how many things wait and links to the page where they are dealt with:

- **e-mails that failed** (the outbox gave up after its attempts): the outbox, filtered;
- **today's and tomorrow's calls**, per technician: the agenda of that day (``?dia=``);
- **cases waiting past their document deadline** (status *Documentació requerida* with a
  deadline before today), oldest deadline first: each case, and the list filtered by status;
- **unassigned open cases** (the team's queue): the case list filtered;
- **towns that cannot be served**: confirmed upcoming calls that no longer fit the opening
  hours or closures (``booking/misfits.py``, the same rule the hours page uses), and the
  enrolled towns when no active technician has opening hours at all: the hours page;
- **this week's figures** (Monday to Sunday): calls booked during the week, calls of the week
  attended, missed and cancelled (``stats.service_stats.appointment_figures``, the statistics'
  own definitions), new case files (requested this week), surveys answered.

Every figure is an SQL aggregate; the page costs the same fixed number of queries whatever
the number of rows (``tests/test_admin_home.py`` counts them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import timedelta

from flask import render_template
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select

from .. import clock
from ..booking import misfits
from ..casefiles.queries import UNASSIGNED
from ..core.periods import Period
from ..core.text import sort_key
from ..extensions import db
from ..models import FINAL_STATUSES
from ..models import Booking
from ..models import BookingStatus
from ..models import CaseFile
from ..models import CaseStatus
from ..models import Municipality
from ..models import OutboxMessage
from ..models import OutboxStatus
from ..models import StaffUser
from ..models import SurveyResponse
from ..stats import service_stats
from ..web.i18n import service_today
from ..web.i18n import service_tz
from . import bp
from .staff import towns_without_technician

#: The overdue cases listed on the page (the count and the link cover them all).
OVERDUE_ON_PAGE = 10
#: Towns nobody can serve named on the page (those with calls to come first).
UNSERVED_ON_PAGE = 10
#: The statuses of a call that is (or was) going to happen.
CALL_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW)


@dataclass(frozen=True)
class TechnicianCalls:
    technician_id: int
    name: str
    today: int
    tomorrow: int


@dataclass(frozen=True)
class OverdueCase:
    case_id: int
    number: str
    town: str
    deadline: date
    assigned: str


@dataclass(frozen=True)
class Week:
    period: Period
    figures: service_stats.AppointmentFigures
    new_cases: int
    surveys_answered: int


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def failed_emails() -> int:
    """E-mails the outbox gave up on (one query)."""
    return db.session.scalar(
        select(func.count()).where(OutboxMessage.status == OutboxStatus.FAILED)
    )


def calls_by_technician(today: date) -> list[TechnicianCalls]:
    """Today's and tomorrow's calls (not cancelled) per technician, by name (one query)."""
    start, end = Period(today, today + timedelta(days=1)).bounds(service_tz())
    tomorrow_start = Period(today + timedelta(days=1), today + timedelta(days=1)).bounds(
        service_tz()
    )[0]
    is_today = Booking.start_utc < tomorrow_start
    rows = db.session.execute(
        select(
            StaffUser.id,
            StaffUser.name,
            _count_if(is_today),
            _count_if(~is_today),
        )
        .join(StaffUser, StaffUser.id == Booking.technician_id)
        .where(
            Booking.start_utc >= start,
            Booking.start_utc < end,
            Booking.status.in_(CALL_STATUSES),
        )
        .group_by(StaffUser.id, StaffUser.name)
    ).all()
    lines = [TechnicianCalls(row[0], row[1], int(row[2]), int(row[3])) for row in rows]
    return sorted(lines, key=lambda line: (sort_key(line.name), line.technician_id))


def case_counts(today: date) -> tuple[int, int]:
    """(open cases nobody is assigned to, cases past their document deadline): one query."""
    open_case = CaseFile.status.not_in(FINAL_STATUSES)
    overdue = and_(CaseFile.status == CaseStatus.DOCUMENTACIO, CaseFile.deadline < today)
    row = db.session.execute(
        select(
            _count_if(and_(open_case, CaseFile.assigned_to_id.is_(None))),
            _count_if(overdue),
        )
    ).one()
    return int(row[0]), int(row[1])


def overdue_cases(today: date, limit: int = OVERDUE_ON_PAGE) -> list[OverdueCase]:
    """The cases past their document deadline, the oldest deadline first (one query)."""
    rows = db.session.execute(
        select(
            CaseFile.id,
            CaseFile.number,
            Municipality.name,
            CaseFile.deadline,
            StaffUser.name,
        )
        .outerjoin(Municipality, Municipality.id == CaseFile.municipality_id)
        .outerjoin(StaffUser, StaffUser.id == CaseFile.assigned_to_id)
        .where(CaseFile.status == CaseStatus.DOCUMENTACIO, CaseFile.deadline < today)
        .order_by(CaseFile.deadline, CaseFile.id)
        .limit(limit)
    ).all()
    return [OverdueCase(r[0], r[1], r[2] or "", r[3], r[4] or "") for r in rows]


def this_week(today: date) -> Week:
    """Monday to Sunday of the current week: the statistics' call figures, new case files,
    survey answers (two queries)."""
    monday = today - timedelta(days=today.weekday())
    period = Period(monday, monday + timedelta(days=6))
    tz = service_tz()
    start, end = period.bounds(tz)
    figures = service_stats.appointment_figures(period, tz)
    row = db.session.execute(
        select(
            select(func.count(CaseFile.id))
            .where(CaseFile.requested_at >= start, CaseFile.requested_at < end)
            .scalar_subquery(),
            select(func.count(SurveyResponse.id))
            .where(SurveyResponse.answered_at >= start, SurveyResponse.answered_at < end)
            .scalar_subquery(),
        )
    ).one()
    return Week(period, figures, int(row[0] or 0), int(row[1] or 0))


def misfit_towns(found: list[misfits.Misfit]) -> list[tuple[str, int]]:
    """(town, calls that no longer fit), by town name."""
    counts: dict[str, int] = {}
    for misfit in found:
        counts[misfit.town] = counts.get(misfit.town, 0) + 1
    return sorted(counts.items(), key=lambda item: sort_key(item[0]))


@bp.get("/", endpoint="home")
def home():
    """What needs a coordinator's attention now, each item linked to where it is dealt with."""
    today = service_today()
    tomorrow = today + timedelta(days=1)
    calls = calls_by_technician(today)
    unassigned, overdue_total = case_counts(today)
    found = misfits.confirmed_misfits(clock.now())
    unserved = towns_without_technician(clock.now())
    return render_template(
        "admin/home.html",
        today=today,
        tomorrow=tomorrow,
        failed=failed_emails(),
        failed_status=OutboxStatus.FAILED.value,
        calls=calls,
        calls_today=sum(line.today for line in calls),
        calls_tomorrow=sum(line.tomorrow for line in calls),
        unassigned=unassigned,
        unassigned_code=UNASSIGNED,
        overdue_total=overdue_total,
        overdue=overdue_cases(today) if overdue_total else [],
        overdue_status=CaseStatus.DOCUMENTACIO.value,
        misfits=found,
        misfit_towns=misfit_towns(found),
        unserved_towns=unserved,
        unserved_shown=unserved[:UNSERVED_ON_PAGE],
        week=this_week(today),
    )
