"""The triage models in the app: what they learn from, storing a run, suggestions and decisions.

**What is a label.** The models learn only what a person stands behind. A case's *type* is a
label when its status is final (a technician carried it to the end), when it came from the
old tracker (``tracker_id``: classified by the technicians who used it), when a technician
decided a type suggestion on it, or when its history has a change of ``case_type`` by a member
of staff. A booking's case starts as "reclamacio" by default: that alone is not a label, or the
model would learn the default. A case's *sector* is a label when it is not empty (only people
and the old tracker write it). Anonymised cases and cases without a description are never read.
A suggestion a technician *corrected* weighs ``core.CORRECTION_WEIGHT`` examples, so one
correction outweighs a couple of contrary old examples of the same wording: the next training
follows the technician (tests/test_triage.py shows it).

**Cost.** ``training_set`` is two statements whatever the number of cases (the labelled rows,
streamed with ``yield_per``; the finished cases' document categories, one GROUP BY): 2.7 s at
100,000 cases on PostgreSQL. The company aliases are one more, read when the matcher is built
(a new model or a changed registry). ``loaded`` runs one small query
per request to see whether a newer model or a changed registry exists; the model's bytes are
read and unpickled only when its id changes. The case page adds: that query, its stored
suggestions, the similar cases (one query each) and, on the first view with a model, one
INSERT ... ON CONFLICT DO NOTHING and a re-read.

**Stored once.** A case's suggestions are written the first time its page is seen with a model
(one row per kind, ``triage_suggestion``), and only those a person would be shown (quality and
confidence thresholds passed): acceptance figures count them. A suggestion never changes the
case by itself: ``decide`` applies what a person chose through ``casefiles.service.update_case``,
so the history says who changed what; ``note_edits`` records the decision when the ordinary
case form changes a suggested field.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from decimal import Decimal

from flask import current_app
from flask import g
from flask import has_request_context
from flask_babel import gettext as _
from sqlalchemy import and_
from sqlalchemy import case as sql_case
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from ..casefiles import labels
from ..casefiles.sectors import sector_name
from ..casefiles.sectors import sectors
from ..casefiles.service import StaleCase
from ..casefiles.service import update_case
from ..companies import find_or_create
from ..core import triage as core
from ..core.codes import CaseStatus
from ..core.codes import DocumentCategory
from ..core.codes import DocumentSource
from ..core.codes import SuggestionDecision
from ..core.codes import SuggestionKind
from ..core.company_match import CompanyGuess
from ..core.company_match import CompanyMatcher
from ..core.company_match import KnownName
from ..core.text import clean
from ..extensions import commit_keeping_loaded
from ..extensions import db
from ..models import FINAL_STATUSES
from ..models import CaseDocument
from ..models import CaseEvent
from ..models import CaseFile
from ..models import Company
from ..models import Mediation
from ..models import StaffUser
from ..models import TriageModel
from ..models import TriageSuggestion
from ..web.i18n import locale_name

log = logging.getLogger(__name__)

__all__ = [
    "AlreadyDecided",
    "BadValue",
    "Loaded",
    "SimilarCase",
    "StaleCase",
    "Suggestion",
    "TextSuggestion",
    "company_aliases",
    "decide",
    "documents_request_text",
    "loaded",
    "note_edits",
    "shown_for_text",
    "similar_cases",
    "suggest_text",
    "suggestions_for_case",
    "train_and_store",
    "training_set",
]

#: Rows fetched at a time when reading the labelled cases (memory stays flat at 100,000).
STREAM_ROWS = 5000
#: The kinds a case page may show, in the order it shows them.
KINDS = (
    SuggestionKind.CASE_TYPE.value,
    SuggestionKind.SECTOR.value,
    SuggestionKind.COMPANY.value,
    SuggestionKind.DOCUMENTS.value,
)
#: Documents a technician may ask the citizen for ("altres" says nothing).
ASKABLE_DOCUMENTS = tuple(c.value for c in DocumentCategory if c != DocumentCategory.ALTRES)
#: What the citizen or the staff brought (the service's letters and the company's answers are
#: not what a case "needs").
_BROUGHT = (DocumentSource.CITIZEN.value, DocumentSource.STAFF.value)
_FINAL = tuple(status.value for status in FINAL_STATUSES)


class BadValue(ValueError):
    """The value chosen for a suggestion is not one of its kind's values."""


