"""Towns, services, staff, opening hours, bookings and the outbox.

Times are stored in UTC (``UTCDateTime``) and shown in Europe/Madrid. Opening hours and
closures are local wall-clock values (a time of day, a calendar day) because that is how
people state them.
"""

from __future__ import annotations

import enum
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from flask import current_app
from flask import has_app_context
from flask_login import UserMixin
from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import Time
from sqlalchemy import UniqueConstraint
from sqlalchemy import and_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship
from sqlalchemy.orm import validates
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from .. import clock
from ..core.codes import BookingStatus
from ..core.codes import values
from ..core.emails import email_key
from ..extensions import db
from .types import UTCDateTime

if TYPE_CHECKING:
    from .cases import CaseFile
    from .offices import ConsumerOffice
    from .visits import UmicVisit


def _service_today() -> date:
    """Today where the service is (the app's zone; Europe/Madrid outside an app)."""
    zone = current_app.config["TIMEZONE"] if has_app_context() else "Europe/Madrid"
    return clock.today(ZoneInfo(zone))


def bookable_town(enrolled_on: date | None, has_omic: bool, today: date) -> bool:
    """``Municipality.can_book`` from its two columns (for code that keeps only those)."""
    return enrolled_on is not None and enrolled_on <= today and not has_omic


