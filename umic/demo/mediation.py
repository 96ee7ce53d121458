"""A demo mediation: one open claim of the demo, linked to a demo company, sent to it, and the
company's proposal, so the case page's "Mediació" panel, the company's page and the citizen's
follow page have something to show. The e-mails go to the reserved ``.example`` domain.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from ..clock import now as clock_now
from ..extensions import db
from ..mediation import service
from ..models import FINAL_STATUSES
from ..models import CaseFile
from ..models import CaseType
from ..models import Company
from ..models import Mediation


def load_mediation() -> None:
    """Open one mediation on the newest open claim against a company with a claims address
    (commits); nothing when there is none."""
    row = db.session.execute(
        select(CaseFile, Company)
        .join(Company, Company.id == CaseFile.company_id)
        .outerjoin(Mediation, Mediation.case_id == CaseFile.id)
        .where(
            CaseFile.case_type == CaseType.RECLAMACIO,
            CaseFile.status.not_in(FINAL_STATUSES),
            CaseFile.anonymised_at.is_(None),
            Company.claims_email != "",
            Mediation.id.is_(None),
        )
        .order_by(CaseFile.requested_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return
    case, company = row
    now = clock_now()
    mediation = service.open_mediation(
        case, company, company_email=company.claims_email, actor=case.assigned_to, now=now
    )
    service.record_answer(
        mediation,
        "proposa",
        "Proposem abonar la meitat de l'import reclamat.",
        (case.amount_claimed / 2).quantize(Decimal("0.01")) if case.amount_claimed else None,
        [],
        now,
    )
    db.session.commit()
