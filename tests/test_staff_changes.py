"""Staff change a booking: move it to another time and/or technician, or cancel it with a
reason the citizen reads; the e-mails each person gets; the reminder's "avui"/"demà".

Service level (``staff_move``), HTTP (``/espai/cites/<id>/canvia``, ``/espai/cites/<id>/anulla``)
and the e-mails as the outbox holds them; the invitations that go out over real SMTP are
parsed by icalendar and by ical.js (tests/support/icstools.py).
"""

from __future__ import annotations

import email
import re
from datetime import datetime
from datetime import timedelta
from email import policy
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import func
from sqlalchemy import select

from support import icstools
from support.apps import smtp_config
from support.days import madrid
from support.days import working_days
from support.factories import make_booking
from support.factories import make_world
from support.outbox import clear_html
from support.outbox import clear_text
from umic import clock
from umic.booking import service
from umic.booking.reminders import queue_due_reminders
from umic.booking.reminders import reminder_day
from umic.booking.service import ChangeNotAllowed
from umic.booking.service import NoChange
from umic.booking.service import SlotUnavailable
from umic.extensions import db
from umic.mail.outbox import send_pending
from umic.models import Booking
from umic.models import BookingChange
from umic.models import BookingClaim
from umic.models import OutboxMessage
from umic.models import OutboxStatus

MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture
def app_config(smtp) -> dict:
    return smtp_config(smtp)


@pytest.fixture
def world(app):
    return make_world(technicians=3)


@pytest.fixture
def day():
    return working_days(2)


def _booking(world, day, hour=10, technician=0, **overrides) -> Booking:
    booking, _token = make_booking(
        world.town, world.service, world.technicians[technician], madrid(day, hour), **overrides
    )
    return booking


def _move(booking, start, technician=None, **kwargs) -> Booking:
    return service.staff_move(
        booking.id,
        start=start,
        technician_id=technician.id if technician is not None else None,
        now=clock.now(),
        actor_id=kwargs.pop("actor_id", booking.technician_id),
        **kwargs,
    )


def _messages(booking_id: int, recipient: str | None = None, *, unsent_only=True):
    query = select(OutboxMessage).where(OutboxMessage.booking_id == booking_id)
    if recipient is not None:
        query = query.where(OutboxMessage.recipient == recipient)
    if unsent_only:
        query = query.where(OutboxMessage.status != OutboxStatus.SUPERSEDED)
    return db.session.scalars(query.order_by(OutboxMessage.id)).all()


def _claims(booking_id: int) -> set[tuple[int, datetime]]:
    return set(
        db.session.execute(
            select(BookingClaim.technician_id, BookingClaim.unit_start).where(
                BookingClaim.booking_id == booking_id
            )
        ).all()
    )


# --- staff_move: the service ------------------------------------------------------------------


def test_staff_move_same_time_other_technician(app, world, day):
    a, b, _c = world.technicians
    booking = _booking(world, day)
    uid, start = booking.ical_uid, booking.start_utc
    moved = _move(booking, start, b, reason="La tècnica és de baixa.")
    assert moved.id == booking.id and moved.ical_uid == uid
    assert moved.ical_sequence == 1 and moved.technician_id == b.id and moved.start_utc == start
    assert {tech for tech, _unit in _claims(booking.id)} == {b.id}

    (citizen,) = _messages(booking.id, "raul@example.net")
    assert citizen.kind == "reassigned_citizen" and citizen.ics_method == "REQUEST"
    assert citizen.ical_sequence == 1
    assert "La tècnica és de baixa." in clear_text(citizen)
    assert "Motiu del canvi" in clear_text(citizen) and "Motiu del canvi" in clear_html(citizen)
    (old,) = _messages(booking.id, a.email)
    assert (old.kind, old.ics_method) == ("removed_technician", "CANCEL")
    assert old.subject.startswith("Ja no teniu aquesta cita")
    (new,) = _messages(booking.id, b.email)
    assert (new.kind, new.ics_method) == ("assigned_technician", "REQUEST")
    assert new.subject.startswith("Nova cita de Raúl Sánchez")

    (change,) = db.session.scalars(select(BookingChange)).all()
    assert change.booking_id == booking.id and change.actor_id == a.id
    assert change.previous_technician_id == a.id and change.technician_id == b.id
    assert change.override_hours is False and change.reason == "La tècnica és de baixa."


