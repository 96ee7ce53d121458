"""Calendar invitations (iCalendar / iTIP) for bookings.

A pure module: it only turns booking data into ``.ics`` bytes and "add to calendar" links.
It imports nothing from Flask or the database, so it can be tested on its own and reused by
the outbox worker. Why each choice was made, and which client bug it avoids, is explained in
``docs/invitations.md``; comments below name its sections, e.g. (docs/invitations.md,
"SEQUENCE").

Summary of the shape:

* one message per recipient, with the service mailbox as ORGANIZER and only that recipient as
  ATTENDEE ("ORGANIZER and ATTENDEE");
* ``METHOD:REQUEST`` to create or change, ``METHOD:CANCEL`` to cancel or to uninvite a
  technician; ``METHOD:PUBLISH`` only for the feed, and no METHOD at all in the web download
  ("METHOD and STATUS", "Files that are not invitations");
* ``DTSTART;TZID=Europe/Madrid`` with one hand-built, RRULE-based VTIMEZONE, or UTC times
  without VTIMEZONE for any other zone ("Time zone");
* UID and SEQUENCE come from the caller, who stores them ("UID", "SEQUENCE").
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import quote
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from icalendar import Alarm
from icalendar import Calendar
from icalendar import Event
from icalendar import Timezone
from icalendar import TimezoneDaylight
from icalendar import TimezoneStandard
from icalendar import vCalAddress
from icalendar import vDuration
from icalendar import vRecur

__all__ = [
    "EventData",
    "Person",
    "download",
    "feed",
    "google_calendar_url",
    "invitation",
    "madrid_vtimezone",
    "new_uid",
    "outlook_calendar_url",
]

#: The only zone for which a VTIMEZONE is written; any other falls back to UTC times.
MADRID = "Europe/Madrid"

METHODS = ("REQUEST", "CANCEL")

#: Participation per recipient type. Both are required participants (docs/invitations.md,
#: "ORGANIZER and ATTENDEE").
ROLES: dict[str, tuple[str, bool]] = {
    # The citizen is asked to accept: Thunderbird shows Accept/Decline only with RSVP=TRUE.
    "citizen": ("NEEDS-ACTION", True),
    # The technician's agenda is managed by the service: no reply expected.
    "technician": ("ACCEPTED", False),
}

# Control characters other than TAB/LF are not allowed in TEXT values (RFC 5545 §3.3.11).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n|\u2028|\u2029|\x85")
_WHITESPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Person:
    """A calendar user: an e-mail address and a display name (CN)."""

    email: str
    name: str


@dataclass(frozen=True)
class EventData:
    """Everything the invitation of one booking revision needs.

    ``uid`` and ``sequence`` are stored on the booking: the caller creates the UID once
    with :func:`new_uid` and increments SEQUENCE before each changing REQUEST/CANCEL.
    """

    uid: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    description: str
    link: str
    organizer: Person
    stamp: datetime
    prodid: str
    tzid: str = MADRID
    alarm_minutes: int | None = 15
    #: An in-person appointment (a visit of the mobile unit): where, in one line, for
    #: LOCATION; ``link`` is then empty and no URL is written. Empty for a video call.
    location: str = ""


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def new_uid() -> str:
    """Return a fresh random UID for a new booking: a UUID4, with no personal data."""
    return str(uuid.uuid4())


def madrid_vtimezone() -> Timezone:
    """Return the hand-built ``Europe/Madrid`` VTIMEZONE (docs/invitations.md, "Time zone").

    Exactly one DAYLIGHT and one STANDARD observance, each a yearly ``BYDAY=-1SU`` rule
    anchored in 1970 and no RDATE: icalendar's own ``add_missing_timezones()`` output lists
    the transitions in one comma-separated RDATE that ical.js and vobject misread (summer
    times come out an hour late), and Outlook keeps only one STANDARD/DAYLIGHT pair
    (MS-OXCICAL). 1970 rather than 1601 avoids libical/libical#1317.
    """
    tz = Timezone()
    tz.add("TZID", MADRID)
    for cls, dtstart, off_from, off_to, name, month in (
        (TimezoneDaylight, datetime(1970, 3, 29, 2), 1, 2, "CEST", 3),
        (TimezoneStandard, datetime(1970, 10, 25, 3), 2, 1, "CET", 10),
    ):
        obs = cls()
        # Naive on purpose: an observance's DTSTART is the local time before the change.
        obs.add("DTSTART", dtstart)
        obs.add("RRULE", vRecur(freq="YEARLY", bymonth=month, byday="-1SU"))
        obs.add("TZOFFSETFROM", timedelta(hours=off_from))
        obs.add("TZOFFSETTO", timedelta(hours=off_to))
        obs.add("TZNAME", name)
        tz.add_component(obs)
    return tz


def invitation(
    event: EventData, attendee: Person, *, method: str, role: str, uninvite: bool = False
) -> bytes:
    """Return the iTIP ``.ics`` for one recipient of one booking revision.

    ``method`` is ``"REQUEST"`` (create, reschedule, any visible change) or ``"CANCEL"``.
    ``role`` is ``"citizen"`` or ``"technician"`` (it sets PARTSTAT and RSVP).
    ``uninvite=True`` (only with CANCEL) removes one technician from a booking that goes on:
    no STATUS, since the meeting itself is not cancelled (docs/invitations.md, "METHOD and
    STATUS").

    The file lists the ORGANIZER and only ``attendee``, so nobody sees another attendee's
    address. Raises ``ValueError`` on invalid input (naive times, unknown method/role, CR/LF
    in addresses or the link...).
    """
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if role not in ROLES:
        raise ValueError(f"role must be one of {tuple(ROLES)}, not {role!r}")
    if uninvite and method != "CANCEL":
        raise ValueError("uninvite=True is only valid with method='CANCEL'")
    _check_event(event)
    if _same_address(attendee.email, event.organizer.email):
        # Nobody receives an invitation in which they are the organizer: Outlook would
        # show nothing to accept.
        raise ValueError("the attendee must not be the organizer")

    partstat, rsvp = ROLES[role]
    organizer = vCalAddress.new(_address(event.organizer.email), **_cn(event.organizer.name))
    recipient = vCalAddress.new(
        _address(attendee.email),
        **_cn(attendee.name),
        # ROLE=REQ-PARTICIPANT for both; PARTSTAT/RSVP per recipient type (ROLES).
        role="REQ-PARTICIPANT",
        partstat=partstat,
        rsvp=rsvp,
    )
    if method == "REQUEST":
        status: str | None = "CONFIRMED"
    elif uninvite:
        # The booking goes on, only this attendee is removed: no STATUS (RFC 5546 §3.2.5).
        status = None
    else:
        status = "CANCELLED"

    vevent = _vevent(
        event,
        organizer=organizer,
        attendees=[recipient],
        status=status,
        # At most one VALARM, only in REQUEST: a cancelled meeting must not ring.
        alarm=method == "REQUEST",
    )
    if method == "REQUEST":
        # MS-OXCICAL: show the slot as busy in Outlook's free/busy.
        vevent.add("X-MICROSOFT-CDO-BUSYSTATUS", "BUSY")
        vevent.add("X-MICROSOFT-CDO-INTENDEDSTATUS", "BUSY")
    # Hide Outlook's "propose new time": umic does not process COUNTER replies.
    vevent.add("X-MICROSOFT-DISALLOW-COUNTER", "TRUE")
    return _calendar(event, vevent, method=method)


def download(event: EventData, *, cancelled: bool = False) -> bytes:
    """Return the "Afegeix al calendari" file offered on a web page.

    A different object from the e-mailed invitation (docs/invitations.md, "Files that are
    not invitations"): no METHOD, no ORGANIZER and no ATTENDEE, so a client imports it as a
    plain event and never tries to reply; same UID and SEQUENCE as the invitations so that a
    client that also received the invitation sees one event.

    No METHOD because a file without one is plain iCalendar (RFC 5545), where an event
    that is not group-scheduled must not have an ORGANIZER; with ``METHOD:PUBLISH`` it
    would be iTIP (RFC 5546), which requires one. Without METHOD both hold.

    ``cancelled``: the booking was called off. The file then describes the cancelled event
    (``STATUS:CANCELLED``, no alarm) with the SEQUENCE of the cancellation, so importing it
    marks the entry cancelled instead of bringing the appointment back.
    """
    _check_event(event)
    vevent = _vevent(
        event,
        organizer=None,
        attendees=None,
        status="CANCELLED" if cancelled else "CONFIRMED",
        alarm=not cancelled,
    )
    return _calendar(event, vevent, method=None)


def feed(
    events: Iterable[EventData],
    *,
    prodid: str,
    name: str,
    refresh: timedelta = timedelta(hours=1),
) -> bytes:
    """Return a subscription calendar (a technician's private feed) with many events.

    Like :func:`download`: ``METHOD:PUBLISH``, no ORGANIZER, no ATTENDEE, each event with
    its booking's stored UID and SEQUENCE, so it matches the e-mailed invitations in a client
    that has both. Unlike an invitation, a feed may be named (``X-WR-CALNAME``; invitations
    never are) and says how often to refresh it. Always one VTIMEZONE, written first, even
    without events: a valid calendar with nothing booked. Events carry ``CLASS:PRIVATE``
    (technicians may share their calendars) and no VALARM: the subscriber's own calendar
    decides about reminders.
    """
    for label, value in (("prodid", prodid), ("name", name)):
        if not value or _CONTROL.search(value) or "\n" in value or "\t" in value:
            raise ValueError(f"{label} must be a non-empty single line")
    if refresh <= timedelta(0):
        raise ValueError("refresh must be positive")
    subcomponents: list = [madrid_vtimezone()]
    for event in events:
        _check_event(event)
        vevent = _vevent(event, organizer=None, attendees=None, status="CONFIRMED", alarm=False)
        vevent.add("CLASS", "PRIVATE")
        subcomponents.append(vevent)
    cal = Calendar.new(
        method="PUBLISH",
        prodid=prodid,
        name=_one_line(name),
        subcomponents=subcomponents,
    )
    # Calendar.new() invents a calendar UID, a different one on every request.
    del cal["UID"]
    # RFC 7986 §5.7 requires VALUE=DURATION, which Calendar.new(refresh_interval=) omits.
    cal.add("REFRESH-INTERVAL", vDuration(refresh), parameters={"VALUE": "DURATION"})
    # The older spelling, read by Outlook and Apple Calendar (an X- property: pass a duration).
    cal.add("X-PUBLISHED-TTL", vDuration(refresh))
    missing = cal.get_missing_tzids()
    if missing:  # pragma: no cover - guarded by construction
        raise RuntimeError(f"VTIMEZONE missing for {sorted(missing)}")
    return cal.to_ical()


def google_calendar_url(event: EventData) -> str:
    """Return a Google Calendar "add event" link with the times in UTC.

    ``dates`` is ``YYYYMMDDTHHMMSSZ/YYYYMMDDTHHMMSSZ``: UTC is unambiguous whatever the
    user's zone; ``ctz`` only sets the zone Google shows the event in.
    """
    _check_event(event)
    params = {
        "action": "TEMPLATE",
        "text": _one_line(event.summary),
        "dates": f"{_utc_basic(event.start)}/{_utc_basic(event.end)}",
        "details": _description(event),
        "location": _one_line(event.location) or event.link,
        "ctz": event.tzid,
    }
    return "https://calendar.google.com/calendar/render?" + _query(params)


def outlook_calendar_url(event: EventData) -> str:
    """Return an Outlook.com "add event" (deeplink compose) link with ISO UTC times."""
    _check_event(event)
    params = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": _one_line(event.summary),
        "startdt": _utc_iso(event.start),
        "enddt": _utc_iso(event.end),
        "body": _description(event),
        "location": _one_line(event.location) or event.link,
    }
    return "https://outlook.live.com/calendar/0/deeplink/compose?" + _query(params)


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------


def _vevent(
    event: EventData,
    *,
    organizer: vCalAddress | None,
    attendees: list[vCalAddress] | None,
    status: str | None,
    alarm: bool,
) -> Event:
    """The VEVENT shared by invitations and the download."""
    if event.tzid == MADRID:
        # Local wall-clock time with TZID=Europe/Madrid, resolved by our VTIMEZONE.
        zone = ZoneInfo(MADRID)
    else:
        # Fallback: UTC, written with "Z". Never TZID=UTC, a zone the file would not define
        # (docs/invitations.md, "Time zone").
        zone = UTC
    start = _whole_seconds(event.start).astimezone(zone)
    end = _whole_seconds(event.end).astimezone(zone)

    subcomponents = []
    if alarm and event.alarm_minutes:
        # One DISPLAY alarm; icalendar writes it after every VEVENT property.
        subcomponents.append(
            Alarm.new_display(
                description=_one_line(event.summary),
                trigger=-timedelta(minutes=event.alarm_minutes),
            )
        )

    link = event.link
    vevent = Event.new(
        # Always pass the stored UID and SEQUENCE: without uid= icalendar invents a new UID
        # (a duplicate entry for the reader), and without sequence= it writes no SEQUENCE,
        # not even SEQUENCE:0 (docs/invitations.md, "UID", "SEQUENCE").
        uid=event.uid,
        sequence=event.sequence,
        # An aware UTC stamp is written as DTSTAMP:...Z.
        stamp=_whole_seconds(event.stamp).astimezone(UTC),
        start=start,
        # DTEND, not DURATION.
        end=end,
        summary=_one_line(event.summary),
        description=_description(event),
        # The link verbatim in LOCATION, URL and DESCRIPTION: each client shows a different
        # one (docs/invitations.md, "The video link"). In person: the place, and no URL.
        location=_one_line(event.location) or link,
        url=link or None,
        organizer=organizer,
        attendees=attendees,
        status=status,
        # The slot is busy time.
        transparency="OPAQUE",
        subcomponents=subcomponents,
    )
    return vevent


def _calendar(event: EventData, vevent: Event, *, method: str | None) -> bytes:
    """Wrap ``vevent`` in a VCALENDAR and serialise it."""
    subcomponents: list = []
    if event.tzid == MADRID:
        # Exactly one VTIMEZONE, before the VEVENT.
        subcomponents.append(madrid_vtimezone())
    subcomponents.append(vevent)
    # Our PRODID, not the library default. Never name= (NAME/X-WR-CALNAME are for feeds).
    cal = Calendar.new(method=method, prodid=event.prodid, subcomponents=subcomponents)
    # Calendar.new() adds a calendar-level UID; the only UID must be the event's.
    del cal["UID"]
    # Every TZID used has its VTIMEZONE in the file.
    missing = cal.get_missing_tzids()
    if missing:  # pragma: no cover - guarded by construction
        raise RuntimeError(f"VTIMEZONE missing for {sorted(missing)}")
    # icalendar 7.3 writes CRLF line endings, folds at <= 75 octets without splitting a
    # UTF-8 character, and ends with "END:VCALENDAR\r\n" (docs/invitations.md, "Lexical
    # rules"; the tests guard it).
    return cal.to_ical()


def _check_event(event: EventData) -> None:
    """Refuse input that would produce a wrong or unsafe file."""
    for name in ("start", "end", "stamp"):
        value = getattr(event, name)
        if not isinstance(value, datetime):
            raise ValueError(f"{name} must be a datetime")
        if value.tzinfo is None or value.utcoffset() is None:
            # A naive time would be written as "floating", read in each client's own zone
            # (or, for DTSTAMP, as if it were UTC).
            raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    if event.end <= event.start:
        raise ValueError("end must be after start")
    if isinstance(event.sequence, bool) or not isinstance(event.sequence, int):
        raise ValueError("sequence must be an int")
    if event.sequence < 0:
        raise ValueError("sequence must be >= 0")
    try:
        parsed = uuid.UUID(event.uid)
    except (ValueError, TypeError, AttributeError):
        raise ValueError(f"uid must be a UUID string (use new_uid()), not {event.uid!r}") from None
    if str(parsed) != event.uid:
        # The stored canonical form, so every revision carries the same bytes.
        raise ValueError(f"uid must be in canonical form: {parsed}")
    if event.alarm_minutes is not None and event.alarm_minutes < 0:
        raise ValueError("alarm_minutes must be >= 0 or None")
    # These are written unescaped (URI or raw TEXT-like values), so CR/LF or other
    # control characters would start a new property line.
    for name in ("prodid", "tzid"):
        value = getattr(event, name)
        if not value or _CONTROL.search(value) or "\n" in value or "\t" in value:
            raise ValueError(f"{name} must be a non-empty single line")
    if event.location and not event.link:
        if not _one_line(event.location):
            raise ValueError("location must not be blank")
    elif not re.fullmatch(r"https?://\S+", event.link) or _WHITESPACE_OR_CONTROL.search(event.link):
        # The link is copied verbatim into LOCATION/URL/DESCRIPTION.
        raise ValueError(f"link must be an http(s) URL without spaces: {event.link!r}")
    if event.tzid != MADRID:
        try:
            ZoneInfo(event.tzid)
        except (ValueError, KeyError, OSError) as exc:
            raise ValueError(f"unknown tzid {event.tzid!r}") from exc


def _address(email: str) -> str:
    """A bare address for ``mailto:``: no display name, no spaces or CR/LF.

    Gmail is reported to ignore updates whose ORGANIZER has a display name inside the URI.
    """
    email = email.strip()
    if (
        not email
        or _WHITESPACE_OR_CONTROL.search(email)
        or any(c in email for c in '<>"')
        or email.count("@") != 1
    ):
        # vCalAddress.new also refuses CR/LF; we refuse anything not a bare address.
        raise ValueError(f"not a bare e-mail address: {email!r}")
    return email


def _same_address(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _cn(name: str) -> dict[str, str]:
    """The CN parameter for a display name, or nothing when the name is empty.

    Drop ``"`` (RFC 6868 would write ``^'``, shown literally by some parsers, e.g. vobject),
    ``^`` (would become ``^^``) and line breaks (would become ``^n``). icalendar quotes the
    value itself when it contains ``:;,``.
    """
    cleaned = _one_line(name).replace('"', "").replace("^", "").strip()
    return {"cn": cleaned} if cleaned else {}


def _one_line(text: str) -> str:
    """TEXT for one-line properties (SUMMARY, CN): line breaks become spaces."""
    return " ".join(_clean_text(text).split("\n")).strip()


def _clean_text(text: str) -> str:
    """Normalise line breaks to LF and remove control characters.

    icalendar then escapes LF as ``\\n``, so no value can start a new line.
    """
    text = unicodedata.normalize("NFC", text)
    text = _LINE_BREAKS.sub("\n", text)
    return _CONTROL.sub("", text)


def _description(event: EventData) -> str:
    """DESCRIPTION text with the join link on a line of its own."""
    text = _clean_text(event.description).rstrip()
    if not event.link:  # in person: no link to add
        return text
    if event.link in (line.strip() for line in text.split("\n")):
        return text
    return f"{text}\n\n{event.link}" if text else event.link


def _whole_seconds(value: datetime) -> datetime:
    # iCalendar has no sub-second precision; drop it here so every output agrees.
    return value.replace(microsecond=0)


def _utc_basic(value: datetime) -> str:
    return _whole_seconds(value).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _utc_iso(value: datetime) -> str:
    return _whole_seconds(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _query(params: dict[str, str]) -> str:
    # %20 rather than "+" for spaces; "/" and ":" stay readable (dates, path, ISO times).
    return urlencode(params, safe="/:", quote_via=quote)
