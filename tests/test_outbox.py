"""The persistent outbox against a real SMTP server on loopback (aiosmtpd) and a real database.

Nothing is mocked: bookings go through the real forms, the worker talks SMTP to a server on
127.0.0.1, and the bytes that server receives are what the assertions read. "Mail down" is a
port nothing listens on (the same server, stopped).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from support import managing
from support.apps import smtp_config
from support.concurrency import in_app_at_once
from support.factories import PASSWORD
from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.journey import DETAILS
from support.journey import Citizen
from support.mimecheck import check_imip
from support.smtpserver import Received
from umic import clock
from umic.booking.reminders import queue_due_reminders
from umic.booking.service import find_by_token
from umic.booking.service import open_slots
from umic.booking.service import reschedule as reschedule_booking
from umic.booking.service import rules
from umic.extensions import db
from umic.mail import compose as mail
from umic.mail.outbox import _release_stale_claims
from umic.mail.outbox import retry
from umic.mail.outbox import send_pending
from umic.models import Booking
from umic.models import BookingDraft
from umic.models import BookingStatus
from umic.models import OutboxMessage
from umic.models import OutboxStatus
from umic.models import Role
from umic.web.urls import external_url

SENDER = "cites@example.org"
BASE = 10  # OUTBOX_RETRY_BASE_SECONDS
CAP = 60  # OUTBOX_RETRY_MAX_SECONDS: reached at the 4th failure (10, 20, 40, 80 -> 60)
MAX_ATTEMPTS = 5


@pytest.fixture
def app_config(smtp) -> dict:
    return smtp_config(
        smtp,
        OUTBOX_RETRY_BASE_SECONDS=BASE,
        OUTBOX_RETRY_MAX_SECONDS=CAP,
        OUTBOX_MAX_ATTEMPTS=MAX_ATTEMPTS,
        OUTBOX_STALE_LOCK_MINUTES=15,
    )


# --- helpers ----------------------------------------------------------------------------------


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def booking_of(manage: str) -> Booking:
    db.session.expire_all()
    booking = find_by_token(manage.rsplit("/", 1)[1], clock.now())
    assert booking is not None
    return booking


def text_of(received: Received) -> str:
    return received.message.get_body(("plain",)).get_content()


def subject_of(received: Received) -> str:
    # Python folds a long Subject right after "Subject:"; its parser keeps the space.
    return str(received.message["Subject"]).strip()


def html_of(received: Received) -> str:
    return received.message.get_body(("html",)).get_content()


def links(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def sequence_of(received: Received) -> int:
    part = next(p for p in received.message.walk() if p.get_content_type() == "text/calendar")
    event = Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
    return int(event["SEQUENCE"])


def mark_sending(message_id: int) -> None:
    """As if another worker were in the middle of sending this message."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status=OutboxStatus.SENDING, locked_by="other", locked_at=clock.now())
    )
    db.session.commit()


def path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "localhost", url
    return parts.path


def booked_directly(world, technician, start, *, notify: bool = True, **overrides):
    """A booking written by the factory, with its creation e-mails queued like book() does."""
    booking, token = make_booking(world.town, world.service, technician, start, **overrides)
    if notify:
        mail.notify_booking_created(booking, token)
        db.session.commit()
    return booking, token


def next_hour(hours: int) -> datetime:
    now = clock.now().replace(minute=0, second=0, microsecond=0)
    return now + timedelta(hours=hours)


# --- booking -> outbox -> SMTP ----------------------------------------------------------------


def test_booking_queues_one_message_per_person_and_sends_nothing(app, client, smtp):
    make_world()
    manage = Citizen(client).book()
    assert client.get(manage).status_code == 200
    booking = booking_of(manage)

    queued = rows()
    assert len(queued) == 2
    assert {m.status for m in queued} == {OutboxStatus.PENDING}
    assert {m.booking_id for m in queued} == {booking.id}
    by_kind = {m.kind: m for m in queued}
    assert set(by_kind) == {"created_citizen", "created_technician"}
    assert by_kind["created_citizen"].recipient == DETAILS["email"]
    assert by_kind["created_technician"].recipient == booking.technician.email
    assert {m.ics_method for m in queued} == {"REQUEST"}
    assert {m.ical_sequence for m in queued} == {0}
    assert smtp.messages() == []  # the web request sent nothing


