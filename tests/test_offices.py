"""The consumer-office directory (coordinators): /admin/oficines/, a town's office on its page,
the CSV import (all or nothing) and export, and the expansion plan's groups.

The real 311 towns and the shipped directory (10 OMICs, the Agència with no town): every town
without an OMIC starts "not yet known", and stays out of the coverage figure until somebody
records its office.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func
from sqlalchemy import select

from support.factories import make_staff
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from umic.extensions import db
from umic.models import ConsumerOffice
from umic.models import Municipality
from umic.models import Role
from umic.municipalities import MUNICIPALITIES_CSV
from umic.municipalities import OMICS_CSV
from umic.municipalities import import_municipalities


@pytest.fixture
def towns(app) -> dict[str, Municipality]:
    report = import_municipalities(MUNICIPALITIES_CSV, OMICS_CSV)
    assert not report.errors and report.created == 311 and report.omics == 10
    return {town.name: town for town in db.session.scalars(select(Municipality))}


@pytest.fixture
def coordinator(login):
    make_staff("OPSSCOORD", role=Role.COORDINATOR, name="Coordinadora Puig")
    login("OPSSCOORD")


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def counts(html: str) -> dict[str, str]:
    return {
        li["id"].removeprefix("status-"): li.get_text(" ", strip=True)
        for li in soup(html).select("#status-counts li")
    }


def office_named(name: str) -> ConsumerOffice:
    return db.session.scalar(select(ConsumerOffice).where(ConsumerOffice.name == name))


def upload(client, text: str, token: str, bom: bool = False):
    data = ("\ufeff" if bom else "") + text
    return client.post(
        "/admin/oficines/importa",
        data={"csrf_token": token, "file": (io.BytesIO(data.encode("utf-8")), "oficines.csv")},
        content_type="multipart/form-data",
    )


def test_the_shipped_directory_gives_the_ten_omics_and_nothing_is_guessed(towns):
    omic_towns = {t.name for t in towns.values() if t.has_omic}
    assert len(omic_towns) == 10 and {"Barcelona", "Sabadell"} <= omic_towns
    assert all(t.office.kind == "omic" for t in towns.values() if t.has_omic)
    assert all(t.office_id is None for t in towns.values() if not t.has_omic)
    sabadell = towns["Sabadell"].office
    assert sabadell.name == "OMIC de l'Ajuntament de Sabadell" and sabadell.source.startswith(
        "https://"
    )
    assert office_named("Agència Catalana del Consum").web == "https://consum.gencat.cat"


def test_the_directory_counts_towns_per_status_and_lists_the_unknown_by_population(
    client, towns, coordinator
):
    towns["Gelida"].enrolled_on = date(2025, 3, 1)
    db.session.commit()
    html = page(client, "/admin/oficines/")
    assert counts(html) == {
        "own_office": "Oficina municipal pròpia : 10 municipis",
        "served": "Atès per aquest servei : 1 municipi",
        "comarcal": "Oficina comarcal : 0 municipis",
        "agencia": "Sense oficina local: Agència Catalana del Consum : 0 municipis",
        "unknown": "Oficina encara no coneguda : 300 municipis",
    }
    assert soup(html).select_one(".staff-nav").find("a", href="/admin/oficines/") is not None
    rows = soup(html).select("#offices tbody tr")
    assert len(rows) == 11 and "OMIC de l'Ajuntament d'Olesa de Montserrat" in rows[0].get_text()
    assert "OMIC de l'Ajuntament de Barcelona" in rows[1].get_text()  # in the names' order
    link = soup(html).select_one("#status-unknown a")["href"]
    listing = soup(page(client, link))
    names = [th.get_text(strip=True) for th in listing.select("#towns tbody th")]
    assert len(names) == 300 and names[:3] == ["L'Hospitalet de Llobregat", "Terrassa", "Badalona"]
    assert "Gelida" not in names and "Barcelona" not in names
    # The registry filters them too.
    registry = soup(page(client, "/admin/municipis/?estat=oficina-per-coneixer&ordre=poblacio"))
    assert len(registry.select("#town-results tbody tr")) == 300


def test_creating_an_ocic_covers_its_towns_and_the_town_page_says_so(client, towns, coordinator):
    token = csrf_token(page(client, "/admin/oficines/nova"))
    form = {
        "csrf_token": token,
        "kind": "ocic",
        "name": "OCIC del Consell Comarcal de l'Anoia",
        "phone": "938 000 000",
        "email": "nope",
        "web": "consum.example.cat",
        "verified_on": "31/02/2026",
        "towns": "Masquefa\n08162\ncalaf\nNowhere\nSabadell",
    }
    response = client.post("/admin/oficines/nova", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert len(summary_links(html)) == 4
    assert any("Nowhere" in message for message in error_messages(html))
    assert soup(html).select_one("#name")["value"] == form["name"]  # what was typed is kept
    assert db.session.scalar(select(func.count()).select_from(ConsumerOffice)) == 11
    # Sabadell has its own OMIC: the law puts it first.
    form.update(email="ocic@example.cat", web="https://consum.example.cat", verified_on="")
    form["towns"] = "Masquefa\n08162\ncalaf\nSabadell"
    html = client.post("/admin/oficines/nova", data=form).get_data(as_text=True)
    assert any("Sabadell" in message for message in error_messages(html))
    form["towns"] = "Masquefa\n08162\ncalaf"
    response = client.post("/admin/oficines/nova", data=form)
    assert response.status_code == 303
    office = office_named(form["name"])
    db.session.expire_all()
    covered = {
        t.name
        for t in db.session.scalars(select(Municipality).where(Municipality.office_id == office.id))
    }
    assert covered == {"Masquefa", "Els Hostalets de Pierola", "Calaf"}
    assert not towns["Masquefa"].has_omic
    town_page = soup(page(client, f"/admin/municipis/{towns['Masquefa'].id}"))
    row = town_page.select_one("#town-office")
    assert "Oficina comarcal" in row.get_text() and row.find(
        "a", href=f"/admin/oficines/{office.id}"
    )
    assert "ocic" not in counts(page(client, "/admin/oficines/"))["comarcal"]
    assert counts(page(client, "/admin/oficines/"))["comarcal"].endswith("3 municipis")

    # Editing: Calaf leaves, Jorba joins; deleting: they go back to "not yet known".
    token = csrf_token(page(client, f"/admin/oficines/{office.id}"))
    form.update(csrf_token=token, towns="08119\n08162\nJorba")
    assert client.post(f"/admin/oficines/{office.id}", data=form).status_code == 303
    db.session.expire_all()
    assert towns["Calaf"].office_id is None and towns["Jorba"].office_id == office.id
    office_id = office.id
    response = client.post(f"/admin/oficines/{office_id}/elimina", data={"csrf_token": token})
    assert response.status_code == 303
    db.session.expire_all()
    assert towns["Jorba"].office_id is None and db.session.get(ConsumerOffice, office_id) is None


def test_ticking_the_omic_box_on_a_town_keeps_the_directory_in_sync(client, towns, coordinator):
    terrassa = towns["Terrassa"]
    token = csrf_token(page(client, f"/admin/municipis/{terrassa.id}"))
    response = client.post(
        f"/admin/municipis/{terrassa.id}", data={"csrf_token": token, "has_omic": "y"}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert terrassa.has_omic and terrassa.office.name == "OMIC de l'Ajuntament de Terrassa"
    client.post(f"/admin/municipis/{terrassa.id}", data={"csrf_token": token})
    db.session.expire_all()
    assert not terrassa.has_omic and terrassa.office_id is None


def test_import_is_all_or_nothing_and_export_round_trips(client, towns, coordinator):
    token = csrf_token(page(client, "/admin/oficines/"))
    bad = (
        "kind;name;towns;web\n"
        "ocic;OCIC del Vallès Occidental;08279 08266;https://example.cat\n"  # Terrassa, Sant Quirze
        "omic;OMIC de l'Ajuntament de Badalona;08015;\n"
        "omic;Una altra OMIC de Badalona;08015;\n"  # line 4: two OMICs for one town
        "desconegut;X;;\n"  # line 5
    )
    response = upload(client, bad, token)
    assert response.status_code == 422
    problems = [
        li.get_text(" ", strip=True)
        for li in soup(response.get_data(as_text=True)).select("#import-problems li")
    ]
    assert [p.split(":")[0] for p in problems] == ["Línia 4", "Línia 5"]
    assert db.session.scalar(select(func.count()).select_from(ConsumerOffice)) == 11

    good = "\n".join(bad.splitlines()[:3]) + "\n"
    response = upload(client, good, token, bom=True)
    assert response.status_code == 200
    result = (
        soup(response.get_data(as_text=True)).select_one("#import-result").get_text(" ", strip=True)
    )
    assert "2 oficines noves" in result and "3 municipis" in result
    db.session.expire_all()
    assert towns["Badalona"].has_omic and towns["Terrassa"].office.kind == "ocic"

    exported = client.get("/admin/oficines/oficines.csv")
    assert exported.mimetype == "text/csv" and exported.headers["Cache-Control"] == "no-store"
    text = exported.get_data(as_text=True)
    assert text.startswith("\ufeffkind;name;address;")
    assert "08266 08279" in text
    # Imported back: nothing changes.
    response = upload(client, text.removeprefix("\ufeff"), token)
    result = (
        soup(response.get_data(as_text=True)).select_one("#import-result").get_text(" ", strip=True)
    )
    assert (
        "0 oficines noves, 0 actualitzades, 13 sense canvis" in result and "; 0 municipis" in result
    )
    assert client.get("/admin/oficines/oficines.csv").get_data(as_text=True) == text


def test_technicians_get_403_and_no_menu_entry(client, towns, login):
    office = office_named("Agència Catalana del Consum")
    urls = [
        ("GET", "/admin/oficines/"),
        ("GET", "/admin/oficines/nova"),
        ("GET", f"/admin/oficines/{office.id}"),
        ("POST", f"/admin/oficines/{office.id}"),
        ("POST", f"/admin/oficines/{office.id}/elimina"),
        ("GET", "/admin/oficines/municipis/per-coneixer"),
        ("POST", "/admin/oficines/importa"),
        ("GET", "/admin/oficines/oficines.csv"),
    ]
    make_staff("OPSSVEGAVN")
    login("OPSSVEGAVN")
    token = csrf_token(client.get("/espai/compte").get_data(as_text=True))
    for method, url in urls:
        response = client.open(url, method=method, data={"csrf_token": token, "name": "X"})
        assert response.status_code == 403, url
    assert db.session.get(ConsumerOffice, office.id).name == "Agència Catalana del Consum"
    menu = soup(client.get("/espai/compte").get_data(as_text=True)).select_one(".staff-nav")
    assert menu.find("a", href="/admin/oficines/") is None


def test_the_plan_keeps_the_not_yet_known_apart(client, towns, coordinator):
    """Shipped directory only: nobody is known to lack an office, so no town is "to enrol";
    an OCIC's towns and the Agència's are their own groups."""
    towns["Gelida"].enrolled_on = date(2025, 3, 1)
    db.session.commit()
    html = soup(page(client, "/admin/ampliacio/"))
    assert html.select_one("#coverage-text").get_text(strip=True) == (
        "Atesos: 1 de 1 municipi que consta que no té OMIC (100,0 %)"
    )
    assert (
        html.select_one("#coverage-unknown")
        .get_text(" ", strip=True)
        .startswith("300 municipis amb l'oficina de consum encara per conèixer")
    )
    assert html.select_one("#ranking") is None and html.select_one("#ranking-empty")
    assert len(html.select("#ranking-unknown tbody tr")) == 300

    agencia = office_named("Agència Catalana del Consum")
    ocic = ConsumerOffice(kind="ocic", name="OCIC de prova")
    db.session.add(ocic)
    db.session.flush()
    from umic.offices import set_office

    set_office(towns["Gisclareny"], agencia)
    set_office(towns["Calaf"], ocic)
    set_office(towns["Jorba"], ocic)
    db.session.commit()
    html = soup(page(client, "/admin/ampliacio/"))
    assert html.select_one("#coverage-text").get_text(strip=True) == (
        "Atesos: 1 de 4 municipis que consta que no tenen OMIC (25,0 %)"
    )
    assert [th.get_text(strip=True) for th in html.select("#ranking tbody th")] == ["Gisclareny"]
    assert {th.get_text(strip=True) for th in html.select("#ranking-ocic tbody th")} == {
        "Calaf",
        "Jorba",
    }
    assert len(html.select("#ranking-unknown tbody tr")) == 297
    assert html.select_one("#coverage-ocic").get_text(strip=True).startswith("2 municipis")
