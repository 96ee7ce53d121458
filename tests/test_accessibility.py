"""Accessibility proven in a real browser (docs/accessibility.md, "How it is checked").

Debian's Chromium (never downloaded) opens every page a citizen or a member of staff can reach,
in its first, error and success states (``STATES``), also inside the town's embed, and checks
each at 320 and 1280 px: axe-core at the WCAG 2.0, 2.1 and 2.2 A/AA tags (a serious or
critical violation fails, naming rule, impact, targets and state; moderate and minor ones are
printed), no sideways scrolling at 320 px, the text-spacing overrides clipping nothing, the
link to the accessibility statement and, on citizen pages, 24 px targets and the first visit's
weight. Then the specific requirements: skip link, visible focus, error summary and title,
autocomplete, radio groups, the live region, slow form filling. A broken page shows that each
check can fail. One server and one browser serve the whole module.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from itsdangerous import URLSafeTimedSerializer
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy import update

from support.a11y import PDF
from support.a11y import Load
from support.a11y import Site
from support.a11y import check_state
from support.a11y import first_load
from support.a11y import invisible_focus
from support.a11y import serve_site
from support.browser import launched
from support.days import today
from umic import clock
from umic.casefiles.follow import issue_status_token
from umic.casefiles.service import update_case
from umic.extensions import db
from umic.mail import links
from umic.models import AccessToken
from umic.models import BookingStatus
from umic.models import Municipality
from umic.models import OutboxMessage
from umic.models import SignInAttempt
from umic.models import TokenPurpose

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(sqlite_template, tmp_path_factory) -> Site:
    with launched() as browser:
        folder = tmp_path_factory.mktemp("a11y")
        with serve_site(sqlite_template, folder, browser) as served_site:
            yield served_site


# --- The page states ----------------------------------------------------------------------------

#: name -> (who is signed in, how to reach the state). Each reaches its state from scratch.
STATES: dict[str, tuple[str | None, Callable]] = {}


def state(name: str, user: str | None = None):
    def register(reach: Callable) -> Callable:
        assert name not in STATES, name
        STATES[name] = (user, reach)
        return reach

    return register


def wait_for_announcement(page) -> None:
    """Until the live region says something (a string predicate would need eval, which the
    CSP forbids)."""
    expect(page.locator("#status")).to_have_text(re.compile(r"\S"))


def full_day() -> str:
    """The first day offered that is not today: all its times are there (today's go as the
    hours pass, and may be down to one, or none, while a test runs)."""
    return f'input[name=dia]:not([value="{today().isoformat()}"]) >> nth=0'


def first_day(page) -> str:
    return page.get_attribute(full_day(), "value")


def to_times(site: Site, page) -> None:
    """The town page with the first day chosen (htmx swaps the times in)."""
    page.goto(site.url("/reserva/gelida/"))
    page.check(full_day())
    page.wait_for_selector("#times input[name=slot]")


def to_details(site: Site, page) -> None:
    to_times(site, page)
    page.check("#times input[name=slot] >> nth=0")
    page.click("#times button[type=submit]")
    page.wait_for_selector("#name")


def fill_details(page) -> None:
    page.fill("#name", "Núria Puig i Solà")
    page.fill("#email", "nuria@example.net")
    page.fill("#phone", "+34 612 345 678")
    page.fill("#address", "Carrer Major, 1, Gelida")
    page.fill("#description", "La companyia de telèfon m'ha donat de baixa sense avisar.")
    page.check("#consent")


def to_check(site: Site, page) -> None:
    to_details(site, page)
    fill_details(page)
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=Confirma la cita")


# Citizen: finding the town.
state("reserva")(lambda site, page: page.goto(site.url("/reserva/")))


@state("reserva: towns found")
def _(site, page):
    page.goto(site.url("/reserva/"))
    page.fill("#q", "geli")
    page.wait_for_selector(".town-list a")


@state("reserva: no town found")
def _(site, page):
    page.goto(site.url("/reserva/"))
    page.fill("#q", "xyzzy")
    page.wait_for_selector("#town-results p")


state("town: days")(lambda site, page: page.goto(site.url("/reserva/gelida/")))
state("town: a day's times")(to_times)


@state("town: the time was taken")
def _(site, page):
    page.goto(site.url("/reserva/gelida/"))
    page.goto(site.url(f"/reserva/gelida/?dia={first_day(page)}&ocupada=1#hores"))


state("town: not enrolled")(lambda site, page: page.goto(site.url("/reserva/begues/")))
state("town: has its own OMIC")(lambda site, page: page.goto(site.url("/reserva/cardedeu/")))


def town_with_office(ine_code: str, kind: str, name: str) -> Municipality:
    """The town, its office of ``kind`` with every contact field filled (made once)."""
    from umic.models import ConsumerOffice

    town = db.session.scalar(select(Municipality).where(Municipality.ine_code == ine_code))
    office = db.session.scalar(select(ConsumerOffice).where(ConsumerOffice.name == name))
    if office is None:
        office = ConsumerOffice(
            kind=kind,
            name=name,
            address="Plaça de la Vila, 1",
            postcode="08000",
            locality=town.name,
            phone="93 000 00 00",
            email="consum@example.org",
            web="https://consum.example.org/",
            hours="De dilluns a divendres, de 9 a 14 h\nDijous, de 16 a 19 h",
        )
        db.session.add(office)
        db.session.flush()
    town.office_id = office.id
    town.has_omic = kind == "omic"
    db.session.commit()
    return town


@state("town: own office with its contacts")
def _(site, page):
    town_with_office("08187", "omic", "OMIC de prova")
    page.goto(site.url("/reserva/sabadell/"))


@state("town: covered by a comarcal office")
def _(site, page):
    town_with_office("08288", "ocic", "Oficina comarcal de prova")
    page.goto(site.url("/reserva/torrelles-de-foix/"))


@state("town: office not yet known, with the mobile unit's visits")
def _(site, page):
    from umic.models import UmicVisit

    slug = "torrelles-de-llobregat"
    town = db.session.scalar(select(Municipality).where(Municipality.slug == slug))
    if not db.session.scalar(select(UmicVisit.id).where(UmicVisit.municipality_id == town.id)):
        start = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
        for days in (0, 7):
            db.session.add(
                UmicVisit(
                    municipality_id=town.id,
                    technician_id=site.technicians[0].id,
                    start_utc=start + timedelta(days=days),
                    end_utc=start + timedelta(days=days, hours=3),
                    place="Plaça de l'Ajuntament",
                    place_details="La furgoneta verda, davant del mercat",
                )
            )
        db.session.commit()
    page.goto(site.url("/reserva/torrelles-de-llobregat/"))


# Citizen: details, check, confirmation.
state("details")(to_details)


@state("details: errors")
def _(site, page):
    to_details(site, page)
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary")


@state("details: filled in")
def _(site, page):
    to_details(site, page)
    fill_details(page)


state("check answers")(to_check)


@state("confirmation")
def _(site, page):
    to_check(site, page)
    page.click("text=Confirma la cita")
    page.wait_for_selector(".panel-title")


# Citizen: the manage link.
@state("manage: open")
def _(site, page):
    _booking, token = site.booking(3 * 24 * 60)
    page.goto(site.url(f"/cita/{token}"))


@state("manage: too late to change")
def _(site, page):
    _booking, token = site.booking(30)
    page.goto(site.url(f"/cita/{token}"))


@state("manage: cancelled")
def _(site, page):
    _booking, token = site.booking(4 * 24 * 60, status=BookingStatus.CANCELLED)
    page.goto(site.url(f"/cita/{token}"))


@state("manage: past")
def _(site, page):
    _booking, token = site.booking(-3 * 24 * 60)
    page.goto(site.url(f"/cita/{token}"))


def to_reschedule_times(site: Site, page) -> str:
    _booking, token = site.booking(5 * 24 * 60)
    page.goto(site.url(f"/cita/{token}/planifica"))
    page.check("input[name=dia] >> nth=1")
    page.wait_for_selector("#times input[name=slot]")
    return token


@state("reschedule: days")
def _(site, page):
    _booking, token = site.booking(5 * 24 * 60)
    page.goto(site.url(f"/cita/{token}/planifica"))


state("reschedule: a day's times")(to_reschedule_times)


@state("reschedule: confirm")
def _(site, page):
    to_reschedule_times(site, page)
    page.check("#times input[name=slot] >> nth=0")
    page.click("#times button[type=submit]")
    page.wait_for_selector("text=Confirma el canvi")


@state("manage: rescheduled")
def _(site, page):
    to_reschedule_times(site, page)
    page.check("#times input[name=slot] >> nth=0")
    page.click("#times button[type=submit]")
    page.click("text=Confirma el canvi")
    page.wait_for_selector(".banner-success")


@state("cancel")
def _(site, page):
    _booking, token = site.booking(6 * 24 * 60)
    page.goto(site.url(f"/cita/{token}/anulla"))


@state("cancel: error")
def _(site, page):
    _booking, token = site.booking(6 * 24 * 60)
    page.goto(site.url(f"/cita/{token}/anulla"))
    page.fill("#reason", "Massa llarg. " * 50)
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary")


@state("manage: cancelled just now")
def _(site, page):
    _booking, token = site.booking(6 * 24 * 60)
    page.goto(site.url(f"/cita/{token}/anulla"))
    page.click("main form button[type=submit]")
    page.wait_for_selector(".banner-success")


# Citizen: information pages.
state("privacy")(lambda site, page: page.goto(site.url("/privacitat")))
state("how to connect")(lambda site, page: page.goto(site.url("/com-connectar")))
state("accessibility statement")(lambda site, page: page.goto(site.url("/accessibilitat")))


# Citizen: the survey.
state("survey")(lambda site, page: page.goto(site.url(site.survey_link())))


@state("survey: errors")
def _(site, page):
    page.goto(site.url(site.survey_link()))
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary")


@state("survey: thanks")
def _(site, page):
    page.goto(site.url(site.survey_link()))
    page.check("#attention-8")
    page.check("#competence-9")
    page.check("#resolved-0")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile("/gracies$"))


state("survey: already answered")(
    lambda site, page: page.goto(site.url(site.survey_link(answered=True)))
)
state("survey: expired")(
    lambda site, page: page.goto(site.url(site.survey_link(expires_in_days=-1)))
)


# Citizen: sending documents.
@state("upload")
def _(site, page):
    _case, link = site.upload_link()
    page.goto(site.url(link))


@state("upload: errors")
def _(site, page):
    _case, link = site.upload_link()
    page.goto(site.url(link))
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary")


@state("upload: sent")
def _(site, page):
    _case, link = site.upload_link()
    page.goto(site.url(link))
    page.check("input[name=category] >> nth=0")
    page.set_input_files(
        "input[type=file]", {"name": "factura.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.click("main form button[type=submit]")
    page.wait_for_selector(".banner")


@state("upload: closed")
def _(site, page):
    case, link = site.upload_link()
    case.status = "en_tramit"
    db.session.commit()
    page.goto(site.url(link))


# Citizen: following a request, "Com va la meva consulta?" (umic.casefiles.follow).
def follow_link(**target) -> str:
    token = issue_status_token(now=clock.now(), **target)
    db.session.commit()
    return f"/seguiment/{token}"


@state("follow: documents asked")
def _(site, page):
    case, _link = site.upload_link()
    page.goto(site.url(follow_link(case=case)))


@state("follow: errors")
def _(site, page):
    case, _link = site.upload_link()
    page.goto(site.url(follow_link(case=case)))
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary")


@state("follow: booking without a case")
def _(site, page):
    booking, _token = site.booking(3 * 24 * 60)
    page.goto(site.url(follow_link(booking=booking)))


@state("follow: expired")
def _(site, page):
    case = site.case(status="en_tramit")
    path = follow_link(case=case)
    db.session.execute(
        update(AccessToken)
        .where(AccessToken.purpose == TokenPurpose.STATUS)
        .values(expires_at=clock.now() - timedelta(minutes=1))
    )
    db.session.commit()
    page.goto(site.url(path))


# Citizen: the booking inside a town's iframe, opened directly (axe skips cross-origin frames).
EMBED = "/incrustat/reserva/gelida/"
state("embed: days")(lambda site, page: page.goto(site.url(EMBED)))


def to_embed_details(site: Site, page) -> None:
    page.goto(site.url(EMBED))
    page.check(full_day())
    page.wait_for_selector("#times input[name=slot]")
    page.check("#times input[name=slot] >> nth=0")
    page.click("#times button[type=submit]")
    page.wait_for_selector("#name")


@state("embed: details errors")
def _(site, page):
    to_embed_details(site, page)
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary")


@state("embed: confirmation")
def _(site, page):
    to_embed_details(site, page)
    fill_details(page)
    page.click("main form button[type=submit]")
    page.click("text=Confirma la cita")
    page.wait_for_selector(".panel-title")


state("embed: town not enrolled")(
    lambda site, page: page.goto(site.url("/incrustat/reserva/begues/"))
)


# Citizen: the consumer mailbox (umic.mailbox), without JavaScript needed.
state("mailbox")(lambda site, page: page.goto(site.url("/bustia/")))
state("mailbox: town")(lambda site, page: page.goto(site.url("/bustia/gelida/")))


@state("mailbox: town with its own office")
def _(site, page):
    from support.factories import make_town
    from umic.models import ConsumerOffice

    town = db.session.scalar(select(Municipality).where(Municipality.slug == "vila-d-assaig"))
    if town is None:
        town = make_town("Vila d'Assaig", "08998")
        town.office = ConsumerOffice(
            kind="omic",
            name="OMIC de Vila d'Assaig",
            phone="930 000 000",
            web="https://example.org",
        )
        db.session.commit()
    page.goto(site.url(f"/bustia/{town.slug}/"))


@state("mailbox: errors")
def _(site, page):
    page.goto(site.url("/bustia/"))
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary")


def send_mailbox(site, page, url: str) -> None:
    page.goto(site.url(url))
    page.fill("#name", "Núria Puig i Solà")
    page.fill("#email", "nuria@example.net")
    page.check("#kind-2")
    page.fill("#company", "Telefonia Exemple SA")
    page.fill("#description", "M'han cobrat una permanència que no vaig signar.")
    page.fill("#claim_request", "Que em tornin els diners.")
    page.set_input_files(
        "input[type=file]", {"name": "factura.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.check("#consent")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".reference")


state("mailbox: sent")(lambda site, page: send_mailbox(site, page, "/bustia/gelida/"))
state("embed: mailbox")(lambda site, page: page.goto(site.url("/incrustat/bustia/gelida/")))
state("embed: mailbox sent")(
    lambda site, page: send_mailbox(site, page, "/incrustat/bustia/gelida/")
)


# Error pages.
state("404")(lambda site, page: page.goto(site.url("/no-existeix")))


@contextmanager
def configured(site: Site, **values):
    """The served app with these settings for a moment (they are read on each request)."""
    saved = {key: site.app.config[key] for key in values}
    site.app.config.update(values)
    try:
        yield
    finally:
        site.app.config.update(saved)


@state("429 too many requests")
def _(site, page):
    link = site.survey_link()
    with configured(site, RATELIMIT_TOKEN_PAGES="1 per day"):
        page.goto(site.url(link))
        response = page.goto(site.url(link))
    assert response.status == 429


@state("details: too many bookings")
def _(site, page):
    site.booking(3 * 24 * 60, citizen_email="nuria@example.net")
    to_details(site, page)
    fill_details(page)
    with configured(site, BOOKING_MAX_ACTIVE_PER_EMAIL=1):
        page.click("main form button[type=submit]")
        page.wait_for_selector("text=Ja teniu cites pendents")


@state("form token refused")
def _(site, page):
    to_details(site, page)
    fill_details(page)
    page.evaluate("document.querySelector('input[name=csrf_token]').value = 'caducat'")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


# Staff: signing in.
COORDINATOR = "OPSSCOORD"
TECHNICIAN = "OPSSVEGAVN"

state("sign-in")(lambda site, page: page.goto(site.url("/entra")))


@state("sign-in: errors")
def _(site, page):
    page.goto(site.url("/entra"))
    page.click("main button[type=submit]")
    page.wait_for_selector(".error-summary")


@state("sign-in: wrong password")
def _(site, page):
    page.goto(site.url("/entra"))
    page.fill("#username", TECHNICIAN)
    page.fill("#password", "no és aquesta")
    page.click("main button[type=submit]")
    page.wait_for_selector(".error-summary")


@state("sign-in: throttled")
def _(site, page):
    now = clock.now()
    for _n in range(site.app.config["SIGN_IN_MAX_FAILURES"]):
        db.session.add(
            SignInAttempt(username="OPSSBLOQUEJAT", ip="127.0.0.1", at=now, success=False)
        )
    db.session.commit()
    page.goto(site.url("/entra"))
    page.fill("#username", "OPSSBLOQUEJAT")
    page.fill("#password", "qualsevol")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Massa intents")


# Staff: the agenda.
def agenda_bookings(site: Site) -> None:
    """A call on now, one later today, and one two days ago nobody marked."""
    site.booking(-5, citizen_phone="612345678", description="Factura duplicada de l'aigua.")
    site.booking(90)
    site.booking(-2 * 24 * 60)


@state("agenda (technician)", TECHNICIAN)
def _(site, page):
    agenda_bookings(site)
    page.goto(site.url("/espai/"))
    page.wait_for_selector("#per-marcar")


@state("agenda (coordinator)", COORDINATOR)
def _(site, page):
    agenda_bookings(site)
    page.goto(site.url("/espai/"))
    page.wait_for_selector("#per-marcar")


@state("agenda: marked attended (htmx)", COORDINATOR)
def _(site, page):
    agenda_bookings(site)
    page.goto(site.url("/espai/"))
    page.click("section[aria-labelledby=per-marcar] button:has-text('Atesa') >> nth=0")
    wait_for_announcement(page)


@state("agenda: another day (team)", TECHNICIAN)
def _(site, page):
    # Times of their own: agenda_bookings's are the technician's unmarked call (above).
    site.booking(24 * 60 + 35)
    page.goto(site.url(f"/espai/?dia={(today() + timedelta(days=1)).isoformat()}&tecnic=tots"))


state("agenda: week", COORDINATOR)(
    lambda site, page: (
        site.booking(3 * 24 * 60 + 65),
        page.goto(site.url("/espai/?vista=setmana")),
    )
)
state("agenda: a day that is not one", TECHNICIAN)(
    lambda site, page: page.goto(site.url("/espai/?dia=2026-13-45"))
)


@state("booking card", COORDINATOR)
def _(site, page):
    booking, _token = site.booking(-185, citizen_phone="612345678", description="Factura.")
    page.goto(site.url(f"/espai/cites/{booking.id}"))


# Staff: booking for a citizen who phoned.
state("phone booking: town", COORDINATOR)(
    lambda site, page: page.goto(site.url("/espai/cites/nova"))
)


def to_phone_days(site: Site, page) -> None:
    page.goto(site.url("/espai/cites/nova"))
    page.select_option("#municipi", label="Gelida")
    page.click("main form.toolbar button[type=submit]")
    page.wait_for_selector("input[name=dia]")


def to_phone_details(site: Site, page) -> None:
    to_phone_days(site, page)
    page.check(full_day())
    page.wait_for_selector("#times input[name=slot]")
    page.check("#times input[name=slot] >> nth=0")
    page.click("#times button[type=submit]")
    page.wait_for_selector("#name")


state("phone booking: days", COORDINATOR)(to_phone_days)


@state("phone booking: a day's times", COORDINATOR)
def _(site, page):
    to_phone_days(site, page)
    page.check(full_day())
    page.wait_for_selector("#times input[name=slot]")


state("phone booking: details", COORDINATOR)(to_phone_details)


@state("phone booking: errors", COORDINATOR)
def _(site, page):
    to_phone_details(site, page)
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary")


@state("phone booking: booked", COORDINATOR)
def _(site, page):
    to_phone_details(site, page)
    page.fill("#name", "Jordi Vila")
    page.fill("#phone", "612 345 678")
    page.check("#consent")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".banner-success")


@state("staff cancel", COORDINATOR)
def _(site, page):
    booking, _token = site.booking(8 * 24 * 60)
    page.goto(site.url(f"/espai/cites/{booking.id}/anulla"))


@state("staff move", COORDINATOR)
def _(site, page):
    booking, _token = site.booking(8 * 24 * 60)
    page.goto(site.url(f"/espai/cites/{booking.id}/canvia"))


@state("staff move: errors", COORDINATOR)
def _(site, page):
    booking, _token = site.booking(8 * 24 * 60 + 60)
    page.goto(site.url(f"/espai/cites/{booking.id}/canvia"))
    page.check("#override")
    page.fill("#override_time", "tard")
    page.click("#move-form button[type=submit]")
    page.wait_for_selector(".error-summary")


# Staff: case files.
@state("case list", TECHNICIAN)
def _(site, page):
    site.case()
    page.goto(site.url("/espai/expedients/"))


@state("case list: column chooser open", TECHNICIAN)
def _(site, page):
    site.case()
    page.goto(site.url("/espai/expedients/"))
    page.click("#column-chooser summary")


@state("case list: filtered (htmx)", TECHNICIAN)
def _(site, page):
    site.case(interested_name="Montserrat Roca")
    page.goto(site.url("/espai/expedients/"))
    page.fill("#q", "Montserrat")
    wait_for_announcement(page)


state("case list: nothing found", TECHNICIAN)(
    lambda site, page: page.goto(site.url("/espai/expedients/?q=cap-expedient-amb-aixo"))
)
state("case list: bad dates", TECHNICIAN)(
    lambda site, page: page.goto(site.url("/espai/expedients/?desde=abc&fins=2025-02-30"))
)
state("case", TECHNICIAN)(
    lambda site, page: page.goto(site.url(f"/espai/expedients/{site.case().id}"))
)


@state("case: errors", TECHNICIAN)
def _(site, page):
    page.goto(site.url(f"/espai/expedients/{site.case().id}"))
    page.fill("#interested_name", "")
    page.fill("#amount_claimed", "molts")
    page.click("text=Desa l'expedient")
    page.wait_for_selector(".error-summary")


@state("case: someone else saved first", TECHNICIAN)
def _(site, page):
    case = site.case()
    page.goto(site.url(f"/espai/expedients/{case.id}"))
    update_case(
        case,
        {"company": "Una altra empresa"},
        actor=site.coordinator,
        expected_version=case.version,
        now=clock.now(),
    )
    db.session.commit()
    page.fill("#company", "La meva empresa")
    page.click("text=Desa l'expedient")
    page.wait_for_selector(".conflict")


@state("case: saved", TECHNICIAN)
def _(site, page):
    page.goto(site.url(f"/espai/expedients/{site.case().id}"))
    page.fill("#company", "Aigües de Gelida")
    page.click("text=Desa l'expedient")
    page.wait_for_selector(".banner-success")


#: Finished cases the triage state trains on: (description, type, sector).
TRIAGE_HISTORY = [
    ("La factura de la llum ha pujat el doble sense avís", "reclamacio", "ELECTRICITAT_GAS_AIGUA"),
    ("Em cobren el gas dues vegades aquest mes", "reclamacio", "ELECTRICITAT_GAS_AIGUA"),
    ("Puc donar-me de baixa de la fibra amb permanència?", "consulta", "TELECOM"),
    ("Quin termini tinc per tornar un mòbil comprat per internet?", "consulta", "TELECOM"),
]


@state("case: suggestions and similar cases", TECHNICIAN)
def _(site, page):
    from umic.models import CaseStatus
    from umic.models import TriageModel
    from umic.triage import service as triage

    site.app.config.update(TRIAGE_MIN_ACCURACY=0.0, TRIAGE_MIN_CONFIDENCE=0.0)
    if db.session.scalar(select(TriageModel.id).limit(1)) is None:
        for number in range(10):
            for text, case_type, sector in TRIAGE_HISTORY:
                site.case(
                    description=f"{text} ({number})",
                    case_type=case_type,
                    sector=sector,
                    status=CaseStatus.RESOLT,
                    status_detail="L'empresa va retornar l'import",
                )
        triage.train_and_store(now=clock.now(), trigger="command")
    case = site.case(description="La factura de la llum d'Endesa ha pujat molt", sector="")
    page.goto(site.url(f"/espai/expedients/{case.id}#suggeriments"))
    page.wait_for_selector("#suggeriments")


state("triage figures", COORDINATOR)(lambda site, page: page.goto(site.url("/admin/triatge/")))
state("language model log", COORDINATOR)(
    lambda site, page: page.goto(site.url("/admin/assistent/"))
)


def _mediated_case(site):
    """A case with a mediation sent to a company; returns it and the company's page path."""
    from umic.companies import find_or_create
    from umic.mediation import service as mediation

    case = site.case()
    company = find_or_create("Naturgy", claims_email="reclamacions@naturgy.example")
    db.session.flush()
    mediation.open_mediation(
        case, company, company_email=company.claims_email, actor=site.coordinator, now=clock.now()
    )
    db.session.commit()
    message = db.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "mediation_claim")
        .order_by(OutboxMessage.id.desc())
    )
    body = links.unmask(message.body_text, links.load(message.link_tokens))
    path = next(word for word in body.split() if "/empresa/" in word)
    return case, path.replace(site.app.config["BASE_URL"].rstrip("/"), "")


