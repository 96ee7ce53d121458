"""Calendar invitations over a booking's whole life, through the real web flows and real SMTP.

Book -> reschedule (/cita/<token>/planifica + confirma) -> cancel (/cita/<token>/anulla), with
the CSRF tokens of the pages; the outbox worker sends to an aiosmtpd server on loopback; every
received e-mail goes through the MIME check (tests/support/mimecheck.py) and its invitation
through icalendar
and the three independent parsers of tests/support/icstools.py (vobject, ical.js, libical). The
expected times come from the database.
"""

from __future__ import annotations

import email
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from email import policy
from email.utils import parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from support import icstools
from support import managing
from support.apps import smtp_config
from support.factories import make_booking
from support.factories import make_world
from support.journey import DETAILS
from support.journey import Citizen
from support.mimecheck import check_imip
from support.smtpserver import Received
from umic import clock
from umic.booking.service import find_by_token
from umic.extensions import db
from umic.mail.outbox import send_pending
from umic.models import Booking
from umic.models import OutboxMessage
from umic.web.i18n import when_text

MADRID = ZoneInfo("Europe/Madrid")
SENDER = "cites@example.org"


def _next_dst_change(today: date) -> date:
    """The next day on which Europe/Madrid changes its UTC offset."""
    noon = datetime.combine(today, time(12), tzinfo=MADRID).utcoffset()
    for days in range(1, 400):
        day = today + timedelta(days=days)
        offset = datetime.combine(day, time(12), tzinfo=MADRID).utcoffset()
        if offset != noon:
            return day
    raise AssertionError("no DST change within a year")


TODAY = clock.now().astimezone(MADRID).date()
DST_CHANGE = _next_dst_change(TODAY)
# Far enough to book a week past the next change into the other season, whatever today is.
HORIZON_DAYS = (DST_CHANGE - TODAY).days + 10


@pytest.fixture
def app_config(smtp) -> dict:
    return smtp_config(smtp, BOOKING_HORIZON_DAYS=HORIZON_DAYS)


# --- reading what arrived ---------------------------------------------------------------------


@dataclass
class Revision:
    """What the database said when a revision was sent."""

    sequence: int
    start: datetime
    end: datetime


@dataclass
class Invitation:
    """One received iMIP message, read by every parser."""

    received: Received
    recipient: str
    raw_ics: bytes
    path: Path
    cal: Calendar
    icaljs: dict
    libical: dict
    vobject: dict

    @property
    def event(self):
        return self.cal.walk("VEVENT")[0]

    @property
    def method(self) -> str:
        return str(self.cal["METHOD"])

    @property
    def sequence(self) -> int:
        return int(self.event["SEQUENCE"])


def _calendar_bytes(received: Received) -> bytes:
    msg = email.message_from_bytes(received.data, policy=policy.default)
    (part,) = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    return part.get_payload(decode=True)


def read_all(received: list[Received], tmp_path: Path) -> list[Invitation]:
    """Check each message's MIME and parse its invitation with the four parsers (in parallel)."""
    for r in received:
        check_imip(r.data)
    tmp_path.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, r in enumerate(received):
        path = tmp_path / f"invite-{i:02d}.ics"
        path.write_bytes(_calendar_bytes(r))
        paths.append(path)
    with ThreadPoolExecutor(max_workers=8) as pool:
        js = list(pool.map(icstools.inspect_icaljs, paths))
        lib = list(pool.map(icstools.libical_check, paths))
        vob = list(pool.map(icstools.vobject_read, paths))
    out = []
    for r, path, j, li, v in zip(received, paths, js, lib, vob, strict=True):
        (recipient,) = r.rcpt_tos
        data = path.read_bytes()
        out.append(Invitation(r, recipient, data, path, Calendar.from_ical(data), j, li, v))
    return out


