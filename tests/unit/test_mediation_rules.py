"""The mediation's rules (umic.core.mediation_rules): states, due dates, reminder, outcomes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from umic.core import mediation_rules as rules
from umic.core.codes import MediationStatus as S
from umic.core.scheduling import public_holidays

CATALONIA = frozenset(public_holidays([2026, 2027], "ES", "CT"))


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (S.OBERTA, S.RESPOSTA, True),
        (S.RESPOSTA, S.SESSIO, True),
        (S.SESSIO, S.TANCADA, True),
        (S.OBERTA, S.SESSIO, True),  # a session before the answer
        (S.OBERTA, S.TANCADA, True),  # closing from any open state
        (S.RESPOSTA, S.TANCADA, True),
        (S.RESPOSTA, S.OBERTA, False),  # never back
        (S.SESSIO, S.RESPOSTA, False),
        (S.TANCADA, S.OBERTA, False),  # nothing after the end
        (S.TANCADA, S.TANCADA, False),
        (S.OBERTA, S.OBERTA, False),
        ("unknown", S.TANCADA, False),
    ],
)
def test_transitions_go_forward_and_close_from_any_open_state(current, new, allowed):
    assert rules.can_move(current, new) is allowed


def test_fifteen_working_days_skip_weekends_and_catalan_holidays():
    # Friday 4 Dec 2026: 8 Dec (Immaculada), 25 and 26 Dec (Nadal, Sant Esteve) and
    # 1 and 6 Jan are holidays in Catalonia, besides the weekends.
    assert {date(2026, 12, 8), date(2026, 12, 25), date(2026, 12, 26)} <= CATALONIA
    due = rules.answer_due(date(2026, 12, 4), CATALONIA)
    assert due == date(2026, 12, 29)
    assert due.weekday() < 5 and due not in CATALONIA


def test_the_sending_day_does_not_count_and_a_weekend_start_waits_for_monday():
    assert rules.add_working_days(date(2026, 3, 2), 1, frozenset()) == date(2026, 3, 3)
    # Saturday: the first working day is Monday.
    assert rules.add_working_days(date(2026, 3, 7), 1, frozenset()) == date(2026, 3, 9)
    assert rules.add_working_days(date(2026, 3, 7), 0, frozenset()) == date(2026, 3, 7)
    with pytest.raises(ValueError):
        rules.add_working_days(date(2026, 3, 7), -1, frozenset())


def test_one_reminder_from_five_days_before_until_the_due_day_while_unanswered():
    due = date(2026, 3, 20)
    base = dict(due=due, status=S.OBERTA, answered=False, already_sent=False)
    assert rules.reminder_day(due) == date(2026, 3, 15)
    assert not rules.reminder_due(today=date(2026, 3, 14), **base)
    assert rules.reminder_due(today=date(2026, 3, 15), **base)
    assert rules.reminder_due(today=due, **base)
    assert not rules.reminder_due(today=date(2026, 3, 21), **base)
    assert not rules.reminder_due(today=due, **{**base, "already_sent": True})
    assert not rules.reminder_due(today=due, **{**base, "answered": True})
    assert not rules.reminder_due(today=due, **{**base, "status": S.TANCADA})


def test_outcome_amounts_and_referral():
    d = Decimal
    assert rules.check_outcome("acord_total", d("100"), d("100"), "") == {}
    assert rules.check_outcome("acord_parcial", d("100"), d("40.5"), "") == {}
    assert rules.check_outcome("sense_acord", d("100"), None, "arbitratge") == {}
    assert rules.check_outcome("acord_total", d("100"), d("120"), "") == {
        "amount_recovered": rules.AMOUNT_OVER
    }
    assert rules.check_outcome("acord_total", d("100"), d("120"), "", over_claim_allowed=True) == {}
    assert rules.check_outcome("acord_total", d("100"), d("100"), "inspeccio") == {
        "referral": rules.REFERRAL_WITH_AGREEMENT
    }
    assert rules.check_outcome("desistit", None, None, "arbitratge") == {
        "referral": rules.REFERRAL_NOT_ALLOWED
    }
    assert rules.check_outcome("acord_parcial", d("-1"), None, "") == {
        "amount_claimed": rules.AMOUNT_NEGATIVE
    }
    assert rules.check_outcome("guanyat", None, None, "enlloc") == {
        "outcome": rules.OUTCOME_UNKNOWN,
        "referral": rules.REFERRAL_UNKNOWN,
    }


def test_every_outcome_maps_to_a_case_outcome():
    from umic.core.codes import MediationOutcome
    from umic.core.codes import Outcome

    assert set(rules.CASE_OUTCOME) == set(MediationOutcome)
    assert set(rules.CASE_OUTCOME.values()) <= {code.value for code in Outcome}