@state("case: mediation", TECHNICIAN)
def _(site, page):
    case, _path = _mediated_case(site)
    day = (clock.now() + timedelta(days=1)).date().isoformat()
    page.goto(site.url(f"/espai/expedients/{case.id}?sessio_dia={day}#mediacio"))


@state("company page: errors")
def _(site, page):
    _case, path = _mediated_case(site)
    page.goto(site.url(path))
    page.check("#answer-2")  # rebutja, without saying why
    page.click("#company-form button[type=submit]")
    page.wait_for_selector(".error-summary")


@state("case: documents", TECHNICIAN)
def _(site, page):
    case, link = site.upload_link()
    with site.page() as citizen:
        citizen.goto(site.url(link))
        citizen.check("input[name=category] >> nth=0")
        citizen.set_input_files(
            "input[type=file]",
            {"name": "factura.pdf", "mimeType": "application/pdf", "buffer": PDF},
        )
        citizen.click("main form button[type=submit]")
        citizen.wait_for_selector(".banner")
    page.goto(site.url(f"/espai/expedients/{case.id}/documents"))


@state("case: documents error", TECHNICIAN)
def _(site, page):
    page.goto(site.url(f"/espai/expedients/{site.case().id}/documents"))
    page.click("main form[enctype] button[type=submit]")
    page.wait_for_selector(".error-summary")


