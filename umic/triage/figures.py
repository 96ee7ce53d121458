"""What the coordinators' figures page (/admin/triatge/) shows: how good the triage models are,
measured honestly, and how often technicians accepted their suggestions.

Everything comes from four small queries, whatever the number of runs, cases or suggestions:

1. the last :data:`HISTORY` training runs (any status), with the name of whoever asked for
   each (the artefact column is deferred: the models' bytes are never read here);
2. the newest *ready* run, only when none of those is ready (a long series of failures);
3. the suggestions counted per kind and decision (one GROUP BY on the index
   ``ix_triage_suggestion_kind_decision``);
4. the shared state row: a training asked for (by whom, when) or running.

**What the quality figures mean.** Each model's evaluation (``TriageModel.evaluation``, JSON
written by umic.triage.service from ``core.triage.evaluate``) was measured on cases the model
was *not* trained on: 5-fold cross-validation (each case predicted by a model trained on the
other four fifths) up to 20,000 examples, a stratified 20 % held-out split above that. Accuracy
is the share of those predictions that were right; for a class (a case type, a sector),
precision is the share of the cases predicted as that class that really were, and recall the
share of the cases of that class that were found. A model below ``TRIAGE_MIN_ACCURACY`` shows
no suggestions at all (umic.triage.service applies it; the page says so).

**What the acceptance figures mean.** Each ``TriageSuggestion`` row is one suggestion the
models showed for one case, stored once, when the case page first showed it (suggestions below
the thresholds are neither shown nor stored: umic.triage.service). Accepted and corrected are
what a person did with it (the case page's buttons, or the case form changing that field);
undecided ones were never acted on. The acceptance rate is accepted / (accepted + corrected):
undecided suggestions are left out, nobody judged them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from babel import Locale
from flask import current_app
from flask_babel import format_percent
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from ..casefiles.labels import CASE_TYPES
from ..casefiles.sectors import sector_name
from ..core.codes import SuggestionDecision
from ..core.codes import SuggestionKind
from ..core.triage import Evaluation
from ..extensions import db
from ..models import StaffUser
from ..models import TriageModel
from ..models import TriageState
from ..models import TriageSuggestion
from ..web.i18n import locale_name

#: How many training runs the history lists.
HISTORY = 12
#: The two models with an evaluation, in the page's order.
MODEL_KINDS = (SuggestionKind.CASE_TYPE, SuggestionKind.SECTOR)


@dataclass(frozen=True)
class ClassRow:
    """One class (a case type, a sector) of a model's evaluation."""

    code: str
    label: str
    precision: float
    recall: float
    support: int


@dataclass(frozen=True)
class ModelQuality:
    """One model's measured quality, as the page words it."""

    kind: str  # SuggestionKind: case_type or sector
    evaluation: Evaluation
    method: str  # "validació creuada en 5 parts", "20 % de casos reservats"
    passes: bool  # accuracy >= TRIAGE_MIN_ACCURACY: its suggestions are shown
    classes: list[ClassRow]
    dropped: list[str]  # labels of classes with too few examples to learn (never proposed)

    @property
    def accuracy(self) -> float:
        return self.evaluation.accuracy


@dataclass(frozen=True)
class Run:
    """One training run (a TriageModel row without its bytes)."""

    id: int
    trained_at: datetime
    trigger: str
    requested_by: str | None
    status: str
    error: str
    seconds: float
    type_examples: int
    sector_examples: int
    indexed_cases: int
    case_type: ModelQuality | None
    sector: ModelQuality | None

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    @property
    def models(self) -> list[ModelQuality]:
        return [m for m in (self.case_type, self.sector) if m is not None]


@dataclass(frozen=True)
class Acceptance:
    """What technicians did with one kind of suggestion."""

    kind: str
    shown: int
    accepted: int
    corrected: int

    @property
    def undecided(self) -> int:
        return self.shown - self.accepted - self.corrected

    @property
    def rate(self) -> float | None:
        """accepted / (accepted + corrected); None when nobody has decided any."""
        decided = self.accepted + self.corrected
        return self.accepted / decided if decided else None


@dataclass(frozen=True)
class State:
    """The workers' shared state: a training asked for, one running."""

    requested_at: datetime | None = None
    requested_by: str | None = None
    running_since: datetime | None = None


@dataclass(frozen=True)
class Figures:
    newest: Run | None  # the newest run, whatever its status
    ready: Run | None  # the newest ready run: the one making suggestions
    history: list[Run]  # the last HISTORY runs, newest first
    acceptance: list[Acceptance]  # one per SuggestionKind, in its order
    state: State
    min_accuracy: float

    @property
    def newest_failed(self) -> bool:
        """The newest run failed (the suggestions still come from an older one, if any)."""
        return self.newest is not None and not self.newest.ready


# --- Words -----------------------------------------------------------------------------------


def percent(value: float | None) -> str:
    """'87,5 %' (Babel, the reader's locale, one decimal); empty when undefined."""
    if value is None:
        return ""
    return format_percent(value, format=_one_decimal(locale_name()))


@lru_cache
def _one_decimal(locale: str) -> str:
    """The locale's percent pattern with one decimal: "#,##0.0 %" (a no-break space in
    Catalan and Spanish, none in English)."""
    pattern = Locale.parse(locale).percent_formats[None].pattern
    head, zero, tail = pattern.rpartition("0")
    return f"{head}{zero}.0{tail}" if zero else "#,##0.0%"


