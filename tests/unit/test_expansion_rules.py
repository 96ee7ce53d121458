"""Unit tests of the expansion-plan rules in umic.stats.expansion: pure, no app, no database.

The seed's criteria: "municipis que reben més de 12 peticions anuals; municipis amb més
peticions per cada 1.000 habitants"; the goal: 100 % of the towns without an OMIC.
Populations are the real ones from umic/data/municipalities_barcelona.csv.
"""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from umic.stats.expansion import Candidate
from umic.stats.expansion import EnrolmentProblem
from umic.stats.expansion import coverage_percent
from umic.stats.expansion import enrolment_problems
from umic.stats.expansion import monthly_coverage
from umic.stats.expansion import one_decimal
from umic.stats.expansion import per_thousand
from umic.stats.expansion import rank_towns
from umic.stats.expansion import start_problems

THRESHOLD = 12


def town(name: str, population: int | None, requests: int) -> Candidate:
    code = sum(map(ord, name)) % 1000
    return Candidate(
        town_id=code,
        ine_code=f"08{code:03d}",
        name=name,
        comarca="",
        population=population,
        requests=requests,
    )


def order(ranking) -> list[tuple[int, str]]:
    return [(line.rank, line.town.name) for line in ranking]


# --- Requests per 1,000 inhabitants ----------------------------------------------------------


def test_rate_is_requests_per_thousand_inhabitants_exactly():
    # Aguilar de Segarra, 292 inhabitants, 3 requests: 10.2739... per 1,000.
    assert per_thousand(3, 292) == Fraction(3000, 292)
    assert one_decimal(per_thousand(3, 292)) == Decimal("10.3")
    # Abrera, 13,227 inhabitants, 20 requests: 1.5120...
    assert one_decimal(per_thousand(20, 13227)) == Decimal("1.5")


@pytest.mark.parametrize("population", [None, 0, -5])
def test_a_town_without_a_known_population_has_no_rate(population):
    assert per_thousand(7, population) is None


def test_halves_round_up_as_people_round_them():
    # Python's round() and Babel would give 8.2 (half to even).
    assert one_decimal(Fraction(825, 100)) == Decimal("8.3")
    assert one_decimal(Fraction(835, 100)) == Decimal("8.4")
    assert one_decimal(Fraction(824999, 100000)) == Decimal("8.2")


# --- Ranking ----------------------------------------------------------------------------------


def test_towns_above_the_threshold_come_first_whatever_their_rate():
    ranking = rank_towns(
        [
            town("Aguilar de Segarra", 292, 5),  # 17.1 per 1,000, but only 5 requests
            town("Abrera", 13227, 20),  # 1.5 per 1,000, more than 12 requests
        ],
        THRESHOLD,
    )
    assert order(ranking) == [(1, "Abrera"), (2, "Aguilar de Segarra")]
    assert [line.above_threshold for line in ranking] == [True, False]


def test_exactly_the_threshold_is_not_more_than_it():
    ranking = rank_towns(
        [town("Alella", 10262, 12), town("Alpens", 267, 13)],
        THRESHOLD,
    )
    by_name = {line.town.name: line for line in ranking}
    assert by_name["Alella"].above_threshold is False
    assert by_name["Alpens"].above_threshold is True
    assert order(ranking) == [(1, "Alpens"), (2, "Alella")]


def test_within_each_group_the_rate_decides_then_the_requests():
    ranking = rank_towns(
        [
            town("Begues", 7561, 30),  # above, 3.97 per 1,000
            town("Gelida", 8198, 40),  # above, 4.88
            town("Abrera", 13227, 40),  # above, 3.02
            town("Alpens", 267, 2),  # below, 7.49
            town("Alella", 10262, 2),  # below, 0.19
            town("Aguilar de Segarra", 292, 0),  # below, 0
        ],
        THRESHOLD,
    )
    assert order(ranking) == [
        (1, "Gelida"),
        (2, "Begues"),
        (3, "Abrera"),
        (4, "Alpens"),
        (5, "Alella"),
        (6, "Aguilar de Segarra"),
    ]


def test_equal_rate_is_broken_by_the_number_of_requests():
    # 2 per 1,000 each: the town with more requests is the bigger need.
    ranking = rank_towns([town("Petit", 1000, 2), town("Gran", 2000, 4)], THRESHOLD)
    assert order(ranking) == [(1, "Gran"), (2, "Petit")]


def test_towns_equal_on_every_criterion_share_a_rank_and_are_listed_by_name():
    ranking = rank_towns(
        [
            town("Òdena", 1000, 3),
            town("Castellví", 1000, 3),
            town("Abrera", 1000, 5),
            town("Zona", 2000, 1),
        ],
        THRESHOLD,
    )
    # Accents do not push "Òdena" after "Zona": names compare without them.
    assert order(ranking) == [(1, "Abrera"), (2, "Castellví"), (2, "Òdena"), (4, "Zona")]


def test_towns_without_requests_all_share_the_last_rank():
    ranking = rank_towns(
        [town("A", 100, 0), town("B", 5000, 0), town("C", 100, 1)],
        THRESHOLD,
    )
    assert order(ranking) == [(1, "C"), (2, "A"), (2, "B")]