state("new case", TECHNICIAN)(lambda site, page: page.goto(site.url("/espai/expedients/nou")))


@state("new case: errors", TECHNICIAN)
def _(site, page):
    page.goto(site.url("/espai/expedients/nou"))
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary")


state("calendar feed", TECHNICIAN)(lambda site, page: page.goto(site.url("/espai/calendari")))


@state("calendar feed: created", "OPSSAPRESGA")
def _(site, page):
    page.goto(site.url("/espai/calendari"))
    page.click("button[value=crea]")
    page.wait_for_selector("text=Canvia l'enllaç")


state("my account", TECHNICIAN)(lambda site, page: page.goto(site.url("/espai/compte")))


@state("my account: errors", TECHNICIAN)
def _(site, page):
    page.goto(site.url("/espai/compte"))
    page.fill("#current", "no és aquesta")
    page.fill("#new", "curta")
    page.click("#password-form button[type=submit]")
    page.wait_for_selector(".error-summary")


# Staff: administration (coordinators).
state("hours", COORDINATOR)(lambda site, page: page.goto(site.url("/admin/horaris/")))
state("hours: a person", COORDINATOR)(
    lambda site, page: page.goto(site.url(f"/admin/horaris/{site.technicians[0].id}"))
)


@state("hours: errors", COORDINATOR)
def _(site, page):
    page.goto(site.url(f"/admin/horaris/{site.technicians[1].id}"))
    page.fill("#d0_p0_end", "")
    page.fill("#d2_p1_start", "20:00")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary")