def test_staff_move_other_time_same_technician(app, world, day):
    a = world.technicians[0]
    booking = _booking(world, day)
    moved = _move(booking, madrid(day + timedelta(days=1), 12))
    assert moved.technician_id == a.id and moved.ical_sequence == 1
    assert moved.start_utc == madrid(day + timedelta(days=1), 12)
    assert moved.reminder_sent_at is None
    (citizen,) = _messages(booking.id, "raul@example.net")
    assert citizen.kind == "rescheduled_citizen"
    assert "Hem canviat la vostra cita" in clear_text(citizen)
    (tech,) = _messages(booking.id, a.email)
    assert (tech.kind, tech.ics_method) == ("rescheduled_technician", "REQUEST")
    assert tech.subject.startswith("Cita canviada de Raúl Sánchez")
    assert "reassignada" not in tech.subject


def test_staff_move_other_time_and_other_technician(app, world, day):
    a, b, _c = world.technicians
    booking = _booking(world, day)
    old_start = booking.start_utc
    target = madrid(day + timedelta(days=1), 11)
    moved = _move(booking, target, b)
    assert (moved.technician_id, moved.start_utc, moved.ical_sequence) == (b.id, target, 1)
    (old,) = _messages(booking.id, a.email)
    assert old.ics_method == "CANCEL"
    # The CANCEL names the times the old technician had, so their client finds the entry.
    event = Calendar.from_ical(old.ics).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == old_start
    assert "STATUS" not in event
    (new,) = _messages(booking.id, b.email)
    assert new.ics_method == "REQUEST"
    assert Calendar.from_ical(new.ics).walk("VEVENT")[0].decoded("DTSTART") == target


def test_staff_move_keeps_the_technician_if_free_else_chooses_one(app, world, day):
    a, b, _c = world.technicians
    booking = _booking(world, day)
    _booking(world, day, hour=12, technician=0)  # a is busy at 12:00
    moved = _move(booking, madrid(day, 12))
    assert moved.technician_id != a.id
    assert {tech for tech, _ in _claims(booking.id)} == {moved.technician_id}


def test_staff_move_to_a_busy_technician_or_outside_hours_is_refused(app, world, day):
    a, b, _c = world.technicians
    booking = _booking(world, day)
    _booking(world, day, hour=12, technician=1)  # b is busy at 12:00
    with pytest.raises(SlotUnavailable):
        _move(booking, madrid(day, 12), b)
    with pytest.raises(SlotUnavailable):  # 20:00: the technicians' hours end at 19:00
        _move(booking, madrid(day, 20))
    with pytest.raises(NoChange):
        _move(booking, booking.start_utc, a)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).ical_sequence == 0
    assert _messages(booking.id) == []


def test_staff_override_of_hours_is_allowed_and_recorded(app, world, day):
    a, b, _c = world.technicians
    booking = _booking(world, day)
    _booking(world, day, hour=12, technician=1)
    late = madrid(day, 20, 15)
    moved = _move(booking, late, override_hours=True, actor_id=b.id, reason="Per la tarda.")
    assert moved.start_utc == late and moved.technician_id == a.id
    (change,) = db.session.scalars(select(BookingChange)).all()
    assert change.override_hours is True and change.actor_id == b.id
    assert abs(change.at - clock.now()) < timedelta(minutes=1)
    # The claims still apply: b is busy at 12:00, even with the override.
    with pytest.raises(SlotUnavailable):
        _move(moved, madrid(day, 12), b, override_hours=True)


def test_staff_move_refuses_cancelled_and_ended_bookings(app, world, day):
    from umic.models import BookingStatus

    cancelled = _booking(world, day, status=BookingStatus.CANCELLED)
    with pytest.raises(ChangeNotAllowed):
        _move(cancelled, madrid(day, 12))
    ended = _booking(world, day, hour=9)
    clock.move_to(madrid(day, 10))
    with pytest.raises(ChangeNotAllowed):
        _move(ended, madrid(day, 12))


# --- the move page (HTTP, no JavaScript) ------------------------------------------------------


def _sign_in(client, user) -> None:
    from support.factories import PASSWORD
    from support.htmlutil import csrf_token

    page = client.get("/entra").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "username": user.username, "password": PASSWORD}
    assert client.post("/entra", data=data).status_code == 303


