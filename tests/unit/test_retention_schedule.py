"""The retention schedule (umic.privacy.schedule): read from the settings, checked, asked."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from umic.config import Config
from umic.privacy.schedule import Action
from umic.privacy.schedule import Kind
from umic.privacy.schedule import ScheduleError
from umic.privacy.schedule import duration_parts
from umic.privacy.schedule import from_config

NOW = datetime(2031, 3, 30, 10, 0, tzinfo=UTC)


def _settings(**changes) -> dict:
    settings = {key: getattr(Config, key) for key in dir(Config) if key.isupper()}
    settings.update(changes)
    return settings


def test_the_defaults_make_a_schedule_with_every_kind():
    schedule = from_config(_settings(), Config.SIGN_IN_WINDOW_MINUTES)
    assert [rule.kind for rule in schedule] == list(Kind)
    assert schedule.period(Kind.DRAFTS) == timedelta(hours=Config.BOOKING_DRAFT_HOURS)
    assert schedule.period(Kind.CANCELLED_BOOKINGS) == timedelta(days=30)
    assert schedule.period(Kind.SIGN_IN_ATTEMPTS) == timedelta(days=1)
    assert schedule[Kind.CLOSED_CASES].action is Action.ANONYMISE
    assert schedule[Kind.DOCUMENTS].action is Action.DELETE
    assert schedule[Kind.SURVEY_COMMENTS].action is Action.BLANK
    # Staff data is not on the citizens' page.
    assert Kind.SIGN_IN_ATTEMPTS not in [rule.kind for rule in schedule.public()]


def test_when_a_record_expires():
    schedule = from_config(_settings(RETENTION_CANCELLED_BOOKINGS_DAYS=30))
    cancelled = datetime(2031, 2, 28, 12, 0, tzinfo=UTC)
    assert schedule.expires_at(Kind.CANCELLED_BOOKINGS, cancelled) == cancelled + timedelta(30)
    assert not schedule.is_due(Kind.CANCELLED_BOOKINGS, cancelled, cancelled + timedelta(29))
    assert schedule.is_due(Kind.CANCELLED_BOOKINGS, cancelled, cancelled + timedelta(30))
    assert schedule.cutoff(Kind.CANCELLED_BOOKINGS, NOW) == NOW - timedelta(days=30)
    # Not started (an open case, an unsent e-mail): never due.
    assert schedule.expires_at(Kind.CLOSED_CASES, None) is None
    assert not schedule.is_due(Kind.CLOSED_CASES, None, NOW)


@pytest.mark.parametrize("never", [None, "never", " Never ", "null"])
def test_never_keeps_the_data(never):
    schedule = from_config(
        _settings(RETENTION_CLOSED_CASES_DAYS=never, RETENTION_DOCUMENTS_DAYS=never)
    )
    assert schedule.period(Kind.CLOSED_CASES) is None
    assert schedule.cutoff(Kind.CLOSED_CASES, NOW) is None
    assert schedule.expires_at(Kind.CLOSED_CASES, NOW) is None


def test_numbers_from_the_environment_are_accepted_as_text():
    schedule = from_config(_settings(RETENTION_OUTBOX_DAYS="7"))
    assert schedule.period(Kind.OUTBOX) == timedelta(days=7)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("RETENTION_OUTBOX_DAYS", -1),
        ("RETENTION_OUTBOX_DAYS", 1.5),
        ("RETENTION_OUTBOX_DAYS", "a month"),
        ("RETENTION_OUTBOX_DAYS", True),
        ("RETENTION_OUTBOX_DAYS", 10**9),
        ("RETENTION_OUTBOX_DAYS", [30]),
        ("RETENTION_SIGN_IN_ATTEMPTS_DAYS", None),  # the throttling needs them
        ("BOOKING_DRAFT_HOURS", None),
        ("BOOKING_DRAFT_HOURS", 0),
    ],
)
def test_a_wrong_setting_is_named(setting, value):
    with pytest.raises(ScheduleError, match=setting):
        from_config(_settings(**{setting: value}))


def test_documents_never_outlive_their_case():
    with pytest.raises(ScheduleError, match="RETENTION_DOCUMENTS_DAYS"):
        from_config(_settings(RETENTION_CLOSED_CASES_DAYS=365, RETENTION_DOCUMENTS_DAYS=400))
    with pytest.raises(ScheduleError, match="RETENTION_DOCUMENTS_DAYS"):
        from_config(_settings(RETENTION_CLOSED_CASES_DAYS=365, RETENTION_DOCUMENTS_DAYS=None))
    # Cases kept without limit: documents may go earlier, or never.
    from_config(_settings(RETENTION_CLOSED_CASES_DAYS=None, RETENTION_DOCUMENTS_DAYS=None))


def test_sign_in_attempts_cover_the_throttling_window():
    with pytest.raises(ScheduleError, match="SIGN_IN_WINDOW_MINUTES"):
        from_config(_settings(RETENTION_SIGN_IN_ATTEMPTS_DAYS=0), sign_in_window_minutes=15)
    from_config(_settings(RETENTION_SIGN_IN_ATTEMPTS_DAYS=1), sign_in_window_minutes=15)


def test_every_problem_is_named_at_once():
    with pytest.raises(ScheduleError) as raised:
        from_config(_settings(RETENTION_OUTBOX_DAYS=-1, RETENTION_SURVEY_COMMENTS_DAYS="x"))
    assert "RETENTION_OUTBOX_DAYS" in str(raised.value)
    assert "RETENTION_SURVEY_COMMENTS_DAYS" in str(raised.value)


@pytest.mark.parametrize(
    ("period", "parts"),
    [
        (timedelta(days=5 * 365), (5, "duration-year")),
        (timedelta(days=365), (1, "duration-year")),
        (timedelta(days=30), (30, "duration-day")),  # never rounded to "1 month"
        (timedelta(days=400), (400, "duration-day")),
        (timedelta(days=1), (1, "duration-day")),
        (timedelta(hours=24), (1, "duration-day")),
        (timedelta(hours=36), (36, "duration-hour")),
        (timedelta(0), (0, "duration-hour")),
    ],
)
def test_a_period_is_said_exactly(period, parts):
    assert duration_parts(period) == parts
