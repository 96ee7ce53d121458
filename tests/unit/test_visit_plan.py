"""The planning rules of the mobile unit's visits (core/visit_plan.py): a window from wall
times on daylight-saving days, appointment lengths, overlaps, when a person seen asked.
Plain values, no app."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from zoneinfo import ZoneInfo

from umic.core import visit_plan

MADRID = ZoneInfo("Europe/Madrid")


def test_the_window_refuses_the_missing_and_repeated_hours():
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    assert visit_plan.window(spring, time(10), time(13), MADRID) == (
        datetime(2026, 3, 29, 8, tzinfo=UTC),
        datetime(2026, 3, 29, 11, tzinfo=UTC),
    )
    assert visit_plan.window(spring, time(2, 30), time(4), MADRID) == (
        visit_plan.WindowProblem.START_MISSING
    )
    assert visit_plan.window(autumn, time(1), time(2, 30), MADRID) == (
        visit_plan.WindowProblem.END_MISSING
    )
    assert visit_plan.window(autumn, time(10), time(13), MADRID)[0] == datetime(
        2026, 10, 25, 9, tzinfo=UTC
    )
    assert visit_plan.window(autumn, time(13), time(13), MADRID) == (
        visit_plan.WindowProblem.END_NOT_AFTER_START
    )
    assert [visit_plan.slot_problem(n) for n in (5, 20, 240, 0, 17, 245, None)] == [
        False,
        False,
        False,
        True,
        True,
        True,
        True,
    ]
    start, end = datetime(2026, 1, 1, 9, tzinfo=UTC), datetime(2026, 1, 1, 12, tzinfo=UTC)
    inside = visit_plan.Span(start, start.replace(hour=10))
    touching = visit_plan.Span(end, end.replace(hour=13))
    across = visit_plan.Span(start.replace(hour=11), end.replace(hour=13))
    assert visit_plan.overlapping(start, end, [inside, touching, across]) == [inside, across]
    assert visit_plan.outside_window(start, end, [inside, touching, across]) == [touching, across]
    assert visit_plan.requested_at(start.replace(hour=8), start, end) == start
    assert visit_plan.requested_at(end.replace(hour=18), start, end) == end
