"""Survey results for coordinators: what the answers add up to over a period.

Every figure is an SQL aggregate (COUNT, AVG, SUM of CASE) grouped by month, town or
technician, in a fixed number of queries whatever the number of answers. Averages and
percentages are rounded here, half up, to one decimal. The definitions:

- *sent*: bookings whose survey was queued in the period;
- *response rate*: of those, how many have been answered (so far);
- *answers* and everything computed from them (averages, distributions, resolved, comments):
  survey answers given in the period.

The small functions at the top (rounding and wording) are pure and unit-tested; the period
form is ``umic.core.periods``'s, as on every report. Sending the
survey and recording an answer are in ``umic.surveys.service``.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import ROUND_HALF_UP
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select

from ..core import dates
from ..core.periods import Period
from ..core.text import sort_key
from ..extensions import db
from ..models import Booking
from ..models import Municipality
from ..models import Resolved
from ..models import StaffUser
from ..models import SurveyResponse
from ..surveys.service import SCORES
from .requests import month_bucket

_ONE_DECIMAL = Decimal("0.1")


# --- Pure helpers -------------------------------------------------------------------------------


def rounded(value) -> Decimal | None:
    """An SQL average (float on SQLite, Decimal on PostgreSQL) to one decimal, half up.

    Going through ``str`` keeps the float's shortest form: 9.35 stays 9.35 and becomes 9.4,
    as on PostgreSQL, instead of 9.3499999... becoming 9.3.
    """
    if value is None:
        return None
    return Decimal(str(value)).quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)


def percent(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in percent, one decimal, half up; None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)


def average_text(value: Decimal | None, locale: str) -> str:
    """'9,4' in Catalan, '9.4' in English; '' when there is nothing to average."""
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.0", locale=_babel_locale(locale))


def percent_text(value: Decimal | None, locale: str) -> str:
    """'70 %', '66,7 %' (no decimal when it is zero); '' when undefined."""
    if value is None:
        return ""
    return f"{format_decimal(value, format='#,##0.#', locale=_babel_locale(locale))} %"


def count_text(value: int, locale: str) -> str:
    """'1.234' in Catalan."""
    return format_decimal(value, format="#,##0", locale=_babel_locale(locale))


def month_text(month: date, locale: str) -> str:
    """'Gener de 2025' (a table row's label)."""
    text = dates.month_text(month, _babel_locale(locale))
    return text[:1].upper() + text[1:]


def _babel_locale(locale: str) -> str:
    return str(locale).replace("-", "_")


# --- Results ------------------------------------------------------------------------------------


@dataclass
class Scores:
    """The answers of one group: how many, the average ratings, the resolved counts."""

    answers: int = 0
    attention: Decimal | None = None
    competence: Decimal | None = None
    fully: int = 0
    partly: int = 0
    no: int = 0

    @property
    def resolved_counts(self) -> dict[str, int]:
        return {Resolved.FULLY: self.fully, Resolved.PARTLY: self.partly, Resolved.NO: self.no}

    def resolved_percent(self, answer: str) -> Decimal | None:
        return percent(self.resolved_counts[answer], self.answers)


@dataclass
class Group:
    """One month, town or technician: surveys sent (and answered since), and the answers."""

    key: object
    name: str
    sent: int = 0
    sent_answered: int = 0
    scores: Scores = field(default_factory=Scores)

    @property
    def response_rate(self) -> Decimal | None:
        return percent(self.sent_answered, self.sent)


@dataclass(frozen=True)
class Comment:
    answered_at: datetime
    town: str
    attention: int
    competence: int
    resolved: str
    text: str


@dataclass
class SurveyResults:
    period: Period
    total: Group
    attention: dict[int, int]  # rating -> answers, every rating 0-10 present
    competence: dict[int, int]
    months: list[Group]  # every month of the period, in order
    towns: list[Group]  # by name
    technicians: list[Group]  # by name
    comments: list[Comment]  # newest first, at most ``comment_limit``
    comments_total: int


def _score_columns() -> list:
    return [
        func.count(SurveyResponse.id),
        func.avg(SurveyResponse.attention),
        func.avg(SurveyResponse.competence),
        func.sum(case((SurveyResponse.resolved == Resolved.FULLY, 1), else_=0)),
        func.sum(case((SurveyResponse.resolved == Resolved.PARTLY, 1), else_=0)),
        func.sum(case((SurveyResponse.resolved == Resolved.NO, 1), else_=0)),
    ]


def _scores(row) -> Scores:
    answers, attention, competence, fully, partly, no = row
    return Scores(
        answers=int(answers or 0),
        attention=rounded(attention),
        competence=rounded(competence),
        fully=int(fully or 0),
        partly=int(partly or 0),
        no=int(no or 0),
    )


def _grouped(
    period: Period,
    tz: ZoneInfo,
    sent_keys: list,
    answer_keys: list,
    joined=None,
) -> tuple[list, list]:
    """Two aggregate queries for one grouping: surveys sent (and answered since), and answers.

    ``sent_keys`` and ``answer_keys`` are the GROUP BY columns (a key, then its name parts);
    ``joined`` is the table the names come from, outer-joined on the key. Rows are selected in
    a subquery and grouped outside it, so PostgreSQL groups a computed key (the month's CASE
    expression, full of bound parameters) by its column name.
    """
    start, end = period.bounds(tz)
    sent_base = (
        select(
            *[column.label(f"k{i}") for i, column in enumerate(sent_keys)],
            Booking.id.label("booking_id"),
            SurveyResponse.id.label("response_id"),
        )
        .select_from(Booking)
        .outerjoin(SurveyResponse, SurveyResponse.booking_id == Booking.id)
        .where(Booking.survey_sent_at >= start, Booking.survey_sent_at < end)
    )
    answer_base = (
        select(
            *[column.label(f"k{i}") for i, column in enumerate(answer_keys)],
            SurveyResponse.id,
            SurveyResponse.attention,
            SurveyResponse.competence,
            SurveyResponse.resolved,
        )
        .select_from(SurveyResponse)
        .where(SurveyResponse.answered_at >= start, SurveyResponse.answered_at < end)
    )
    if joined is not None:
        sent_base = sent_base.outerjoin(joined, joined.id == sent_keys[0])
        answer_base = answer_base.outerjoin(joined, joined.id == answer_keys[0])

    sent = sent_base.subquery()
    keys = [sent.c[f"k{i}"] for i in range(len(sent_keys))]
    sent_rows = db.session.execute(
        select(*keys, func.count(sent.c.booking_id), func.count(sent.c.response_id)).group_by(*keys)
    ).all()

    answers = answer_base.subquery()
    keys = [answers.c[f"k{i}"] for i in range(len(answer_keys))]
    resolved = answers.c.resolved
    answer_rows = db.session.execute(
        select(
            *keys,
            func.count(answers.c.id),
            func.avg(answers.c.attention),
            func.avg(answers.c.competence),
            func.sum(case((resolved == Resolved.FULLY, 1), else_=0)),
            func.sum(case((resolved == Resolved.PARTLY, 1), else_=0)),
            func.sum(case((resolved == Resolved.NO, 1), else_=0)),
        ).group_by(*keys)
    ).all()
    return sent_rows, answer_rows


def _merge(sent_rows, answer_rows, width: int) -> dict:
    """Group per key: ``width`` is how many key columns lead each row (key, then names)."""
    groups: dict = {}
    for row in sent_rows:
        key, names = row[0], row[1:width]
        group = groups.setdefault(key, Group(key, _name(names)))
        group.sent, group.sent_answered = int(row[width]), int(row[width + 1])
    for row in answer_rows:
        key, names = row[0], row[1:width]
        group = groups.setdefault(key, Group(key, _name(names)))
        group.scores = _scores(row[width:])
    return groups


def _name(parts) -> str:
    """'Gelida'; 'OPSSVEGAVN (Vega Navarro)'; '' when the row has no name (no town, say)."""
    parts = [str(part) for part in parts if part]
    if len(parts) > 1:
        return f"{parts[0]} ({', '.join(parts[1:])})"
    return parts[0] if parts else ""


def _distribution(column, period: Period, tz: ZoneInfo) -> dict[int, int]:
    start, end = period.bounds(tz)
    counts = dict.fromkeys(SCORES, 0)
    for score, count in db.session.execute(
        select(column, func.count())
        .where(SurveyResponse.answered_at >= start, SurveyResponse.answered_at < end)
        .group_by(column)
    ):
        if score in counts:
            counts[score] = int(count)
    return counts


def survey_results(period: Period, tz: ZoneInfo, *, comment_limit: int | None = 100):
    """Everything the results page shows, in ten queries whatever the number of answers."""
    start, end = period.bounds(tz)
    in_period = (SurveyResponse.answered_at >= start, SurveyResponse.answered_at < end)

    # 1-2. Per month (the totals are their sums: every survey of the period is in a month).
    sent_month = month_bucket(Booking.survey_sent_at, period, tz)
    answer_month = month_bucket(SurveyResponse.answered_at, period, tz)
    sent_rows, answer_rows = _grouped(period, tz, [sent_month], [answer_month])
    by_month = _merge(sent_rows, answer_rows, 1)
    months = []
    for month in period.months():
        group = by_month.get(month.isoformat(), Group(month, ""))
        group.key = month
        months.append(group)

    # 3. The overall averages (not an average of the months' averages).
    total_row = db.session.execute(select(*_score_columns()).where(*in_period)).one()
    total = Group(None, "", scores=_scores(total_row))
    total.sent = sum(group.sent for group in months)
    total.sent_answered = sum(group.sent_answered for group in months)

    # 4-5. Per town, by the booking's town (sent) and the town copied into the answer.
    sent_rows, answer_rows = _grouped(
        period,
        tz,
        [Booking.municipality_id, Municipality.name],
        [SurveyResponse.municipality_id, Municipality.name],
        joined=Municipality,
    )
    towns = sorted(_merge(sent_rows, answer_rows, 2).values(), key=_by_name)

    # 6-7. Per technician.
    sent_rows, answer_rows = _grouped(
        period,
        tz,
        [Booking.technician_id, StaffUser.username, StaffUser.name],
        [SurveyResponse.technician_id, StaffUser.username, StaffUser.name],
        joined=StaffUser,
    )
    technicians = sorted(_merge(sent_rows, answer_rows, 3).values(), key=_by_name)

    # 8-9. How many gave each rating.
    attention = _distribution(SurveyResponse.attention, period, tz)
    competence = _distribution(SurveyResponse.competence, period, tz)

    # 10. The comments, newest first, with the town (never the citizen's name).
    has_comment = SurveyResponse.comment != ""
    query = (
        select(
            SurveyResponse.answered_at,
            Municipality.name,
            SurveyResponse.attention,
            SurveyResponse.competence,
            SurveyResponse.resolved,
            SurveyResponse.comment,
            func.count().over().label("total"),
        )
        .outerjoin(Municipality, Municipality.id == SurveyResponse.municipality_id)
        .where(*in_period, has_comment)
        .order_by(SurveyResponse.answered_at.desc(), SurveyResponse.id.desc())
    )
    if comment_limit is not None:
        query = query.limit(comment_limit)
    comment_rows = db.session.execute(query).all()
    comments = [
        Comment(
            answered_at=row[0],
            town=row[1] or "",
            attention=row[2],
            competence=row[3],
            resolved=row[4],
            text=row[5],
        )
        for row in comment_rows
    ]
    comments_total = int(comment_rows[0].total) if comment_rows else 0

    return SurveyResults(
        period=period,
        total=total,
        attention=attention,
        competence=competence,
        months=months,
        towns=towns,
        technicians=technicians,
        comments=comments,
        comments_total=comments_total,
    )


def _by_name(group: Group) -> tuple:
    return (group.key is None, sort_key(group.name), str(group.key))


def latest_answer_day(today: date, tz: ZoneInfo) -> date | None:
    """The latest local day up to ``today`` with a survey answer (None: none yet). One query.

    What the results open on depends on it (``core.periods.opening_period``), and a period
    without answers points to it.
    """
    end = Period(today, today).bounds(tz)[1]
    value = db.session.scalar(
        select(func.max(SurveyResponse.answered_at)).where(SurveyResponse.answered_at < end)
    )
    if value is None:
        return None
    if isinstance(value, str):  # an aggregate on SQLite may come back as text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).date()
