"""ORM models, shared by every area of the app.

Times are stored in UTC (``UTCDateTime``) and shown in Europe/Madrid. Opening hours and
closures are local wall-clock values (a time of day, a calendar day) because that is how
people state them.

The codes the rows hold (statuses, channels, case types...) are the vocabulary of
``umic.core.codes``; they are re-exported here, so ``from umic.models import CaseStatus`` works.
"""

from ..core.codes import ACTIVE_STATUSES
from ..core.codes import FINAL_STATUSES
from ..core.codes import AssistPurpose
from ..core.codes import BookingStatus
from ..core.codes import CaseStatus
from ..core.codes import CaseType
from ..core.codes import Channel
from ..core.codes import CompanyAnswer
from ..core.codes import DocumentCategory
from ..core.codes import DocumentSource
from ..core.codes import LetterKind
from ..core.codes import MediationOutcome
from ..core.codes import MediationStatus
from ..core.codes import OfficeKind
from ..core.codes import Outcome
from ..core.codes import Referral
from ..core.codes import Resolved
from ..core.codes import SuggestionDecision
from ..core.codes import SuggestionKind
from ..core.codes import TextStatus
from ..core.codes import VisitStatus
from .abuse import BookingAlert
from .abuse import BookingRefusal
from .availability import AvailabilityVersion
from .cases import CaseCounter
from .cases import CaseDocument
from .cases import CaseEvent
from .cases import CaseFile
from .changes import BookingChange
from .core import AccessToken
from .core import Booking
from .core import BookingClaim
from .core import BookingDraft
from .core import Closure
from .core import Municipality
from .core import OpeningHours
from .core import OutboxMessage
from .core import OutboxStatus
from .core import Role
from .core import Service
from .core import SignInAttempt
from .core import StaffSession
from .core import StaffUser
from .core import TokenPurpose
from .mediation import Company
from .mediation import LetterTemplate
from .mediation import Mediation
from .offices import ConsumerOffice
from .privacy import PrivacyAudit  # noqa: F401  (the privacy room's log)
from .staffing import StaffTown
from .stats import ChannelCount
from .surveys import SurveyResponse
from .triage import AssistUse
from .triage import TriageModel
from .triage import TriageState
from .triage import TriageSuggestion
from .visits import UmicVisit

__all__ = [
    "AssistPurpose",
    "AssistUse",
    "SuggestionDecision",
    "SuggestionKind",
    "TriageModel",
    "TriageState",
    "TriageSuggestion",
    "AvailabilityVersion",
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "AccessToken",
    "Booking",
    "BookingAlert",
    "BookingChange",
    "BookingClaim",
    "BookingDraft",
    "BookingRefusal",
    "BookingStatus",
    "CaseCounter",
    "CaseDocument",
    "CaseEvent",
    "CaseFile",
    "CaseStatus",
    "CaseType",
    "ChannelCount",
    "Company",
    "CompanyAnswer",
    "DocumentSource",
    "LetterKind",
    "LetterTemplate",
    "Mediation",
    "MediationOutcome",
    "MediationStatus",
    "Referral",
    "TextStatus",
    "ConsumerOffice",
    "Channel",
    "Closure",
    "DocumentCategory",
    "Municipality",
    "OfficeKind",
    "OpeningHours",
    "Outcome",
    "Resolved",
    "OutboxMessage",
    "OutboxStatus",
    "Role",
    "Service",
    "SignInAttempt",
    "StaffSession",
    "StaffTown",
    "StaffUser",
    "SurveyResponse",
    "TokenPurpose",
    "UmicVisit",
    "VisitStatus",
]
