"""The satisfaction survey: when it is sent, the citizen's page, and the coordinators' results.

Real database (SQLite file and PostgreSQL), real SMTP server on loopback for the e-mail, pages
read with an HTML parser, CSV read with the csv module. Results are checked against figures
computed by hand in the comments next to the data.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy import select

from support.apps import smtp_config
from support.concurrency import at_once
from support.concurrency import in_app_at_once
from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_town
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.outbox import clear_html
from support.outbox import clear_text
from support.queries import counted_selects
from umic import clock
from umic.admin import survey_results
from umic.booking import service as booking_service
from umic.core import periods
from umic.extensions import db
from umic.jobs import run_worker
from umic.mail.outbox import send_pending
from umic.models import AccessToken
from umic.models import Booking
from umic.models import BookingStatus
from umic.models import OutboxMessage
from umic.models import OutboxStatus
from umic.models import Role
from umic.models import SurveyResponse
from umic.models import TokenPurpose
from umic.surveys.routes import bp as surveys_bp
from umic.surveys.service import queue_due_surveys

MADRID = ZoneInfo("Europe/Madrid")
ATTENTION_ERROR = "Trieu una valoració de l'atenció rebuda, de 0 a 10"
COMPETENCE_ERROR = "Trieu una valoració de la competència de la persona tècnica, de 0 a 10"
RESOLVED_ERROR = "Trieu si s'ha resolt la consulta"
COMMENT_ERROR = "El comentari ha de tenir 1.000 caràcters o menys"
GOOD = {"attention": "9", "competence": "10", "resolved": "totalment", "comment": "Molt clar."}


@pytest.fixture
def app_config(request) -> dict:
    """Real mail for the tests that ask for the SMTP server."""
    if "smtp" in request.fixturenames:
        return smtp_config(request.getfixturevalue("smtp"))
    return {}


@pytest.fixture(autouse=True)
def surveys_registered(app):
    """The public blueprint, until create_app registers it."""
    if "surveys" not in app.blueprints:
        app.register_blueprint(surveys_bp)
    return app


# --- helpers ----------------------------------------------------------------------------------


def now() -> datetime:
    return clock.now().replace(microsecond=0)


def call(world, technician, *, ended_hours_ago: float, **overrides) -> Booking:
    """A 30-minute call that ended ``ended_hours_ago`` hours ago (negative: still to end)."""
    start = now() - timedelta(hours=ended_hours_ago, minutes=30)
    booking, _token = make_booking(world.town, world.service, technician, start, **overrides)
    return booking


def surveys_queued() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "survey").order_by(OutboxMessage.id)
        )
    )


def survey_path(message: OutboxMessage) -> str:
    (url,) = set(re.findall(r"https?://\S+/enquesta/\S+", clear_text(message)))
    assert url in clear_html(message)
    parts = urlsplit(url)
    assert parts.netloc == "localhost"
    return parts.path


def responses() -> list[SurveyResponse]:
    db.session.expire_all()
    return list(db.session.scalars(select(SurveyResponse).order_by(SurveyResponse.id)))


def open_link(world, **overrides) -> tuple[Booking, str]:
    """An attended call whose survey e-mail is queued; returns it and the link's path."""
    booking = call(world, world.technicians[0], ended_hours_ago=2, **overrides)
    booking_service.mark(
        booking.id, BookingStatus.ATTENDED, actor_id=world.technicians[0].id, now=now()
    )
    message = next(m for m in surveys_queued() if m.booking_id == booking.id)
    return booking, survey_path(message)


