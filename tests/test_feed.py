"""The technicians' private calendar feed: the staff page and the public .ics URL.

The feed is read back with two independent parsers: icalendar, and vobject in a fresh
process per file (vobject caches time zones per process).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import soup
from support.icstools import require_all
from support.queries import counted_selects
from umic import clock
from umic.core import ics
from umic.core.tokens import hash_token
from umic.extensions import db
from umic.models import BookingStatus
from umic.models import Role
from umic.models import StaffUser

MADRID = ZoneInfo("Europe/Madrid")
PAGE = "/espai/calendari"

_VOBJECT_EVENTS = """
import json, sys, vobject
from datetime import timezone
cal = vobject.readOne(open(sys.argv[1], encoding="utf-8").read())
events = []
for ev in cal.contents.get("vevent", []):
    events.append({
        "uid": ev.uid.value,
        "sequence": int(ev.sequence.value),
        "start_utc": ev.dtstart.value.astimezone(timezone.utc).isoformat(),
        "end_utc": ev.dtend.value.astimezone(timezone.utc).isoformat(),
        "summary": ev.summary.value,
        "description": ev.description.value,
        "url": ev.url.value,
    })
print(json.dumps({"method": cal.method.value, "events": events}))
"""


def vobject_events(path) -> dict:
    """All events of a feed as vobject reads them, in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", _VOBJECT_EVENTS, str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    if proc.returncode != 0 and "No module named 'vobject'" in proc.stderr:
        if require_all():
            pytest.fail("vobject is not installed")
        pytest.skip("vobject is not installed in this Python")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def madrid(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


def technician(login, username: str = "OPSSVEGAVN", **kwargs) -> StaffUser:
    user = make_staff(username, **kwargs)
    login(username)
    return user


def press(client, action: str):
    """Press one of the page's buttons, as a browser would (its form and its value)."""
    page = client.get(PAGE).get_data(as_text=True)
    button = soup(page).select_one(f"button[name=accio][value={action}]")
    assert button is not None, f"no {action!r} button on the page"
    form = button.find_parent("form")
    assert form["method"] == "post" and form["action"] == PAGE
    return client.post(PAGE, data={"csrf_token": csrf_token(page), "accio": action})


def create_feed(client, action: str = "crea") -> str:
    """Create (or change) the link; return its path, shown once on the next page."""
    response = press(client, action)
    assert response.status_code == 303
    page = soup(client.get(PAGE).get_data(as_text=True))
    url = page.select_one("#feed-url").get_text(strip=True)
    assert url.startswith("http://localhost/calendari/") and url.endswith(".ics")
    webcal = page.find("a", href=lambda href: href and href.startswith("webcal://"))
    assert webcal["href"] == "webcal://" + url.removeprefix("http://")
    return urlsplit(url).path


def fetch(app, path: str):
    """As a calendar program would: a fresh client, no cookies, no sign-in."""
    return app.test_client(use_cookies=False).get(path)


# --- The staff page -----------------------------------------------------------------------------


def test_the_page_needs_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code in (302, 303) and "/entra" in response.headers["Location"]


def test_without_a_feed_the_page_offers_to_create_one(client, login):
    technician(login)
    page = soup(client.get(PAGE).get_data(as_text=True))
    assert "No teniu cap enllaç de calendari actiu." in page.get_text()
    assert [b["value"] for b in page.select("button[name=accio]")] == ["crea"]
    assert page.select_one("#feed-url") is None


def test_creating_shows_the_url_once_and_stores_only_its_hash(app, client, login):
    user = technician(login)
    path = create_feed(client)
    token = path.removeprefix("/calendari/").removesuffix(".ics")
    assert len(token) >= 22  # at least 128 random bits, URL-safe base64
    db.session.refresh(user)
    assert user.calendar_token_hash == hash_token(token)
    assert token not in user.calendar_token_hash
    # Shown once: the next visit says a link exists, without showing it.
    page = soup(client.get(PAGE).get_data(as_text=True))
    assert page.select_one("#feed-url") is None
    assert token not in str(page)
    assert "Teniu un enllaç de calendari actiu." in page.get_text()
    assert sorted(b["value"] for b in page.select("button[name=accio]")) == ["canvia", "desactiva"]
    assert fetch(app, path).status_code == 200


def test_changing_the_link_makes_the_old_url_stop_working(app, client, login):
    technician(login)
    old = create_feed(client)
    response = press(client, "canvia")
    assert response.status_code == 303
    page = soup(client.get(PAGE).get_data(as_text=True))
    assert "l'anterior ja no funciona" in page.get_text()
    new = urlsplit(page.select_one("#feed-url").get_text(strip=True)).path
    assert new != old
    assert fetch(app, old).status_code == 404
    assert fetch(app, new).status_code == 200


def test_switching_off_revokes_the_link(app, client, login):
    user = technician(login)
    path = create_feed(client)
    response = press(client, "desactiva")
    assert response.status_code == 303
    page = soup(client.get(PAGE).get_data(as_text=True)).get_text()
    assert "S'ha desactivat l'enllaç del calendari" in page
    assert "No teniu cap enllaç de calendari actiu." in page
    db.session.refresh(user)
    assert user.calendar_token_hash is None
    assert fetch(app, path).status_code == 404


def test_a_post_without_the_form_token_or_with_an_unknown_action_changes_nothing(client, login):
    user = technician(login)
    assert client.post(PAGE, data={"accio": "crea"}).status_code == 400
    page = client.get(PAGE).get_data(as_text=True)
    response = client.post(PAGE, data={"csrf_token": csrf_token(page), "accio": "esborra-tot"})
    assert response.status_code == 400
    db.session.refresh(user)
    assert user.calendar_token_hash is None


def test_each_person_manages_only_their_own_link(app, client, login):
    other = make_staff("OPSSALTRE")
    other.calendar_token_hash = hash_token("token-de-l-altra-persona-0123456789")
    db.session.commit()
    me = technician(login)
    create_feed(client)
    press(client, "desactiva")
    db.session.refresh(other)
    db.session.refresh(me)
    assert other.calendar_token_hash == hash_token("token-de-l-altra-persona-0123456789")
    assert me.calendar_token_hash is None


# --- The public .ics URL ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/calendari/no-existeix-aquest-token-0123456789.ics",
        "/calendari/.ics",
        "/calendari/" + "x" * 300 + ".ics",
    ],
)
def test_an_unknown_token_is_404(app, path):
    make_staff("OPSSVEGAVN").calendar_token_hash = hash_token("un-altre-token-0123456789")
    db.session.commit()
    assert fetch(app, path).status_code == 404


