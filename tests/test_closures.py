"""Closures that look after people (/admin/tancaments/): the preview, the confirmation and
the result, on the real pages, database and outbox.

A closure is reviewed first (nothing saved, nobody told), then confirmed: the closure is
saved and each booking it breaks is moved (the same time with another technician, else the
next free time) or cancelled, as the coordinator chose, each citizen told in their language
with the reason. Nothing is left broken silently.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from support.days import madrid
from support.days import working_days
from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.outbox import clear_text
from support.queries import counted_selects
from umic import clock
from umic.booking import misfits
from umic.extensions import db
from umic.models import Booking
from umic.models import BookingStatus
from umic.models import Closure
from umic.models import OutboxMessage
from umic.models import Role

REASON = "Formació interna de l'equip"


def coordinator(login):
    user = make_staff("OPSSCOORD", role=Role.COORDINATOR, name="Coordinadora Puig")
    login("OPSSCOORD")
    return user


def review(client, **values):
    """Fill the closures form and press "Revisa"; returns the response."""
    token = csrf_token(client.get("/admin/tancaments/").get_data(as_text=True))
    data = {"first_day": "", "last_day": "", "staff": "", "reason": "", **values}
    return client.post("/admin/tancaments/", data={**data, "csrf_token": token})


def preview_fields(html: str, choices: dict[int, str] | None = None, **overrides) -> dict:
    """What pressing "Confirma" on the preview sends, with some rows' action changed."""
    form = soup(html).select_one("form#closure-preview")
    fields = {
        box["name"]: box.get("value", "")
        for box in form.select("input[name]")
        if box.get("type") != "radio"
    }
    fields.update({radio["name"]: radio["value"] for radio in form.select("input[checked]")})
    textarea = form.select_one("textarea[name=message]")
    if textarea is not None:
        fields["message"] = textarea.get_text().lstrip("\r\n")
    for booking_id, action in (choices or {}).items():
        fields[f"action-{booking_id}"] = action
    fields.update(overrides)
    return fields


def confirm(client, html: str, choices=None, **overrides):
    action = soup(html).select_one("form#closure-preview")["action"]
    return client.post(action, data=preview_fields(html, choices, **overrides))


def preview_rows(html: str) -> dict[int, str]:
    """Booking id -> the row's text, for each booking the preview lists."""
    return {
        int(row["id"].removeprefix("cita-")): row.get_text(" ", strip=True)
        for row in soup(html).select("tr[id^=cita-]")
    }


def citizen_mails() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind.like("%_citizen"))
            .order_by(OutboxMessage.id)
        )
    )


def outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def closures_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Closure))


@pytest.fixture
def ten(client, login):
    """Three technicians open every day; ten confirmed bookings on one working day, three
    of them in Spanish, and a booking of the next day that the closure does not touch."""
    world = make_world(technicians=3)
    a, b, c = world.technicians
    day = working_days(2)
    plan = [
        (a, 9, 0), (a, 9, 30), (a, 10, 0), (a, 16, 0),
        (b, 9, 0), (b, 11, 0), (b, 12, 0),
        (c, 9, 0), (c, 10, 30), (c, 17, 0),
    ]  # fmt: skip
    ids = []
    for n, (tech, hour, minute) in enumerate(plan):
        booking, _token = make_booking(
            world.town,
            world.service,
            tech,
            madrid(day, hour, minute),
            citizen_name=f"Persona {n}",
            citizen_email=f"p{n}@example.net",
            language="es" if n % 3 == 0 and n else "ca",
        )
        ids.append(booking.id)
    other, _token = make_booking(
        world.town, world.service, a, madrid(day + timedelta(days=1), 9), citizen_name="Altra"
    )
    user = coordinator(login)
    return world, day, ids, other.id, user


