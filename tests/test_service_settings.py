"""The service's settings page (/admin/servei/): names and descriptions per language, the
length of a call, the video link template; and every citizen-facing text reading the name in
the reader's language."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
from sqlalchemy import select

from support.days import madrid
from support.days import working_days
from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import form_values
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.journey import Citizen
from umic.extensions import db
from umic.models import Booking
from umic.models import BookingClaim
from umic.models import OutboxMessage
from umic.models import Role
from umic.models import Service

URL = "/admin/servei/"
SPANISH_NAME = "Atención telemática de consumo"
SPANISH_DESCRIPTION = "Le atiende por videollamada una persona técnica en consumo."


@pytest.fixture
def world():
    return make_world(technicians=1)


@pytest.fixture
def coordinator(login):
    make_staff("OPSSCOORD", role=Role.COORDINATOR, name="Coordinadora Puig")
    login("OPSSCOORD")


def service() -> Service:
    db.session.expire_all()
    return db.session.scalar(select(Service))


def post(client, **changes):
    page = client.get(URL).get_data(as_text=True)
    data = {**form_values(page, "#service-form"), **changes}
    return client.post(URL, data=data)


def test_a_coordinator_writes_the_name_and_description_in_each_language(client, world, coordinator):
    page = client.get(URL).get_data(as_text=True)
    assert form_values(page, "#service-form")["name"] == "Consum_DIBA. Atenció telemàtica"
    response = post(
        client,
        name="Atenció telemàtica de consum",
        name_es=SPANISH_NAME,
        description_es=SPANISH_DESCRIPTION,
        name_en="",
    )
    assert response.status_code == 303
    saved = service()
    assert saved.name == "Atenció telemàtica de consum"
    assert saved.name_in("es") == SPANISH_NAME
    assert saved.description_in("es") == SPANISH_DESCRIPTION
    assert saved.name_in("en") == "Atenció telemàtica de consum"  # falls back to Catalan
    assert "S'ha desat el servei." in soup(client.get(URL).get_data(as_text=True)).get_text()


def test_errors_stand_beside_their_fields_and_in_the_summary_and_what_was_typed_stays(
    client, world, coordinator
):
    response = post(
        client,
        name="",
        name_es="Nombre nuevo",
        minutes="32",
        video_link="http://meet.example.org/{sala}",
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    messages = error_messages(html)
    assert messages == [
        "Escriviu el nom del servei en català",
        "Escriviu la durada en minuts: un múltiple de 5 entre 15 i 120, com ara 30 o 45",
        "L'enllaç ha de començar per https://, com ara https://meet.jit.si/umic-{room}",
    ]
    assert [href for href, _ in summary_links(html)] == ["#name", "#minutes", "#video_link"]
    assert soup(html).title.get_text().startswith("Error:")
    kept = form_values(html, "#service-form")
    assert kept["name_es"] == "Nombre nuevo" and kept["minutes"] == "32"
    assert kept["video_link"] == "http://meet.example.org/{sala}"
    assert service().duration_minutes == 30 and service().name_es == ""


@pytest.mark.parametrize(
    ("minutes", "link", "message"),
    [
        ("10", "", "un múltiple de 5 entre 15 i 120"),
        ("125", "", "un múltiple de 5 entre 15 i 120"),
        ("trenta", "", "un múltiple de 5 entre 15 i 120"),
        ("30", "https://meet.example.org/{sala}", "L'únic camp variable permès és {room}"),
        ("30", "https://meet.example.org/a b", "no pot tenir espais"),
        ("30", "https:///{room}", "adreça completa del servidor"),
    ],
)
def test_the_length_and_the_link_follow_the_rules_of_the_command_line(
    client, world, coordinator, minutes, link, message
):
    html = post(client, minutes=minutes, video_link=link).get_data(as_text=True)
    assert any(message in text for text in error_messages(html)), error_messages(html)


def test_a_video_link_template_is_saved_and_used_for_new_bookings(client, world, coordinator):
    assert post(client, video_link="https://video.example.org/umic-{room}").status_code == 303
    assert service().video_link_template == "https://video.example.org/umic-{room}"
    client.get("/surt")
    Citizen(client).book()
    booking = db.session.scalar(select(Booking))
    assert booking.video_link.startswith("https://video.example.org/umic-")
    assert "{room}" not in booking.video_link


def test_a_post_without_the_form_token_changes_nothing(client, world, coordinator):
    response = client.post(URL, data={"name": "Un altre", "minutes": "45"})
    assert response.status_code == 400
    assert service().name == "Consum_DIBA. Atenció telemàtica"


def test_only_coordinators_edit_the_service(client, world, login):
    login("OPSSVEGAVN")  # a technician
    assert client.get(URL).status_code == 403
    page = client.get("/espai/").get_data(as_text=True)
    token = csrf_token(page) if "csrf_token" in page else ""
    response = client.post(URL, data={"csrf_token": token, "name": "X", "minutes": "45"})
    assert response.status_code == 403
    assert service().duration_minutes == 30 and service().name != "X"


def test_changing_the_length_keeps_existing_bookings_and_changes_new_slots(
    client, world, coordinator
):
    day = working_days(1)
    technician = world.technicians[0]
    booking, _ = make_booking(world.town, world.service, technician, madrid(day, 9, 30))
    claims_before = sorted(
        db.session.scalars(
            select(BookingClaim.unit_start).where(BookingClaim.booking_id == booking.id)
        )
    )
    start, end = booking.start_utc, booking.end_utc
    assert post(client, minutes="45").status_code == 303
    assert (
        "les cites ja reservades mantenen"
        in soup(client.get(URL).get_data(as_text=True)).get_text()
    )
    db.session.expire_all()
    kept = db.session.get(Booking, booking.id)
    assert (kept.start_utc, kept.end_utc) == (start, end)
    assert end - start == timedelta(minutes=30)
    claims_after = sorted(
        db.session.scalars(
            select(BookingClaim.unit_start).where(BookingClaim.booking_id == booking.id)
        )
    )
    assert claims_after == claims_before
    client.get("/surt")
    times = [slot[11:16] for slot in Citizen(client).slots(day.isoformat())]
    # 45-minute steps from 09:00 around the 09:30-10:00 booking, which stays taken.
    assert times[:3] == ["10:30", "11:15", "12:00"]
    assert "09:00" not in times and "09:45" not in times


def test_m3_a_spanish_reader_sees_the_spanish_name_and_description_on_the_pages(client, world):
    """M3: Spanish pages showed the service's Catalan name and description."""
    world.service.name = "Atenció telemàtica de consum"
    world.service.name_es = SPANISH_NAME
    world.service.description = "Us atén per videotrucada una persona tècnica en consum."
    world.service.description_es = SPANISH_DESCRIPTION
    db.session.commit()
    spanish = client.get("/reserva/gelida/?lang=es").get_data(as_text=True)
    assert SPANISH_NAME in spanish and SPANISH_DESCRIPTION in spanish
    assert "Atenció telemàtica de consum" not in spanish and "Us atén" not in spanish
    catalan = client.get("/reserva/gelida/?lang=ca").get_data(as_text=True)
    assert "Atenció telemàtica de consum" in catalan and SPANISH_NAME not in catalan
    # English has no text of its own: the Catalan one.
    world.service.name_en = ""
    db.session.commit()
    assert world.service.name_in("en") == "Atenció telemàtica de consum"