def test_a_deactivated_staff_members_feed_stops_working(app, client, login):
    user = technician(login)
    path = create_feed(client)
    user.active = False
    db.session.commit()
    assert fetch(app, path).status_code == 404


#: The feed's clock in the tests below: ten days before the spring change of 2026, so its
#: window (30 days back, 90 ahead) holds winter (CET) and summer (CEST) appointments.
NOW = datetime(2026, 3, 19, 9, 0, tzinfo=UTC)


@pytest.fixture
def feed_world(client, login):
    """My bookings in winter and summer, past and future, cancelled; someone else's."""
    clock.move_to(NOW)
    world = make_world(technicians=2)
    me, other = world.technicians
    login(me.username)

    def book(tech, start, **kw):
        return make_booking(world.town, world.service, tech, start, **kw)[0]

    bookings = {
        # 16:30 in Madrid on each: 15:30 UTC in winter, 14:30 UTC in summer.
        "winter": book(me, madrid(2026, 3, 26, 16, 30), ical_sequence=2,
                       citizen_name="Núria Puig i Solà",
                       description="Factura de l'aigua, cobrada dues vegades"),
        "summer": book(me, madrid(2026, 4, 2, 16, 30)),
        "after_change": book(me, madrid(2026, 3, 30, 10, 0)),  # the Monday after the change
        "attended": book(me, madrid(2026, 3, 5, 9, 30), status=BookingStatus.ATTENDED),
        "no_show": book(me, madrid(2026, 2, 20, 12, 0), status=BookingStatus.NO_SHOW),
        "cancelled": book(me, madrid(2026, 3, 27, 10, 0), status=BookingStatus.CANCELLED),
        "too_old": book(me, madrid(2026, 2, 15, 10, 0)),  # 32 days before
        "too_far": book(me, madrid(2026, 6, 19, 10, 0)),  # 92 days ahead
        "others": book(other, madrid(2026, 3, 26, 16, 30)),
    }  # fmt: skip
    return world, me, bookings


IN_FEED = {"winter", "summer", "after_change", "attended", "no_show"}