state("closures", COORDINATOR)(lambda site, page: page.goto(site.url("/admin/tancaments/")))


@state("closures: errors", COORDINATOR)
def _(site, page):
    page.goto(site.url("/admin/tancaments/"))
    page.fill("#reason", "x" * 201)
    page.click("main form[method=post] button[type=submit] >> nth=0")
    page.wait_for_selector(".error-summary")


@state("closures: added", COORDINATOR)
def _(site, page):
    page.goto(site.url("/admin/tancaments/"))
    page.fill("#first_day", (today() + timedelta(days=200)).isoformat())
    page.fill("#reason", "Festa local")
    page.click("main form[method=post] button[type=submit] >> nth=0")
    page.click("#closure-preview button[type=submit] >> nth=0")  # the preview's "Confirma"
    page.wait_for_selector(".banner-success")


def _closure_preview(site, page):
    """The preview of closing the day of a booking three days ahead (nothing saved)."""
    from zoneinfo import ZoneInfo

    booking, _token = site.booking(3 * 24 * 60)
    day = booking.start_utc.astimezone(ZoneInfo("Europe/Madrid")).date()
    page.goto(site.url("/admin/tancaments/"))
    page.fill("#first_day", day.isoformat())
    page.fill("#reason", "Formació interna")
    page.click("main form[method=post] button[type=submit] >> nth=0")
    page.wait_for_selector("#closure-preview")


