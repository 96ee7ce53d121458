"""Demo data for ``make run``: the real towns, the pilot, three technicians with hours, and
the other two channels (the mobile unit's visits and the mailbox: ``visits.py``); the case
files' texts and labels come from a corpus written for the triage models (``triage.py``),
which are trained once at the end."""

from __future__ import annotations

from datetime import date
from datetime import time

from flask import current_app
from sqlalchemy import select

from ..clock import now as clock_now
from ..core.calls import DEFAULT_NAMES
from ..extensions import db
from ..models import Municipality
from ..models import OpeningHours
from ..models import Role
from ..models import Service
from ..models import StaffUser
from ..municipalities import MUNICIPALITIES_CSV
from ..municipalities import OMICS_CSV
from ..municipalities import import_municipalities
from .activity import load_activity
from .companies import load_companies
from .history import load_history
from .mediation import load_mediation
from .triage import Corpus
from .triage import past_decisions
from .triage import train_models
from .visits import load_visits

DEMO_PASSWORD = "umic-demo"

# The seed's pilot (first three months of 2025).
PILOT_TOWNS = [
    "08289",
    "08259",
    "08020",
    "08091",
]  # Torrelles, Sta Maria de Palautordera, Begues, Gelida
PILOT_START = date(2025, 3, 1)
# 21 more towns without their own OMIC (UMIC stops named in public sources, see data/SOURCES.md,
# and neighbours of the pilot towns). The real second wave is not public: this is a demo list.
SECOND_WAVE = [
    "08119", "08162", "08031", "08143", "08302", "08161", "08103", "08226", "08025", "08063",
    "08291", "08179", "08167", "08120", "08087", "08223", "08068", "08207", "08222", "08273",
    "08066",
]  # fmt: skip
SECOND_WAVE_START = date(2025, 6, 1)

# Named for citizens in each language (core/calls.py, DEFAULT_NAMES: the seed's
# "Consum_DIBA. Atenció telemàtica" read like a code); the length is not in the description,
# the pages say it from duration_minutes, so changing it leaves no stale text.
SERVICE = {
    "slug": "atencio-telematica",
    "name": DEFAULT_NAMES["ca"],
    "name_es": DEFAULT_NAMES["es"],
    "name_en": DEFAULT_NAMES["en"],
    "description": (
        "Una persona tècnica en consum de la Diputació de Barcelona us atén per videotrucada. "
        "Us ajudem amb consultes, queixes, reclamacions, mediacions i denúncies."
    ),
    "description_es": (
        "Una persona técnica en consumo de la Diputación de Barcelona le atiende por "
        "videollamada. Le ayudamos con consultas, quejas, reclamaciones, mediaciones y denuncias."
    ),
    "description_en": (
        "A consumer-law specialist of the Diputació de Barcelona talks with you by video call. "
        "We help with questions, complaints, claims, mediation and reports."
    ),
    "duration_minutes": 30,
}

MORNING = (time(9, 0), time(14, 0))
AFTERNOON = (time(15, 30), time(19, 0))
# Staff codes as in the seed's case list; names are placeholders for the demo.
TECHNICIANS = [
    ("OPSSVEGAVN", "Tècnica de consum A", "tecnica.a@example.org",
     {0: [MORNING], 1: [MORNING, AFTERNOON], 2: [MORNING], 3: [MORNING, AFTERNOON], 4: [MORNING]}),
    ("OPSSAPRESGA", "Tècnic de consum B", "tecnic.b@example.org",
     {0: [MORNING, AFTERNOON], 1: [MORNING], 2: [MORNING, AFTERNOON], 3: [MORNING], 4: [MORNING]}),
    ("OPSSPASCUETCA", "Tècnica de consum C", "tecnica.c@example.org",
     {0: [AFTERNOON], 1: [AFTERNOON], 2: [AFTERNOON], 3: [AFTERNOON], 4: [MORNING]}),
]  # fmt: skip
COORDINATOR = ("COORDINACIO", "Coordinació SSPC", "coordinacio@example.org")


def is_empty() -> bool:
    """True when nothing has been loaded yet (no towns and no staff)."""
    return (
        db.session.scalar(select(Municipality.id).limit(1)) is None
        and db.session.scalar(select(StaffUser.id).limit(1)) is None
    )


def load(*, train: bool | None = None) -> None:
    """Load the demo data; safe to run on an empty database only.

    ``train``: train the triage models at the end (some seconds). By default they are trained
    except under the test suite (``TESTING``), whose many demo loads do not need them; a test
    that does asks with ``train=True``.
    """
    report = import_municipalities(MUNICIPALITIES_CSV, OMICS_CSV)
    if report.errors:
        raise RuntimeError("; ".join(report.errors))
    towns = {m.ine_code: m for m in db.session.scalars(select(Municipality))}
    for code in PILOT_TOWNS:
        towns[code].enrolled_on = PILOT_START
    for code in SECOND_WAVE:
        towns[code].enrolled_on = SECOND_WAVE_START

    db.session.add(Service(**SERVICE))
    for username, name, email, week in TECHNICIANS:
        user = StaffUser(username=username, name=name, email=email, role=Role.TECHNICIAN)
        user.set_password(DEMO_PASSWORD)
        for weekday, periods in week.items():
            for start, end in periods:
                user.hours.append(OpeningHours(weekday=weekday, start_time=start, end_time=end))
        db.session.add(user)
    username, name, email = COORDINATOR
    coordinator = StaffUser(username=username, name=name, email=email, role=Role.COORDINATOR)
    coordinator.set_password(DEMO_PASSWORD)
    db.session.add(coordinator)
    db.session.commit()
    # One corpus for the whole demo, so each labelled row is one case file only; the recent
    # requests (visits' and mailbox's first, then the agenda's) take the rows kept aside.
    corpus = Corpus.load()
    load_history(corpus=corpus)
    load_visits(corpus=corpus)
    load_activity(corpus=corpus)
    load_companies()
    # Version 1 of every letter text (umic.letters), so the editor lists them from the start.
    from ..letters.service import ensure_all_shipped

    ensure_all_shipped()
    db.session.commit()
    load_mediation()  # after the companies and the letters' texts
    # A few past decisions on suggestions (demo data) for the figures page, and the triage
    # models, trained once on the history: make run shows suggestions at once.
    past_decisions(clock_now())
    db.session.commit()
    if train if train is not None else not current_app.testing:
        train_models(clock_now())
