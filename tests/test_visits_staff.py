"""The mobile unit's visits on the staff side: planning them (/admin/visites/), the
technician's visit page and the people seen (/espai/visites/), the agenda, and the
statistics' rules for the mailbox and UMIC records (the pure planning rules are in
``tests/unit/test_visit_plan.py``).

The clock is frozen on fixed days (one of them the spring daylight-saving change), so no
test depends on today's date.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from support.factories import make_booking
from support.factories import make_service
from support.factories import make_staff
from support.factories import make_town
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.queries import counted_selects
from umic import clock
from umic.casefiles.service import case_from_booking
from umic.casefiles.service import create_case
from umic.core.periods import Period
from umic.extensions import db
from umic.models import Booking
from umic.models import BookingStatus
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import Channel
from umic.models import ChannelCount
from umic.models import Role
from umic.models import UmicVisit
from umic.models import VisitStatus
from umic.stats.requests import requests_by_month
from umic.stats.requests import requests_by_town

MADRID = ZoneInfo("Europe/Madrid")


def madrid(year, month, day, hour=10, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


def post_form(client, url: str, data: dict, page_url: str | None = None):
    token = csrf_token(client.get(page_url or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def sign_out(client) -> None:
    token = csrf_token(client.get("/espai/").get_data(as_text=True))
    assert client.post("/surt", data={"csrf_token": token}).status_code in (302, 303)


def visit_form(town, technician, day="2026-03-29", start="10:00", end="13:00", **extra) -> dict:
    return {
        "town": str(town.id),
        "technician": str(technician.id),
        "day": day,
        "start": start,
        "end": end,
        "place": "Plaça de la Vila",
        "place_details": "La furgoneta blava",
        "slot_minutes": "20",
        "bookable": "y",
        "notes": "",
        **extra,
    }


@pytest.fixture
def team(app):
    clock.freeze(madrid(2026, 3, 23, 9))  # Monday 23 March 2026
    town = make_town("Gelida", "08091")
    other = make_town("Begues", "08020", comarca="Baix Llobregat")
    service = make_service()
    tech = make_staff("OPSSVEGAVN", name="Tècnica Vega")
    colleague = make_staff("OPSSAPRESGA", name="Tècnic Prats")
    boss = make_staff("OPSSCOORD", role=Role.COORDINATOR, name="Coordinadora Puig")
    return {
        "town": town,
        "other": other,
        "service": service,
        "tech": tech,
        "colleague": colleague,
        "boss": boss,
    }


def add_visit(team, start: datetime, end: datetime, technician=None, **values) -> UmicVisit:
    visit = UmicVisit(
        municipality_id=team["town"].id,
        technician_id=(technician or team["tech"]).id,
        start_utc=start,
        end_utc=end,
        place="Plaça de la Vila",
        **values,
    )
    db.session.add(visit)
    db.session.commit()
    return visit


# --- Planning (coordinators) ------------------------------------------------------------------


def test_planning_a_visit_checks_times_overlaps_holidays_and_its_appointments(client, login, team):
    login("OPSSVEGAVN")
    assert client.get("/admin/visites/").status_code == 403
    assert client.get("/admin/visites/nova").status_code == 403
    sign_out(client)
    login("OPSSCOORD")
    tech, town = team["tech"], team["town"]

    # Sunday 29 March 2026, the clocks go forward at 02:00: 10:00 is 08:00 UTC, and 02:30
    # does not exist.
    response = post_form(client, "/admin/visites/nova", visit_form(town, tech, start="02:30"))
    assert response.status_code == 200
    assert any("canvi d'hora" in message for message in error_messages(response.get_data(True)))
    response = post_form(
        client, "/admin/visites/nova", visit_form(town, tech, start="13:00", end="10:00")
    )
    assert "L'hora d'acabament ha de ser posterior a la d'inici" in error_messages(
        response.get_data(True)
    )
    response = post_form(
        client, "/admin/visites/nova", visit_form(town, tech, slot_minutes="17", place="")
    )
    messages = error_messages(response.get_data(True))
    assert any("múltiple de 5" in message for message in messages)
    assert any("lloc" in message for message in messages)
    assert db.session.scalar(select(UmicVisit.id)) is None

    response = post_form(client, "/admin/visites/nova", visit_form(town, tech))
    assert response.status_code == 303, response.get_data(True)
    visit = db.session.scalar(select(UmicVisit))
    assert (visit.start_utc, visit.end_utc) == (
        datetime(2026, 3, 29, 8, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 11, 0, tzinfo=UTC),
    )
    assert visit.bookable and visit.slot_minutes == 20 and visit.created_by_id == team["boss"].id

    # Another visit of the same technician at an overlapping time: refused, named.
    response = post_form(
        client, "/admin/visites/nova", visit_form(team["other"], tech, start="12:00", end="14:00")
    )
    html = response.get_data(True)
    assert response.status_code == 200
    assert "ja té una visita a Gelida" in soup(html).select_one("#problemes").get_text()
    # A confirmed video call of hers that day: refused, with the citizen's name.
    make_booking(team["other"], team["service"], tech, madrid(2026, 3, 30, 11))
    response = post_form(
        client, "/admin/visites/nova", visit_form(team["other"], tech, day="2026-03-30")
    )
    assert "Raúl Sánchez" in soup(response.get_data(True)).select_one("#problemes").get_text()
    assert db.session.query(UmicVisit).count() == 1

    # A public holiday (Easter Monday, 6 April 2026): a warning first, then saved.
    form = visit_form(team["other"], tech, day="2026-04-06")
    response = post_form(client, "/admin/visites/nova", form)
    assert response.status_code == 200
    assert "festiu" in soup(response.get_data(True)).select_one("#avisos").get_text()
    assert db.session.query(UmicVisit).count() == 1
    warned = soup(response.get_data(True)).select_one("input[name=accepta_avis]")["value"]
    response = post_form(client, "/admin/visites/nova", {**form, "accepta_avis": warned})
    assert response.status_code == 303

    # The list: the month of the visit, with its in-person appointments counted.
    make_booking(
        town,
        team["service"],
        tech,
        madrid(2026, 3, 29, 10, 20),
        visit_id=visit.id,
        video_link="",
        citizen_name="Marta Puig",
    )
    with counted_selects() as one_visit:
        html = client.get("/admin/visites/?dia=2026-03-29").get_data(True)
    item = soup(html).select_one(f"#visita-{visit.id}")
    assert "Gelida" in item.get_text() and "1 cita presencial" in item.get_text()
    add_visit(team, madrid(2026, 3, 31, 10), madrid(2026, 3, 31, 12), technician=team["colleague"])
    with counted_selects() as two_visits:
        html = client.get("/admin/visites/?dia=2026-03-29").get_data(True)
    assert len(two_visits) == len(one_visit)
    html = client.get(f"/admin/visites/?dia=2026-03-29&tecnic={team['colleague'].id}")
    assert f"visita-{visit.id}" not in html.get_data(True)
    html = client.get("/admin/visites/?dia=2026-03-29&comarca=Baix+Llobregat").get_data(True)
    assert f"visita-{visit.id}" not in html
    # Past visits are reachable: the previous month from April.
    assert f"visita-{visit.id}" in client.get("/admin/visites/?dia=2026-03-01").get_data(True)

    # Editing: the 10:20 appointment would fall outside 11:00-13:00, so nothing is saved.
    url = f"/admin/visites/{visit.id}"
    response = post_form(client, url, visit_form(town, tech, start="11:00"))
    assert "Marta Puig" in soup(response.get_data(True)).select_one("#problemes").get_text()
    db.session.refresh(visit)
    assert visit.start_utc == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    response = post_form(client, url, visit_form(town, team["colleague"]))
    assert "persona tècnica" in soup(response.get_data(True)).select_one("#problemes").get_text()
    response = post_form(client, url, visit_form(town, tech, end="14:00", place="Sala de plens"))
    assert response.status_code == 303
    db.session.refresh(visit)
    assert visit.place == "Sala de plens" and visit.end_utc.hour == 12  # 14:00 CEST

    # Cancelling: a confirmation page, then the visit and its appointment are cancelled.
    page = client.get(f"/admin/visites/{visit.id}/anulla").get_data(True)
    assert "Marta Puig" in soup(page).select_one("#cites-afectades").get_text()
    response = post_form(client, f"/admin/visites/{visit.id}/anulla", {"reason": ""})
    assert response.status_code == 200 and error_messages(response.get_data(True))
    response = post_form(
        client, f"/admin/visites/{visit.id}/anulla", {"reason": "La furgoneta és al taller."}
    )
    assert response.status_code == 303
    db.session.refresh(visit)
    assert visit.status == VisitStatus.CANCELLED
    booking = db.session.scalar(select(Booking).where(Booking.visit_id == visit.id))
    assert booking.status == BookingStatus.CANCELLED


# --- The technician's visit page --------------------------------------------------------------


def test_the_visit_page_records_people_seen_as_umic_cases(client, login, team):
    tech, town = team["tech"], team["town"]
    visit = add_visit(team, madrid(2026, 3, 23, 8, 30), madrid(2026, 3, 23, 13))
    booking, _token = make_booking(
        town,
        team["service"],
        tech,
        madrid(2026, 3, 23, 8, 40),
        visit_id=visit.id,
        video_link="",
        citizen_name="Jordi Soler",
        description="Una factura de la llum",
    )
    login("OPSSAPRESGA")  # a colleague reads the visit but records nobody
    url = f"/espai/visites/{visit.id}"
    assert client.get(url).status_code == 200
    assert post_form(client, url, {"case_type": "consulta"}).status_code == 403
    assert f"visita-{visit.id}" not in client.get("/espai/visites/").get_data(True)

    sign_out(client)
    login("OPSSVEGAVN")
    assert f"visita-{visit.id}" in client.get("/espai/visites/").get_data(True)
    html = client.get(url).get_data(True)
    row = soup(html).select_one(f"#cita-{booking.id}")
    assert "Jordi Soler" in row.get_text() and "Una factura de la llum" in row.get_text()

    # A question answered on the spot: resolved, no name needed.
    response = post_form(
        client,
        url,
        {"case_type": "consulta", "sector": "TELECOM", "company": "Operadora", "status": ""},
    )
    assert response.status_code == 303
    case = db.session.scalar(select(CaseFile).where(CaseFile.visit_id == visit.id))
    assert (case.channel, case.municipality_id, case.assigned_to_id) == (
        Channel.UMIC,
        town.id,
        tech.id,
    )
    assert case.status == CaseStatus.RESOLT and case.resolved_at == clock.now()
    assert case.requested_at == clock.now() and case.number and case.events[0].kind == "created"
    # Bad input: the form again with the error beside the field, nothing saved.
    response = post_form(client, url, {"case_type": "queixa", "interested_email": "no"})
    assert response.status_code == 422 and error_messages(response.get_data(True))
    # Recorded after the visit: the request belongs to the visit (its end).
    clock.freeze(madrid(2026, 3, 23, 14))
    login("OPSSVEGAVN")  # idle for hours: signed in again
    response = post_form(client, url, {"case_type": "reclamacio", "interested_name": "Anna Vila"})
    assert response.status_code == 303, error_messages(response.get_data(True))
    later = db.session.scalar(select(CaseFile).where(CaseFile.interested_name == "Anna Vila"))
    assert later.status == CaseStatus.EN_TRAMIT and later.requested_at == visit.end_utc
    listed = soup(client.get(url).get_data(True)).select_one("#llista-ateses").get_text()
    assert case.number in listed and later.number in listed

    # The in-person appointment: marked attended with the agenda's action, and its case
    # opened from the visit page is a UMIC case of the visit.
    token = csrf_token(client.get(url).get_data(True))
    response = client.post(
        f"/espai/cites/{booking.id}/estat",
        data={"csrf_token": token, "status": "attended", "next": url},
    )
    assert response.status_code == 303 and response.headers["Location"] == url
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.ATTENDED
    response = client.post(f"/espai/cites/{booking.id}/expedient", data={"csrf_token": token})
    assert response.status_code == 303
    opened = db.session.scalar(select(CaseFile).where(CaseFile.booking_id == booking.id))
    assert (opened.channel, opened.visit_id) == (Channel.UMIC, visit.id)


def test_the_agenda_shows_the_days_visits_in_one_more_query(client, login, team):
    tech = team["tech"]
    login("OPSSVEGAVN")
    with counted_selects() as none:
        client.get("/espai/?dia=2026-03-23&vista=setmana")
    first = add_visit(team, madrid(2026, 3, 24, 10), madrid(2026, 3, 24, 13))
    add_visit(team, madrid(2026, 3, 26, 10), madrid(2026, 3, 26, 13))
    add_visit(team, madrid(2026, 3, 27, 10), madrid(2026, 3, 27, 13), technician=team["colleague"])
    with counted_selects() as some:
        html = client.get("/espai/?dia=2026-03-23&vista=setmana").get_data(True)
    assert len(some) <= len(none) + 1
    items = soup(html).select(".agenda-visit")
    assert len(items) == 2  # hers, not her colleague's
    title = items[0].select_one("h3 a")
    assert title["href"] == f"/espai/visites/{first.id}"
    text = " ".join(title.get_text().split())
    assert text.startswith("Visita UMIC · Gelida · 10:00") and "Plaça de la Vila" in text
    assert tech.id == first.technician_id


# --- Statistics -------------------------------------------------------------------------------


def test_mailbox_and_umic_records_count_and_replace_the_hand_counts(app, team):
    town, tech, service = team["town"], team["tech"], team["service"]
    visit = add_visit(team, madrid(2026, 1, 20, 10), madrid(2026, 1, 20, 13))
    # January 2026: a video call attended (telemàtica), an in-person appointment attended
    # with its case (UMIC, once), another attended without a case (not counted: only people
    # seen, through their case files), a person seen, and two mailbox messages.
    make_booking(town, service, tech, madrid(2026, 1, 21, 16), status=BookingStatus.ATTENDED)
    in_person, _ = make_booking(
        town,
        service,
        tech,
        madrid(2026, 1, 20, 10),
        status=BookingStatus.ATTENDED,
        visit_id=visit.id,
        video_link="",
    )
    make_booking(
        town,
        service,
        tech,
        madrid(2026, 1, 20, 10, 40),
        status=BookingStatus.ATTENDED,
        visit_id=visit.id,
        video_link="",
    )
    case_from_booking(in_person, actor=tech, now=madrid(2026, 1, 20, 11))
    for channel, when in [
        (Channel.UMIC, madrid(2026, 1, 20, 12)),
        (Channel.BUSTIA, madrid(2026, 1, 5)),
        (Channel.BUSTIA, madrid(2026, 1, 31, 23, 30)),  # 31 January, Madrid time
    ]:
        extra = {"visit_id": visit.id} if channel == Channel.UMIC else {}
        create_case(
            {"municipality_id": town.id, "channel": channel, "requested_at": when, **extra},
            actor=None,
            now=when,
        )
    # Hand counts: January's UMIC and mailbox (another town too) are ignored, the app holds
    # their records; December's, a month with no records, still count.
    for month, channel, count, where in [
        (date(2026, 1, 1), Channel.UMIC, 5, town),
        (date(2026, 1, 1), Channel.BUSTIA, 3, team["other"]),
        (date(2025, 12, 1), Channel.UMIC, 4, town),
        (date(2025, 12, 1), Channel.BUSTIA, 2, team["other"]),
    ]:
        db.session.add(
            ChannelCount(month=month, municipality_id=where.id, channel=channel, count=count)
        )
    db.session.commit()

    january = Period(date(2026, 1, 1), date(2026, 1, 31))
    by_town = requests_by_town(january, MADRID)
    assert by_town[town.id] == {"telematica": 1, "bustia": 2, "umic": 2}
    assert team["other"].id not in by_town
    both = Period(date(2025, 12, 1), date(2026, 1, 31))
    assert requests_by_month(both, MADRID) == {
        date(2025, 12, 1): {"telematica": 0, "bustia": 2, "umic": 4},
        date(2026, 1, 1): {"telematica": 1, "bustia": 2, "umic": 2},
    }
    # A period that ends mid-January still ignores January's hand counts (the rule looks at
    # the whole month).
    half = Period(date(2026, 1, 1), date(2026, 1, 10))
    assert requests_by_town(half, MADRID)[town.id] == {"telematica": 0, "bustia": 1, "umic": 0}


def test_the_per_town_table_counts_the_records(client, login, team):
    town = team["town"]
    visit = add_visit(team, madrid(2026, 2, 10, 10), madrid(2026, 2, 10, 13))
    for channel in (Channel.UMIC, Channel.UMIC, Channel.BUSTIA):
        when = madrid(2026, 2, 10, 11)
        create_case(
            {
                "municipality_id": town.id,
                "channel": channel,
                "requested_at": when,
                "visit_id": visit.id if channel == Channel.UMIC else None,
            },
            actor=None,
            now=when,
        )
    db.session.add(
        ChannelCount(month=date(2026, 2, 1), municipality_id=town.id, channel="umic", count=7)
    )
    db.session.commit()
    login("OPSSCOORD")
    html = client.get("/admin/estadistiques/?desde=2026-02-01&fins=2026-02-28").get_data(True)
    rows = {
        row.select("th, td")[0].get_text(strip=True): [
            cell.get_text(strip=True) for cell in row.select("td")
        ]
        for row in soup(html).select("table#taula-municipis tbody tr")
    }
    # Telemàtica, Bústia, UMIC: the records, not February's hand count of 7.
    assert rows["Ajuntament de Gelida"][:3] == ["0", "1", "2"]
