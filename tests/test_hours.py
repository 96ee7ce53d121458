"""Opening hours and closures (coordinators): the real pages, forms and database.

Also the list of confirmed appointments that a change leaves outside the hours, and the
free times a citizen sees right after a change.
"""

from __future__ import annotations

from datetime import date
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from support.days import madrid
from support.days import today
from support.days import working_days
from support.factories import EVERY_DAY
from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.journey import Citizen
from support.queries import counted_selects
from umic import clock
from umic.casefiles.service import case_from_booking
from umic.core.scheduling import public_holidays
from umic.extensions import db
from umic.models import BookingStatus
from umic.models import Closure
from umic.models import OpeningHours
from umic.models import Role
from umic.models import StaffUser

MADRID = ZoneInfo("Europe/Madrid")
ADMIN_HOURS_ENDPOINTS = {
    "admin.hours",
    "admin.technician_hours",
    "admin.closures",
    "admin.delete_closure",
}


# --- helpers ----------------------------------------------------------------------------------


def coordinator(login) -> StaffUser:
    user = make_staff("OPSSCOORD", role=Role.COORDINATOR, name="Coordinadora Puig")
    login("OPSSCOORD")
    return user


def hours_of(user_id: int) -> dict[int, list[tuple[time, time]]]:
    rows = db.session.scalars(
        select(OpeningHours).where(OpeningHours.staff_id == user_id).order_by(OpeningHours.id)
    )
    week: dict[int, list[tuple[time, time]]] = {}
    for row in rows:
        week.setdefault(row.weekday, []).append((row.start_time, row.end_time))
    return {day: sorted(periods) for day, periods in week.items()}


def empty_week() -> dict[str, str]:
    return {
        f"d{day}_p{part}_{which}": ""
        for day in range(7)
        for part in (0, 1)
        for which in ("start", "end")
    }


def post_hours(client, user_id: int, values: dict[str, str]):
    url = f"/admin/horaris/{user_id}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(url, data={**empty_week(), **values, "csrf_token": token})


def post_closure(client, **values):
    """Review a closure and, if the preview comes, confirm it leaving every booking as it is
    (so the list of bookings that no longer fit shows them); returns the last response."""
    token = csrf_token(client.get("/admin/tancaments/").get_data(as_text=True))
    data = {"first_day": "", "last_day": "", "staff": "", "reason": "", **values}
    response = client.post("/admin/tancaments/", data={**data, "csrf_token": token})
    preview = soup(response.get_data(as_text=True)).select_one("form#closure-preview")
    if response.status_code != 200 or preview is None:
        return response
    fields = {
        box["name"]: box.get("value", "")
        for box in preview.select("input[name]")
        if box.get("type") != "radio"
    }
    fields.update(
        {radio["name"]: "leave" for radio in preview.select("input[type=radio][value=leave]")}
    )
    fields["message"] = fields.get("message") or "Tancat"
    return client.post(preview["action"], data=fields)


def banners(html: str) -> str:
    """The messages shown after an action (success or error banners), as one text."""
    return " ".join(p.get_text(" ", strip=True) for p in soup(html).select(".banner p"))


def outside_ids(html: str) -> list[int]:
    """The bookings listed under "Cites que queden fora de l'horari", in page order."""
    section = soup(html).select_one("section[aria-labelledby=fora-horari]")
    if section is None:
        return []
    return [int(row["id"].removeprefix("fora-")) for row in section.select("tbody tr")]


# --- Access -----------------------------------------------------------------------------------


def _rule_urls(app) -> list[tuple[str, str]]:
    samples = {"staff_id": 1, "closure_id": 1}
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ADMIN_HOURS_ENDPOINTS:
            url = rule.build({k: samples[k] for k in rule.arguments}, append_unknown=False)[1]
            for method in sorted(rule.methods & {"GET", "POST"}):
                found.append((method, url))
    return found


