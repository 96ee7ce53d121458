"""Demo companies: real consumer brands by name and sector, as the service meets them (the
seed's tracker notes name Naturgy). Tax ids are left empty (not checked here); the claims
addresses are on the reserved ``.example`` domain, so no demo e-mail reaches a real company.
The demo's cases that name them are linked by ``umic.companies.backfill``.
"""

from __future__ import annotations

from ..clock import now as clock_now
from ..companies import backfill
from ..companies import find_or_create
from ..extensions import db

#: (name, sector, claims e-mail, language)
COMPANIES = [
    ("Endesa Energía, S.A.U.", "ELECTRICITAT_GAS_AIGUA", "reclamacions@endesa.example", "es"),
    ("Naturgy", "ELECTRICITAT_GAS_AIGUA", "reclamacions@naturgy.example", "ca"),
    ("Movistar", "TELECOM", "reclamacions@movistar.example", "es"),
    ("Vodafone", "TELECOM", "reclamacions@vodafone.example", "es"),
    ("Orange", "TELECOM", "reclamacions@orange.example", "es"),
]


def load_companies() -> None:
    """Add the demo companies and link the demo's cases that name them (commits)."""
    for name, sector, email, language in COMPANIES:
        find_or_create(name, sector=sector, claims_email=email, language=language)
    backfill(clock_now(), create=False)
    db.session.commit()