def _move_page(client, booking, day) -> str:
    response = client.get(f"/espai/cites/{booking.id}/canvia?dia={day.isoformat()}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _post_move(client, booking, day, **fields):
    from support.htmlutil import csrf_token

    page = _move_page(client, booking, day)
    data = {"csrf_token": csrf_token(page), "dia": day.isoformat(), "technician": "0"}
    data.update({k: str(v) for k, v in fields.items()})
    return client.post(f"/espai/cites/{booking.id}/canvia", data=data)


def test_move_page_moves_a_booking_to_another_day_and_technician(app, client, world, day):
    """The page works without JavaScript: GET a day, POST a radio time and a technician."""
    from support.htmlutil import soup

    a, b, _c = world.technicians
    booking = _booking(world, day)
    _sign_in(client, a)
    wednesday = day + timedelta(days=1)
    page = soup(_move_page(client, booking, wednesday))
    radios = page.select("fieldset input[type=radio][name=slot]")
    assert radios, "the day's free times are radios in a fieldset"
    assert page.select_one("select[name=technician]") is not None
    assert page.select_one("input[name=override]") is not None
    assert page.select_one("textarea[name=reason]") is not None
    target = madrid(wednesday, 11)
    value = target.astimezone(MADRID).isoformat()
    assert value in [r["value"] for r in radios]

    response = _post_move(
        client, booking, wednesday, slot=value, technician=b.id, reason="Vaga de transport."
    )
    assert response.status_code == 303
    # The booking is b's now: a goes back to the agenda of its new day, with the message.
    assert response.headers["Location"].endswith(f"/espai/?dia={wednesday.isoformat()}")
    db.session.expire_all()
    moved = db.session.get(Booking, booking.id)
    assert (moved.start_utc, moved.technician_id, moved.ical_sequence) == (target, b.id, 1)
    agenda = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Cita canviada" in agenda


def test_move_page_keeps_input_and_shows_errors(app, client, world, day):
    from support.htmlutil import error_messages
    from support.htmlutil import soup

    a, b, _c = world.technicians
    booking = _booking(world, day)
    _booking(world, day, hour=12, technician=1)  # b busy at 12:00
    _sign_in(client, a)
    # No time chosen.
    response = _post_move(client, booking, day, reason="Un motiu")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Trieu una hora lliure" in error_messages(html)
    assert soup(html).select_one(".error-summary a[href='#hora-primera']") is not None
    assert "Un motiu" in html  # kept
    # A technician who is busy then.
    value = madrid(day, 12).astimezone(MADRID).isoformat()
    html = _post_move(client, booking, day, slot=value, technician=b.id).get_data(as_text=True)
    assert "Aquesta persona no és lliure a aquesta hora" in error_messages(html)
    assert soup(html).select_one(f"input[name=slot][value='{value}']").has_attr("checked")
    # Override without a valid time.
    html = _post_move(client, booking, day, override="y", override_time="tard").get_data(
        as_text=True
    )
    assert "Escriviu l'hora com ara 20:15" in error_messages(html)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).ical_sequence == 0


def test_move_page_override_outside_hours_is_recorded(app, client, world, day):
    a = world.technicians[0]
    booking = _booking(world, day)
    _sign_in(client, a)
    response = _post_move(client, booking, day, override="y", override_time="20:30")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).start_utc == madrid(day, 20, 30)
    (change,) = db.session.scalars(select(BookingChange)).all()
    assert change.override_hours and change.actor_id == a.id


def test_move_page_permissions_and_csrf(app, client, world, day):
    a, b, _c = world.technicians
    booking = _booking(world, day)
    _sign_in(client, b)  # not theirs, not a coordinator
    assert client.get(f"/espai/cites/{booking.id}/canvia").status_code == 403
    client = app.test_client()
    _sign_in(client, a)
    response = client.post(
        f"/espai/cites/{booking.id}/canvia",
        data={"dia": day.isoformat(), "slot": madrid(day, 12).astimezone(MADRID).isoformat()},
    )
    assert response.status_code in (200, 400)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).ical_sequence == 0


