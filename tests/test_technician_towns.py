"""The staff list (/admin/tecnics/) and the towns each technician serves: the page, and the
slots engine offering a technician only for bookings from their towns."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from support.days import madrid
from support.days import working_days
from support.factories import EVERY_DAY
from support.factories import make_booking
from support.factories import make_service
from support.factories import make_staff
from support.factories import make_town
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.journey import Citizen
from support.journey import book_by_phone
from support.queries import counted_selects
from umic import clock
from umic.admin.staff import towns_without_technician
from umic.booking import misfits
from umic.booking import service as booking_service
from umic.core import scheduling
from umic.extensions import db
from umic.models import Booking
from umic.models import OpeningHours
from umic.models import Role
from umic.models import StaffTown


@pytest.fixture
def towns():
    gelida = make_town("Gelida", "08091")
    begues = make_town("Begues", "08020", comarca="Baix Llobregat", population=7400)
    return gelida, begues


@pytest.fixture
def service():
    return make_service()


def limit(technician, *towns) -> None:
    db.session.add_all(StaffTown(staff_id=technician.id, municipality_id=t.id) for t in towns)
    db.session.commit()


def coordinator(login):
    make_staff("OPSSCOORD", role=Role.COORDINATOR, name="Coordinadora Puig")
    login("OPSSCOORD")


def listed_towns(staff_id: int) -> set[int]:
    db.session.expire_all()
    return set(
        db.session.scalars(select(StaffTown.municipality_id).where(StaffTown.staff_id == staff_id))
    )


# --- The pages ------------------------------------------------------------------------------


def test_the_staff_list_shows_role_account_hours_and_towns(client, login, towns, service):
    gelida, _begues = towns
    anna = make_staff("OPSSANNA", name="Anna Vidal", hours={0: [(time(9), time(14))]})
    make_staff("OPSSJOAN", name="Joan Roca", hours=EVERY_DAY)
    limit(anna, gelida)
    coordinator(login)
    html = client.get("/admin/tecnics/").get_data(as_text=True)
    rows = {
        row.th.get_text(" ", strip=True): row.get_text(" ", strip=True)
        for row in soup(html).select("tbody tr")
    }
    assert "Dilluns: 09:00-14:00" in rows["Anna Vidal OPSSANNA"]
    assert "Gelida" in rows["Anna Vidal OPSSANNA"]
    assert "Tots els municipis adherits" in rows["Joan Roca OPSSJOAN"]
    assert "Coordinació" in rows["Coordinadora Puig OPSSCOORD"]
    assert "Sense horari" in rows["Coordinadora Puig OPSSCOORD"]
    assert f'href="/admin/horaris/{anna.id}"' in html
    assert f'href="/admin/tecnics/{anna.id}/municipis"' in html
    assert "flask --app umic users create" in html


def test_the_staff_list_costs_the_same_queries_for_two_or_ten_people(client, login, towns, service):
    gelida, begues = towns
    coordinator(login)
    for i in range(2):
        limit(make_staff(f"OPSSA{i}", hours=EVERY_DAY), gelida)
    client.get("/admin/tecnics/")
    with counted_selects() as few:
        client.get("/admin/tecnics/")
    for i in range(8):
        limit(make_staff(f"OPSSB{i}", hours=EVERY_DAY), gelida, begues)
    with counted_selects() as many:
        client.get("/admin/tecnics/")
    assert len(many) == len(few)


def test_a_coordinator_limits_a_technician_to_some_towns_and_back_to_all(
    client, login, towns, service
):
    gelida, begues = towns
    anna = make_staff("OPSSANNA", name="Anna Vidal", hours=EVERY_DAY)
    coordinator(login)
    url = f"/admin/tecnics/{anna.id}/municipis"
    page = client.get(url).get_data(as_text=True)
    form = soup(page).select_one("#towns-form")
    assert form.select_one("#scope-tots")["checked"] is not None
    assert [legend.get_text(strip=True) for legend in form.select(".legend-small")] == [
        "Alt Penedès",
        "Baix Llobregat",
    ]
    response = client.post(
        url, data={"csrf_token": csrf_token(page), "scope": "alguns", "towns": [str(gelida.id)]}
    )
    assert response.status_code == 303
    assert listed_towns(anna.id) == {gelida.id}
    page = client.get(url).get_data(as_text=True)
    assert soup(page).select_one(f"#town-{gelida.id}").has_attr("checked")
    assert not soup(page).select_one(f"#town-{begues.id}").has_attr("checked")
    client.post(
        url, data={"csrf_token": csrf_token(page), "scope": "tots", "towns": [str(gelida.id)]}
    )
    assert listed_towns(anna.id) == set()


def test_choosing_some_towns_but_ticking_none_is_an_error_beside_the_list_and_in_the_summary(
    client, login, towns, service
):
    anna = make_staff("OPSSANNA", hours=EVERY_DAY)
    coordinator(login)
    url = f"/admin/tecnics/{anna.id}/municipis"
    token = csrf_token(client.get(url).get_data(as_text=True))
    response = client.post(url, data={"csrf_token": token, "scope": "alguns", "towns": ["x9"]})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    message = "Trieu almenys un municipi, o marqueu «Tots els municipis adherits»"
    assert error_messages(html) == [message]
    assert summary_links(html) == [("#towns", message)]
    assert soup(html).select_one("#scope-alguns").has_attr("checked")  # what was chosen stays
    assert listed_towns(anna.id) == set()


def test_the_towns_form_needs_its_token(client, login, towns, service):
    gelida, _ = towns
    anna = make_staff("OPSSANNA", hours=EVERY_DAY)
    coordinator(login)
    response = client.post(
        f"/admin/tecnics/{anna.id}/municipis", data={"scope": "alguns", "towns": [gelida.id]}
    )
    assert response.status_code == 400
    assert listed_towns(anna.id) == set()


def test_a_technician_cannot_see_or_change_the_staff_pages(client, login, towns, service):
    gelida, _ = towns
    anna = make_staff("OPSSANNA", hours=EVERY_DAY)
    login("OPSSANNA")
    assert client.get("/admin/tecnics/").status_code == 403
    url = f"/admin/tecnics/{anna.id}/municipis"
    assert client.get(url).status_code == 403
    token = csrf_token(client.get("/espai/").get_data(as_text=True))
    response = client.post(url, data={"csrf_token": token, "scope": "alguns", "towns": [gelida.id]})
    assert response.status_code == 403
    assert listed_towns(anna.id) == set()


# --- The slots engine -----------------------------------------------------------------------


def test_a_technician_limited_to_gelida_is_never_offered_for_begues(client, towns, service):
    gelida, begues = towns
    anna = make_staff("OPSSANNA", hours={d: [(time(9), time(11))] for d in range(7)})
    joan = make_staff("OPSSJOAN", hours={d: [(time(16), time(18))] for d in range(7)})
    limit(anna, gelida)
    day = working_days(1).isoformat()
    begues_times = [slot[11:16] for slot in Citizen(client, "begues").slots(day)]
    gelida_times = [slot[11:16] for slot in Citizen(client, "gelida").slots(day)]
    assert begues_times == ["16:00", "16:30", "17:00", "17:30"]  # Joan's only
    assert gelida_times[:4] == ["09:00", "09:30", "10:00", "10:30"]  # Anna's too
    # A time both could take, booked from Begues, goes to Joan however loaded he is.
    for person in (anna, joan):
        person.hours.clear()
        db.session.flush()
        person.hours.extend(
            OpeningHours(weekday=d, start_time=time(12), end_time=time(13)) for d in range(7)
        )
    db.session.commit()
    make_booking(gelida, service, joan, madrid(working_days(1), 12, 30))  # Joan is busier
    begues_citizen = Citizen(client, "begues")
    slot = next(s for s in begues_citizen.slots(day) if s[11:16] == "12:00")
    begues_citizen.book(slot)
    booking = db.session.scalar(select(Booking).where(Booking.municipality_id == begues.id))
    assert booking.technician_id == joan.id
    # Joan now full at 12:00-13:00: Begues has nothing left that day; Gelida still has Anna.
    assert "12:00" not in [s[11:16] for s in Citizen(client, "begues").slots(day)]
    assert "12:00" in [s[11:16] for s in Citizen(client, "gelida").slots(day)]


def test_a_town_nobody_serves_offers_no_times_and_the_home_can_find_it(client, towns, service):
    gelida, begues = towns
    anna = make_staff("OPSSANNA", hours=EVERY_DAY)
    limit(anna, gelida)
    assert Citizen(client, "begues").days() == []
    assert Citizen(client, "gelida").days() != []
    assert [t.name for t in towns_without_technician()] == ["Begues"]
    assert towns_without_technician(with_bookings_only=True) == []
    # A booking of Begues made before Anna's towns changed.
    make_booking(begues, service, anna, madrid(working_days(1), 9))
    found = towns_without_technician(clock.now(), with_bookings_only=True)
    assert [(t.name, t.upcoming_bookings) for t in found] == [("Begues", 1)]
    # A coordinator with no hours does not count as serving a town.
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    assert [t.name for t in towns_without_technician()] == ["Begues"]


def test_a_booking_of_a_town_its_technician_no_longer_serves_is_listed_to_move(
    client, login, towns, service
):
    """Limiting a technician to Gelida leaves their Begues call in the list of calls that no
    longer fit (with the link to move it), not only in the home's count of towns."""
    gelida, begues = towns
    anna = make_staff("OPSSANNA", hours=EVERY_DAY)
    make_staff("OPSSBIEL", hours=EVERY_DAY)
    booking, _token = make_booking(begues, service, anna, madrid(working_days(1), 9))
    make_booking(gelida, service, anna, madrid(working_days(1), 10))
    db.session.commit()
    assert misfits.confirmed_misfits(clock.now()) == []
    limit(anna, gelida)
    found = misfits.confirmed_misfits(clock.now())
    assert [(m.booking_id, m.reason) for m in found] == [
        (booking.id, scheduling.Misfit.OTHER_TOWNS)
    ]
    coordinator(login)
    page = soup(client.get("/admin/horaris/").get_data(as_text=True))
    row = page.select_one(f'a[href="/espai/cites/{booking.id}"]').find_parent("tr")
    assert "La persona tècnica ja no atén aquest municipi" in row.get_text()


