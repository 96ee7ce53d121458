"""What the old tracker's users (in Excel) expect: a case list readable at 1280 px with the
columns they choose, CSV that Excel with Catalan or Spanish settings opens in columns, the old
tracker's IDs kept, dates and amounts written as people write them, towns in Catalan order."""

from __future__ import annotations

import csv
import io
from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from support.factories import PASSWORD
from support.factories import make_service
from support.factories import make_staff
from support.factories import make_town
from support.htmlutil import soup
from support.queries import counted_queries
from umic.casefiles import queries
from umic.casefiles import tracker_db
from umic.casefiles.service import create_case
from umic.casefiles.service import update_case
from umic.extensions import db
from umic.models import CaseFile
from umic.models import Role
from umic.models import StaffUser

LIST = "/espai/expedients/"
CSV = "/espai/expedients/export.csv"
MADRID = ZoneInfo("Europe/Madrid")
SEED = Path(__file__).resolve().parent / "data" / "tracker_seed.tsv"
STAFF = ("OPSSVEGAVN", "OPSSAPRESGA", "OPSSPASCUETCA")
DEFAULT_HEADERS = [
    "Nom tràmit",
    "Expedient",
    "Classificació",
    "Data petició",
    "Data actualització",
    "Estat Petició",
    "Termini documentació",
    "Usuari assignat",
    "Nom interessat",
]


def local(year, month, day, hour=10, minute=0, second=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=MADRID).astimezone(UTC)


@pytest.fixture
def staff(app, login):
    people = [make_staff(code) for code in STAFF]
    login(STAFF[0])
    return people


@pytest.fixture
def seed(app, staff):
    """The seed's seven tracker rows, imported as the demo and `cases import` do."""
    for name, code in (
        ("Gelida", "08091"),
        ("Santa Maria de Palautordera", "08259"),
        ("Torrelles de Llobregat", "08289"),
    ):
        make_town(name, code)
    report = tracker_db.import_tracker(SEED.read_bytes(), now=local(2026, 12, 4, 11, 0))
    assert report.created == 7 and not report.problems
    return {case.number: case for case in db.session.scalars(select(CaseFile))}


def page_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def headers_of(html: str) -> list[str]:
    return [th.get_text(" ", strip=True).rstrip("▲▼ ") for th in soup(html).select("thead th")]


def rows_of(html: str) -> list[dict[str, str]]:
    """Each row of the results as {header: text}."""
    headers = headers_of(html)
    return [
        dict(zip(headers, (c.get_text(" ", strip=True) for c in row.select("td, th")), strict=True))
        for row in soup(html).select("table tbody tr")
    ]


def csv_of(response, delimiter: str = ";") -> list[list[str]]:
    text = response.get_data().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


# --- M2: the case list at 1280 px --------------------------------------------------------------


def test_the_list_shows_a_default_set_with_the_document_deadline_m2(client, staff):
    """M2: the 15 tracker columns made the list 2,175 px wide; the default set is nine, with
    the document deadline, and the person's name is on screen."""
    create_case(
        {"interested_name": "SARAY", "deadline": date(2025, 5, 28)},
        actor=None,
        now=local(2025, 5, 9),
    )
    db.session.commit()
    html = page_of(client, LIST)
    assert headers_of(html) == DEFAULT_HEADERS
    (row,) = rows_of(html)
    assert row["Termini documentació"] == "28/05/2025"
    assert row["Nom interessat"] == "SARAY"
    assert "Orgànic" not in headers_of(html)


