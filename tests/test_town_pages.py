"""Every town's page says what its residents can do (issue 13, item 2; review H2, M3, L10).

The real 311 towns, walked in Catalan and Spanish in one app: each answers 200 with at least
one way forward with contact details, no phone number as plain text, and (in Spanish) no
Catalan. Then each state of the page in detail: a town that books, one with its own office,
one a comarcal office covers, one the Agència serves, one enrolled from a later day, and one
whose office is not yet known (the mobile unit's next visits); the search's short forms and
typos; the queries a page costs.
"""

from __future__ import annotations

import re
from datetime import date
from datetime import timedelta

import pytest
from sqlalchemy import select

from support.days import madrid
from support.days import today
from support.factories import EVERY_DAY
from support.factories import make_service
from support.factories import make_staff
from support.htmlutil import soup
from support.journey import Citizen
from support.queries import counted_selects
from umic import clock
from umic.core.calls import DEFAULT_NAMES
from umic.core.codes import OfficeKind
from umic.core.codes import VisitStatus
from umic.extensions import db
from umic.models import ConsumerOffice
from umic.models import Municipality
from umic.models import OutboxMessage
from umic.models import UmicVisit
from umic.municipalities import MUNICIPALITIES_CSV
from umic.municipalities import OMICS_CSV
from umic.municipalities import import_municipalities

#: Words that are Catalan and never Spanish (checked against every town's name below, so a
#: town called so could not trip the check): what a Spanish page must not show.
CATALAN_ONLY = (
    "vostra",
    "vostre",
    "podeu",
    "reserveu",
    "truqueu",
    "adreceu",
    "pregunteu",
    "escriviu",
    "expliqueu",
    "trieu",
    "també",
    "encara no",
    "municipi ",
    "aquesta",
    "aquestes",
    "perquè",
    " amb ",
    " hores ",
    "servei de consum",
    "oficina de consum ",
    "videotrucada",
)
PHONE_RUN = re.compile(r"(?<![\d:/.-])(?:\d[ .]?){9,}(?![\d])")

SABADELL_PHONE = "93 000 00 01"
OCIC_PHONE = "93 000 00 02"


@pytest.fixture
def province(app):
    """The real towns and directory; Gelida books; offices and visits of every kind."""
    report = import_municipalities(MUNICIPALITIES_CSV, OMICS_CSV)
    assert not report.errors and report.created == 311
    towns = {town.name: town for town in db.session.scalars(select(Municipality))}
    service = make_service(
        name=DEFAULT_NAMES["ca"],
        name_es=DEFAULT_NAMES["es"],
        description="Us atén per videotrucada una persona tècnica en consum.",  # no Spanish
    )
    technician = make_staff(hours=EVERY_DAY)
    towns["Gelida"].enrolled_on = date(2025, 3, 1)
    towns["Begues"].enrolled_on = today() + timedelta(days=10)  # enrolled from a later day
    omic = ConsumerOffice(
        kind=OfficeKind.OMIC,
        name="OMIC de Sabadell",
        address="Carrer de Prova, 1",
        postcode="08201",
        locality="Sabadell",
        phone=SABADELL_PHONE,
        email="omic@example.org",
        web="https://omic.example.org/",
        hours="De dilluns a divendres, de 9 a 14 h",
        hours_es="De lunes a viernes, de 9 a 14 h",
    )
    ocic = ConsumerOffice(
        kind=OfficeKind.OCIC,
        name="Oficina Comarcal de Prova",
        locality="Vilafranca del Penedès",
        phone=OCIC_PHONE,
    )
    # The Agència comes with the shipped directory (phone 012, its web).
    agencia = db.session.scalar(select(ConsumerOffice).where(ConsumerOffice.kind == "agencia"))
    db.session.add_all([omic, ocic])
    db.session.flush()
    towns["Sabadell"].office_id = omic.id
    towns["Torrelles de Foix"].office_id = ocic.id
    towns["Gisclareny"].office_id = agencia.id
    day = today() + timedelta(days=3)
    for start_hour, status, place in [
        (10, VisitStatus.PLANNED, "Plaça de la Vila"),
        (16, VisitStatus.CANCELLED, "Plaça anul·lada"),
    ]:
        db.session.add(
            UmicVisit(
                municipality_id=towns["Torrelles de Llobregat"].id,
                technician_id=technician.id,
                start_utc=madrid(day, start_hour),
                end_utc=madrid(day, start_hour + 2),
                place=place,
                status=status,
            )
        )
    db.session.add(
        UmicVisit(
            municipality_id=towns["Torrelles de Llobregat"].id,
            technician_id=technician.id,
            start_utc=clock.now() - timedelta(days=2, hours=2),
            end_utc=clock.now() - timedelta(days=2),
            place="Visita passada",
        )
    )
    db.session.commit()
    return towns, service


