"""Tests of umic.core.ics: the invitation file, property by property, and a booking's life.

What each property must be, and why, is in docs/invitations.md; "How the tests check
invitations" there describes the parsers. Assertions are made on the bytes or
``Calendar.from_ical``, on the JSON of the ical.js inspector, on libical's RFC 5546 check,
and on vobject's UTC start (one fresh process per file). The parser tests skip when a tool
is missing, and fail instead with ``UMIC_REQUIRE_ALL_TESTS=1`` (tests/support/icstools.py).

Test name prefixes group the checks: a1 calendar level, a2 UID, a3 SEQUENCE, a4 DTSTAMP,
a5 start and end, a6 VTIMEZONE, a7 ORGANIZER, a8 ATTENDEE, a9 STATUS and content per method,
a10 video link, a11 VALARM, a12 Outlook properties, a13 lexical rules, b a booking's
lifecycle, t1 the three parsers on dates around the daylight-saving changes.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from support.icstools import inspect_icaljs
from support.icstools import libical_check
from support.icstools import vobject_read
from support.icstools import vobject_start_utc
from umic.core.ics import EventData
from umic.core.ics import Person
from umic.core.ics import download
from umic.core.ics import google_calendar_url
from umic.core.ics import invitation
from umic.core.ics import madrid_vtimezone
from umic.core.ics import new_uid
from umic.core.ics import outlook_calendar_url

MADRID = ZoneInfo("Europe/Madrid")
PRODID = "-//Diputacio de Barcelona//umic//CA"
SUMMARY = "Consum_DIBA. Atenció telemàtica"
LINK = "https://meet.jit.si/umic-7q2m9x4k8v1c3n6b5z0p1r8t"
ORGANIZER = Person("cites@example.org", "Consum Diputació de Barcelona")
CITIZEN = Person("nuria.puig@example.net", "Núria Puig i Solà")
TECH_A = Person("jordi.vila@example.org", "Jordi: l'advocat; cap, de")
TECH_B = Person("montse.ferrer@example.org", "Montserrat Ferrer")
FIXED_UID = "5f0c6b1e-2a4d-4c8e-9b7a-3d2e1f0a9b8c"
FIXED_STAMP = datetime(2026, 2, 2, 8, 0, 0, tzinfo=UTC)
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "invite_request.ics"

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


# --- helpers ----------------------------------------------------------------------------------


def madrid(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A Madrid wall-clock time as the database stores it: aware UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


def utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def description_for(start_utc: datetime, link: str = LINK) -> str:
    local = start_utc.astimezone(MADRID)
    return (
        f"Data: {local:%d/%m/%Y}, {local:%H:%M} (hora de Madrid)\n"
        f"Enllaç de la videotrucada:\n{link}\n"
        "Per canviar o anul·lar la cita, feu servir l'enllaç del correu."
    )


def make_event(
    start_utc: datetime | None = None,
    *,
    uid: str = FIXED_UID,
    sequence: int = 0,
    stamp: datetime = FIXED_STAMP,
    link: str = LINK,
    **overrides,
) -> EventData:
    start_utc = start_utc or madrid(2026, 6, 15)
    fields = {
        "uid": uid,
        "sequence": sequence,
        "start": start_utc,
        "end": start_utc + timedelta(minutes=30),
        "summary": SUMMARY,
        "description": description_for(start_utc, link),
        "link": link,
        "organizer": ORGANIZER,
        "stamp": stamp,
        "prodid": PRODID,
    }
    fields.update(overrides)
    return EventData(**fields)


def ics_request(
    event: EventData | None = None, who: Person = CITIZEN, role: str = "citizen"
) -> bytes:
    return invitation(event or make_event(), who, method="REQUEST", role=role)


def ics_cancel(
    event: EventData | None = None, who: Person = CITIZEN, role: str = "citizen"
) -> bytes:
    return invitation(event or make_event(), who, method="CANCEL", role=role)


def unfolded(data: bytes) -> list[str]:
    """Logical content lines (RFC 5545 §3.1 unfolding)."""
    return data.decode("utf-8").replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")[:-1]


def props(data: bytes, name: str) -> list[str]:
    """The unfolded lines of property ``name`` (with or without parameters)."""
    return [line for line in unfolded(data) if re.match(rf"{name}[;:]", line)]


def vevent_lines(data: bytes) -> list[str]:
    lines = unfolded(data)
    return lines[lines.index("BEGIN:VEVENT") : lines.index("END:VEVENT") + 1]


def event_props(data: bytes, name: str) -> list[str]:
    """Like :func:`props`, but only the VEVENT's own properties (not VTIMEZONE/VALARM)."""
    lines = vevent_lines(data)
    if "BEGIN:VALARM" in lines:
        lines = lines[: lines.index("BEGIN:VALARM")]
    return [line for line in lines if re.match(rf"{name}[;:]", line)]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- calendar level -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [ics_request, ics_cancel], ids=["REQUEST", "CANCEL"])
