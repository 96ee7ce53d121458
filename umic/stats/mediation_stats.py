"""Mediations with the companies, and the most claimed companies, for a period. No Flask.

Every figure is an aggregate computed by the database, in a fixed number of queries whatever
the number of rows (never one per mediation or per company). Days are local days
(Europe/Madrid): a period becomes UTC bounds at local midnight (``Period.bounds``), so a
mediation closed at 00:30 Madrid on the 1st of a month belongs to that month, although it is
still the previous day in UTC. Money is added up in cents as integers: exact on SQLite and
PostgreSQL alike.

The definitions, also written on the statistics page:

- *opened*: mediations whose ``opened_at`` falls in the period;
- *closed*: mediations whose ``closed_at`` falls in the period, by outcome (full agreement,
  partial agreement, no agreement, withdrawn). The amounts claimed and recovered, and the
  referrals (arbitration, inspection), are those of the mediations closed in the period;
- *agreement rate*: (full + partial agreements) / (closed − withdrawn). A withdrawal ends the
  mediation before there is anything to agree on, so it counts neither for nor against;
  undefined (None) when every mediation closed was withdrawn, or none closed;
- *answer rate*: among the mediations opened in the period, those the company has answered
  through its link (at any time up to now); *median days to answer*: from the opening to the
  company's answer, over those answered;
- *recovered / claimed*: the sum recovered over the sum claimed, both over the mediations
  closed in the period that have an amount claimed (a recovery without a claim recorded would
  otherwise count against nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select

from ..core.codes import MediationOutcome
from ..core.codes import Referral
from ..core.periods import Period
from ..extensions import db
from ..models import CaseFile
from ..models import Company
from ..models import Mediation
from .service_stats import _cents
from .service_stats import _count_if
from .service_stats import days_between
from .service_stats import median
from .service_stats import median_window

#: The outcomes that are an agreement.
AGREEMENTS = (MediationOutcome.ACORD_TOTAL.value, MediationOutcome.ACORD_PARCIAL.value)
#: The outcomes in the order the page lists them.
OUTCOME_ORDER = tuple(outcome.value for outcome in MediationOutcome)
REFERRAL_ORDER = tuple(referral.value for referral in Referral)


@dataclass(frozen=True)
class MediationFigures:
    opened: int
    answered: int  # of those opened in the period
    median_answer_days: float | None
    outcomes: dict[str, int]  # every outcome code (zeros included) -> mediations closed
    referrals: dict[str, int]  # every referral code (zeros included) -> mediations closed
    claimed: Decimal  # euros, over the mediations closed in the period
    recovered: Decimal
    # The same two sums over the mediations closed with an amount claimed: the ratio's terms.
    claimed_with_amount: Decimal = Decimal(0)
    recovered_with_claim: Decimal = Decimal(0)
    unknown_outcomes: int = 0  # closed without an outcome recorded (should not happen)

    @property
    def closed(self) -> int:
        return sum(self.outcomes.values()) + self.unknown_outcomes

    @property
    def agreements(self) -> int:
        return sum(self.outcomes[code] for code in AGREEMENTS)

    @property
    def agreement_base(self) -> int:
        """What the agreement rate is measured on: the closed ones, withdrawals left out."""
        return self.closed - self.outcomes[MediationOutcome.DESISTIT.value]

    @property
    def agreement_rate(self) -> float | None:
        return self.agreements / self.agreement_base if self.agreement_base else None

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.opened if self.opened else None

    @property
    def recovered_ratio(self) -> float | None:
        if not self.claimed_with_amount:
            return None
        return float(self.recovered_with_claim / self.claimed_with_amount)


def mediation_figures(period: Period, tz: ZoneInfo) -> MediationFigures:
    """Two queries, three when some mediation opened in the period was answered.

    The first groups the mediations closed in the period by outcome and referral (it reads
    ``ix_mediation_closed_at``, which on PostgreSQL carries the outcome and the amounts); the
    second counts those opened and answered; the third reads only the one or two middle
    answer times, sorted by the database (as ``service_stats.resolution_figures`` does).
    """
    start, end = period.bounds(tz)
    closed = and_(Mediation.closed_at >= start, Mediation.closed_at < end)
    has_claim = Mediation.amount_claimed.is_not(None)
    rows = db.session.execute(
        select(
            Mediation.outcome,
            Mediation.referral,
            func.count(),
            _cents(Mediation.amount_claimed),
            _cents(Mediation.amount_recovered),
            _cents(case((has_claim, Mediation.amount_recovered), else_=None)),
        )
        .where(closed)
        .group_by(Mediation.outcome, Mediation.referral)
    ).all()
    outcomes = dict.fromkeys(OUTCOME_ORDER, 0)
    referrals = dict.fromkeys(REFERRAL_ORDER, 0)
    unknown = 0
    claimed = recovered = recovered_with_claim = 0
    for outcome, referral, n, claimed_cents, recovered_cents, with_claim_cents in rows:
        n = int(n)
        if outcome in outcomes:
            outcomes[outcome] += n
        else:
            unknown += n
        if referral in referrals:
            referrals[referral] += n
        claimed += int(claimed_cents)
        recovered += int(recovered_cents)
        recovered_with_claim += int(with_claim_cents)

    opened_in = and_(Mediation.opened_at >= start, Mediation.opened_at < end)
    answered = Mediation.answered_at.is_not(None)
    timed = and_(answered, Mediation.answered_at >= Mediation.opened_at)
    opened, answered_count, timed_count = (
        int(value)
        for value in db.session.execute(
            select(func.count(), _count_if(answered), _count_if(timed)).where(opened_in)
        ).one()
    )
    offset, limit = median_window(timed_count)
    middle: list[float] = []
    if limit:
        duration = days_between(Mediation.opened_at, Mediation.answered_at)
        middle = [
            float(value)
            for value in db.session.scalars(
                select(duration)
                .where(opened_in, timed)
                .order_by(duration)
                .offset(offset)
                .limit(limit)
            )
        ]
    return MediationFigures(
        opened=opened,
        answered=answered_count,
        median_answer_days=median(middle),
        outcomes=outcomes,
        referrals=referrals,
        claimed=euros(claimed),
        recovered=euros(recovered),
        # Every amount claimed is, by definition, on a mediation with an amount claimed.
        claimed_with_amount=euros(claimed),
        recovered_with_claim=euros(recovered_with_claim),
        unknown_outcomes=unknown,
    )


@dataclass(frozen=True)
class CompanyRow:
    """One line of "Empreses més reclamades"."""

    company_id: int
    name: str
    sector: str  # consumer_sectors.csv code, '' when not recorded
    cases: int  # case files requested in the period against it
    mediations: int  # its mediations closed in the period
    agreements: int  # of those, how many ended in (full or partial) agreement
    recovered: Decimal  # euros recovered by those


def most_claimed_companies(period: Period, tz: ZoneInfo, most: int = 10) -> list[CompanyRow]:
    """The ``most`` companies with most case files requested in the period (every channel),
    most first, equal counts by name; two queries.

    Their mediations, agreements and amount recovered are those of the mediations closed in
    the period, as in the "Mediació" figures (so the two tables add up the same way). A case
    file without a company linked is not counted here.

    The first query counts case files per company over the period's range of
    ``requested_at``; the second adds up the mediations of those few companies closed in the
    period (``ix_mediation_closed_at``, which on PostgreSQL carries the company and the
    amounts).
    """
    start, end = period.bounds(tz)
    cases = func.count().label("cases")
    per_company = (
        select(CaseFile.company_id, cases)
        .where(
            CaseFile.requested_at >= start,
            CaseFile.requested_at < end,
            CaseFile.company_id.is_not(None),
        )
        .group_by(CaseFile.company_id)
        .subquery()
    )
    top = db.session.execute(
        select(Company.id, Company.name, Company.sector, per_company.c.cases)
        .join(per_company, per_company.c.company_id == Company.id)
        .order_by(per_company.c.cases.desc(), Company.name, Company.id)
        .limit(most)
    ).all()
    if not top:
        return []
    ids = [row[0] for row in top]
    closed = {
        company_id: (int(n), int(agreements), int(recovered_cents))
        for company_id, n, agreements, recovered_cents in db.session.execute(
            select(
                Mediation.company_id,
                func.count(),
                _count_if(Mediation.outcome.in_(AGREEMENTS)),
                _cents(Mediation.amount_recovered),
            )
            .where(
                Mediation.closed_at >= start,
                Mediation.closed_at < end,
                Mediation.company_id.in_(ids),
            )
            .group_by(Mediation.company_id)
        )
    }
    rows = []
    for company_id, name, sector, n in top:
        mediations, agreements, recovered_cents = closed.get(company_id, (0, 0, 0))
        rows.append(
            CompanyRow(
                company_id=company_id,
                name=name,
                sector=sector or "",
                cases=int(n),
                mediations=mediations,
                agreements=agreements,
                recovered=euros(recovered_cents),
            )
        )
    return rows


def euros(cents: int) -> Decimal:
    """Exact euros with two decimals from a whole number of cents: 58966280 -> 589662.80."""
    return Decimal(int(cents)).scaleb(-2)
