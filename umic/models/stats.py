"""Satisfaction surveys and the counts of requests made before the app existed."""

from __future__ import annotations

import enum
from datetime import date
from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from .. import clock
from ..extensions import db
from .cases import Channel
from .core import Booking
from .core import Municipality
from .types import UTCDateTime


class Resolved(enum.StrEnum):
    """S'ha resolt la consulta?"""

    FULLY = "totalment"  # Sí, totalment
    PARTLY = "parcialment"  # Sí, parcialment
    NO = "no"


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
        CheckConstraint("resolved IN ('totalment', 'parcialment', 'no')", name="resolved_known"),
        Index("ix_survey_response_answered_at", "answered_at"),
        Index("ix_survey_response_technician_id", "technician_id"),
        Index("ix_survey_response_municipality_id", "municipality_id"),
    )


class ChannelCount(db.Model):
    """Requests of one town through one channel in one month, entered by hand.

    For the months before the app existed (and for channels handled outside it); the
    statistics add these to what the app records itself.
    """

    __tablename__ = "channel_count"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)  # always the first day of the month
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    channel: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    municipality: Mapped[Municipality] = relationship()

    __table_args__ = (
        UniqueConstraint("month", "municipality_id", "channel"),
        CheckConstraint("count >= 0", name="count_positive"),
        CheckConstraint(
            f"channel IN ({', '.join(repr(c.value) for c in Channel)})", name="channel_known"
        ),
        Index("ix_channel_count_month", "month"),
        Index("ix_channel_count_municipality_id", "municipality_id"),
    )
