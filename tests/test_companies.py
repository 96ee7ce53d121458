"""The registry of companies (issue 14, part 1): finding and creating, linking cases, merging
duplicates, the bulk backfill and its CLI, the staff pages (/espai/empreses/), the company on
the case form and the case page, the case list's company and sector filters and export, and
the demo's companies. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from support.factories import make_staff
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import form_values
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.queries import counted_selects
from umic import clock
from umic.casefiles.service import create_case
from umic.companies import backfill
from umic.companies import duplicates
from umic.companies import find_or_create
from umic.companies import link_case
from umic.companies import merge
from umic.extensions import db
from umic.models import CaseEvent
from umic.models import CaseFile
from umic.models import Company
from umic.models import Mediation
from umic.models import Role

LIST = "/espai/empreses/"
FORM = "#case-form"


def add_case(**values) -> CaseFile:
    case = create_case({"interested_name": "Maria Puig", **values}, actor=None, now=clock.now())
    db.session.commit()
    return case


@pytest.fixture
def technician(app, login):
    user = make_staff("OPSSVEGAVN")
    login("OPSSVEGAVN")
    return user


@pytest.fixture
def coordinator(app, login):
    user = make_staff("COORDINACIO", role=Role.COORDINATOR)
    login("COORDINACIO")
    return user


# --- The service ---------------------------------------------------------------------------


def test_find_or_create_matches_tax_id_then_name_and_fills_only_empty_fields(app):
    endesa = find_or_create("Endesa Energía, S.A.U.", sector="ELECTRICITAT_GAS_AIGUA")
    db.session.commit()
    assert endesa.name_key == "endesa energia" and endesa.tax_id is None
    same = find_or_create(
        "ENDESA ENERGIA SAU", tax_id="es-a81948077", sector="TELECOM", phone="900 000 000"
    )
    assert same.id == endesa.id
    assert same.tax_id == "A81948077"  # it had none: filled
    assert same.sector == "ELECTRICITAT_GAS_AIGUA"  # it had one: kept
    assert same.phone == "900 000 000"
    assert same.name == "Endesa Energía, S.A.U."
    by_tax_id = find_or_create("Un altre nom qualsevol", tax_id="A81948077")
    assert by_tax_id.id == endesa.id
    other = find_or_create("Endesa Energía", tax_id="B12345674")  # same key, other tax id
    assert other.id != endesa.id
    db.session.commit()
    assert db.session.scalar(select(func.count(Company.id))) == 2
    with pytest.raises(ValueError):
        find_or_create("   ")


def test_link_case_keeps_the_text_in_step_and_writes_the_history(app):
    case = add_case(company="endesa")
    endesa = find_or_create("Endesa Energía, S.A.U.")
    event = link_case(case, endesa, now=clock.now())
    db.session.commit()
    assert case.company_id == endesa.id and case.company == "Endesa Energía, S.A.U."
    assert (event.field, event.old_value, event.new_value) == (
        "company",
        "endesa",
        "Endesa Energía, S.A.U.",
    )
    assert link_case(case, endesa) is None  # nothing changed: no history
    link_case(case, None)
    assert case.company_id is None


def test_merge_moves_cases_and_mediations_fills_fields_and_records_it(app):
    actor = make_staff("COORDINACIO", role=Role.COORDINATOR)
    keep = find_or_create("Naturgy", sector="ELECTRICITAT_GAS_AIGUA")
    drop = find_or_create("NATURGY IBERIA", tax_id="B12345674")
    drop.name_key = keep.name_key  # as a typo'd duplicate would be
    drop.claims_email = "reclamacions@naturgy.example"
    drop.notes = "Telèfon d'empreses a part."
    cases = [add_case(company="Naturgy Iberia") for _ in range(3)]
    for case in cases:
        case.company_id = drop.id
    mediation = Mediation(case_id=cases[0].id, company_id=drop.id, answer_due=date(2025, 6, 1))
    db.session.add(mediation)
    db.session.commit()
    assert [[c.id for c in group] for group in duplicates()] == [[keep.id, drop.id]]
    drop_id = drop.id
    with counted_selects() as reads:
        moved = merge(keep, drop, actor=actor, now=clock.now())
    db.session.commit()
    assert moved == 3
    assert len(reads) <= 3  # no read per case
    assert db.session.get(Company, drop_id) is None
    assert {c.company_id for c in db.session.scalars(select(CaseFile))} == {keep.id}
    assert db.session.scalar(select(Mediation.company_id)) == keep.id
    assert keep.tax_id == "B12345674"
    assert keep.claims_email == "reclamacions@naturgy.example"
    assert keep.sector == "ELECTRICITAT_GAS_AIGUA"
    assert "NATURGY IBERIA" in keep.notes and "COORDINACIO" in keep.notes
    assert "Telèfon d'empreses a part." in keep.notes
    assert duplicates() == []
    with pytest.raises(ValueError):
        merge(keep, keep, actor=actor, now=clock.now())


def test_backfill_links_cases_by_name_in_a_fixed_number_of_queries(app):
    endesa = find_or_create("Endesa Energía, S.A.U.")
    db.session.commit()
    names = ["ENDESA ENERGIA SAU", "Endesa Energía", "Movistar", "movistar s.a.", "", "Botiga"]
    for index in range(30):
        add_case(company=names[index % len(names)])
    with counted_selects() as reads:
        report = backfill(clock.now(), create=False)
    db.session.commit()
    assert len(reads) == 2  # the distinct texts, the registry
    assert report.created == 0 and report.linked == 10
    linked = db.session.scalars(select(CaseFile).where(CaseFile.company_id == endesa.id)).all()
    # Texts left as written.
    assert {case.company for case in linked} == {"ENDESA ENERGIA SAU", "Endesa Energía"}
    report = backfill(clock.now())
    db.session.commit()
    assert report.created == 2  # Movistar (once for both spellings) and Botiga
    movistar = db.session.scalar(select(Company).where(Company.name_key == "movistar"))
    assert (
        db.session.scalar(select(func.count(CaseFile.id)).where(CaseFile.company_id == movistar.id))
        == 10
    )
    assert (
        db.session.scalar(
            select(func.count(CaseFile.id)).where(
                CaseFile.company_id.is_(None), CaseFile.company != ""
            )
        )
        == 0
    )


def test_the_cli_links_cases(app, runner):
    add_case(company="Vodafone España, S.A.U.")
    result = runner.invoke(args=["companies", "link-cases", "--no-create"])
    assert result.exit_code == 0, result.output
    assert "0 cases linked, 0 companies created" in result.output
    result = runner.invoke(args=["companies", "link-cases"])
    assert "1 cases linked, 1 companies created" in result.output
    assert db.session.scalar(select(Company.name)) == "Vodafone España, S.A.U."


# --- The pages -----------------------------------------------------------------------------


def test_the_list_searches_filters_and_counts_cases_in_one_grouped_query(app, client, technician):
    naturgy = find_or_create("Naturgy", sector="ELECTRICITAT_GAS_AIGUA", tax_id="B12345674")
    find_or_create("Movistar", sector="TELECOM")
    for _ in range(3):
        link_case(add_case(), naturgy)
    db.session.commit()
    html = client.get(LIST).get_data(as_text=True)
    rows = [row.get_text(" ", strip=True) for row in soup(html).select("tbody tr")]
    assert rows[0].startswith("Movistar") and rows[1].startswith("Naturgy")
    assert rows[1].endswith("3")
    assert f'href="/espai/expedients/?empresa={naturgy.id}"' in html
    for query, found in [("q=NATURGY S.A.", "Naturgy"), ("q=b-12345674", "Naturgy")]:
        page = soup(client.get(f"{LIST}?{query}").get_data(as_text=True))
        assert [th.get_text(strip=True) for th in page.select("tbody th")] == [found]
    page = soup(client.get(f"{LIST}?sector=TELECOM").get_data(as_text=True))
    assert [th.get_text(strip=True) for th in page.select("tbody th")] == ["Movistar"]
    assert client.get(f"{LIST}?sector=nope&pagina=xyz&q=%00").status_code == 200
    with counted_selects() as reads:
        client.get(LIST)
    few = len(reads)
    for index in range(60):
        link_case(add_case(), find_or_create(f"Empresa de prova {index:02}"))
    db.session.commit()
    with counted_selects() as reads:
        html = client.get(LIST).get_data(as_text=True)
    assert len(reads) == few  # flat: never a query per company
    assert len(soup(html).select("tbody tr")) == 50
    assert "?pagina=2" in html
    second = client.get(f"{LIST}?pagina=2").get_data(as_text=True)
    assert len(soup(second).select("tbody tr")) == 12


def test_creating_a_company_validates_and_keeps_what_was_typed(app, client, technician):
    existing = find_or_create("Naturgy", tax_id="B12345674")
    db.session.commit()
    html = client.get(f"{LIST}nova").get_data(as_text=True)
    data = form_values(html)
    data.update(
        name="Endesa Energía",
        tax_id="B12345675",
        claims_email="no és un correu",
        sector="ELECTRICITAT_GAS_AIGUA",
    )
    response = client.post(f"{LIST}nova", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    messages = error_messages(html)
    assert any("últim caràcter" in message for message in messages)
    assert any("correu electrònic vàlida" in message for message in messages)
    assert {href for href, _text in summary_links(html)} == {"#tax_id", "#claims_email"}
    assert 'value="Endesa Energía"' in html
    data.update(tax_id="b-12345674", claims_email="reclamacions@endesa.example")
    html = client.post(f"{LIST}nova", data=data).get_data(as_text=True)
    assert "«Naturgy» ja té aquest NIF" in " ".join(error_messages(html))
    assert existing.name == "Naturgy"
    data.update(tax_id="ES A81948077")
    response = client.post(f"{LIST}nova", data=data)
    assert response.status_code == 303
    company = db.session.scalar(select(Company).where(Company.name == "Endesa Energía"))
    assert company.tax_id == "A81948077" and company.name_key == "endesa energia"
    assert company.claims_email == "reclamacions@endesa.example"
    data = form_values(client.get(f"{LIST}nova").get_data(as_text=True))
    html = client.post(f"{LIST}nova", data=data).get_data(as_text=True)
    assert "Escriviu el nom de l'empresa" in error_messages(html)


def test_the_company_page_edits_and_links_to_its_cases(app, client, technician):
    company = find_or_create("Movistar", sector="TELECOM")
    link_case(add_case(), company)
    db.session.commit()
    url = f"{LIST}{company.id}"
    html = client.get(url).get_data(as_text=True)
    assert f"/espai/expedients/?empresa={company.id}" in html
    data = form_values(html, "#company-form")
    data.update(
        name="Telefónica de España, S.A.U.",
        claims_channel="Formulari web de reclamacions",
        language="es",
        tax_id="",
    )
    assert client.post(url, data=data).status_code == 303
    db.session.refresh(company)
    assert company.name_key == "telefonica de espana" and company.language == "es"
    assert company.tax_id is None
    assert "Formulari web de reclamacions" in client.get(url).get_data(as_text=True)
    data.update(language="fr")
    html = client.post(url, data=data).get_data(as_text=True)
    assert summary_links(html) and summary_links(html)[0][0] == "#language"
    assert client.get(f"{LIST}999999").status_code == 404


def test_only_coordinators_merge_and_only_after_confirming(app, client, login):
    make_staff("OPSSVEGAVN")
    make_staff("COORDINACIO", role=Role.COORDINATOR)
    keep = find_or_create("Naturgy")
    drop = Company(name="NATURGY, S.A.", name_key="naturgy")
    db.session.add(drop)
    db.session.commit()
    link_case(add_case(), drop)
    db.session.commit()
    login("OPSSVEGAVN")
    assert client.get(f"{LIST}duplicats").status_code == 403
    assert "duplicats" not in client.get(LIST).get_data(as_text=True)
    client.post("/surt", data={"csrf_token": csrf_token(client.get(LIST).get_data(as_text=True))})
    login("COORDINACIO")
    html = client.get(f"{LIST}duplicats").get_data(as_text=True)
    assert "NATURGY, S.A." in html
    data = form_values(html, "main form")
    assert data["keep"] == str(keep.id) and data["drop"] == str(drop.id)
    html = client.post(f"{LIST}duplicats", data=data).get_data(as_text=True)
    assert "Confirmeu la fusió" in html
    assert db.session.get(Company, drop.id) is not None  # nothing yet
    confirm = form_values(html, "main form")
    assert confirm["confirm"] == "1"
    assert client.post(f"{LIST}duplicats", data=confirm).status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Company.id))) == 1
    assert db.session.scalar(select(CaseFile.company_id)) == keep.id
    again = client.post(f"{LIST}duplicats", data=confirm)  # merged already
    assert again.status_code == 303
    bad = dict(confirm, keep="abc")
    assert client.post(f"{LIST}duplicats", data=bad).status_code == 303


# --- Cases ---------------------------------------------------------------------------------


def test_the_case_form_links_the_typed_company(app, client, technician):
    endesa = find_or_create("Endesa Energía, S.A.U.", claims_email="reclamacions@endesa.example")
    db.session.commit()
    html = client.get("/espai/expedients/nou").get_data(as_text=True)
    assert soup(html).select_one("#company")["list"] == "company-names"
    assert "Endesa Energía, S.A.U." in soup(html).select_one("#company-names").decode()
    data = form_values(html, "#case-form")
    data.update(interested_name="Joan Vila", company="ENDESA ENERGIA SAU", sector="TELECOM")
    response = client.post("/espai/expedients/nou", data=data)
    assert response.status_code == 303
    case = db.session.scalar(select(CaseFile))
    assert case.company_id == endesa.id and case.company == "Endesa Energía, S.A.U."
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    block = soup(page).select_one("#case-company")
    assert block.select_one("a")["href"] == f"/espai/empreses/{endesa.id}"
    assert "reclamacions@endesa.example" in block.get_text()
    # Saved again unchanged: still linked; a new name adds it to the registry.
    data = form_values(page, "#case-form")
    assert data["company_id"] == str(endesa.id)
    assert client.post(f"/espai/expedients/{case.id}", data=data).status_code == 303
    db.session.expire_all()
    assert db.session.get(CaseFile, case.id).company_id == endesa.id
    data = form_values(
        client.get(f"/espai/expedients/{case.id}").get_data(as_text=True), "#case-form"
    )
    data.update(company="Orange Espagne, S.A.U.")
    assert client.post(f"/espai/expedients/{case.id}", data=data).status_code == 303
    db.session.expire_all()
    case = db.session.get(CaseFile, case.id)
    orange = db.session.scalar(select(Company).where(Company.name_key == "orange espagne"))
    assert case.company_id == orange.id and orange.sector == "TELECOM"
    change = db.session.scalar(
        select(CaseEvent).where(CaseEvent.field == "company").order_by(CaseEvent.id.desc())
    )
    assert change.new_value == "Orange Espagne, S.A.U."
    data = form_values(
        client.get(f"/espai/expedients/{case.id}").get_data(as_text=True), "#case-form"
    )
    data.update(company="")
    assert client.post(f"/espai/expedients/{case.id}", data=data).status_code == 303
    db.session.expire_all()
    assert db.session.get(CaseFile, case.id).company_id is None


def test_the_case_list_filters_by_company_and_sector_and_exports_it(app, client, technician):
    naturgy = find_or_create("Naturgy")
    movistar = find_or_create("Movistar")
    link_case(add_case(interested_name="Anna Gas", sector="ELECTRICITAT_GAS_AIGUA"), naturgy)
    link_case(add_case(interested_name="Pere Mòbil", sector="TELECOM"), movistar)
    add_case(interested_name="Rosa Sense", sector="TELECOM")
    db.session.commit()

    def found(args: str) -> list[str]:
        html = client.get(f"/espai/expedients/?{args}").get_data(as_text=True)
        return sorted(soup(html).select_one("tbody").get_text(" ", strip=True).split(" ")[:0]) or [
            name for name in ("Anna Gas", "Pere Mòbil", "Rosa Sense") if name in html
        ]

    assert found(f"empresa={naturgy.id}") == ["Anna Gas"]
    assert found("sector=TELECOM") == ["Pere Mòbil", "Rosa Sense"]
    assert found(f"sector=TELECOM&empresa={movistar.id}") == ["Pere Mòbil"]
    assert found("sector=NOPE&empresa=abc") == ["Anna Gas", "Pere Mòbil", "Rosa Sense"]
    html = client.get("/espai/expedients/").get_data(as_text=True)
    options = [o.get_text() for o in soup(html).select("#empresa option")]
    assert options[1:] == ["Movistar", "Naturgy"]
    assert soup(html).select_one("#sector option[value=TELECOM]") is not None
    with counted_selects() as reads:
        client.get(f"/espai/expedients/?empresa={naturgy.id}&sector=ELECTRICITAT_GAS_AIGUA")
    few = len(reads)
    for index in range(20):
        link_case(add_case(sector="ELECTRICITAT_GAS_AIGUA"), find_or_create(f"Empresa {index}"))
    db.session.commit()
    with counted_selects() as reads:
        client.get("/espai/expedients/?sector=ELECTRICITAT_GAS_AIGUA")
    assert len(reads) == few
    text = client.get(f"/espai/expedients/export.csv?empresa={movistar.id}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][-1] == "Empresa"
    assert rows[1][-1] == "Movistar" and len(rows) == 2


def test_the_demo_links_a_claim_to_a_company_with_a_claims_address(app):
    from umic import demo

    demo.load()
    claims = db.session.execute(
        select(CaseFile.id, Company.claims_email)
        .join(Company, CaseFile.company_id == Company.id)
        .where(CaseFile.case_type == "reclamacio", Company.claims_email != "")
    ).all()
    assert claims
    assert all(email.endswith(".example") for _id, email in claims)
    assert db.session.scalar(select(func.count(Company.id))) >= 4
    assert clock.now() - timedelta(days=1) < clock.now()


# --- On a phone ----------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_company_pages_fit_a_phone_without_javascript(app):
    from support.browser import PHONE
    from support.browser import launched
    from support.browser import served
    from support.factories import PASSWORD

    make_staff("COORDINACIO", role=Role.COORDINATOR)
    naturgy = find_or_create(
        "Naturgy Energy Group, Sociedad Anónima",
        sector="ELECTRICITAT_GAS_AIGUA",
        claims_email="atencio.reclamacions.consumidors@naturgy.example",
    )
    db.session.add(Company(name="NATURGY ENERGY GROUP", name_key=naturgy.name_key))
    link_case(add_case(company="naturgy"), naturgy)
    db.session.commit()
    with launched() as browser, served(app) as base:
        page = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
        page.goto(f"{base}/entra")
        page.fill("#username", "COORDINACIO")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_load_state("load")
        for path in (LIST, f"{LIST}{naturgy.id}", f"{LIST}nova", f"{LIST}duplicats"):
            page.goto(base + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], path
        page.goto(f"{base}/espai/expedients/{db.session.scalar(select(CaseFile.id))}")
        assert page.locator("#case-company a").first.inner_text() == naturgy.name
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