def test_a_technician_gets_403_on_every_hours_and_closures_route(app, client, login):
    make_staff("OPSSVEGAVN", hours=EVERY_DAY)
    db.session.add(Closure(day=working_days(), reason="Formació"))
    db.session.commit()
    routes = _rule_urls(app)
    assert {url for _, url in routes} == {
        "/admin/horaris/",
        "/admin/horaris/1",
        "/admin/tancaments/",
        "/admin/tancaments/1/esborra",
    }
    login("OPSSVEGAVN")
    token = csrf_token(client.get("/espai/").get_data(as_text=True))
    for method, url in routes:
        response = client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 403, (method, url, response.status_code)
    assert db.session.scalar(select(Closure.id)) is not None, "nothing was deleted"


def test_signed_out_visitors_are_sent_to_sign_in(app, client):
    # A valid form token, so what answers a POST is the sign-in check, not the CSRF check.
    token = csrf_token(client.get("/entra").get_data(as_text=True))
    for method, url in _rule_urls(app):
        response = client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code in (302, 303), (method, url)
        assert "/entra" in response.headers["Location"]


# --- Weekly hours -----------------------------------------------------------------------------


def test_hours_page_shows_each_active_persons_week_in_words(client, login):
    make_staff(
        "OPSSVEGAVN",
        name="Anna Vega",
        hours={0: [(time(9), time(14)), (time(15, 30), time(19))], 4: [(time(9), time(14))]},
    )
    away = make_staff("OPSSBAIXA", name="Baixa Definitiva", hours=EVERY_DAY)
    away.active = False
    db.session.commit()
    coordinator(login)

    page = soup(client.get("/admin/horaris/").get_data(as_text=True))
    header = [th.get_text(strip=True) for th in page.select("thead th")][1:8]
    assert header == [
        "Dilluns",
        "Dimarts",
        "Dimecres",
        "Dijous",
        "Divendres",
        "Dissabte",
        "Diumenge",
    ]
    rows = {
        row.th.get_text(" ", strip=True): [td.get_text(" ", strip=True) for td in row.select("td")]
        for row in page.select("tbody tr")
    }
    assert "Baixa Definitiva BAIXA" not in " ".join(rows)
    anna = rows["Anna Vega OPSSVEGAVN"]
    assert anna[0] == "09:00-14:00, 15:30-19:00"
    assert anna[4] == "09:00-14:00"
    assert anna[1].endswith("Sense horari")
    assert "Coordinadora Puig OPSSCOORD" in rows  # coordinators may have hours too
    link = page.select_one("a[href='/admin/horaris/1']")
    assert link is not None


def test_the_edit_form_shows_the_current_hours_in_labelled_time_boxes(client, login):
    user = make_staff("OPSSVEGAVN", hours={1: [(time(15, 30), time(19))], 0: [(time(9), time(14))]})
    coordinator(login)
    page = soup(client.get(f"/admin/horaris/{user.id}").get_data(as_text=True))
    legends = [legend.get_text(strip=True) for legend in page.select("form legend.legend")]
    assert legends[0] == "Dilluns" and len(legends) == 7
    monday = page.select("form > fieldset")[0]
    assert [lg.get_text(strip=True) for lg in monday.select("legend.legend-small")] == [
        "Matí",
        "Tarda",
    ]
    start = page.select_one("#d0_p0_start")
    assert (start["type"], start["step"], start["value"]) == ("time", "300", "09:00")
    assert page.select_one("label[for=d0_p0_start]").get_text(strip=True) == "Inici"
    assert page.select_one("label[for=d0_p0_end]").get_text(strip=True) == "Final"
    assert page.select_one("#d0_p0_end")["value"] == "14:00"
    assert page.select_one("#d1_p0_start")["value"] == "15:30"
    assert not page.select_one("#d0_p1_start").get("value")


def test_a_day_with_more_than_two_stored_periods_is_pointed_out(client, login):
    three = [(time(8), time(10)), (time(11), time(13)), (time(16), time(18))]
    user = make_staff("OPSSVEGAVN", hours={2: three, 3: three[:2]})
    coordinator(login)
    page = soup(client.get(f"/admin/horaris/{user.id}").get_data(as_text=True))
    notes = [p.get_text(" ", strip=True) for p in page.select(".banner p")]
    assert len(notes) == 1 and "aquests dies: Dimecres." in notes[0]
    assert [page.select_one(f"#d2_p{n}_start")["value"] for n in (0, 1)] == ["08:00", "11:00"]