def test_booking_and_its_messages_are_one_transaction(app, client, smtp, monkeypatch):
    """If queueing the second message fails, neither the booking nor the first message exist."""
    make_world()

    def broken(*args, **kwargs):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(mail, "_to_technician", broken)
    citizen = Citizen(client)
    assert citizen.details(citizen.first_slot()).status_code == 303
    with pytest.raises(RuntimeError, match="template exploded"):
        citizen.confirm()
    db.session.rollback()
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    draft = db.session.scalar(select(BookingDraft))
    assert draft is not None and draft.booking_id is None  # the citizen can confirm again
    monkeypatch.undo()
    assert citizen.confirm().status_code == 303
    assert len(rows()) == 2


def test_send_pending_delivers_both_messages(app, client, smtp):
    make_world()
    manage = Citizen(client).book()
    booking = booking_of(manage)
    technician = booking.technician

    report = send_pending()
    assert (report.sent, report.retrying, report.failed) == (2, 0, 0)
    sent = rows()
    assert {m.status for m in sent} == {OutboxStatus.SENT}
    assert all(m.attempts == 1 and m.sent_at is not None and not m.last_error for m in sent)

    received = smtp.messages()
    assert len(received) == 2
    assert sorted(r.message_id for r in received) == sorted(m.message_id for m in sent)
    for r in received:
        check_imip(r.data)
        assert r.mail_from == SENDER
        assert len(r.rcpt_tos) == 1
        assert text_of(r).strip() and html_of(r).strip()

    # The citizen's confirmation.
    (to_citizen,) = smtp.to(DETAILS["email"])
    subject = subject_of(to_citizen)
    assert subject.startswith("La vostra reserva s'ha confirmat: ")
    text = text_of(to_citizen)
    assert f"Hola {DETAILS['name']}" in text
    assert "La vostra reserva s'ha confirmat" in text
    assert booking.reference in text
    assert booking.video_link in text
    assert booking.video_link in html_of(to_citizen)
    urls = links(text)
    reschedule_url = next(u for u in urls if u.endswith("/planifica"))
    cancel_url = next(u for u in urls if u.endswith("/anulla"))
    instructions_url = external_url("pages.instructions")
    assert instructions_url in urls
    # The links really open this booking (a working manage token).
    page = client.get(path(reschedule_url))
    assert page.status_code == 200
    assert "Torna a planificar la cita" in page.get_data(as_text=True)
    assert booking.reference in page.get_data(as_text=True)
    page = client.get(path(cancel_url))
    assert page.status_code == 200
    assert "Voleu anul·lar la cita?" in page.get_data(as_text=True)
    manage_of_link = path(reschedule_url).removesuffix("/planifica")
    assert booking_of(manage_of_link).id == booking.id
    assert client.get(path(instructions_url)).status_code == 200
    for url in (reschedule_url, cancel_url, instructions_url):
        assert url in html_of(to_citizen)

    # The technician's notice.
    (to_technician,) = smtp.to(technician.email)
    subject = subject_of(to_technician)
    assert subject.startswith(f"Nova reserva de {DETAILS['name']}")
    text = text_of(to_technician)
    for value in (
        DETAILS["name"],
        DETAILS["email"],
        DETAILS["phone"],
        DETAILS["address"],
        DETAILS["description"],
        booking.video_link,
        "Gelida",
    ):
        assert value in text, value
    assert "/cita/" not in text  # the citizen's personal links are not for staff

    # A second pass sends nothing more.
    assert send_pending().sent == 0
    assert len(smtp.messages()) == 2


def test_cli_outbox_send(app, client, runner, smtp):
    make_world()
    Citizen(client).book()
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "2 sent, 0 to retry, 0 failed" in result.output
    assert len(smtp.messages()) == 2
    assert {m.status for m in rows()} == {OutboxStatus.SENT}


def test_worker_command_runs_one_pass(app, client, runner, smtp):
    make_world()
    Citizen(client).book()
    result = runner.invoke(args=["worker", "--passes", "1"])
    assert result.exit_code == 0, result.output
    assert {m.status for m in rows()} == {OutboxStatus.SENT}
    assert len(smtp.messages()) == 2