def test_a1_calendar_level(make) -> None:
    data = make()
    # No BOM, starts and ends with the VCALENDAR lines, no indented BEGIN (some clients drop
    # the whole file for an indented BEGIN).
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert data.endswith(b"END:VCALENDAR\r\n")
    assert not data.startswith(b"\xef\xbb\xbf")
    assert not re.search(rb"\n[ \t]+BEGIN:", data)
    lines = unfolded(data)
    # Version 2.0 and our own PRODID.
    assert "VERSION:2.0" in lines
    assert props(data, "PRODID") == [f"PRODID:{PRODID}"]
    # Exactly one METHOD, before any component.
    methods = props(data, "METHOD")
    assert len(methods) == 1 and methods[0] in ("METHOD:REQUEST", "METHOD:CANCEL")
    assert lines.index(methods[0]) < lines.index("BEGIN:VTIMEZONE") < lines.index("BEGIN:VEVENT")
    # One VEVENT, not recurring (RRULE only inside the VTIMEZONE).
    assert lines.count("BEGIN:VEVENT") == 1
    assert not [
        line for line in vevent_lines(data) if re.match(r"(RRULE|RDATE|EXDATE|RECURRENCE-ID)", line)
    ]
    # The calendar-level UID added by Calendar.new() is gone.
    assert props(data, "UID") == [f"UID:{FIXED_UID}"]
    # No calendar name: that is for feeds, not invitations.
    for name in ("X-WR-CALNAME", "X-WR-TIMEZONE", "NAME"):
        assert not props(data, name), name
    assert b"collective//icalendar" not in data


def test_a1_parses_with_icalendar() -> None:
    cal = Calendar.from_ical(ics_request())
    assert cal["METHOD"] == "REQUEST"
    assert len(list(cal.walk("VEVENT"))) == 1
    assert not cal.get_missing_tzids()
    assert "UID" not in cal


# --- UID, SEQUENCE, DTSTAMP --------------------------------------------------------------


def test_a2_new_uid_is_random_uuid4() -> None:
    uids = {new_uid() for _ in range(100)}
    assert len(uids) == 100
    assert all(UUID4.match(u) for u in uids)


def test_a2_uid_is_the_stored_one_every_time() -> None:
    # Building the message twice for the same booking keeps the stored UID (icalendar would
    # invent a new one if it were not passed).
    event = make_event(uid=new_uid())
    first, second = ics_request(event), ics_request(replace(event, stamp=datetime.now(UTC)))
    assert props(first, "UID") == props(second, "UID") == [f"UID:{event.uid}"]
    assert UUID4.match(event.uid)


@pytest.mark.parametrize("bad", ["", "booking-17@umic.example.org", FIXED_UID.upper()])
def test_a2_uid_must_be_a_canonical_uuid(bad: str) -> None:
    with pytest.raises(ValueError, match="uid"):
        ics_request(make_event(uid=bad))


@pytest.mark.parametrize("sequence", [0, 1, 7])
def test_a3_sequence_always_written(sequence: int) -> None:
    # SEQUENCE:0 included (icalendar writes none unless it is passed).
    for data in (
        ics_request(make_event(sequence=sequence)),
        ics_cancel(make_event(sequence=sequence)),
    ):
        assert props(data, "SEQUENCE") == [f"SEQUENCE:{sequence}"]


@pytest.mark.parametrize("bad", [-1, True, "1"])
def test_a3_sequence_validated(bad) -> None:
    with pytest.raises(ValueError, match="sequence"):
        ics_request(make_event(sequence=bad))


def test_a3_retry_of_same_revision_is_identical() -> None:
    # Building the same revision again gives the same SEQUENCE and the same bytes.
    event = make_event(sequence=4)
    assert ics_request(event) == ics_request(event)


