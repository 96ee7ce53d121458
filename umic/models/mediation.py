"""Companies, mediations with them, and the templates of the letters the service writes.

A company is shared by every case that names it; duplicates (same tax id, or names that differ
only in case, accents or legal form) are merged (umic.companies). A mediation is one case's
attempt to settle a claim with its company (umic.mediation); a letter template is one version
of the text of a kind of letter in one language (umic.letters): editing makes a new version,
and every letter issued keeps the version it was written from.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean
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
from ..core.codes import CompanyAnswer
from ..core.codes import LetterKind
from ..core.codes import MediationOutcome
from ..core.codes import MediationStatus
from ..core.codes import Referral
from ..core.codes import values
from ..extensions import db
from .types import UTCDateTime


class Company(db.Model):
    """A company consumers claim against: where it receives claims, and its sector."""

    __tablename__ = "company"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name folded for matching: lower case, no accents, no legal form ("SA", "S.L.U."),
    # no punctuation (umic.core.companies.name_key). Two companies with the same key are
    # offered for merging.
    name_key: Mapped[str] = mapped_column(String(200))
    # NIF/CIF as written by the Agència Tributària: upper case, no spaces or hyphens; None
    # when unknown. Unique: the same tax id is the same company.
    tax_id: Mapped[str | None] = mapped_column(String(20), unique=True)
    sector: Mapped[str] = mapped_column(String(40), default="")  # consumer_sectors.csv code
    address: Mapped[str] = mapped_column(String(300), default="")
    # Where it receives consumer claims: an e-mail, and/or another channel (a web form, a
    # postal address, a phone) written as text.
    claims_email: Mapped[str] = mapped_column(String(254), default="")
    claims_channel: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    # The language its letters and e-mails go out in ("ca" or "es").
    language: Mapped[str] = mapped_column(String(5), default="ca")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __table_args__ = (
        Index("ix_company_name_key", "name_key"),
        Index("ix_company_sector", "sector"),
    )


class Mediation(db.Model):
    """A case's mediation with its company: the claim sent, the answer, a session, the end."""

    __tablename__ = "mediation"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), unique=True
    )
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
    status: Mapped[str] = mapped_column(String(20), default=MediationStatus.OBERTA)
    # Where the claim went, and in which language (the company's, when the mediation opened).
    company_email: Mapped[str] = mapped_column(String(254), default="")
    language: Mapped[str] = mapped_column(String(5), default="ca")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    # The last day the company has to answer (Madrid calendar day), and its one reminder.
    answer_due: Mapped[date] = mapped_column(Date)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The company's answer through its link.
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str] = mapped_column(String(20), default="")
    answer_text: Mapped[str] = mapped_column(Text, default="")
    proposed_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    # The joint video session of the three parties: an ordinary booking of the mediator's time.
    session_booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("booking.id", ondelete="SET NULL")
    )
    # The end.
    outcome: Mapped[str] = mapped_column(String(20), default="")
    amount_claimed: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    amount_recovered: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    referral: Mapped[str] = mapped_column(String(20), default="")
    referral_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_document.id", ondelete="SET NULL")
    )
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    case = relationship("CaseFile", back_populates="mediation")
    company: Mapped[Company] = relationship()
    session_booking = relationship("Booking", foreign_keys=[session_booking_id])
    referral_document = relationship("CaseDocument", foreign_keys=[referral_document_id])

    __table_args__ = (
        CheckConstraint(f"status IN ({values(MediationStatus)})", name="status_known"),
        CheckConstraint(f"answer IN ({values(CompanyAnswer, '')})", name="answer_known"),
        CheckConstraint(f"outcome IN ({values(MediationOutcome, '')})", name="outcome_known"),
        CheckConstraint(f"referral IN ({values(Referral, '')})", name="referral_known"),
        Index("ix_mediation_status", "status"),
        Index("ix_mediation_company_id", "company_id"),
        Index("ix_mediation_answer_due", "answer_due"),
        Index("ix_mediation_session_booking_id", "session_booking_id"),
        # The statistics add up the mediations closed in a period: on PostgreSQL the index
        # also carries what the sums read.
        Index(
            "ix_mediation_closed_at",
            "closed_at",
            postgresql_include=["outcome", "amount_claimed", "amount_recovered", "company_id"],
        ),
    )


class LetterTemplate(db.Model):
    """One version of a letter's text in one language. The newest version is the one used."""

    __tablename__ = "letter_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(5))
    version: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # True for the text the app ships (version 1); False for a coordinator's edit.
    shipped: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    __table_args__ = (
        UniqueConstraint("kind", "language", "version"),
        CheckConstraint(f"kind IN ({values(LetterKind)})", name="kind_known"),
        Index("ix_letter_template_kind_language", "kind", "language"),
    )
