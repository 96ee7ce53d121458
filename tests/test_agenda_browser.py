"""The agenda in a real browser at a desk's width: from a Friday to next Tuesday by keyboard,
with and without JavaScript, and into a booking's card."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.browser import launched
from support.browser import served
from support.days import madrid
from support.factories import PASSWORD
from support.factories import make_booking
from support.factories import make_world
from test_agenda import friday

pytestmark = pytest.mark.browser

DESK = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def chromium():
    with launched() as browser:
        yield browser


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_on_a_friday_a_technician_walks_to_next_tuesday_and_opens_a_card(chromium, app, javascript):
    """H1: signed in on a Friday, a technician reaches next Tuesday's call from the keyboard
    (the "next day" link, four times) and opens its card."""
    world = make_world(technicians=1)
    technician = world.technicians[0]
    day = friday()
    tuesday = day + timedelta(days=4)
    booking, _token = make_booking(
        world.town,
        world.service,
        technician,
        madrid(tuesday, 11),
        citizen_name="Núria Puig i Solà",
        description="La companyia de telèfon m'ha donat de baixa.",
    )
    with served(app) as site:
        context = chromium.new_context(viewport=DESK, java_script_enabled=javascript)
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{site}/espai/")
        page.fill("#username", technician.username)
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        assert page.url == f"{site}/espai/", page.inner_text("main")
        assert page.inner_text("h1").startswith("Agenda: Avui")
        for _step in range(4):
            page.focus("a[rel=next]")
            with page.expect_navigation():
                page.keyboard.press("Enter")
        assert page.url.endswith(f"dia={tuesday.isoformat()}")
        assert "Dimarts" in page.inner_text("h1") and "Dimarts" in page.title()
        current = page.locator(".week-days a[aria-current=page]")
        assert current.get_attribute("href").endswith(f"dia={tuesday.isoformat()}")
        link = page.locator(f"#cita-{booking.id} h3 a")
        link.focus()
        page.keyboard.press("Enter")
        page.wait_for_url(f"{site}/espai/cites/{booking.id}")
        assert page.inner_text("h1").startswith("Cita de Núria Puig i Solà")
        assert "La companyia de telèfon m'ha donat de baixa." in page.inner_text("main")
        assert page.evaluate("document.documentElement.scrollWidth") <= DESK["width"]
        assert problems == [], problems
        context.close()