def test_booking_card_and_agenda_link_to_the_move_page(app, client, world, day):
    a = world.technicians[0]
    booking = _booking(world, day)
    _sign_in(client, a)
    card = client.get(f"/espai/cites/{booking.id}").get_data(as_text=True)
    assert f"/espai/cites/{booking.id}/canvia" in card
    agenda = client.get(f"/espai/?dia={day.isoformat()}").get_data(as_text=True)
    assert f"/espai/cites/{booking.id}/canvia" in agenda


# --- staff cancel: the reason reaches the citizen ---------------------------------------------


@pytest.mark.parametrize("language", ["ca", "es"])
def test_staff_cancel_puts_the_reason_in_the_citizens_email(app, client, world, day, language):
    from support.htmlutil import csrf_token

    a = world.technicians[0]
    booking = _booking(world, day, language=language)
    _sign_in(client, a)
    page = client.get(f"/espai/cites/{booking.id}/anulla").get_data(as_text=True)
    response = client.post(
        f"/espai/cites/{booking.id}/anulla",
        data={"csrf_token": csrf_token(page), "reason": "La tècnica està malalta."},
    )
    assert response.status_code == 303
    (message,) = _messages(booking.id, "raul@example.net")
    assert message.ics_method == "CANCEL"
    label = {"ca": "Motiu de l'anul·lació", "es": "Motivo de la anulación"}[language]
    body, html = clear_text(message), clear_html(message)
    if language == "ca":  # the Spanish label needs the merged catalogue
        assert f"{label}: La tècnica està malalta." in body
        assert label.replace("'", "&#39;") in html or label in html
    assert "La tècnica està malalta." in body and "La tècnica està malalta." in html


def test_a_citizens_own_cancel_reason_is_not_echoed_as_staffs(app, world, day):
    booking = _booking(world, day)
    service.cancel(booking.id, clock.now(), reason="Ja ho he resolt.")
    (message,) = _messages(booking.id, "raul@example.net")
    assert "Motiu de l'anul·lació" not in clear_text(message)


# --- the technicians' e-mails (L1, L3) ----------------------------------------------------------


def test_technician_email_links_to_the_booking_card_and_names_the_language(app, world, day):
    """L1: the technician's e-mail links into the app (the booking's card, absolute on
    BASE_URL) and says which language the citizen booked in."""
    booking = _booking(world, day, language="es")
    moved = _move(booking, madrid(day, 12))
    (message,) = _messages(moved.id, world.technicians[0].email)
    card = f"{app.config['BASE_URL'].rstrip('/')}/espai/cites/{booking.id}"
    assert card in clear_text(message) and f'href="{card}"' in clear_html(message)
    assert "La persona ha reservat en castellà." in clear_text(message)
    assert "La persona ha reservat en castellà." in clear_html(message)


def _citizen_reschedule(booking, start):
    return service.reschedule(booking.id, start, clock.now())


def test_citizen_reschedule_tells_each_technician_what_happened_to_them(app, world, day):
    """L3: after a citizen moves the time, the kept technician gets one "Cita canviada";
    when the new time goes to another technician, the old one gets one "Ja no teniu aquesta
    cita" (CANCEL with the times they knew) and the new one one "Nova cita" (REQUEST), and
    nobody reads "reassigned to another person"."""
    a, b, _c = world.technicians
    booking = _booking(world, day)
    _citizen_reschedule(booking, madrid(day + timedelta(days=1), 10))
    (kept,) = _messages(booking.id, a.email)
    assert kept.subject.startswith("Cita canviada") and kept.ics_method == "REQUEST"
    send_pending()

    # a is busy at the next time: the booking goes to someone else.
    _booking(world, day + timedelta(days=1), hour=12, technician=0)
    _citizen_reschedule(booking, madrid(day + timedelta(days=1), 12))
    db.session.expire_all()
    new_tech = db.session.get(Booking, booking.id).technician
    assert new_tech.id != a.id
    old = [m for m in _messages(booking.id, a.email) if m.status == OutboxStatus.PENDING]
    (old,) = old
    assert old.subject.startswith("Ja no teniu aquesta cita") and old.ics_method == "CANCEL"
    assert "reassignada" not in old.subject and "reassignada" not in clear_text(old)
    assert "altra persona tècnica" in clear_text(old)
    event = Calendar.from_ical(old.ics).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == madrid(day + timedelta(days=1), 10)
    (new,) = _messages(booking.id, new_tech.email)
    assert new.subject.startswith("Nova cita de") and new.ics_method == "REQUEST"
    for message in _messages(booking.id):
        assert "reassign" not in message.kind