def test_closing_a_day_with_ten_bookings_previews_them_then_moves_or_cancels_each(client, ten):
    """H1: the closure shows what it breaks first (nothing saved, nobody told), then moves
    or cancels each booking, each citizen told in their language, links to each booking."""
    world, day, ids, other_id, _user = ten
    mails_before = outbox_count()
    response = review(client, first_day=day.isoformat(), reason=REASON)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    rows = preview_rows(html)
    assert sorted(rows) == sorted(ids)
    assert "10 cites confirmades queden afectades" in soup(html).get_text(" ")
    assert "Encara no s'ha desat res." in html
    # Nothing saved, nobody told.
    assert closures_count() == 0 and outbox_count() == mails_before
    # Each row: citizen, time, technician, a link to the booking, and a proposal (the whole
    # service is closed: the next free time, another day).
    for booking_id, text in rows.items():
        row = soup(html).select_one(f"#cita-{booking_id}")
        link = row.select_one("a")["href"]
        assert link == f"/espai/cites/{booking_id}"
        assert "Canvia-la a" in text and "Anul·la-la" in text and "Deixa-la com està" in text
        assert row.select_one("input[type=radio][checked]")["value"] == "move"
    assert soup(html).select_one("textarea[name=message]").get_text().strip() == REASON

    # Two cancelled by choice, one left as it is, the rest moved as proposed.
    cancelled, left = {ids[1], ids[5]}, ids[9]
    choices = dict.fromkeys(cancelled, "cancel") | {left: "leave"}
    message = "Tanquem per formació; disculpeu les molèsties."
    response = confirm(client, html, choices, message=message)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/tancaments/resultat")

    assert db.session.scalars(select(Closure.day)).all() == [day]
    db.session.expire_all()
    bookings = {b.id: b for b in db.session.scalars(select(Booking).where(Booking.id.in_(ids)))}
    for booking_id, booking in bookings.items():
        if booking_id in cancelled:
            assert booking.status == BookingStatus.CANCELLED
            assert booking.cancel_reason == message and booking.cancelled_by == "staff"
        elif booking_id == left:
            assert booking.status == BookingStatus.CONFIRMED
            assert madrid(day, 0) <= booking.start_utc < madrid(day + timedelta(days=1), 0)
        else:
            assert booking.status == BookingStatus.CONFIRMED
            assert booking.start_utc >= madrid(day + timedelta(days=1), 0)
    # No two bookings of one technician overlap after the moves.
    times = [(b.technician_id, b.start_utc) for b in bookings.values() if b.status == "confirmed"]
    assert len(set(times)) == len(times)
    assert db.session.get(Booking, other_id).start_utc == madrid(day + timedelta(days=1), 9)

    # Each citizen moved or cancelled has exactly one e-mail, in their language, with the
    # reason; the one left as it is has none.
    mails = citizen_mails()
    by_booking = {}
    for mail in mails:
        by_booking.setdefault(mail.booking_id, []).append(mail)
    assert left not in by_booking
    for booking_id in set(ids) - {left}:
        (mail,) = by_booking[booking_id]
        booking = bookings[booking_id]
        assert mail.recipient == booking.citizen_email
        spanish = booking.language == "es"
        if booking_id in cancelled:
            assert mail.subject.startswith(
                "Su cita se ha anulado" if spanish else "La vostra cita s'ha anul·lat"
            )
        else:
            assert mail.subject.startswith(
                "Su cita ha cambiado" if spanish else "La vostra cita ha canviat"
            )
        assert message in clear_text(mail)
    assert any(bookings[i].language == "es" for i in by_booking)

    # The result page says what happened to each, linking to each booking; the one left is
    # the only one still listed as not fitting.
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    result = soup(page)
    assert "S'ha afegit 1 dia de tancament del servei." in result.get_text(" ")
    for booking_id in ids:
        row = result.select_one(f"#resultat-{booking_id}")
        assert row is not None and row.select_one("a")["href"] == f"/espai/cites/{booking_id}"
        text = row.get_text(" ", strip=True)
        if booking_id in cancelled:
            assert "Anul·lada" in text
        elif booking_id == left:
            assert "Deixada com estava" in text
        else:
            assert "Canviada a" in text and bookings[booking_id].technician.name in text
    remaining = [m.booking_id for m in misfits.confirmed_misfits(clock.now())]
    assert remaining == [left]
    still = result.select("section[aria-labelledby=fora-horari] tbody tr")
    assert [tr["id"] for tr in still] == [f"fora-{left}"]
    assert still[0].select_one("a")["href"] == f"/espai/cites/{left}"


def test_with_every_booking_moved_no_confirmed_booking_is_left_on_the_closed_day(client, ten):
    """H1: confirming the proposals as they are leaves nothing broken."""
    _world, day, ids, _other, _user = ten
    html = review(client, first_day=day.isoformat(), reason=REASON).get_data(as_text=True)
    assert confirm(client, html).status_code == 303
    assert misfits.confirmed_misfits(clock.now()) == []
    left_on_day = db.session.scalar(
        select(func.count())
        .select_from(Booking)
        .where(
            Booking.status == BookingStatus.CONFIRMED,
            Booking.start_utc >= madrid(day, 0),
            Booking.start_utc < madrid(day + timedelta(days=1), 0),
        )
    )
    assert left_on_day == 0
    assert {m.booking_id for m in citizen_mails()} == set(ids)
    assert all(REASON in clear_text(m) for m in citizen_mails())