def test_the_deadline_column_sorts_soonest_first_and_empty_last_m2(client, staff):
    """M2: the document deadline is a sortable column."""
    for name, deadline in (("Cap", None), ("Tard", date(2025, 6, 2)), ("Aviat", date(2025, 5, 28))):
        create_case(
            {"interested_name": name, "deadline": deadline}, actor=None, now=local(2025, 5, 9)
        )
    db.session.commit()
    html = page_of(client, LIST)
    link = soup(html).select_one("#sort-termini")["href"]
    assert parse_qs(urlsplit(link).query) == {"ordre": ["termini"], "sentit": ["asc"]}
    names = [row["Nom interessat"] for row in rows_of(page_of(client, link))]
    assert names == ["Aviat", "Tard", "Cap"]
    desc = page_of(client, LIST + "?ordre=termini&sentit=desc")
    assert [row["Nom interessat"] for row in rows_of(desc)] == ["Tard", "Aviat", "Cap"]


def test_the_columns_chosen_are_remembered_per_person_and_can_be_reset_m2(app, client, staff):
    """M2: the rest of the columns is one click away (a GET form, no JavaScript), the choice
    is kept for this person only, with the filters, and "Restableix" gives the default set."""
    create_case({"interested_name": "Joan", "organic": "E020"}, actor=None, now=local(2025, 5, 9))
    db.session.commit()
    page = soup(page_of(client, LIST + "?q=joan"))
    chooser = page.select_one("details#column-chooser")
    assert chooser.select_one("summary").get_text(strip=True) == "Columnes"
    form = chooser.select_one("form")
    assert form["method"] == "get"
    boxes = form.select("input[type=checkbox][name=columna]")
    assert [box["value"] for box in boxes] == list(queries.COLUMN_KEYS)
    assert {box["value"] for box in boxes if box.has_attr("checked")} == set(
        queries.DEFAULT_COLUMNS
    )
    assert form.select_one("input[type=hidden][name=q]")["value"] == "joan"

    response = client.get(LIST + "?q=joan&columna=id&columna=organic&columnes=desa")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(LIST + "?q=joan")
    html = page_of(client, LIST + "?q=joan")
    assert headers_of(html) == ["ID", "Expedient", "Orgànic"]
    assert rows_of(html)[0]["Orgànic"] == "E020"
    # The filters' htmx fragment uses the same columns.
    fragment = client.get(LIST + "?q=joan", headers={"HX-Request": "true"})
    assert headers_of(fragment.get_data(as_text=True)) == ["ID", "Expedient", "Orgànic"]

    # Someone else still has the default set.
    other = app.test_client()
    from support.htmlutil import csrf_token

    form_page = other.get("/entra").get_data(as_text=True)
    other.post(
        "/entra",
        data={"csrf_token": csrf_token(form_page), "username": STAFF[1], "password": PASSWORD},
    )
    assert headers_of(page_of(other, LIST)) == DEFAULT_HEADERS

    response = client.get(LIST + "?columna=id&columnes=restableix")
    assert response.status_code == 303
    assert headers_of(page_of(client, LIST)) == DEFAULT_HEADERS
    assert db.session.get(StaffUser, staff[0].id).case_list_columns is None


