"""Demo data for the other two channels: the mobile unit's (UMIC) visits and the mailbox.

Everything here is invented for ``make run`` (the places, the people, what they ask); only
the towns are real. It is written relative to the clock, like ``activity.py``:

- planned visits for the coming four weeks to several pilot and second-wave towns,
  including **Gelida's next visit** (bookable, at "Plaça de la Vila", 10:00-13:00): the
  page ``/umic/gelida/`` has something to offer from the first run;
- one visit some days ago, with the people seen there recorded as case files of the
  channel "umic" (one consultation answered on the spot, two claims in progress);
- a few mailbox case files (channel "bustia") of the last weeks, not yet assigned.

What the people ask is the corpus's (``demo/triage.py``): the open requests take the rows
kept aside for recent requests, with no sector recorded, so they show fresh suggestions; the
consultation answered on the spot is a labelled row. The months before (visits and mailbox
since October 2025) are in ``history.py``.

The visits are in the morning, Monday to Thursday, with the technician whose demo hours
are the afternoons then (``TECHNICIANS`` in ``demo/__init__.py``), so they never overlap
her demo video calls. Nothing is dated in 2025: the pilot's figures (the seed's table for
March to May 2025, where UMIC came from the hand-typed monthly counts) stay as they are.
"""

from __future__ import annotations

import random
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .. import clock
from ..casefiles.service import create_case
from ..core import scheduling
from ..core.text import fold
from ..extensions import db
from ..models import CaseStatus
from ..models import CaseType
from ..models import Channel
from ..models import Municipality
from ..models import StaffUser
from ..models import UmicVisit
from .companies import add_companies
from .people import FIRST_NAMES
from .people import SURNAMES
from .triage import Corpus
from .triage import finished_fields

#: Whose visits: the demo technician with no hours on weekday mornings (Monday-Thursday).
VISIT_TECHNICIAN = "OPSSPASCUETCA"
#: The coordinator who planned them.
PLANNER = "COORDINACIO"
#: The pilot year: no demo record of these channels may fall in it (the seed's figures).
PILOT_YEAR = 2025
#: (INE code, place, how to find it) of the coming visits, in order; Gelida first.
COMING = [
    ("08091", "Plaça de la Vila", "La furgoneta de la Diputació, davant de l'Ajuntament."),
    ("08289", "Sala de plens de l'Ajuntament", "Entrada per la porta lateral, planta baixa."),
    ("08020", "Plaça de la Vila", "Al costat del mercat setmanal."),
    ("08259", "Casal de Cultura", "Sala petita de la planta baixa."),
    ("08119", "Plaça de l'Ajuntament", ""),
]
#: The visit some days ago, and the people seen there.
PAST = ("08020", "Plaça de la Vila", "")
MAILBOX_MESSAGES = 8


def _visit_days(today: date, holidays: set[date], count: int) -> list[date]:
    """The next ``count`` Monday-to-Thursday working days, from the day after tomorrow on,
    a few days apart."""
    days: list[date] = []
    day = today + timedelta(days=2)
    while len(days) < count:
        if day.weekday() <= 3 and day not in holidays:
            days.append(day)
            day += timedelta(days=4)
        else:
            day += timedelta(days=1)
    return days


def _last_working_day(today: date, holidays: set[date], back: int) -> date:
    day = today - timedelta(days=back)
    while day.weekday() > 3 or day in holidays:
        day -= timedelta(days=1)
    return day