def test_no_cancel_for_an_event_the_technicians_calendar_never_got(app, world, day):
    """L3: the citizen moves to a time of Tècnic B and then cancels before the outbox sent
    B's invitation: B's invitation is withdrawn and B gets no "Cita anul·lada" for a
    booking he never received (the review saw "Substituït" then "Cita anul·lada")."""
    a, b, _c = world.technicians
    booking = _booking(world, day)
    _booking(world, day, hour=12, technician=0)
    _booking(world, day, hour=12, technician=2)  # only b is free at 12:00
    _citizen_reschedule(booking, madrid(day, 12))
    (request,) = _messages(booking.id, b.email)
    assert request.ics_method == "REQUEST"
    service.cancel(booking.id, clock.now(), reason="Ja no cal.")
    assert _messages(booking.id, b.email) == []  # nothing left to send to b
    everything = _messages(booking.id, b.email, unsent_only=False)
    assert [m.status for m in everything] == [OutboxStatus.SUPERSEDED]
    # a had the booking (no message stored: older than the outbox): a is told it is off it,
    # and the cancellation of a booking no longer theirs is not repeated to a.
    assert [m.ics_method for m in _messages(booking.id, a.email)] == ["CANCEL"]


def test_a_technician_given_back_a_booking_gets_the_request_that_creates_it(app, world, day):
    """L3, the other half: a technician whose first invitation was superseded before it
    went out still gets a REQUEST that creates the event, worded as a new booking."""
    a, b, _c = world.technicians
    booking = _booking(world, day)
    _booking(world, day, hour=12, technician=0)
    _booking(world, day, hour=12, technician=2)
    _move(booking, madrid(day, 12))  # to b (pending "Nova cita")
    _move(db.session.get(Booking, booking.id), madrid(day, 13), b)  # b kept, moved again
    (pending,) = _messages(booking.id, b.email)
    assert pending.ics_method == "REQUEST" and pending.kind == "assigned_technician"
    assert pending.subject.startswith("Nova cita de")
    send_pending()
    # Now b's calendar has it: the next move is a change for b.
    _move(db.session.get(Booking, booking.id), madrid(day, 16))
    pending = [m for m in _messages(booking.id, b.email) if m.status == OutboxStatus.PENDING]
    assert [m.kind for m in pending] == ["rescheduled_technician"]


# --- invitations over SMTP, read by two parsers ------------------------------------------------


def _received_ics(smtp, address):
    out = []
    for received in smtp.to(address):
        msg = email.message_from_bytes(received.data, policy=policy.default)
        (part,) = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
        out.append((msg, part.get_payload(decode=True)))
    return out


def test_staff_move_invitations_update_in_place_for_everyone(app, world, day, smtp, tmp_path):
    """Citizen and both technicians: same UID, higher SEQUENCE, read by icalendar and ical.js."""
    a, b, _c = world.technicians
    booking = _booking(world, day)
    uid = booking.ical_uid
    # What every calendar holds first: revision 0 (as the booking's own e-mails would give).
    from umic.mail import compose

    compose.notify_booking_created(booking, "x" * 43)
    db.session.commit()
    assert send_pending().sent == 2
    old_start = booking.start_utc
    target = madrid(day + timedelta(days=1), 11)
    _move(booking, target, b, reason="Canvi d'agenda.")
    assert send_pending().sent == 3
    expected = {
        "raul@example.net": [("REQUEST", 0, old_start), ("REQUEST", 1, target)],
        a.email: [("REQUEST", 0, old_start), ("CANCEL", 1, old_start)],
        b.email: [("REQUEST", 1, target)],
    }
    _check_invitations(smtp, expected, uid, tmp_path)
    (msg, _data) = _received_ics(smtp, "raul@example.net")[1]
    assert "Canvi d'agenda." in msg.get_body(("plain",)).get_content()


