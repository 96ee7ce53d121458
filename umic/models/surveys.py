"""The satisfaction survey's answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from .. import clock
from ..core.codes import Resolved
from ..core.codes import values
from ..extensions import db
from .core import Booking
from .core import Municipality
from .types import UTCDateTime


class SurveyResponse(db.Model):
    """One citizen's answer to the satisfaction survey of one appointment.

    The technician and the town are copied from the booking, so results can be grouped
    without joining and stay right if the booking is later reassigned or erased.
    """

    __tablename__ = "survey_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("booking.id", ondelete="SET NULL"), unique=True
    )
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    attention: Mapped[int] = mapped_column(Integer)  # Valoració de l'atenció rebuda, 0-10
    competence: Mapped[int] = mapped_column(Integer)  # Valoració de la competència del tècnic
    resolved: Mapped[str] = mapped_column(String(12))
    comment: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(5), default="ca")
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    booking: Mapped[Booking | None] = relationship()
    municipality: Mapped[Municipality | None] = relationship()

    __table_args__ = (
        CheckConstraint("attention BETWEEN 0 AND 10", name="attention_range"),
        CheckConstraint("competence BETWEEN 0 AND 10", name="competence_range"),
        CheckConstraint(f"resolved IN ({values(Resolved)})", name="resolved_known"),
        Index("ix_survey_response_answered_at", "answered_at"),
        Index("ix_survey_response_technician_id", "technician_id"),
        Index("ix_survey_response_municipality_id", "municipality_id"),
    )
