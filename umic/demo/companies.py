"""Demo companies: real consumer brands by name and sector, as the service meets them (the
seed's tracker notes name Naturgy; the demo's labelled cases, ``umic/data/demo_triage_cases.tsv``,
name the rest). Tax ids are left empty (not checked here); the claims addresses are on the
reserved ``.example`` domain, so no demo e-mail reaches a real company. The language is the one
the brand's customer service writes in to a Catalan consumer office (ca or es).

``add_companies`` runs before the history (its cases are written linked to their entry);
``load_companies`` runs at the end and links the other demo cases that name one
(``umic.companies.backfill``).
"""

from __future__ import annotations

from ..clock import now as clock_now
from ..companies import backfill
from ..companies import find_or_create
from ..extensions import db
from ..models import Company

#: (name, sector, claims e-mail, language)
COMPANIES = [
    ("Endesa Energía, S.A.U.", "ELECTRICITAT_GAS_AIGUA", "reclamacions@endesa.example", "es"),
    ("Naturgy", "ELECTRICITAT_GAS_AIGUA", "reclamacions@naturgy.example", "ca"),
    ("Iberdrola", "ELECTRICITAT_GAS_AIGUA", "reclamaciones@iberdrola.example", "es"),
    ("Repsol", "ELECTRICITAT_GAS_AIGUA", "reclamaciones@repsol.example", "es"),
    ("Holaluz", "ELECTRICITAT_GAS_AIGUA", "reclamacions@holaluz.example", "ca"),
    ("Aigües de Barcelona", "ELECTRICITAT_GAS_AIGUA", "reclamacions@aigues.example", "ca"),
    ("TotalEnergies", "ELECTRICITAT_GAS_AIGUA", "reclamaciones@totalenergies.example", "es"),
    ("Movistar", "TELECOM", "reclamacions@movistar.example", "es"),
    ("Vodafone", "TELECOM", "reclamacions@vodafone.example", "es"),
    ("Orange", "TELECOM", "reclamacions@orange.example", "es"),
    ("Digi", "TELECOM", "reclamaciones@digi.example", "es"),
    ("MásMóvil", "TELECOM", "reclamaciones@masmovil.example", "es"),
    ("Jazztel", "TELECOM", "reclamaciones@jazztel.example", "es"),
    ("Lowi", "TELECOM", "reclamaciones@lowi.example", "es"),
    ("Pepephone", "TELECOM", "reclamaciones@pepephone.example", "es"),
    ("CaixaBank", "SERVEIS_FINANCERS", "reclamacions@caixabank.example", "ca"),
    ("BBVA", "SERVEIS_FINANCERS", "reclamaciones@bbva.example", "es"),
    ("Banc Sabadell", "SERVEIS_FINANCERS", "reclamacions@bancsabadell.example", "ca"),
    ("Banco Santander", "SERVEIS_FINANCERS", "reclamaciones@santander.example", "es"),
    ("ING", "SERVEIS_FINANCERS", "reclamaciones@ing.example", "es"),
    ("Mapfre", "SERVEIS_FINANCERS", "reclamaciones@mapfre.example", "es"),
    ("Vueling", "TRANSPORT", "reclamacions@vueling.example", "ca"),
    ("Ryanair", "TRANSPORT", "reclamaciones@ryanair.example", "es"),
    ("Renfe", "TRANSPORT", "reclamacions@renfe.example", "ca"),
    ("Iberia", "TRANSPORT", "reclamaciones@iberia.example", "es"),
    ("Amazon", "BENS_CONSUM", "reclamaciones@amazon.example", "es"),
    ("MediaMarkt", "BENS_CONSUM", "reclamaciones@mediamarkt.example", "es"),
    ("El Corte Inglés", "BENS_CONSUM", "reclamaciones@elcorteingles.example", "es"),
    ("PcComponentes", "BENS_CONSUM", "reclamaciones@pccomponentes.example", "es"),
    ("IKEA", "BENS_CONSUM", "reclamacions@ikea.example", "ca"),
    ("Decathlon", "BENS_CONSUM", "reclamacions@decathlon.example", "ca"),
    ("Booking.com", "RESTAURACIO_ALLOTJAMENTS", "reclamaciones@booking.example", "es"),
    ("Airbnb", "RESTAURACIO_ALLOTJAMENTS", "reclamaciones@airbnb.example", "es"),
    ("Securitas Direct", "SERVEIS_GENERALS", "reclamaciones@securitasdirect.example", "es"),
    ("Correos", "SERVEIS_GENERALS", "reclamaciones@correos.example", "es"),
    ("SEUR", "SERVEIS_GENERALS", "reclamaciones@seur.example", "es"),
]


def add_companies() -> dict[str, Company]:
    """The demo registry, created where missing (flushes; the caller commits), by name."""
    return {
        name: find_or_create(name, sector=sector, claims_email=email, language=language)
        for name, sector, email, language in COMPANIES
    }


def load_companies() -> None:
    """Add the demo companies and link the demo's cases that name them (commits)."""
    add_companies()
    backfill(clock_now(), create=False)
    db.session.commit()
