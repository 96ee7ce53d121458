"""The app's one clock (``umic.clock``): settable by tests, read by every part of the app."""

from __future__ import annotations

import ast
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from umic import clock

UMIC = Path(__file__).resolve().parents[2] / "umic"
MADRID = ZoneInfo("Europe/Madrid")
NEW_YEARS_EVE = datetime(2026, 12, 31, 23, 30, tzinfo=MADRID)


def test_without_a_setting_it_is_the_system_clock():
    clock.reset()
    before = datetime.now(UTC)
    now = clock.now()
    assert before <= now <= datetime.now(UTC)
    assert now.tzinfo is UTC


def test_moved_it_runs_on_from_the_moment_it_was_given():
    clock.move_to(NEW_YEARS_EVE)
    first = clock.now()
    assert timedelta(0) <= first - NEW_YEARS_EVE < timedelta(seconds=5)
    time.sleep(0.01)
    assert clock.now() > first  # elapsed time is real
    assert clock.now().tzinfo is UTC


def test_today_is_the_local_day_not_the_utc_one():
    clock.freeze(NEW_YEARS_EVE)  # 22:30 UTC on the 31st; already 2027 an hour later in UTC+1
    assert clock.today(MADRID).isoformat() == "2026-12-31"
    clock.advance(timedelta(minutes=45))
    assert clock.today(MADRID).isoformat() == "2027-01-01"
    assert clock.now().date().isoformat() == "2026-12-31"  # still the 31st in UTC


def test_frozen_it_stands_still_until_advanced():
    frozen = clock.freeze(NEW_YEARS_EVE)
    time.sleep(0.01)
    assert clock.now() == frozen == NEW_YEARS_EVE
    assert clock.advance(timedelta(hours=1)) == NEW_YEARS_EVE + timedelta(hours=1)
    assert clock.timestamp() == (NEW_YEARS_EVE + timedelta(hours=1)).timestamp()


def test_reset_goes_back_to_the_system_clock():
    clock.freeze(NEW_YEARS_EVE)
    clock.reset()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_moment_without_a_zone_is_refused():
    with pytest.raises(ValueError):
        clock.move_to(datetime(2026, 12, 31, 23, 30))
    with pytest.raises(ValueError):
        clock.freeze(datetime(2026, 12, 31, 23, 30))


#: Reading the system clock directly: what every module must leave to ``umic.clock``.
_SYSTEM_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("time", "time")}
#: Flask-Limiter keeps its own (real) clock; the Retry-After it computes must use the same one.
_ALLOWED = {"clock.py", "web/limits.py"}


def test_no_module_reads_the_system_clock_but_the_clock_itself():
    offenders = []
    for path in sorted(UMIC.rglob("*.py")):
        name = path.relative_to(UMIC).as_posix()
        if name in _ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and (node.func.value.id, node.func.attr) in _SYSTEM_CLOCK
            ):
                offenders.append(f"{name}:{node.lineno} {ast.unparse(node.func)}()")
    assert offenders == []
