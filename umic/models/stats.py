"""The counts of requests made before the app existed (or through channels handled outside it)."""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from .. import clock
from ..core.codes import Channel
from ..core.codes import values
from ..extensions import db
from .core import Municipality
from .types import UTCDateTime


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
        CheckConstraint(f"channel IN ({values(Channel)})", name="channel_known"),
        Index("ix_channel_count_month", "month"),
        Index("ix_channel_count_municipality_id", "municipality_id"),
    )
