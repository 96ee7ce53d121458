"""What the booking's abuse defences count across processes (umic.booking.abuse).

Neither table holds personal data: a refusal is a reason and a moment; an alert is a reason
and when coordinators were last told about it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from .. import clock
from ..extensions import db
from .types import UTCDateTime


class BookingRefusal(db.Model):
    """A booking refused by a cap (``reason``: active, email_day, network_day); kept a day."""

    __tablename__ = "booking_refusal"

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __table_args__ = (Index("ix_booking_refusal_created_at", "created_at"),)


class BookingAlert(db.Model):
    """When coordinators were last alerted for ``reason``: at most one e-mail an hour each."""

    __tablename__ = "booking_alert"

    reason: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
