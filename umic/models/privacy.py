"""The log of what coordinators did with one person's data: find, export, erase.

Every search for a person, every export of their data and every erasure writes one row
(``umic.privacy.subjects``), whoever did it: a coordinator on ``/admin/privacitat/`` or a
command (``flask privacy find|export|erase``, actor "cli"). The log itself holds no citizen
data in clear: the address or number searched is kept as a keyed hash (``term_digest``, to
tell that the same person was searched again) and a mask that names nobody (``r…@e…``); the
reason for an erasure is stored with the person's identifiers taken out.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from .. import clock
from ..core.codes import values
from ..extensions import db
from .core import StaffUser
from .types import UTCDateTime


class PrivacyAction(enum.StrEnum):
    FIND = "find"  # a search: what is held about one address or number (GDPR art. 15)
    EXPORT = "export"  # the download of all of it (art. 15 and 20)
    ERASE = "erase"  # deleted or anonymised (art. 17)


class PrivacyAudit(db.Model):
    """One find, export or erasure about one person, by whom and when, with its counts."""

    __tablename__ = "privacy_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    action: Mapped[str] = mapped_column(String(10))
    # The coordinator; None with ``via == "cli"`` (a command run on the server).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    via: Mapped[str] = mapped_column(String(10), default="web")  # web | cli
    term_kind: Mapped[str] = mapped_column(String(10))  # email | phone
    # HMAC-SHA-256 (the app's secret key) of the normalised term: never the term itself.
    term_digest: Mapped[str] = mapped_column(String(64))
    term_mask: Mapped[str] = mapped_column(String(40), default="")
    # What was found, exported or erased, per kind of record: JSON {"bookings": 2, ...}.
    counts: Mapped[str] = mapped_column(Text, default="{}")
    # Why the data was erased (required for an erasure), with the person's identifiers removed.
    reason: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[StaffUser | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"action IN ({values(PrivacyAction)})", name="action_known"),
        CheckConstraint("via IN ('web', 'cli')", name="via_known"),
        CheckConstraint("term_kind IN ('email', 'phone')", name="term_kind_known"),
        Index("ix_privacy_audit_at", "at"),
        Index("ix_privacy_audit_term_digest", "term_digest"),
    )