def _mailto(value) -> str:
    text = str(value)
    assert text.lower().startswith("mailto:"), text
    return text[len("mailto:") :].casefold()


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_invitation(
    inv: Invitation,
    *,
    uid: str,
    link: str,
    revision: Revision,
    method: str,
    status: str | None,
) -> None:
    """Every property rule this test can see, on the bytes and through every parser.

    The rules and their reasons: docs/invitations.md.
    """
    msg = inv.received.message
    event = inv.event
    start_utc, end_utc = revision.start, revision.end

    # icalendar
    assert inv.method == method
    assert str(msg.get_content_type()) == "multipart/mixed"
    assert len(inv.cal.walk("VEVENT")) == 1
    assert not inv.cal.get_missing_tzids()
    assert str(event["UID"]) == uid
    assert inv.sequence == revision.sequence
    assert (str(event["STATUS"]) if "STATUS" in event else None) == status
    assert event["DTSTART"].params["TZID"] == "Europe/Madrid"
    assert event.decoded("DTSTART").astimezone(UTC) == start_utc
    assert event.decoded("DTEND").astimezone(UTC) == end_utc
    assert _mailto(event["ORGANIZER"]) == parseaddr(str(msg["From"]))[1].casefold() == SENDER
    attendees = event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    assert [_mailto(a) for a in attendees] == [parseaddr(str(msg["To"]))[1].casefold()]
    assert [_mailto(a) for a in attendees] == [inv.recipient.casefold()]
    assert str(event["LOCATION"]) == link
    assert str(event["URL"]) == link
    description = str(event["DESCRIPTION"])
    assert link in description.split("\n")
    assert when_text(start_utc, end_utc) in description  # the times it names, in words
    alarms = event.walk("VALARM")
    assert len(alarms) == (1 if method == "REQUEST" else 0)
    assert b"BEGIN:VALARM" not in inv.raw_ics or method == "REQUEST"

    # ical.js: uses only the file's own VTIMEZONE (the strict oracle for DST)
    js = inv.icaljs
    assert js["method"] == method
    assert js["vevent_count"] == 1
    assert js["uid"] == uid
    assert js["sequence"] == revision.sequence
    assert js["status"] == status
    assert js["start_zone"] == "Europe/Madrid"
    assert js["start_utc"] == _utc_text(start_utc)
    assert js["end_utc"] == _utc_text(end_utc)
    assert js["duration_min"] == 30
    assert js["location"] == js["url"] == link
    assert link in js["description"]
    assert js["organizer"]["value"].casefold() == f"mailto:{SENDER}"
    assert [a["value"].casefold() for a in js["attendees"]] == [f"mailto:{inv.recipient}"]
    assert len(js["alarms"]) == (1 if method == "REQUEST" else 0)
    assert js["vtimezones"][0]["uses_rdate"] is False

    # libical: RFC 5546 restriction check for this METHOD is clean (libical_check asserts it)
    lib = inv.libical
    assert lib["method"] == method
    assert lib["uid"] == uid
    assert lib["sequence"] == revision.sequence
    assert lib["status"] == status
    assert lib["zone_from_file"] is True
    assert lib["dtstart_utc"] == _utc_text(start_utc)
    assert lib["dtend_utc"] == _utc_text(end_utc)

    # vobject (one fresh process per file)
    vob = inv.vobject
    assert datetime.fromisoformat(vob["start_utc"]) == start_utc
    assert datetime.fromisoformat(vob["end_utc"]) == end_utc
    assert [a["value"].casefold() for a in vob["attendees"]] == [f"mailto:{inv.recipient}"]
    assert link in vob["description"]


def current(manage: str) -> Booking:
    db.session.expire_all()
    booking = find_by_token(manage.rsplit("/", 1)[1], clock.now())
    assert booking is not None
    return booking


def revision(booking: Booking) -> Revision:
    return Revision(booking.ical_sequence, booking.start_utc, booking.end_utc)


def send_all() -> int:
    report = send_pending()
    assert report.retrying == report.failed == 0
    return report.sent


