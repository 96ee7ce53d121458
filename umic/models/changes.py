"""The history of staff changes to a booking: who moved it, when, from what to what.

One row per staff move (``umic.booking.service.staff_move``). ``override_hours`` says that
the new time was outside the opening hours (or on a closed day) and a member of staff chose
it anyway: only the no-double-booking claims applied then, and this row is the record of
who decided it. ``reason`` is the text the citizen read in their e-mail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from .. import clock
from ..extensions import db
from .core import Booking
from .core import StaffUser
from .types import UTCDateTime


class BookingChange(db.Model):
    """One staff move of a booking (time and/or technician)."""

    __tablename__ = "booking_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Who made the change; None once that account is deleted.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    previous_start_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    previous_technician_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    start_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    technician_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    # The time was chosen outside the opening hours (staff override).
    override_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the citizen was told (may name nobody but the citizen: erased with the booking).
    reason: Mapped[str] = mapped_column(Text, default="")

    booking: Mapped[Booking] = relationship()
    actor: Mapped[StaffUser | None] = relationship(foreign_keys=[actor_id])

    __table_args__ = (Index("ix_booking_change_booking_id", "booking_id"),)
