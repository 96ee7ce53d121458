"""The whole booking in a real browser on a phone-sized screen, with and without JavaScript."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from support.browser import PHONE
from support.browser import launched
from support.browser import served
from support.factories import PASSWORD
from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_world
from support.outbox import clear_text
from umic import clock
from umic.casefiles.service import create_case
from umic.extensions import db
from umic.models import Booking
from umic.models import BookingStatus
from umic.models import Municipality
from umic.models import OutboxMessage
from umic.models import Service
from umic.models import StaffUser
from umic.models import SurveyResponse
from umic.surveys.service import queue_due_surveys

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium():
    with launched() as browser:
        yield browser


@pytest.fixture
def site(app):
    make_world()
    with served(app) as base_url:
        yield base_url


def no_sideways_scroll(page) -> None:
    # After a click that submits a form, the next document may still be loading: measure it
    # once it has loaded, never the gap between two documents.
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def fill_details(page) -> None:
    page.fill("#name", "Núria Puig i Solà")
    page.fill("#email", "nuria@example.net")
    page.fill("#phone", "+34 612 345 678")
    page.fill("#description", "La companyia de telèfon m'ha donat de baixa sense avisar.")
    page.check("#consent")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_book_reschedule_and_cancel_on_a_phone(chromium, site, app, javascript):
    context = chromium.new_context(viewport=PHONE, java_script_enabled=javascript)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(f"{site}/reserva/")
    no_sideways_scroll(page)
    page.fill("#q", "geli")
    if javascript:  # type-ahead: the results arrive without a reload and are announced
        page.wait_for_selector(".town-list a")
        assert page.url == f"{site}/reserva/"
        assert "municipi" in page.inner_text("#status")
    else:
        page.click("form[role=search] button")
    page.click(".town-list a:text('Gelida')")
    page.wait_for_url("**/reserva/gelida/")  # the click navigates; wait for it
    no_sideways_scroll(page)

    page.check("input[name=dia] >> nth=1")
    if javascript:  # only the times are swapped in; the URL and focus stay (WCAG 3.2.2)
        page.wait_for_selector("#times input[name=slot]")
        assert page.url.endswith("/reserva/gelida/")
        assert re.search(r"\d+ cites disponibles", page.inner_text("#status"))
        assert page.evaluate("document.activeElement.name") == "dia"
    else:
        page.click("text=Mostra les hores")
        page.wait_for_url(re.compile(r".*[?&]dia="))
    slot = page.get_attribute("#times input[name=slot] >> nth=2", "value")
    page.check(f"input[value='{slot}']")
    page.click("#times button[type=submit]")
    no_sideways_scroll(page)

    page.click("main form button[type=submit]")  # nothing filled in
    expect(page).to_have_title(re.compile(r"^Error: "))  # waits for the answer
    assert page.locator(".error-summary a").count() == 3
    if javascript:
        assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    no_sideways_scroll(page)
    fill_details(page)
    page.click("main form button[type=submit]")
    assert "Comproveu les dades" in page.inner_text("h1")
    page.click("text=Confirma la cita")
    assert page.inner_text(".panel-title") == "Cita confirmada"
    no_sideways_scroll(page)
    manage_url = page.url

    booking = db.session.scalar(select(Booking))
    assert booking.citizen_name == "Núria Puig i Solà"

    page.click("text=Torna a planificar")
    assert page.locator("input[name=name]").count() == 0
    page.check("input[name=dia] >> nth=2")
    if javascript:
        page.wait_for_selector("#times input[name=slot]")
    else:
        page.click("text=Mostra les hores")
    page.check("#times input[name=slot] >> nth=0")
    page.click("#times button[type=submit]")
    page.click("text=Confirma el canvi")
    page.wait_for_url(manage_url)
    assert "Heu canviat l'hora de la cita" in page.inner_text("main")

    page.click("text=Anul·la la cita")
    page.fill("#reason", "Ja m'ho han solucionat")
    page.click("text=Sí, anul·la la cita")
    assert "Cita anul·lada" in page.inner_text("h1")
    db.session.expire_all()
    booking = db.session.scalar(select(Booking))
    assert booking.status == BookingStatus.CANCELLED and booking.ical_sequence == 2

    assert problems == [], problems
    context.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_staff_pages_do_not_scroll_sideways_on_a_phone(chromium, site, app):
    """Wide tables scroll inside their frame; the page itself never does (WCAG 1.4.10)."""

    coordinator = make_staff("OPSSCOORD", role="coordinator")
    technician = db.session.scalar(select(StaffUser).where(StaffUser.role == "technician"))
    town = db.session.scalar(select(Municipality))
    service = db.session.scalar(select(Service))
    start = (clock.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    make_booking(town, service, technician, start)
    case = create_case(
        {"municipality_id": town.id, "interested_name": "Persona Amb Un Nom Prou Llarg"},
        actor=coordinator,
        now=clock.now(),
    )
    db.session.commit()

    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{site}/entra")
    page.fill("#username", "OPSSCOORD")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/entra" not in url)  # signed in before going on
    for path in [
        "/espai/",
        "/espai/expedients/",
        f"/espai/expedients/{case.id}",
        "/espai/expedients/nou",
        "/espai/cites/nova",
        "/espai/calendari",
        "/admin/horaris/",
        f"/admin/horaris/{technician.id}",
        "/admin/tancaments/",
        "/admin/correu/",
    ]:
        page.goto(site + path)
        assert page.title() and "Error" not in page.title(), path
        no_sideways_scroll(page)
    context.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_technicians_day_and_the_citizens_survey_on_a_phone(chromium, site, app, javascript):
    """A technician signs in, finds the call on now and marks it attended; the citizen
    answers the survey from the e-mail that follows (error first, then thanks)."""
    technician = db.session.scalar(select(StaffUser).where(StaffUser.username == "OPSSVEGAVN"))
    town = db.session.scalar(select(Municipality))
    service = db.session.scalar(select(Service))
    start = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    booking, _token = make_booking(
        town, service, technician, start, citizen_name="Núria Puig i Solà"
    )
    context = chromium.new_context(viewport=PHONE, java_script_enabled=javascript)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(f"{site}/espai/")
    assert "/entra" in page.url  # staff pages need signing in
    page.fill("#username", "OPSSVEGAVN")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{site}/espai/")
    no_sideways_scroll(page)
    call = page.locator(f"#cita-{booking.id}")
    assert "Núria Puig i Solà" in call.inner_text()
    join = call.locator("a", has_text="Entra a la videotrucada")
    assert join.get_attribute("href") == booking.video_link
    call.locator("button", has_text="Atesa").click()
    if javascript:  # only this call is swapped, and the change is announced
        expect(page.locator("#status")).to_have_text("Cita marcada com a atesa.")
        assert page.url == f"{site}/espai/"
    else:
        page.wait_for_load_state()
        assert "Cita marcada com a atesa." in page.inner_text("main")
    expect(call.locator("button", has_text="Atesa")).to_have_count(0)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.ATTENDED

    survey_mail = select(OutboxMessage).where(
        OutboxMessage.kind == "survey", OutboxMessage.booking_id == booking.id
    )
    assert db.session.scalar(survey_mail) is None  # M6: not while the call is on
    assert queue_due_surveys(now=booking.end_utc + timedelta(minutes=1)) == 1  # after its end
    message = db.session.scalar(survey_mail)
    link = re.search(r"http://localhost(/enquesta/[^\s\"<>]+)", clear_text(message)).group(1)
    citizen = chromium.new_context(viewport=PHONE, java_script_enabled=javascript)
    survey = citizen.new_page()
    survey.goto(site + link)
    no_sideways_scroll(survey)
    survey.click("#survey-form button[type=submit]")  # nothing chosen
    expect(survey).to_have_title(re.compile(r"^Error: "))  # waits for the answer
    assert survey.locator(".error-summary a").count() == 3
    survey.check("#attention-9")
    survey.check("#competence-10")
    survey.check("#resolved-0")
    survey.fill("#comment", "Molt clar, gràcies.")
    survey.click("#survey-form button[type=submit]")
    assert survey.inner_text("h1") == "Gràcies per la vostra valoració"
    answer = db.session.scalar(select(SurveyResponse))
    assert (answer.booking_id, answer.attention, answer.competence) == (booking.id, 9, 10)
    assert answer.comment == "Molt clar, gràcies."
    survey.goto(site + link)  # one answer per call
    assert survey.inner_text("h1") == "Ja heu respost aquesta enquesta. Gràcies"

    assert problems == [], problems
    citizen.close()
    context.close()