@pytest.mark.parametrize("app_config", [{"CASES_PAGE_SIZE": 250}])
def test_every_column_costs_the_same_queries_for_5_or_60_cases_m2(client, staff):
    """M2: with every column shown (amounts, deadline, old ID) the list and the export still
    cost a fixed number of queries."""
    client.get(
        LIST + "?" + "&".join(f"columna={key}" for key in queries.COLUMN_KEYS) + "&columnes=desa"
    )
    town = make_town("Avià", "08011")

    def fill(count):
        for n in range(count):
            create_case(
                {
                    "interested_name": f"P{n}",
                    "municipality_id": town.id,
                    "assigned_to_id": staff[n % 3].id,
                    "amount_claimed": Decimal("10.50"),
                    "deadline": date(2025, 6, 1 + n % 20),
                },
                actor=None,
                now=local(2025, 5, 9),
            )
        db.session.commit()

    def count(url):
        with counted_queries() as statements:
            response = client.get(url)
            response.get_data()
        return len(statements)

    urls = [LIST, LIST + "?ordre=termini", CSV]
    fill(5)
    few = [count(url) for url in urls]
    fill(55)
    assert [count(url) for url in urls] == few
    assert len(rows_of(page_of(client, LIST))) == 60


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_default_list_fits_1280_pixels_without_scrolling_sideways_m2(app, seed):
    """M2: at 1280 px the table was 2,175 px wide in a 1,248 px wrapper; with the default
    columns its scrollWidth fits its container. The chooser works without JavaScript."""
    from support.browser import launched
    from support.browser import served

    with launched() as browser, served(app) as site:
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, java_script_enabled=False
        )
        page = context.new_page()
        page.goto(f"{site}/entra")
        page.fill("#username", STAFF[0])
        page.fill("#password", PASSWORD)
        page.click("main form button[type=submit]")
        page.goto(f"{site}{LIST}")
        width = page.evaluate(
            """() => { const wrap = document.querySelector('#case-results .table-wrap');
                       const table = wrap.querySelector('table');
                       return [table.scrollWidth, wrap.clientWidth,
                               document.documentElement.scrollWidth, window.innerWidth]; }"""
        )
        table_width, container, page_width, viewport = width
        assert table_width <= container, width
        assert page_width <= viewport, width
        name = page.locator("#case-results thead th").last
        assert name.inner_text().startswith("Nom interessat")
        box = name.bounding_box()
        assert box["x"] + box["width"] <= 1280

        # All the columns need scrolling; the chooser gets there and back without JavaScript.
        page.click("#column-chooser summary")
        for key in queries.COLUMN_KEYS:
            if key != queries.ALWAYS_SHOWN:
                page.check(f"#columna-{key}")
        page.click("text=Mostra aquestes columnes")
        assert page.locator("#case-results thead th").count() == len(queries.COLUMN_KEYS)
        page.click("#column-chooser summary")
        page.click("#column-chooser button[value=restableix]")
        assert page.locator("#case-results thead th").count() == len(queries.DEFAULT_COLUMNS)
        context.close()


# --- M9: CSV for Excel in Catalan or Spanish ---------------------------------------------------


def test_the_export_is_semicolons_with_a_bom_and_commas_on_request_m9(client, staff):
    """M9: the export was comma-separated, which Excel with Catalan or Spanish settings opens
    as one column. Semicolons (and 245,50) by default; the comma variant is offered too."""
    create_case(
        {"interested_name": "Joan, el de Gelida", "amount_claimed": Decimal("245.50")},
        actor=None,
        now=local(2025, 5, 9),
    )
    db.session.commit()
    response = client.get(CSV)
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbfID;Nom tr")
    rows = csv_of(response)
    assert rows[0] == list(queries.CSV_HEADERS)
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Import reclamat"] == "245,50"
    assert record["Nom interessat"] == "Joan, el de Gelida"

    page = soup(page_of(client, LIST + "?q=joan"))
    comma_link = page.select_one("#export-csv-comma")
    assert comma_link.get_text(strip=True) == "CSV separat per comes"
    assert parse_qs(urlsplit(comma_link["href"]).query) == {"q": ["joan"], "separador": ["coma"]}
    comma = client.get(comma_link["href"])
    assert comma.get_data().startswith(b"\xef\xbb\xbfID,Nom tr")
    rows = csv_of(comma, ",")
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Import reclamat"] == "245.50"
    assert record["Nom interessat"] == "Joan, el de Gelida"