def _check_invitations(smtp, expected, uid, tmp_path) -> None:
    """Each person's invitations, in order: METHOD, SEQUENCE and start, read by icalendar,
    ical.js and vobject; all with the booking's one UID."""
    for address, revisions in expected.items():
        got = _received_ics(smtp, address)
        assert len(got) == len(revisions), address
        for i, ((_msg, data), (method, sequence, start)) in enumerate(
            zip(got, revisions, strict=True)
        ):
            event = Calendar.from_ical(data).walk("VEVENT")[0]
            assert str(Calendar.from_ical(data)["METHOD"]) == method
            assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == sequence
            assert event.decoded("DTSTART") == start
            path = tmp_path / f"{address}-{i}.ics"
            path.write_bytes(data)
            js = icstools.inspect_icaljs(path, start)
            assert (js["uid"], js["sequence"], js["method"]) == (uid, sequence, method)
            vob = icstools.vobject_read(path)
            assert datetime.fromisoformat(vob["start_utc"]) == start


# --- reminders: "avui" or "demà" (L2) ----------------------------------------------------------


def _madrid(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=MADRID)


@pytest.mark.parametrize(
    ("start", "now", "expected"),
    [
        # 23:00 on 31 December for 23:30 the same evening: today.
        (_madrid(2026, 12, 31, 23, 30), _madrid(2026, 12, 31, 23, 0), "today"),
        # 23:30 on 31 December for 00:30 on 1 January: tomorrow, an hour away.
        (_madrid(2027, 1, 1, 0, 30), _madrid(2026, 12, 31, 23, 30), "tomorrow"),
        # 00:10 for 09:00 the same day (UTC still says the day before): today.
        (_madrid(2027, 6, 2, 9, 0), _madrid(2027, 6, 2, 0, 10), "today"),
        # The spring change (28 March 2027 has 23 hours): 09:00 on the 29th seen from 10:00
        # on the 28th is 22 hours away and "tomorrow"; from 23:59 on the 27th it is "later".
        (_madrid(2027, 3, 29, 9, 0), _madrid(2027, 3, 28, 10, 0), "tomorrow"),
        (_madrid(2027, 3, 29, 9, 0), _madrid(2027, 3, 27, 23, 59), "later"),
        # The autumn change (31 October 2027 has 25 hours).
        (_madrid(2027, 11, 1, 0, 30), _madrid(2027, 10, 31, 23, 45), "tomorrow"),
    ],
)
def test_reminder_day_is_the_local_calendar_day(start, now, expected):
    """L2: today/tomorrow come from Madrid's calendar days, across midnight and DST."""
    assert reminder_day(start, now, MADRID) == expected


@pytest.mark.parametrize(
    ("now_local", "start_hour", "start_days", "words"),
    [
        ("11:21", 13, 0, "Us recordem la vostra cita d'avui."),
        ("18:00", 10, 1, "Us recordem la vostra cita de demà."),
    ],
)
def test_reminder_says_today_or_tomorrow(app, world, day, now_local, start_hour, start_days, words):
    """L2: the 7 reminders queued at 11:21 for calls that afternoon said "de demà"."""
    hour, minute = (int(x) for x in now_local.split(":"))
    clock.move_to(madrid(day, hour, minute))
    booking = _booking(world, day + timedelta(days=start_days), hour=start_hour)
    db.session.execute(
        Booking.__table__.update()
        .where(Booking.__table__.c.id == booking.id)
        .values(confirmed_at=clock.now() - timedelta(days=7))
    )
    db.session.commit()
    assert queue_due_reminders(clock.now()) == 1
    (message,) = _messages(booking.id, "raul@example.net")
    assert words in clear_text(message)
    others = {"Us recordem la vostra cita d'avui.", "Us recordem la vostra cita de demà."} - {words}
    assert not any(other in clear_text(message) for other in others)


# --- races: two staff moves to one time never double-book -------------------------------------


@pytest.mark.parametrize("chosen", [True, False], ids=["one-technician-asked", "any-free"])
def test_simultaneous_staff_moves_to_one_time_never_double_book(app, world, day, chosen):
    """Four bookings moved at the same instant to 16:00: with a technician asked for, one
    wins and three get SlotUnavailable; with "any free", the losers of the race for their
    technician retry with the others, so the three technicians get one each."""
    from support.concurrency import in_app_at_once

    a, b, _c = world.technicians
    ids = [_booking(world, day, hour=hour).id for hour in (9, 10, 11, 12)]
    target = madrid(day, 16)
    actor = a.id

    def move(booking_id):
        try:
            service.staff_move(
                booking_id,
                start=target,
                technician_id=b.id if chosen else None,
                now=clock.now(),
                actor_id=actor,
            )
        except SlotUnavailable:
            return "taken"
        return "moved"

    results = in_app_at_once(app, move, ids)
    db.session.expire_all()
    moved = db.session.scalars(select(Booking).where(Booking.start_utc == target)).all()
    expected = 1 if chosen else 3
    assert results.count("moved") == len(moved) == expected
    assert len({m.technician_id for m in moved}) == expected  # nobody twice at 16:00
    # The losers kept their time, claims and SEQUENCE.
    for booking in db.session.scalars(select(Booking).where(Booking.id.in_(ids))):
        assert {tech for tech, _ in _claims(booking.id)} == {booking.technician_id}
        assert booking.ical_sequence == (1 if booking.start_utc == target else 0)
    claims = db.session.scalar(select(func.count()).select_from(BookingClaim))
    assert claims == 6 * 4


