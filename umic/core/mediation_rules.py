"""The rules of a mediation with a company, without the database or Flask (umic.mediation).

**States.** A mediation opens when the claim goes to the company (``oberta``), moves on when
the company answers through its link (``resposta``) and when a joint session is convened
(``sessio``), and ends ``tancada``. It only moves forward, one step or several (a session may
be convened before the company answers), and may be closed from any open state (the consumer
withdraws, the company never answers).

**The answer's due date** is N working days after the claim is sent (15 by default): Saturdays,
Sundays and the public holidays of the region (the same ``holidays`` tables the booking uses)
do not count. The day the claim goes out does not count either.

**One reminder** goes to the company a few days before the due date (5 by default), once,
only while it has not answered.

**Outcome and amounts.** The amount recovered cannot exceed the amount claimed unless the
technician says so (interest, a goodwill payment); a full agreement is the end of the matter
(no referral); a referral (arbitration, inspection) only follows when there was no agreement.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import date
from datetime import timedelta
from decimal import Decimal

from .codes import MediationOutcome
from .codes import MediationStatus
from .codes import Referral

DEFAULT_ANSWER_DAYS = 15
DEFAULT_REMINDER_DAYS = 5

_ORDER = (
    MediationStatus.OBERTA,
    MediationStatus.RESPOSTA,
    MediationStatus.SESSIO,
    MediationStatus.TANCADA,
)

#: Errors from :func:`check_outcome`: field name -> code (the page words them).
AMOUNT_OVER = "amount_over"
AMOUNT_NEGATIVE = "amount_negative"
REFERRAL_WITH_AGREEMENT = "referral_with_agreement"
REFERRAL_NOT_ALLOWED = "referral_not_allowed"
OUTCOME_UNKNOWN = "outcome_unknown"
REFERRAL_UNKNOWN = "referral_unknown"


def can_move(current: str, new: str) -> bool:
    """Whether a mediation in ``current`` may go to ``new``: forward only; closing from any
    open state; nothing after ``tancada``."""
    if current == MediationStatus.TANCADA or current not in _ORDER or new not in _ORDER:
        return False
    return _ORDER.index(new) > _ORDER.index(current)


def is_open(status: str) -> bool:
    return status in _ORDER and status != MediationStatus.TANCADA


def add_working_days(start: date, days: int, holidays: Container[date]) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself never counts)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            counted += 1
    return day


def answer_due(sent: date, holidays: Container[date], days: int = DEFAULT_ANSWER_DAYS) -> date:
    """The last day the company has to answer a claim sent on ``sent`` (Madrid day)."""
    return add_working_days(sent, days, holidays)


def reminder_day(due: date, days_before: int = DEFAULT_REMINDER_DAYS) -> date:
    """The day the one reminder goes out: ``days_before`` calendar days before ``due``."""
    return due - timedelta(days=days_before)


def reminder_due(
    *,
    today: date,
    due: date,
    status: str,
    answered: bool,
    already_sent: bool,
    days_before: int = DEFAULT_REMINDER_DAYS,
) -> bool:
    """Whether the company's reminder should go out today: once, before it has answered,
    from the reminder day up to the due date itself."""
    if already_sent or answered or status != MediationStatus.OBERTA:
        return False
    return reminder_day(due, days_before) <= today <= due


def check_outcome(
    outcome: str,
    amount_claimed: Decimal | None,
    amount_recovered: Decimal | None,
    referral: str,
    *,
    over_claim_allowed: bool = False,
) -> dict[str, str]:
    """The problems of a closing, as {field: error code}; empty when it is consistent."""
    errors: dict[str, str] = {}
    if outcome not in {code.value for code in MediationOutcome}:
        errors["outcome"] = OUTCOME_UNKNOWN
    if referral and referral not in {code.value for code in Referral}:
        errors["referral"] = REFERRAL_UNKNOWN
    for name, amount in (
        ("amount_claimed", amount_claimed),
        ("amount_recovered", amount_recovered),
    ):
        if amount is not None and amount < 0:
            errors[name] = AMOUNT_NEGATIVE
    if (
        "amount_recovered" not in errors
        and amount_claimed is not None
        and amount_recovered is not None
        and amount_recovered > amount_claimed
        and not over_claim_allowed
    ):
        errors["amount_recovered"] = AMOUNT_OVER
    if referral and "referral" not in errors:
        if outcome == MediationOutcome.ACORD_TOTAL:
            errors["referral"] = REFERRAL_WITH_AGREEMENT
        elif outcome != MediationOutcome.SENSE_ACORD:
            errors["referral"] = REFERRAL_NOT_ALLOWED
    return errors


#: The case's outcome for each mediation outcome (CaseFile.outcome).
CASE_OUTCOME = {
    MediationOutcome.ACORD_TOTAL: "favorable",
    MediationOutcome.ACORD_PARCIAL: "parcial",
    MediationOutcome.SENSE_ACORD: "desfavorable",
    MediationOutcome.DESISTIT: "desistit",
}
