"""The citizen's journey through the real pages, without JavaScript (plain forms)."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func
from sqlalchemy import select

from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_town
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.journey import DETAILS
from support.journey import Citizen
from umic import clock
from umic.core.tokens import hash_token
from umic.extensions import db
from umic.models import AccessToken
from umic.models import Booking
from umic.models import BookingClaim
from umic.models import BookingDraft
from umic.models import BookingStatus
from umic.models import Closure


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def booking_of(manage_path: str) -> Booking:
    token = manage_path.rsplit("/", 1)[1]
    row = db.session.scalar(select(AccessToken).where(AccessToken.token_hash == hash_token(token)))
    db.session.refresh(row.booking)
    return row.booking


# --- Finding the town ----------


def test_search_finds_towns_ignoring_accents_and_case(client):
    make_town("Òdena", "08143", comarca="Anoia")
    make_town("Gelida", "08091")
    page = client.get("/reserva/?q=ODENA").get_data(as_text=True)
    links = [a.get_text(strip=True) for a in soup(page).select(".town-list a")]
    assert links == ["Òdena"]
    assert 'href="/reserva/odena/"' in page


def test_search_fragment_for_htmx_announces_the_count(client):
    make_town("Gelida", "08091")
    response = client.get("/reserva/?q=geli", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert "HX-Request" in response.headers["Vary"]
    assert 'hx-swap-oob="innerHTML:#status"' in body
    assert "S'ha trobat 1 municipi" in body


def test_search_page_without_javascript_is_a_whole_page(client):
    make_town("Gelida", "08091")
    body = client.get("/reserva/?q=geli").get_data(as_text=True)
    assert "<html" in body and "Gelida" in body
    assert 'id="status" class="visually-hidden" role="status"' in body


def test_search_with_nothing_found_says_so(client):
    make_town("Gelida", "08091")
    body = client.get("/reserva/?q=xyzzy").get_data(as_text=True)
    assert "No hem trobat cap municipi" in body


def test_town_not_enrolled_gets_other_ways_to_get_help(client):
    make_service_and_staff()
    make_town("Abrera", "08001", enrolled=False)
    page = client.get("/reserva/abrera/").get_data(as_text=True)
    assert "encara no té atenció per videotrucada" in page
    assert "UMIC" in page and "bústia del consumidor" in page
    assert 'name="dia"' not in page


def test_town_with_its_own_omic_is_sent_there(client):
    make_service_and_staff()
    make_town("Gavà", "08089", has_omic=True)
    page = client.get("/reserva/gava/").get_data(as_text=True)
    assert "té oficina de consum pròpia" in page
    assert "OMIC de l'Ajuntament de Gavà" in page
    assert 'name="dia"' not in page


def test_unknown_town_is_404(client):
    assert client.get("/reserva/atlantis/").status_code == 404


def make_service_and_staff():
    from support.factories import EVERY_DAY
    from support.factories import make_service

    make_service()
    make_staff(hours=EVERY_DAY)


# --- Days and times ----------


def test_town_page_lists_days_as_radios_in_a_fieldset(client):
    make_world()
    page = soup(client.get("/reserva/gelida/").get_data(as_text=True))
    fieldset = page.select_one("form.day-form fieldset")
    assert fieldset.select_one("legend h2").get_text(strip=True) == "Quin dia us va bé?"
    radios = fieldset.select('input[type=radio][name="dia"]')
    assert 1 <= len(radios) <= 10
    # A full day's label (today's may have one time left: "1 cita disponible"); L13: it says
    # what it counts, appointments, not "16 hores lliures" (read as sixteen free hours).
    full = next(r for r in radios if r["value"] == Citizen(client).full_day())
    label = page.select_one(f'label[for="{full["id"]}"]').get_text(" ", strip=True)
    assert re.search(r"\(\d+ cites disponibles\)", label)
    assert "Consum_DIBA. Atenció telemàtica" in page.get_text()
    assert "30 minuts" in page.get_text()


def test_choosing_a_day_without_javascript_shows_its_times(client):
    make_world()
    citizen = Citizen(client)
    day = citizen.days()[1]
    page = soup(client.get(f"/reserva/gelida/?dia={day}").get_data(as_text=True))
    radios = page.select('#times input[type=radio][name="slot"]')
    assert radios, "the chosen day's times are on the page"
    assert all(r["value"].startswith(day) for r in radios)
    assert all(re.search(r"[+-]\d\d:\d\d$", r["value"]) for r in radios)
    labels = [page.select_one(f'label[for="{r["id"]}"]').get_text(strip=True) for r in radios]
    assert all(re.fullmatch(r"\d\d:\d\d a \d\d:\d\d", label) for label in labels)
    assert page.select_one(f'input[name="dia"][value="{day}"]').has_attr("checked")
    assert not page.select("input[disabled]"), "only free times are offered, none disabled"


def test_htmx_swaps_only_the_times_and_announces_them(client):
    make_world()
    day = Citizen(client).full_day()
    response = client.get(f"/reserva/gelida/?dia={day}", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body and 'id="times"' in body
    assert "HX-Request" in response.headers["Vary"]
    assert re.search(r'hx-swap-oob="innerHTML:#status">[^<]*\d+ cites disponibles', body)


@pytest.mark.parametrize("value", ["", "2026-13-45", "not-a-date", "1999-01-01", "9" * 200])
def test_bad_day_parameter_never_breaks_the_page(client, value):
    make_world()
    assert (
        client.get("/reserva/gelida/", query_string={"dia": value, "des": value}).status_code == 200
    )


def test_more_days_link_pages_through_the_horizon(client, app):
    app.config["BOOKING_DAYS_PER_PAGE"] = 3
    make_world()
    citizen = Citizen(client)
    first = citizen.days()
    page = client.get("/reserva/gelida/").get_data(as_text=True)
    more = soup(page).find("a", string="Mostra més dies")
    assert more is not None
    second = re.findall(
        r'name="dia" value="([^"]+)"', client.get(more["href"]).get_data(as_text=True)
    )
    assert len(first) == 3 and len(second) == 3 and second[0] > first[-1]


def test_a_closure_removes_the_day_and_an_absence_reduces_the_times(client):
    world = make_world(technicians=2)
    citizen = Citizen(client)
    first, second = citizen.days()[:2]
    before = len(citizen.slots(second))
    db.session.add(Closure(day=datetime.fromisoformat(first).date(), reason="Tancat"))
    db.session.add(
        Closure(day=datetime.fromisoformat(second).date(), staff_id=world.technicians[0].id)
    )
    db.session.commit()
    assert first not in citizen.days()
    # One of two technicians away: every time still offered (the other is free), none lost...
    assert len(citizen.slots(second)) == before
    db.session.add(
        Closure(day=datetime.fromisoformat(second).date(), staff_id=world.technicians[1].id)
    )
    db.session.commit()
    assert second not in citizen.days()  # ...both away: the day is gone


def test_minimum_notice_and_horizon_come_from_configuration(client, app):
    make_world()
    app.config["BOOKING_MIN_NOTICE_MINUTES"] = 3 * 24 * 60
    app.config["BOOKING_HORIZON_DAYS"] = 6
    days = Citizen(client).days()
    today = clock.now().date()
    assert min(days) >= (today + timedelta(days=3)).isoformat()
    assert max(days) <= (today + timedelta(days=7)).isoformat()


def test_no_free_time_at_all_is_a_clear_page_not_an_error(client):
    make_world(technicians=1, hours={})
    response = client.get("/reserva/gelida/")
    assert response.status_code == 200
    assert "Ara mateix no hi ha hores lliures" in response.get_data(as_text=True)


# --- Details form ----------


def test_details_form_has_the_specified_fields_and_labels(client):
    make_world()
    slot = Citizen(client).first_slot()
    page = soup(
        client.get("/reserva/gelida/dades", query_string={"slot": slot}).get_data(as_text=True)
    )
    form = page.select_one("main form")
    assert form["method"] == "post" and form.has_attr("novalidate")
    assert not page.select("[required]"), "validation is on the server, not in the browser"
    labels = {label["for"]: label.get_text(" ", strip=True) for label in form.select("label")}
    assert labels["name"] == "Nom i cognoms"
    assert labels["email"] == "Correu electrònic"
    assert labels["phone"].startswith("Número de telèfon")
    assert labels["address"].startswith("Adreça")
    assert labels["description"].startswith("Expliqueu breument el vostre problema")
    assert "consent" in labels
    names = {field["name"] for field in form.select("input, textarea")}
    assert {"name", "email", "phone", "address", "description", "consent", "slot"} <= names
    assert form.select_one('input[name="slot"]')["value"] == slot
    autocomplete = {f["name"]: f.get("autocomplete") for f in form.select("input[autocomplete]")}
    assert autocomplete == {
        "name": "name",
        "email": "email",
        "phone": "tel",
        "address": "street-address",
    }
    privacy = form.select_one('a[href="/privacitat"]')
    assert privacy is not None and privacy["target"] == "_blank"


def test_details_without_a_time_go_back_to_choose_one(client):
    make_world()
    response = client.get("/reserva/gelida/dades")
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/reserva/gelida/"


FIELD_ERRORS = [
    ("name", "", "Escriviu el vostre nom i cognoms"),
    ("name", "x" * 121, "El nom ha de tenir 120 caràcters o menys"),
    ("name", "\x00\x01 ", "Escriviu el vostre nom i cognoms"),
    ("email", "", "Escriviu la vostra adreça de correu electrònic"),
    ("email", "raul@", "Escriviu una adreça de correu electrònic vàlida, com ara nom@exemple.cat"),
    (
        "email",
        "raul.example.net",
        "Escriviu una adreça de correu electrònic vàlida, com ara nom@exemple.cat",
    ),
    ("email", "a" * 250 + "@x.cat", "L'adreça de correu ha de tenir 254 caràcters o menys"),
    (
        "phone",
        "telèfon",
        "Escriviu un número de telèfon vàlid, com ara 612 345 678 o +34 612 345 678",
    ),
    (
        "phone",
        "12345",
        "Escriviu un número de telèfon vàlid, com ara 612 345 678 o +34 612 345 678",
    ),
    ("phone", "6" * 41, "El telèfon ha de tenir 40 caràcters o menys"),
    ("address", "c" * 201, "L'adreça ha de tenir 200 caràcters o menys"),
    ("description", "d" * 1001, "La descripció ha de tenir 1.000 caràcters o menys"),
    ("consent", None, "Heu d'acceptar el tractament de dades per demanar cita"),
]


@pytest.mark.parametrize(("field", "value", "message"), FIELD_ERRORS)
def test_bad_input_on_each_field_gives_a_clear_error_and_keeps_the_rest(
    client, field, value, message
):
    make_world()
    citizen = Citizen(client)
    response = citizen.details(citizen.first_slot(), **{field: value})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = soup(html)
    assert page.title.get_text().startswith("Error: ")
    assert message in error_messages(html)
    assert (f"#{field}", message) in summary_links(html)
    assert page.select_one(f"#{field}").get("aria-invalid") == "true"
    # What the citizen typed in the other fields is still there.
    for other in ("name", "email", "address"):
        if other != field:
            assert page.select_one(f"#{other}")["value"] == DETAILS[other]
    if field != "description":
        assert page.select_one("#description").get_text().strip() == DETAILS["description"]
    assert count(BookingDraft) == 0


def test_spaces_and_symbols_in_a_phone_number_are_fine(client):
    make_world()
    citizen = Citizen(client)
    assert citizen.details(citizen.first_slot(), phone="+34 (612) 345-678").status_code == 303


def test_control_characters_are_removed_not_stored(client):
    make_world()
    citizen = Citizen(client)
    manage = citizen.book(name="Raúl\x00 Sánchez", description="Línia 1\r\nLínia\x07 2")
    booking = booking_of(manage)
    assert booking.citizen_name == "Raúl Sánchez"
    assert booking.description == "Línia 1\nLínia 2"


@pytest.mark.parametrize(
    "slot", ["", "tomorrow", "2026-03-01T10:00:00", "x" * 500, "2001-01-01T10:00:00+01:00"]
)
def test_a_missing_or_invalid_time_is_an_error_with_a_link_to_choose_one(client, slot):
    make_world()
    page = client.get("/reserva/gelida/").get_data(as_text=True)
    data = {**DETAILS, "slot": slot, "csrf_token": csrf_token(page)}
    response = client.post("/reserva/gelida/dades", data=data)
    assert response.status_code == 200
    links = summary_links(response.get_data(as_text=True))
    assert links and links[0][0].startswith("/reserva/gelida/")
    assert links[0][1] in {
        "Trieu una hora per a la cita",
        "Aquesta hora ja no està disponible. Trieu-ne una altra.",
    }


def test_a_time_outside_opening_hours_is_refused(client):
    make_world()
    slot = Citizen(client).first_slot()
    odd = slot[:11] + "03:10" + slot[16:]
    page = client.get("/reserva/gelida/").get_data(as_text=True)
    response = client.post(
        "/reserva/gelida/dades", data={**DETAILS, "slot": odd, "csrf_token": csrf_token(page)}
    )
    assert "Aquesta hora ja no està disponible" in response.get_data(as_text=True)


# --- Check answers, confirm ----------


def test_check_answers_shows_everything_with_change_links(client):
    make_world()
    citizen = Citizen(client)
    citizen.details(citizen.first_slot(), phone="", address="")
    page = soup(client.get("/reserva/gelida/comprova").get_data(as_text=True))
    text = page.get_text(" ", strip=True)
    assert DETAILS["name"] in text and DETAILS["email"] in text and DETAILS["description"] in text
    assert text.count("No s'ha indicat") == 2
    changes = [a.get_text(" ", strip=True) for a in page.select(".summary-action a")]
    assert "Canvia l'hora" in changes and "Canvia el nom" in changes
    assert page.find("button", string="Confirma la cita")
    assert count(Booking) == 0, "nothing is booked before confirming"


def test_confirming_books_and_shows_the_confirmation(client):
    world = make_world()
    citizen = Citizen(client)
    slot = citizen.first_slot()
    manage = citizen.book(slot)
    page = soup(client.get(manage).get_data(as_text=True))
    booking = booking_of(manage)
    assert page.select_one(".panel-title").get_text(strip=True) == "Cita confirmada"
    assert re.fullmatch(r"[A-Z0-9-]+", booking.reference)
    assert booking.reference in page.select_one(".panel").get_text()
    assert booking.start_utc == datetime.fromisoformat(slot).astimezone(UTC)
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.technician_id in {t.id for t in world.technicians}
    assert booking.consent_version == "2026-12-04" and booking.consent_at is not None
    text = page.get_text(" ", strip=True)
    local = datetime.fromisoformat(slot)
    assert f"{local:%H:%M}-{(local + timedelta(minutes=30)):%H:%M} (hora de Madrid)" in text
    # Days ahead the join link is not live yet (L8): the page says when it will be.
    assert not page.find("a", href=booking.video_link)
    assert "L'enllaç per entrar a la videotrucada s'activarà 10 minuts abans de la cita" in text
    assert page.find("a", href="/com-connectar")
    assert page.find("a", href=f"{manage}/calendari.ics")
    assert page.find("a", href=re.compile(r"^https://calendar\.google\.com/"))
    assert page.find("a", href=re.compile(r"^https://outlook\.live\.com/"))
    assert page.find("a", href=f"{manage}/planifica").get_text(strip=True) == "Torna a planificar"
    assert page.find("a", href=f"{manage}/anulla")
    # Minimal data on a page reached by a link (anyone holding the link sees it): no phone,
    # no address.
    assert DETAILS["phone"] not in text and DETAILS["address"] not in text


def test_calendar_links_carry_the_right_times(client):
    make_world()
    manage = Citizen(client).book()
    booking = booking_of(manage)
    page = soup(client.get(manage).get_data(as_text=True))
    google = parse_qs(urlsplit(page.find("a", href=re.compile("google"))["href"]).query)
    assert google["dates"] == [
        f"{booking.start_utc:%Y%m%dT%H%M%SZ}/{booking.end_utc:%Y%m%dT%H%M%SZ}"
    ]
    download = client.get(f"{manage}/calendari.ics")
    assert download.mimetype == "text/calendar"
    # No METHOD: plain iCalendar (docs/invitations.md, "Files that are not invitations").
    assert b"METHOD:" not in download.data and booking.ical_uid.encode() in download.data


def test_manage_token_is_random_and_only_its_hash_is_stored(client):
    make_world()
    manage = Citizen(client).book()
    token = manage.rsplit("/", 1)[1]
    assert len(token) >= 22  # at least 128 bits in URL-safe base64
    row = db.session.scalar(select(AccessToken))
    assert row.token_hash == hash_token(token) and token not in row.token_hash
    assert client.get(manage[:-1] + ("A" if manage[-1] != "A" else "B")).status_code == 404


def test_confirming_twice_never_books_twice(client):
    make_world()
    citizen = Citizen(client)
    citizen.details(citizen.first_slot())
    page = client.get("/reserva/gelida/comprova").get_data(as_text=True)
    token = csrf_token(page)
    first = client.post("/reserva/gelida/comprova", data={"csrf_token": token})
    second = client.post("/reserva/gelida/comprova", data={"csrf_token": token})
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(Booking) == 1
    back = client.get("/reserva/gelida/comprova")  # the browser's back button
    assert back.headers["Location"] == first.headers["Location"]


def test_a_time_taken_meanwhile_goes_back_to_the_free_times_with_a_message(client):
    world = make_world(technicians=1)
    citizen = Citizen(client)
    slot = citizen.first_slot()
    citizen.details(slot)
    make_booking(world.town, world.service, world.technicians[0], datetime.fromisoformat(slot))
    response = citizen.confirm()
    assert response.status_code == 303
    assert "ocupada=1" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Aquesta hora s'acaba d'ocupar. Trieu-ne una altra." in page
    assert soup(page).title.get_text().startswith("Error: ")
    assert slot not in page
    assert count(Booking) == 1  # only the other one
    # The details are kept: choosing another time goes straight to a filled-in form.
    other = citizen.slots(slot[:10])[0]
    form = soup(
        client.get("/reserva/gelida/dades", query_string={"slot": other}).get_data(as_text=True)
    )
    assert form.select_one("#name")["value"] == DETAILS["name"]


def test_a_time_taken_before_the_details_are_sent_keeps_what_was_typed(client):
    """The time goes while the citizen types: the form says so, and once they have chosen
    another time the form is filled in again (nothing typed is lost)."""
    world = make_world(technicians=1)
    citizen = Citizen(client)
    slot = citizen.first_slot()
    page = client.get("/reserva/gelida/dades", query_string={"slot": slot})
    make_booking(world.town, world.service, world.technicians[0], datetime.fromisoformat(slot))
    data = {**DETAILS, "slot": slot, "csrf_token": csrf_token(page.get_data(as_text=True))}
    response = client.post("/reserva/gelida/dades", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Aquesta hora ja no està disponible. Trieu-ne una altra." in page
    assert soup(page).select_one("#name")["value"] == DETAILS["name"]
    assert count(Booking) == 1
    other = citizen.slots(slot[:10])[0]
    form = soup(
        client.get("/reserva/gelida/dades", query_string={"slot": other}).get_data(as_text=True)
    )
    assert form.select_one("#name")["value"] == DETAILS["name"]
    assert form.select_one("#description").get_text().strip() == DETAILS["description"]
    assert form.select_one("input[name=slot]")["value"] == other


def test_simultaneous_bookings_of_one_time_go_to_different_technicians(client, app):
    world = make_world(technicians=3)
    slot = Citizen(client).first_slot()
    technicians = set()
    for _ in range(3):
        manage = Citizen(app.test_client()).book(slot)
        technicians.add(booking_of(manage).technician_id)
    assert technicians == {t.id for t in world.technicians}
    fourth = Citizen(app.test_client())
    assert slot not in fourth.slots(slot[:10])


def test_load_is_spread_across_technicians_on_a_day(client, app):
    make_world(technicians=2)
    citizen = Citizen(client)
    slots = citizen.slots()
    counts: dict[int, int] = {}
    for slot in slots[:4]:
        booking = booking_of(Citizen(app.test_client()).book(slot))
        counts[booking.technician_id] = counts.get(booking.technician_id, 0) + 1
    assert sorted(counts.values()) == [2, 2]


def test_each_booking_gets_its_own_video_room(client, app):
    make_world()
    first = booking_of(Citizen(client).book())
    second = booking_of(Citizen(app.test_client()).book())
    assert first.video_link.startswith("https://meet.jit.si/umic-")
    assert first.video_link != second.video_link


def test_a_fixed_video_link_and_a_service_override(client, app):
    world = make_world()
    app.config["VIDEO_LINK_TEMPLATE"] = "https://teams.example/l/meetup-join/fixed"
    assert (
        booking_of(Citizen(client).book()).video_link == "https://teams.example/l/meetup-join/fixed"
    )
    world.service.video_link_template = "https://video.example/{room}"
    db.session.commit()
    link = booking_of(Citizen(app.test_client()).book()).video_link
    assert re.fullmatch(r"https://video\.example/[a-z0-9]{26}", link)


# --- Reschedule and cancel ----------


def test_reschedule_moves_the_same_booking_without_asking_details_again(client):
    make_world()
    citizen = Citizen(client)
    manage = citizen.book()
    booking = booking_of(manage)
    old_start, sequence, booking_id = booking.start_utc, booking.ical_sequence, booking.id
    page = soup(client.get(f"{manage}/planifica").get_data(as_text=True))
    assert not page.select('input[name="name"], input[name="email"], input[name="phone"]')
    day = page.select('input[name="dia"]')[1]["value"]
    times = soup(client.get(f"{manage}/planifica?dia={day}").get_data(as_text=True))
    new_slot = times.select('input[name="slot"]')[2]["value"]
    assert times.select_one("#times form")["action"] == f"{manage}/planifica/confirma"
    confirm = client.get(f"{manage}/planifica/confirma", query_string={"slot": new_slot})
    text = soup(confirm.get_data(as_text=True)).get_text(" ", strip=True)
    assert "Hora actual" in text and "Hora nova" in text
    response = client.post(
        f"{manage}/planifica/confirma",
        data={"slot": new_slot, "csrf_token": csrf_token(confirm.get_data(as_text=True))},
    )
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == manage
    booking = booking_of(manage)
    assert booking.id == booking_id and count(Booking) == 1
    assert booking.start_utc == datetime.fromisoformat(new_slot).astimezone(UTC) != old_start
    assert booking.ical_sequence == sequence + 1
    claims = db.session.scalars(select(BookingClaim.unit_start)).all()
    assert min(claims) == booking.start_utc and len(claims) == 6
    assert "Heu canviat l'hora de la cita" in client.get(manage).get_data(as_text=True)
    # The old time is free again.
    old_day = old_start.astimezone(datetime.fromisoformat(new_slot).tzinfo).date().isoformat()
    assert old_start in [datetime.fromisoformat(s) for s in citizen.slots(old_day)]


def test_cancel_asks_for_confirmation_then_frees_the_time(client):
    make_world(technicians=1)
    citizen = Citizen(client)
    slot = citizen.first_slot()
    manage = citizen.book(slot)
    assert slot not in citizen.slots(slot[:10])
    page = client.get(f"{manage}/anulla").get_data(as_text=True)
    assert booking_of(manage).status == BookingStatus.CONFIRMED
    assert soup(page).find("button", string="Sí, anul·la la cita")
    response = client.post(
        f"{manage}/anulla", data={"reason": "Ja ho he resolt", "csrf_token": csrf_token(page)}
    )
    assert response.status_code == 303
    booking = booking_of(manage)
    assert booking.status == BookingStatus.CANCELLED
    assert booking.cancel_reason == "Ja ho he resolt" and booking.cancelled_by == "citizen"
    assert booking.ical_sequence == 1
    assert count(BookingClaim) == 0
    assert slot in citizen.slots(slot[:10])
    after = client.get(manage).get_data(as_text=True)
    assert "Cita anul·lada" in after and "Demana una cita nova" in after
    assert f"{manage}/planifica" not in after


def test_cancel_reason_too_long_is_an_error_not_a_cancellation(client):
    make_world()
    manage = Citizen(client).book()
    page = client.get(f"{manage}/anulla").get_data(as_text=True)
    response = client.post(
        f"{manage}/anulla", data={"reason": "r" * 501, "csrf_token": csrf_token(page)}
    )
    assert response.status_code == 200
    assert "El motiu ha de tenir 500 caràcters o menys" in error_messages(
        response.get_data(as_text=True)
    )
    assert booking_of(manage).status == BookingStatus.CONFIRMED


def _booking_starting_in(delta: timedelta):
    world = make_world()
    start = (clock.now() + delta).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 5)
    return make_booking(world.town, world.service, world.technicians[0], start)


def test_no_changes_online_within_the_cut_off(client):
    booking, token = _booking_starting_in(timedelta(minutes=90))
    manage = f"/cita/{token}"
    page = client.get(manage).get_data(as_text=True)
    assert "Ja no es pot canviar ni anul·lar en línia" in page
    assert f"{manage}/anulla" not in page and f"{manage}/planifica" not in page
    assert client.get(f"{manage}/anulla").status_code == 303
    assert client.get(f"{manage}/planifica").status_code == 303
    other = Citizen(client).first_slot()
    assert (
        client.get(f"{manage}/planifica/confirma", query_string={"slot": other}).status_code == 303
    )
    assert client.post(f"{manage}/anulla", data={}).status_code in (303, 400)
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CONFIRMED


def test_after_the_end_the_booking_is_read_only(client):
    booking, token = _booking_starting_in(timedelta(hours=-2))
    page = client.get(f"/cita/{token}").get_data(as_text=True)
    assert "Aquesta cita ja ha passat" in page
    assert "Uniu-vos" not in page and f"/cita/{token}/anulla" not in page


def test_the_cut_off_is_configurable(client, app):
    app.config["BOOKING_CHANGE_CUTOFF_MINUTES"] = 24 * 60
    _booking, token = _booking_starting_in(timedelta(hours=5))
    assert "Ja no es pot canviar" in client.get(f"/cita/{token}").get_data(as_text=True)


# --- Forms in general ----------


def test_every_post_route_refuses_a_request_without_csrf_token(app, client):
    """CSRF on every form: walk the URL map, POST without a token, nothing may change."""
    world = make_world()
    _booking, token = make_booking(
        world.town, world.service, world.technicians[0], clock.now() + timedelta(days=3)
    )
    # The CSRF check answers before any view runs: any value fits the other arguments.
    samples = defaultdict(lambda: 1, slug="gelida", token=token)
    post_rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods]
    assert len(post_rules) >= 7
    for rule in post_rules:
        url = rule.build({k: samples[k] for k in rule.arguments}, append_unknown=False)[1]
        response = client.post(url, data={"slot": "x", "name": "n", "email": "e@x.cat"})
        # In a town's iframe (the booking or the mailbox): offer a new tab instead.
        if rule.endpoint.startswith(("embed.", "embed_mailbox.")):
            assert response.status_code in (200, 400), (url, response.status_code)
            assert "en una pestanya nova" in response.get_data(as_text=True)
            continue
        assert response.status_code == 400, (url, response.status_code)
        assert "El formulari ha caducat" in response.get_data(as_text=True)
    assert count(Booking) == 1 and count(BookingDraft) == 0


def test_forms_work_without_javascript(client):
    """Every form has an action or posts to its own page, and a method."""
    make_world()
    citizen = Citizen(client)
    slot = citizen.first_slot()
    pages = [
        "/reserva/",
        f"/reserva/gelida/?dia={slot[:10]}",
        f"/reserva/gelida/dades?slot={slot}",
    ]
    for url in pages:
        for form in soup(client.get(url).get_data(as_text=True)).select("main form"):
            assert form.get("method") in ("get", "post"), url
            assert form.get("action") is not None, url


def test_unconfirmed_details_are_deleted_after_a_day(client):
    """Drafts hold personal data: the worker purges them once they expire."""
    from umic.booking.drafts import purge_expired_drafts

    make_world()
    citizen = Citizen(client)
    citizen.details(citizen.first_slot())
    draft = db.session.scalar(select(BookingDraft))
    assert draft.expires_at - draft.created_at == timedelta(hours=24)
    assert purge_expired_drafts(clock.now()) == 0
    assert purge_expired_drafts(draft.expires_at + timedelta(seconds=1)) == 1
    assert count(BookingDraft) == 0
    response = client.get("/reserva/gelida/comprova")
    assert response.status_code == 303, "an expired draft starts the booking again"


def test_town_names_take_the_catalan_contractions(client):
    make_service_and_staff()
    make_town("Òdena", "08143", enrolled=False)
    make_town("El Bruc", "08025", enrolled=False)
    odena = soup(client.get("/reserva/odena/").get_data(as_text=True)).get_text(" ")
    assert "l'Ajuntament d'Òdena" in odena and "Ajuntament de Òdena" not in odena
    bruc = soup(client.get("/reserva/el-bruc/").get_data(as_text=True)).get_text(" ")
    assert "l'Ajuntament del Bruc" in bruc