# --- mail server down ---------------------------------------------------------------------------


def test_mail_down_booking_succeeds_backs_off_and_delivers_once(app, client, smtp):
    make_world()
    smtp.stop()  # nothing listens on MAIL_PORT now
    manage = Citizen(client).book()
    assert client.get(manage).status_code == 200
    assert len(rows()) == 2

    now = clock.now()
    for attempt in (1, 2, 3):
        report = send_pending(now=now)
        assert (report.sent, report.retrying, report.failed) == (0, 2, 0)
        queued = rows()
        assert len(queued) == 2  # nothing lost
        for m in queued:
            assert m.status == OutboxStatus.PENDING
            assert m.attempts == attempt
            assert "ConnectionRefusedError" in m.last_error
            assert m.next_attempt_at == now + timedelta(seconds=BASE * 2 ** (attempt - 1))
            assert not m.locked_by and m.locked_at is None
        # Not due yet: a pass just before next_attempt_at does not try again.
        assert send_pending(now=queued[0].next_attempt_at - timedelta(seconds=1)).retrying == 0
        assert {m.attempts for m in rows()} == {attempt}
        now = queued[0].next_attempt_at

    smtp.start()
    # Back up, but the messages wait for their time.
    assert send_pending(now=now - timedelta(seconds=1)).sent == 0
    assert smtp.messages() == []
    later = now + timedelta(minutes=5)
    assert send_pending(now=later).sent == 2
    assert send_pending(now=later + timedelta(hours=1)).sent == 0
    delivered = Counter(r.message_id for r in smtp.messages())
    assert sorted(delivered) == sorted(m.message_id for m in rows())
    assert set(delivered.values()) == {1}
    for m in rows():
        assert m.status == OutboxStatus.SENT and m.attempts == 4 and not m.last_error


def test_backoff_is_capped_then_failed_shows_in_admin_and_retry_sends(app, client, login, smtp):
    make_world()
    make_staff("OPSSCOORD", role=Role.COORDINATOR, email="coord@example.org")
    smtp.stop()
    Citizen(client).book()

    now = clock.now()
    delays = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = send_pending(now=now)
        queued = rows()
        assert {m.attempts for m in queued} == {attempt}
        if attempt < MAX_ATTEMPTS:
            assert report.retrying == 2
            delays.append((queued[0].next_attempt_at - now).total_seconds())
            now = queued[0].next_attempt_at
        else:
            assert report.failed == 2
            assert {m.status for m in queued} == {OutboxStatus.FAILED}
    assert delays == [10, 20, 40, 60]  # base * 2^(n-1), capped at OUTBOX_RETRY_MAX_SECONDS
    # Failed messages are left alone by the worker.
    assert send_pending(now=now + timedelta(days=1)).failed == 0
    failed = rows()[0]

    login("OPSSCOORD")
    page = client.get("/admin/correu/?estat=failed")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert failed.subject.replace("'", "&#39;") in html
    assert "Fallit" in html
    page = client.get(f"/admin/correu/{failed.id}")
    html = page.get_data(as_text=True)
    assert "ConnectionRefusedError" in html and "Torna-ho a provar" in html

    smtp.start()
    response = client.post(
        f"/admin/correu/{failed.id}/reintenta", data={"csrf_token": csrf_token(html)}
    )
    assert response.status_code == 303
    retried = db.session.get(OutboxMessage, failed.id)
    db.session.refresh(retried)
    assert (retried.status, retried.attempts, retried.last_error) == (OutboxStatus.PENDING, 0, "")
    assert send_pending().sent == 1
    (received,) = smtp.messages()
    assert received.message_id == failed.message_id
    check_imip(received.data)
    assert db.session.get(OutboxMessage, failed.id).status == OutboxStatus.SENT
    # The other one is still failed; a retry of a sent message changes nothing.
    assert [m.status for m in rows()].count(OutboxStatus.FAILED) == 1
    assert retry(failed.id) is False