def test_a4_dtstamp_is_utc_generation_time() -> None:
    now = datetime.now(UTC)
    data = ics_request(make_event(stamp=now))
    (line,) = props(data, "DTSTAMP")
    assert re.fullmatch(r"DTSTAMP:\d{8}T\d{6}Z", line)
    stamp = datetime.strptime(line, "DTSTAMP:%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(stamp - now) < timedelta(minutes=1)


def test_a4_dtstamp_converted_to_utc() -> None:
    # An aware non-UTC stamp is still written in UTC.
    data = ics_request(make_event(stamp=datetime(2026, 7, 1, 10, 0, 30, tzinfo=MADRID)))
    assert props(data, "DTSTAMP") == ["DTSTAMP:20260701T080030Z"]


@pytest.mark.parametrize("field", ["start", "end", "stamp"])
def test_a5_naive_datetimes_refused(field: str) -> None:
    # A naive time would be floating (or wrongly UTC for DTSTAMP).
    event = make_event()
    naive = getattr(event, field).replace(tzinfo=None)
    with pytest.raises(ValueError, match="timezone-aware"):
        ics_request(replace(event, **{field: naive}))


def test_a5_end_after_start() -> None:
    event = make_event()
    with pytest.raises(ValueError, match="end"):
        ics_request(replace(event, end=event.start))


# --- start/end, VTIMEZONE -------------------------------------------------------------------


def test_a5_dtstart_dtend_madrid_local() -> None:
    data = ics_request(make_event(madrid(2026, 6, 15)))
    assert event_props(data, "DTSTART") == ["DTSTART;TZID=Europe/Madrid:20260615T100000"]
    assert props(data, "DTEND") == ["DTEND;TZID=Europe/Madrid:20260615T103000"]
    assert not props(data, "DURATION")  # DTEND, not DURATION
    assert b"TZID=UTC" not in data
    for line in vevent_lines(data):
        if line.startswith(("DTSTART", "DTEND")):
            assert re.fullmatch(r"DT(START|END);TZID=Europe/Madrid:\d{8}T\d{6}", line)


def test_a5_fallback_other_zone_uses_utc() -> None:
    # Fallback: any tzid but Europe/Madrid gives UTC times and no VTIMEZONE.
    data = ics_request(make_event(madrid(2026, 6, 15), tzid="Europe/Lisbon"))
    assert b"BEGIN:VTIMEZONE" not in data
    assert event_props(data, "DTSTART") == ["DTSTART:20260615T080000Z"]
    assert props(data, "DTEND") == ["DTEND:20260615T083000Z"]
    assert b"TZID" not in data
    assert not Calendar.from_ical(data).get_missing_tzids()


def test_a5_unknown_tzid_refused() -> None:
    with pytest.raises(ValueError, match="tzid"):
        ics_request(make_event(tzid="Europe/Nowhere"))


def test_a6_1_one_vtimezone_before_vevent() -> None:
    data = ics_request()
    lines = unfolded(data)
    assert lines.count("BEGIN:VTIMEZONE") == 1
    assert lines.index("BEGIN:VTIMEZONE") < lines.index("BEGIN:VEVENT")
    assert "TZID:Europe/Madrid" in lines
    tzids = set(re.findall(r";TZID=([^;:]+)[;:]", "\n".join(lines)))
    assert tzids == {"Europe/Madrid"}


def test_a6_2_vtimezone_exact_lines() -> None:
    text = madrid_vtimezone().to_ical().decode()
    assert text == (
        "BEGIN:VTIMEZONE\r\n"
        "TZID:Europe/Madrid\r\n"
        "BEGIN:DAYLIGHT\r\n"
        "DTSTART:19700329T020000\r\n"
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n"
        "TZNAME:CEST\r\n"
        "TZOFFSETFROM:+0100\r\n"
        "TZOFFSETTO:+0200\r\n"
        "END:DAYLIGHT\r\n"
        "BEGIN:STANDARD\r\n"
        "DTSTART:19701025T030000\r\n"
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n"
        "TZNAME:CET\r\n"
        "TZOFFSETFROM:+0200\r\n"
        "TZOFFSETTO:+0100\r\n"
        "END:STANDARD\r\n"
        "END:VTIMEZONE\r\n"
    )
    assert "RDATE" not in text


def test_a6_3_offsets_match_zoneinfo_for_two_years() -> None:
    # lookup_tzid=False, or icalendar returns ZoneInfo("Europe/Madrid") by name and the
    # comparison proves nothing about our VTIMEZONE.
    cal = Calendar.from_ical(ics_request())
    ours = cal.timezones[0].to_tz(lookup_tzid=False)
    assert not isinstance(ours, ZoneInfo)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    mismatches = []
    for hour in range(2 * 366 * 24):
        instant = start + timedelta(hours=hour)
        if instant.astimezone(ours).utcoffset() != instant.astimezone(MADRID).utcoffset():
            mismatches.append(instant)
    assert not mismatches, mismatches[:5]


# --- three parsers against zoneinfo, around the daylight-saving changes -------------------
# icalendar's own generated VTIMEZONE made ical.js and vobject an hour late on the summer
# dates of this list (docs/invitations.md, "Known client bugs"); ours must not.

T1_DATES = [
    # (date, expected UTC hour of a 10:00 Madrid appointment).
    ((2026, 3, 28), 9),  # CET
    ((2026, 3, 29), 8),  # change day
    ((2026, 3, 30), 8),  # Monday after the change
    ((2026, 6, 15), 8),  # summer
    ((2026, 10, 25), 9),  # back to CET
    ((2026, 10, 26), 9),  # Monday after
    ((2027, 3, 28), 8),  # next change days
    ((2027, 10, 31), 9),
    ((2030, 7, 1), 8),  # far summer
]
T1_IDS = ["{:04d}-{:02d}-{:02d}".format(*d) for d, _ in T1_DATES]


@pytest.fixture(params=T1_DATES, ids=T1_IDS)
def t1_case(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, datetime]:
    (year, month, day), hour = request.param
    expected = madrid(year, month, day)
    # The zoneinfo side of the table, stated explicitly.
    assert expected == datetime(year, month, day, hour, tzinfo=UTC)
    # Booked in winter (DTSTAMP in February) whatever the date: "summer slot booked in winter".
    path = write(tmp_path, "invite.ics", ics_request(make_event(expected)))
    return path, expected


def test_t1_icaljs(t1_case) -> None:
    path, expected = t1_case
    js = inspect_icaljs(path, expected)  # exits 1 on mismatch
    assert js["start_utc"] == utc_text(expected)
    assert js["start_zone"] == "Europe/Madrid"
    assert js["duration_min"] == 30


def test_t1_libical(t1_case) -> None:
    path, expected = t1_case
    lib = libical_check(path)
    assert lib["zone_from_file"] is True
    assert lib["dtstart_utc"] == utc_text(expected)
    assert lib["dtend_utc"] == utc_text(expected + timedelta(minutes=30))


def test_t1_vobject(t1_case) -> None:
    path, expected = t1_case
    assert vobject_start_utc(path) == expected


def test_a5_1_not_floating_in_another_system_zone(tmp_path: Path) -> None:
    # With TZ=America/New_York a correct file gives the same output; a floating time moves.
    path = write(tmp_path, "invite.ics", ics_request(make_event(madrid(2026, 3, 30, 9, 30))))
    here = inspect_icaljs(path, madrid(2026, 3, 30, 9, 30), tz="UTC")
    there = inspect_icaljs(path, madrid(2026, 3, 30, 9, 30), tz="America/New_York")
    assert here == there
    assert here["start_zone"] != "FLOATING"


def test_oracles_read_the_files_vtimezone(tmp_path: Path) -> None:
    """The three oracles use the file's VTIMEZONE, not a zone looked up by name."""
    good = ics_request(make_event(madrid(2026, 6, 15)))
    broken = good.replace(b"TZOFFSETTO:+0200", b"TZOFFSETTO:+0500")
    path = write(tmp_path, "broken.ics", broken)
    wrong = "2026-06-15T05:00:00Z"
    assert inspect_icaljs(path)["start_utc"] == wrong
    assert libical_check(path)["dtstart_utc"] == wrong
    assert vobject_start_utc(path) == datetime(2026, 6, 15, 5, tzinfo=UTC)


def test_fallback_utc_through_parsers(tmp_path: Path) -> None:
    expected = madrid(2026, 6, 15)
    path = write(tmp_path, "utc.ics", ics_request(make_event(expected, tzid="UTC")))
    assert inspect_icaljs(path, expected)["start_zone"] == "UTC"
    assert libical_check(path)["dtstart_utc"] == utc_text(expected)
    assert vobject_start_utc(path) == expected


# --- ORGANIZER, ATTENDEE ------------------------------------------------------------------


def test_a7_organizer_bare_mailto() -> None:
    for data in (ics_request(), ics_cancel()):
        (line,) = props(data, "ORGANIZER")
        assert re.fullmatch(r"ORGANIZER(;[^:]*)?:mailto:[^<>\s]+@[^<>\s]+", line)
        assert line.endswith(":mailto:cites@example.org")


def test_a7_3_organizer_never_attendee() -> None:
    with pytest.raises(ValueError, match="organizer"):
        ics_request(who=Person("CITES@example.org", "Servei"))


@pytest.mark.parametrize(
    ("role", "params"),
    [
        ("citizen", "PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE"),
        ("technician", "PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT;RSVP=FALSE"),
    ],
)
def test_a8_attendee_only_the_recipient(role: str, params: str) -> None:
    who = CITIZEN if role == "citizen" else TECH_B
    for method in ("REQUEST", "CANCEL"):
        data = invitation(make_event(), who, method=method, role=role)
        # Only this recipient, with the same parameters in REQUEST and CANCEL.
        (line,) = props(data, "ATTENDEE")
        assert line.endswith(f";{params}:mailto:{who.email}")
        assert line.startswith(f'ATTENDEE;CN="{who.name}";') or line.startswith(
            f"ATTENDEE;CN={who.name};"
        )


def test_a8_unknown_role_or_method_refused() -> None:
    with pytest.raises(ValueError, match="role"):
        invitation(make_event(), CITIZEN, method="REQUEST", role="coordinator")
    with pytest.raises(ValueError, match="method"):
        invitation(make_event(), CITIZEN, method="PUBLISH", role="citizen")
    with pytest.raises(ValueError, match="uninvite"):
        invitation(make_event(), TECH_A, method="REQUEST", role="technician", uninvite=True)


NAMES = ["Núria Puig i Solà", "Jordi: l'advocat; cap, de", 'Pere "Peret" Martí', "Anna^Maria"]


@pytest.mark.parametrize("name", NAMES)
def test_a8_3_cn_round_trip_ics(name: str) -> None:
    data = ics_request(who=Person("persona@example.net", name))
    (line,) = props(data, "ATTENDEE")
    # No RFC 6868 escapes in the output (some parsers show them literally); '"' and '^' are
    # dropped.
    for escape in ("^'", "^^", "^n"):
        assert escape not in line
    expected = name.replace('"', "").replace("^", "")
    cal = Calendar.from_ical(data)
    attendee = next(iter(cal.walk("VEVENT"))).get("ATTENDEE")
    assert attendee.params["CN"] == expected
    # icalendar quotes the value when it holds ':;,'.
    if any(c in expected for c in ":;,"):
        assert f'CN="{expected}"' in line


@pytest.mark.parametrize("name", NAMES)
def test_a8_3_cn_round_trip_icaljs_vobject(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, "cn.ics", ics_request(who=Person("persona@example.net", name)))
    expected = name.replace('"', "").replace("^", "")
    assert inspect_icaljs(path)["attendees"][0]["cn"] == expected
    assert vobject_read(path)["attendees"][0]["cn"] == expected


def test_a8_cn_line_break_cannot_inject() -> None:
    data = ics_request(who=Person("persona@example.net", "Evil\r\nATTENDEE:mailto:evil@x"))
    assert len(props(data, "ATTENDEE")) == 1
    assert b"^n" not in data


def test_empty_name_gives_no_cn() -> None:
    data = ics_request(who=Person("persona@example.net", '  "" '))
    assert props(data, "ATTENDEE")[0].startswith("ATTENDEE;PARTSTAT=")


# --- STATUS/content per method, video link, VALARM, X-properties ----------------------------


def test_a9_status_per_method() -> None:
    assert props(ics_request(), "STATUS") == ["STATUS:CONFIRMED"]
    assert props(ics_cancel(), "STATUS") == ["STATUS:CANCELLED"]
    uninvite = invitation(make_event(), TECH_A, method="CANCEL", role="technician", uninvite=True)
    assert props(uninvite, "STATUS") == []
    assert props(uninvite, "METHOD") == ["METHOD:CANCEL"]
    for data in (ics_request(), ics_cancel(), uninvite):
        assert props(data, "TRANSP") == ["TRANSP:OPAQUE"]  # busy time


def test_a9_2_cancel_keeps_content_and_has_no_valarm() -> None:
    event = make_event(sequence=3)
    req, can = ics_request(event), ics_cancel(event)
    for name in ("UID", "ORGANIZER", "DTSTART", "DTEND", "SUMMARY", "ATTENDEE", "SEQUENCE"):
        assert props(req, name) == props(can, name), name
    assert b"BEGIN:VALARM" not in can
    assert b"BEGIN:VALARM" in req


def test_a10_link_everywhere() -> None:
    data = ics_request()
    assert props(data, "LOCATION") == [f"LOCATION:{LINK}"]
    assert props(data, "URL") == [f"URL:{LINK}"]
    (desc,) = event_props(data, "DESCRIPTION")
    assert f"\\n{LINK}\\n" in desc
    assert "hora de Madrid" in desc
    # Never X-GOOGLE-CONFERENCE: Google's export property, no use in an inbound invitation.
    assert b"X-GOOGLE-CONFERENCE" not in data


@pytest.mark.parametrize(
    "description",
    ["Cita de consum.", "", f"Enllaç: {LINK}", "Línia 1\r\nLínia 2\r"],
    ids=["no-link", "empty", "link-inline", "crlf"],
)
def test_a10_link_added_on_its_own_line(description: str) -> None:
    data = ics_request(make_event(description=description))
    text = Calendar.from_ical(data).walk("VEVENT")[0]["DESCRIPTION"]
    assert LINK in text.split("\n")
    assert "\r" not in text


def test_a10_link_not_duplicated_when_present() -> None:
    text = Calendar.from_ical(ics_request()).walk("VEVENT")[0]["DESCRIPTION"]
    assert text.count(LINK) == 1


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "https://x.test/a b", "https://x.test/\r\nATTENDEE:x", ""]
)
def test_a10_bad_link_refused(link: str) -> None:
    with pytest.raises(ValueError, match="link"):
        ics_request(make_event(link=link, description="x"))