def submit(client, path: str, data: dict):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    token = csrf_token(page.get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def title(html: str) -> str:
    return soup(html).title.get_text(strip=True)


# --- Sending ----------------------------------------------------------------------------------


def test_marking_a_call_attended_during_it_queues_no_survey_until_the_job_after_its_end(app):
    """M6: marking "attended" during the call does not e-mail the survey at once; the
    periodic job sends it once the call has ended, exactly once."""
    world = make_world(technicians=1)
    technician = world.technicians[0]
    booking = call(world, technician, ended_hours_ago=-0.25)  # started 15 minutes ago
    marked_at = now()

    booking_service.mark(booking.id, BookingStatus.ATTENDED, actor_id=technician.id, now=marked_at)

    assert surveys_queued() == []  # the call is still on
    db.session.refresh(booking)
    assert booking.status == BookingStatus.ATTENDED and booking.survey_sent_at is None
    assert queue_due_surveys(now=booking.end_utc - timedelta(minutes=1)) == 0
    assert surveys_queued() == []

    after_end = booking.end_utc + timedelta(minutes=5)
    assert queue_due_surveys(now=after_end) == 1
    (message,) = surveys_queued()
    assert message.recipient == "raul@example.net" and message.booking_id == booking.id
    assert message.status == OutboxStatus.PENDING
    assert message.next_attempt_at == after_end  # it goes now
    assert message.subject.startswith("Com valoreu la videotrucada del ")
    db.session.refresh(booking)
    assert booking.survey_sent_at == after_end
    (token,) = db.session.scalars(
        select(AccessToken).where(AccessToken.purpose == TokenPurpose.SURVEY)
    ).all()
    assert token.booking_id == booking.id
    assert token.expires_at == after_end + timedelta(days=30)
    assert survey_path(message).rsplit("/", 1)[1] not in token.token_hash  # only the hash

    # Marked again, or the worker's next passes: nothing more.
    booking_service.mark(booking.id, BookingStatus.ATTENDED, actor_id=technician.id, now=after_end)
    assert queue_due_surveys(now=after_end + timedelta(minutes=1)) == 0
    assert queue_due_surveys(now=now() + timedelta(days=2)) == 0
    assert len(surveys_queued()) == 1


def test_marking_a_call_attended_after_its_end_queues_its_survey_at_once(app):
    """M6: marked after the end, the survey is queued in the same transaction, once."""
    world = make_world(technicians=1)
    technician = world.technicians[0]
    booking = call(world, technician, ended_hours_ago=0.5)
    marked_at = now()
    booking_service.mark(booking.id, BookingStatus.ATTENDED, actor_id=technician.id, now=marked_at)
    (message,) = surveys_queued()
    assert message.booking_id == booking.id and message.next_attempt_at == marked_at
    assert queue_due_surveys(now=marked_at + timedelta(hours=1)) == 0
    assert len(surveys_queued()) == 1


def test_marking_through_the_agenda_sends_the_survey(app, client, login):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    booking = call(world, technician, ended_hours_ago=1)
    login(technician.username)
    page = client.get("/espai/").get_data(as_text=True)
    response = client.post(
        f"/espai/cites/{booking.id}/estat",
        data={"csrf_token": csrf_token(page), "status": "attended"},
    )
    assert response.status_code == 303
    (message,) = surveys_queued()
    assert message.booking_id == booking.id
    assert message.next_attempt_at <= clock.now()  # the call is over: it goes now


def test_an_unmarked_call_gets_its_survey_the_configured_hours_after_its_end(app):
    world = make_world(technicians=1)
    booking = call(world, world.technicians[0], ended_hours_ago=23)
    start = now()
    assert queue_due_surveys(now=start) == 0  # 23 hours: not yet (SURVEY_UNMARKED_AFTER_HOURS)
    assert surveys_queued() == []
    assert queue_due_surveys(now=start + timedelta(hours=1, minutes=1)) == 1
    assert queue_due_surveys(now=start + timedelta(hours=2)) == 0
    (message,) = surveys_queued()
    assert message.booking_id == booking.id
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CONFIRMED and booking.survey_sent_at is not None
    # Marked attended afterwards: the survey already went, it does not go again.
    technician_id = world.technicians[0].id
    booking_service.mark(booking.id, BookingStatus.ATTENDED, actor_id=technician_id, now=now())
    assert len(surveys_queued()) == 1


@pytest.mark.parametrize("app_config", [{"SURVEY_UNMARKED_AFTER_HOURS": 2}])
def test_the_waiting_time_for_unmarked_calls_is_configurable(app):
    world = make_world(technicians=1)
    call(world, world.technicians[0], ended_hours_ago=3)
    call(world, world.technicians[0], ended_hours_ago=1)
    assert queue_due_surveys() == 1


def test_no_show_and_cancelled_calls_never_get_a_survey(app):
    world = make_world(technicians=2)
    t1, t2 = world.technicians
    missed = call(world, t1, ended_hours_ago=1)
    booking_service.mark(missed.id, BookingStatus.NO_SHOW, actor_id=t1.id, now=now())
    call(world, t2, ended_hours_ago=30, status=BookingStatus.NO_SHOW)
    call(world, t1, ended_hours_ago=30, status=BookingStatus.CANCELLED)
    assert queue_due_surveys(now=now() + timedelta(days=1)) == 0
    assert surveys_queued() == []


def test_no_email_address_no_survey(app):
    world = make_world(technicians=2)
    t1, t2 = world.technicians
    phoned = call(world, t1, ended_hours_ago=1, citizen_email="")
    booking_service.mark(phoned.id, BookingStatus.ATTENDED, actor_id=t1.id, now=now())
    call(world, t2, ended_hours_ago=30, citizen_email="")
    assert queue_due_surveys() == 0
    assert surveys_queued() == []


def test_calls_long_past_get_no_survey(app):
    """Switching the feature on must not mail everyone who ever had a call."""
    world = make_world(technicians=1)
    call(world, world.technicians[0], ended_hours_ago=20 * 24)
    call(world, world.technicians[0], ended_hours_ago=20 * 24 + 2, status=BookingStatus.ATTENDED)
    assert queue_due_surveys() == 0


def test_two_workers_at_once_queue_each_survey_once(app):
    world = make_world(technicians=3)
    for i in range(12):
        call(
            world,
            world.technicians[i % 3],
            ended_hours_ago=30 + i,
            citizen_email=f"s{i}@example.net",
            status=BookingStatus.ATTENDED if i % 2 else BookingStatus.CONFIRMED,
        )
    db.session.close()
    counts = in_app_at_once(app, lambda _: queue_due_surveys(), range(2))
    assert sum(counts) == 12
    queued = surveys_queued()
    assert len(queued) == 12
    assert Counter(m.booking_id for m in queued).most_common(1)[0][1] == 1
    assert (
        db.session.scalar(
            select(func.count()).select_from(AccessToken).where(AccessToken.purpose == "survey")
        )
        == 12
    )


def test_correcting_to_no_show_takes_back_a_survey_not_sent_yet(app):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    booking = call(world, technician, ended_hours_ago=0.25)  # queued, not sent yet
    booking_service.mark(booking.id, BookingStatus.ATTENDED, actor_id=technician.id, now=now())
    (message,) = surveys_queued()
    path = survey_path(message)

    booking_service.mark(booking.id, BookingStatus.NO_SHOW, actor_id=technician.id, now=now())
    (message,) = surveys_queued()
    assert message.status == OutboxStatus.SUPERSEDED
    db.session.refresh(booking)
    assert booking.survey_sent_at is None
    assert queue_due_surveys(now=now() + timedelta(days=2)) == 0

    client = app.test_client()
    assert client.get(path).status_code == 410
    # Marked attended again: the survey goes (once).
    booking_service.mark(booking.id, BookingStatus.ATTENDED, actor_id=technician.id, now=now())
    assert [m.status for m in surveys_queued()] == [OutboxStatus.SUPERSEDED, OutboxStatus.PENDING]


def test_the_survey_email_arrives_over_smtp_and_its_link_works(app, client, smtp):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    booking = call(world, technician, ended_hours_ago=1, citizen_email="maria@example.net")
    booking_id = booking.id
    booking_service.mark(booking_id, BookingStatus.ATTENDED, actor_id=technician.id, now=now())
    run_worker(stop_after=1)  # the worker's pass sends it (and queues nothing more)

    (received,) = smtp.to("maria@example.net")
    message = received.message
    assert str(message["Subject"]).strip().startswith("Com valoreu la videotrucada del ")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hola Raúl Sánchez," in text
    (url,) = re.findall(r"http://localhost/enquesta/\S+", text)
    assert url in html and "Respon l'enquesta" in html

    path = urlsplit(url).path
    page = client.get(path)
    assert page.status_code == 200
    assert "Enquesta de valoració" in title(page.get_data(as_text=True))
    response = submit(client, path, GOOD)
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == f"{path}/gracies"
    assert [(r.booking_id, r.attention, r.competence) for r in responses()] == [(booking_id, 9, 10)]
    assert send_pending().sent == 0  # nothing else was written


# --- The citizen's page -----------------------------------------------------------------------


def test_the_page_asks_three_questions_in_accessible_groups(app, client):
    world = make_world(technicians=1)
    _booking, path = open_link(world)
    html = client.get(path).get_data(as_text=True)
    page = soup(html)
    assert title(html).startswith("Enquesta de valoració – ")
    assert page.select("main h1")[0].get_text(strip=True) == "Enquesta de valoració"
    form = page.select_one("main form")
    assert form["method"] == "post" and form["action"] == path and form.has_attr("novalidate")
    assert not page.select("[required]") and not page.select("script:not([src])")

    fieldsets = form.select("fieldset")
    legends = [f.legend.get_text(strip=True) for f in fieldsets]
    assert legends == [
        "Valoració de l'atenció rebuda",
        "Valoració de la competència de la persona tècnica",
        "S'ha resolt la consulta?",
    ]
    for fieldset, name in zip(fieldsets[:2], ["attention", "competence"], strict=True):
        hint = page.find(id=fieldset["aria-describedby"])
        assert hint.get_text(strip=True) == "0 vol dir gens de satisfacció i 10, molta."
        radios = fieldset.select("input[type=radio]")
        assert [r["value"] for r in radios] == [str(n) for n in range(11)]
        assert {r["name"] for r in radios} == {name}
        for radio in radios:  # every option has its own visible label
            assert (
                page.select_one(f"label[for={radio['id']}]").get_text(strip=True) == radio["value"]
            )
    resolved = fieldsets[2].select("input[type=radio]")
    labels = [page.select_one(f"label[for={r['id']}]").get_text() for r in resolved]
    assert list(zip([r["value"] for r in resolved], labels, strict=True)) == [
        ("totalment", "Sí, totalment"),
        ("parcialment", "Sí, parcialment"),
        ("no", "No"),
    ]
    comment = form.select_one("textarea[name=comment]")
    label = page.select_one(f"label[for={comment['id']}]").get_text(" ", strip=True)
    assert label == "Comentaris (opcional)"
    assert "Fins a 1.000 caràcters" in page.find(id=comment["aria-describedby"]).get_text()
    assert form.select_one("button[type=submit]").get_text(strip=True) == "Envia la valoració"
    # No citizen data on the page: only the day of the call.
    assert "Raúl" not in html and "raul@example.net" not in html


def test_an_empty_answer_shows_every_error_with_a_summary(app, client):
    world = make_world(technicians=1)
    _booking, path = open_link(world)
    response = submit(client, path, {})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert title(html).startswith("Error: Enquesta de valoració")
    assert error_messages(html) == [ATTENTION_ERROR, COMPETENCE_ERROR, RESOLVED_ERROR]
    links = summary_links(html)
    assert links == [
        ("#attention-0", ATTENTION_ERROR),
        ("#competence-0", COMPETENCE_ERROR),
        ("#resolved-0", RESOLVED_ERROR),
    ]
    page = soup(html)
    for href, _text in links:
        assert page.select_one(href).name == "input"
    # The error is tied to its group, as well as the hint.
    described = page.select("fieldset")[0]["aria-describedby"].split()
    assert described == ["attention-hint", "attention-error"]
    assert responses() == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("attention", "11", ATTENTION_ERROR),
        ("attention", "-1", ATTENTION_ERROR),
        ("attention", "9.5", ATTENTION_ERROR),
        ("attention", "nou", ATTENTION_ERROR),
        ("attention", "", ATTENTION_ERROR),
        ("competence", "100", COMPETENCE_ERROR),
        ("competence", " ", COMPETENCE_ERROR),
        ("resolved", "potser", RESOLVED_ERROR),
        ("resolved", "Sí, totalment", RESOLVED_ERROR),
        ("comment", "x" * 1001, COMMENT_ERROR),
    ],
)
def test_each_bad_answer_is_explained_beside_its_field_and_the_rest_is_kept(
    app, client, field, value, message
):
    world = make_world(technicians=1)
    _booking, path = open_link(world)
    data = {**GOOD, field: value}
    response = submit(client, path, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert title(html).startswith("Error: ")
    assert error_messages(html) == [message]
    (link,) = summary_links(html)
    assert link[1] == message
    page = soup(html)
    error = page.select_one(".field-error .error-message")
    assert message in error.get_text()
    # What was right is still there.
    for name in ("attention", "competence", "resolved"):
        checked = page.select_one(f"input[name={name}][checked]")
        if name == field:
            assert checked is None
        else:
            assert checked["value"] == GOOD[name]
    comment = page.select_one("textarea[name=comment]").get_text()
    assert comment.strip() == (value if field == "comment" else GOOD["comment"])
    assert responses() == []


def test_a_comment_of_exactly_1000_characters_and_no_comment_are_both_fine(app, client):
    world = make_world(technicians=2)
    _b1, path1 = open_link(world)
    booking2 = call(world, world.technicians[1], ended_hours_ago=30)
    queue_due_surveys()
    path2 = survey_path(next(m for m in surveys_queued() if m.booking_id == booking2.id))
    assert submit(client, path1, {**GOOD, "comment": "é" * 1000}).status_code == 303
    assert submit(client, path2, {**GOOD, "comment": "   "}).status_code == 303
    assert [len(r.comment) for r in responses()] == [1000, 0]


def test_an_answer_without_a_valid_form_token_is_refused(app, client):
    world = make_world(technicians=1)
    _booking, path = open_link(world)
    client.get(path)
    assert client.post(path, data=GOOD).status_code == 400
    assert client.post(path, data={**GOOD, "csrf_token": "forged"}).status_code == 400
    assert responses() == []


def test_the_answer_is_saved_once_with_the_technician_and_town_of_the_call(app, client):
    world = make_world(technicians=2)
    booking, path = open_link(world)
    response = submit(client, path, {**GOOD, "comment": "  Molt clar.\r\nGràcies  "})
    assert response.status_code == 303
    thanks = client.get(response.headers["Location"])
    assert thanks.status_code == 200
    assert "Gràcies per la vostra valoració" in thanks.get_data(as_text=True)

    (answer,) = responses()
    assert (answer.booking_id, answer.technician_id, answer.municipality_id) == (
        booking.id,
        booking.technician_id,
        booking.municipality_id,
    )
    assert (answer.attention, answer.competence, answer.resolved) == (9, 10, "totalment")
    assert answer.comment == "Molt clar.\nGràcies" and answer.language == "ca"
    token = db.session.scalar(select(AccessToken).where(AccessToken.purpose == "survey"))
    assert token.last_used_at is not None

    # A second visit says so; a second answer changes nothing.
    again = client.get(path)
    assert again.status_code == 200
    assert "Ja heu respost aquesta enquesta. Gràcies" in again.get_data(as_text=True)
    assert not soup(again.get_data(as_text=True)).select("main form")
    token = csrf_token(client.get("/reserva/").get_data(as_text=True))
    second = client.post(path, data={"csrf_token": token, **GOOD, "attention": "0"})
    assert second.status_code == 303
    assert "Ja heu respost" in client.get(second.headers["Location"]).get_data(as_text=True)
    assert [(r.attention, r.comment) for r in responses()] == [(9, "Molt clar.\nGràcies")]


def test_two_answers_sent_at_the_same_moment_make_one_row_and_no_error(app):
    world = make_world(technicians=1)
    _booking, path = open_link(world)
    ready = []
    for attention in ("3", "8"):
        client = app.test_client()
        token = csrf_token(client.get(path).get_data(as_text=True))
        ready.append((client, {**GOOD, "attention": attention, "csrf_token": token}))
    db.session.close()
    results = at_once(lambda entry: entry[0].post(path, data=entry[1]), ready)
    assert [r.status_code for r in results] == [303, 303]
    (answer,) = responses()
    assert answer.attention in (3, 8)
    assert sorted(urlsplit(r.headers["Location"]).path for r in results)[0] == path


def test_expired_unknown_and_closed_links_say_so(app, client):
    world = make_world(technicians=1)
    booking, path = open_link(world)
    assert client.get(f"{path}/gracies").headers["Location"].endswith(path)  # not answered yet

    token = db.session.scalar(select(AccessToken).where(AccessToken.purpose == "survey"))
    token.expires_at = now() - timedelta(minutes=1)
    db.session.commit()
    expired = client.get(path)
    assert expired.status_code == 410
    assert "Aquesta enquesta ha caducat" in expired.get_data(as_text=True)
    page = expired.get_data(as_text=True)
    assert csrf_token(page)  # only the header's token: no form
    assert client.post(path, data={"csrf_token": csrf_token(page), **GOOD}).status_code == 410
    assert responses() == []

    unknown = client.get("/enquesta/no-existeix")
    assert unknown.status_code == 404
    assert "No hem trobat aquesta enquesta" in unknown.get_data(as_text=True)
    assert client.get("/enquesta/no-existeix/gracies").status_code == 404
    manage = db.session.scalar(select(AccessToken).where(AccessToken.purpose == "manage"))
    assert manage is not None  # a manage token's hash is no survey link
    assert client.get("/enquesta/" + "x" * 200).status_code == 404

    # The call is corrected to a no-show after the survey went: the link closes.
    token.expires_at = now() + timedelta(days=1)
    db.session.commit()
    assert send_pending().sent == 1  # (MAIL_SUPPRESS_SEND: marked sent, nothing leaves)
    booking_service.mark(
        booking.id, BookingStatus.NO_SHOW, actor_id=world.technicians[0].id, now=now()
    )
    closed = client.get(path)
    assert closed.status_code == 410
    assert "Aquesta enquesta no està disponible" in closed.get_data(as_text=True)


# --- Results ----------------------------------------------------------------------------------


def madrid(year, month, day, hour=12, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


def sent_booking(world, technician, sent_at: datetime, town=None) -> Booking:
    booking, _token = make_booking(
        town or world.town,
        world.service,
        technician,
        sent_at - timedelta(hours=2),
        status=BookingStatus.ATTENDED,
        survey_sent_at=sent_at,
    )
    return booking


def answer(booking, attention, competence, resolved, answered_at, comment="") -> None:
    db.session.add(
        SurveyResponse(
            booking_id=booking.id if booking else None,
            technician_id=booking.technician_id if booking else None,
            municipality_id=booking.municipality_id if booking else None,
            attention=attention,
            competence=competence,
            resolved=resolved,
            comment=comment,
            answered_at=answered_at,
        )
    )
    db.session.commit()


def coordinator(login) -> None:
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    login("OPSSCOORD")


def table(html: str, key: str) -> list[list[str]]:
    """A results table as rows of cell text (header row first; an empty cell is '')."""
    node = soup(html).find("table", id=f"taula-{key}")
    assert node is not None, key
    return [
        [
            "" if cell.select_one(".empty") else cell.get_text(" ", strip=True)
            for cell in tr.find_all(["th", "td"])
        ]
        for tr in node.select("tr")
    ]


def as_dict(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in rows[1:]}


def results_page(client, **args):
    response = client.get("/admin/enquestes/", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_results_match_the_pilot_figures_computed_by_hand(app, client, login):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    # Twelve surveys sent in March 2025; ten answered:
    # attention 10,10,10,10,9,9,9,9,9,9 -> 94/10 = 9,4; competence 10,10,10,9 x7 -> 93/10 = 9,3;
    # resolved 7 fully, 3 partly, 0 not -> 70 %, 30 %, 0 %; response rate 10/12 = 83,3 %.
    attention = [10, 10, 10, 10, 9, 9, 9, 9, 9, 9]
    competence = [10, 10, 10, 9, 9, 9, 9, 9, 9, 9]
    resolved = ["totalment"] * 7 + ["parcialment"] * 3
    for i in range(12):
        booking = sent_booking(world, technician, madrid(2025, 3, 3 + i, 18))
        if i < 10:
            answer(booking, attention[i], competence[i], resolved[i], madrid(2025, 3, 4 + i, 10))
    coordinator(login)
    html = results_page(client, desde="2025-03-01", fins="2025-03-31")

    summary = as_dict(table(html, "resum"))
    assert summary["Enquestes enviades"] == ["12"]
    assert summary["Enquestes enviades que s'han respost"] == ["10"]
    assert summary["Taxa de resposta"] == ["83,3 %"]
    assert summary["Respostes rebudes en el període"] == ["10"]
    assert summary["Valoració mitjana de l'atenció rebuda (de 0 a 10)"] == ["9,4"]
    assert summary["Valoració mitjana de la competència del tècnic (de 0 a 10)"] == ["9,3"]
    assert summary["S'ha resolt la consulta: sí, totalment"] == ["70 %"]
    assert summary["S'ha resolt la consulta: sí, parcialment"] == ["30 %"]
    assert summary["S'ha resolt la consulta: no"] == ["0 %"]

    assert table(html, "resolta") == [
        ["Resposta", "Respostes", "Percentatge"],
        ["Sí, totalment", "7", "70 %"],
        ["Sí, parcialment", "3", "30 %"],
        ["No", "0", "0 %"],
    ]
    ratings = table(html, "valoracions")
    assert ratings[0] == ["Puntuació", "Atenció rebuda", "Competència del tècnic"]
    assert ratings[1:] == [[str(n), "0", "0"] for n in range(9)] + [
        ["9", "6", "7"],
        ["10", "4", "3"],
    ]
    # The charts are images with a text alternative, each followed by its table.
    page = soup(html)
    images = page.select("figure.chart img")
    assert len(images) == 3
    for image in images:
        assert image["src"].startswith("data:image/svg+xml;base64,") and image["alt"]
        frame = image.find_parent("figure").find_parent("div")
        assert frame.find_next_sibling("div").select_one("table")
    assert "70 %" in images[1]["alt"] and "30 %" in images[1]["alt"]


def test_results_per_month_town_and_technician(app, client, login):
    world = make_world(technicians=2)
    t1, t2 = world.technicians  # OPSSVEGAVN, OPSSAPRESGA
    begues = make_town("Begues", "08020")
    a = sent_booking(world, t1, madrid(2025, 1, 9))
    b = sent_booking(world, t1, madrid(2025, 1, 30))
    c = sent_booking(world, t2, madrid(2025, 1, 31, 11), town=begues)
    d = sent_booking(world, t2, madrid(2025, 2, 14))
    e = sent_booking(world, t2, madrid(2025, 3, 2), town=begues)
    sent_booking(world, t1, madrid(2025, 2, 20))  # f: not answered
    sent_booking(world, t2, madrid(2025, 3, 10), town=begues)  # g: not answered
    sent_booking(world, t1, madrid(2025, 3, 31, 23))  # h: last hour of the period, Madrid time
    sent_booking(world, t1, madrid(2025, 4, 1, 0, 30))  # outside the period
    sent_booking(world, t1, madrid(2024, 12, 31, 23, 30))  # outside the period
    answer(a, 10, 9, "totalment", madrid(2025, 1, 10))
    answer(b, 8, 8, "parcialment", madrid(2025, 1, 31, 23, 30))  # still January in Madrid
    answer(c, 6, 7, "no", madrid(2025, 2, 1, 0, 30))  # February in Madrid, January in UTC
    answer(d, 9, 10, "totalment", madrid(2025, 2, 15))
    answer(e, 7, 6, "totalment", madrid(2025, 3, 3))
    answer(None, 0, 0, "no", madrid(2025, 4, 1, 0, 10))  # April in Madrid: outside
    coordinator(login)
    html = results_page(client, desde="2025-01-01", fins="2025-03-31")

    # Sent: Jan a,b,c (3, all answered); Feb d,f (2, one answered); Mar e,g,h (3, one answered).
    # Answers: Jan a,b -> attention (10+8)/2 = 9,0, competence (9+8)/2 = 8,5, 1 fully 1 partly;
    # Feb c,d -> 7,5 and 8,5, 1 fully 1 not; Mar e -> 7,0 and 6,0, fully.
    headers = table(html, "mesos")[0]
    assert headers == [
        "Mes",
        "Enquestes enviades",
        "Taxa de resposta",
        "Respostes",
        "Atenció (mitjana)",
        "Competència (mitjana)",
        "Resolta totalment",
        "Resolta parcialment",
        "No resolta",
    ]
    assert as_dict(table(html, "mesos")) == {
        "Gener de 2025": ["3", "100 %", "2", "9,0", "8,5", "50 %", "50 %", "0 %"],
        "Febrer de 2025": ["2", "50 %", "2", "7,5", "8,5", "50 %", "0 %", "50 %"],
        "Març de 2025": ["3", "33,3 %", "1", "7,0", "6,0", "100 %", "0 %", "0 %"],
    }
    # Towns: Gelida a,b,d answered (+ f,h sent): 5 sent, 3 answered = 60 %;
    # attention (10+8+9)/3 = 9,0, competence (9+8+10)/3 = 9,0, fully 2/3, partly 1/3.
    # Begues c,e answered (+ g): 3 sent, 2 answered = 66,7 %; 6,5 and 6,5; fully 1, not 1.
    assert as_dict(table(html, "municipis")) == {
        "Begues": ["3", "66,7 %", "2", "6,5", "6,5", "50 %", "0 %", "50 %"],
        "Gelida": ["5", "60 %", "3", "9,0", "9,0", "66,7 %", "33,3 %", "0 %"],
    }
    # Technicians: t1 a,b answered (+ f,h): 4 sent, 50 %; 9,0 and 8,5.
    # t2 c,d,e answered (+ g): 4 sent, 75 %; attention 22/3 = 7,3, competence 23/3 = 7,7;
    # fully 2/3 = 66,7 %, not 1/3 = 33,3 %.
    assert as_dict(table(html, "tecnics")) == {
        f"OPSSAPRESGA ({t2.name})": ["4", "75 %", "3", "7,3", "7,7", "66,7 %", "0 %", "33,3 %"],
        f"OPSSVEGAVN ({t1.name})": ["4", "50 %", "2", "9,0", "8,5", "50 %", "50 %", "0 %"],
    }
    # Overall: 8 sent, 5 answered = 62,5 %; attention 40/5 = 8,0; competence 40/5 = 8,0.
    summary = as_dict(table(html, "resum"))
    assert summary["Enquestes enviades"] == ["8"]
    assert summary["Taxa de resposta"] == ["62,5 %"]
    assert summary["Valoració mitjana de l'atenció rebuda (de 0 a 10)"] == ["8,0"]
    assert summary["S'ha resolt la consulta: sí, totalment"] == ["60 %"]


def test_a_month_without_answers_shows_empty_cells_not_zeroes(app, client, login):
    world = make_world(technicians=1)
    booking = sent_booking(world, world.technicians[0], madrid(2025, 5, 5))
    answer(booking, 8, 7, "parcialment", madrid(2025, 5, 6))
    coordinator(login)
    html = results_page(client, desde="2025-04-01", fins="2025-05-31")
    assert as_dict(table(html, "mesos")) == {
        "Abril de 2025": ["0", "", "0", "", "", "", "", ""],
        "Maig de 2025": ["1", "100 %", "1", "8,0", "7,0", "0 %", "100 %", "0 %"],
    }
    empty = soup(html).select_one("#taula-mesos .empty")
    assert empty.get_text(strip=True) == "–Sense dades"


def test_the_default_period_is_the_last_twelve_months(app, client, login):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    today = clock.now().astimezone(MADRID).date()
    recent = sent_booking(world, technician, now() - timedelta(days=3))
    answer(recent, 10, 10, "totalment", now() - timedelta(days=2))
    old = sent_booking(world, technician, now() - timedelta(days=400))
    answer(old, 1, 1, "no", now() - timedelta(days=399))
    coordinator(login)
    html = results_page(client)
    page = soup(html)
    assert page.select_one("#fins")["value"] == today.isoformat()
    recent = periods.last_twelve_months(today)
    assert page.select_one("#desde")["value"] == recent.first.isoformat()
    assert len(table(html, "mesos")) == 1 + len(recent.months())
    summary = as_dict(table(html, "resum"))
    assert summary["Enquestes enviades"] == ["1"]
    assert summary["Valoració mitjana de l'atenció rebuda (de 0 a 10)"] == ["10,0"]


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        ({"desde": "ahir"}, "desde", "La data «Des de» ha de ser una data real"),
        ({"fins": "2025-02-30"}, "fins", "La data «Fins a» ha de ser una data real"),
        ({"desde": "31/13/2025"}, "desde", "La data «Des de» ha de ser una data real"),
        ({"desde": "1800-01-01"}, "desde", "La data «Des de» ha de ser entre els anys 2000 i 2100"),
        ({"fins": "9999-12-31"}, "fins", "La data «Fins a» ha de ser entre els anys 2000 i 2100"),
        (
            {"desde": "2025-03-01", "fins": "2025-02-01"},
            "fins",
            "La data «Fins a» ha de ser el mateix dia o posterior a la data «Des de»",
        ),
        (
            {"desde": "2001-01-01", "fins": "2025-01-01"},
            "desde",
            "El període no pot ser de més de 10 anys",
        ),
    ],
)
def test_bad_dates_are_explained_beside_the_field_never_a_server_error(
    app, client, login, args, field, message
):
    make_world(technicians=1)
    coordinator(login)
    html = results_page(client, **args)
    assert title(html).startswith("Error: Resultats de les enquestes")
    (error,) = error_messages(html)
    assert error.startswith(message)
    assert summary_links(html) == [(f"#{field}", error)]
    page = soup(html)
    assert page.select_one(f"#{field}")["aria-describedby"] == f"{field}-error"
    assert not page.select("table")  # no figures for a period that was not understood
    csv_response = client.get(
        "/admin/enquestes/export.csv", query_string={"taula": "resum", **args}
    )
    assert csv_response.status_code == 400


def test_day_month_year_dates_are_understood(app, client, login):
    make_world(technicians=1)
    coordinator(login)
    html = results_page(client, desde="1/3/2025", fins="31/3/2025")
    assert not error_messages(html)
    assert [row[0] for row in table(html, "mesos")[1:]] == ["Març de 2025"]


def test_technicians_cannot_see_any_results(app, client, login):
    world = make_world(technicians=1)
    booking = sent_booking(world, world.technicians[0], now() - timedelta(days=1))
    answer(booking, 2, 3, "no", now(), comment="Un comentari")
    anonymous = client.get("/admin/enquestes/")
    assert anonymous.status_code == 302 and "/entra" in anonymous.headers["Location"]
    login(world.technicians[0].username)
    assert client.get("/admin/enquestes/").status_code == 403
    for key in ("resum", "tecnics", "comentaris"):
        response = client.get("/admin/enquestes/export.csv", query_string={"taula": key})
        assert response.status_code == 403
        assert "Un comentari" not in response.get_data(as_text=True)
    menu = client.get("/espai/").get_data(as_text=True)
    assert "/admin/enquestes/" not in menu


def test_the_csv_of_each_table_is_the_table(app, client, login):
    world = make_world(technicians=2)
    t1, t2 = world.technicians
    begues = make_town("Begues", "08020")
    for day, technician, town, score, resolved, comment in [
        (3, t1, None, 10, "totalment", "Molt bé, gràcies"),
        (5, t2, begues, 7, "parcialment", ""),
        (9, t2, begues, 4, "no", '=HYPERLINK("x")'),
        (12, t1, None, 9, "totalment", 'Clar, amb "cometes", i comes'),
    ]:
        booking = sent_booking(world, technician, madrid(2025, 6, day), town=town)
        answer(booking, score, score - 1, resolved, madrid(2025, 6, day + 1), comment=comment)
    sent_booking(world, t1, madrid(2025, 6, 20))
    coordinator(login)
    period = {"desde": "2025-05-01", "fins": "2025-06-30"}
    html = results_page(client, **period)
    links = {
        dict(pair.split("=") for pair in urlsplit(a["href"]).query.split("&"))["taula"]: a["href"]
        for a in soup(html).select("a[href*='export.csv']:not([href*='separador'])")
    }
    assert set(links) == {
        "resum",
        "valoracions",
        "resolta",
        "mesos",
        "municipis",
        "tecnics",
        "comentaris",
    }
    for key, href in links.items():
        assert "desde=2025-05-01" in href and "fins=2025-06-30" in href
        response = client.get(href)
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert (
            f"enquestes-{key}-2025-05-01-2025-06-30.csv" in response.headers["Content-Disposition"]
        )
        body = response.get_data(as_text=True)
        assert body.startswith("\ufeff") and "\r\n" in body
        rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))
        expected = table(html, key)
        if key == "comentaris":  # a formula is defused in the file, shown as typed on the page
            expected = [
                ["'" + cell if cell.startswith("=") else cell for cell in row] for row in expected
            ]
        assert rows == expected, key
    comments = table(html, "comentaris")
    assert [row[0] for row in comments[1:]] == ["13/06/2025", "10/06/2025", "04/06/2025"]
    assert comments[1][1:] == ["Gelida", "9", "8", "Sí, totalment", 'Clar, amb "cometes", i comes']
    assert comments[2][1] == "Begues"
    assert client.get("/admin/enquestes/export.csv?taula=altres").status_code == 404


