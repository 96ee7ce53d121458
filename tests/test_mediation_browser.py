"""The mediation journey in Chromium, without JavaScript (done-when #1 of issue 14).

A technician opens a mediation on a claim against a company; the company answers through its
link with a proposal and a PDF; the technician convenes a three-party call (the three
invitations read by icalendar and by vobject, an independent parser); the technician records
an agreement with the amount recovered; the citizen's status page shows it, and so does the
statistics page.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from icalendar import Calendar
from sqlalchemy import select

from support import icstools
from support.a11y import PDF
from support.browser import PHONE
from support.browser import launched
from support.browser import served
from support.factories import PASSWORD
from support.factories import make_staff
from support.factories import make_world
from umic import clock
from umic.casefiles.service import create_case
from umic.companies import find_or_create
from umic.extensions import db
from umic.mail import links
from umic.models import Booking
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import Mediation
from umic.models import OutboxMessage
from umic.models import Role
from umic.web.access import issue_status_token

pytestmark = [
    pytest.mark.browser,
    pytest.mark.pdf,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


@pytest.fixture
def app_config(tmp_path) -> dict:
    return {"UPLOAD_FOLDER": str(tmp_path / "uploads")}


def sign_in(page, site, username):
    page.goto(f"{site}/entra")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/entra" not in url)


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_claim_answer_session_agreement_status_and_statistics(app, tmp_path):
    world = make_world(technicians=1)
    technician = world.technicians[0]
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    company = find_or_create("Naturgy", claims_email="reclamacions@naturgy.example")
    case = create_case(
        {
            "case_type": "reclamacio",
            "interested_name": "Raúl Sánchez",
            "interested_email": "raul@example.net",
            "municipality_id": world.town.id,
            "assigned_to_id": technician.id,
            "status": CaseStatus.PENDENT,
            "description": "La factura del gas cobra dues vegades el mes de maig.",
            "amount_claimed": Decimal("120.50"),
        },
        actor=None,
        now=clock.now(),
    )
    db.session.commit()
    case_url = f"/espai/expedients/{case.id}"

    with launched() as browser, served(app) as site:
        staff = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
        sign_in(staff, site, technician.username)

        # 1. The technician opens the mediation.
        staff.goto(f"{site}{case_url}")
        staff.select_option("#mediacio-company_id", str(company.id))
        staff.click("#mediacio form button[type=submit]")
        staff.wait_for_selector("#mediation-status")
        no_sideways_scroll(staff)
        db.session.expire_all()
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "mediation_claim")
        )
        body = links.unmask(message.body_text, links.load(message.link_tokens))
        link = next(word for word in body.split() if "/empresa/" in word)
        link = link.replace(app.config["BASE_URL"].rstrip("/"), site)

        # 2. The company answers with a proposal and a PDF, with no account.
        company_page = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
        company_page.goto(link)
        assert "Raúl Sánchez" in company_page.inner_text("main")
        company_page.check("#answer-1")  # proposa
        company_page.fill("#text", "Abonarem la meitat del mes duplicat.")
        company_page.fill("#proposed_amount", "60,25")
        company_page.set_input_files(
            "#document", {"name": "abonament.pdf", "mimeType": "application/pdf", "buffer": PDF}
        )
        company_page.click("#company-form button[type=submit]")
        company_page.wait_for_selector("#gracies")
        assert "abonament.pdf" in company_page.inner_text("#company-documents")
        no_sideways_scroll(company_page)

        # 3. The technician convenes the three-party call at one of their free times.
        staff.goto(f"{site}{case_url}")
        assert "Proposa una solució" in staff.inner_text("#company-answer")
        for offset in range(1, 15):
            day = clock.now().date() + timedelta(days=offset)
            staff.fill("#sessio-dia", day.isoformat())
            staff.click("#mediacio form[method=get] button")
            if staff.locator('#mediacio input[name="mediacio-slot"]').count():
                break
        staff.locator('#mediacio input[name="mediacio-slot"]').first.check()
        staff.click("#mediacio form[action$='/mediacio/sessio'] button[type=submit]")
        staff.wait_for_selector("#mediation-session")
        db.session.expire_all()
        mediation = db.session.scalar(select(Mediation))
        booking = db.session.get(Booking, mediation.session_booking_id)
        invitations = db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.booking_id == booking.id, OutboxMessage.ics.is_not(None)
            )
        ).all()
        assert {m.recipient for m in invitations} == {
            "raul@example.net",
            technician.email,
            "reclamacions@naturgy.example",
        }
        for message in invitations:
            event = Calendar.from_ical(message.ics).walk("VEVENT")[0]
            assert str(event["UID"]) == booking.ical_uid
            assert str(event["SUMMARY"]) == "Sessió de mediació"
            path = tmp_path / f"{message.id}.ics"
            path.write_bytes(message.ics)
            parsed = icstools.vobject_read(path)
            assert parsed["summary"] == "Sessió de mediació"
            assert booking.video_link in parsed["description"]

        # 4. An agreement with the amount recovered.
        staff.check("#mediacio-outcome-0")  # acord_total
        staff.fill("#mediacio-amount_recovered", "120,50")
        staff.click("#mediacio form[action$='/mediacio/tanca'] button[type=submit]")
        staff.wait_for_selector("#mediation-outcome")
        assert "Acord total" in staff.inner_text("#mediation-outcome")
        no_sideways_scroll(staff)

        # 5. The citizen's status page.
        token = issue_status_token(case=db.session.get(CaseFile, case.id), now=clock.now())
        db.session.commit()
        citizen = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
        citizen.goto(f"{site}/seguiment/{token}")
        section = citizen.inner_text("#mediacio")
        assert "Acord total" in section and "120,50" in section
        no_sideways_scroll(citizen)

        # 6. The statistics page.
        coordinator = browser.new_context(java_script_enabled=False).new_page()
        sign_in(coordinator, site, "OPSSCOORD")
        coordinator.goto(f"{site}/admin/estadistiques/")
        text = coordinator.inner_text("main")
        assert "Mediacions amb les empreses" in text
        assert "Acord total" in text
