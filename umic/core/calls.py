"""What a service's calls may be: their length and their video link template.

One rule for every place that changes a service: the coordinators' page (``/admin/servei/``,
``umic.admin.service_settings``) and ``flask --app umic services create|set``. Pure: no
Flask, no database; the callers put the words around the problem they get back.

- **Length**: a multiple of 5 minutes (the unit of the double-booking claims,
  ``scheduling.CLAIM_UNIT``) from 15 minutes (shorter leaves no time to listen) to 2 hours
  (longer is not a consultation). The length is also the step between start times.
- **Video link template**: an ``https://`` address (a plain ``http://`` link would send the
  citizen's call unencrypted, and the invitation's link must be trusted), with no spaces,
  500 characters at most (the column's size), and no placeholder other than ``{room}``:
  ``{room}`` becomes a new random room for each booking (Jitsi); without it the template is one
  fixed meeting link for every call (Teams with a lobby). Empty: the installation's
  ``UMIC_VIDEO_LINK_TEMPLATE``.
"""

from __future__ import annotations

import enum
import re
from urllib.parse import urlsplit

MIN_CALL_MINUTES = 15
MAX_CALL_MINUTES = 120
CALL_MINUTES_STEP = 5

#: The one placeholder a video link template may hold.
ROOM = "{room}"
VIDEO_LINK_MAX = 500


def call_minutes_ok(minutes: int | None) -> bool:
    """True for a length a service may have: 15, 20, ... 120."""
    return (
        isinstance(minutes, int)
        and MIN_CALL_MINUTES <= minutes <= MAX_CALL_MINUTES
        and minutes % CALL_MINUTES_STEP == 0
    )


class LinkProblem(enum.StrEnum):
    """Why a video link template is refused."""

    NOT_HTTPS = "not_https"
    NO_HOST = "no_host"
    SPACES = "spaces"
    PLACEHOLDER = "placeholder"
    TOO_LONG = "too_long"


_BRACES = re.compile(r"\{[^{}]*\}|[{}]")


def video_link_problem(template: str) -> LinkProblem | None:
    """What is wrong with a (non-empty) video link template, or None."""
    if len(template) > VIDEO_LINK_MAX:
        return LinkProblem.TOO_LONG
    if any(char.isspace() for char in template):
        return LinkProblem.SPACES
    if not template.lower().startswith("https://"):
        return LinkProblem.NOT_HTTPS
    if any(found != ROOM for found in _BRACES.findall(template)):
        return LinkProblem.PLACEHOLDER
    try:
        host = urlsplit(template.replace(ROOM, "room")).hostname
    except ValueError:
        host = None
    if not host or "." not in host:
        return LinkProblem.NO_HOST
    return None


#: The name a new service gets when none is given, in each language. The seed's Bookings
#: screen called it "Consum_DIBA. Atenció telemàtica": an internal code to a citizen (the
#: underscore, the acronym), so the app writes what the service is instead.
DEFAULT_NAMES = {
    "ca": "Atenció telemàtica de consum",
    "es": "Atención telemática de consumo",
    "en": "Consumer advice by video call",
}