def test_comments_show_date_and_town_never_the_citizen(app, client, login):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    for day in range(1, 4):
        booking = sent_booking(world, technician, madrid(2025, 9, day))
        answer(booking, 9, 9, "totalment", madrid(2025, 9, day, 20), comment=f"Comentari {day}")
    coordinator(login)
    html = results_page(client, desde="2025-09-01", fins="2025-09-30")
    comments = table(html, "comentaris")
    assert [row[-1] for row in comments[1:]] == ["Comentari 3", "Comentari 2", "Comentari 1"]
    assert "Raúl" not in html and "raul@example.net" not in html


@pytest.mark.parametrize("app_config", [{}])
def test_only_the_newest_comments_are_listed_and_the_csv_has_them_all(
    app, client, login, monkeypatch
):
    monkeypatch.setattr(survey_results, "COMMENTS_ON_PAGE", 2)
    world = make_world(technicians=1)
    for day in range(1, 6):
        booking = sent_booking(world, world.technicians[0], madrid(2025, 9, day))
        answer(booking, 8, 8, "totalment", madrid(2025, 9, day, 20), comment=f"C{day}")
    coordinator(login)
    period = {"desde": "2025-09-01", "fins": "2025-09-30"}
    html = results_page(client, **period)
    assert [row[-1] for row in table(html, "comentaris")[1:]] == ["C5", "C4"]
    assert "Es mostren els 2 comentaris més recents de 5" in html
    body = client.get(
        "/admin/enquestes/export.csv", query_string={"taula": "comentaris", **period}
    ).get_data(as_text=True)
    rows = csv.reader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";")
    assert [row[-1] for row in rows][1:] == [
        "C5",
        "C4",
        "C3",
        "C2",
        "C1",
    ]