state("closures: preview", COORDINATOR)(_closure_preview)


@state("closures: preview errors", COORDINATOR)
def _(site, page):
    _closure_preview(site, page)
    page.fill("#message", "")
    page.click("#closure-preview button[type=submit] >> nth=0")
    page.wait_for_selector(".error-summary")


@state("closures: result", COORDINATOR)
def _(site, page):
    _closure_preview(site, page)
    page.click("#closure-preview button[type=submit] >> nth=0")
    page.wait_for_selector("#resultat")


state("outbox", COORDINATOR)(lambda site, page: page.goto(site.url("/admin/correu/")))


@state("outbox: a message", COORDINATOR)
def _(site, page):
    site.upload_link()  # queues the "documents requested" e-mail
    page.goto(site.url("/admin/correu/"))
    page.click("main table a >> nth=0")
    page.wait_for_url(re.compile(r"/admin/correu/\d+$"))


@state("statistics", COORDINATOR)
def _(site, page):
    site.survey_link(answered=True)
    page.goto(site.url("/admin/estadistiques/"))


state("statistics: bad period", COORDINATOR)(
    lambda site, page: page.goto(site.url("/admin/estadistiques/?desde=2025-05-01&fins=2025-04-01"))
)


@state("survey results", COORDINATOR)
def _(site, page):
    site.survey_link(answered=True)
    page.goto(site.url("/admin/enquestes/"))


state("survey results: bad period", COORDINATOR)(
    lambda site, page: page.goto(site.url("/admin/enquestes/?desde=abc"))
)
state("coordinator home", COORDINATOR)(lambda site, page: page.goto(site.url("/admin/")))
state("statistics: pilot shortcut", COORDINATOR)(
    lambda site, page: page.goto(site.url("/admin/estadistiques/?desde=2025-03-01&fins=2025-05-31"))
)
state("survey results: no answers", COORDINATOR)(
    lambda site, page: page.goto(site.url("/admin/enquestes/?desde=2001-01-01&fins=2001-12-31"))
)


def _enrol_confirmation(site, page):
    page.goto(site.url("/admin/ampliacio/"))
    page.click("main a[href$='/adhereix'] >> nth=-1")
    page.wait_for_selector("#starts_on")


state("expansion: enrol confirmation", COORDINATOR)(_enrol_confirmation)