def page_text(page) -> str:
    """What a reader meets: the title, the text, and the accessible names in attributes;
    not the directory's data marked as Catalan (an office's hours written only in Catalan).
    Takes the parsed page, and removes from it what it leaves out."""
    for hidden in page.select('script, style, body [lang="ca"]'):
        hidden.decompose()
    labels = [tag.get("aria-label", "") for tag in page.select("[aria-label]")]
    return " ".join([page.get_text(" "), *labels])


def plain_phones(page, help_phone: str) -> list[str]:
    """Phone-like digit runs outside a tel: link (and the help phone as plain text). Takes
    the parsed page, and removes the tel: links from it."""
    for link in page.select('a[href^="tel:"]'):
        link.decompose()
    text = page.get_text(" ")
    found = PHONE_RUN.findall(text)
    found += re.findall(rf"(?<!\d){re.escape(help_phone)}(?!\d)", text)
    return found


def ways_forward(page) -> list[str]:
    """The ways on offer in the page's main part: booking form, tel:, mailbox, office web."""
    main = page.select_one("main")
    ways = ["booking"] if main.select_one("form.day-form") else []
    ways += [a["href"] for a in main.select('a[href^="tel:"], a[href^="mailto:"]')]
    ways += [a["href"] for a in main.select('a[href*="/bustia/"], a[href^="http"]')]
    return ways


def get_main(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, path
    return soup(response.get_data(as_text=True)).select_one("main")


def catalan_words(text: str) -> list[str]:
    lowered = " ".join(text.lower().split()) + " "
    return [word for word in CATALAN_ONLY if word in lowered]


def test_every_town_answers_with_a_way_forward_in_catalan_and_spanish(app, client, province):
    towns, _service = province
    names = " ".join(fold_name.lower() for fold_name in towns) + " "
    assert [word for word in CATALAN_ONLY if word in names] == []  # the list is safe
    help_phone = app.config["HELP_PHONE"]
    problems = []
    for town in towns.values():
        for lang in ("ca", "es"):
            response = client.get(f"/reserva/{town.slug}/?lang={lang}")
            where = f"{town.name} ({lang})"
            if response.status_code != 200:
                problems.append(f"{where}: {response.status_code}")
                continue
            page = soup(response.get_data(as_text=True))  # parsed once; the checks trim it
            if not ways_forward(page):
                problems.append(f"{where}: no way forward")
            if phones := plain_phones(page, help_phone):
                problems.append(f"{where}: plain phone numbers {phones}")
            if lang == "es" and (words := catalan_words(page_text(page))):
                problems.append(f"{where}: Catalan in Spanish {words}")
    assert problems == []


def test_the_spanish_booking_pages_show_no_catalan(app, client, province):
    """M3: the index, the search results, a town that books (service description and footer
    included) and a town that cannot, in Spanish."""
    for path in [
        "/reserva/?lang=es",
        "/reserva/?q=torreles&lang=es",
        "/reserva/gelida/?lang=es",
        "/reserva/torrelles-de-llobregat/?lang=es",
        "/incrustat/reserva/torrelles-de-llobregat/?lang=es",
    ]:
        page = soup(client.get(path).get_data(as_text=True))
        assert catalan_words(page_text(page)) == [], path
    gelida = client.get("/reserva/gelida/?lang=es").get_data(as_text=True)
    # The service has no Spanish description: none rather than the Catalan one.
    assert "Us atén" not in gelida and DEFAULT_NAMES["es"] in gelida
    assert "Servicio de Consumo" in soup(gelida).select_one(".footer-org").get_text()
    catalan = client.get("/reserva/gelida/?lang=ca").get_data(as_text=True)
    assert "Us atén per videotrucada" in catalan


def test_the_spanish_confirmation_and_email_name_the_organisation_in_spanish(client, province):
    """M3: "Con: Servei de Consum..." on the Spanish manage page and e-mail."""
    client.get("/reserva/?lang=es")
    citizen = Citizen(client)
    assert citizen.details(citizen.first_slot()).status_code == 303
    confirmed = citizen.confirm()
    assert confirmed.status_code == 303
    manage = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "Servicio de Consumo de la Diputació" in manage and "Servei de Consum" not in manage
    sent = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "created_citizen"))
    assert "Servicio de Consumo" in sent.body_text and "Servei de Consum" not in sent.body_text
    assert "Servei de Consum" not in sent.body_html


def test_a_town_that_books_keeps_the_picker_and_lists_other_ways(client, province):
    page = soup(client.get("/reserva/gelida/?lang=ca").get_data(as_text=True))
    main = page.select_one("main")
    assert main.select_one("form.day-form") is not None
    other = main.select_one("section.other-ways")
    assert other is not None and "Altres maneres de rebre ajuda" in other.get_text()
    assert "unitat mòbil" in other.get_text() and other.select_one('a[href="/bustia/gelida/"]')
    # L13: the days say what they count.
    label = main.select_one("label.choice-label").get_text(" ", strip=True)
    assert re.search(r"\(\d+ cit(a|es) disponibles?\)", label), label


