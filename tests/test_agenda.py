"""The agenda of any day or week, the booking card, joining and marking calls, and who can be
given a booking (umic/workspace/agenda.py, booking_card.py, appointments.py)."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest
from sqlalchemy import select

from support.days import MADRID
from support.days import madrid
from support.days import today
from support.factories import MORNING
from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import soup
from support.queries import counted_selects
from test_workspace import at
from test_workspace import sign_in
from umic import clock
from umic.extensions import db
from umic.models import Booking
from umic.models import BookingStatus
from umic.models import Closure


def friday() -> date:
    """The next Friday (today if it is one), where the clock is moved to 10:00."""
    day = today() + timedelta(days=(4 - today().weekday()) % 7)
    clock.move_to(madrid(day, 10))
    return day


def page_of(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, url
    return soup(response.get_data(as_text=True))


def text_of(page) -> str:
    return page.get_text(" ", strip=True)


# --- Any day, any week ----------------------------------------------------------------------


def test_on_a_friday_next_mondays_and_tuesdays_calls_are_reachable(client):
    """H1: on a Friday the agenda ended on Sunday; next Monday's and Tuesday's calls are now
    reachable by their address (?dia=) and by following the "next" links from today."""
    world = make_world(technicians=1)
    technician = world.technicians[0]
    day = friday()
    monday, tuesday = day + timedelta(days=3), day + timedelta(days=4)
    make_booking(world.town, world.service, technician, madrid(monday, 10), citizen_name="Dilluns")
    make_booking(world.town, world.service, technician, madrid(tuesday, 11), citizen_name="Dimarts")
    sign_in(client, technician.username)

    page = page_of(client, "/espai/")
    assert "Dilluns" not in text_of(page) and "Dimarts" not in text_of(page)
    assert page.select_one("h1").get_text().startswith("Agenda: Avui")

    page = page_of(client, f"/espai/?dia={monday.isoformat()}")
    assert "Dilluns" in text_of(page) and "Dimarts" not in text_of(page)

    page = page_of(client, "/espai/")
    for _step in range(4):  # Saturday, Sunday, Monday, Tuesday
        page = page_of(client, page.select_one("a[rel=next]")["href"])
    assert "Dimarts" in text_of(page) and "Dilluns" not in text_of(page)
    assert "Dimarts, " in page.select_one("h1").get_text()
    assert "Dimarts, " in page.title.get_text()
    current = page.select_one(".week-days a[aria-current=page]")
    assert current["href"].endswith(f"dia={tuesday.isoformat()}")
    assert page.select_one(f"h2#dia-{tuesday.isoformat()}") is not None
    # And back again, and to today.
    back = page_of(client, page.select_one("a[rel=prev]")["href"])
    assert "Dilluns" in text_of(back)
    home = page_of(client, page.find("a", string="Avui")["href"])
    assert "Avui" in home.select_one("h1").get_text()


def test_a_day_without_calls_says_why_the_service_is_closed(client):
    """An empty day that is a public holiday, a closure or the person's absence says so,
    instead of only "Cap cita": 8 December is the Immaculada in Catalonia."""
    world = make_world(technicians=2)
    anna, biel = world.technicians
    holiday = date(2031, 12, 8)
    closed, away = date(2031, 12, 9), date(2031, 12, 10)
    db.session.add_all(
        [
            Closure(day=closed, reason="Formació interna"),
            Closure(day=away, staff_id=anna.id, reason="Vacances"),
        ]
    )
    db.session.commit()
    sign_in(client, anna.username)
    week = page_of(client, f"/espai/?dia={holiday.isoformat()}&vista=setmana")
    notes = {
        note.find_parent("section").select_one("h2")["id"]: note.get_text(strip=True)
        for note in week.select(".day-closed")
    }
    assert notes[f"dia-{holiday.isoformat()}"].startswith("Festiu oficial: ")
    assert notes[f"dia-{closed.isoformat()}"] == "Servei tancat: Formació interna"
    assert notes[f"dia-{away.isoformat()}"] == "Absència: Vacances"
    assert len(notes) == 3
    # Biel's agenda (and the team's): Anna's absence is not theirs.
    for whose in (biel.id, "tots"):
        other = page_of(client, f"/espai/?dia={away.isoformat()}&tecnic={whose}")
        assert other.select(".day-closed") == []


def test_the_week_view_shows_monday_to_sunday_with_a_heading_per_day(client):
    """H1: a week view for any date (Monday to Sunday), with previous and next weeks."""
    world = make_world(technicians=1)
    technician = world.technicians[0]
    day = friday()
    monday = day + timedelta(days=3)
    sunday = monday + timedelta(days=6)
    make_booking(world.town, world.service, technician, madrid(monday, 9), citizen_name="Primer")
    make_booking(world.town, world.service, technician, madrid(sunday, 12), citizen_name="Darrer")
    make_booking(
        world.town,
        world.service,
        technician,
        madrid(sunday + timedelta(days=1), 9),
        citizen_name="Fora",
    )
    sign_in(client, technician.username)
    wednesday = monday + timedelta(days=2)
    page = page_of(client, f"/espai/?dia={wednesday.isoformat()}&vista=setmana")
    headings = [h["id"] for h in page.select("section.agenda-day h2")]
    assert headings == [f"dia-{(monday + timedelta(days=n)).isoformat()}" for n in range(7)]
    assert "Primer" in text_of(page) and "Darrer" in text_of(page) and "Fora" not in text_of(page)
    assert page.select_one("h1").get_text().startswith("Agenda: Setmana de dilluns")
    following = page_of(client, page.select_one("a[rel=next]")["href"])
    assert "Fora" in text_of(following) and "Primer" not in text_of(following)
    assert following.select_one("input[name=vista]")["value"] == "setmana"
    # The form's date field says the day; the days of the week are links to each day.
    assert page.select_one("input#dia[type=date]")["value"] == wednesday.isoformat()
    assert len(page.select(".week-days a")) == 7


@pytest.mark.parametrize("typed", ["2026-13-45", "hola", "31/02/2027", "0001-01-01"])
def test_a_day_that_is_not_one_shows_today_with_a_message(client, typed):
    """H1: a bad ?dia= shows today and says why beside the field, never an error page."""
    world = make_world(technicians=1)
    technician = world.technicians[0]
    make_booking(world.town, world.service, technician, at(5), citizen_name="Ara Mateix")
    sign_in(client, technician.username)
    response = client.get("/espai/", query_string={"dia": typed})
    assert response.status_code == 200
    page = soup(response.get_data(as_text=True))
    assert page.title.get_text().startswith("Error: Agenda: Avui")
    assert "Escriviu una data real" in page.select_one("#dia-error").get_text()
    assert page.select_one("#dia")["aria-invalid"] == "true"
    assert page.select_one(".error-summary a")["href"] == "#dia"


def test_a_typed_day_is_read_too(client):
    world = make_world(technicians=1)
    sign_in(client, world.technicians[0].username)
    page = page_of(client, "/espai/?dia=14/12/2026")
    assert page.select_one("h1").get_text() == "Agenda: Dilluns, 14 de desembre de 2026"


def test_a_technician_sees_the_teams_agenda_read_only(client):
    """H1: a technician's own agenda, and the team's to read (acting only on their own)."""
    world = make_world(technicians=2)
    mine, theirs = world.technicians
    own, _ = make_booking(world.town, world.service, mine, at(-5), citizen_name="Persona Meva")
    other, _ = make_booking(world.town, world.service, theirs, at(-5), citizen_name="Persona Seva")
    sign_in(client, mine.username)
    page = page_of(client, f"/espai/?dia={_local(own)}")
    assert "Persona Meva" in text_of(page) and "Persona Seva" not in text_of(page)

    page = page_of(client, f"/espai/?dia={_local(own)}&tecnic=tots")
    assert "Persona Meva" in text_of(page) and "Persona Seva" in text_of(page)
    theirs_item = page.select_one(f"#cita-{other.id}")
    assert theirs_item.select("form, button") == [] and theirs_item.select_one("h3 a") is None
    assert theirs.name in theirs_item.get_text()
    mine_item = page.select_one(f"#cita-{own.id}")
    assert mine_item.select_one("h3 a")["href"] == f"/espai/cites/{own.id}"
    assert mine_item.select("button")
    # Links keep the choice.
    assert "tecnic=tots" in page.select_one("a[rel=next]")["href"]
    assert page.select_one("#tecnic option[selected]")["value"] == "tots"
    # One person's agenda, by choice.
    page = page_of(client, f"/espai/?dia={_local(own)}&tecnic={theirs.id}")
    assert "Persona Meva" not in text_of(page) and "Persona Seva" in text_of(page)
    # Acting on someone else's booking stays refused.
    assert client.get(f"/espai/cites/{other.id}").status_code == 403


def test_a_coordinator_sees_the_team_and_chooses_one_person(client):
    world = make_world(technicians=2)
    first, second = world.technicians
    make_staff("OPSSCOORD", role="coordinator")
    one, _ = make_booking(world.town, world.service, first, at(-5), citizen_name="Primera Persona")
    make_booking(world.town, world.service, second, at(-5), citizen_name="Segona Persona")
    sign_in(client, "OPSSCOORD")
    page = page_of(client, f"/espai/?dia={_local(one)}")
    assert "Primera Persona" in text_of(page) and "Segona Persona" in text_of(page)
    assert page.select_one(f"#cita-{one.id} h3 a") is not None, "a coordinator acts on all"
    page = page_of(client, f"/espai/?dia={_local(one)}&tecnic={second.id}")
    assert "Primera Persona" not in text_of(page) and "Segona Persona" in text_of(page)
    assert f"tecnic={second.id}" in page.select_one("a[rel=prev]")["href"]


def _local(booking: Booking) -> str:
    """The booking's day in Barcelona, for ?dia=."""
    return booking.start_utc.astimezone(MADRID).date().isoformat()


