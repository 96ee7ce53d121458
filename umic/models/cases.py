"""Case files (expedients), their history, their documents and their numbering."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from .. import clock
from ..core.codes import CaseStatus
from ..core.codes import CaseType
from ..core.codes import Channel
from ..core.codes import DocumentCategory
from ..core.codes import DocumentSource
from ..core.codes import Outcome
from ..core.codes import TextStatus
from ..core.codes import values
from ..extensions import db
from .core import Booking
from .core import Municipality
from .core import StaffUser
from .types import UTCDateTime


class CaseCounter(db.Model):
    """The last case number given in a year; incremented under a row lock."""

    __tablename__ = "case_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class CaseFile(db.Model):
    """An expedient: a citizen's request carried to its end by a technician.

    Its columns follow the tracker the service used (the seed's table): ID, Nom tràmit,
    Registre, Expedient, Classificació (the town), Convocatòria, Data petició, Data
    actualització, Estat petició and its detail, Estat intern and its detail, Usuari assignat,
    Orgànic, Nom interessat; and what handling a case needs besides.
    """

    __tablename__ = "case_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(12), unique=True)  # "2025/0029005"
    # The ID the case had in the tracker it was imported from ("458973"); None for the app's own.
    tracker_id: Mapped[str | None] = mapped_column(String(20))
    procedure_name: Mapped[str] = mapped_column(String(80), default="")  # Nom tràmit
    # "registry" itself is reserved by SQLAlchemy's declarative base.
    registry_entry: Mapped[str] = mapped_column("registry", String(40), default="")  # Registre
    call: Mapped[str] = mapped_column(String(80), default="")  # Convocatòria
    case_type: Mapped[str] = mapped_column(String(20), default=CaseType.RECLAMACIO)
    channel: Mapped[str] = mapped_column(String(20), default=Channel.TELEMATICA)
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))

    interested_name: Mapped[str] = mapped_column(String(120), default="")
    interested_email: Mapped[str] = mapped_column(String(254), default="")
    interested_phone: Mapped[str] = mapped_column(String(40), default="")
    interested_address: Mapped[str] = mapped_column(String(200), default="")
    sector: Mapped[str] = mapped_column(String(40), default="")  # code from consumer_sectors.csv
    # The company as the citizen or the tracker wrote it; ``company_id`` links the registry's
    # entry (umic.companies), which lists, filters and statistics go by.
    company: Mapped[str] = mapped_column(String(200), default="")
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="SET NULL"))
    amount_claimed: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    description: Mapped[str] = mapped_column(Text, default="")
    # What the citizen asks for (the mailbox form's "Què demaneu?"); empty when not asked.
    claim_request: Mapped[str] = mapped_column(Text, default="", server_default="")
    # A person seen at a visit of the mobile unit (channel "umic").
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("umic_visit.id"))
    # For the mailbox's per-day caps, as on bookings (umic.core.emails.email_key and the keyed
    # hash of the client network, umic.core.abuse); None for cases not sent through the
    # mailbox. The network key is erased a day after sending; both go when anonymising.
    email_key: Mapped[str | None] = mapped_column(String(254))
    network_key: Mapped[str | None] = mapped_column(String(32))
    # The language a mailbox message was written in ("ca", "es"...), for the e-mails that follow
    # it; "" for other cases (a booking's case writes in the booking's language).
    language: Mapped[str] = mapped_column(String(5), default="", server_default="")

    status: Mapped[str] = mapped_column(String(30), default=CaseStatus.PENDENT)
    status_detail: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[date | None] = mapped_column(Date)  # documents requested until
    internal_status: Mapped[str] = mapped_column(String(80), default="")
    internal_detail: Mapped[str] = mapped_column(Text, default="")
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    organic: Mapped[str] = mapped_column(String(120), default="")
    outcome: Mapped[str] = mapped_column(String(20), default="")
    amount_recovered: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))

    # Data petició, Data actualització
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    # Lower-case, accent-free text of the searchable columns (free-text search).
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Optimistic locking: an edit based on an old version is refused, never silently lost.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # When its personal data was blanked (umic.privacy.anonymise); the figures stay.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    municipality: Mapped[Municipality | None] = relationship()
    assigned_to: Mapped[StaffUser | None] = relationship(foreign_keys=[assigned_to_id])
    booking: Mapped[Booking | None] = relationship()
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )
    documents: Mapped[list[CaseDocument]] = relationship(
        back_populates="case", order_by="CaseDocument.id", cascade="all, delete-orphan"
    )
    company_entry = relationship("Company", foreign_keys=[company_id])
    mediation = relationship(
        "Mediation", back_populates="case", uselist=False, cascade="all, delete-orphan"
    )

    @property
    def reply_language(self) -> str:
        """The language the service writes to the person in (letters, draft replies): the
        mailbox message's, else its booking's; Catalan unless that is Spanish, the two languages
        the service's letters exist in."""
        language = self.language or (self.booking.language if self.booking is not None else "")
        return language if language in ("ca", "es") else "ca"

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("year", "sequence"),
        CheckConstraint(f"case_type IN ({values(CaseType)})", name="type_known"),
        CheckConstraint(f"channel IN ({values(Channel)})", name="channel_known"),
        CheckConstraint(f"status IN ({values(CaseStatus)})", name="status_known"),
        CheckConstraint(f"outcome IN ({values(Outcome, '')})", name="outcome_known"),
        # Every list filter and sort has an index (the list must stay fast at 100,000 cases).
        Index("ix_case_file_status", "status"),
        Index("ix_case_file_case_type", "case_type"),
        Index("ix_case_file_channel", "channel"),
        Index("ix_case_file_municipality_id", "municipality_id"),
        Index("ix_case_file_assigned_to_id", "assigned_to_id"),
        # The statistics add up a period's cases: on PostgreSQL these two also carry the
        # columns the sums read, so they are answered from the index alone (SQLite: plain).
        Index(
            "ix_case_file_requested_at",
            "requested_at",
            postgresql_include=[
                "municipality_id",
                "channel",
                "booking_id",
                "case_type",
                "sector",
                "company_id",  # the most claimed companies (umic.stats.mediation_stats)
            ],
        ),
        Index(
            "ix_case_file_resolved_at",
            "resolved_at",
            postgresql_include=["requested_at", "outcome", "amount_claimed", "amount_recovered"],
        ),
        Index("ix_case_file_updated_at", "updated_at"),
        Index("ix_case_file_interested_name", "interested_name"),
        Index("ix_case_file_deadline", "deadline"),
        Index("ix_case_file_tracker_id", "tracker_id"),
        Index("ix_case_file_anonymised_at", "anonymised_at"),
        Index("ix_case_file_visit_id", "visit_id"),
        Index("ix_case_file_email_key", "email_key"),
        Index("ix_case_file_network_key", "network_key"),
        Index("ix_case_file_company_id", "company_id"),
        Index("ix_case_file_sector", "sector"),
        # Free-text search (LIKE '%word%') stays fast at 100,000 cases: trigrams, PostgreSQL only.
        Index(
            "ix_case_file_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )


class CaseEvent(db.Model):
    """One entry of a case's history: a change (field, old -> new), a note, a document."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id")
    )  # None: citizen/system
    kind: Mapped[str] = mapped_column(String(20))  # created, change, note, document, email
    field: Mapped[str] = mapped_column(String(40), default="")
    old_value: Mapped[str] = mapped_column(Text, default="")
    new_value: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[CaseFile] = relationship(back_populates="events")
    actor: Mapped[StaffUser | None] = relationship()

    __table_args__ = (Index("ix_case_event_case_id", "case_id"),)


class CaseDocument(db.Model):
    """A file attached to a case, stored on disk outside ``static/`` under a random name."""

    __tablename__ = "case_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    source: Mapped[str] = mapped_column(String(10), default=DocumentSource.STAFF)
    # The category confirmed by staff (or chosen at upload); ``suggested_category`` is what
    # the document's text suggests (umic.core.doc_classify), "" until it is read.
    category: Mapped[str] = mapped_column(String(20), default=DocumentCategory.ALTRES)
    suggested_category: Mapped[str] = mapped_column(String(20), default="", server_default="")
    category_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    category_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    original_name: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # When staff first saw a citizen's upload (None: new, shown on the agenda).
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Its text (umic.casefiles.extract): the PDF's own text, or OCR of an image or a scan.
    text: Mapped[str] = mapped_column(Text, default="", server_default="")
    text_status: Mapped[str] = mapped_column(
        String(10), default=TextStatus.PENDING, server_default=TextStatus.PENDING.value
    )
    text_method: Mapped[str] = mapped_column(String(10), default="", server_default="")  # pdf|ocr
    extracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Lower-case, accent-free name and text, for the case list's search.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # A letter the service wrote (source "service"): its kind, language and template version.
    letter_kind: Mapped[str] = mapped_column(String(30), default="", server_default="")
    language: Mapped[str] = mapped_column(String(5), default="", server_default="")
    template_id: Mapped[int | None] = mapped_column(ForeignKey("letter_template.id"))

    case: Mapped[CaseFile] = relationship(back_populates="documents")
    uploaded_by: Mapped[StaffUser | None] = relationship(foreign_keys=[uploaded_by_id])

    __table_args__ = (
        CheckConstraint(f"category IN ({values(DocumentCategory)})", name="category_known"),
        CheckConstraint(f"source IN ({values(DocumentSource)})", name="source_known"),
        Index("ix_case_document_case_id", "case_id"),
        Index("ix_case_document_seen_at", "seen_at"),
        Index("ix_case_document_text_status", "text_status"),
        # The case list's search reads documents' text too (LIKE '%word%'): trigrams on
        # PostgreSQL, as for the case's own search text.
        Index(
            "ix_case_document_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )
