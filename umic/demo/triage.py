"""The demo's labelled history for the triage models (issue 15), from a corpus written for it.

``umic/data/demo_triage_cases.tsv`` holds about 760 descriptions of consumer problems as
citizens write them (Catalan, Spanish and a mix of both, with their spelling mistakes), each
labelled with the case type, sector and company a technician would record, how it ended and
the technician's note. They were written for the demo and the models' training: no real
citizen wrote them (``umic/data/SOURCES.md``).

How the demo uses the rows (``Corpus``):

- the rows are shuffled once (a seeded ``random.Random``: the demo is the same on every load)
  and about 80 (``OPEN_REQUESTS``) are kept aside as the **recent open requests** of the last
  two weeks (new bookings, mailbox messages, people seen at the last visit): they carry no
  sector, so the technician's agenda and case pages show fresh suggestions for texts the
  models never saw;
- every other row becomes **at most one labelled case** (``Corpus.take``), so the models train
  on all of them and never on the same text twice; the finished cases get the row's case type,
  sector, company, outcome and note (``finished_fields``);
- requests that never become a case file (a cancelled booking, a no-show, a call that needed
  no file) borrow the text of any labelled row (``Corpus.any``): they are not training data.

The cases are written in bulk (``CaseWriter``): numbers are taken per year with one UPDATE,
and the cases and their histories are inserted with one flush, so the demo loads in seconds
although it holds some 700 case files.

At the end of the load the models are trained once (``train_models``) and a few past decisions
of the technicians on suggestions are written (``past_decisions``), so the figures page shows an
acceptance rate from the first run. Those decisions are demo data, made up here: they were not
made by anyone on a real suggestion.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from ..casefiles.sectors import sectors
from ..casefiles.service import search_text
from ..casefiles.tracker import PROCEDURE_NAMES
from ..core.casenumbers import format_number
from ..core.codes import CaseStatus
from ..core.codes import CaseType
from ..core.codes import Outcome
from ..core.codes import SuggestionDecision
from ..core.codes import SuggestionKind
from ..extensions import db
from ..models import FINAL_STATUSES
from ..models import CaseCounter
from ..models import CaseEvent
from ..models import CaseFile
from ..models import Company
from ..models import TriageSuggestion

#: The corpus (the one place its path is written).
CORPUS_TSV = Path(__file__).resolve().parents[1] / "data" / "demo_triage_cases.tsv"
COLUMNS = ("text", "language", "case_type", "sector", "company", "mention", "outcome", "resolution")
LANGUAGES = ("ca", "es", "mixed")
#: Rows kept aside for the recent open requests (never a labelled case).
OPEN_REQUESTS = 80
#: Case types that ask for money back: only these get amounts.
WITH_AMOUNTS = (CaseType.RECLAMACIO, CaseType.MEDIACIO)


@dataclass(frozen=True)
class CorpusRow:
    text: str
    language: str  # ca | es | mixed
    case_type: str
    sector: str
    company: str  # the registry's name, or ""
    mention: str  # how the text names the company (a substring of text), or ""
    outcome: str  # an Outcome code, or ""
    resolution: str  # the technician's note, in Catalan

    @property
    def company_text(self) -> str:
        """What the case's ``company`` column says: as the citizen wrote it, else the registry's
        name."""
        return self.mention or self.company

    @property
    def mailbox_language(self) -> str:
        """The language of the e-mails that answer it (a mix is answered in Catalan)."""
        return self.language if self.language in ("ca", "es") else "ca"


def read_corpus(path: Path | None = None) -> list[CorpusRow]:
    """The corpus's rows, checked (a wrong label raises ValueError naming its line)."""
    path = path or CORPUS_TSV
    types = {str(code) for code in CaseType}
    outcomes = {str(code) for code in Outcome} | {""}
    known_sectors = set(sectors())
    rows: list[CorpusRow] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != COLUMNS:
            raise ValueError(f"{path.name}: the header must be {' '.join(COLUMNS)}")
        for line, fields in enumerate(reader, start=2):
            if not fields or not "".join(fields).strip():
                continue
            if len(fields) != len(COLUMNS):
                raise ValueError(f"{path.name} line {line}: {len(fields)} columns")
            row = CorpusRow(*(field.strip() for field in fields))
            problems = [
                name
                for name, ok in (
                    ("text", bool(row.text)),
                    ("language", row.language in LANGUAGES),
                    ("case_type", row.case_type in types),
                    ("sector", row.sector in known_sectors),
                    ("outcome", row.outcome in outcomes),
                    ("mention", not row.mention or row.mention in row.text),
                )
                if not ok
            ]
            if problems:
                raise ValueError(f"{path.name} line {line}: bad {', '.join(problems)}")
            rows.append(row)
    return rows