def test_a10_teams_link_round_trip(tmp_path: Path) -> None:
    teams = (
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjQ2YmE4ZTMtYjM0Zi00"
        "%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1%22%2c%22Oid%22%3a%22a1b2%22%7d"
    )
    path = write(tmp_path, "teams.ics", ics_request(make_event(link=teams)))
    js = inspect_icaljs(path)
    assert js["location"] == js["url"] == teams
    assert teams in js["description"].split("\n")


def test_a11_one_display_alarm_last() -> None:
    data = ics_request()
    lines = vevent_lines(data)
    assert lines.count("BEGIN:VALARM") == 1
    start = lines.index("BEGIN:VALARM")
    assert lines[start:] == [
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{SUMMARY}",
        "TRIGGER:-PT15M",
        "END:VALARM",
        "END:VEVENT",
    ]


@pytest.mark.parametrize("minutes", [None, 0])
def test_a11_alarm_optional(minutes) -> None:
    assert b"VALARM" not in ics_request(make_event(alarm_minutes=minutes))


def test_a12_microsoft_properties() -> None:
    req, can = ics_request(), ics_cancel()
    assert props(req, "X-MICROSOFT-CDO-BUSYSTATUS") == ["X-MICROSOFT-CDO-BUSYSTATUS:BUSY"]
    assert props(req, "X-MICROSOFT-CDO-INTENDEDSTATUS") == ["X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY"]
    for data in (req, can):
        assert props(data, "X-MICROSOFT-DISALLOW-COUNTER") == ["X-MICROSOFT-DISALLOW-COUNTER:TRUE"]


