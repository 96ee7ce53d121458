"""A coordinator's home, /admin/: what needs attention now, each item linked to where it is
dealt with, in a fixed number of queries.

The clock is frozen on Thursday 3 December 2026, 10:00 in Barcelona: today is the 3rd,
tomorrow the 4th, the week runs from Monday 30 November to Sunday 6 December.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from support.factories import EVERY_DAY
from support.factories import make_booking
from support.factories import make_service
from support.factories import make_staff
from support.factories import make_town
from support.htmlutil import soup
from support.queries import counted_selects
from umic import clock
from umic.casefiles.service import create_case
from umic.extensions import db
from umic.models import BookingStatus
from umic.models import CaseStatus
from umic.models import OpeningHours
from umic.models import OutboxMessage
from umic.models import OutboxStatus
from umic.models import Role
from umic.models import SurveyResponse

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=MADRID)


def madrid(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


@pytest.fixture
def now(app):
    clock.freeze(NOW)
    yield NOW
    clock.reset()


@pytest.fixture
def coordinator(login, now):
    user = make_staff("OPSSCOORD", role=Role.COORDINATOR, name="Coordinadora Puig")
    login("OPSSCOORD")
    return user


def page(client) -> str:
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def text(html: str, selector: str) -> str:
    return soup(html).select_one(selector).get_text(" ", strip=True)


def failed_email(n: int = 1) -> None:
    for i in range(n):
        db.session.add(
            OutboxMessage(
                kind="booking_confirmed",
                recipient=f"persona{i}@example.net",
                sender="umic@example.org",
                subject="La vostra cita",
                body_text="...",
                message_id=f"<{i}-home@example.org>",
                status=OutboxStatus.FAILED,
                attempts=5,
            )
        )
    db.session.commit()


def new_case(town, **values):
    case = create_case(
        {"municipality_id": town.id, "interested_name": "Persona de prova", **values},
        actor=None,
        now=clock.now(),
    )
    db.session.commit()
    return case


@pytest.fixture
def world(coordinator):
    """Two technicians (open every day, 9-14 and 15:30-19), calls today and tomorrow, a
    failed e-mail, cases waiting, and the week's figures."""
    town = make_town()
    service = make_service()
    anna = make_staff("OPSSANNA", hours=EVERY_DAY, name="Anna Vidal")
    biel = make_staff("OPSSBIEL", hours=EVERY_DAY, name="Biel Soler")
    make_booking(town, service, anna, madrid(3, 9), status=BookingStatus.ATTENDED)
    make_booking(town, service, anna, madrid(3, 12))
    make_booking(town, service, anna, madrid(3, 16), status=BookingStatus.CANCELLED)
    make_booking(town, service, biel, madrid(3, 17))
    make_booking(town, service, biel, madrid(4, 9, 30))
    make_booking(town, service, biel, madrid(5, 9))  # the day after tomorrow: not shown
    failed_email(2)
    overdue = new_case(town, status=CaseStatus.DOCUMENTACIO, deadline=date(2026, 12, 2))
    new_case(town, status=CaseStatus.DOCUMENTACIO, deadline=date(2026, 12, 3))  # today: not yet
    new_case(town, assigned_to_id=anna.id)
    new_case(town, status=CaseStatus.RESOLT)  # unassigned but over: not in the queue
    db.session.add(
        SurveyResponse(
            technician_id=anna.id,
            municipality_id=town.id,
            attention=9,
            competence=10,
            resolved="totalment",
            answered_at=madrid(1, 18),
        )
    )
    db.session.commit()
    return {"town": town, "service": service, "anna": anna, "biel": biel, "overdue": overdue}


def test_the_home_shows_what_needs_attention_with_links(client, world):
    """L12 (first half): /admin/ was a stub ("Hola, Coordinació SSPC" and two links); it now
    says what needs attention and links to where each thing is dealt with."""
    html = page(client)
    assert soup(html).h1.get_text(strip=True) == "Inici de coordinació"

    # Failed e-mails: the outbox filtered.
    assert "2 correus no s'han pogut enviar" in text(html, "#bloc-correu")
    assert soup(html).select_one('#bloc-correu a[href="/admin/correu/?estat=failed"]')

    # Today's and tomorrow's calls, per technician, linked to the agenda's day.
    links = {a.get_text(strip=True): a["href"] for a in soup(html).select("#bloc-trucades a")}
    assert links["Avui: 3 videotrucades"] == "/espai/?dia=2026-12-03"
    assert links["Demà: 1 videotrucada"] == "/espai/?dia=2026-12-04"
    rows = [
        [cell.get_text(strip=True) for cell in tr.select("th, td")]
        for tr in soup(html).select("#taula-trucades tbody tr")
    ]
    assert rows == [["Anna Vidal", "2", "0"], ["Biel Soler", "1", "1"]]

    # Cases: the overdue one listed and linked; the unassigned queue (open cases only).
    overdue = soup(html).select("#expedients-vencuts li")
    assert len(overdue) == 1
    assert overdue[0].a["href"] == f"/espai/expedients/{world['overdue'].id}"
    assert "1 expedient ha passat el termini" in text(html, "#bloc-expedients")
    unassigned = soup(html).select_one("#sense-assignar")
    # The overdue case, the one due today and... not the resolved one, not Anna's.
    assert unassigned.get_text(strip=True) == "2 expedients oberts sense assignar"
    assert unassigned["href"] == "/espai/expedients/?assignat=cap"
    assert soup(html).select_one(
        '#bloc-expedients a[href="/espai/expedients/?estat=documentacio_requerida"]'
    )

    # Nothing misfits: the towns block says so.
    assert "Totes les cites confirmades encaixen amb l'horari." in text(html, "#bloc-municipis")

    # The week (30 Nov - 6 Dec): calls by the statistics' definitions, cases, surveys.
    figures = dict(
        (row.dt.get_text(strip=True), row.dd.get_text(strip=True))
        for row in soup(html).select("#xifres-setmana .summary-row")
    )
    assert figures == {
        "Cites reservades": "6",  # all made today (the frozen clock)
        "Cites ateses": "1",
        "Cites no presentades": "0",
        "Cites anul·lades": "1",
        "Expedients nous": "4",
        "Enquestes respostes": "1",
    }
    week = soup(html).select_one('#bloc-setmana a[href*="/admin/estadistiques/"]')["href"]
    assert "desde=2026-11-30" in week and "fins=2026-12-06" in week