class Municipality(db.Model):
    """A town of the province (INE code, population); enrolled towns can book."""

    id: Mapped[int] = mapped_column(primary_key=True)
    ine_code: Mapped[str] = mapped_column(String(5), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # Lower-case, accents removed: what the type-ahead search compares against.
    search_name: Mapped[str] = mapped_column(String(120), index=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    comarca: Mapped[str] = mapped_column(String(80), default="")
    population: Mapped[int | None] = mapped_column(Integer)
    population_year: Mapped[int | None] = mapped_column(Integer)
    has_omic: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    enrolled_on: Mapped[date | None] = mapped_column(Date, index=True)
    # Web origins allowed to embed this town's booking in an iframe, one per line
    # (e.g. https://www.gelida.cat); sent as its Content-Security-Policy frame-ancestors.
    embed_origins: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The consumer office its residents go to (models/offices.py); None: not yet known.
    # ``has_omic`` is kept true exactly when this is a municipal office (umic.offices).
    office_id: Mapped[int | None] = mapped_column(
        ForeignKey("consumer_office.id", ondelete="SET NULL"), index=True
    )

    office: Mapped[ConsumerOffice | None] = relationship()

    @property
    def enrolled(self) -> bool:
        """True once the town has joined the video-call service."""
        return self.enrolled_on is not None

    @property
    def origins(self) -> list[str]:
        """The allowed embedding origins as a list."""
        return [line.strip() for line in self.embed_origins.splitlines() if line.strip()]

    @hybrid_property
    def can_book(self) -> bool:
        """Residents can book when the town is enrolled, from its enrolment day on (a town
        may be enrolled from a later day), and has no consumer office of its own.

        The same rule in SQL: ``select(Municipality).where(Municipality.can_book)``.
        """
        return bookable_town(self.enrolled_on, self.has_omic, _service_today())

    @can_book.inplace.expression
    @classmethod
    def _can_book_expression(cls):
        return and_(
            cls.enrolled_on.is_not(None),
            cls.enrolled_on <= _service_today(),
            cls.has_omic.is_(False),
        )

    def __repr__(self) -> str:
        return f"<Municipality {self.ine_code} {self.name}>"


#: The length of a call when a service is created without saying (the seed's 30 minutes).
DEFAULT_CALL_MINUTES = 30


class Service(db.Model):
    """What a citizen books: "Atenció telemàtica de consum", 30 minutes.

    Its name and description are written per language: ``name`` and ``description`` are the
    Catalan ones (required: the source language), ``name_es``/``name_en`` and
    ``description_es``/``description_en`` the others, empty when not written. A reader in a
    language without its own text reads the Catalan one (``name_in``, ``description_in``);
    the pages use the template helpers ``service_name`` and ``service_description``
    (``umic.web.i18n``), which ask for the page's or the e-mail's language.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    name_es: Mapped[str] = mapped_column(String(120), default="", server_default="")
    name_en: Mapped[str] = mapped_column(String(120), default="", server_default="")
    description_es: Mapped[str] = mapped_column(Text, default="", server_default="")
    description_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The length of a call, and the step between its start times (core/scheduling.py); a
    # multiple of the claims' 5-minute unit. ``flask --app umic services set`` changes it.
    duration_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_CALL_MINUTES)
    # Overrides the app-wide VIDEO_LINK_TEMPLATE when set.
    video_link_template: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        CheckConstraint(
            "duration_minutes > 0 AND duration_minutes % 5 = 0", name="duration_in_5_minutes"
        ),
    )

    @property
    def duration(self) -> timedelta:
        """How long a call lasts."""
        return timedelta(minutes=self.duration_minutes)

    #: The languages a service's name and description may be written in besides Catalan.
    OTHER_LANGUAGES = ("es", "en")

    def name_in(self, lang: str | None) -> str:
        """The name in ``lang``, or the Catalan one when it has none."""
        if lang in self.OTHER_LANGUAGES:
            return getattr(self, f"name_{lang}") or self.name
        return self.name

    def description_in(self, lang: str | None) -> str:
        """The description in ``lang``, or the Catalan one when it has none."""
        if lang in self.OTHER_LANGUAGES:
            return getattr(self, f"description_{lang}") or self.description
        return self.description


class Role(enum.StrEnum):
    """What a member of staff may do."""

    TECHNICIAN = "technician"
    COORDINATOR = "coordinator"


class StaffUser(UserMixin, db.Model):
    """A technician or coordinator, identified by a short staff code such as OPSSVEGAVN."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(20), default=Role.TECHNICIAN, index=True)
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # The private calendar feed's token (SHA-256); replacing it revokes the old URL.
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The case-list columns this person chose, comma-separated keys (casefiles/queries.py,
    # COLUMNS); None or empty: the default set.
    case_list_columns: Mapped[str | None] = mapped_column(String(400))

    hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", order_by="OpeningHours.weekday"
    )

    __table_args__ = (CheckConstraint(f"role IN ({values(Role)})", name="role_known"),)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR

    #: Werkzeug's scrypt: slow on purpose. (The tests lower it: they hash hundreds of times.)
    password_method = "scrypt"

    def set_password(self, password: str) -> None:
        """Store a salted hash, never the password."""
        self.password_hash = generate_password_hash(password, method=self.password_method)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<StaffUser {self.username}>"


class OpeningHours(db.Model):
    """One weekly opening period of one technician, e.g. Tuesday 15:30-19:00 (local time)."""

    __tablename__ = "opening_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday ... 6 = Sunday
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)

    staff: Mapped[StaffUser] = relationship(back_populates="hours")

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("start_time < end_time", name="start_before_end"),
        Index("ix_opening_hours_staff_id", "staff_id"),
    )