class AlreadyDecided(Exception):
    """Someone already accepted or corrected this suggestion."""


def case_text(description: str | None, claim_request: str | None) -> str:
    """What the models read of a case: the description and what the person asks for."""
    return "\n".join(part.strip() for part in (description, claim_request) if part and part.strip())


# --- The training set -------------------------------------------------------------------------


def _decided(kind: str, *decisions: str):
    condition = and_(TriageSuggestion.case_id == CaseFile.id, TriageSuggestion.kind == kind)
    if decisions:
        condition = and_(condition, TriageSuggestion.decision.in_(decisions))
    else:
        condition = and_(condition, TriageSuggestion.decision != "")
    return exists().where(condition)


def _flag(condition):
    return sql_case((condition, 1), else_=0)


def training_set() -> core.TrainingSet:
    """What technicians have classified, as the core's examples (two statements)."""
    type_kind = SuggestionKind.CASE_TYPE.value
    sector_kind = SuggestionKind.SECTOR.value
    corrected = SuggestionDecision.CORRECTED.value
    staff_changed_type = exists().where(
        CaseEvent.case_id == CaseFile.id,
        CaseEvent.kind == "change",
        CaseEvent.field == "case_type",
        CaseEvent.actor_id.is_not(None),
    )
    type_labelled = or_(
        CaseFile.status.in_(_FINAL),
        CaseFile.tracker_id.is_not(None),
        _decided(type_kind),
        staff_changed_type,
    )
    statement = (
        select(
            CaseFile.id,
            CaseFile.description,
            CaseFile.claim_request,
            CaseFile.case_type,
            CaseFile.sector,
            CaseFile.company_id,
            CaseFile.status,
            _flag(type_labelled).label("type_labelled"),
            _flag(_decided(type_kind, corrected)).label("type_corrected"),
            _flag(_decided(sector_kind, corrected)).label("sector_corrected"),
        )
        .where(CaseFile.anonymised_at.is_(None), CaseFile.description != "")
        .order_by(CaseFile.id)
        .execution_options(yield_per=STREAM_ROWS)
    )
    data = core.TrainingSet(case_type=[], sector=[], past=[], documents=[])
    for row in db.session.execute(statement):
        text = case_text(row.description, row.claim_request)
        if not text:
            continue
        if row.type_labelled and row.case_type:
            weight = core.CORRECTION_WEIGHT if row.type_corrected else 1.0
            data.case_type.append(core.Example(text, row.case_type, weight))
        if row.sector:
            weight = core.CORRECTION_WEIGHT if row.sector_corrected else 1.0
            data.sector.append(core.Example(text, row.sector, weight))
        if row.status in _FINAL:
            data.past.append(core.PastCase(row.id, text, row.company_id))
    data.documents = _document_habits()
    return data


def _document_habits() -> list[core.CaseDocuments]:
    """The document categories of every finished case (one GROUP BY; a case without
    documents counts as a case that needed none)."""
    statement = (
        select(CaseFile.id, CaseFile.case_type, CaseFile.sector, CaseDocument.category)
        .select_from(CaseFile)
        .outerjoin(
            CaseDocument,
            and_(
                CaseDocument.case_id == CaseFile.id,
                CaseDocument.source.in_(_BROUGHT),
                CaseDocument.category.in_(ASKABLE_DOCUMENTS),
            ),
        )
        .where(CaseFile.status.in_(_FINAL), CaseFile.anonymised_at.is_(None))
        .group_by(CaseFile.id, CaseFile.case_type, CaseFile.sector, CaseDocument.category)
    )
    cases: dict[int, tuple[str, str]] = {}
    categories: dict[int, set[str]] = defaultdict(set)
    for case_id, case_type, sector, category in db.session.execute(statement):
        cases[case_id] = (case_type, sector or "")
        if category:
            categories[case_id].add(category)
    return [
        core.CaseDocuments(case_type, sector, frozenset(categories.get(case_id, ())))
        for case_id, (case_type, sector) in cases.items()
    ]