def first_day_with_times(client, manage: str, after: date, *, not_on: date | None = None):
    """The first day from ``after`` on with times to move to, and those times."""
    for offset in range(0, 20):
        day = after + timedelta(days=offset)
        if day == not_on:
            continue
        times = managing.slots(client, manage, day.isoformat())
        if times:
            return day, times
    raise AssertionError(f"no free time from {after}")


def local_day(moment: datetime) -> date:
    return moment.astimezone(MADRID).date()


def offset_of(moment: datetime) -> timedelta:
    return moment.astimezone(MADRID).utcoffset()


def by_recipient(invitations: list[Invitation], address: str) -> list[Invitation]:
    return [i for i in invitations if i.recipient == address]


# --- the lifecycle ----------------------------------------------------------------------------


def test_lifecycle_book_reschedule_across_dst_cancel(app, client, smtp, tmp_path):
    # Four days before the next change of offset, whatever the day the suite runs on: the
    # booking is made in one season and moved into the other.
    clock.move_to(datetime.combine(DST_CHANGE - timedelta(days=4), time(8), tzinfo=MADRID))
    make_world()
    citizen = Citizen(client)
    today = clock.today(MADRID)
    before = next(d for d in citizen.days() if today < date.fromisoformat(d) < DST_CHANGE)
    manage = citizen.book(citizen.slots(before)[0])
    booking = current(manage)
    uid, link = booking.ical_uid, booking.video_link
    technician = booking.technician.email
    revisions = [revision(booking)]
    assert send_all() == 2

    # Move it into the other DST season (winter -> summer or summer -> winter).
    _day, times = first_day_with_times(client, manage, DST_CHANGE + timedelta(days=1))
    managing.reschedule(client, manage, times[0])
    booking = current(manage)
    assert booking.technician.email == technician  # free then too: kept
    assert offset_of(booking.start_utc) != offset_of(revisions[0].start)
    assert datetime.fromisoformat(times[0]) == booking.start_utc
    revisions.append(revision(booking))
    assert send_all() == 2

    managing.cancel(client, manage)
    booking = current(manage)
    assert booking.is_cancelled
    revisions.append(Revision(booking.ical_sequence, booking.start_utc, booking.end_utc))
    assert send_all() == 2
    assert [r.sequence for r in revisions] == [0, 1, 2]
    assert revisions[2].start == revisions[1].start

    # The cancelled booking's "Afegeix al calendari" file is the cancelled event: same UID,
    # the cancellation's SEQUENCE, STATUS:CANCELLED (ICS review §3.1), read by three parsers.
    download = client.get(f"{manage}/calendari.ics")
    assert download.status_code == 200
    assert download.headers["Cache-Control"] == "no-store"
    path = tmp_path / "cancelled-download.ics"
    path.write_bytes(download.get_data())
    event = Calendar.from_ical(download.get_data()).walk("VEVENT")[0]
    assert str(event["UID"]) == uid and str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == revisions[2].sequence
    js = icstools.inspect_icaljs(path, revisions[2].start)
    assert js["status"] == "CANCELLED" and js["sequence"] == 2 and js["method"] is None
    assert js["alarms"] == []
    lib = icstools.libical_check(path)
    assert lib["status"] == "CANCELLED" and lib["sequence"] == 2 and lib["uid"] == uid
    assert icstools.vobject_start_utc(path) == revisions[2].start

    received = smtp.messages()
    assert len(received) == 6
    invitations = read_all(received, tmp_path)
    assert {i.recipient for i in invitations} == {DETAILS["email"], technician}
    expected = [("REQUEST", "CONFIRMED"), ("REQUEST", "CONFIRMED"), ("CANCEL", "CANCELLED")]
    for address in (DETAILS["email"], technician):
        mine = by_recipient(invitations, address)
        assert [i.sequence for i in mine] == [0, 1, 2]
        assert [(i.method, str(i.event.get("STATUS"))) for i in mine] == expected
        for inv, rev, (method, status) in zip(mine, revisions, expected, strict=True):
            check_invitation(inv, uid=uid, link=link, revision=rev, method=method, status=status)
        # MIME method parameter == METHOD in the body (Outlook rejects a mismatch), also
        # for the cancellation.
        for inv in mine:
            (part,) = [
                p for p in inv.received.message.walk() if p.get_content_type() == "text/calendar"
            ]
            assert part.get_param("method").upper() == inv.method
        stamps = [i.event.decoded("DTSTAMP") for i in mine]
        assert stamps == sorted(stamps)  # never goes back (the same second is possible here)
    # Both copies of a revision agree.
    for seq in (0, 1, 2):
        pair = [i for i in invitations if i.sequence == seq]
        assert len(pair) == 2
        assert len({i.event.decoded("DTSTART") for i in pair}) == 1
        assert len({str(i.event["UID"]) for i in pair}) == 1

    # The outbox stored exactly what was sent.
    stored = {m.message_id: m for m in db.session.scalars(select(OutboxMessage))}
    for inv in invitations:
        row = stored[inv.received.message_id]
        assert row.ics == inv.raw_ics
        assert row.ical_sequence == inv.sequence and row.ics_method == inv.method


