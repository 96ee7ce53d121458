"""Languages: no bare text in templates; the language chosen (switch, session, browser); a
switch that keeps what was typed; e-mails and invitations in the citizen's language.

(That every string has its Spanish translation is tests/unit/test_catalogues.py.)
"""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote
from urllib.parse import urlsplit

import pytest
from flask_wtf import FlaskForm
from icalendar import Calendar
from sqlalchemy import func
from sqlalchemy import select

from support.apps import smtp_config
from support.browser import PHONE
from support.browser import launched
from support.browser import served
from support.factories import PASSWORD
from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.journey import DETAILS
from support.journey import Citizen
from support.outbox import clear_text
from umic import clock
from umic.extensions import db
from umic.mail import compose as mail
from umic.mail.outbox import send_pending
from umic.models import Booking
from umic.models import BookingDraft
from umic.models import BookingStatus
from umic.models import OutboxMessage
from umic.models import Role
from umic.models import SignInAttempt
from umic.models import SurveyResponse
from umic.surveys import service as survey_mail
from umic.web.forms import Form

TEMPLATES = Path(__file__).resolve().parents[1] / "umic" / "templates"
# Names that are the same in every language.
PROPER_NAMES = {
    "Diputació de Barcelona",
    "Google Calendar",
    "Outlook",
    "METHOD:",
    "SEQUENCE:",
    "©",
}

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
# Blocks whose content is markup data, not text people read (a CSS class name).
_DATA_BLOCKS = re.compile(r"\{% block body_class %\}.*?\{% endblock %\}", re.S)
_TAG = re.compile(r"<[^>]+>", re.S)
_ENTITY = re.compile(r"&[a-z]+;|&#\d+;")


def bare_text(source: str) -> list[str]:
    """Visible words left once Jinja and HTML are removed."""
    source = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", source, flags=re.S)
    source = _DATA_BLOCKS.sub(" ", source)
    text = _ENTITY.sub(" ", _TAG.sub(" ", _JINJA.sub(" ", source)))
    for name in PROPER_NAMES:
        text = text.replace(name, " ")
    chunks = (chunk.strip() for chunk in re.split(r"\s{2,}|\n", text))
    return [chunk for chunk in chunks if re.search(r"[^\W\d_]{2,}", chunk)]


@pytest.mark.parametrize(
    "template",
    sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*") if p.is_file()),
)
def test_no_untranslatable_text_in_templates(template):
    assert bare_text((TEMPLATES / template).read_text(encoding="utf-8")) == []


def test_the_check_catches_bare_text():
    assert bare_text("<p>Hola {{ name }}</p>") == ["Hola"]
    assert bare_text('<p>{{ _("Hola") }}</p>') == []


# --- Choosing the language ---------------------------------------------------------------------

SPANISH_DAY = re.compile(
    r"(lunes|martes|miércoles|jueves|viernes|sábado|domingo), \d{1,2} de "
    r"(enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)"
    r" de \d{4}, \d\d:\d\d-\d\d:\d\d"
)


def html_lang(html: str) -> str:
    return soup(html).html["lang"]


def test_accept_language_gives_spanish_pages(app, client):
    response = client.get("/reserva/", headers={"Accept-Language": "es-ES,es;q=0.9,ca;q=0.5"})
    html = response.get_data(as_text=True)
    assert html_lang(html) == "es"
    assert "¿En qué municipio vive?" in html
    assert response.headers["Content-Language"] == "es"
    assert "Accept-Language" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "ca"),
        ("ca-ES,ca;q=0.9", "ca"),
        ("fr-FR,es;q=0.5", "es"),
        ("en-US,en;q=0.9", "ca"),  # English is not offered by default: Catalan
    ],
)
def test_the_browser_language_is_matched_among_those_offered(app, client, header, language):
    headers = {"Accept-Language": header} if header else {}
    response = client.get("/reserva/", headers=headers)
    assert html_lang(response.get_data(as_text=True)) == language
    assert response.headers["Content-Language"] == language


