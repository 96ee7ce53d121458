"""The directory of public consumer offices, and which one each town's residents go to.

Catalan law says who is competent for a consumer (Codi de consum de Catalunya, art. 126-10.2;
Decret 98/2014, art. 15.3): first the municipal office (OMIC) of the town where they live;
where there is none, the supramunicipal one, usually the comarcal office (OCIC); where there
is none, the Agència Catalana del Consum. ``Municipality.office_id`` records the answer for
each town once it is known, and only then: a town without it is "not yet known", never
guessed (``umic.offices`` gives each town its status).
"""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from .. import clock
from ..core.codes import OfficeKind
from ..core.codes import values
from ..extensions import db
from .types import UTCDateTime


class ConsumerOffice(db.Model):
    """An OMIC, an OCIC or the Agència: where to go, how to reach it, when it is open."""

    __tablename__ = "consumer_office"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(200), default="", server_default="")
    postcode: Mapped[str] = mapped_column(String(10), default="", server_default="")
    locality: Mapped[str] = mapped_column(String(120), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    web: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # Opening hours as the office states them, in Catalan and (optionally) Spanish.
    hours: Mapped[str] = mapped_column(Text, default="", server_default="")
    hours_es: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Where each fact was read (a public page), and when it was last checked.
    source: Mapped[str] = mapped_column(String(500), default="", server_default="")
    verified_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __table_args__ = (
        CheckConstraint(f"kind IN ({values(OfficeKind)})", name="kind_known"),
        Index("ix_consumer_office_kind", "kind"),
    )

    def __repr__(self) -> str:
        return f"<ConsumerOffice {self.kind} {self.name}>"