class Closure(db.Model):
    """A day without appointments: for the whole service, or one technician's absence.

    Catalan public holidays are not stored: they come from the ``holidays`` package.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    # NULL: the whole service is closed that day.
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


def _email_key_default(context) -> str:
    """email_key for an INSERT that did not set it (a Core insert of plain rows)."""
    return email_key(context.get_current_parameters().get("citizen_email"))


class Booking(db.Model):
    """A citizen's video appointment with one technician."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the citizen quotes on the phone; gives no access by itself.
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    start_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    end_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=BookingStatus.CONFIRMED)

    citizen_name: Mapped[str] = mapped_column(String(120))
    citizen_email: Mapped[str] = mapped_column(String(254))
    # The address as the caps count it (umic.core.emails.email_key), kept in step with
    # citizen_email by _keep_email_key; blank it too when anonymising.
    email_key: Mapped[str] = mapped_column(String(254), default=_email_key_default)
    # Keyed hash of the client network a citizen booked from (umic.core.abuse), for the per-day
    # cap; erased a day after booking (umic.booking.abuse); None for staff bookings.
    network_key: Mapped[str | None] = mapped_column(String(32))
    citizen_phone: Mapped[str] = mapped_column(String(40), default="")
    citizen_address: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(5), default="ca")
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_version: Mapped[str] = mapped_column(String(40))

    # Calendar identity: one UID for life, SEQUENCE raised on every change, so calendars update
    # or remove the same event instead of adding a copy.
    ical_uid: Mapped[str] = mapped_column(String(36), unique=True)
    ical_sequence: Mapped[int] = mapped_column(Integer, default=0)
    # Empty for an in-person appointment at a visit of the mobile unit (``visit_id``).
    video_link: Mapped[str] = mapped_column(String(500))
    # Set for an in-person appointment at a visit of the mobile unit (models/visits.py).
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("umic_visit.id"))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
    # When the citizen was last told the current time (creation or reschedule).
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    cancelled_by: Mapped[str] = mapped_column(String(20), default="")
    # Set when a member of staff booked for the citizen (a phone request).
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    # Who marked the call attended or missed, and when.
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    # When the satisfaction survey was queued (once per booking).
    survey_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its personal data was blanked (umic.privacy.anonymise); the figures stay.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    service: Mapped[Service] = relationship()
    municipality: Mapped[Municipality] = relationship()
    technician: Mapped[StaffUser] = relationship(foreign_keys=[technician_id])
    booked_by: Mapped[StaffUser | None] = relationship(foreign_keys=[booked_by_id])
    visit: Mapped[UmicVisit | None] = relationship()

    __table_args__ = (
        CheckConstraint("start_utc < end_utc", name="start_before_end"),
        CheckConstraint(f"status IN ({values(BookingStatus)})", name="status_known"),
        Index("ix_booking_start_utc", "start_utc"),
        Index("ix_booking_technician_id_start_utc", "technician_id", "start_utc"),
        Index("ix_booking_status_start_utc", "status", "start_utc"),
        Index("ix_booking_municipality_id", "municipality_id"),
        Index("ix_booking_citizen_email", "citizen_email"),
        Index("ix_booking_survey_sent_at", "survey_sent_at"),
        Index("ix_booking_email_key", "email_key"),
        Index("ix_booking_network_key", "network_key"),
        Index("ix_booking_created_at", "created_at"),
        Index("ix_booking_anonymised_at", "anonymised_at"),
        Index("ix_booking_visit_id", "visit_id"),
    )

    @property
    def in_person(self) -> bool:
        """An appointment at a visit of the mobile unit, not a video call."""
        return self.visit_id is not None

    @property
    def is_cancelled(self) -> bool:
        return self.status == BookingStatus.CANCELLED

    @validates("citizen_email")
    def _keep_email_key(self, _key: str, value: str) -> str:
        self.email_key = email_key(value)
        return value


class BookingClaim(db.Model):
    """One technician's five-minute unit taken by a booking.

    The unique constraint on (technician, unit) is what makes double booking impossible,
    whatever the number of processes: the database refuses the second insert.
    """

    __tablename__ = "booking_claim"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    unit_start: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("technician_id", "unit_start"),
        Index("ix_booking_claim_booking_id", "booking_id"),
    )


class BookingDraft(db.Model):
    """A booking being filled in: chosen time and details, until the citizen confirms.

    Kept on the server under an unguessable key (the browser holds only the key), so the
    details never travel in a cookie and survive a slow citizen. Purged after a day.
    """

    __tablename__ = "booking_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    slot_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_version: Mapped[str] = mapped_column(String(40), default="")
    # Set when the draft became a booking: a repeated "Confirma" finds it instead of booking twice.
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    municipality: Mapped[Municipality] = relationship()
    service: Mapped[Service] = relationship()
    booking: Mapped[Booking | None] = relationship()

    @property
    def details_complete(self) -> bool:
        return bool(self.name and self.email and self.consent_at)


