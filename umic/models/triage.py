"""The triage models the service trains on its own cases, their suggestions, and the optional
language model's log.

- ``triage_model``: one training run: when, on how many cases, how long it took, how good the
  models measured on cases they were not trained on (``evaluation``, JSON), and the trained
  models themselves (``artefact``, kept for the newest ready run only: older runs keep their
  figures, their bytes are dropped).
- ``triage_state``: one row (id 1) that tells the workers when training was last asked for and
  which worker is training now, so two workers never train at once.
- ``triage_suggestion``: what the models proposed for a case (type, sector, company, usual
  documents), with its confidence, and what a person did with it: accepted or corrected, by
  whom and when. Acceptance figures are counted from these rows.
- ``assist_use``: every call to the optional language model (umic.assist): who, for which case,
  what for, to which host and model, how many characters were sent and how many personal
  details were removed first, how long it took and whether it worked. Never the text itself.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from .. import clock
from ..core.codes import AssistPurpose
from ..core.codes import SuggestionDecision
from ..core.codes import SuggestionKind
from ..core.codes import values
from ..extensions import db
from .core import StaffUser
from .types import UTCDateTime


class TriageModel(db.Model):
    """One training run of the triage models (umic.triage)."""

    __tablename__ = "triage_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # "command" (flask triage train), "schedule" (the worker), "request" (a coordinator's button)
    trigger: Mapped[str] = mapped_column(String(20), default="command")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    status: Mapped[str] = mapped_column(String(10), default="ready")  # ready | failed
    error: Mapped[str] = mapped_column(Text, default="")
    # Labelled cases each model was trained on; finished cases in the similar-cases index.
    type_examples: Mapped[int] = mapped_column(Integer, default=0)
    sector_examples: Mapped[int] = mapped_column(Integer, default=0)
    indexed_cases: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # The measured quality (JSON: method, sizes, accuracy, per-class precision and recall).
    evaluation: Mapped[str] = mapped_column(Text, default="{}")
    # The library that trained it (a model is not loaded by another version: it is retrained).
    library_version: Mapped[str] = mapped_column(String(40), default="")
    artefact: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    artefact_sha256: Mapped[str] = mapped_column(String(64), default="")

    requested_by: Mapped[StaffUser | None] = relationship()

    __table_args__ = (
        CheckConstraint("status IN ('ready', 'failed')", name="status_known"),
        Index("ix_triage_model_trained_at", "trained_at"),
    )


class TriageState(db.Model):
    """The one row (id 1) the workers share: a training asked for, and one running."""

    __tablename__ = "triage_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    running_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    running_by: Mapped[str] = mapped_column(String(120), default="")


class TriageSuggestion(db.Model):
    """A suggestion the models made for a case, and what a person did with it."""

    __tablename__ = "triage_suggestion"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("triage_model.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    # A case type or sector code, a company id, or document categories joined by commas.
    value: Mapped[str] = mapped_column(String(200), default="")
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    decision: Mapped[str] = mapped_column(String(10), default="", server_default="")
    final_value: Mapped[str] = mapped_column(String(200), default="", server_default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    decided_by: Mapped[StaffUser | None] = relationship()

    __table_args__ = (
        UniqueConstraint("case_id", "kind"),
        CheckConstraint(f"kind IN ({values(SuggestionKind)})", name="kind_known"),
        CheckConstraint(f"decision IN ({values(SuggestionDecision, '')})", name="decision_known"),
        # The figures page counts decisions per kind.
        Index("ix_triage_suggestion_kind_decision", "kind", "decision"),
        Index("ix_triage_suggestion_model_id", "model_id"),
    )


class AssistUse(db.Model):
    """One call to the optional language model (umic.assist): the facts, never the text."""

    __tablename__ = "assist_use"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id", ondelete="SET NULL"))
    purpose: Mapped[str] = mapped_column(String(20))
    host: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str] = mapped_column(String(120), default="")
    chars_sent: Mapped[int] = mapped_column(Integer, default=0)
    redactions: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    ok: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str] = mapped_column(String(200), default="")

    actor: Mapped[StaffUser | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"purpose IN ({values(AssistPurpose)})", name="purpose_known"),
        Index("ix_assist_use_at", "at"),
        Index("ix_assist_use_case_id", "case_id"),
    )