def company_aliases() -> list[KnownName]:
    """How cases write the companies they are linked to, when not as the registry does
    ("endesa" for "Endesa Energía, S.A.U."): the matcher learns these names too."""
    statement = (
        select(CaseFile.company, CaseFile.company_id)
        .join(Company, Company.id == CaseFile.company_id)
        .where(CaseFile.company != "", CaseFile.company != Company.name)
        .distinct()
    )
    return [
        KnownName(company_id, written)
        for written, company_id in db.session.execute(statement)
        if len(written.strip()) >= 2
    ]


# --- Training and storing a run ----------------------------------------------------------------


def train_and_store(*, now: datetime, trigger: str, actor: StaffUser | None = None) -> TriageModel:
    """Train on the service's cases now and store the run; older runs lose their bytes (their
    figures stay). COMMITS. On failure a "failed" run is stored with the error and the
    exception is raised again."""
    started = time.perf_counter()
    actor_id = actor.id if actor is not None else None
    try:
        data = training_set()
        models = core.train(
            data, min_examples=int(current_app.config.get("TRIAGE_MIN_EXAMPLES", 30))
        )
        artefact = core.dumps(models)
    except Exception as error:
        db.session.rollback()
        failed = TriageModel(
            trained_at=now,
            trigger=trigger,
            requested_by_id=actor_id,
            status="failed",
            error=f"{type(error).__name__}: {error}"[:2000],
            seconds=round(time.perf_counter() - started, 3),
            library_version=core.LIBRARY,
        )
        db.session.add(failed)
        db.session.commit()
        log.exception("triage training failed (run %s)", failed.id)
        raise
    evaluation = {
        "case_type": models.case_type_eval.to_dict() if models.case_type_eval else None,
        "sector": models.sector_eval.to_dict() if models.sector_eval else None,
    }
    run = TriageModel(
        trained_at=now,
        trigger=trigger,
        requested_by_id=actor_id,
        status="ready",
        type_examples=len(data.case_type),
        sector_examples=len(data.sector),
        indexed_cases=models.similar.size if models.similar is not None else 0,
        seconds=round(time.perf_counter() - started, 3),
        evaluation=_json(evaluation),
        library_version=models.library or core.LIBRARY,
        artefact=artefact,
        artefact_sha256=hashlib.sha256(artefact).hexdigest(),
    )
    db.session.add(run)
    db.session.flush()
    db.session.execute(
        update(TriageModel)
        .where(TriageModel.id != run.id, TriageModel.artefact.is_not(None))
        .values(artefact=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    log.info(
        "triage trained (run %s): %s type, %s sector examples, %s past cases, %.1f s",
        run.id,
        run.type_examples,
        run.sector_examples,
        run.indexed_cases,
        run.seconds,
    )
    return run


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# --- The newest model, once per process --------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    model_id: int
    trained_at: datetime
    models: core.Models
    matcher: CompanyMatcher
    #: company id -> the registry's name (the matcher may have matched an alias).
    company_names: dict[int, str] = field(default_factory=dict)


@dataclass
class _Cache:
    key: tuple | None = None  # (database, model id, sha256)
    models: core.Models | None = None
    trained_at: datetime | None = None
    registry: tuple | None = None  # (database, model key, count, max id, name lengths)
    matcher: CompanyMatcher | None = None
    company_names: dict[int, str] = field(default_factory=dict)
    loaded: Loaded | None = None


_cache = _Cache()
_lock = threading.Lock()


def loaded() -> Loaded | None:
    """The newest ready model with its bytes, or None (none trained, or it cannot be loaded:
    another library version or damaged bytes; a retrain fixes either, a warning is logged).

    Cached per process: one small query per call (per request) sees whether a newer model or
    a changed company registry exists; the bytes are read only when the model changed.
    """
    if has_request_context() and "triage_loaded" in g:
        return g.triage_loaded
    result = _load()
    if has_request_context():
        g.triage_loaded = result
    return result


def _load() -> Loaded | None:
    newest = (
        select(TriageModel.id, TriageModel.trained_at, TriageModel.artefact_sha256)
        .where(TriageModel.status == "ready", TriageModel.artefact.is_not(None))
        .order_by(TriageModel.trained_at.desc(), TriageModel.id.desc())
        .limit(1)
        .subquery()
    )
    registry = select(
        func.count(Company.id), func.max(Company.id), func.sum(func.length(Company.name))
    ).subquery()
    row = db.session.execute(
        select(
            newest.c.id,
            newest.c.trained_at,
            newest.c.artefact_sha256,
            registry.c[0],
            registry.c[1],
            registry.c[2],
        )
        .select_from(registry)
        .outerjoin(newest, newest.c.id.is_not(None))
    ).first()
    if row is None or row[0] is None:
        return None
    model_id, trained_at, sha256 = row[0], row[1], row[2]
    database = str(db.engine.url)
    key = (database, model_id, sha256)
    registry_key = (key, row[3], row[4], row[5])
    with _lock:
        if _cache.key != key:
            _cache.key = key
            _cache.models = _read_models(model_id, sha256)
            _cache.trained_at = trained_at
            _cache.registry = None
            _cache.loaded = None
        if _cache.models is None:
            return None
        if _cache.registry != registry_key:
            _cache.matcher, _cache.company_names = _build_matcher()
            _cache.registry = registry_key
            _cache.loaded = None
        if _cache.loaded is None:
            _cache.loaded = Loaded(
                model_id=model_id,
                trained_at=_cache.trained_at,
                models=_cache.models,
                matcher=_cache.matcher,
                company_names=_cache.company_names,
            )
        return _cache.loaded


def _read_models(model_id: int, sha256: str) -> core.Models | None:
    blob = db.session.scalar(select(TriageModel.artefact).where(TriageModel.id == model_id))
    if blob is None:
        return None
    blob = bytes(blob)
    if hashlib.sha256(blob).hexdigest() != sha256:
        log.warning("triage model %s: its bytes do not match their checksum; retrain", model_id)
        return None
    try:
        return core.loads(blob)
    except core.IncompatibleModel as error:
        log.warning("triage model %s cannot be loaded (%s); retrain", model_id, error)
        return None


def _build_matcher() -> tuple[CompanyMatcher, dict[int, str]]:
    names = {row[0]: row[1] for row in db.session.execute(select(Company.id, Company.name))}
    known = [KnownName(company_id, name) for company_id, name in names.items()]
    known += [alias for alias in company_aliases() if alias.company_id in names]
    return CompanyMatcher(known), names


def forget_loaded() -> None:
    """Drop the process's cached model (tests that swap databases, a CLI that retrained)."""
    with _lock:
        global _cache
        _cache = _Cache()
    if has_request_context():
        g.pop("triage_loaded", None)


# --- Suggestions of a text ---------------------------------------------------------------------


@dataclass(frozen=True)
class TextSuggestion:
    case_type: core.Guess | None
    sector: core.Guess | None
    company: CompanyGuess | None
    company_name: str | None
    documents: list[core.UsualDocument]


def _suggest(current: Loaded, text: str) -> TextSuggestion:
    models = current.models
    if not text.strip():
        return TextSuggestion(None, None, None, None, [])
    case_type = models.case_type.predict([text])[0] if models.case_type is not None else None
    sector = models.sector.predict([text])[0] if models.sector is not None else None
    company = current.matcher.match(text)
    name = current.company_names.get(company.company_id) if company is not None else None
    if company is not None and name is None:
        company = None
    documents = models.documents.usual(
        case_type.label if case_type else "", sector.label if sector else ""
    )
    return TextSuggestion(case_type, sector, company, name, list(documents))


def suggest_text(text: str) -> TextSuggestion | None:
    """The raw suggestion for one text (no quality threshold applied), or None without a model."""
    current = loaded()
    if current is None:
        return None
    return _suggest(current, text or "")


def shown_for_text(text: str) -> list[tuple[str, str, float]]:
    """The read-only suggestion of a text that is not a case yet (a booking's description):
    (the kind's label, what a person reads, confidence) of the type, sector and company that
    pass the quality and confidence thresholds; [] without a model."""
    current = loaded()
    if current is None or not (text or "").strip():
        return []
    found = _suggest(current, text)
    minimum = _min_confidence()
    shown = []
    for kind, guess in (
        (SuggestionKind.CASE_TYPE.value, found.case_type),
        (SuggestionKind.SECTOR.value, found.sector),
    ):
        if guess is not None and passes(current, kind) and guess.confidence >= minimum:
            shown.append((kind, value_label(kind, guess.label), guess.confidence))
    if found.company is not None and found.company_name and found.company.confidence >= minimum:
        shown.append((SuggestionKind.COMPANY.value, found.company_name, found.company.confidence))
    return [(str(SuggestionKind(kind).label), text, conf) for kind, text, conf in shown]


def passes(current: Loaded, kind: str) -> bool:
    """Whether the kind's model measured well enough to be shown (TRIAGE_MIN_ACCURACY)."""
    minimum = float(current_app.config.get("TRIAGE_MIN_ACCURACY", 0.75))
    models = current.models
    if kind == SuggestionKind.CASE_TYPE:
        evaluation, model = models.case_type_eval, models.case_type
    elif kind == SuggestionKind.SECTOR:
        evaluation, model = models.sector_eval, models.sector
    else:
        return True
    return model is not None and evaluation is not None and evaluation.accuracy >= minimum


def _min_confidence() -> float:
    return float(current_app.config.get("TRIAGE_MIN_CONFIDENCE", 0.5))


def _candidates(current: Loaded, case: CaseFile) -> dict[str, tuple[str, float]]:
    """kind -> (value, confidence) a person would be shown for this case now."""
    found = _suggest(current, case_text(case.description, case.claim_request))
    minimum = _min_confidence()
    shown: dict[str, tuple[str, float]] = {}
    type_shown = sector_shown = False
    if found.case_type and passes(current, SuggestionKind.CASE_TYPE):
        if found.case_type.confidence >= minimum:
            shown[SuggestionKind.CASE_TYPE.value] = (
                found.case_type.label,
                found.case_type.confidence,
            )
            type_shown = True
    if found.sector and passes(current, SuggestionKind.SECTOR):
        if found.sector.confidence >= minimum:
            shown[SuggestionKind.SECTOR.value] = (found.sector.label, found.sector.confidence)
            sector_shown = True
    if found.company is not None and found.company.confidence >= minimum:
        shown[SuggestionKind.COMPANY.value] = (
            str(found.company.company_id),
            found.company.confidence,
        )
    # The usual documents of the type and sector shown (or the case's own, which a person set
    # or will set): never of a guess too weak to be shown.
    case_type = found.case_type.label if type_shown else case.case_type
    sector = found.sector.label if sector_shown else case.sector
    confidence = found.case_type.confidence if type_shown else 1.0
    if case.status != CaseStatus.DOCUMENTACIO and confidence >= minimum:
        usual = [d.category for d in current.models.documents.usual(case_type, sector or "")]
        usual = [category for category in usual if category in ASKABLE_DOCUMENTS]
        if usual:
            shown[SuggestionKind.DOCUMENTS.value] = (",".join(usual), confidence)
    return shown


# --- Suggestions of a case (stored once) -------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """One suggestion as the case page shows it."""

    id: int
    kind: str
    kind_label: str
    value: str  # a type or sector code, a company id, document categories joined by commas
    label: str  # what a person reads: the type, the sector's name, the company's name...
    confidence: float
    current: str  # the case's value of that kind now ("" when none)
    current_label: str
    documents: tuple[tuple[str, str], ...] = ()  # (category, label) of a documents suggestion


def _stored(case_id: int) -> list[TriageSuggestion]:
    return list(
        db.session.scalars(select(TriageSuggestion).where(TriageSuggestion.case_id == case_id))
    )


def shows_suggestions(case: CaseFile) -> bool:
    """Whether a case may have suggestions at all: neither anonymised nor finished."""
    return case.anonymised_at is None and case.status not in _FINAL


def suggestions_for_case(case: CaseFile, *, now: datetime) -> list[Suggestion]:
    """The visible, undecided suggestions of a case; written the first time (COMMITS then,
    without expiring what the page has loaded)."""
    if not shows_suggestions(case):
        return []
    current = loaded()
    if current is None:
        return []
    rows = _stored(case.id)
    have = {row.kind for row in rows}
    if any(kind not in have for kind in KINDS):
        missing = {
            kind: found for kind, found in _candidates(current, case).items() if kind not in have
        }
        if missing:
            _store(case.id, current.model_id, missing, now)
            rows = _stored(case.id)
    minimum = _min_confidence()
    visible = [
        row
        for row in rows
        if not row.decision and row.confidence >= minimum and passes(current, row.kind)
    ]
    visible.sort(key=lambda row: KINDS.index(row.kind))
    return [_shown(row, case, current) for row in visible]


def _store(case_id: int, model_id: int, found: dict[str, tuple[str, float]], now: datetime) -> None:
    values = [
        {
            "case_id": case_id,
            "model_id": model_id,
            "kind": kind,
            "value": value[:200],
            "confidence": round(float(confidence), 4),
            "created_at": now,
            "decision": "",
            "final_value": "",
        }
        for kind, (value, confidence) in found.items()
    ]
    # One INSERT ... ON CONFLICT DO NOTHING for every kind (as casefiles.service._insert_ignore,
    # with several rows): two first views at once store one row per kind.
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(TriageSuggestion).values(values).on_conflict_do_nothing())
    commit_keeping_loaded()


def _language() -> str:
    return locale_name().split("_")[0]


def value_label(kind: str, value: str, company_names: dict[int, str] | None = None) -> str:
    """How a person reads a suggestion's value."""
    if not value:
        return ""
    if kind == SuggestionKind.CASE_TYPE:
        return str(labels.CASE_TYPES.get(value, value))
    if kind == SuggestionKind.SECTOR:
        return sector_name(value, _language())
    if kind == SuggestionKind.COMPANY:
        names = company_names or {}
        try:
            return names.get(int(value)) or value
        except ValueError:
            return value
    return ", ".join(str(labels.DOCUMENT_CATEGORIES.get(c, c)) for c in value.split(",") if c)


def _current_value(case: CaseFile, kind: str) -> str:
    if kind == SuggestionKind.CASE_TYPE:
        return case.case_type or ""
    if kind == SuggestionKind.SECTOR:
        return case.sector or ""
    if kind == SuggestionKind.COMPANY:
        return str(case.company_id) if case.company_id else ""
    return ""


def _shown(row: TriageSuggestion, case: CaseFile, current: Loaded) -> Suggestion:
    kind = row.kind
    now_value = _current_value(case, kind)
    if kind == SuggestionKind.COMPANY and case.company_id is None:
        now_label = case.company or ""
    else:
        now_label = value_label(kind, now_value, current.company_names)
    documents = ()
    if kind == SuggestionKind.DOCUMENTS:
        documents = tuple(
            (c, str(labels.DOCUMENT_CATEGORIES.get(c, c))) for c in row.value.split(",") if c
        )
    return Suggestion(
        id=row.id,
        kind=kind,
        kind_label=str(SuggestionKind(kind).label),
        value=row.value,
        label=value_label(kind, row.value, current.company_names),
        confidence=row.confidence,
        current=now_value,
        current_label=now_label,
        documents=documents,
    )


def choices(kind: str) -> list[tuple[str, str]]:
    """The values a person may pick when correcting a type, sector or documents suggestion."""
    if kind == SuggestionKind.CASE_TYPE:
        return [(code.value, str(text)) for code, text in labels.CASE_TYPES.items()]
    if kind == SuggestionKind.SECTOR:
        language = _language()
        return [(code, names.get(language, names["ca"])) for code, names in sectors().items()]
    if kind == SuggestionKind.DOCUMENTS:
        return [(code, str(labels.DOCUMENT_CATEGORIES[code])) for code in ASKABLE_DOCUMENTS]
    return []


# --- A person's decision ----------------------------------------------------------------------


def _undecided(case: CaseFile, kind: str) -> TriageSuggestion | None:
    return db.session.scalar(
        select(TriageSuggestion).where(
            TriageSuggestion.case_id == case.id, TriageSuggestion.kind == kind
        )
    )


def _company_for(value: str, sector: str) -> Company:
    """The registry's company a correction names: its id (the accept button), or a name typed
    as in the case form (looked up, added to the registry when new)."""
    value = clean(value or "")
    if not value:
        raise BadValue(_("Escriviu el nom de l'empresa"))
    if value.isdigit():
        company = db.session.get(Company, int(value))
        if company is None:
            raise BadValue(_("Aquesta empresa no és al registre"))
        return company
    exact = db.session.scalar(select(Company).where(Company.name == value).limit(1))
    return exact or find_or_create(value, sector=sector or "")


def _check(kind: str, value: str) -> str:
    """The value as stored, or BadValue with the message shown beside the field."""
    value = (value or "").strip()
    if kind == SuggestionKind.CASE_TYPE:
        if value not in labels.CASE_TYPES:
            raise BadValue(_("Trieu un tipus de la llista"))
    elif kind == SuggestionKind.SECTOR:
        if value not in sectors():
            raise BadValue(_("Trieu un sector de la llista"))
    elif kind == SuggestionKind.DOCUMENTS:
        chosen = [c.strip() for c in value.split(",") if c.strip()]
        if not chosen or any(c not in ASKABLE_DOCUMENTS for c in chosen):
            raise BadValue(_("Trieu almenys un document de la llista"))
        value = ",".join(c for c in ASKABLE_DOCUMENTS if c in chosen)
    return value


def decide(
    case: CaseFile,
    kind: str,
    value: str,
    *,
    actor: StaffUser,
    now: datetime,
    expected_version: int,
) -> TriageSuggestion:
    """Apply what a person chose for a suggestion and record it: "accepted" when it is the
    suggested value, "corrected" otherwise. The caller commits.

    Raises LookupError (no suggestion of that kind), AlreadyDecided, BadValue (not a value of
    the kind) or StaleCase (the case changed since the page was drawn).
    """
    suggestion = _undecided(case, kind)
    if suggestion is None:
        raise LookupError(kind)
    if suggestion.decision:
        raise AlreadyDecided(kind)
    final = _check(kind, value)
    if kind == SuggestionKind.COMPANY:
        company = _company_for(final, case.sector)
        final = str(company.id)
        update_case(
            case,
            {"company": company.name},
            actor=actor,
            expected_version=expected_version,
            now=now,
        )
        case.company_id = company.id  # as the case form's _link
    elif kind in (SuggestionKind.CASE_TYPE, SuggestionKind.SECTOR):
        update_case(case, {kind: final}, actor=actor, expected_version=expected_version, now=now)
    elif case.version != expected_version:
        raise StaleCase(case)
    _record(suggestion, final, actor, now)
    db.session.flush()
    return suggestion


def _record(suggestion: TriageSuggestion, final: str, actor: StaffUser | None, now) -> None:
    same = final == suggestion.value
    if suggestion.kind == SuggestionKind.DOCUMENTS:
        same = set(final.split(",")) == set(suggestion.value.split(","))
    suggestion.decision = (
        SuggestionDecision.ACCEPTED.value if same else SuggestionDecision.CORRECTED.value
    )
    suggestion.final_value = final[:200]
    suggestion.decided_at = now
    suggestion.decided_by_id = actor.id if actor is not None else None


def note_edits(case: CaseFile, events, *, actor: StaffUser | None, now: datetime) -> int:
    """The case form changed a suggested field: record the undecided suggestion of that kind
    as accepted or corrected (the caller commits). Returns how many were recorded."""
    fields = {event.field for event in events if getattr(event, "kind", "") == "change"}
    kinds = [kind for kind in KINDS[:3] if kind in fields]
    if not kinds:
        return 0
    rows = db.session.scalars(
        select(TriageSuggestion).where(
            TriageSuggestion.case_id == case.id,
            TriageSuggestion.kind.in_(kinds),
            TriageSuggestion.decision == "",
        )
    )
    count = 0
    for row in rows:
        final = _current_value(case, row.kind)
        if not final:
            continue
        _record(row, final, actor, now)
        count += 1
    return count


def documents_request_text(categories) -> str:
    """The "what we ask for" of a documents request naming ``categories`` (known ones only),
    in the service's language, as a technician would write it in the status detail."""
    chosen = [c for c in ASKABLE_DOCUMENTS if c in set(categories or ())]
    if not chosen:
        return ""
    names = ", ".join(str(labels.DOCUMENT_CATEGORIES[c]).lower() for c in chosen)
    return _("Envieu-nos: %(documents)s.", documents=names)


# --- Similar past cases ------------------------------------------------------------------------


@dataclass(frozen=True)
class SimilarCase:
    case_id: int
    number: str
    requested_at: datetime
    case_type: str
    sector: str
    company: str
    status: str
    outcome: str
    amount_recovered: Decimal | None
    mediation_outcome: str
    resolution: str  # the status detail, shortened
    score: float


def _shorten(text: str, limit: int = 160) -> str:
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def similar_cases(case: CaseFile, *, k: int = 5) -> list[SimilarCase]:
    """The ``k`` finished cases most like this one (text and company), best first: one query
    for them once the index (in memory) has named them."""
    if case.anonymised_at is not None:
        return []
    current = loaded()
    if current is None or current.models.similar is None:
        return []
    text = case_text(case.description, case.claim_request)
    if not text:
        return []
    # The case's company, or the one its text names while nobody has recorded it yet: a case
    # of the same company ranks higher either way.
    company_id = case.company_id
    if company_id is None:
        named = current.matcher.match(text)
        company_id = named.company_id if named is not None else None
    found = current.models.similar.nearest(text, company_id, k=k + 3, exclude=(case.id,))
    if not found:
        return []
    scores = dict(found)
    rows = db.session.execute(
        select(
            CaseFile.id,
            CaseFile.number,
            CaseFile.requested_at,
            CaseFile.case_type,
            CaseFile.sector,
            func.coalesce(Company.name, CaseFile.company),
            CaseFile.status,
            CaseFile.outcome,
            CaseFile.amount_recovered,
            Mediation.outcome,
            CaseFile.status_detail,
        )
        .outerjoin(Company, Company.id == CaseFile.company_id)
        .outerjoin(Mediation, Mediation.case_id == CaseFile.id)
        .where(
            CaseFile.id.in_(list(scores)),
            CaseFile.id != case.id,
            CaseFile.anonymised_at.is_(None),
        )
    ).all()
    similar = [
        SimilarCase(
            case_id=row[0],
            number=row[1],
            requested_at=row[2],
            case_type=row[3],
            sector=row[4] or "",
            company=row[5] or "",
            status=row[6],
            outcome=row[7] or "",
            amount_recovered=row[8],
            mediation_outcome=row[9] or "",
            resolution=_shorten(row[10]),
            score=scores[row[0]],
        )
        for row in rows
    ]
    similar.sort(key=lambda item: -item.score)
    return similar[:k]