# --- the journey in Chromium at 1280 px --------------------------------------------------------


def _a_friday_before_working_tuesday_and_wednesday():
    from support.days import is_working_day
    from support.days import today

    friday = today() + timedelta(days=(4 - today().weekday()) % 7 or 7)
    while not (
        is_working_day(friday + timedelta(days=4)) and is_working_day(friday + timedelta(days=5))
    ):
        friday += timedelta(days=7)
    return friday


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_friday_technician_moves_tuesdays_call_to_wednesday_with_another(
    app, world, smtp, tmp_path
):
    """Done when: on a Friday a technician opens next Tuesday, opens the booking, moves it to
    Wednesday with another technician; the citizen and both technicians get the right
    e-mails, with invitations that update in place (same UID, higher SEQUENCE)."""
    from support.browser import launched
    from support.browser import served
    from support.factories import PASSWORD
    from umic.mail import compose

    friday = _a_friday_before_working_tuesday_and_wednesday()
    clock.move_to(madrid(friday, 10))
    tuesday, wednesday = friday + timedelta(days=4), friday + timedelta(days=5)
    a, b, _c = world.technicians
    booking = _booking(world, tuesday, language="es", citizen_name="Raúl Sánchez")
    compose.notify_booking_created(booking, "x" * 43)
    db.session.commit()
    assert send_pending().sent == 2
    uid, old_start = booking.ical_uid, booking.start_utc
    target = madrid(wednesday, 11)

    with launched() as browser, served(app) as site:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{site}/entra")
        page.fill("#username", a.username)
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(lambda url: "/entra" not in url)  # signed in before going on
        page.goto(f"{site}/espai/?dia={tuesday.isoformat()}")
        page.locator(f"a[href$='/espai/cites/{booking.id}']").first.click()
        page.wait_for_url(f"{site}/espai/cites/{booking.id}")
        page.click("text=Canvia l'hora o la persona")
        page.wait_for_url(re.compile(rf".*/espai/cites/{booking.id}/canvia.*"))
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        page.fill("#dia", wednesday.isoformat())
        page.click("text=Mostra les hores")
        page.check(f"input[name=slot][value='{target.astimezone(MADRID).isoformat()}']")
        page.select_option("#technician", str(b.id))
        page.fill("#reason", "La tècnica té formació dimarts.")
        page.click("#move-form button[type=submit]")
        page.wait_for_url(re.compile(rf".*/espai/\?dia={wednesday.isoformat()}"))
        assert "Cita canviada" in page.inner_text("main")

    db.session.expire_all()
    moved = db.session.get(Booking, booking.id)
    assert (moved.start_utc, moved.technician_id, moved.ical_sequence) == (target, b.id, 1)
    assert send_pending().sent == 3
    _check_invitations(
        smtp,
        {
            "raul@example.net": [("REQUEST", 0, old_start), ("REQUEST", 1, target)],
            a.email: [("REQUEST", 0, old_start), ("CANCEL", 1, old_start)],
            b.email: [("REQUEST", 1, target)],
        },
        uid,
        tmp_path,
    )
    subjects = {
        address: [r.message["Subject"] for r in smtp.to(address)] for address in (a.email, b.email)
    }
    assert subjects[a.email][1].startswith("Ja no teniu aquesta cita")
    assert subjects[b.email][0].startswith("Nova cita de Raúl Sánchez")
    (_msg, _data) = _received_ics(smtp, "raul@example.net")[1]
    assert "La tècnica té formació dimarts." in _msg.get_body(("plain",)).get_content()