def test_a_chosen_language_is_remembered_across_pages_and_overrides_the_browser(app, client):
    make_world()
    spanish = client.get("/reserva/?lang=es", headers={"Accept-Language": "ca"})
    assert html_lang(spanish.get_data(as_text=True)) == "es"
    for path in ("/reserva/gelida/", "/privacitat", "/entra"):
        page = client.get(path, headers={"Accept-Language": "ca"}).get_data(as_text=True)
        assert html_lang(page) == "es", path
    client.get("/reserva/?lang=ca")
    assert html_lang(client.get("/reserva/gelida/").get_data(as_text=True)) == "ca"
    client.get("/reserva/?lang=xx")  # not a language we speak: ignored
    assert html_lang(client.get("/reserva/").get_data(as_text=True)) == "ca"


def test_htmx_fragments_come_in_the_chosen_language(app, client):
    make_world()
    client.get("/reserva/?lang=es")
    fragment = client.get("/reserva/?q=geli", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text
    assert "Se ha encontrado 1 municipio" in text


def switch_of(html: str) -> list[dict]:
    """Each other language offered by the page's switch: how it is offered."""
    items = []
    for element in soup(html).select(".language-switch a, .language-switch button"):
        items.append({"tag": element.name, "lang": element["lang"], **element.attrs})
    return items


def test_every_page_has_the_switch_and_links_keep_the_query_string(app, client, login):
    world = make_world()
    make_staff("COORDINACIO", role=Role.COORDINATOR)
    manage = Citizen(client).book()
    pages = [
        "/reserva/?q=geli",
        "/reserva/gelida/",
        manage,
        "/privacitat",
        "/com-connectar",
        "/accessibilitat",
        "/no-existeix",
        "/entra?next=/espai/",
    ]
    for path in pages:
        response = client.get(path)
        switch = switch_of(response.get_data(as_text=True))
        assert [item["lang"] for item in switch] == ["es"], path
        if path != "/entra?next=/espai/":  # the sign-in form keeps what was typed (below)
            assert switch[0]["tag"] == "a", path
    links = {path: switch_of(client.get(path).get_data(as_text=True))[0] for path in pages[:2]}
    assert links["/reserva/?q=geli"]["href"] == "/reserva/?q=geli&lang=es"
    assert links["/reserva/gelida/"]["href"] == "/reserva/gelida/?lang=es"
    login(world.technicians[0].username)
    for path in ("/espai/", "/espai/expedients/", "/espai/cites/nova"):
        html = client.get(path).get_data(as_text=True)
        assert [item["lang"] for item in switch_of(html)] == ["es"], path


def test_a_page_shown_after_a_post_only_address_switches_from_the_page_it_came_from(
    app, client, login
):
    make_staff("COORDINACIO", role=Role.COORDINATOR)
    login("COORDINACIO")
    page = client.get("/admin/comptatges/?mes=2025-03").get_data(as_text=True)
    response = client.post(
        "/admin/comptatges/importa",
        data={"csrf_token": csrf_token(page)},
        headers={"Referer": "http://localhost/admin/comptatges/?mes=2025-03"},
    )
    assert response.status_code == 200  # the import's error, on the page
    (link,) = switch_of(response.get_data(as_text=True))
    assert link["href"] == "/admin/comptatges/?mes=2025-03&lang=es"
    assert html_lang(client.get(link["href"]).get_data(as_text=True)) == "es"


@pytest.mark.parametrize("path", ["/%5Cevil.example/x", "//evil.example/x", "/%2F%2Fevil.example"])
def test_the_switch_never_links_to_another_site(client, path):
    """A 404 for a path that browsers would read as another host links to a path of ours."""
    response = client.get(path)
    assert response.status_code == 404
    for link in switch_of(response.get_data(as_text=True)):
        href = link["href"]
        assert href.startswith("/") and href[1:2] not in ("/", "\\"), href
        assert not urlsplit(href).netloc


def test_a_referer_that_is_not_a_url_still_gives_the_page(app, client, login):
    make_staff("COORDINACIO", role=Role.COORDINATOR)
    login("COORDINACIO")
    page = client.get("/admin/comptatges/?mes=2025-03").get_data(as_text=True)
    response = client.post(
        "/admin/comptatges/importa",
        data={"csrf_token": csrf_token(page)},
        headers={"Referer": "http://[x"},
    )
    assert response.status_code == 200
    (link,) = switch_of(response.get_data(as_text=True))
    assert link["href"] == "/?lang=es"


def test_each_page_that_keeps_typed_text_names_a_form_it_has():
    """A template setting language_form must hold a form with that id (or the switch breaks)."""
    found = 0
    for template in TEMPLATES.rglob("*.html"):
        source = template.read_text(encoding="utf-8")
        for included in re.findall(r'\{% include "([\w/.-]+)"', source):
            source += (TEMPLATES / included).read_text(encoding="utf-8")
        for form_id in re.findall(r'\{% set language_form = "([\w-]+)"', source):
            found += 1
            assert f'<form id="{form_id}" method="post"' in source, template
    assert found >= 10


def test_every_form_of_the_app_is_safe_from_the_switch(app):
    """The switch posts a page's form: no form may treat that as a real submission."""

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [cls for cls in subclasses(FlaskForm) if cls.__module__.startswith("umic.")]
    assert len(ours) > 10
    assert [cls.__name__ for cls in ours if not issubclass(cls, Form)] == []


# --- The switch keeps what was typed (no JavaScript) ----------------------------------------------


def test_switching_language_on_the_details_form_keeps_what_was_typed(app, client):
    make_world()
    citizen = Citizen(client)
    slot = citizen.first_slot()
    page = client.get("/reserva/gelida/dades", query_string={"slot": slot}).get_data(as_text=True)
    (button,) = switch_of(page)
    assert (button["tag"], button["form"], button["name"], button["value"]) == (
        "button",
        "details-form",
        "_idioma",
        "es",
    )
    assert (
        button["formaction"].startswith("/reserva/gelida/dades?")
        and "lang=es" in (button["formaction"])
    )
    assert soup(page).select_one("form#details-form")
    typed = {
        "csrf_token": csrf_token(page),
        "slot": slot,
        "name": "Rosa Martí Vidal",
        "email": "rosa.marti@",  # not valid yet, and no consent: no errors shown anyway
        "description": "La companyia elèctrica m'ha cobrat dues vegades.\nQuè puc fer?",
        "_idioma": "es",
    }
    response = client.post(button["formaction"], data=typed)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html_lang(html) == "es" and "Sus datos" in html
    form = soup(html).select_one("form#details-form")
    assert form.select_one("#name")["value"] == "Rosa Martí Vidal"
    assert form.select_one("#email")["value"] == "rosa.marti@"
    description = form.select_one("#description").get_text()
    assert "m'ha cobrat dues vegades." in description and "Què puc fer?" in description
    assert form.select_one("input[name=slot]")["value"] == slot
    assert error_messages(html) == [] and not soup(html).select(".error-summary")
    assert not soup(html).title.get_text().startswith("Error")
    assert db.session.scalar(select(func.count(BookingDraft.id))) == 0
    # Back in Catalan the same way, then on: the rest of the booking is in the language chosen.
    (back,) = switch_of(html)
    assert (back["value"], back["lang"]) == ("ca", "ca")
    client.get("/reserva/?lang=es")
    done = citizen.details(slot, name="Rosa Martí Vidal")
    assert done.status_code == 303
    assert "Compruebe los datos" in client.get("/reserva/gelida/comprova").get_data(as_text=True)


def test_switching_on_the_cancel_page_keeps_the_reason_and_cancels_nothing(app, client):
    make_world()
    manage = Citizen(client).book()
    page = client.get(f"{manage}/anulla").get_data(as_text=True)
    (button,) = switch_of(page)
    assert button["form"] == "cancel-form"
    response = client.post(
        button["formaction"],
        data={"csrf_token": csrf_token(page), "reason": "Ja m'ho han resolt", "_idioma": "es"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "¿Quiere anular la cita?" in html
    assert soup(html).select_one("#reason").get_text().strip() == "Ja m'ho han resolt"
    db.session.expire_all()
    booking = db.session.scalar(select(Booking))
    assert booking.status == BookingStatus.CONFIRMED
    assert [m.kind for m in db.session.scalars(select(OutboxMessage))] == [
        "created_citizen",
        "created_technician",
    ]


def test_switching_on_the_sign_in_form_signs_no_one_in_and_sign_in_keeps_the_language(app, client):
    staff = make_staff("OPSSVEGAVN")
    page = client.get("/entra").get_data(as_text=True)
    (button,) = switch_of(page)
    response = client.post(
        button["formaction"],
        data={
            "csrf_token": csrf_token(page),
            "username": "opssvegavn",
            "password": PASSWORD,
            "_idioma": "es",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Acceso del personal" in html
    assert soup(html).select_one("#username")["value"] == "OPSSVEGAVN"  # as typed, cleaned
    assert soup(html).select_one("#password").get("value") in (None, "")
    assert db.session.scalar(select(func.count(SignInAttempt.id))) == 0
    assert client.get("/espai/").status_code == 302  # still signed out
    signed_in = client.post(
        "/entra",
        data={"csrf_token": csrf_token(html), "username": staff.username, "password": PASSWORD},
    )
    assert signed_in.status_code == 303
    assert html_lang(client.get("/espai/").get_data(as_text=True)) == "es"


# --- E-mails and invitations in the citizen's language --------------------------------------------


@pytest.fixture
def app_config(smtp) -> dict:
    return smtp_config(smtp)


def delivered(smtp) -> dict[str, list]:
    """What the SMTP server received, by recipient."""
    by_recipient: dict[str, list] = {}
    for received in smtp.messages():
        by_recipient.setdefault(received.rcpt_tos[0], []).append(received)
    return by_recipient


def text_of(received) -> str:
    return received.message.get_body(("plain",)).get_content()


def event_of(received):
    part = next(p for p in received.message.walk() if p.get_content_type() == "text/calendar")
    return Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]


def test_a_booking_made_in_spanish_is_confirmed_in_spanish(app, client, smtp):
    make_world()
    client.get("/reserva/?lang=es")
    manage = Citizen(client).book()
    db.session.expire_all()
    booking = db.session.scalar(select(Booking))
    assert booking.language == "es"
    assert send_pending().sent == 2

    mails = delivered(smtp)
    (citizen,) = mails[DETAILS["email"]]
    subject = str(citizen.message["Subject"]).strip()
    assert subject.startswith("Su reserva se ha confirmado: ")
    assert SPANISH_DAY.fullmatch(subject.removeprefix("Su reserva se ha confirmado: "))
    body = text_of(citizen)
    assert "Hola, Raúl Sánchez Puig:" in body and "Su reserva se ha confirmado." in body
    assert SPANISH_DAY.search(body)
    # Its links open the pages in Spanish, on any device.
    token = manage.rsplit("/", 1)[1]
    assert f"http://localhost/cita/{token}/planifica?lang=es" in body
    event = event_of(citizen)
    description = str(event["DESCRIPTION"])
    assert description.startswith("Videollamada con ") and SPANISH_DAY.search(description)
    assert "Enlace para entrar en la videollamada:" in description
    assert "http://localhost/com-connectar?lang=es" in description
    # The technician's copy stays in the service's language.
    (technician,) = mails[booking.technician.email]
    assert str(technician.message["Subject"]).strip().startswith("Nova reserva de ")
    assert str(event_of(technician)["DESCRIPTION"]).count("hora de Madrid") == 1


@pytest.mark.parametrize(
    ("language", "when"),
    [
        ("es", "martes, 25 de marzo de 2025, 16:30-17:00"),
        ("ca", "dimarts, 25 de març de 2025, 16:30-17:00"),
    ],
)
def test_the_confirmation_writes_the_date_in_the_citizens_language(app, smtp, language, when):
    world = make_world()
    start = datetime(2025, 3, 25, 15, 30, tzinfo=UTC)  # 16:30 in Madrid
    booking, token = make_booking(
        world.town, world.service, world.technicians[0], start, language=language
    )
    mail.notify_booking_created(booking, token)
    db.session.commit()
    assert send_pending().sent == 2
    (citizen,) = delivered(smtp)["raul@example.net"]
    assert str(citizen.message["Subject"]).strip().endswith(f": {when}")
    assert when in text_of(citizen)
    assert when in str(event_of(citizen)["DESCRIPTION"])


def test_the_survey_email_is_in_the_citizens_language(app, smtp):
    world = make_world()
    start = datetime(2025, 3, 25, 15, 30, tzinfo=UTC)
    booking, _token = make_booking(
        world.town,
        world.service,
        world.technicians[0],
        start,
        status=BookingStatus.ATTENDED,
        language="es",
    )
    now = booking.end_utc + timedelta(hours=1)
    assert survey_mail.queue_survey(booking, now)
    db.session.commit()
    assert send_pending().sent == 1
    (received,) = delivered(smtp)["raul@example.net"]
    subject = str(received.message["Subject"]).strip()
    assert subject == "¿Cómo valora la videollamada del martes, 25 de marzo de 2025?"
    body = text_of(received)
    assert "Gracias por la videollamada del martes, 25 de marzo de 2025" in body
    assert re.search(r"http://localhost/enquesta/\S+\?lang=es", body)


def test_the_survey_opens_in_spanish_and_the_switch_keeps_the_answers(app, client):
    world = make_world()
    start = clock.now().replace(second=0, microsecond=0) - timedelta(hours=2)
    booking, _token = make_booking(
        world.town,
        world.service,
        world.technicians[0],
        start,
        status=BookingStatus.ATTENDED,
        language="es",
    )
    assert survey_mail.queue_survey(booking, clock.now())
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "survey"))
    link = re.search(r"http://localhost(/enquesta/\S+\?lang=es)", clear_text(message)).group(1)

    # The link opens the survey in Spanish; switching to Catalan keeps the answers so far.
    page = client.get(link).get_data(as_text=True)
    assert html_lang(page) == "es" and "Encuesta de valoración" in page
    (button,) = switch_of(page)
    assert (button["form"], button["value"]) == ("survey-form", "ca")
    answers = {"csrf_token": csrf_token(page), "attention": "9", "comment": "Molt clar"}
    response = client.post(button["formaction"], data={**answers, "_idioma": "ca"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html_lang(html) == "ca"
    assert soup(html).select_one("input[name=attention][value='9']").has_attr("checked")
    assert soup(html).select_one("#comment").get_text().strip() == "Molt clar"
    assert error_messages(html) == []
    assert db.session.scalar(select(func.count(SurveyResponse.id))) == 0


def test_staff_book_a_phone_call_in_the_citizens_language(app, client, login):
    world = make_world(technicians=1)
    login(world.technicians[0].username)
    slot = Citizen(client).first_slot()
    query = {"municipi": world.town.id, "slot": slot}
    page = client.get("/espai/cites/nova/dades", query_string=query).get_data(as_text=True)
    options = soup(page).select("#language option")
    assert [(o["value"], o.get_text()) for o in options] == [("ca", "Català"), ("es", "Castellano")]
    assert options[0].has_attr("selected")
    data = {
        "csrf_token": csrf_token(page),
        **query,
        "name": "Persona Que Truca",
        "email": "truca@example.net",
        "technician": 0,
        "language": "es",
        "consent": "y",
    }
    assert client.post("/espai/cites/nova/dades", data=data).status_code == 303
    booking = db.session.scalar(select(Booking))
    assert booking.language == "es"
    to_citizen = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.recipient == "truca@example.net")
    )
    assert to_citizen.subject.startswith("Su reserva se ha confirmado: ")
    assert html_lang(client.get("/espai/").get_data(as_text=True)) == "ca"  # staff: unchanged


# --- The switch in a real browser -----------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_the_switch_keeps_typed_text_in_chromium(app, javascript):
    make_world()
    slot = Citizen(app.test_client()).first_slot()
    with served(app) as site, launched() as browser:
        context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{site}/reserva/gelida/dades?slot={quote(slot)}")
        page.fill("#name", "Núria Puig i Solà")
        page.fill("#email", "nuria@example.net")
        page.fill("#description", "La companyia de telèfon m'ha donat de baixa.")
        page.click(".language-switch button[lang=es]")
        page.wait_for_selector("html[lang=es]")
        assert page.inner_text("h1") == "Sus datos"
        assert page.input_value("#name") == "Núria Puig i Solà"
        assert page.input_value("#email") == "nuria@example.net"
        assert page.input_value("#description") == "La companyia de telèfon m'ha donat de baixa."
        assert page.locator(".error-summary").count() == 0
        page.check("#consent")
        page.click("main form button[type=submit]")
        assert page.inner_text("h1").startswith("Compruebe los datos")
        context.close()
        assert problems == []