def test_a_period_without_answers_shows_no_charts_and_says_so(app, client, login):
    make_world(technicians=1)
    coordinator(login)
    html = results_page(client, desde="2025-01-01", fins="2025-01-31")
    assert "No s'ha rebut cap resposta en aquest període." in html
    assert not soup(html).select("figure.chart")
    assert as_dict(table(html, "resum"))["Taxa de resposta"] == [""]


def test_the_results_cost_the_same_few_queries_whatever_the_answers(app, client, login):
    world = make_world(technicians=3)
    coordinator(login)
    period = {"desde": "2025-01-01", "fins": "2025-12-31"}
    booking = sent_booking(world, world.technicians[0], madrid(2025, 1, 5))
    answer(booking, 9, 9, "totalment", madrid(2025, 1, 6), comment="Un")
    with counted_selects() as few:
        results_page(client, **period)

    towns = [make_town(f"Poble {i}", f"0890{i}") for i in range(5)]
    for i in range(60):
        booking = sent_booking(
            world, world.technicians[i % 3], madrid(2025, 1 + i % 12, 1 + i % 28), town=towns[i % 5]
        )
        answer(booking, i % 11, (i + 3) % 11, "no", madrid(2025, 1 + i % 12, 2 + i % 27), str(i))
    with counted_selects() as many:
        results_page(client, **period)
    assert len(many) == len(few)
    assert len(many) <= 14, many  # the user, then the ten aggregate queries