def method_text(evaluation: Evaluation) -> str:
    """How the figures were measured, in words."""
    if evaluation.method == "cross-validation":
        return _("validació creuada en %(folds)s parts", folds=evaluation.folds)
    share = evaluation.evaluated / evaluation.examples if evaluation.examples else 0
    return _("%(share)s de casos reservats", share=format_percent(share))


def trigger_text(trigger: str) -> str:
    return {
        "command": _("Ordre (flask triage train)"),
        "schedule": _("Programat"),
        "request": _("A petició"),
    }.get(trigger, trigger)


def status_text(status: str) -> str:
    return {"ready": _("Correcte"), "failed": _("Fallit")}.get(status, status)


def model_text(kind: str) -> str:
    """The heading of one model's figures."""
    return {
        SuggestionKind.CASE_TYPE.value: _("Model del tipus de cas"),
        SuggestionKind.SECTOR.value: _("Model del sector"),
    }.get(kind, kind)


def kind_text(kind: str) -> str:
    return _(SuggestionKind(kind).label) if kind in set(SuggestionKind) else kind


def _class_label(kind: str, code: str) -> str:
    if kind == SuggestionKind.CASE_TYPE:
        label = CASE_TYPES.get(code)
        return str(label) if label is not None else code
    return sector_name(code, locale_name().split("_")[0])


# --- Reading ---------------------------------------------------------------------------------


def _evaluations(text: str) -> dict[str, Evaluation]:
    """The run's evaluations by kind; what cannot be read is left out (never a 500)."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    found = {}
    for kind in MODEL_KINDS:
        part = data.get(kind.value) if isinstance(data, dict) else None
        if not part:
            continue
        try:
            found[kind.value] = Evaluation.from_dict(part)
        except (KeyError, TypeError, ValueError):
            continue
    return found


def _quality(kind: str, evaluation: Evaluation | None, minimum: float) -> ModelQuality | None:
    if evaluation is None:
        return None
    classes = [
        ClassRow(c.label, _class_label(kind, c.label), c.precision, c.recall, c.support)
        for c in evaluation.classes
    ]
    return ModelQuality(
        kind=kind,
        evaluation=evaluation,
        method=method_text(evaluation),
        passes=evaluation.accuracy >= minimum,
        classes=classes,
        dropped=[_class_label(kind, code) for code in evaluation.dropped],
    )


def _run(row: TriageModel, requested_by: str | None, minimum: float) -> Run:
    evaluations = _evaluations(row.evaluation)
    return Run(
        id=row.id,
        trained_at=row.trained_at,
        trigger=row.trigger,
        requested_by=requested_by,
        status=row.status,
        error=row.error or "",
        seconds=row.seconds or 0.0,
        type_examples=row.type_examples or 0,
        sector_examples=row.sector_examples or 0,
        indexed_cases=row.indexed_cases or 0,
        case_type=_quality(
            SuggestionKind.CASE_TYPE, evaluations.get(SuggestionKind.CASE_TYPE.value), minimum
        ),
        sector=_quality(
            SuggestionKind.SECTOR, evaluations.get(SuggestionKind.SECTOR.value), minimum
        ),
    )


def _runs(query, minimum: float) -> list[Run]:
    query = query.add_columns(StaffUser.name).outerjoin(
        StaffUser, StaffUser.id == TriageModel.requested_by_id
    )
    return [_run(row, name, minimum) for row, name in db.session.execute(query).all()]


def figures() -> Figures:
    """Everything the figures page shows, in at most four queries."""
    minimum = current_app.config["TRIAGE_MIN_ACCURACY"]
    newest_first = (TriageModel.trained_at.desc(), TriageModel.id.desc())
    history = _runs(select(TriageModel).order_by(*newest_first).limit(HISTORY), minimum)
    ready = next((run for run in history if run.ready), None)
    if ready is None and history:
        older = _runs(
            select(TriageModel)
            .where(TriageModel.status == "ready")
            .order_by(*newest_first)
            .limit(1),
            minimum,
        )
        ready = older[0] if older else None

    counts: dict[str, dict[str, int]] = {}
    for kind, decision, count in db.session.execute(
        select(TriageSuggestion.kind, TriageSuggestion.decision, func.count()).group_by(
            TriageSuggestion.kind, TriageSuggestion.decision
        )
    ).all():
        counts.setdefault(kind, {})[decision or ""] = count
    acceptance = [
        Acceptance(
            kind=kind.value,
            shown=sum(counts.get(kind.value, {}).values()),
            accepted=counts.get(kind.value, {}).get(SuggestionDecision.ACCEPTED.value, 0),
            corrected=counts.get(kind.value, {}).get(SuggestionDecision.CORRECTED.value, 0),
        )
        for kind in SuggestionKind
    ]

    state_row = db.session.execute(
        select(TriageState.requested_at, StaffUser.name, TriageState.running_since)
        .outerjoin(StaffUser, StaffUser.id == TriageState.requested_by_id)
        .where(TriageState.id == 1)
    ).first()
    state = State(*state_row) if state_row else State()

    return Figures(
        newest=history[0] if history else None,
        ready=ready,
        history=history,
        acceptance=acceptance,
        state=state,
        min_accuracy=minimum,
    )