def test_a_phone_booking_for_begues_cannot_name_a_technician_of_gelida_only(
    client, login, towns, service
):
    gelida, begues = towns
    anna = make_staff("OPSSANNA", hours=EVERY_DAY)
    make_staff("OPSSJOAN", hours=EVERY_DAY)
    limit(anna, gelida)
    login("OPSSJOAN")
    slot = madrid(working_days(1), 9).isoformat()
    book_by_phone(client, begues.id, slot, name="Marta Soler", technician=anna.id)
    assert db.session.scalar(select(Booking).where(Booking.technician_id == anna.id)) is None


def test_rescheduling_a_begues_booking_offers_only_begues_technicians(client, towns, service):
    gelida, begues = towns
    day = working_days(1)
    anna = make_staff("OPSSANNA", hours={d: [(time(9), time(11))] for d in range(7)})
    joan = make_staff("OPSSJOAN", hours={d: [(time(16), time(18))] for d in range(7)})
    limit(anna, gelida)
    _booking, token = make_booking(begues, service, joan, madrid(day, 16))
    page = client.get(f"/cita/{token}/planifica?dia={day.isoformat()}").get_data(as_text=True)
    times = [tag["value"][11:16] for tag in soup(page).select('input[name="slot"]')]
    assert times == ["16:30", "17:00", "17:30"]


def test_the_town_costs_no_extra_query(app, towns, service):
    gelida, _ = towns
    for i in range(3):
        limit(make_staff(f"OPSST{i}", hours=EVERY_DAY), gelida)
    rules = booking_service.rules()
    assert service.duration  # loaded before counting
    town_id = gelida.id
    with counted_selects() as everyone:
        booking_service.open_slots(service, clock.now(), rules)
    with counted_selects() as one_town:
        booking_service.open_slots(service, clock.now(), rules, municipality_id=town_id)
    assert len(one_town) == len(everyone) == 3


def test_town_limits_say_the_same_as_the_slots_engine(app, towns, service):
    gelida, begues = towns
    anna = make_staff("OPSSANNA", hours=EVERY_DAY)
    joan = make_staff("OPSSJOAN", hours=EVERY_DAY)
    limit(anna, gelida)
    with counted_selects() as queries:
        limits = booking_service.town_limits()
    assert len(queries) == 1
    assert booking_service.serves_town(limits, anna.id, gelida.id)
    assert not booking_service.serves_town(limits, anna.id, begues.id)
    assert booking_service.serves_town(limits, joan.id, begues.id)