def test_the_coordinators_reports_download_with_semicolons_too_m9(app, client):
    """M9: the statistics, survey and expansion CSVs follow the same default."""
    make_staff("COORD", role=Role.COORDINATOR)
    from support.htmlutil import csrf_token

    form_page = client.get("/entra").get_data(as_text=True)
    client.post(
        "/entra",
        data={"csrf_token": csrf_token(form_page), "username": "COORD", "password": PASSWORD},
    )
    make_town("Avià", "08011")
    response = client.get("/admin/ampliacio/cobertura.csv")
    assert response.status_code == 200
    first = response.get_data().decode("utf-8-sig").splitlines()[0]
    assert first.count(";") == 4 and "," not in first.replace("Cobertura (%)", "")
    comma = client.get("/admin/ampliacio/cobertura.csv?separador=coma")
    assert comma.get_data().decode("utf-8-sig").splitlines()[0].count(",") == 4
    # Each report table offers both: the page links to the comma variant beside the default.
    page = soup(client.get("/admin/ampliacio/").get_data(as_text=True))
    links = [a["href"] for a in page.select(".csv-link a")]
    assert "/admin/ampliacio/cobertura.csv" in links
    assert "/admin/ampliacio/cobertura.csv?separador=coma" in links


# --- L6: the old tracker's identity and dates --------------------------------------------------


def test_the_old_trackers_id_is_kept_shown_searched_and_exported_l6(client, seed):
    """L6: the seed's IDs (458973, 456941...) became 1-21 and searching 458973 found nothing."""
    trinidad = seed["2025/0029005"]
    assert trinidad.tracker_id == "458973"
    html = page_of(client, LIST + "?q=458973")
    assert [row["Nom interessat"] for row in rows_of(html)] == ["TRINIDAD"]
    assert [row["Nom interessat"] for row in rows_of(page_of(client, LIST + "?q=4589"))] == [
        "TRINIDAD"
    ]

    case_page = soup(page_of(client, f"{LIST}{trinidad.id}"))
    assert case_page.select_one("#tracker-id").get_text(" ", strip=True).startswith("458973")

    client.get(LIST + "?columna=id_anterior&columna=interessat&columnes=desa")
    listed = rows_of(page_of(client, LIST + "?ordre=id_anterior&sentit=asc"))
    assert [row["ID anterior"] for row in listed][:2] == ["454013", "454404"]

    rows = csv_of(client.get(CSV + "?q=458973"))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["ID anterior"] == "458973"
    assert record["ID"] == str(trinidad.id)


def test_imported_dates_keep_their_time_and_a_day_shows_no_midnight_l6(client, staff, tmp_path):
    """L6: case 2025/0027982 showed "Data actualització … 14 de maig de 2025 00:00"."""
    for name, code in (("Gelida", "08091"), ("Santa Maria de Palautordera", "08259")):
        make_town(name, code)
    make_town("Torrelles de Llobregat", "08289")
    text = SEED.read_text(encoding="utf-8").replace(
        "09/05/2025 09:31:42\t14/05/2025", "09/05/2025 09:31:42\t14/05/2025 17:05:09"
    )
    path = tmp_path / "tracker.tsv"
    path.write_text(text, encoding="utf-8")
    tracker_db.import_tracker(path.read_bytes(), now=local(2026, 12, 4, 11, 0))
    cases = {case.number: case for case in db.session.scalars(select(CaseFile))}
    saray, trinidad = cases["2025/0027982"], cases["2025/0029005"]
    assert saray.updated_at == local(2025, 5, 14, 17, 5, 9)
    assert saray.requested_at == local(2025, 5, 9, 9, 31, 42)

    summary = soup(page_of(client, f"{LIST}{saray.id}")).select_one(".summary-list")
    updated = summary.find("dt", string="Data actualització").find_next("dd").get_text(strip=True)
    assert updated.endswith("2025 17:05"), updated
    summary = soup(page_of(client, f"{LIST}{trinidad.id}")).select_one(".summary-list")
    updated = summary.find("dt", string="Data actualització").find_next("dd").get_text(strip=True)
    assert "16 de maig de 2025" in updated and "00:00" not in updated, updated