def _window(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = scheduling.local_instant(day, time(10, 0), tz)
    end = scheduling.local_instant(day, time(13, 0), tz)
    assert start is not None and end is not None  # 10:00 and 13:00 exist every day
    return start, end


def load_visits(
    now: datetime | None = None, seed: int = 2026, corpus: Corpus | None = None
) -> None:
    """The visits, the people seen at the past one, and the mailbox's recent messages."""
    now = now or clock.now()
    rng = random.Random(seed)
    corpus = corpus or Corpus.load()
    companies = add_companies()
    tz = ZoneInfo("Europe/Madrid")
    today = now.astimezone(tz).date()
    towns = {
        m.ine_code: m
        for m in db.session.scalars(
            select(Municipality).where(
                Municipality.ine_code.in_([code for code, *_ in COMING] + [PAST[0]])
            )
        )
    }
    technician = db.session.scalar(select(StaffUser).where(StaffUser.username == VISIT_TECHNICIAN))
    planner = db.session.scalar(select(StaffUser).where(StaffUser.username == PLANNER))
    if technician is None:
        return
    holidays = set(scheduling.public_holidays([today.year, today.year + 1], "ES", "CT"))

    for (code, place, details), day in zip(
        COMING, _visit_days(today, holidays, len(COMING)), strict=True
    ):
        start, end = _window(day, tz)
        db.session.add(
            UmicVisit(
                municipality_id=towns[code].id,
                technician_id=technician.id,
                start_utc=start,
                end_utc=end,
                place=place,
                place_details=details,
                slot_minutes=20,
                bookable=True,
                created_at=now - timedelta(days=10),
                created_by_id=planner.id if planner else None,
            )
        )

    day = _last_working_day(today, holidays, 7)
    start, end = _window(day, tz)
    past = UmicVisit(
        municipality_id=towns[PAST[0]].id,
        technician_id=technician.id,
        start_utc=start,
        end_utc=end,
        place=PAST[1],
        place_details=PAST[2],
        slot_minutes=20,
        bookable=False,
        created_at=start - timedelta(days=20),
        created_by_id=planner.id if planner else None,
    )
    db.session.add(past)
    db.session.flush()
    if day.year > PILOT_YEAR:
        seen = [
            (CaseType.CONSULTA, CaseStatus.RESOLT, timedelta(minutes=20)),
            (CaseType.RECLAMACIO, CaseStatus.EN_TRAMIT, timedelta(minutes=65)),
            (CaseType.RECLAMACIO, CaseStatus.EN_TRAMIT, timedelta(minutes=130)),
        ]
        for case_type, status, after in seen:
            asked = start + after
            name = (
                f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
                if case_type != CaseType.CONSULTA
                else ""  # only asked a question
            )
            values = {
                "case_type": case_type,
                "channel": Channel.UMIC,
                "visit_id": past.id,
                "municipality_id": past.municipality_id,
                "requested_at": asked,
                "interested_name": name,
                "assigned_to_id": technician.id,
                "status": status,
            }
            row = None
            if status == CaseStatus.RESOLT:
                row = corpus.take(lambda r: r.case_type == CaseType.CONSULTA)
            if row is not None:
                opened, ending = finished_fields(rng, row, companies)
                values.update(opened)
                values.update(ending)
            else:
                values["description"] = corpus.fresh().text  # the sector is still to record
            case = create_case(values, actor=technician, now=asked)
            if status == CaseStatus.RESOLT:
                case.resolved_at = asked

    # The mailbox: a few messages of the last weeks, waiting for someone to take them.
    enrolled = list(
        db.session.scalars(
            select(Municipality)
            .where(Municipality.enrolled_on.is_not(None))
            .order_by(Municipality.ine_code)
        )
    )
    for n in range(MAILBOX_MESSAGES):
        sent = now - timedelta(days=1 + 2 * n, hours=rng.randint(0, 8))  # the last 2 weeks
        if sent.astimezone(tz).year <= PILOT_YEAR or not enrolled:
            continue
        row = corpus.fresh()
        first, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        create_case(
            {
                # What the citizen chose in the form; the sector is for the technician.
                "case_type": rng.choice([CaseType.CONSULTA, CaseType.RECLAMACIO]),
                "channel": Channel.BUSTIA,
                "municipality_id": rng.choice(enrolled).id,
                "requested_at": sent,
                "description": row.text,
                "language": row.mailbox_language,
                "interested_name": f"{first} {surname}",
                "interested_email": f"{fold(first)}.{n}@example.net",
                "status": CaseStatus.PENDENT,
            },
            actor=None,
            now=sent,
        )
    db.session.commit()
