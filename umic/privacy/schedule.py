"""The retention schedule: how long each kind of record keeps personal data, and what then.

Pure (no Flask, no database): :func:`from_config` reads the ``RETENTION_*`` settings (and
``BOOKING_DRAFT_HOURS`` for drafts) from any mapping, checks them, and gives a
:class:`Schedule`, which answers "when does this record's personal data go?"
(:meth:`Schedule.expires_at`) and "which records are due now?" (:meth:`Schedule.cutoff`:
those whose starting moment is before it). ``umic.privacy.retention`` applies it; the privacy
page shows it; docs/privacy.md explains the defaults.

Each kind has a fixed starting moment and a fixed action (deleting, or anonymising: the row
stays for the statistics, its personal fields are blanked); only the period is a setting.
A period of ``None`` ("never", JSON ``null`` in the environment) keeps the data until
someone acts on it, for a body whose archive rules (TAAD) ask for that.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

#: The longest period accepted: a century (anything longer is a typing mistake).
MAX_DAYS = 36_500


class Action(enum.StrEnum):
    DELETE = "delete"  # the row (and any file) goes
    ANONYMISE = "anonymise"  # the row stays; name, contact and free text are blanked
    BLANK = "blank"  # one free-text field is emptied, the rest stays


class Kind(enum.StrEnum):
    """Every kind of record the schedule covers, in the order the privacy page lists them."""

    DRAFTS = "drafts"
    CANCELLED_BOOKINGS = "cancelled_bookings"
    PAST_BOOKINGS = "past_bookings"
    CLOSED_CASES = "closed_cases"
    DOCUMENTS = "documents"
    OUTBOX = "outbox"
    SURVEY_COMMENTS = "survey_comments"
    SIGN_IN_ATTEMPTS = "sign_in_attempts"


@dataclass(frozen=True)
class KindInfo:
    """What a kind's period runs from, what happens at its end, and its setting."""

    action: Action
    starts: str  # what the period is counted from (a code the privacy page words)
    setting: str  # the configuration key of its period
    unit: str = "days"  # the setting's unit
    may_be_never: bool = True
    public: bool = True  # listed on the citizens' privacy page (staff data is not)


KINDS: dict[Kind, KindInfo] = {
    Kind.DRAFTS: KindInfo(
        Action.DELETE, "started", "BOOKING_DRAFT_HOURS", unit="hours", may_be_never=False
    ),
    Kind.CANCELLED_BOOKINGS: KindInfo(
        Action.ANONYMISE, "cancelled", "RETENTION_CANCELLED_BOOKINGS_DAYS"
    ),
    Kind.PAST_BOOKINGS: KindInfo(Action.ANONYMISE, "appointment", "RETENTION_PAST_BOOKINGS_DAYS"),
    Kind.CLOSED_CASES: KindInfo(Action.ANONYMISE, "case_closed", "RETENTION_CLOSED_CASES_DAYS"),
    Kind.DOCUMENTS: KindInfo(Action.DELETE, "case_closed", "RETENTION_DOCUMENTS_DAYS"),
    Kind.OUTBOX: KindInfo(Action.DELETE, "sent", "RETENTION_OUTBOX_DAYS"),
    Kind.SURVEY_COMMENTS: KindInfo(Action.BLANK, "answered", "RETENTION_SURVEY_COMMENTS_DAYS"),
    Kind.SIGN_IN_ATTEMPTS: KindInfo(
        Action.DELETE,
        "attempted",
        "RETENTION_SIGN_IN_ATTEMPTS_DAYS",
        may_be_never=False,
        public=False,
    ),
}

NEVER_WORDS = frozenset({"never", "mai", "nunca", "none", "null"})


class ScheduleError(ValueError):
    """The settings do not make a schedule; the message names every setting at fault."""


@dataclass(frozen=True)
class Rule:
    kind: Kind
    period: timedelta | None  # None: never
    info: KindInfo

    @property
    def action(self) -> Action:
        return self.info.action