def test_saving_replaces_all_of_a_persons_hours_at_once(client, login):
    user = make_staff("OPSSVEGAVN", hours=EVERY_DAY)
    other = make_staff("OPSSALTRE", hours=EVERY_DAY)
    coordinator(login)
    response = post_hours(
        client,
        user.id,
        {
            "d0_p0_start": "09:00", "d0_p0_end": "14:00",
            "d0_p1_start": "15:30", "d0_p1_end": "19:00",
            "d2_p1_start": "16:00", "d2_p1_end": "18:30",
            "d3_p0_start": "15:00", "d3_p0_end": "17:00",  # an afternoon typed as "matí"
            "d3_p1_start": "09:00:00", "d3_p1_end": "12:00",  # seconds, as some browsers send
        },
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/horaris/"
    assert hours_of(user.id) == {
        0: [(time(9), time(14)), (time(15, 30), time(19))],
        2: [(time(16), time(18, 30))],
        3: [(time(9), time(12)), (time(15), time(17))],
    }
    assert hours_of(other.id) == {
        day: [(time(9), time(14)), (time(15, 30), time(19))] for day in range(7)
    }
    page = client.get("/admin/horaris/").get_data(as_text=True)
    assert banners(page) == f"S'ha desat l'horari de {user.name}."


def test_clearing_every_box_leaves_the_person_without_hours(client, login):
    user = make_staff("OPSSVEGAVN", hours=EVERY_DAY)
    coordinator(login)
    assert post_hours(client, user.id, {}).status_code == 303
    assert hours_of(user.id) == {}


INVALID_HOURS = [
    ({"d0_p0_start": "09:00"}, "d0_p0_end", "Dilluns, matí: escriviu l'hora de final"),
    ({"d1_p1_end": "19:00"}, "d1_p1_start", "Dimarts, tarda: escriviu l'hora d'inici"),
    (
        {"d2_p0_start": "14:00", "d2_p0_end": "09:00"},
        "d2_p0_end",
        "Dimecres, matí: l'hora de final ha de ser posterior a la d'inici",
    ),
    (
        {"d3_p0_start": "10:00", "d3_p0_end": "10:00"},
        "d3_p0_end",
        "Dijous, matí: l'hora de final ha de ser posterior a la d'inici",
    ),
    (
        {"d4_p0_start": "09:03", "d4_p0_end": "14:00"},
        "d4_p0_start",
        "Divendres, matí: l'hora d'inici ha de ser un múltiple de 5 minuts",
    ),
    (
        {"d5_p1_start": "15:30", "d5_p1_end": "18:58"},
        "d5_p1_end",
        "Dissabte, tarda: l'hora de final ha de ser un múltiple de 5 minuts",
    ),
    (
        {
            "d6_p0_start": "09:00",
            "d6_p0_end": "14:00",
            "d6_p1_start": "13:00",
            "d6_p1_end": "19:00",
        },
        "d6_p1_start",
        "Diumenge, tarda: coincideix amb el matí",
    ),
    (
        {"d0_p0_start": "nou", "d0_p0_end": "14:00"},
        "d0_p0_start",
        "Dilluns, matí: escriviu l'hora d'inici amb el format HH:MM",
    ),
    (
        {"d0_p0_start": "09:00", "d0_p0_end": "25:00"},
        "d0_p0_end",
        "Dilluns, matí: escriviu l'hora de final amb el format HH:MM",
    ),
]


@pytest.mark.parametrize(
    ("values", "box", "message"),
    INVALID_HOURS,
    ids=[
        "no-end", "no-start", "end-before-start", "empty-period", "start-not-5-min",
        "end-not-5-min", "overlap", "not-a-time", "no-such-hour",
    ],
)  # fmt: skip
def test_each_invalid_period_is_explained_beside_its_box_and_in_the_summary(
    client, login, values, box, message
):
    user = make_staff("OPSSVEGAVN", hours=EVERY_DAY)
    coordinator(login)
    response = post_hours(client, user.id, {"d1_p0_start": "09:00", "d1_p0_end": "14:00", **values})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = soup(html)
    assert page.title.get_text().startswith("Error: Horari de")
    assert len(error_messages(html)) == 1
    assert error_messages(html)[0].startswith(message)
    assert summary_links(html) == [(f"#{box}", error_messages(html)[0])]
    # Beside the box: in the same field, which says it is invalid and points at the message.
    wrong = page.select_one(f"#{box}")
    assert wrong["aria-invalid"] == "true"
    assert f"{box}-error" in wrong["aria-describedby"]
    assert wrong.find_parent(class_="field-error").select_one(".error-message") is not None
    # What was typed stays, and nothing was saved.
    for name, value in values.items():
        assert page.select_one(f"#{name}").get("value", "") == value
    assert hours_of(user.id) == {
        day: [(time(9), time(14)), (time(15, 30), time(19))] for day in range(7)
    }


def test_several_mistakes_are_all_reported_in_form_order(client, login):
    user = make_staff("OPSSVEGAVN")
    coordinator(login)
    response = post_hours(
        client,
        user.id,
        {
            "d4_p0_start": "09:00",
            "d0_p1_end": "19:00",
            "d0_p0_start": "9h",
            "d0_p0_end": "8:00",
            "d2_p0_start": "9:03",  # readable but not on 5 minutes, beside an unreadable end
            "d2_p0_end": "tard",
        },
    )
    html = response.get_data(as_text=True)
    assert [href for href, _ in summary_links(html)] == [
        "#d0_p0_start",
        "#d0_p1_start",
        "#d2_p0_start",
        "#d2_p0_end",
        "#d4_p0_end",
    ]
    # Readable times come back as HH:MM, which a time box can show; the rest as typed.
    page = soup(html)
    assert page.select_one("#d0_p0_end")["value"] == "08:00"
    assert page.select_one("#d2_p0_start")["value"] == "09:03"
    assert page.select_one("#d0_p0_start")["value"] == "9h"


def test_an_unknown_person_is_404(client, login):
    coordinator(login)
    assert client.get("/admin/horaris/999").status_code == 404


def test_new_hours_change_the_times_a_citizen_sees_at_once(client, app, login):
    world = make_world(technicians=1, hours={})
    citizen = Citizen(app.test_client())
    assert citizen.days() == []

    coordinator(login)
    every_morning = {}
    for day in range(7):
        every_morning[f"d{day}_p0_start"] = "10:00"
        every_morning[f"d{day}_p0_end"] = "11:00"
    assert post_hours(client, world.technicians[0].id, every_morning).status_code == 303

    day = working_days()
    assert day.isoformat() in citizen.days()
    times = [value[11:16] for value in citizen.slots(day.isoformat())]
    assert times == ["10:00", "10:30"]

    # Narrower again: the 10:30 time disappears at once.
    every_morning = {k: ("10:30" if k.endswith("_end") else v) for k, v in every_morning.items()}
    assert post_hours(client, world.technicians[0].id, every_morning).status_code == 303
    assert [value[11:16] for value in citizen.slots(day.isoformat())] == ["10:00"]


# --- Closures and absences --------------------------------------------------------------------


def closures_in_db() -> list[tuple[date, int | None, str]]:
    rows = db.session.execute(
        select(Closure.day, Closure.staff_id, Closure.reason).order_by(
            Closure.day, Closure.staff_id
        )
    )
    return [tuple(row) for row in rows]


def test_a_single_day_closure_of_the_service(client, login):
    make_staff("OPSSVEGAVN", hours=EVERY_DAY)
    coordinator(login)
    day = working_days()
    response = post_closure(client, first_day=day.isoformat(), reason="Formació de l'equip")
    assert response.status_code == 303
    assert closures_in_db() == [(day, None, "Formació de l'equip")]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert banners(page) == "S'ha afegit 1 dia de tancament del servei."
    page = client.get("/admin/tancaments/").get_data(as_text=True)
    row = soup(page).select_one("tr.closure-closure")
    assert "Tot el servei tancat" in row.get_text()
    assert "Formació de l'equip" in row.get_text()
    assert row.select_one("form button") is not None


def test_a_range_adds_one_row_per_day_and_skips_days_already_closed(client, login):
    coordinator(login)
    first = working_days()
    db.session.add(Closure(day=first + timedelta(days=2), reason="Ja hi era"))
    db.session.commit()
    response = post_closure(
        client,
        first_day=first.strftime("%d/%m/%Y"),  # typed by hand where there is no date picker
        last_day=(first + timedelta(days=4)).isoformat(),
        reason="Vacances",
    )
    assert response.status_code == 303
    days = [day for day, staff, _ in closures_in_db() if staff is None]
    assert days == [first + timedelta(days=n) for n in range(5)]
    page = client.get("/admin/tancaments/").get_data(as_text=True)
    assert banners(page) == "S'han afegit 4 dies de tancament del servei."


def test_an_absence_closes_one_persons_days_only(client, login):
    anna = make_staff("OPSSVEGAVN", name="Anna Vega", hours=EVERY_DAY)
    make_staff("OPSSALTRE", hours=EVERY_DAY)
    coordinator(login)
    first = working_days()
    response = post_closure(
        client,
        first_day=first.isoformat(),
        last_day=(first + timedelta(days=1)).isoformat(),
        staff=str(anna.id),
        reason="Vacances",
    )
    assert response.status_code == 303
    assert closures_in_db() == [
        (first, anna.id, "Vacances"),
        (first + timedelta(days=1), anna.id, "Vacances"),
    ]
    page = client.get("/admin/tancaments/").get_data(as_text=True)
    assert banners(page) == "S'han afegit 2 dies d'absència de Anna Vega."
    rows = soup(page).select("tr.closure-absence")
    assert len(rows) == 2 and "Absència: Anna Vega" in rows[0].get_text()


def test_the_person_list_offers_the_whole_service_and_each_active_person(client, login):
    make_staff("OPSSVEGAVN", name="Anna Vega")
    away = make_staff("OPSSBAIXA", name="Baixa")
    away.active = False
    db.session.commit()
    coordinator(login)
    page = soup(client.get("/admin/tancaments/").get_data(as_text=True))
    options = [option.get_text(strip=True) for option in page.select("#staff option")]
    assert options == [
        "Tot el servei (tancament)",
        "Anna Vega (OPSSVEGAVN)",
        "Coordinadora Puig (OPSSCOORD)",
    ]
    assert page.select_one("#first_day")["type"] == "date"


def test_deleting_a_closure_removes_that_day_only(client, login):
    coordinator(login)
    day = working_days()
    keep = Closure(day=day + timedelta(days=1), reason="Queda")
    gone = Closure(day=day, reason="S'esborra")
    db.session.add_all([keep, gone])
    db.session.commit()
    gone_id = gone.id
    page = client.get("/admin/tancaments/").get_data(as_text=True)
    form = soup(page).select_one(f"form[action='/admin/tancaments/{gone_id}/esborra']")
    assert form is not None and form["method"] == "post"
    response = client.post(form["action"], data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert [reason for _, _, reason in closures_in_db()] == ["Queda"]
    assert banners(client.get("/admin/tancaments/").get_data(as_text=True)).startswith(
        "S'ha esborrat el tancament del "
    )
    assert client.post(form["action"], data={"csrf_token": csrf_token(page)}).status_code == 404


def test_deleting_without_the_form_token_is_refused(client, login):
    coordinator(login)
    closure = Closure(day=working_days(), reason="Formació")
    db.session.add(closure)
    db.session.commit()
    response = client.post(f"/admin/tancaments/{closure.id}/esborra")
    assert response.status_code == 400
    assert len(closures_in_db()) == 1


def test_public_holidays_are_listed_as_automatic_and_cannot_be_deleted(client, login):
    coordinator(login)
    page = soup(client.get("/admin/tancaments/").get_data(as_text=True))
    holidays = page.select("tr.closure-holiday")
    upcoming = [
        day
        for day in public_holidays([today().year, today().year + 1], "ES", "CT")
        if today() <= day <= today() + timedelta(days=365)
    ]
    assert len(holidays) == len(upcoming) > 5
    assert all("Festiu oficial" in row.get_text() for row in holidays)
    assert all("Automàtic" in row.get_text() for row in holidays)
    assert all(row.select_one("form") is None for row in holidays)
    names = " ".join(row.get_text() for row in holidays)
    assert "Sant Esteve" in names or "Diada" in names or "Sant Joan" in names


def test_closures_before_today_are_not_listed(client, login):
    coordinator(login)
    db.session.add(Closure(day=today() - timedelta(days=1), reason="Ahir"))
    db.session.add(Closure(day=today(), reason="Avui"))
    db.session.commit()
    text = client.get("/admin/tancaments/").get_data(as_text=True)
    assert "Avui" in text and "Ahir" not in text


INVALID_CLOSURES = [
    ({}, "first_day", "Escriviu el primer dia"),
    ({"first_day": "31/02/2027"}, "first_day", "Escriviu una data real"),
    ({"first_day": "demà"}, "first_day", "Escriviu una data real"),
    ({"first_day": "__yesterday__"}, "first_day", "El primer dia ha de ser avui o més endavant"),
    (
        {"first_day": "__day__", "last_day": "__day_before__"},
        "last_day",
        "L'últim dia ha de ser el mateix que el primer o posterior",
    ),
    (
        {"first_day": "__day__", "last_day": "__day_plus_400__"},
        "last_day",
        "Podeu afegir com a màxim 366 dies de cop",
    ),
    ({"first_day": "__day__", "staff": "999"}, "staff", "Trieu una persona de la llista"),
    ({"first_day": "__day__", "staff": "x"}, "staff", "Trieu una persona de la llista"),
    ({"first_day": "__day__", "staff": "²"}, "staff", "Trieu una persona de la llista"),
    ({"first_day": "__day__", "staff": "9" * 20}, "staff", "Trieu una persona de la llista"),
    ({"first_day": "__day__", "reason": "x" * 201}, "reason", "El motiu ha de tenir 200 caràcters"),
]


@pytest.mark.parametrize(
    ("values", "box", "message"),
    INVALID_CLOSURES,
    ids=[
        "no-day", "no-such-date", "not-a-date", "in-the-past", "range-backwards",
        "range-too-long", "unknown-person", "garbage-person", "superscript-person",
        "huge-person", "reason-too-long",
    ],
)  # fmt: skip
def test_each_invalid_closure_is_explained_beside_its_field(client, login, values, box, message):
    coordinator(login)
    day = working_days()
    replacements = {
        "__day__": day.isoformat(),
        "__yesterday__": (today() - timedelta(days=1)).isoformat(),
        "__day_before__": (day - timedelta(days=1)).isoformat(),
        "__day_plus_400__": (day + timedelta(days=400)).isoformat(),
    }
    values = {key: replacements.get(value, value) for key, value in values.items()}
    response = post_closure(client, **values)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = soup(html)
    assert page.title.get_text().startswith("Error: Tancaments")
    assert [m[: len(message)] for m in error_messages(html)] == [message]
    assert summary_links(html)[0][0] == f"#{box}"
    assert page.select_one(f"#{box}")["aria-invalid"] == "true"
    if box != "staff":
        assert page.select_one(f"#{box}").get("value", "") == values.get(box, "")
    assert closures_in_db() == []


# --- Appointments left outside the hours ------------------------------------------------------


@pytest.fixture
def booked(client, login):
    """Two technicians open every day; confirmed calls on a working day, and others."""
    world = make_world(technicians=2)
    anna, bernat = world.technicians
    day = working_days(2)  # it and the next day are open: "anna_next_16" must fit too
    make = lambda tech, when, **kw: make_booking(world.town, world.service, tech, when, **kw)[0]  # noqa: E731
    bookings = {
        "anna_10": make(anna, madrid(day, 10), citizen_name="Laia Ferrer"),
        "anna_16": make(anna, madrid(day, 16), citizen_name="Pau Soler"),
        "bernat_16": make(bernat, madrid(day, 16), citizen_name="Marta Riera"),
        "anna_next_16": make(anna, madrid(day + timedelta(days=1), 16)),
        "anna_16_cancelled": make(
            anna, madrid(day, 16, 30), status=BookingStatus.CANCELLED, citizen_name="Anul·lada"
        ),
        "anna_past_16": make(anna, madrid(today() - timedelta(days=2), 16)),
    }
    coordinator(login)
    return world, day, {name: booking.id for name, booking in bookings.items()}


def mornings_only() -> dict[str, str]:
    return {
        f"d{day}_p0_{which}": value
        for day in range(7)
        for which, value in (("start", "09:00"), ("end", "14:00"))
    }


def test_nothing_is_listed_while_every_booking_fits(client, booked):
    html = client.get("/admin/horaris/").get_data(as_text=True)
    assert "Cites que queden fora de l'horari" not in soup(html).get_text()
    assert outside_ids(html) == []


def test_reducing_hours_lists_exactly_the_bookings_left_outside(client, booked):
    world, day, ids = booked
    anna = world.technicians[0]
    response = post_hours(client, anna.id, mornings_only())
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert soup(html).select_one("#fora-horari").get_text() == "Cites que queden fora de l'horari"
    assert outside_ids(html) == [ids["anna_16"], ids["anna_next_16"]]
    row = soup(html).select_one(f"#fora-{ids['anna_16']}").get_text(" ", strip=True)
    assert "Pau Soler" in row and "Gelida" in row and "Fora de l'horari" in row
    assert "16:00-16:30" in row and str(day.day) in row
    # The person's own page lists theirs too; the other technician's page lists none.
    own = client.get(f"/admin/horaris/{anna.id}").get_data(as_text=True)
    assert outside_ids(own) == [ids["anna_16"], ids["anna_next_16"]]
    other = client.get(f"/admin/horaris/{world.technicians[1].id}").get_data(as_text=True)
    assert outside_ids(other) == []


def test_an_absence_lists_that_persons_bookings_of_that_day(client, booked):
    world, day, ids = booked
    anna = world.technicians[0]
    response = post_closure(client, first_day=day.isoformat(), staff=str(anna.id))
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert outside_ids(html) == [ids["anna_10"], ids["anna_16"]]
    assert "Absència del tècnic o la tècnica" in html


def test_a_closure_of_the_service_lists_every_booking_of_that_day(client, booked):
    _world, day, ids = booked
    response = post_closure(client, first_day=day.isoformat(), reason="Vaga")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert sorted(outside_ids(html)) == sorted([ids["anna_10"], ids["anna_16"], ids["bernat_16"]])
    assert "Servei tancat aquell dia" in html
    # Deleting the closure clears the list again.
    closure_ids = db.session.scalars(select(Closure.id)).all()
    page = client.get("/admin/tancaments/").get_data(as_text=True)
    client.post(
        f"/admin/tancaments/{closure_ids[0]}/esborra", data={"csrf_token": csrf_token(page)}
    )
    assert outside_ids(client.get("/admin/tancaments/").get_data(as_text=True)) == []


def test_the_list_links_to_the_case_file_when_the_booking_has_one(client, app, booked):
    world, _day, ids = booked
    from umic.models import Booking

    booking = db.session.get(Booking, ids["anna_16"])
    case = case_from_booking(booking, actor=None, now=clock.now())
    db.session.commit()
    db.session.execute(
        OpeningHours.__table__.delete().where(OpeningHours.staff_id == world.technicians[0].id)
    )
    db.session.commit()
    page = soup(client.get("/admin/horaris/").get_data(as_text=True))
    to_booking, to_case = page.select(f"#fora-{ids['anna_16']} a")
    assert to_case["href"] == f"/espai/expedients/{case.id}"
    assert "Obre l'expedient" in to_case.get_text()
    assert "Obre la cita" in to_booking.get_text()
    (other,) = page.select(f"#fora-{ids['anna_10']} a")
    assert other["href"] == f"/espai/cites/{ids['anna_10']}"  # each booking opens itself
    assert to_booking["href"] == f"/espai/cites/{ids['anna_16']}"


def test_the_list_costs_the_same_queries_for_one_or_many_bookings(client, booked):
    world, day, _ids = booked
    anna = world.technicians[0]
    post_hours(client, anna.id, mornings_only())
    with counted_selects() as few:
        client.get("/admin/horaris/")
    for n in range(1, 15):
        make_booking(world.town, world.service, anna, madrid(day + timedelta(days=n), 17))
    with counted_selects() as many:
        html = client.get("/admin/horaris/").get_data(as_text=True)
    assert len(outside_ids(html)) > 14
    assert len(many) == len(few), many