def test_calls_that_no_longer_fit_and_towns_nobody_can_serve(client, world):
    """L12 (first half): towns with bookings but no hours show on the home, linked to the
    hours page."""
    # Biel's call tomorrow (Friday) at 9:30 falls out once his Fridays start at 10:00.
    db.session.execute(
        OpeningHours.__table__.update()
        .where(
            OpeningHours.staff_id == world["biel"].id,
            OpeningHours.weekday == 4,  # Fridays
            OpeningHours.start_time == time(9),
        )
        .values(start_time=time(10))
    )
    db.session.commit()
    html = page(client)
    block = text(html, "#bloc-municipis")
    assert "1 cita confirmada ja no encaixa" in block
    assert "Gelida: 1 cita" in block
    assert soup(html).select_one('#bloc-municipis a[href="/admin/horaris/"]')
    assert soup(html).select_one("#sense-horaris") is None

    # Nobody has opening hours: every enrolled town is unserved.
    db.session.execute(OpeningHours.__table__.delete())
    db.session.commit()
    html = page(client)
    assert text(html, "#sense-horaris") == (
        "1 municipi adherit no té cap persona tècnica amb horari que l'atengui: "
        "no s'hi pot reservar."
    )
    assert text(html, "#municipis-sense-tecnic").startswith("Gelida: ")
    assert soup(html).select_one('#bloc-municipis a[href="/admin/tecnics/"]')


def test_a_quiet_day_says_so(client, coordinator):
    html = page(client)
    assert "Tots els correus han sortit o són a la cua." in html
    assert "No hi ha cap videotrucada avui ni demà." in html
    assert "Cap expedient ha passat el termini de la documentació requerida." in html


def test_the_home_costs_the_same_queries_for_few_or_many_rows(client, world):
    """L12: the home's figures are SQL aggregates, never a query per row."""
    page(client)
    with counted_selects() as few:
        page(client)
    town, service = world["town"], world["service"]
    technicians = [make_staff(f"OPSSMORE{i}", hours=EVERY_DAY) for i in range(5)]
    for i, technician in enumerate(technicians):
        make_booking(town, service, technician, madrid(3, 18, 0))
        make_booking(town, service, technician, madrid(4, 15, 30))
        make_booking(town, service, technician, madrid(4, 8, 0))  # misfits: before 9
        new_case(town, status=CaseStatus.DOCUMENTACIO, deadline=date(2026, 11, 1 + i))
    failed_email(3)
    with counted_selects() as many:
        html = page(client)
    assert "5 cites confirmades ja no encaixen" in html
    assert len(soup(html).select("#taula-trucades tbody tr")) == 7
    assert len(many) == len(few) <= 20, many


def test_a_coordinator_lands_on_the_home_and_finds_it_first_in_the_menu(client, app, now):
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    make_staff("OPSSVEGAVN")
    page_ = client.get("/entra").get_data(as_text=True)
    from support.htmlutil import csrf_token

    def sign_in(username: str) -> str:
        response = client.post(
            "/entra",
            data={
                "csrf_token": csrf_token(page_),
                "username": username,
                "password": "correct horse battery",
            },
        )
        assert response.status_code == 303
        return response.headers["Location"]

    assert sign_in("OPSSCOORD") == "/admin/"
    menu = soup(page(client)).select(".staff-nav a")
    assert (menu[0].get_text(strip=True), menu[0]["href"]) == ("Inici", "/admin/")
    assert menu[0]["aria-current"] == "page"
    client.post("/surt", data={"csrf_token": csrf_token(page(client))})

    page_ = client.get("/entra").get_data(as_text=True)
    assert sign_in("OPSSVEGAVN") == "/espai/"
    assert client.get("/admin/").status_code == 403
    html = client.get("/espai/").get_data(as_text=True)
    assert "Inici" not in [a.get_text(strip=True) for a in soup(html).select(".staff-nav a")]


def test_an_asked_for_page_still_wins_over_the_home(client, app, now):
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    from support.htmlutil import csrf_token

    response = client.get("/admin/enquestes/")
    assert response.status_code == 302
    target = response.headers["Location"]
    page_ = client.get(target).get_data(as_text=True)
    response = client.post(
        target,
        data={
            "csrf_token": csrf_token(page_),
            "username": "OPSSCOORD",
            "password": "correct horse battery",
        },
    )
    assert response.headers["Location"] == "/admin/enquestes/"
    assert db.session.scalar(select(OutboxMessage.id)) is None