def test_outbox_pages_are_for_coordinators_only(app, client, login, smtp):
    make_world()
    make_staff("OPSSCOORD", role=Role.COORDINATOR, email="coord@example.org")
    Citizen(client).book()
    message = rows()[0]
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(status=OutboxStatus.FAILED, attempts=MAX_ATTEMPTS, last_error="boom")
    )
    db.session.commit()

    anonymous = app.test_client()
    for url in ("/admin/correu/", f"/admin/correu/{message.id}"):
        response = anonymous.get(url)
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/entra"
    assert anonymous.post(f"/admin/correu/{message.id}/reintenta").status_code in (302, 400)

    technician = app.test_client()
    page = technician.get("/entra").get_data(as_text=True)
    response = technician.post(
        "/entra",
        data={"csrf_token": csrf_token(page), "username": "OPSSVEGAVN", "password": PASSWORD},
    )
    assert response.status_code == 303
    assert technician.get("/admin/correu/").status_code == 403
    assert technician.get(f"/admin/correu/{message.id}").status_code == 403
    home = technician.get("/espai/").get_data(as_text=True)
    response = technician.post(
        f"/admin/correu/{message.id}/reintenta", data={"csrf_token": csrf_token(home)}
    )
    assert response.status_code == 403
    assert rows()[0].status == OutboxStatus.FAILED  # neither of them changed anything

    login("OPSSCOORD")
    page = client.get("/admin/correu/")
    assert page.status_code == 200
    assert "Fallit" in page.get_data(as_text=True)
    assert "boom" in client.get(f"/admin/correu/{message.id}").get_data(as_text=True)


def test_a_refused_recipient_does_not_hold_up_the_rest_of_the_pass(app, smtp):
    """A permanent 550 for one address fails that message at once; the connection goes on."""
    world = make_world()
    smtp.reject.add("bounce@x.net")
    booked_directly(world, world.technicians[0], next_hour(30), citizen_email="bounce@x.net")
    booked_directly(world, world.technicians[1], next_hour(30), citizen_email="ok@x.net")

    report = send_pending()
    assert (report.sent, report.retrying, report.failed) == (3, 0, 1)
    (bounced,) = [m for m in rows() if m.status != OutboxStatus.SENT]
    assert bounced.recipient == "bounce@x.net" and bounced.status == OutboxStatus.FAILED
    assert bounced.attempts == 1, "retrying a mailbox that does not exist helps nobody"
    assert "SMTPRecipientsRefused" in bounced.last_error and "550" in bounced.last_error
    assert len(smtp.messages()) == 3
    assert not smtp.to("bounce@x.net")


def test_a_temporary_refusal_is_retried_later(app, smtp):
    world = make_world()
    smtp.defer.add("busy@x.net")
    booked_directly(world, world.technicians[0], next_hour(30), citizen_email="busy@x.net")
    report = send_pending()
    assert (report.sent, report.retrying, report.failed) == (1, 1, 0)
    (deferred,) = [m for m in rows() if m.status != OutboxStatus.SENT]
    assert deferred.status == OutboxStatus.PENDING and "450" in deferred.last_error
    smtp.defer.clear()
    assert send_pending(now=deferred.next_attempt_at + timedelta(seconds=1)).sent == 1
    assert len(smtp.to("busy@x.net")) == 1


def test_a_message_that_cannot_be_built_fails_visibly_instead_of_looping(app, smtp):
    world = make_world()
    booked_directly(world, world.technicians[0], next_hour(30))
    broken = next(m for m in rows() if m.kind == "created_citizen")
    broken.ics = b"not a calendar"
    db.session.commit()
    report = send_pending()
    assert (report.sent, report.failed) == (1, 1)
    broken = db.session.get(OutboxMessage, broken.id)
    assert broken.status == OutboxStatus.FAILED and broken.locked_by == ""


def test_a_message_that_kills_every_worker_ends_up_failed(app, smtp):
    """A claim left by a dead worker counts as an attempt, so it cannot go round for ever."""
    world = make_world()
    booked_directly(world, world.technicians[0], next_hour(30))
    stuck = next(m for m in rows() if m.kind == "created_citizen")
    max_attempts = app.config["OUTBOX_MAX_ATTEMPTS"]
    now = clock.now()
    for attempt in range(1, max_attempts + 1):
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == stuck.id)
            .values(status=OutboxStatus.SENDING, locked_by="dead", locked_at=now)
        )
        db.session.commit()
        now += timedelta(minutes=app.config["OUTBOX_STALE_LOCK_MINUTES"] + 1)
        _release_stale_claims(now)
        db.session.expire_all()
        row = db.session.get(OutboxMessage, stuck.id)
        assert row.attempts == attempt
        expected = OutboxStatus.FAILED if attempt >= max_attempts else OutboxStatus.PENDING
        assert row.status == expected


