"""An in-person time at the mobile unit's next visit to Gelida, in Chromium at 360 px without
JavaScript; every page state checked with axe (and reflow, spacing, targets) at 320 and
1280 px."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from support.a11y import check_state
from support.browser import PHONE
from support.browser import launched
from support.browser import served
from support.factories import make_town
from support.factories import make_world
from test_visit_bookings import PLACE
from test_visit_bookings import _visit
from test_visit_bookings import _working_day
from umic.extensions import db
from umic.models import Booking
from umic.models import OutboxMessage

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium():
    with launched() as browser:
        yield browser


def _walk(page, site: str, visit_id: int, choice: int, checked) -> str:
    """Choose a time at the visit, fill in the details (after one empty submit), confirm;
    ``checked(name)`` at each page state. Returns the confirmation page's main text."""
    page.goto(f"{site}/umic/torrelles-de-llobregat/")
    checked("no visits")
    page.goto(f"{site}/umic/gelida/")
    assert PLACE in page.inner_text("main")
    checked("visits")
    page.click(f"#visita-{visit_id} button[type=submit]")  # no time chosen
    page.wait_for_url(f"**/umic/gelida/?tria={visit_id}*")
    assert page.locator(".error-summary").count() == 1
    checked("visits, no time chosen")
    page.check(f"#visita-{visit_id}-{choice}", force=True)
    page.click(f"#visita-{visit_id} button[type=submit]")
    page.wait_for_url(f"**/umic/gelida/{visit_id}/dades?**")
    page.click("#details-form button[type=submit]")  # nothing filled in: errors
    assert page.locator(".error-summary").count() == 1
    checked("details with errors")
    page.fill("#name", "Núria Puig i Solà")
    page.fill("#email", f"nuria{choice}@example.net")
    page.fill("#description", "La companyia de la llum em cobra un servei que no vaig demanar.")
    page.check("#consent", force=True)
    page.click("#details-form button[type=submit]")
    page.wait_for_url(f"**/umic/gelida/{visit_id}/comprova")
    assert PLACE in page.inner_text("main")
    checked("check")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/cita/*")
    main = page.inner_text("main")
    checked("confirmation")
    return main


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_citizen_books_an_in_person_time_at_gelidas_next_visit_without_javascript(chromium, app):
    world = make_world(technicians=1)
    visit = _visit(world.town, world.technicians[0], _working_day(3))
    make_town("Torrelles de Llobregat", "08283")
    problems: list[str] = []
    with served(app) as site:
        # The citizen, without JavaScript, on a phone.
        context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
        page = context.new_page()

        def no_sideways_scroll(_name: str) -> None:
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        main = _walk(page, site, visit.id, 2, no_sideways_scroll)
        assert "Cita confirmada" in main and PLACE in main and "Gelida" in main
        context.close()

        # The same states again for axe, reflow, text spacing and targets (axe runs as a
        # script: this pass has JavaScript on).
        context = chromium.new_context(viewport=PHONE)
        page = context.new_page()

        def checked(name: str) -> None:
            problems.extend(check_state(page, name, targets=True).blocking)
            page.set_viewport_size(PHONE)

        _walk(page, site, visit.id, 1, checked)
        context.close()

    first = db.session.scalars(
        select(Booking).where(Booking.citizen_email == "nuria2@example.net")
    ).one()
    assert first.visit_id == visit.id
    assert first.start_utc == visit.start_utc + timedelta(minutes=20)
    invitation = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == "nuria2@example.net")
    ).one()
    assert "LOCATION:Plaça de l'Ajuntament\\, Gelida".encode() in invitation.ics
    assert not problems, "\n".join(problems)