@pytest.mark.parametrize("view", ["dia", "setmana"])
def test_the_agenda_costs_the_same_queries_for_one_or_many_bookings(client, view):
    world = make_world(technicians=3)
    technician = world.technicians[0]
    day = today() + timedelta(days=7)
    make_booking(world.town, world.service, technician, madrid(day, 9))
    sign_in(client, technician.username)
    url = f"/espai/?dia={day.isoformat()}&vista={view}&tecnic=tots"
    client.get(url)
    with counted_selects() as few:
        client.get(url)
    for n, person in enumerate(world.technicians * 4):
        make_booking(world.town, world.service, person, madrid(day, 10 + n // 3, 20 * (n % 3)))
    with counted_selects() as many:
        page = client.get(url).get_data(as_text=True)
    assert page.count('class="agenda-item') == 13
    assert len(many) == len(few)


# --- The booking card -------------------------------------------------------------------------


def test_the_card_shows_the_citizen_the_problem_and_the_history(client):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    booker = make_staff("OPSSCOORD", role="coordinator", name="Coordinació SSPC")
    booking, _ = make_booking(
        world.town,
        world.service,
        technician,
        at(24 * 60),
        citizen_name="Núria Puig",
        citizen_email="nuria@example.net",
        citizen_phone="612 345 678",
        citizen_address="Carrer Major, 1",
        description="La companyia de telèfon m'ha donat de baixa.",
        language="es",
        booked_by_id=booker.id,
        ical_sequence=2,
    )
    sign_in(client, technician.username)
    agenda = page_of(client, f"/espai/?dia={_local(booking)}")
    card_url = agenda.select_one(f"#cita-{booking.id} h3 a")["href"]
    assert card_url == f"/espai/cites/{booking.id}"
    page = page_of(client, card_url)
    text = text_of(page)
    for expected in [
        "Núria Puig",
        "nuria@example.net",
        "612 345 678",
        "Carrer Major, 1",
        "Gelida",
        "Castellano",
        "La companyia de telèfon m'ha donat de baixa.",
        booking.reference,
        technician.name,
        "Coordinació SSPC la va reservar per telèfon",
        "La invitació s'ha actualitzat 2 vegades",
        "Confirmada",
        "Crea l'expedient",
    ]:
        assert expected in text, expected
    assert page.select_one("h1").get_text().startswith("Cita de Núria Puig")
    # Opening the case file from the card; the card then links to it.
    response = client.post(
        f"/espai/cites/{booking.id}/expedient", data={"csrf_token": csrf_token(str(page))}
    )
    assert response.status_code == 303
    page = page_of(client, card_url)
    assert page.select_one("a[href^='/espai/expedients/']") is not None
    # Back to the agenda of that day.
    assert page.select_one(".back-link")["href"].endswith(f"dia={_local(booking)}")


def test_the_card_of_a_cancelled_booking_says_who_and_why(client):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    booking, _ = make_booking(
        world.town,
        world.service,
        technician,
        at(24 * 60),
        status=BookingStatus.CANCELLED,
        cancelled_at=clock.now(),
        cancelled_by="staff",
        cancel_reason="La tècnica està malalta",
    )
    sign_in(client, technician.username)
    page = page_of(client, f"/espai/cites/{booking.id}")
    assert "el personal la va anul·lar. Motiu: La tècnica està malalta" in text_of(page)
    assert page.select_one(f"a[href='{booking.video_link}']") is None
    assert not page.find("a", string="Anul·la la cita")


def test_who_may_open_a_card(client, app):
    world = make_world(technicians=2)
    mine, theirs = world.technicians
    make_staff("OPSSCOORD", role="coordinator")
    own, _ = make_booking(world.town, world.service, mine, at(60))
    other, _ = make_booking(world.town, world.service, theirs, at(60))
    sign_in(client, mine.username)
    assert client.get(f"/espai/cites/{own.id}").status_code == 200
    assert client.get(f"/espai/cites/{other.id}").status_code == 403
    assert client.get("/espai/cites/999999").status_code == 404
    coordinator = app.test_client()
    sign_in(coordinator, "OPSSCOORD")
    assert coordinator.get(f"/espai/cites/{other.id}").status_code == 200
    assert app.test_client().get(f"/espai/cites/{own.id}").status_code == 302, "signed out"


def test_actions_from_the_card_come_back_to_the_card(client):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    booking, _ = make_booking(world.town, world.service, technician, at(-10))
    sign_in(client, technician.username)
    card = page_of(client, f"/espai/cites/{booking.id}")
    form = next(
        f for f in card.select("form") if f.select_one("input[name=status][value=attended]")
    )
    assert form.select_one("input[name=next]")["value"] == f"/espai/cites/{booking.id}"
    response = client.post(
        form["action"],
        data={
            "csrf_token": csrf_token(str(card)),
            "status": "attended",
            "next": f"/espai/cites/{booking.id}",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/espai/cites/{booking.id}")
    page = page_of(client, response.headers["Location"])
    assert "Cita marcada com a atesa." in text_of(page)
    assert f"{technician.name} la va marcar com a «Atesa»" in text_of(page)
    # The cancel link carries the card as the way back.
    later, _ = make_booking(world.town, world.service, technician, at(24 * 60))
    card = page_of(client, f"/espai/cites/{later.id}")
    cancel_url = card.find("a", string="Anul·la la cita")["href"]
    form = page_of(client, cancel_url)
    assert form.select_one("input[name=next]")["value"] == f"/espai/cites/{later.id}"
    response = client.post(
        cancel_url,
        data={
            "csrf_token": csrf_token(str(form)),
            "reason": "",
            "next": f"/espai/cites/{later.id}",
        },
    )
    assert response.headers["Location"].endswith(f"/espai/cites/{later.id}")


# --- Joining and marking calls ----------------------------------------------------------------


def test_the_join_button_stays_until_the_end_whatever_the_status(client):
    """M6: marking a call attended during it removed the join button; it now stays until
    the call's end (attended or no-show), and never shows for a cancelled or ended call."""
    world = make_world(technicians=1)
    technician = world.technicians[0]
    attended, _ = make_booking(
        world.town, world.service, technician, at(-10), status=BookingStatus.ATTENDED
    )
    sign_in(client, technician.username)
    for url in (f"/espai/?dia={_local(attended)}", f"/espai/cites/{attended.id}"):
        page = page_of(client, url)
        join = page.select_one(f"a[href='{attended.video_link}']")
        assert join is not None and "Entra a la videotrucada" in join.get_text(), url

    ended, _ = make_booking(world.town, world.service, technician, at(-60))
    cancelled, _ = make_booking(
        world.town,
        world.service,
        technician,
        at(-10) + timedelta(minutes=1),
        status=BookingStatus.CANCELLED,
        cancelled_at=clock.now(),
        cancelled_by="citizen",
    )
    for booking in (ended, cancelled):
        for url in (f"/espai/?dia={_local(booking)}", f"/espai/cites/{booking.id}"):
            page = page_of(client, url)
            assert page.select_one(f"a[href='{booking.video_link}']") is None, url
    # The attended call's button goes at its end.
    clock.advance(attended.end_utc - clock.now() + timedelta(seconds=1))
    page = page_of(client, f"/espai/cites/{attended.id}")
    assert page.select_one(f"a[href='{attended.video_link}']") is None


def test_a_call_cannot_be_marked_before_it_starts(client):
    """M6: "Atesa" and "No s'hi ha presentat" are not offered before the start, and a POST
    then is refused with a message, not an error page."""
    world = make_world(technicians=1)
    technician = world.technicians[0]
    booking, _ = make_booking(world.town, world.service, technician, at(5))
    sign_in(client, technician.username)
    for url in (f"/espai/?dia={_local(booking)}", f"/espai/cites/{booking.id}"):
        page = page_of(client, url)
        assert page.select_one("input[name=status]") is None, url
        assert page.select_one(f"a[href='{booking.video_link}']") is not None, "live already"
    token = csrf_token(str(page))
    response = client.post(
        f"/espai/cites/{booking.id}/estat",
        data={"csrf_token": token, "status": "attended", "next": f"/espai/cites/{booking.id}"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/espai/cites/{booking.id}")
    page = page_of(client, response.headers["Location"])
    assert "Encara no es pot marcar: la videotrucada comença" in text_of(page)
    response = client.post(
        f"/espai/cites/{booking.id}/estat",
        data={"csrf_token": token, "status": "no_show"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/espai/"
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CONFIRMED and booking.marked_at is None


# --- Who can be given a booking -----------------------------------------------------------------


def test_a_coordinator_without_hours_is_not_offered_as_a_technician(client):
    """L12: the phone booking offered "Coordinació SSPC", who has no hours, as a technician."""
    world = make_world(technicians=1)
    technician = world.technicians[0]
    coordinator = make_staff("OPSSCOORD", role="coordinator", name="Coordinació SSPC")
    on_call = make_staff(
        "OPSSCOORD2", role="coordinator", name="Coordinadora Amb Hores", hours={0: [MORNING]}
    )
    sign_in(client, "OPSSCOORD")
    page = client.get(f"/espai/cites/nova?municipi={world.town.id}").get_data(as_text=True)
    day = soup(page).select_one("input[name=dia]")["value"]
    page = client.get(f"/espai/cites/nova?municipi={world.town.id}&dia={day}")
    slot = soup(page.get_data(as_text=True)).select_one("input[name=slot]")["value"]
    form = page_of(
        client, f"/espai/cites/nova/dades?municipi={world.town.id}&slot={slot.replace('+', '%2B')}"
    )
    offered = [o["value"] for o in form.select("select[name=technician] option")]
    assert str(technician.id) in offered and str(on_call.id) in offered
    assert str(coordinator.id) not in offered
    # Posting the coordinator anyway is refused like any choice not offered.
    response = client.post(
        "/espai/cites/nova/dades",
        data={
            "csrf_token": csrf_token(str(form)),
            "municipi": world.town.id,
            "slot": slot,
            "name": "Persona Que Truca",
            "phone": "612 000 111",
            "technician": coordinator.id,
            "consent": "y",
        },
    )
    assert response.status_code == 200
    assert db.session.scalar(select(Booking)) is None
    # Nor on the agenda's reassign choices.
    booking, _ = make_booking(world.town, world.service, technician, at(24 * 60))
    page = page_of(client, f"/espai/cites/{booking.id}")
    choices = [o["value"] for o in page.select("#reassigna option")]
    assert choices == [str(on_call.id)]