class TokenPurpose(enum.StrEnum):
    MANAGE = "manage"  # see, reschedule or cancel a booking
    UPLOAD = "upload"  # send the documents a case file asks for
    SURVEY = "survey"  # answer the satisfaction survey of an appointment
    STATUS = "status"  # follow a request: "How is my query going?" (umic.casefiles.follow)
    COMPANY = "company"  # a company answers a mediation (umic.mediation), no account needed


class AccessToken(db.Model):
    """A link sent to a citizen. Only the SHA-256 of the random token is stored.

    A booking may have several (each e-mail carries a fresh one); all stay valid until
    ``expires_at``.
    """

    __tablename__ = "access_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking | None] = relationship()
    case: Mapped[CaseFile | None] = relationship()

    __table_args__ = (
        Index("ix_access_token_booking_id", "booking_id"),
        Index("ix_access_token_case_id", "case_id"),
    )


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt
    SENDING = "sending"  # claimed by one worker
    SENT = "sent"
    FAILED = "failed"  # gave up after OUTBOX_MAX_ATTEMPTS; staff can retry
    SUPERSEDED = "superseded"  # a newer revision for the same booking and recipient replaced it


class OutboxMessage(db.Model):
    """An e-mail, written in the same transaction as the change that caused it.

    The worker sends it later; with the mail server down nothing is lost, only delayed.
    The stored bytes are what gets sent, so a retry repeats the same revision (same SEQUENCE).
    """

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    kind: Mapped[str] = mapped_column(String(40))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(120), default="")
    sender: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    # The bodies with every link token masked (umic/mail/links.py): what the outbox page shows.
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    # The masked tokens (JSON list), spliced back in at send time. Kept only while the
    # message may still be sent; NULL from the moment it is sent, failed or superseded.
    link_tokens: Mapped[str | None] = mapped_column(Text)
    # [masked form, SHA-256 of the token] per link (JSON), kept: a hash opens nothing, and it
    # lets staff retry a failed message with fresh links for the same pages.
    link_refs: Mapped[str | None] = mapped_column(Text)
    ics: Mapped[bytes | None] = mapped_column(LargeBinary)
    ics_method: Mapped[str] = mapped_column(String(10), default="")
    ical_sequence: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_error: Mapped[str] = mapped_column(Text, default="")
    locked_by: Mapped[str] = mapped_column(String(100), default="")
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A document of a case sent with the message as an attachment (a letter of the service,
    # umic.letters): read from its stored file when the message is sent.
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_document.id", ondelete="SET NULL")
    )

    booking: Mapped[Booking | None] = relationship()

    __table_args__ = (
        Index("ix_outbox_message_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_message_booking_id", "booking_id"),
        Index("ix_outbox_message_document_id", "document_id"),
        Index("ix_outbox_message_created_at", "created_at"),
    )


class SignInAttempt(db.Model):
    """One staff sign-in attempt: repeated failures slow the next ones down (throttling)."""

    __tablename__ = "sign_in_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40))
    ip: Mapped[str] = mapped_column(String(45))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    success: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_sign_in_attempt_username_at", "username", "at"),
        Index("ix_sign_in_attempt_ip_at", "ip", "at"),
    )


class StaffSession(db.Model):
    """One signed-in browser of a member of staff: ended on sign-out, idle or too old.

    The browser's cookie carries a random id (``umic.web.auth``); only its SHA-256 is stored,
    so a copy of the database opens no session. ``browser`` and ``network`` are what the
    user's own list shows ("Firefox on Windows", "192.0.2.0/24"); ``agent_hash`` is the hash
    of the whole User-Agent the session began with (docs/sessions.md).
    """

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why it ended (umic.core.sessions.EndReason); None while it is open.
    end_reason: Mapped[str | None] = mapped_column(String(20))
    # Ended because it was used from another browser: tell its owner at the next sign-in.
    warn_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_hash: Mapped[str] = mapped_column(String(64))
    browser: Mapped[str] = mapped_column(String(80), default="")
    network: Mapped[str] = mapped_column(String(50), default="")

    user: Mapped[StaffUser] = relationship()

    __table_args__ = (Index("ix_staff_session_user_id_ended_at", "user_id", "ended_at"),)