# --- lexical rules ------------------------------------------------------------------------

LONG_TEXT = "àèéíòóúç ñ € l·l 🙂 " * 12


def lexical_samples() -> list[bytes]:
    event = make_event(
        summary="Atenció " + LONG_TEXT,
        description=LONG_TEXT + "\n" + LONG_TEXT,
        organizer=Person("cites@example.org", "Servei " + LONG_TEXT[:80]),
    )
    who = Person("persona@example.net", "Núria " + LONG_TEXT[:90])
    return [
        invitation(event, who, method="REQUEST", role="citizen"),
        invitation(event, who, method="CANCEL", role="citizen"),
        download(event),
        ics_request(),
    ]


@pytest.mark.parametrize("data", lexical_samples(), ids=["request", "cancel", "publish", "plain"])
def test_a13_1_2_crlf_and_folding(data: bytes) -> None:
    # Only CRLF, no CR CR LF, exactly one CRLF at the end.
    assert not re.search(rb"\r(?!\n)|(?<!\r)\n", data)
    assert b"\r\r\n" not in data
    assert data.endswith(b"END:VCALENDAR\r\n") and not data.endswith(b"\r\n\r\n")
    # <= 75 octets per physical line, each decodable on its own (no split character).
    physical = data.split(b"\r\n")[:-1]
    for line in physical:
        assert len(line) <= 75, line
        line.decode("utf-8")
        assert line  # no empty line
    assert any(line.startswith(b" ") for line in physical)  # the samples do fold


def test_a13_3_text_escaping() -> None:
    event = make_event(summary="Cita: a, b; c \\ d", description="Línia 1\nLínia 2; a, b")
    data = ics_request(event)
    assert props(data, "SUMMARY") == ["SUMMARY:Cita: a\\, b\\; c \\\\ d"]
    (desc,) = event_props(data, "DESCRIPTION")
    assert desc.startswith("DESCRIPTION:Línia 1\\nLínia 2\\; a\\, b\\n")
    vevent = Calendar.from_ical(data).walk("VEVENT")[0]
    assert vevent["SUMMARY"] == "Cita: a, b; c \\ d"