# --- In a real browser ------------------------------------------------------------------------

SMALL_PHONE = {"width": 320, "height": 640}


@pytest.fixture(scope="module")
def chromium():
    from support.browser import launched

    with launched() as browser:
        yield browser


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_survey_on_a_320px_phone_without_javascript(chromium, app):
    from playwright.sync_api import expect

    from support.browser import served

    world = make_world(technicians=1)
    _booking, path = open_link(world)
    with served(app) as site:
        context = chromium.new_context(viewport=SMALL_PHONE, java_script_enabled=False)
        page = context.new_page()
        page.goto(site + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
        for name in ("attention", "competence", "resolved"):
            for radio in page.locator(f"input[name={name}]").all():
                box = radio.bounding_box()
                assert box["width"] >= 24 and box["height"] >= 24, (name, box)
        # An empty submit: the summary, then every question answered by clicking its label.
        page.click("main button[type=submit]")
        expect(page).to_have_title(re.compile(r"^Error: "))  # waits for the answer
        assert page.locator(".error-summary li").count() == 3
        assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
        page.click("label[for=attention-9]")
        page.click("label[for=competence-10]")
        page.get_by_label("Sí, parcialment").check()
        page.fill("#comment", "Tot molt clar")
        page.click("main button[type=submit]")
        expect(page).to_have_title(re.compile(r"^Gràcies per la vostra valoració"))
        assert page.url.endswith(f"{path}/gracies")
        context.close()
    assert [(r.attention, r.competence, r.resolved, r.comment) for r in responses()] == [
        (9, 10, "parcialment", "Tot molt clar")
    ]


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_results_charts_load_under_the_csp_and_the_page_fits_a_phone(chromium, app):
    from support.browser import PHONE
    from support.browser import served
    from support.factories import PASSWORD

    world = make_world(technicians=1)
    for day in range(1, 6):
        booking = sent_booking(world, world.technicians[0], madrid(2025, 5, day))
        answer(booking, 5 + day, 4 + day, "totalment", madrid(2025, 5, day, 20), comment="Bé")
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    with served(app) as site:
        context = chromium.new_context(viewport=PHONE)
        page = context.new_page()
        problems = []
        page.on("console", lambda message: problems.append(message.text))
        page.goto(f"{site}/entra")
        page.fill("#username", "OPSSCOORD")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(lambda url: "/entra" not in url)  # signed in before going on
        page.goto(f"{site}/admin/enquestes/?desde=2025-05-01&fins=2025-05-31")
        assert page.title().startswith("Resultats de les enquestes")
        images = page.locator("figure.chart img")
        assert images.count() == 3
        for image in images.all():
            assert image.evaluate("img => img.complete && img.naturalWidth > 0")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert not [text for text in problems if "Content Security Policy" in text]
        context.close()