@state("expansion: enrol errors", COORDINATOR)
def _(site, page):
    _enrol_confirmation(site, page)
    page.fill("#starts_on", "2001-01-01")
    page.click("main form[method=post] button[type=submit]")
    page.wait_for_selector(".error-summary")


@state("expansion: enrolled, can be undone", COORDINATOR)
def _(site, page):
    _enrol_confirmation(site, page)
    page.click("main form[method=post] button[type=submit]")
    page.wait_for_selector("#bloc-desfer")


state("registry", COORDINATOR)(lambda site, page: page.goto(site.url("/admin/municipis/")))


@state("registry: search (htmx)", COORDINATOR)
def _(site, page):
    page.goto(site.url("/admin/municipis/"))
    page.fill("#q", "sant")
    wait_for_announcement(page)


@state("registry: a town", COORDINATOR)
def _(site, page):
    page.goto(site.url(f"/admin/municipis/{site.town.id}"))


@state("registry: a town, errors", COORDINATOR)
def _(site, page):
    town = db.session.scalar(select(Municipality).where(Municipality.name == "Alella"))
    page.goto(site.url(f"/admin/municipis/{town.id}"))
    page.check("#enrolled")
    page.fill("#enrolled_on", "1999-12-31")
    page.click("main form button[type=submit] >> nth=0")
    page.wait_for_selector(".error-summary")


state("expansion plan", COORDINATOR)(lambda site, page: page.goto(site.url("/admin/ampliacio/")))
state("offices", COORDINATOR)(lambda site, page: page.goto(site.url("/admin/oficines/")))
state("offices: towns not yet known", COORDINATOR)(
    lambda site, page: page.goto(site.url("/admin/oficines/municipis/per-coneixer"))
)


@state("offices: new office, errors", COORDINATOR)
def _(site, page):
    page.goto(site.url("/admin/oficines/nova"))
    page.fill("#email", "nope")
    page.fill("#towns", "Enlloc")
    page.click("#office-form button[type=submit]")
    page.wait_for_selector(".error-summary")


@state("offices: import errors", COORDINATOR)
def _(site, page):
    page.goto(site.url("/admin/oficines/importa"))
    csv = b"kind;name;towns\nbotiga;X;08999\n"
    page.set_input_files("#file", files=[{"name": "o.csv", "mimeType": "text/csv", "buffer": csv}])
    page.click("main form button[type=submit]")
    page.wait_for_selector("#import-problems")


state("counts", COORDINATOR)(
    lambda site, page: page.goto(site.url("/admin/comptatges/?mes=2025-03"))
)
state("counts: bad month", COORDINATOR)(
    lambda site, page: page.goto(site.url("/admin/comptatges/?mes=2025-13"))
)


@state("counts: errors", COORDINATOR)
def _(site, page):
    page.goto(site.url("/admin/comptatges/?mes=2025-03"))
    page.fill("input.input-count >> nth=0", "molts")
    page.click("text=Desa els comptatges")
    page.wait_for_selector(".error-summary")


state("service settings", COORDINATOR)(lambda site, page: page.goto(site.url("/admin/servei/")))


@state("service settings: errors", COORDINATOR)
def _(site, page):
    page.goto(site.url("/admin/servei/"))
    page.fill("#name", "")
    page.fill("#minutes", "32")
    page.fill("#video_link", "http://meet.example.org/{sala}")
    page.click("#service-form button[type=submit]")
    page.wait_for_selector(".error-summary")


state("staff", COORDINATOR)(lambda site, page: page.goto(site.url("/admin/tecnics/")))
state("staff: towns", COORDINATOR)(
    lambda site, page: page.goto(site.url(f"/admin/tecnics/{site.technicians[0].id}/municipis"))
)


@state("staff: towns errors", COORDINATOR)
def _(site, page):
    page.goto(site.url(f"/admin/tecnics/{site.technicians[0].id}/municipis"))
    page.check("#scope-alguns")
    page.click("#towns-form button[type=submit]")
    page.wait_for_selector(".error-summary")


def staff_visit(site):
    """A visit of the mobile unit to Gelida under way, for the staff's visit pages."""
    from umic.models import UmicVisit

    visit = db.session.scalar(select(UmicVisit).where(UmicVisit.place == "Plaça de la Vila"))
    if visit is None:
        start = clock.now().replace(second=0, microsecond=0) - timedelta(hours=1)
        visit = UmicVisit(
            municipality_id=site.town.id,
            technician_id=site.technicians[0].id,
            start_utc=start,
            end_utc=start + timedelta(hours=3),
            place="Plaça de la Vila",
            place_details="La furgoneta blava",
            notes="Portar fulletons",
        )
        db.session.add(visit)
        db.session.commit()
    return visit


# The mobile unit's visits, staff side (admin/visits.py, workspace/visits.py).
@state("visits plan", COORDINATOR)
def _(site, page):
    staff_visit(site)
    page.goto(site.url("/admin/visites/"))


@state("visit: new, errors", COORDINATOR)
def _(site, page):
    page.goto(site.url("/admin/visites/nova"))
    page.click("#visit-form button[type=submit]")
    page.wait_for_selector(".error-summary")


state("visit: edit", COORDINATOR)(
    lambda site, page: page.goto(site.url(f"/admin/visites/{staff_visit(site).id}"))
)
state("visit: cancel", COORDINATOR)(
    lambda site, page: page.goto(site.url(f"/admin/visites/{staff_visit(site).id}/anulla"))
)


@state("technician's visits", TECHNICIAN)
def _(site, page):
    staff_visit(site)
    page.goto(site.url("/espai/visites/"))


@state("technician's visit: person seen, errors", TECHNICIAN)
def _(site, page):
    page.goto(site.url(f"/espai/visites/{staff_visit(site).id}"))
    page.fill("#interested_email", "no és un correu")
    page.click("#seen-form button[type=submit]")
    page.wait_for_selector(".error-summary")


state("technician's visit", TECHNICIAN)(
    lambda site, page: page.goto(site.url(f"/espai/visites/{staff_visit(site).id}"))
)

state("403", TECHNICIAN)(lambda site, page: page.goto(site.url("/admin/correu/")))