def test_a13_3_4_text_round_trip_parsers(tmp_path: Path) -> None:
    summary = "Cita: a, b; c \\ d àèéíòóúç ñ € l·l"
    description = f"Línia 1 àèéíòóúç ñ € l·l\nLínia 2; a, b\n{LINK}"
    path = write(
        tmp_path,
        "text.ics",
        ics_request(make_event(summary=summary, description=description), CITIZEN),
    )
    js = inspect_icaljs(path)
    assert js["summary"] == summary
    assert js["description"] == description
    assert js["attendees"][0]["cn"] == CITIZEN.name
    vo = vobject_read(path)
    assert vo["summary"] == summary
    assert vo["description"] == description
    lib = libical_check(path)
    assert lib["summary"] == summary
    assert lib["description"] == description


def test_a13_4_no_bom_utf8() -> None:
    data = ics_request(make_event(summary="àèéíòóúç ñ € l·l"))
    assert "àèéíòóúç ñ € l·l".encode() in data
    assert b"\xef\xbb\xbf" not in data


def test_a13_5_injection_in_summary_and_description() -> None:
    event = make_event(
        summary="x\r\nATTENDEE:mailto:evil@x", description="y\r\nORGANIZER:mailto:evil@x\rz"
    )
    data = ics_request(event)
    assert len(props(data, "SUMMARY")) == 1
    assert len(props(data, "ATTENDEE")) == 1
    assert len(props(data, "ORGANIZER")) == 1
    assert b"evil@x" not in b"".join(
        line.encode() for line in unfolded(data) if line.startswith(("ATTENDEE", "ORGANIZER"))
    )
    assert props(data, "SUMMARY") == ["SUMMARY:x ATTENDEE:mailto:evil@x"]


@pytest.mark.parametrize(
    "email", ["x@ex\r\nATTENDEE:mailto:evil@x", "x@ex\nfoo", "Name <x@example.org>", "x y@ex", ""]
)
def test_a13_5_bad_addresses_refused(email: str) -> None:
    with pytest.raises(ValueError):
        ics_request(who=Person(email, "X"))
    with pytest.raises(ValueError):
        ics_request(make_event(organizer=Person(email, "X")))


@pytest.mark.parametrize("field", ["prodid", "tzid"])
def test_a13_5_single_line_fields(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ics_request(replace(make_event(), **{field: "a\r\nATTENDEE:mailto:evil@x"}))


# --- a booking's lifecycle -----------------------------------------------------------------


@dataclass
class Sent:
    step: str
    who: Person
    role: str
    method: str
    uninvite: bool
    event: EventData
    data: bytes
    path: Path

    @property
    def expected_status(self) -> str | None:
        if self.method == "REQUEST":
            return "CONFIRMED"
        return None if self.uninvite else "CANCELLED"


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory: pytest.TempPathFactory) -> list[Sent]:
    """create (winter) -> reschedule across the March DST change -> reassign -> cancel.

    Each message is labelled with its step: "B1" created, "B2" rescheduled, "B4" reassigned,
    "B5" cancelled. A change of link has a test of its own (test_b3_link_change_...).
    """
    tmp = tmp_path_factory.mktemp("lifecycle")
    uid = new_uid()  # made once at booking time, stored
    stamp = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    sent: list[Sent] = []

    def send(step, event, who, role, method, uninvite=False):
        data = invitation(event, who, method=method, role=role, uninvite=uninvite)
        name = f"{len(sent):02d}-{step}-{role}-{method.lower()}.ics"
        sent.append(Sent(step, who, role, method, uninvite, event, data, write(tmp, name, data)))

    # Booking created, seq 0, winter date.
    ev = make_event(madrid(2026, 3, 20, 10), uid=uid, sequence=0, stamp=stamp)
    send("B1", ev, CITIZEN, "citizen", "REQUEST")
    send("B1", ev, TECH_A, "technician", "REQUEST")
    # Rescheduled across the change (summer slot), seq 1.
    ev = make_event(
        madrid(2026, 4, 2, 9, 30), uid=uid, sequence=1, stamp=stamp + timedelta(hours=1)
    )
    send("B2", ev, CITIZEN, "citizen", "REQUEST")
    send("B2", ev, TECH_A, "technician", "REQUEST")
    # Technician reassigned, seq 2: uninvite A, invite B, update the citizen.
    ev = replace(ev, sequence=2, stamp=stamp + timedelta(hours=2))
    send("B4", ev, TECH_A, "technician", "CANCEL", uninvite=True)
    send("B4", ev, TECH_B, "technician", "REQUEST")
    send("B4", ev, CITIZEN, "citizen", "REQUEST")
    # Cancelled, seq 3, to both current participants.
    ev = replace(ev, sequence=3, stamp=stamp + timedelta(hours=3))
    send("B5", ev, CITIZEN, "citizen", "CANCEL")
    send("B5", ev, TECH_B, "technician", "CANCEL")
    return sent


