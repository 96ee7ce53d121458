"""Demo appointments around today, so the agenda has work on it from the first run.

Their descriptions are the corpus's (``demo/triage.py``): the open case files of the last two
weeks (pending or in progress) and the coming appointments take the rows kept aside for recent
requests, with no sector recorded yet, so the agenda and the case pages show fresh
suggestions; the calls a technician has already worked (documents requested, resolved) are
labelled rows, like the history's.
"""

from __future__ import annotations

import random
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .. import clock
from ..casefiles.service import case_from_booking
from ..casefiles.service import update_case
from ..core import scheduling
from ..extensions import db
from ..models import BookingStatus
from ..models import CaseStatus
from ..models import CaseType
from ..models import Municipality
from ..models import Role
from ..models import Service
from ..models import StaffUser
from .companies import add_companies
from .people import demo_booking
from .triage import Corpus
from .triage import CorpusRow
from .triage import finished_fields

#: What the calls of the last days became (a case's status; None: no case file).
CASE_STATUSES = [
    CaseStatus.EN_TRAMIT,
    CaseStatus.DOCUMENTACIO,
    CaseStatus.RESOLT,
    CaseStatus.PENDENT,
]


def load_activity(
    now: datetime | None = None, seed: int = 2025, corpus: Corpus | None = None
) -> None:
    """Appointments around today for the demo team, and case files for the past ones.

    Written directly (no e-mails are queued): the outbox stays for what the newcomer does.
    """
    now = now or clock.now()
    rng = random.Random(seed)
    corpus = corpus or Corpus.load()
    companies = add_companies()
    tz = ZoneInfo("Europe/Madrid")
    service = db.session.scalar(select(Service))
    towns = list(
        db.session.scalars(select(Municipality).where(Municipality.enrolled_on.is_not(None)))
    )
    technicians = list(
        db.session.scalars(select(StaffUser).where(StaffUser.role == Role.TECHNICIAN))
    )
    today = now.astimezone(tz).date()
    hours = [
        scheduling.WeeklyHours(h.staff_id, h.weekday, h.start_time, h.end_time)
        for t in technicians
        for h in t.hours
    ]
    holidays = set(
        scheduling.public_holidays([today.year - 1, today.year, today.year + 1], "ES", "CT")
    )
    duration = service.duration
    planned = []  # (start, technician id, booking status, case status or None)
    opened = []  # (booking, case status, row)
    mediable = True  # the first claim a technician works names a registered company
    for offset in range(-14, 8):
        day = today + timedelta(days=offset)
        if day in holidays:
            continue
        starts = scheduling.candidate_starts(day, hours, tz, duration, duration)
        for start, free in sorted(starts.items()):
            for technician_id in sorted(free):
                # Today is busy for the first technician, so the agenda shows something at once.
                busy_today = offset == 0 and technician_id == technicians[0].id
                if rng.random() > (0.6 if busy_today else 0.3):
                    continue
                end = start + duration
                if end <= now - timedelta(days=3):
                    weights = [8, 1, 1]
                    status = rng.choices(
                        [BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED],
                        weights,
                    )[0]
                elif end <= now:
                    # The last few days' calls wait on the agenda for someone to mark them.
                    status = rng.choice([BookingStatus.ATTENDED, BookingStatus.CONFIRMED])
                else:
                    status = BookingStatus.CONFIRMED
                # Not every call needs a case file; a worked one is a labelled row.
                case_status = None
                if status == BookingStatus.ATTENDED and rng.random() >= 0.25:
                    case_status = rng.choice(CASE_STATUSES)
                planned.append((start, technician_id, status, case_status))
    # The texts: worked cases take labelled rows; the rows kept for recent requests go first
    # to the first technician's open cases and coming calls (what the demo signs in as), then
    # to the others' open cases and coming calls; the rest borrow labelled texts.
    rows: dict[int, CorpusRow] = {}
    for index, (_start, _tech, _status, case_status) in enumerate(planned):
        if case_status == CaseStatus.RESOLT:
            row = corpus.take()
        elif case_status == CaseStatus.DOCUMENTACIO:
            row = corpus.take(
                lambda r, first=mediable: (
                    r.case_type == CaseType.RECLAMACIO and (bool(r.company) or not first)
                )
            )
            mediable = mediable and row is None
        else:
            continue
        if row is not None:
            rows[index] = row

    worked = set(rows)  # the planned calls with a labelled row of their own

    def waiting(item) -> int:
        index, (start, technician_id, status, case_status) = item
        if index in worked:
            return 9
        open_case = case_status is not None or (status == BookingStatus.CONFIRMED)
        if not open_case:
            return 9
        return 0 if technician_id == technicians[0].id else 1

    for index, _plan in sorted(enumerate(planned), key=waiting):
        if index not in rows:
            fresh = waiting((index, _plan)) < 9
            rows[index] = corpus.fresh() if fresh else corpus.any()
    for index, (start, technician_id, status, case_status) in enumerate(planned):
        row = rows[index]
        if case_status in (CaseStatus.RESOLT, CaseStatus.DOCUMENTACIO) and index not in worked:
            case_status = CaseStatus.EN_TRAMIT  # the corpus was used up: not a labelled row
        booking = demo_booking(
            rng, service, rng.choice(towns), technician_id, start, duration, status, now, row.text
        )
        end = start + duration
        if status == BookingStatus.ATTENDED and end <= now - timedelta(days=2):
            booking.survey_sent_at = end  # no survey e-mails for the demo's past
        if case_status is not None:
            opened.append((booking, case_status, row))
    db.session.flush()
    for booking, status, row in opened:
        technician = db.session.get(StaffUser, booking.technician_id)
        case = case_from_booking(booking, actor=technician, now=booking.end_utc)
        changes: dict = {"status": status}
        company_id = None
        if status in (CaseStatus.RESOLT, CaseStatus.DOCUMENTACIO):
            # Worked by the technician: the row's labels (and its ending, once resolved).
            start, ending = finished_fields(rng, row, companies)
            company_id = ending.pop("company_id")
            changes = (
                {**start, **ending}
                if status == CaseStatus.RESOLT
                else {
                    **start,
                    "sector": ending["sector"],
                    "company": ending["company"],
                    "amount_claimed": ending["amount_claimed"],
                    "status": status,
                    "deadline": today + timedelta(days=rng.randint(3, 12)),
                    "status_detail": "Cal aportar la factura i el contracte.",
                }
            )
        update_case(
            case,
            changes,
            actor=technician,
            expected_version=case.version,
            now=booking.end_utc + timedelta(hours=1),
            note="Videotrucada feta; obro l'expedient.",
        )
        case.company_id = company_id
    db.session.commit()