def test_the_feed_holds_only_my_active_bookings_of_the_window(app, client, feed_world):
    _world, _me, bookings = feed_world
    path = create_feed(client)
    response = fetch(app, path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    cal = Calendar.from_ical(response.data)
    uids = [str(event["UID"]) for event in cal.walk("VEVENT")]
    assert sorted(uids) == sorted(bookings[name].ical_uid for name in IN_FEED)


def test_the_feed_is_a_published_calendar_with_invitation_uids_and_madrid_times(
    app, client, feed_world, tmp_path
):
    _world, me, bookings = feed_world
    body = fetch(app, create_feed(client)).data
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
    text = body.decode("utf-8")
    assert "\r\nMETHOD:PUBLISH\r\n" in text
    assert "ORGANIZER" not in text and "ATTENDEE" not in text
    assert text.count("BEGIN:VTIMEZONE") == 1
    assert text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")
    assert "RDATE" not in text and "BEGIN:VALARM" not in text
    assert "X-WR-CALNAME:Cites de videotrucada – " + me.name in text.replace("\r\n ", "")

    cal = Calendar.from_ical(body)
    events = {str(event["UID"]): event for event in cal.walk("VEVENT")}
    winter = bookings["winter"]
    event = events[winter.ical_uid]
    assert int(event["SEQUENCE"]) == 2
    assert int(events[bookings["summer"].ical_uid]["SEQUENCE"]) == 0
    assert str(event["SUMMARY"]) == "Videotrucada: Núria Puig i Solà (Gelida)"
    assert "Factura de l'aigua, cobrada dues vegades" in str(event["DESCRIPTION"])
    assert winter.video_link in str(event["DESCRIPTION"]).splitlines()
    assert str(event["URL"]) == str(event["LOCATION"]) == winter.video_link
    assert str(event["STATUS"]) == "CONFIRMED"
    for name in IN_FEED:
        booking = bookings[name]
        item = events[booking.ical_uid]
        assert item["DTSTART"].params["TZID"] == "Europe/Madrid"
        assert item["DTSTART"].dt.astimezone(UTC) == booking.start_utc
        assert item["DTEND"].dt.astimezone(UTC) == booking.end_utc

    # The wall-clock time written in the file, and the UTC instant it means, per season.
    assert "DTSTART;TZID=Europe/Madrid:20260326T163000" in text
    assert "DTSTART;TZID=Europe/Madrid:20260402T163000" in text
    assert winter.start_utc == datetime(2026, 3, 26, 15, 30, tzinfo=UTC)
    assert bookings["summer"].start_utc == datetime(2026, 4, 2, 14, 30, tzinfo=UTC)

    # vobject, in its own process, computes the same instants from the file's VTIMEZONE.
    path = tmp_path / "feed.ics"
    path.write_bytes(body)
    read = vobject_events(path)
    assert read["method"] == "PUBLISH"
    by_uid = {item["uid"]: item for item in read["events"]}
    assert set(by_uid) == set(events)
    for name in IN_FEED:
        booking = bookings[name]
        item = by_uid[booking.ical_uid]
        assert item["start_utc"] == booking.start_utc.isoformat()
        assert item["end_utc"] == booking.end_utc.isoformat()
        assert item["sequence"] == booking.ical_sequence
    assert by_uid[winter.ical_uid]["summary"] == "Videotrucada: Núria Puig i Solà (Gelida)"
    assert by_uid[winter.ical_uid]["url"] == winter.video_link


def test_the_uids_are_those_of_the_emailed_invitations(app, client, feed_world):
    """A client that has both the invitation and the feed sees one event, not two."""
    from umic.mail import compose as mail

    _world, _me, bookings = feed_world
    winter = bookings["winter"]
    invitation = ics.invitation(
        mail.technician_event(winter),
        ics.Person(winter.technician.email, winter.technician.name),
        method="REQUEST",
        role="technician",
    )
    sent = Calendar.from_ical(invitation).walk("VEVENT")[0]
    fed = {
        str(e["UID"]): e
        for e in Calendar.from_ical(fetch(app, create_feed(client)).data).walk("VEVENT")
    }[str(sent["UID"])]
    assert int(fed["SEQUENCE"]) == int(sent["SEQUENCE"])
    assert fed["DTSTART"].dt == sent["DTSTART"].dt


def test_an_empty_feed_is_still_a_valid_calendar(app, client, login, tmp_path):
    technician(login)
    body = fetch(app, create_feed(client)).data
    cal = Calendar.from_ical(body)
    assert cal.walk("VEVENT") == []
    assert len(cal.walk("VTIMEZONE")) == 1
    path = tmp_path / "empty.ics"
    path.write_bytes(body)
    assert vobject_events(path) == {"method": "PUBLISH", "events": []}


def test_a_coordinator_gets_their_own_appointments_not_everyones(app, client, login):
    world = make_world(technicians=1)
    make_booking(world.town, world.service, world.technicians[0], clock.now() + timedelta(days=2))
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    login("OPSSCOORD")
    body = fetch(app, create_feed(client)).data
    assert Calendar.from_ical(body).walk("VEVENT") == []


def test_the_token_is_looked_up_by_hash(app, client, login):
    user = technician(login)
    path = create_feed(client)
    token = path.removeprefix("/calendari/").removesuffix(".ics")
    stored = db.session.scalar(select(StaffUser.calendar_token_hash).where(StaffUser.id == user.id))
    assert fetch(app, f"/calendari/{stored}.ics").status_code == 404  # the hash is no key
    assert fetch(app, f"/calendari/{token}.ics").status_code == 200


def test_the_feed_costs_the_same_queries_for_few_or_many_bookings(app, client, login):
    world = make_world(technicians=1)
    me = world.technicians[0]
    login(me.username)
    path = create_feed(client)
    start = clock.now().replace(microsecond=0) + timedelta(days=1)
    make_booking(world.town, world.service, me, start)
    with counted_selects() as few:
        assert fetch(app, path).status_code == 200
    for n in range(1, 12):
        make_booking(world.town, world.service, me, start + timedelta(days=n))
    with counted_selects() as many:
        body = fetch(app, path).data
    assert len(Calendar.from_ical(body).walk("VEVENT")) == 12
    assert len(many) == len(few) <= 3, many


# --- umic.core.ics.feed on its own --------------------------------------------------------


def _event(**overrides) -> ics.EventData:
    values = {
        "uid": "6f1c2a4e-8c1d-4d3b-9a57-0d1e2f3a4b5c",
        "sequence": 0,
        "start": madrid(2026, 7, 1, 16, 0),
        "end": madrid(2026, 7, 1, 16, 30),
        "summary": "Videotrucada: Jordi: l'advocat; cap, de (Gelida)",
        "description": "x\r\nATTENDEE:mailto:evil@example.org",
        "link": "https://meet.jit.si/umic-abc",
        "organizer": ics.Person("cites@example.org", "Consum"),
        "stamp": datetime(2026, 6, 1, 8, 0, tzinfo=UTC),
        "prodid": "-//Diputacio de Barcelona//umic//CA",
    }
    values.update(overrides)
    return ics.EventData(**values)


def test_a_feed_has_one_uid_per_event_and_a_refresh_interval():
    body = ics.feed(
        [_event(), _event(uid="0b6c9a52-3e7f-4f0e-8a71-2b3c4d5e6f70", sequence=3)],
        prodid="-//Diputacio de Barcelona//umic//CA",
        name="Cites de videotrucada – Anna",
    ).decode("utf-8")
    lines = body.split("\r\n")
    assert [line for line in lines if line.startswith("UID")] == [
        "UID:6f1c2a4e-8c1d-4d3b-9a57-0d1e2f3a4b5c",
        "UID:0b6c9a52-3e7f-4f0e-8a71-2b3c4d5e6f70",
    ]
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in lines
    assert "X-PUBLISHED-TTL:PT1H" in lines
    assert lines.count("CLASS:PRIVATE") == 2
    assert "PRODID:-//Diputacio de Barcelona//umic//CA" in lines
    assert not any(line.startswith("ATTENDEE") for line in lines)  # no injected property
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Cites\r\nX-EVIL:1"}, "name"),
        ({"name": ""}, "name"),
        ({"prodid": ""}, "prodid"),
        ({"refresh": timedelta(0)}, "refresh"),
    ],
)
def test_a_feed_refuses_bad_calendar_properties(kwargs, message):
    values = {"prodid": "-//x//y//CA", "name": "Cites", **kwargs}
    with pytest.raises(ValueError, match=message):
        ics.feed([_event()], **values)


def test_a_feed_refuses_a_naive_event():
    with pytest.raises(ValueError, match="timezone-aware"):
        ics.feed([_event(start=datetime(2026, 7, 1, 16))], prodid="-//x//y//CA", name="Cites")