def test_an_absence_moves_to_another_technician_at_the_same_time_where_one_is_free(client, login):
    """H1: one technician's absence: the same time with a colleague free then, else the
    next free time; the other technicians' bookings are not touched."""
    world = make_world(technicians=3)
    a, b, c = world.technicians
    day = working_days(2)

    def book(tech, hour, minute=0, **kw):
        return make_booking(world.town, world.service, tech, madrid(day, hour, minute), **kw)[0]

    at_10 = book(a, 10, citizen_email="p10@example.net")  # b and c busy at 10:00
    at_1030 = book(a, 10, 30, citizen_email="p1030@example.net", language="es")  # c is free
    book(b, 10)
    book(c, 10)
    book(b, 10, 30)
    coordinator(login)

    html = review(client, first_day=day.isoformat(), staff=str(a.id), reason="Metge").get_data(
        as_text=True
    )
    rows = preview_rows(html)
    assert sorted(rows) == sorted([at_10.id, at_1030.id])  # only a's bookings
    assert f"Mateixa hora amb {c.name}" in rows[at_1030.id]
    assert "Canvia-la a" in rows[at_10.id]

    assert confirm(client, html).status_code == 303
    db.session.expire_all()
    moved = db.session.get(Booking, at_1030.id)
    assert (moved.technician_id, moved.start_utc) == (c.id, madrid(day, 10, 30))
    later = db.session.get(Booking, at_10.id)
    assert later.start_utc > madrid(day, 10) and later.technician_id != a.id
    assert db.session.scalars(select(Closure.staff_id)).all() == [a.id]
    (mail,) = [m for m in citizen_mails() if m.booking_id == at_1030.id]
    assert mail.subject.startswith("Cambio en su cita") and "Metge" in clear_text(mail)
    assert misfits.confirmed_misfits(clock.now()) == []


@pytest.mark.parametrize("app_config", [{"BOOKING_HORIZON_DAYS": 6}])
def test_without_any_free_time_the_proposal_is_to_cancel(client, login, app_config):
    """H1: nothing free within the horizon: the preview proposes cancelling."""
    world = make_world(technicians=1)
    day = working_days(1, after=3)
    booking, _ = make_booking(world.town, world.service, world.technicians[0], madrid(day, 10))
    coordinator(login)
    last = clock.now().date() + timedelta(days=10)
    html = review(
        client, first_day=day.isoformat(), last_day=last.isoformat(), reason="Obres"
    ).get_data(as_text=True)
    row = soup(html).select_one(f"#cita-{booking.id}")
    assert [r["value"] for r in row.select("input[type=radio]")] == ["cancel", "leave"]
    assert row.select_one("input[checked]")["value"] == "cancel"
    assert "no hi ha cap hora lliure" in row.get_text()
    assert confirm(client, html).status_code == 303
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CANCELLED
    (mail,) = citizen_mails()
    assert mail.subject.startswith("La vostra cita s'ha anul·lat")


def test_a_time_taken_since_the_preview_falls_back_to_the_next_proposal(client, login):
    """H1: a race between preview and confirmation: the next free time, never broken."""
    world = make_world(technicians=2)
    a, b = world.technicians
    day = working_days(2)
    booking, _ = make_booking(world.town, world.service, a, madrid(day, 10))
    coordinator(login)
    html = review(client, first_day=day.isoformat(), staff=str(a.id), reason="Curs").get_data(
        as_text=True
    )
    assert f"Mateixa hora amb {b.name}" in preview_rows(html)[booking.id]
    # Meanwhile a citizen takes b's 10:00.
    make_booking(world.town, world.service, b, madrid(day, 10), citizen_name="Ràpida")
    assert confirm(client, html).status_code == 303
    db.session.expire_all()
    moved = db.session.get(Booking, booking.id)
    assert moved.status == BookingStatus.CONFIRMED and moved.technician_id == b.id
    assert moved.start_utc > madrid(day, 10)
    assert misfits.confirmed_misfits(clock.now()) == []


def test_a_booking_made_after_the_preview_shows_the_preview_again_and_saves_nothing(client, ten):
    world, day, _ids, _other, _user = ten
    html = review(client, first_day=day.isoformat(), reason=REASON).get_data(as_text=True)
    late, _ = make_booking(world.town, world.service, world.technicians[2], madrid(day, 18))
    mails_before = outbox_count()
    response = confirm(client, html)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "han canviat des que heu obert la revisió" in page
    assert late.id in preview_rows(page)
    assert closures_count() == 0 and outbox_count() == mails_before


def test_an_empty_message_is_refused_beside_its_field_when_someone_is_told(client, ten):
    _world, day, _ids, _other, _user = ten
    html = review(client, first_day=day.isoformat(), reason="").get_data(as_text=True)
    response = confirm(client, html, message="")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert error_messages(page) == ["Escriviu el motiu que llegiran les persones afectades"]
    assert summary_links(page)[0][0] == "#message"
    assert soup(page).title.get_text().startswith("Error:")
    assert closures_count() == 0
    # The choices made are kept.
    assert soup(page).select_one("form#closure-preview") is not None