def test_reassignment_cancels_the_old_technician_and_invites_the_new_one(
    app, client, smtp, tmp_path
):
    world = make_world()
    manage = Citizen(client).book()
    booking = current(manage)
    uid, link = booking.ical_uid, booking.video_link
    old_technician = booking.technician
    old_rev = revision(booking)
    assert send_all() == 2

    # A time on another day, at which the booking's technician is taken by someone else.
    _day, times = first_day_with_times(
        client, manage, local_day(booking.start_utc) + timedelta(days=1)
    )
    new_start = datetime.fromisoformat(times[0])
    make_booking(
        world.town, world.service, old_technician, new_start, citizen_email="other@example.net"
    )
    assert times[0] in managing.slots(client, manage, _day.isoformat())  # others are free
    managing.reschedule(client, manage, times[0])
    booking = current(manage)
    new_technician = booking.technician
    assert new_technician.id != old_technician.id
    assert booking.start_utc == new_start and booking.ical_sequence == 1
    new_rev = revision(booking)
    assert send_all() == 3

    managing.cancel(client, manage)
    booking = current(manage)
    cancel_rev = revision(booking)
    assert cancel_rev.sequence == 2
    assert send_all() == 2

    received = smtp.messages()
    assert len(received) == 7
    assert not [r for r in received if "other@example.net" in r.rcpt_tos]
    invitations = read_all(received, tmp_path)
    assert {str(i.event["UID"]) for i in invitations} == {uid}

    citizen = by_recipient(invitations, DETAILS["email"])
    assert [(i.method, i.sequence) for i in citizen] == [
        ("REQUEST", 0),
        ("REQUEST", 1),
        ("CANCEL", 2),
    ]
    for inv, rev, method, status in zip(
        citizen,
        (old_rev, new_rev, cancel_rev),
        ("REQUEST", "REQUEST", "CANCEL"),
        ("CONFIRMED", "CONFIRMED", "CANCELLED"),
        strict=True,
    ):
        check_invitation(inv, uid=uid, link=link, revision=rev, method=method, status=status)

    old = by_recipient(invitations, old_technician.email)
    assert [(i.method, i.sequence) for i in old] == [("REQUEST", 0), ("CANCEL", 1)]
    check_invitation(
        old[0], uid=uid, link=link, revision=old_rev, method="REQUEST", status="CONFIRMED"
    )
    # The uninvitation: CANCEL, no STATUS (the booking goes on), the times the technician knew.
    uninvite = Revision(1, old_rev.start, old_rev.end)
    check_invitation(old[1], uid=uid, link=link, revision=uninvite, method="CANCEL", status=None)
    assert b"STATUS:" not in old[1].raw_ics
    text = old[1].received.message.get_body(("plain",)).get_content()
    assert when_text(old_rev.start, old_rev.end) in text
    assert when_text(new_rev.start, new_rev.end) not in text
    assert when_text(new_rev.start, new_rev.end) not in str(old[1].event["DESCRIPTION"])
    # The citizen moved the time: the technician is told they no longer have the call, never
    # that someone reassigned it (review L3).
    assert str(old[1].received.message["Subject"]).strip().startswith("Ja no teniu aquesta cita")

    new = by_recipient(invitations, new_technician.email)
    assert [(i.method, i.sequence) for i in new] == [("REQUEST", 1), ("CANCEL", 2)]
    check_invitation(
        new[0], uid=uid, link=link, revision=new_rev, method="REQUEST", status="CONFIRMED"
    )
    check_invitation(
        new[1], uid=uid, link=link, revision=cancel_rev, method="CANCEL", status="CANCELLED"
    )