@dataclass(frozen=True)
class Schedule:
    rules: dict[Kind, Rule]

    def __getitem__(self, kind: Kind) -> Rule:
        return self.rules[kind]

    def __iter__(self):
        return iter(self.rules[kind] for kind in Kind)

    def period(self, kind: Kind) -> timedelta | None:
        return self.rules[kind].period

    def expires_at(self, kind: Kind, start: datetime | None) -> datetime | None:
        """When a record of ``kind`` whose period began at ``start`` is due (None: never,
        or not started yet: an open case, a message not sent)."""
        period = self.rules[kind].period
        if period is None or start is None:
            return None
        return start + period

    def is_due(self, kind: Kind, start: datetime | None, now: datetime) -> bool:
        expires = self.expires_at(kind, start)
        return expires is not None and expires <= now

    def cutoff(self, kind: Kind, now: datetime) -> datetime | None:
        """Records whose period began at or before this moment are due (None: nothing is)."""
        period = self.rules[kind].period
        return None if period is None else now - period

    def public(self) -> list[Rule]:
        """What the citizens' privacy page lists, in order."""
        return [rule for rule in self if rule.info.public]


def _number(value: object) -> float | None | str:
    """A setting's value as a number, None for "never", or a problem's words."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "is not a number"
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in NEVER_WORDS:
            return None
        try:
            return float(text)
        except ValueError:
            return "is not a number"
    return "is not a number"


def _limit(info: KindInfo) -> int:
    return MAX_DAYS * 24 if info.unit == "hours" else MAX_DAYS


def from_config(
    config: Mapping[str, object], sign_in_window_minutes: int | None = None
) -> Schedule:
    """The schedule the settings describe; raises :class:`ScheduleError` naming each problem.

    Besides each value on its own (a whole number of days, 0 to a century, or "never" where a
    kind allows it), two rules tie kinds together: documents never outlive their case file
    (they are part of it), and sign-in attempts last at least the throttling window
    (``SIGN_IN_WINDOW_MINUTES``), or the throttling would forget failures too early.
    """
    problems: list[str] = []
    rules: dict[Kind, Rule] = {}
    for kind, info in KINDS.items():
        raw = config.get(info.setting, None)
        value = _number(raw)
        period: timedelta | None = None
        if isinstance(value, str):
            problems.append(f"{info.setting} {value}: {raw!r}")
        elif value is None:
            if not info.may_be_never:
                problems.append(f"{info.setting} must be a number of {info.unit}")
        elif value != int(value) or not 0 <= value <= _limit(info):
            problems.append(f"{info.setting} must be a whole number of {info.unit} from 0: {raw!r}")
        elif info.unit == "hours":
            period = timedelta(hours=int(value))
        else:
            period = timedelta(days=int(value))
        rules[kind] = Rule(kind, period, info)
    if not problems:
        cases = rules[Kind.CLOSED_CASES].period
        documents = rules[Kind.DOCUMENTS].period
        if cases is not None and (documents is None or documents > cases):
            problems.append(
                "RETENTION_DOCUMENTS_DAYS must not be longer than RETENTION_CLOSED_CASES_DAYS "
                "(a case's documents go at the latest with its personal data)"
            )
        attempts = rules[Kind.SIGN_IN_ATTEMPTS].period
        if (
            sign_in_window_minutes is not None
            and attempts is not None
            and attempts < timedelta(minutes=sign_in_window_minutes)
        ):
            problems.append(
                "RETENTION_SIGN_IN_ATTEMPTS_DAYS must cover SIGN_IN_WINDOW_MINUTES "
                "(the throttling counts failures over that window)"
            )
        if rules[Kind.DRAFTS].period == timedelta(0):
            problems.append("BOOKING_DRAFT_HOURS must be at least 1")
    if problems:
        raise ScheduleError("retention schedule: " + "; ".join(problems))
    return Schedule(rules)


def duration_parts(period: timedelta) -> tuple[int, str]:
    """(value, CLDR unit) that says ``period`` exactly: whole years of 365 days, else days,
    else hours; for ``babel.units.format_unit`` ("5 anys", "30 dies", "24 hores")."""
    seconds = int(period.total_seconds())
    days, rest = divmod(seconds, 86_400)
    if rest == 0 and days and days % 365 == 0:
        return days // 365, "duration-year"
    if rest == 0 and days:
        return days, "duration-day"
    return seconds // 3600, "duration-hour"