# --- The checks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(STATES))
def test_every_page_state_passes_axe_reflow_spacing_targets_statement_and_budget(site, name):
    """No serious or critical axe violation; no sideways scrolling at 320 px and nothing clipped,
    also with the text-spacing overrides; a link to the accessibility statement; on citizen pages
    24 px targets, and on those of ``WEIGHED`` the first visit's weight."""
    user, reach = STATES[name]
    with site.page(user=user) as page:
        reach(site, page)
        budget = []
        if name in WEIGHED:  # loaded again as a first visit, then checked as it is
            budget = budget_problems(name, first_load(page, page.url.split("#")[0]), site.base)
        found = check_state(page, name, targets=user is None)
        found.blocking += budget
        for note in found.notes:
            print("note:", note)
        assert found.blocking == [], "\n".join(found.blocking)
        assert page.problems == [], page.problems


def test_the_checks_find_what_a_broken_page_gets_wrong(site):
    """Each check above can fail: a page with the usual mistakes trips every one of them."""
    broken = """<!doctype html><html><head><title>Trencada</title><style>
      a:focus { outline: none; }
      .wide { width: 600px; } .box { height: 1.2em; overflow: hidden; width: 10em; }
      .tiny { width: 12px; height: 12px; padding: 0; margin: 0; border: 0; }
    </style></head><body><main>
      <p><a href="#x">Una paraula</a></p>
      <input type="text" name="nom">
      <div><button class="tiny">a</button><button class="tiny">b</button></div>
      <div class="wide">Ample</div>
      <p class="box">Un text que ocupa just una línia.</p>
    </main></body></html>"""
    with site.page() as page:
        page.set_viewport_size({"width": 320, "height": 800})
        page.set_content(broken)
        focused, invisible = invisible_focus(page)
        found = check_state(page, "broken", targets=True)
    text = "\n".join(found.blocking)
    assert "no link to the accessibility statement" in text
    assert "] label (" in text and "] html-has-lang (" in text  # axe: rule id, impact, targets
    assert "broken @320px: scrolls sideways" in text
    assert "target under 24px: button" in text
    assert "with text spacing: clips p.box" in text
    assert focused == 4 and len(invisible) == 1 and invisible[0].startswith('a "Una paraula"')


# --- Keyboard: skip link and visible focus (WCAG 2.4.1, 2.4.7) ------------------------------------

SKIP_LINK_PAGES = [
    "reserva",
    "town: days",
    "survey",
    "embed: days",
    "sign-in",
    "agenda (technician)",
]


@pytest.mark.parametrize("name", SKIP_LINK_PAGES)
def test_the_skip_link_comes_first_shows_and_moves_focus_to_main(site, name):
    user, reach = STATES[name]
    with site.page(user=user) as page:
        reach(site, page)
        page.keyboard.press("Tab")
        first = page.evaluate(
            """() => {
              const el = document.activeElement, r = el.getBoundingClientRect();
              return {cls: el.className, text: el.innerText, href: el.getAttribute('href'),
                      shown: r.left >= 0 && r.top >= 0 && r.width > 0 && r.height > 0};
            }"""
        )
        assert first == {
            "cls": "skip-link",
            "text": "Vés al contingut principal",
            "href": "#main",
            "shown": True,
        }
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.keyboard.press("Tab")  # the next stop is inside main, past the header's links
        assert page.evaluate("document.querySelector('main').contains(document.activeElement)")


FOCUS_PAGES = [
    "details: errors",
    "town: a day's times",
    "survey: errors",
    "upload",
    "embed: days",
    "sign-in",
    "case: errors",
    "agenda (coordinator)",
    "counts",
]


@pytest.mark.parametrize("name", FOCUS_PAGES)
def test_every_link_button_and_field_shows_its_focus(site, name):
    """WCAG 2.4.7: tabbing onto anything changes its outline, shadow or background."""
    user, reach = STATES[name]
    with site.page(user=user) as page:
        reach(site, page)
        focused, invisible = invisible_focus(page)
    assert focused >= 8, f"only {focused} elements took the focus"
    assert invisible == [], "\n".join(invisible)


# --- Forms: error summary, autocomplete, radio groups -------------------------------------------

ERROR_STATES = [
    "details: errors",
    "embed: details errors",
    "cancel: error",
    "survey: errors",
    "upload: errors",
    "sign-in: errors",
    "case: errors",
    "phone booking: errors",
    "my account: errors",
]


@pytest.mark.parametrize("name", ERROR_STATES)
def test_a_failed_submit_focuses_the_error_summary_and_says_error_in_the_title(site, name):
    """WCAG 3.3.1: the summary has the focus, the title starts "Error: ", each link finds its
    field."""
    user, reach = STATES[name]
    with site.page(user=user) as page:
        reach(site, page)
        assert page.title().startswith("Error: "), page.title()
        assert page.evaluate("document.activeElement.classList.contains('error-summary')")
        links = page.eval_on_selector_all(
            ".error-summary a", "links => links.map(a => a.getAttribute('href'))"
        )
        assert links
        for href in links:
            fragment = href.split("#", 1)[1]
            if href.startswith("#"):
                assert page.locator(f"[id='{fragment}']").count() == 1, href


def test_personal_fields_say_what_they_hold(site):
    """WCAG 1.3.5: the browser can fill them in, and they are of the right type."""
    with site.page() as page:
        to_details(site, page)
        fields = page.evaluate(
            """() => ['name', 'email', 'phone', 'address'].map(id => {
              const el = document.getElementById(id);
              return [id, el.getAttribute('autocomplete'), el.type, el.getAttribute('spellcheck'),
                      el.getAttribute('inputmode')];
            })"""
        )
    assert fields == [
        ["name", "name", "text", "false", None],
        ["email", "email", "email", "false", None],
        ["phone", "tel", "tel", None, "tel"],
        ["address", "street-address", "text", None, None],
    ]


def radio_groups(page) -> list[list]:
    """For each radio group name: [name, radios, radios outside a fieldset, legend text]."""
    return page.evaluate(
        """() => {
          const names = [...new Set([...document.querySelectorAll('input[type=radio]')]
            .map(r => r.name))];
          return names.map(name => {
            const radios = [...document.querySelectorAll(`input[type=radio][name="${name}"]`)];
            const sets = radios.map(r => r.closest('fieldset'));
            const legend = sets[0] && sets[0].querySelector(':scope > legend');
            return [name, radios.length, sets.filter(s => !s).length,
                    legend ? legend.innerText.trim() : ''];
          });
        }"""
    )