def test_a_town_with_its_own_office_gets_its_card_in_the_page_language(client, province):
    html = client.get("/reserva/sabadell/?lang=ca").get_data(as_text=True)
    main = soup(html).select_one("main")
    assert "Sabadell té oficina de consum pròpia" in main.select_one("h1").get_text()
    card = main.select_one(".office-card")
    assert card.select_one(".office-name").get_text(strip=True) == "OMIC de Sabadell"
    assert card.select_one('a[href="tel:930000001"]').get_text() == SABADELL_PHONE
    assert card.select_one('a[href="mailto:omic@example.org"]') is not None
    assert card.select_one('a[href="https://omic.example.org/"]') is not None
    assert "08201 Sabadell" in card.get_text(" ", strip=True)
    assert "De dilluns a divendres" in card.get_text()
    spanish = soup(client.get("/reserva/sabadell/?lang=es").get_data(as_text=True))
    assert "De lunes a viernes" in spanish.select_one(".office-card").get_text()
    # An own office not yet in the directory: no card, but the Agència and the phone.
    cardedeu = get_main(client, "/reserva/cardedeu/?lang=ca")
    assert "Cardedeu té oficina de consum pròpia" in cardedeu.get_text()
    assert cardedeu.select_one('a[href="tel:012"]') is not None


def test_a_town_covered_by_a_comarcal_office_or_the_agencia(client, province):
    main = soup(
        client.get("/reserva/torrelles-de-foix/?lang=ca").get_data(as_text=True)
    ).select_one("main")
    assert "oficina comarcal" in main.select_one("h1").get_text()
    card = main.select_one(".office-card")
    assert card.select_one(".office-name").get_text(strip=True) == "Oficina Comarcal de Prova"
    assert card.select_one('a[href="tel:930000002"]') is not None
    main = soup(client.get("/reserva/gisclareny/?lang=ca").get_data(as_text=True)).select_one(
        "main"
    )
    assert "no té oficina de consum local" in main.select_one("h1").get_text()
    assert main.select_one('a[href="https://consum.gencat.cat"]') is not None
    assert main.select_one('a[href="tel:012"]') is not None


def test_a_town_not_yet_known_says_so_and_lists_the_next_visits(client, province):
    html = client.get("/reserva/torrelles-de-llobregat/?lang=ca").get_data(as_text=True)
    main = soup(html).select_one("main")
    text = " ".join(main.get_text(" ").split())
    assert "Encara no sabem si Torrelles de Llobregat té oficina municipal" in text
    visits = [li.get_text(" ", strip=True) for li in main.select(".visit-list li")]
    assert len(visits) == 1 and "Plaça de la Vila" in visits[0]  # not cancelled, not past
    assert "10:00-12:00" in visits[0]
    assert "Al vostre ajuntament" in text
    assert main.select_one('a[href="tel:012"]') is not None
    # Enrolled from a later day: from when it can book.
    begues = soup(client.get("/reserva/begues/?lang=ca").get_data(as_text=True)).select_one("main")
    assert "Podreu reservar una videotrucada a partir del" in begues.get_text()


def test_the_embedded_page_offers_the_same_ways(client, province):
    response = client.get("/incrustat/reserva/torrelles-de-llobregat/?lang=ca")
    assert response.status_code == 200
    main = soup(response.get_data(as_text=True)).select_one("main")
    assert main.select_one('a[href="tel:012"]') is not None
    assert "Plaça de la Vila" in main.get_text()


def test_a_town_page_costs_a_fixed_small_number_of_queries(client, province):
    client.get("/reserva/torrelles-de-llobregat/?lang=ca")
    with counted_selects() as statements:
        assert client.get("/reserva/torrelles-de-llobregat/?lang=ca").status_code == 200
    # The town with the service and the number; its office with the Agència; the visits
    # (kept once read: nothing changed).
    assert len(statements) <= 3, statements


def test_the_search_forgives_short_forms_and_typos(client, province):
    def found(query: str) -> list[str]:
        html = client.get("/reserva/", query_string={"q": query}).get_data(as_text=True)
        return [a.get_text(strip=True) for a in soup(html).select(".town-link")]

    assert found("torreles")[:2] == ["Torrelles de Foix", "Torrelles de Llobregat"]
    assert found("Sta. Maria de Palautordera") == ["Santa Maria de Palautordera"]
    assert found("lhospitalet") == ["L'Hospitalet de Llobregat"]
    assert found("08091") == ["Gelida"]  # an INE code still works
    # htmx asks the same, as a fragment.
    fragment = client.get(
        "/reserva/", query_string={"q": "torreles"}, headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and "Torrelles de Foix" in fragment
    # A renamed town is found by its new name (the kept names are rebuilt).
    towns, _service = province
    towns["Gelida"].name = "Gelida Nova"
    towns["Gelida"].search_name = "gelida nova"
    db.session.commit()
    assert found("gelida nov") == ["Gelida Nova"]