def test_b_lifecycle_ics(lifecycle: list[Sent]) -> None:
    uids = {props(s.data, "UID")[0] for s in lifecycle}
    assert len(uids) == 1  # one UID for the booking's whole life
    assert UUID4.match(uids.pop().removeprefix("UID:"))
    organizers = {props(s.data, "ORGANIZER")[0] for s in lifecycle}
    assert len(organizers) == 1  # the organizer never changes
    by_step = {}
    for s in lifecycle:
        by_step.setdefault(s.step, []).append(s)
        assert props(s.data, "METHOD") == [f"METHOD:{s.method}"]
        assert props(s.data, "SEQUENCE") == [f"SEQUENCE:{s.event.sequence}"]
        status = props(s.data, "STATUS")
        assert status == ([f"STATUS:{s.expected_status}"] if s.expected_status else [])
        (attendee,) = props(s.data, "ATTENDEE")  # one message per recipient
        assert attendee.endswith(f":mailto:{s.who.email}")
        assert (b"BEGIN:VALARM" in s.data) == (s.method == "REQUEST")  # no alarm in CANCEL
    assert [s.event.sequence for s in lifecycle] == [0, 0, 1, 1, 2, 2, 2, 3, 3]
    # Creation: both copies agree on UID, SEQUENCE and DTSTART.
    first, second = by_step["B1"]
    for name in ("UID", "SEQUENCE", "DTSTART", "DTEND", "DTSTAMP"):
        assert props(first.data, name) == props(second.data, name)
    # Reschedule: new time, newer DTSTAMP.
    assert event_props(by_step["B2"][0].data, "DTSTART") != event_props(first.data, "DTSTART")
    # Per recipient, SEQUENCE and DTSTAMP strictly increase.
    for who in (CITIZEN, TECH_A, TECH_B):
        mine = [s for s in lifecycle if s.who == who]
        seqs = [s.event.sequence for s in mine]
        stamps = [props(s.data, "DTSTAMP")[0] for s in mine]
        assert seqs == sorted(set(seqs)), who
        assert stamps == sorted(set(stamps)), who
    # Reassignment: the old technician gets a CANCEL without STATUS naming only him.
    (uninvite,) = [s for s in lifecycle if s.uninvite]
    assert uninvite.who == TECH_A and uninvite.event.sequence == 2


def test_b_lifecycle_icaljs(lifecycle: list[Sent]) -> None:
    results = [inspect_icaljs(s.path, s.event.start) for s in lifecycle]
    assert len({r["uid"] for r in results}) == 1
    assert [r["sequence"] for r in results] == [s.event.sequence for s in lifecycle]
    assert len({r["organizer"]["value"] for r in results}) == 1
    for s, r in zip(lifecycle, results, strict=True):
        assert r["method"] == s.method
        assert r["vevent_count"] == 1
        assert r["status"] == s.expected_status
        assert r["start_zone"] == "Europe/Madrid"
        assert r["duration_min"] == 30
        assert r["location"] == r["url"] == LINK
        assert LINK in r["description"].split("\n")
        assert r["vtimezones"] == [
            {
                "tzid": "Europe/Madrid",
                "standard": 1,
                "daylight": 1,
                "uses_rdate": False,
                "rrules": ["FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"],
            }
        ]
        (attendee,) = r["attendees"]
        assert attendee["value"] == f"mailto:{s.who.email}"
        assert attendee["role"] == "REQ-PARTICIPANT"
        partstat, rsvp = ("NEEDS-ACTION", "TRUE") if s.role == "citizen" else ("ACCEPTED", "FALSE")
        assert (attendee["partstat"], attendee["rsvp"]) == (partstat, rsvp)
        assert len(r["alarms"]) == (1 if s.method == "REQUEST" else 0)
        assert r["recurrence_properties"] == []
        assert r["dtstamp_zone"] == "UTC"


def test_b_lifecycle_libical(lifecycle: list[Sent]) -> None:
    for s in lifecycle:
        lib = libical_check(s.path)  # restriction_check clean for every REQUEST/CANCEL
        assert lib["method"] == s.method
        assert lib["uid"] == s.event.uid
        assert lib["sequence"] == s.event.sequence
        assert lib["dtstart_utc"] == utc_text(s.event.start)


def test_b_lifecycle_vobject(lifecycle: list[Sent]) -> None:
    for s in lifecycle:
        if s.step in ("B1", "B2"):  # one per distinct start is enough (one process each)
            assert vobject_start_utc(s.path) == s.event.start


def test_b3_link_change_is_a_new_revision() -> None:
    # A new link is a change the attendees see: same times, SEQUENCE + 1, REQUEST.
    before = make_event(sequence=1)
    new_link = "https://meet.jit.si/umic-0a1b2c3d4e5f6g7h8i9j0k1l"
    after = replace(
        before,
        sequence=2,
        link=new_link,
        description=description_for(before.start, new_link),
        stamp=before.stamp + timedelta(minutes=5),
    )
    old, new = ics_request(before), ics_request(after)
    assert event_props(new, "DTSTART") == event_props(old, "DTSTART")
    assert props(new, "SEQUENCE") == ["SEQUENCE:2"]
    assert props(new, "LOCATION") == [f"LOCATION:{new_link}"]
    assert props(new, "DTSTAMP")[0] > props(old, "DTSTAMP")[0]


# --- libical as an oracle: it does catch what it should -------------------------------------


def test_libical_rejects_broken_itip(tmp_path: Path) -> None:
    good = ics_request()
    no_attendee = b"".join(
        line + b"\r\n"
        for line in good.replace(b"\r\n ", b"").split(b"\r\n")[:-1]
        if not line.startswith(b"ATTENDEE")
    )
    result = libical_check(write(tmp_path, "a.ics", no_attendee), expect_clean=False)
    assert not result["itip_ok"] and any("ATTENDEE" in e for e in result["errors"])
    cancelled_request = good.replace(b"STATUS:CONFIRMED", b"STATUS:CANCELLED")
    result = libical_check(write(tmp_path, "b.ics", cancelled_request), expect_clean=False)
    assert not result["itip_ok"]


# --- PUBLISH download and web links -------------------------------------------------------