def test_the_history_says_the_case_was_imported_with_the_trackers_dates_l6(client, seed):
    """L6: the only history entry was "Expedient creat", today, by "la persona interessada o
    el sistema"."""
    saray = seed["2025/0027982"]
    history = soup(page_of(client, f"{LIST}{saray.id}")).select_one("#historial ol")
    (entry,) = history.select("li")
    text = " ".join(entry.get_text(" ", strip=True).split())
    assert "Expedient importat de l'eina de seguiment anterior (ID 456941)" in text
    assert "Data petició: 09/05/2025 09:31" in text
    assert "Data actualització: 14/05/2025" in text
    assert "importació" in text
    assert "Expedient creat" not in text and "la persona interessada" not in text


def test_history_values_are_shown_as_people_write_them_l6(client, staff):
    """L6: "Termini: (buit) → 2026-12-18", "Import reclamat: (buit) → 245.50" (typed 245,50)."""
    case = create_case({"interested_name": "Anna"}, actor=None, now=local(2026, 12, 1))
    db.session.commit()
    update_case(
        case,
        {
            "amount_claimed": Decimal("245.50"),
            "deadline": date(2026, 12, 18),
            "status": "en_tramit",
        },
        actor=staff[0],
        expected_version=case.version,
        now=local(2026, 12, 2),
    )
    db.session.commit()
    stored = {event.field: event.new_value for event in case.events if event.kind == "change"}
    assert stored["amount_claimed"] == "245.50" and stored["deadline"] == "2026-12-18"
    history = soup(page_of(client, f"{LIST}{case.id}")).select_one("#historial ol")
    lines = [" ".join(li.get_text(" ", strip=True).split()) for li in history.select("li")]
    text = "\n".join(lines).replace("\xa0", " ")
    text = text.replace(" :", ":")  # the label is in <strong>
    assert "Import reclamat: (buit) → 245,50 €" in text
    assert "Termini: (buit) → 18/12/2026" in text
    assert "Estat petició: Pendent → En tràmit" in text
    spanish = soup(page_of(client, f"{LIST}{case.id}?lang=es")).select_one("#historial ol")
    assert "245,50 €" in spanish.get_text(" ", strip=True).replace("\xa0", " ")


# --- L4: towns in Catalan order ----------------------------------------------------------------

TOWNS = [  # (name, INE code), in no order
    ("Vilanova del Camí", "08307"),
    ("Òdena", "08143"),
    ("Cubelles", "08074"),
    ("Cànoves i Samalús", "08048"),
    ("Avinyó", "08012"),
    ("Avià", "08011"),
    ("Argentona", "08009"),
    ("Argençola", "08008"),
    ("l'Ametlla del Vallès", "08005"),
    ("Canovelles", "08047"),
]
CATALAN_ORDER = [
    "Argençola",
    "Argentona",
    "Avià",
    "Avinyó",
    "Canovelles",
    "Cànoves i Samalús",
    "Cubelles",
    "l'Ametlla del Vallès",
    "Òdena",
    "Vilanova del Camí",
]


def _options(html: str, select_id: str) -> list[str]:
    select = soup(html).select_one(f"select#{select_id}")
    return [
        o.get_text(strip=True) for o in select.select("option") if o.get("value") not in ("", "0")
    ]


def test_towns_with_accents_sort_as_catalan_does_in_every_select_l4(client, staff):
    """L4: "Òdena" came after "Vilanova del Camí" in the phone booking, and "Cànoves i
    Samalús" after "Cubelles", "Avià" after "Avinyó" in the case form; the list's filter was
    right. All three now use one order."""
    for name, code in TOWNS:
        make_town(name, code)
    make_service()
    case = create_case({"interested_name": "Anna"}, actor=None, now=local(2026, 12, 1))
    db.session.commit()

    assert _options(page_of(client, "/espai/cites/nova"), "municipi") == CATALAN_ORDER
    case_form = page_of(client, f"{LIST}{case.id}")
    assert _options(case_form, "municipality_id") == CATALAN_ORDER
    assert _options(page_of(client, "/espai/expedients/nou"), "municipality_id") == CATALAN_ORDER
    assert _options(page_of(client, LIST), "municipi") == CATALAN_ORDER