class Corpus:
    """Hands out the corpus's rows: each labelled row once, the recent ones kept aside."""

    def __init__(self, rows: Iterable[CorpusRow], seed: int = 15) -> None:
        shuffled = list(rows)
        self._rng = random.Random(seed)
        self._rng.shuffle(shuffled)
        keep = min(OPEN_REQUESTS, len(shuffled) // 8)  # an eighth of a small corpus
        self.recent = shuffled[:keep]
        self.labelled = shuffled[keep:]
        self._unused = list(self.labelled)
        self._next_recent = 0

    @classmethod
    def load(cls, seed: int = 15) -> Corpus:
        return cls(read_corpus(), seed)

    def left(self) -> int:
        """Labelled rows not used for a case yet."""
        return len(self._unused)

    def take(self, want: Callable[[CorpusRow], bool] | None = None) -> CorpusRow | None:
        """The next unused labelled row (the first ``want`` accepts); None when none is left."""
        for index, row in enumerate(self._unused):
            if want is None or want(row):
                return self._unused.pop(index)
        return None

    def fresh(self) -> CorpusRow:
        """The next recent row (never trained on); when they are used up, any labelled row."""
        if self._next_recent < len(self.recent):
            self._next_recent += 1
            return self.recent[self._next_recent - 1]
        return self.any()

    def any(self) -> CorpusRow:
        """Any labelled row, for a request that never becomes a labelled case (may repeat)."""
        return self._rng.choice(self.labelled or self.recent)


def amounts(rng: random.Random, row: CorpusRow) -> tuple[Decimal | None, Decimal | None]:
    """(claimed, recovered) for a finished case of ``row``: a plausible amount for claims and
    mediations only, recovered as the outcome says (all, part, nothing)."""
    if row.case_type not in WITH_AMOUNTS:
        return None, None
    base = rng.choice([18, 35, 45, 60, 80, 95, 120, 150, 180, 240, 320, 390, 480, 600, 850, 1200])
    claimed = Decimal(base) + Decimal(rng.choice(["0.00", "0.50", "0.99", "0.35", "0.80"]))
    if row.outcome == Outcome.FAVOURABLE:
        return claimed, claimed
    if row.outcome == Outcome.PARTIAL:
        share = Decimal(rng.choice([30, 40, 50, 60, 70])) / 100
        return claimed, (claimed * share).quantize(Decimal("0.01"))
    return claimed, None


def finished_fields(
    rng: random.Random, row: CorpusRow, companies: dict[str, Company]
) -> tuple[dict, dict]:
    """(what the case is opened with, what the technician records when it ends) for a labelled
    row: its type at once; sector, company, amounts, outcome and note at the end."""
    claimed, recovered = amounts(rng, row)
    company = companies.get(row.company)
    ending = {
        "sector": row.sector,
        "company": row.company_text,
        "company_id": company.id if company is not None else None,
        "amount_claimed": claimed,
        "status": CaseStatus.DESISTIT if row.outcome == Outcome.WITHDRAWN else CaseStatus.RESOLT,
        "status_detail": row.resolution,
        "outcome": row.outcome,
        "amount_recovered": recovered,
    }
    return {"case_type": row.case_type, "description": row.text}, ending


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


#: Every column a demo case may set, with its value when it does not.
ROW_DEFAULTS = {
    "case_type": CaseType.RECLAMACIO,
    "visit_id": None,
    "booking_id": None,
    "language": "",
    "interested_name": "",
    "interested_email": "",
    "interested_phone": "",
    "interested_address": "",
    "sector": "",
    "company": "",
    "company_id": None,
    "amount_claimed": None,
    "amount_recovered": None,
    "outcome": "",
    "status_detail": "",
    "assigned_to_id": None,
    "resolved_at": None,
}


def _event(at, actor_id, kind, field="", old="", new="") -> dict:
    return {
        "at": at,
        "actor_id": actor_id,
        "kind": kind,
        "field": field,
        "old_value": old,
        "new_value": new,
        "note": "",
    }


class CaseWriter:
    """Demo case files written in bulk: numbers per year in one UPDATE each, one flush.

    Each case gets the history ``casefiles.service`` would write: "created", then one change
    per field recorded later (``changes``, at ``changed_at``), by the same person (or
    ``changed_by_id``).
    """

    def __init__(self) -> None:
        self.cases: list[CaseFile] = []
        self.events: list[tuple[CaseFile, list[dict]]] = []
        self.tz = ZoneInfo(current_app.config["TIMEZONE"])
        self.organic = current_app.config["CASE_ORGANIC"]

    def add(
        self,
        values: dict,
        *,
        actor_id: int | None,
        created_at: datetime,
        changes: dict | None = None,
        changed_by_id: int | None = None,
        changed_at: datetime | None = None,
    ) -> CaseFile:
        # The same columns on every row, so the inserts go in batches (SQLAlchemy batches
        # consecutive rows with the same columns only).
        values = {**ROW_DEFAULTS, **values}
        if "booking" in values:
            values.pop("booking_id")
        values.setdefault("procedure_name", PROCEDURE_NAMES.get(values["case_type"], ""))
        values.setdefault("organic", self.organic)
        values.setdefault("requested_at", created_at)
        case = CaseFile(created_by_id=actor_id, updated_at=created_at, **values)
        events = [_event(created_at, actor_id, "created")]
        if changes:
            at = changed_at or created_at
            who = changed_by_id if changed_by_id is not None else actor_id
            for field, new in changes.items():
                old = getattr(case, field)
                setattr(case, field, new)
                if field == "company_id" or _shown(old) == _shown(new):
                    continue  # the link is shown through the company's text
                events.append(_event(at, who, "change", field, _shown(old), _shown(new)))
            case.updated_at = at
        if case.status in FINAL_STATUSES:
            case.resolved_at = case.updated_at
        self.cases.append(case)
        self.events.append((case, events))
        return case

    def write(self, towns: dict | None = None) -> list[CaseFile]:
        """Number the cases (in order of request within each year), insert them (flushes)."""
        by_year: dict[int, list[CaseFile]] = {}
        for case in sorted(self.cases, key=lambda c: c.requested_at):
            by_year.setdefault(case.requested_at.astimezone(self.tz).year, []).append(case)
        dialect = db.session.get_bind().dialect.name
        upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        for year, cases in by_year.items():
            db.session.execute(
                upsert(CaseCounter).values(year=year, last_number=0).on_conflict_do_nothing()
            )
            last = db.session.execute(
                update(CaseCounter)
                .where(CaseCounter.year == year)
                .values(last_number=CaseCounter.last_number + len(cases))
                .returning(CaseCounter.last_number)
            ).scalar_one()
            for sequence, case in enumerate(cases, start=last - len(cases) + 1):
                case.year, case.sequence = year, sequence
                case.number = format_number(year, sequence)
                if towns is not None and case.municipality_id is not None:
                    case.municipality = towns.get(case.municipality_id)
                case.search_text = search_text(case)
        db.session.add_all(self.cases)
        db.session.flush()
        # The histories in one executemany (the ORM would insert them one by one, to read
        # back their ids).
        rows = [{**event, "case_id": case.id} for case, events in self.events for event in events]
        if rows:
            db.session.execute(insert(CaseEvent), rows)
        written, self.cases, self.events = self.cases, [], []
        return written


# --- After the load: the models, and a few past decisions ------------------------------------


def train_models(now: datetime):
    """Train the triage models once on the demo's cases (commits), so ``make run`` shows
    suggestions at once. Returns the TriageModel row."""
    from ..triage.service import train_and_store

    return train_and_store(now=now, trigger="command")


#: Types a technician plausibly confuses, for the demo's corrected suggestions.
CONFUSED_TYPES = {
    CaseType.RECLAMACIO: CaseType.MEDIACIO,
    CaseType.MEDIACIO: CaseType.RECLAMACIO,
    CaseType.QUEIXA: CaseType.RECLAMACIO,
    CaseType.CONSULTA: CaseType.RECLAMACIO,
    CaseType.DENUNCIA: CaseType.QUEIXA,
}
CONFUSED_SECTORS = {
    "BENS_CONSUM": "SERVEIS_GENERALS",
    "SERVEIS_GENERALS": "BENS_CONSUM",
    "TELECOM": "SERVEIS_GENERALS",
    "ELECTRICITAT_GAS_AIGUA": "SERVEIS_GENERALS",
    "TRANSPORT": "RESTAURACIO_ALLOTJAMENTS",
    "RESTAURACIO_ALLOTJAMENTS": "TRANSPORT",
    "SERVEIS_FINANCERS": "SERVEIS_GENERALS",
}
#: How many recent finished cases get demo decisions, and the share corrected.
DECIDED_CASES = 60
CORRECTED_SHARE = 0.12


def past_decisions(now: datetime, seed: int = 1515) -> int:
    """DEMO DATA: technicians' decisions on suggestions for some recent finished cases (most
    accepted, some corrected), so the figures page's acceptance is not empty on the first run.
    Nobody made them: they are written here, with the case's own values as the final ones.
    Flushes; returns how many rows were written."""
    rng = random.Random(seed)
    cases = db.session.scalars(
        select(CaseFile)
        .where(
            CaseFile.status.in_(FINAL_STATUSES),
            CaseFile.sector != "",
            CaseFile.assigned_to_id.is_not(None),
            CaseFile.resolved_at < now,
        )
        .order_by(CaseFile.requested_at.desc(), CaseFile.id.desc())
        .limit(DECIDED_CASES)
    ).all()
    rows = []
    for case in cases:
        shown = case.requested_at + timedelta(minutes=rng.randint(5, 90))
        decided = shown + timedelta(minutes=rng.randint(1, 30))
        offers = [
            (SuggestionKind.CASE_TYPE, case.case_type, CONFUSED_TYPES.get(case.case_type)),
            (SuggestionKind.SECTOR, case.sector, CONFUSED_SECTORS.get(case.sector)),
        ]
        if case.company_id is not None:
            offers.append((SuggestionKind.COMPANY, str(case.company_id), None))
        for kind, final, wrong in offers:
            corrected = wrong is not None and rng.random() < CORRECTED_SHARE
            confidence = rng.uniform(0.5, 0.7) if corrected else rng.uniform(0.6, 0.97)
            decision = SuggestionDecision.CORRECTED if corrected else SuggestionDecision.ACCEPTED
            rows.append(
                TriageSuggestion(
                    case_id=case.id,
                    model_id=None,  # made up for the demo: no model of this database made it
                    kind=kind,
                    value=str(wrong) if corrected else str(final),
                    confidence=round(confidence, 2),
                    created_at=shown,
                    decision=decision,
                    final_value=str(final),
                    decided_at=decided,
                    decided_by_id=case.assigned_to_id,
                )
            )
    db.session.add_all(rows)
    db.session.flush()
    return len(rows)