def test_days_and_times_are_radio_groups_in_fieldsets_with_a_question_as_legend(site):
    """WCAG 1.3.1: the group's question is its legend, and the legend heads the page section."""
    with site.page() as page:
        to_times(site, page)
        groups = {name: rest for name, *rest in radio_groups(page)}
        assert groups["dia"][0] > 1 and groups["dia"][1:] == [0, "Quin dia us va bé?"]
        assert groups["slot"][0] > 1 and groups["slot"][1] == 0
        # The times come in nested groups (morning, afternoon) under the day's question.
        assert re.match(r"A quina hora us va bé el .+\?", page.inner_text("#times legend >> nth=0"))
        assert page.locator("#times fieldset fieldset legend").count() >= 1

        to_reschedule_times(site, page)
        groups = {name: rest for name, *rest in radio_groups(page)}
        assert set(groups) == {"dia", "slot"}
        assert groups["dia"][1] == 0 and groups["slot"][1] == 0 and groups["dia"][2]


def test_the_live_region_is_in_the_first_html_and_announces_the_free_times(site):
    """WCAG 4.1.3: #status exists before any script runs, and htmx fills it after choosing a day."""
    with site.page() as page:
        response = page.goto(site.url("/reserva/gelida/"))
        html = response.text()
        assert re.search(r'<div id="status"[^>]*role="status"[^>]*></div>', html), html[-800:]
        before = page.inner_text("#status")
        page.check(full_day())
        page.wait_for_selector("#times input[name=slot]")
        wait_for_announcement(page)
        after = page.inner_text("#status")
        assert before == "" and re.search(r": \d+ cites? disponibles?$", after), after
        # The region is the same element: a new one inserted with its text is often not read.
        assert page.evaluate("document.querySelectorAll('[role=status]').length") == 1


# --- Slow form filling (WCAG 2.2.1) --------------------------------------------------------------


class _LongAgo(TimestampSigner):
    """Signs as if 25 hours had passed since (more than the 20 hours WCAG 2.2.1 asks)."""

    def get_timestamp(self) -> int:
        return int(clock.timestamp()) - 25 * 3600


def test_form_tokens_outlast_a_day_of_slow_filling_by_default(site):
    assert site.app.config["WTF_CSRF_TIME_LIMIT"] is None
    with site.page() as page:
        to_details(site, page)
        fill_details(page)
        cookie = next(
            c for c in page.context.cookies() if c["name"] == site.app.config["SESSION_COOKIE_NAME"]
        )
        serializer = site.app.session_interface.get_signing_serializer(site.app)
        raw = serializer.loads(cookie["value"])["csrf_token"]
        old = URLSafeTimedSerializer(
            site.app.secret_key, salt="wtf-csrf-token", signer=_LongAgo
        ).dumps(raw)
        page.evaluate(
            "t => { document.querySelector('#details-form [name=csrf_token]').value = t }", old
        )
        page.click("#details-form button[type=submit]")
        page.wait_for_selector("text=Confirma la cita")


def test_a_form_sent_after_its_token_expired_comes_back_with_what_was_typed(site):
    """Where a deployment sets WTF_CSRF_TIME_LIMIT, nothing typed is lost."""
    with site.page() as page:
        to_details(site, page)
        fill_details(page)
        with configured(site, WTF_CSRF_TIME_LIMIT=1):
            page.wait_for_timeout(2100)  # token times are whole seconds
            page.click("#details-form button[type=submit]")
            assert page.inner_text("h1") == "El formulari ha caducat"
            assert "Hem conservat el que hi heu escrit" in page.inner_text("main")
            page.click("text=Envia el formulari de nou")
            page.wait_for_selector("text=Confirma la cita")
        main = page.inner_text("main")
        for typed in ("Núria Puig i Solà", "nuria@example.net", "612 345 678", "Carrer Major, 1"):
            assert typed in main, typed
        assert page.problems == [], page.problems


def test_an_old_token_from_another_session_gets_no_offer_to_resend(site):
    """The resend page needs this session's own token: a stranger's old one earns nothing."""
    with site.page() as stranger:
        to_details(site, stranger)
        their_token = stranger.get_attribute("#details-form [name=csrf_token]", "value")
    with site.page() as page:
        to_details(site, page)
        fill_details(page)
        with configured(site, WTF_CSRF_TIME_LIMIT=1):
            page.wait_for_timeout(2100)
            page.evaluate(
                "t => { document.querySelector('#details-form [name=csrf_token]').value = t }",
                their_token,
            )
            page.click("#details-form button[type=submit]")
            assert page.inner_text("h1") == "El formulari ha caducat"
            assert page.locator("text=Envia el formulari de nou").count() == 0


# --- Page weight: a cheap phone on a poor connection ----------------------------------------

#: Citizen pages reached by a plain GET, weighed as a first visit.
WEIGHED = [
    "reserva",
    "town: days",
    "town: not enrolled",
    "details",
    "check answers",
    "confirmation",
    "reschedule: days",
    "cancel",
    "survey",
    "survey: thanks",
    "upload",
    "privacy",
    "how to connect",
    "accessibility statement",
    "404",
    "embed: days",
]
BUDGET_BYTES = 100 * 1024
BUDGET_REQUESTS = 10


def budget_problems(name: str, load, base: str) -> list[str]:
    """Under 100 KB gzipped, at most 10 requests, none to another origin, no web fonts."""
    problems = []
    if load.compressed_bytes > BUDGET_BYTES:
        problems.append(f"{name}: {load.compressed_bytes} B gzipped: {load.responses}")
    if len(load.requests) > BUDGET_REQUESTS:
        problems.append(f"{name}: {len(load.requests)} requests: {load.requests}")
    others = [url for url in load.requests if not url.startswith(base + "/")]
    if others:
        problems.append(f"{name}: requests to other origins: {others}")
    fonts = [url for url, kind, _size in load.responses if kind == "font"]
    if fonts:
        problems.append(f"{name}: web fonts: {fonts}")
    if not any(kind == "stylesheet" for _url, kind, _size in load.responses):
        problems.append(f"{name}: the style sheet was not fetched, so not weighed: {load}")
    return problems


def test_every_citizen_page_to_weigh_is_a_citizen_page_state():
    assert set(WEIGHED) <= {name for name, (user, _reach) in STATES.items() if user is None}


def test_the_budget_check_finds_every_kind_of_excess():
    font = "https://fonts.example.net/a.woff2"
    load = Load(
        requests=[f"http://127.0.0.1:5000/{n}" for n in range(10)] + [font],
        responses=[(font, "font", 120_000)],
    )
    problems = budget_problems("heavy", load, "http://127.0.0.1:5000")
    assert [p.split(":", 2)[1].split()[-1] for p in problems] == [
        "gzipped",
        "requests",
        "origins",
        "fonts",
        "weighed",
    ], problems
