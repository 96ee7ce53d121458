"""The mailbox in a real browser at 360 px without JavaScript: a written claim with a PDF,
the acknowledgment with its follow link, and the status after a technician asks for a
document."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from support.a11y import PDF
from support.browser import PHONE
from support.browser import launched
from support.browser import served
from support.factories import make_staff
from support.factories import make_town
from umic import clock
from umic.casefiles.service import update_case
from umic.extensions import db
from umic.mail import links
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import OutboxMessage

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.fixture
def app_config(tmp_path) -> dict:
    return {"UPLOAD_FOLDER": str(tmp_path / "uploads")}


def test_a_written_claim_with_a_pdf_without_javascript_on_a_phone(app):
    make_town()
    technician = make_staff()
    with launched() as browser, served(app) as site:
        context = browser.new_context(viewport=PHONE, java_script_enabled=False)
        page = context.new_page()
        page.goto(f"{site}/bustia/gelida/")
        page.fill("#name", "Núria Puig i Solà")
        page.fill("#email", "nuria@example.net")
        page.check("#kind-2")  # a claim
        page.fill("#company", "Telefonia Exemple SA")
        page.fill("#description", "M'han cobrat una permanència que no vaig signar.")
        page.click("main form button[type=submit]")  # forgot what they ask for, and consent
        assert page.locator(".error-summary a").count() == 2
        assert page.input_value("#company") == "Telefonia Exemple SA"  # kept
        page.fill("#claim_request", "Que em tornin els 120 euros.")
        page.set_input_files(
            "input[type=file]",
            {"name": "factura.pdf", "mimeType": "application/pdf", "buffer": PDF},
        )
        page.check("#consent")
        page.click("main form button[type=submit]")
        page.wait_for_selector(".reference")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        case = db.session.scalar(select(CaseFile))
        assert page.inner_text(".reference") == case.number

        # The acknowledgment's follow link, as the mail worker would send it.
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "mailbox_ack")
        )
        body = links.unmask(message.body_text, links.load(message.link_tokens))
        url = next(word for word in body.split() if "/seguiment/" in word)
        page.goto(url.replace(app.config["BASE_URL"].rstrip("/"), site))
        assert case.number in page.inner_text("main")

        # A technician asks for a document: the page says so.
        update_case(
            case,
            {
                "status": CaseStatus.DOCUMENTACIO,
                "status_detail": "El contracte signat",
                "deadline": (clock.now() + timedelta(days=10)).date(),
                "assigned_to_id": technician.id,
            },
            actor=technician,
            expected_version=case.version,
            now=clock.now(),
        )
        db.session.commit()
        page.reload()
        assert "El contracte signat" in page.inner_text("main")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        context.close()
