"""How many requests the service received, per town, channel and month.

One definition for the statistics and the expansion plan:

- **Assistència telemàtica**: video calls that took place (bookings marked attended that
  are not in-person appointments at a visit of the mobile unit: ``Booking.visit_id`` is
  empty), plus video-channel case files not linked to a booking (imported from the old
  tracker, or entered by hand).
- **Bústia**, **UMIC** and any other channel of ``core.codes.Channel``: case files with that
  channel. A person seen at a visit of the mobile unit counts once, as UMIC, through their
  case file (with or without an in-person appointment: the appointment itself is never
  counted, so an appointment whose case was opened is not counted twice).
- Plus the monthly counts coordinators entered by hand (``ChannelCount``), for the months
  before the app held the records of a channel; a month counts when its first day is in the
  period. **A hand count of a (month, channel) is used only when the app holds no record of
  that channel in that month, in any town** (the records above, over the whole month):
  from the first month a channel's requests are recorded in the app, that month's hand
  counts of the channel are ignored, so nothing is counted twice. One query finds the
  (month, channel) pairs with records (``_recorded_months``).

Dates are local (Europe/Madrid): a request on 31 May at 23:30 belongs to May. Every figure
is an SQL aggregate; months are bucketed with one CASE expression, so the number of
queries is fixed whatever the period.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import union

from ..core.periods import Period
from ..core.periods import add_months
from ..extensions import db
from ..models import Booking
from ..models import BookingStatus
from ..models import CaseFile
from ..models import Channel
from ..models import ChannelCount

#: Every channel, in the order of the statistics' columns (``core.codes``).
CHANNELS = tuple(Channel)


def month_bucket(column, period: Period, tz: ZoneInfo):
    """A SQL expression giving the month ('YYYY-MM-01') of a UTC column, in local time."""
    whens = []
    for month in period.months():
        start = datetime.combine(month, time(0), tzinfo=tz).astimezone(UTC)
        following = add_months(month, 1)
        end = datetime.combine(following, time(0), tzinfo=tz).astimezone(UTC)
        whens.append((and_(column >= start, column < end), literal(month.isoformat())))
    return case(*whens, else_=literal(""))


def _recorded(period: Period, tz: ZoneInfo, by_month: bool) -> list[tuple]:
    """(key, channel, count) from bookings and case files; key is a town id or a month."""
    start, end = period.bounds(tz)
    rows: list[tuple] = []

    attended_key = (
        month_bucket(Booking.start_utc, period, tz) if by_month else Booking.municipality_id
    )
    rows += [
        (key, Channel.TELEMATICA, n)
        for key, n in db.session.execute(
            select(attended_key, func.count())
            .where(
                Booking.status == BookingStatus.ATTENDED,
                Booking.visit_id.is_(None),
                Booking.start_utc >= start,
                Booking.start_utc < end,
            )
            .group_by(attended_key)
        )
    ]
    case_key = (
        month_bucket(CaseFile.requested_at, period, tz) if by_month else CaseFile.municipality_id
    )
    # Every channel's case files count, except a video call's own file: its booking counted
    # it already (a new channel is counted without touching this line).
    counted = (CaseFile.channel != Channel.TELEMATICA) | CaseFile.booking_id.is_(None)
    rows += list(
        db.session.execute(
            select(case_key, CaseFile.channel, func.count())
            .where(counted, CaseFile.requested_at >= start, CaseFile.requested_at < end)
            .group_by(case_key, CaseFile.channel)
        )
    )
    return rows


def _recorded_months(period: Period, tz: ZoneInfo) -> set[tuple[date, str]]:
    """The (month, channel) pairs, among the months whose first day is in the period, for
    which the app holds records (whole months, any town): one query."""
    months = [month for month in period.months() if month >= period.first]
    if not months:
        return set()
    whole = Period(months[0], add_months(months[-1], 1) - timedelta(days=1))
    start, end = whole.bounds(tz)
    attended = month_bucket(Booking.start_utc, whole, tz)
    filed = month_bucket(CaseFile.requested_at, whole, tz)
    counted = (CaseFile.channel != Channel.TELEMATICA) | CaseFile.booking_id.is_(None)
    query = union(
        select(attended.label("month"), literal(Channel.TELEMATICA.value).label("channel")).where(
            Booking.status == BookingStatus.ATTENDED,
            Booking.visit_id.is_(None),
            Booking.start_utc >= start,
            Booking.start_utc < end,
        ),
        select(filed.label("month"), CaseFile.channel.label("channel")).where(
            counted, CaseFile.requested_at >= start, CaseFile.requested_at < end
        ),
    )
    return {
        (date.fromisoformat(month), channel)
        for month, channel in db.session.execute(query)
        if month
    }


def _entered(period: Period, tz: ZoneInfo, by_month: bool) -> list[tuple]:
    """(key, channel, count) from the monthly counts entered by hand, leaving out those of
    a month and channel the app holds records of (the module's rule)."""
    recorded = _recorded_months(period, tz)
    rows = db.session.execute(
        select(
            ChannelCount.municipality_id,
            ChannelCount.month,
            ChannelCount.channel,
            func.sum(ChannelCount.count),
        )
        .where(ChannelCount.month >= period.first, ChannelCount.month <= period.last)
        .group_by(ChannelCount.municipality_id, ChannelCount.month, ChannelCount.channel)
    )
    return [
        (month.isoformat() if by_month else town, channel, n)
        for town, month, channel, n in rows
        if (_as_date(month), channel) not in recorded
    ]


def requests_by_town(period: Period, tz: ZoneInfo) -> dict[int | None, dict[str, int]]:
    """town id (None: unknown town) -> {channel: requests} over the period."""
    totals: dict[int | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CHANNELS, 0))
    for town, channel, n in _recorded(period, tz, by_month=False) + _entered(period, tz, False):
        totals[town][channel] += int(n or 0)
    return dict(totals)


def requests_by_month(period: Period, tz: ZoneInfo) -> dict[date, dict[str, int]]:
    """First day of each month of the period -> {channel: requests} (every month present)."""
    totals = {month: dict.fromkeys(CHANNELS, 0) for month in period.months()}
    for month, channel, n in _recorded(period, tz, by_month=True) + _entered(period, tz, True):
        if month:  # '' would be outside the period's months
            totals[date.fromisoformat(month)][channel] += int(n or 0)
    return totals


def latest_request_day(today: date, tz: ZoneInfo) -> date | None:
    """The latest local day up to ``today`` with a request of any channel (None: none yet).

    What a report opens on depends on it (``core.periods.opening_period``). One query.
    """
    end = datetime.combine(today, time(0), tzinfo=tz).astimezone(UTC) + timedelta(days=1)
    counted = (CaseFile.channel != Channel.TELEMATICA) | CaseFile.booking_id.is_(None)
    row = db.session.execute(
        select(
            select(func.max(Booking.start_utc))
            .where(
                Booking.status == BookingStatus.ATTENDED,
                Booking.visit_id.is_(None),
                Booking.start_utc < end,
            )
            .scalar_subquery(),
            select(func.max(CaseFile.requested_at))
            .where(counted, CaseFile.requested_at < end)
            .scalar_subquery(),
            select(func.max(ChannelCount.month))
            .where(ChannelCount.month <= today)
            .scalar_subquery(),
        )
    ).one()
    days = [_local_day(value, tz) for value in row[:2]]
    days.append(_as_date(row[2]))
    found = [day for day in days if day is not None]
    return max(found) if found else None


def _local_day(value, tz: ZoneInfo) -> date | None:
    """A UTC moment from an aggregate (a string on SQLite) as a local day."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).date()


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