def test_download_is_plain_icalendar_without_people(tmp_path: Path) -> None:
    event = make_event(sequence=2)
    data = download(event)
    assert props(data, "METHOD") == []
    assert not props(data, "ORGANIZER") and not props(data, "ATTENDEE")
    assert props(data, "UID") == [f"UID:{FIXED_UID}"]
    assert props(data, "SEQUENCE") == ["SEQUENCE:2"]
    assert props(data, "STATUS") == ["STATUS:CONFIRMED"]
    assert not Calendar.from_ical(data).get_missing_tzids()
    path = write(tmp_path, "add.ics", data)
    js = inspect_icaljs(path, event.start)
    assert js["method"] is None and js["organizer"] is None and js["attendees"] == []


@pytest.mark.parametrize("cancelled", [False, True])
def test_download_passes_rfc5545_and_rfc5546_checks(tmp_path: Path, cancelled: bool) -> None:
    # ICS review §3.1: with METHOD:PUBLISH, RFC 5546 §3.2.1 wanted an ORGANIZER that RFC
    # 5545 §3.8.4.3 forbids in a non-scheduling event. Without METHOD both hold: libical
    # finds nothing at all (docs/invitations.md, "Files that are not invitations").
    path = write(tmp_path, "add.ics", download(make_event(), cancelled=cancelled))
    result = libical_check(path, expect_clean=False)
    assert result["parse_errors"] == [] and result["errors"] == []
    assert result["method"] in (None, "", "NONE")
    assert result["dtstart_utc"] == utc_text(make_event().start)


def test_a_cancelled_download_is_the_cancelled_event(tmp_path: Path) -> None:
    event = make_event(sequence=3)
    data = download(event, cancelled=True)
    assert props(data, "STATUS") == ["STATUS:CANCELLED"]
    assert props(data, "SEQUENCE") == ["SEQUENCE:3"]
    assert props(data, "UID") == [f"UID:{FIXED_UID}"]
    assert props(data, "METHOD") == [] and b"BEGIN:VALARM" not in data
    path = write(tmp_path, "cancelled.ics", data)
    js = inspect_icaljs(path, event.start)
    assert js["status"] == "CANCELLED" and js["sequence"] == 3 and js["alarms"] == []
    assert js["uid"] == FIXED_UID


@pytest.mark.parametrize(
    ("start", "dates"),
    [
        (madrid(2026, 6, 15), "20260615T080000Z/20260615T083000Z"),
        (madrid(2026, 12, 14, 16, 30), "20261214T153000Z/20261214T160000Z"),
    ],
)
def test_google_calendar_url(start: datetime, dates: str) -> None:
    url = google_calendar_url(make_event(start))
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "calendar.google.com",
        "/calendar/render",
    )
    query = parse_qs(parts.query, strict_parsing=True)
    assert query["action"] == ["TEMPLATE"]
    assert query["dates"] == [dates]
    assert f"dates={dates}" in url
    assert query["text"] == [SUMMARY]
    assert query["location"] == [LINK]
    assert query["ctz"] == ["Europe/Madrid"]
    assert LINK in query["details"][0].split("\n")
    assert "+" not in url and " " not in url


@pytest.mark.parametrize(
    ("start", "startdt", "enddt"),
    [
        (madrid(2026, 6, 15), "2026-06-15T08:00:00Z", "2026-06-15T08:30:00Z"),
        (madrid(2026, 12, 14, 16, 30), "2026-12-14T15:30:00Z", "2026-12-14T16:00:00Z"),
    ],
)
def test_outlook_calendar_url(start: datetime, startdt: str, enddt: str) -> None:
    url = outlook_calendar_url(make_event(start))
    parts = urlsplit(url)
    assert url.startswith("https://outlook.live.com/calendar/0/deeplink/compose?")
    query = parse_qs(parts.query, strict_parsing=True)
    assert query["path"] == ["/calendar/action/compose"]
    assert query["rru"] == ["addevent"]
    assert query["startdt"] == [startdt]
    assert query["enddt"] == [enddt]
    assert query["subject"] == [SUMMARY]
    assert query["location"] == [LINK]
    assert LINK in query["body"][0].split("\n")


def test_web_links_escape_special_characters() -> None:
    event = make_event(summary="Cita & més = 100% #1?", description="a&b=c")
    for url in (google_calendar_url(event), outlook_calendar_url(event)):
        query = parse_qs(urlsplit(url).query)
        assert (query.get("text") or query.get("subject")) == ["Cita & més = 100% #1?"]


# --- golden file ----------------------------------------------------------------------------


def golden_bytes() -> bytes:
    """One fixed booking, DTSTAMP masked, CRLF shown as LF for a readable diff."""
    event = make_event(madrid(2026, 10, 26, 9, 30), sequence=1)
    data = invitation(event, CITIZEN, method="REQUEST", role="citizen")
    masked = re.sub(rb"DTSTAMP:\d{8}T\d{6}Z", b"DTSTAMP:<masked>", data)
    return masked.replace(b"\r\n", b"\n")


def test_golden_file() -> None:
    """An icalendar upgrade (or any serializer change) shows up as a diff here.

    Regenerate after reviewing the change: ``UMIC_UPDATE_GOLDEN=1 pytest tests/unit``.
    """
    current = golden_bytes()
    if os.environ.get("UMIC_UPDATE_GOLDEN") == "1":
        GOLDEN.write_bytes(current)
    assert GOLDEN.read_bytes().replace(b"\r\n", b"\n") == current


def test_uuid_helper_matches_stdlib() -> None:
    assert uuid.UUID(new_uid()).version == 4