# --- several workers ----------------------------------------------------------------------------


def test_two_workers_at_once_send_each_message_exactly_once(app, smtp):
    world = make_world()
    first = next_hour(30)
    for i in range(15):
        technician = world.technicians[i % 3]
        booked_directly(world, technician, first + timedelta(hours=i), citizen_email=f"c{i}@x.net")
    db.session.commit()
    assert len(rows()) == 30
    db.session.close()

    def worker(name: str) -> list:
        return [send_pending(worker=name) for _ in range(3)]

    reports = [r for passes in in_app_at_once(app, worker, ("w1", "w2")) for r in passes]

    assert sum(r.sent for r in reports) == 30
    assert sum(r.retrying + r.failed for r in reports) == 0
    sent = rows()
    assert {m.status for m in sent} == {OutboxStatus.SENT}
    assert {m.attempts for m in sent} == {1}
    delivered = Counter(r.message_id for r in smtp.messages())
    assert len(smtp.messages()) == 30
    assert set(delivered.values()) == {1}
    assert set(delivered) == {m.message_id for m in sent}


def test_stale_claim_is_taken_again_and_a_fresh_one_is_not(app, smtp):
    world = make_world()
    stale_booking, _ = booked_directly(world, world.technicians[0], next_hour(30))
    busy_booking, _ = booked_directly(world, world.technicians[1], next_hour(30))
    now = clock.now()
    by_booking = {}
    for m in rows():
        if m.kind == "created_citizen":
            by_booking[m.booking_id] = m.id
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == by_booking[stale_booking.id])
        .values(
            status=OutboxStatus.SENDING, locked_by="dead", locked_at=now - timedelta(minutes=16)
        )
    )
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == by_booking[busy_booking.id])
        .values(
            status=OutboxStatus.SENDING, locked_by="alive", locked_at=now - timedelta(minutes=1)
        )
    )
    db.session.commit()

    report = send_pending(now=now)
    assert report.sent == 3
    stale = db.session.get(OutboxMessage, by_booking[stale_booking.id])
    fresh = db.session.get(OutboxMessage, by_booking[busy_booking.id])
    assert stale.status == OutboxStatus.SENT
    assert (fresh.status, fresh.locked_by) == (OutboxStatus.SENDING, "alive")
    delivered = {r.message_id for r in smtp.messages()}
    assert stale.message_id in delivered and fresh.message_id not in delivered
    # Once it is old, it is taken again too.
    assert send_pending(now=now + timedelta(minutes=15)).sent == 1
    assert db.session.get(OutboxMessage, fresh.id).status == OutboxStatus.SENT
    assert len(smtp.messages()) == 4


# --- ordering: an older revision never arrives after a newer one ------------------------------


def _reschedule_via_web(client, manage: str) -> None:
    for day in managing.days(client, manage):
        times = managing.slots(client, manage, day)
        if times:
            managing.reschedule(client, manage, times[-1])
            return
    raise AssertionError("no time to move to")


def test_reschedule_supersedes_the_unsent_revision(app, client, smtp):
    make_world()
    manage = Citizen(client).book()
    _reschedule_via_web(client, manage)
    booking = booking_of(manage)
    assert booking.ical_sequence == 1

    queued = rows()
    assert [(m.kind, m.status, m.ical_sequence) for m in queued] == [
        ("created_citizen", OutboxStatus.SUPERSEDED, 0),
        ("created_technician", OutboxStatus.SUPERSEDED, 0),
        ("rescheduled_citizen", OutboxStatus.PENDING, 1),
        # The technician's "Nova reserva" never went out: the revision that replaces it
        # is, for them, a new booking ("Nova cita"), not a change.
        ("assigned_technician", OutboxStatus.PENDING, 1),
    ]
    assert send_pending().sent == 2
    assert send_pending(now=clock.now() + timedelta(days=1)).sent == 0
    received = smtp.messages()
    assert len(received) == 2
    assert [sequence_of(r) for r in received] == [1, 1]
    superseded = {m.message_id for m in queued[:2]}
    assert not superseded & {r.message_id for r in received}