def test_m3_the_spanish_check_page_email_and_invitation_name_the_service_in_spanish(client, world):
    """M3: the Spanish e-mail and calendar event carried the Catalan (code-like) name."""
    world.service.name = "Atenció telemàtica de consum"
    world.service.name_es = SPANISH_NAME
    db.session.commit()
    client.get("/reserva/?lang=es")
    citizen = Citizen(client)
    slot = citizen.first_slot()
    assert citizen.details(slot).status_code == 303
    check = client.get("/reserva/gelida/comprova").get_data(as_text=True)
    assert SPANISH_NAME in check and "Atenció telemàtica de consum" not in check
    confirmed = citizen.confirm()
    assert confirmed.status_code == 303
    booking = db.session.scalar(select(Booking))
    assert booking.language == "es"
    manage = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert SPANISH_NAME in manage and "Atenció telemàtica de consum" not in manage
    to_citizen = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "created_citizen")
    )
    assert SPANISH_NAME in to_citizen.body_text and SPANISH_NAME in to_citizen.body_html
    assert "Atenció telemàtica de consum" not in to_citizen.body_text
    event = icalendar.Calendar.from_ical(to_citizen.ics).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == SPANISH_NAME
    # The technician's copy is in the service's language (Catalan), as every staff e-mail.
    to_technician = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "created_technician")
    )
    staff_event = icalendar.Calendar.from_ical(to_technician.ics).walk("VEVENT")[0]
    assert str(staff_event["SUMMARY"]) == "Atenció telemàtica de consum"


def test_without_a_service_the_page_says_how_to_create_one(client, coordinator):
    html = client.get(URL).get_data(as_text=True)
    assert "flask --app umic services create atencio-telematica" in html
    assert soup(html).select_one("#service-form") is None


def test_the_command_line_names_a_new_service_readably_in_each_language(runner):
    """M3: the default name was the seed's "Consum_DIBA. Atenció telemàtica", a code."""
    result = runner.invoke(args=["services", "create", "atencio-telematica"])
    assert result.exit_code == 0, result.output
    created = service()
    assert created.name == "Atenció telemàtica de consum"
    assert created.name_in("es") == "Atención telemática de consumo"
    assert created.name_in("en") == "Consumer advice by video call"
    assert "_" not in created.name


def test_the_command_line_checks_the_video_link_like_the_page(runner):
    runner.invoke(args=["services", "create", "atencio-telematica", "--name", "Atenció"])
    for link, words in [
        ("http://meet.example.org/{room}", "https://"),
        ("https://meet.example.org/{sala}", "{room}"),
    ]:
        result = runner.invoke(args=["services", "set", "atencio-telematica", "--video-link", link])
        assert result.exit_code != 0 and words in result.output, result.output
    assert service().video_link_template is None
    result = runner.invoke(
        args=["services", "set", "atencio-telematica", "--video-link", "https://teams.example/l/x"]
    )
    assert result.exit_code == 0 and service().video_link_template == "https://teams.example/l/x"
    for minutes in ("10", "125"):
        result = runner.invoke(args=["services", "set", "atencio-telematica", "--minutes", minutes])
        assert result.exit_code != 0 and "between 15 and 120" in result.output
