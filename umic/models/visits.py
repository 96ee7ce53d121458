"""The mobile unit's (UMIC) visits to towns, planned by coordinators.

A visit is one technician in one town for a time window at a place (the van on the market
square, a room of the town hall). Citizens may ask for a time at it (an in-person
``Booking`` with ``visit_id``, claiming the technician's time like a video call, so the
same unique constraint forbids double booking) or just come; the people seen are recorded
as case files with channel "umic" and ``visit_id``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean
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
from ..core.codes import VisitStatus
from ..core.codes import values
from ..extensions import db
from .core import Municipality
from .core import StaffUser
from .types import UTCDateTime

#: The length of an in-person appointment at a visit when the coordinator does not say.
DEFAULT_VISIT_SLOT_MINUTES = 20


class UmicVisit(db.Model):
    """One visit of the mobile unit: town, technician, time window (UTC), place."""

    __tablename__ = "umic_visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    start_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    end_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200))
    # How to find it ("the green van beside the market"); shown to citizens.
    place_details: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The length of one in-person appointment, and the step between their start times.
    slot_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_VISIT_SLOT_MINUTES)
    # False: citizens just come (no times offered online).
    bookable: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), default=VisitStatus.PLANNED)
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")  # staff only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    municipality: Mapped[Municipality] = relationship()
    technician: Mapped[StaffUser] = relationship(foreign_keys=[technician_id])
    created_by: Mapped[StaffUser | None] = relationship(foreign_keys=[created_by_id])

    __table_args__ = (
        CheckConstraint("start_utc < end_utc", name="start_before_end"),
        CheckConstraint("slot_minutes > 0 AND slot_minutes % 5 = 0", name="slot_in_5_minutes"),
        CheckConstraint(f"status IN ({values(VisitStatus)})", name="status_known"),
        Index("ix_umic_visit_start_utc", "start_utc"),
        Index("ix_umic_visit_municipality_id_start_utc", "municipality_id", "start_utc"),
        Index("ix_umic_visit_technician_id_start_utc", "technician_id", "start_utc"),
    )

    @property
    def is_cancelled(self) -> bool:
        return self.status == VisitStatus.CANCELLED

    def __repr__(self) -> str:
        return f"<UmicVisit {self.id} town={self.municipality_id} {self.start_utc:%Y-%m-%d %H:%M}>"