def test_later_revision_waits_while_the_earlier_one_is_sending(app, client, smtp):
    make_world()
    manage = Citizen(client).book()
    booking = booking_of(manage)
    citizen_v0 = next(m for m in rows() if m.kind == "created_citizen")
    # Another worker is in the middle of sending revision 0 to the citizen.
    mark_sending(citizen_v0.id)
    _reschedule_via_web(client, manage)

    statuses = {m.kind: m.status for m in rows()}
    assert statuses == {
        "created_citizen": OutboxStatus.SENDING,  # in flight: cannot be taken back
        "created_technician": OutboxStatus.SUPERSEDED,
        "rescheduled_citizen": OutboxStatus.PENDING,
        "assigned_technician": OutboxStatus.PENDING,  # their first message: a new booking
    }
    assert send_pending().sent == 1  # only the technician's revision 1
    assert smtp.to(booking.citizen_email) == []
    assert [sequence_of(r) for r in smtp.to(booking.technician.email)] == [1]

    # The other worker's attempt failed and will be retried later: still first in line.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == citizen_v0.id)
        .values(
            status=OutboxStatus.PENDING,
            locked_by="",
            locked_at=None,
            attempts=1,
            next_attempt_at=clock.now() + timedelta(seconds=BASE),
        )
    )
    db.session.commit()
    assert send_pending().sent == 0  # revision 0 is not due, revision 1 waits behind it
    later = clock.now() + timedelta(minutes=1)
    assert send_pending(now=later).sent + send_pending(now=later).sent == 2
    assert [sequence_of(r) for r in smtp.to(booking.citizen_email)] == [0, 1]


def test_a_failed_older_revision_is_never_sent_after_a_newer_one(app, client, smtp):
    """A failed revision n must not reach anyone once revision n+1 exists.

    The person would read the older e-mail last and believe it (docs/invitations.md,
    "SEQUENCE").

    Case 1: it failed before the reschedule; the reschedule supersedes it.
    Case 2: it was in flight during the reschedule and failed for good afterwards; staff
    pressing "Torna-ho a provar" must not send it after the newer one.
    """
    make_world()
    smtp.stop()
    manage = Citizen(client).book()
    booking = booking_of(manage)
    now = clock.now()
    for _ in range(MAX_ATTEMPTS):
        send_pending(now=now)
        now += timedelta(seconds=CAP)
    assert {m.status for m in rows()} == {OutboxStatus.FAILED}
    smtp.start()

    _reschedule_via_web(client, manage)
    by_kind = {m.kind: m for m in rows()}
    assert by_kind["created_citizen"].status == OutboxStatus.SUPERSEDED
    assert by_kind["created_technician"].status == OutboxStatus.SUPERSEDED
    assert send_pending().sent == 2
    assert retry(by_kind["created_citizen"].id) is False
    assert send_pending(now=clock.now() + timedelta(days=1)).sent == 0
    assert [sequence_of(r) for r in smtp.to(booking.citizen_email)] == [1]

    # Case 2: revision 1 to the citizen is in flight while revision 2 is queued...
    v1 = next(m for m in rows() if m.kind == "rescheduled_citizen")
    mark_sending(v1.id)
    _reschedule_via_web(client, manage)
    # ...and then fails for good.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == v1.id)
        .values(status=OutboxStatus.FAILED, locked_by="", locked_at=None, attempts=MAX_ATTEMPTS)
    )
    db.session.commit()
    send_pending()
    retry(v1.id)
    send_pending(now=clock.now() + timedelta(days=1))
    sequences = [sequence_of(r) for r in smtp.to(booking.citizen_email)]
    assert sequences == sorted(sequences), sequences
    assert sequences[-1] == 2


# --- reminders --------------------------------------------------------------------------------


