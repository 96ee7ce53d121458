"""The towns a technician serves.

A technician with no row here serves every town that can book (the default: the whole team
serves the whole province). With rows, they are offered only for bookings from those towns:
``umic.booking.service.load_availability`` leaves their hours out for any other town, so the
free times, the choice of technician and the claims all follow. Coordinators edit the list at
``/admin/tecnics/<id>/municipis`` (``umic.admin.staff``).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..extensions import db


class StaffTown(db.Model):
    """One town one technician serves (no rows for a technician: every town)."""

    __tablename__ = "staff_town"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True
    )
    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipality.id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (Index("ix_staff_town_municipality_id", "municipality_id"),)

    @classmethod
    def serves(cls, staff_id, municipality_id: int) -> ColumnElement[bool]:
        """SQL: the technician ``staff_id`` (a column) serves the town: they have no towns
        listed (all of them), or this one is listed. One condition inside the caller's query,
        so filtering by town adds no query."""
        # correlate_except: the person and the town come from the enclosing queries, however
        # deep this condition sits in them.
        return or_(
            ~exists().where(cls.staff_id == staff_id).correlate_except(cls),
            exists()
            .where(and_(cls.staff_id == staff_id, cls.municipality_id == municipality_id))
            .correlate_except(cls),
        )