def test_a_closure_without_bookings_is_confirmed_in_two_steps_too(client, login):
    make_staff("OPSSVEGAVN")
    coordinator(login)
    day = working_days()
    html = review(client, first_day=day.isoformat(), reason="Trasllat").get_data(as_text=True)
    assert "Cap cita confirmada no queda afectada." in html and closures_count() == 0
    response = confirm(client, html)
    assert response.status_code == 303
    assert db.session.scalars(select(Closure.reason)).all() == ["Trasllat"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Cap cita confirmada no quedava afectada." in page


def test_modify_goes_back_to_the_form_with_what_was_typed(client, login):
    coordinator(login)
    day = working_days()
    html = review(client, first_day=day.isoformat(), reason="Trasllat").get_data(as_text=True)
    fields = preview_fields(html, edit="1")
    page = soup(client.post("/admin/tancaments/", data=fields).get_data(as_text=True))
    assert page.select_one("#first_day")["value"] == day.isoformat()
    assert page.select_one("#reason")["value"] == "Trasllat"
    assert closures_count() == 0


@pytest.mark.parametrize(
    ("values", "box", "message"),
    [
        ({}, "first_day", "Escriviu el primer dia"),
        (
            {"first_day": "__day__", "last_day": "__day_before__", "reason": "Vaga"},
            "last_day",
            "L'últim dia ha de ser el mateix que el primer o posterior",
        ),
    ],
    ids=["empty", "last-before-first"],
)
def test_bad_input_is_explained_beside_its_field_and_kept(client, login, values, box, message):
    """H1: the review step checks the form like any other: errors beside fields, kept."""
    coordinator(login)
    day = working_days()
    replace = {"__day__": day.isoformat(), "__day_before__": (day - timedelta(days=1)).isoformat()}
    values = {key: replace.get(value, value) for key, value in values.items()}
    response = review(client, **values)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert [m[: len(message)] for m in error_messages(html)] == [message]
    assert summary_links(html)[0][0] == f"#{box}"
    page = soup(html)
    assert page.select_one("form#closure-preview") is None
    for name, value in values.items():
        assert page.select_one(f"#{name}")["value"] == value
    assert closures_count() == 0


def test_review_and_confirm_refuse_a_post_without_the_form_token(client, ten):
    _world, day, _ids, _other, _user = ten
    response = client.post("/admin/tancaments/", data={"first_day": day.isoformat()})
    assert response.status_code == 400
    html = review(client, first_day=day.isoformat(), reason=REASON).get_data(as_text=True)
    fields = preview_fields(html)
    del fields["csrf_token"]
    mails_before = outbox_count()
    assert client.post("/admin/tancaments/confirma", data=fields).status_code == 400
    assert closures_count() == 0 and outbox_count() == mails_before


def test_technicians_cannot_review_or_confirm(client, login):
    make_staff("OPSSTECNIC", role=Role.TECHNICIAN)
    login("OPSSTECNIC")
    token = csrf_token(client.get("/espai/").get_data(as_text=True))
    for url in ("/admin/tancaments/", "/admin/tancaments/confirma"):
        assert client.post(url, data={"csrf_token": token}).status_code == 403
    assert client.get("/admin/tancaments/resultat").status_code == 403


def test_the_preview_costs_the_same_queries_for_few_or_many_bookings(client, ten):
    world, day, _ids, _other, _user = ten
    with counted_selects() as few:
        review(client, first_day=day.isoformat(), reason=REASON)
    for hour, minute in ((13, 0), (13, 30), (15, 30)):
        for tech in world.technicians:
            make_booking(world.town, world.service, tech, madrid(day, hour, minute))
    with counted_selects() as many:
        html = review(client, first_day=day.isoformat(), reason=REASON).get_data(as_text=True)
    assert len(preview_rows(html)) > 10
    assert len(many) == len(few), many


def test_the_language_switch_on_the_preview_shows_it_again_with_the_choices_kept(client, ten):
    _world, day, ids, _other, _user = ten
    html = review(client, first_day=day.isoformat(), reason=REASON).get_data(as_text=True)
    switch = soup(html).select_one("button[name=_idioma]")
    assert switch["form"] == "closure-preview"
    fields = preview_fields(html, {ids[0]: "cancel"}, message="Escrit a mà", _idioma="es")
    response = client.post(switch["formaction"], data=fields)
    assert response.status_code == 200
    page = soup(response.get_data(as_text=True))
    assert page.select_one(f"#cita-{ids[0]} input[checked]")["value"] == "cancel"
    assert page.select_one(f"#cita-{ids[1]} input[checked]")["value"] == "move"
    assert page.select_one("textarea[name=message]").get_text().strip() == "Escrit a mà"
    assert closures_count() == 0