def test_a_town_of_unknown_or_zero_population_ranks_after_those_with_a_rate():
    ranking = rank_towns(
        [
            town("Sense padró", None, 5),
            town("Buit", 0, 9),
            town("Amb padró", 8000, 1),
            town("Gran sense padró", None, 20),
        ],
        THRESHOLD,
    )
    # Above the threshold still comes first; within a group, no rate goes last (by requests).
    assert order(ranking) == [
        (1, "Gran sense padró"),
        (2, "Amb padró"),
        (3, "Buit"),
        (4, "Sense padró"),
    ]
    assert ranking[0].rate is None and ranking[0].rate_rounded is None


def test_an_empty_list_ranks_to_nothing():
    assert rank_towns([], THRESHOLD) == []


def test_the_threshold_is_a_parameter():
    ranking = rank_towns([town("A", 1000, 5)], threshold=4)
    assert ranking[0].above_threshold is True


# --- Coverage ---------------------------------------------------------------------------------


def test_coverage_of_25_towns_out_of_303_is_8_3_percent():
    # 311 towns in the province, 8 with an OMIC: 303 are the service's target.
    assert coverage_percent(25, 303) == Decimal("8.3")
    assert coverage_percent(4, 303) == Decimal("1.3")
    assert coverage_percent(303, 303) == Decimal("100.0")
    assert coverage_percent(0, 303) == Decimal("0.0")


def test_coverage_without_any_target_town_is_undefined():
    assert coverage_percent(0, 0) is None


def test_monthly_coverage_accumulates_from_the_first_enrolment_month():
    enrolments = {
        date(2025, 3, 1): 4,  # the pilot's four towns
        date(2025, 6, 1): 15,
        date(2025, 6, 20): 6,
    }
    lines = monthly_coverage(enrolments, 303, until=date(2025, 8, 10))
    assert [(line.month, line.enrolled, line.served, line.percent) for line in lines] == [
        (date(2025, 3, 1), 4, 4, Decimal("1.3")),
        (date(2025, 4, 1), 0, 4, Decimal("1.3")),
        (date(2025, 5, 1), 0, 4, Decimal("1.3")),
        (date(2025, 6, 1), 21, 25, Decimal("8.3")),
        (date(2025, 7, 1), 0, 25, Decimal("8.3")),
        (date(2025, 8, 1), 0, 25, Decimal("8.3")),
    ]


def test_monthly_coverage_crosses_the_year_and_reaches_an_enrolment_after_until():
    lines = monthly_coverage({date(2025, 12, 31): 1, date(2026, 2, 1): 1}, 10, date(2026, 1, 5))
    assert [(line.month, line.served) for line in lines] == [
        (date(2025, 12, 1), 1),
        (date(2026, 1, 1), 1),
        (date(2026, 2, 1), 2),
    ]


def test_no_enrolment_means_no_progress_to_show():
    assert monthly_coverage({}, 303, date(2026, 1, 1)) == []


# --- Who may be enrolled ----------------------------------------------------------------------

TODAY = date(2026, 11, 15)


def test_a_town_with_its_own_omic_cannot_be_enrolled():
    problems = enrolment_problems(has_omic=True, enrolled=True, enrolled_on=None, today=TODAY)
    assert problems == {"enrolled": EnrolmentProblem.HAS_OMIC}


def test_a_town_with_an_omic_may_stay_not_enrolled():
    assert enrolment_problems(has_omic=True, enrolled=False, enrolled_on=None, today=TODAY) == {}


@pytest.mark.parametrize(
    ("day", "problem"),
    [
        (TODAY, None),
        (date(2025, 3, 1), None),
        (date(2000, 1, 1), None),
        (date(2026, 11, 16), None),  # booking opens that day
        (TODAY + timedelta(days=366), None),
        (TODAY + timedelta(days=367), EnrolmentProblem.FUTURE),
        (date(1999, 12, 31), EnrolmentProblem.TOO_EARLY),
    ],
)
def test_the_enrolment_date_is_within_a_year_ahead_and_not_absurdly_old(day, problem):
    problems = enrolment_problems(has_omic=False, enrolled=True, enrolled_on=day, today=TODAY)
    assert problems.get("enrolled_on") == problem


def test_the_date_of_a_town_that_is_not_enrolled_is_not_checked():
    problems = enrolment_problems(
        has_omic=False, enrolled=False, enrolled_on=date(2099, 1, 1), today=TODAY
    )
    assert problems == {}


@pytest.mark.parametrize(
    ("day", "problems"),
    [
        (TODAY, []),
        (TODAY + timedelta(days=1), []),
        (TODAY + timedelta(days=366), []),
        (TODAY - timedelta(days=1), [EnrolmentProblem.PAST]),
        (TODAY + timedelta(days=367), [EnrolmentProblem.FUTURE]),
    ],
)
def test_a_town_enrolled_from_the_plan_starts_today_or_later(day, problems):
    """M8: enrolling from the plan asks for the start day: today or later, within a year."""
    assert start_problems(day, TODAY) == problems
