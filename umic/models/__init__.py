"""ORM models, shared by every area of the app.

Times are stored in UTC (``UTCDateTime``) and shown in Europe/Madrid. Opening hours and
closures are local wall-clock values (a time of day, a calendar day) because that is how
people state them.
"""

from .cases import FINAL_STATUSES
from .cases import CaseCounter
from .cases import CaseDocument
from .cases import CaseEvent
from .cases import CaseFile
from .cases import CaseStatus
from .cases import CaseType
from .cases import Channel
from .cases import DocumentCategory
from .cases import Outcome
from .core import ACTIVE_STATUSES
from .core import AccessToken
from .core import Booking
from .core import BookingClaim
from .core import BookingDraft
from .core import BookingStatus
from .core import Closure
from .core import Municipality
from .core import OpeningHours
from .core import OutboxMessage
from .core import OutboxStatus
from .core import Role
from .core import Service
from .core import SignInAttempt
from .core import StaffUser
from .core import TokenPurpose
from .stats import ChannelCount
from .surveys import Resolved
from .surveys import SurveyResponse

__all__ = [
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "AccessToken",
    "Booking",
    "BookingClaim",
    "BookingDraft",
    "BookingStatus",
    "CaseCounter",
    "CaseDocument",
    "CaseEvent",
    "CaseFile",
    "CaseStatus",
    "CaseType",
    "ChannelCount",
    "Channel",
    "Closure",
    "DocumentCategory",
    "Municipality",
    "OpeningHours",
    "Outcome",
    "Resolved",
    "OutboxMessage",
    "OutboxStatus",
    "Role",
    "Service",
    "SignInAttempt",
    "StaffUser",
    "SurveyResponse",
    "TokenPurpose",
]