def test_reminder_is_queued_once_and_only_when_due(app, smtp):
    world = make_world()
    t1, t2, t3 = world.technicians
    now = clock.now()
    due, _ = booked_directly(world, t1, next_hour(20), notify=False, citizen_email="due@x.net")
    booked_directly(
        world,
        t2,
        next_hour(21),
        notify=False,
        status=BookingStatus.CANCELLED,
        citizen_email="cancelled@x.net",
    )
    booked_directly(
        world,
        t3,
        next_hour(22),
        notify=False,
        confirmed_at=now - timedelta(minutes=5),
        citizen_email="just-booked@x.net",
    )
    booked_directly(world, t1, next_hour(30), notify=False, citizen_email="later@x.net")
    booked_directly(world, t2, now - timedelta(hours=2), notify=False, citizen_email="past@x.net")

    assert queue_due_reminders(now=now) == 1
    assert queue_due_reminders(now=now) == 0
    assert queue_due_reminders(now=now + timedelta(minutes=30)) == 0
    queued = rows()
    assert [(m.kind, m.recipient, m.booking_id) for m in queued] == [
        ("reminder_citizen", "due@x.net", due.id)
    ]
    assert queued[0].ics is None and queued[0].ics_method == ""
    # The booking ten hours away gets its reminder when it is due, once.
    assert queue_due_reminders(now=now + timedelta(hours=7)) == 1
    assert queue_due_reminders(now=now + timedelta(hours=7)) == 0
    assert [m.recipient for m in rows()] == ["due@x.net", "later@x.net"]


def test_reminders_from_two_workers_at_once_are_queued_once(app, smtp):
    world = make_world()
    for i in range(12):
        technician = world.technicians[i % 3]
        booked_directly(
            world, technician, next_hour(2 + i), notify=False, citizen_email=f"r{i}@x.net"
        )
    db.session.close()
    now = clock.now()
    counts = in_app_at_once(app, lambda _: queue_due_reminders(now=now), range(2))
    assert sum(counts) == 12
    queued = rows()
    assert len(queued) == 12
    assert Counter(m.booking_id for m in queued).most_common(1)[0][1] == 1


def test_reminder_has_join_link_and_working_manage_links(app, client, smtp):
    world = make_world()
    booking, old_token = booked_directly(world, world.technicians[0], next_hour(20), notify=False)
    assert queue_due_reminders() == 1
    assert send_pending().sent == 1
    (received,) = smtp.messages()
    assert subject_of(received).startswith("Recordatori de la vostra cita: ")
    assert not [p for p in received.message.walk() if p.get_content_type() == "text/calendar"]
    text = text_of(received)
    assert f"Hola {booking.citizen_name}" in text
    assert booking.video_link in text and booking.video_link in html_of(received)
    urls = links(text)
    reschedule_url = next(u for u in urls if u.endswith("/planifica"))
    cancel_url = next(u for u in urls if u.endswith("/anulla"))
    assert old_token not in reschedule_url  # a fresh manage token
    page = client.get(path(reschedule_url))
    assert page.status_code == 200
    page = client.get(path(cancel_url))
    assert page.status_code == 200
    assert "Voleu anul·lar la cita?" in page.get_data(as_text=True)
    assert booking_of(path(cancel_url).removesuffix("/anulla")).id == booking.id


def test_reminder_does_not_supersede_an_unsent_invitation(app, smtp):
    """Mail was down when the booking was moved; the reminder must not eat the update."""
    world = make_world()
    booking, _token = booked_directly(world, world.technicians[0], next_hour(48))
    assert send_pending().sent == 2
    slots, _ = open_slots(world.service, clock.now(), rules())
    new_start = next(s.start for s in slots if s.start != booking.start_utc)
    moved_at = new_start - timedelta(days=3)
    smtp.stop()
    reschedule_booking(booking.id, new_start, moved_at)
    assert send_pending().retrying == 2
    smtp.start()

    reminder_time = new_start - timedelta(hours=20)
    assert queue_due_reminders(now=reminder_time) == 1
    statuses = {m.kind: m.status for m in rows()}
    assert statuses["rescheduled_citizen"] == OutboxStatus.PENDING
    later = clock.now() + timedelta(minutes=5)
    assert send_pending(now=later).sent + send_pending(now=later).sent == 3
    kinds = [
        next(m.kind for m in rows() if m.message_id == r.message_id)
        for r in smtp.to(booking.citizen_email)
    ]
    assert kinds == ["created_citizen", "rescheduled_citizen", "reminder_citizen"]