# --- DST and the web download -----------------------------------------------------------------


def _dst_days(client) -> list[str]:
    """The change day itself (if it has times) and the first later day with times."""
    citizen = Citizen(client)
    chosen = []
    if citizen.slots(DST_CHANGE.isoformat()):
        chosen.append(DST_CHANGE.isoformat())
    for offset in range(1, 9):
        day = (DST_CHANGE + timedelta(days=offset)).isoformat()
        if citizen.slots(day):
            chosen.append(day)
            break
    assert chosen, "no bookable day after the DST change"
    return chosen


def test_bookings_in_the_other_dst_season_and_the_calendar_download(app, smtp, tmp_path):
    make_world()
    probe = app.test_client()
    checked = 0
    for day in _dst_days(probe):
        client = app.test_client()
        citizen = Citizen(client)
        times = citizen.slots(day)
        slot = next((t for t in times if t[11:16] == "10:00"), times[0])
        manage = citizen.book(slot)
        booking = current(manage)
        assert booking.start_utc == datetime.fromisoformat(slot)
        assert local_day(booking.start_utc).isoformat() == day
        # Booked today, in the other season: the offset differs from today's.
        assert offset_of(booking.start_utc) != clock.now().astimezone(MADRID).utcoffset()

        before = len(smtp.messages())
        assert send_all() == 2
        invitations = read_all(smtp.messages()[before:], tmp_path / f"inv-{day}")
        for inv in invitations:
            check_invitation(
                inv,
                uid=booking.ical_uid,
                link=booking.video_link,
                revision=revision(booking),
                method="REQUEST",
                status="CONFIRMED",
            )

        # "Afegeix al calendari": no METHOD, same UID, nobody's address in it.
        response = client.get(f"{manage}/calendari.ics")
        assert response.status_code == 200
        assert response.mimetype == "text/calendar"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        data = response.get_data()
        cal = Calendar.from_ical(data)
        event = cal.walk("VEVENT")[0]
        assert "METHOD" not in cal
        assert response.headers["Cache-Control"] == "no-store"
        assert str(event["UID"]) == booking.ical_uid
        assert int(event["SEQUENCE"]) == booking.ical_sequence
        assert "ORGANIZER" not in event and "ATTENDEE" not in event
        assert b"ORGANIZER" not in data and b"ATTENDEE" not in data
        assert event.decoded("DTSTART").astimezone(UTC) == booking.start_utc
        path = tmp_path / f"download-{day}.ics"
        path.write_bytes(data)
        js = icstools.inspect_icaljs(path, booking.start_utc)
        assert js["method"] is None and js["uid"] == booking.ical_uid
        assert js["organizer"] is None and js["attendees"] == []
        assert js["start_zone"] == "Europe/Madrid"
        assert icstools.vobject_start_utc(path) == booking.start_utc
        # RFC 5545 and RFC 5546 both hold: libical reports nothing (ICS review §3.1).
        lib = icstools.libical_check(path)
        assert lib["dtstart_utc"] == _utc_text(booking.start_utc)
        # The floating-time check: another system zone changes nothing.
        assert icstools.inspect_icaljs(path, tz="America/New_York")["start_utc"] == js["start_utc"]
        checked += 1
    assert checked >= 1
