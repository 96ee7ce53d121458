"""The municipality registry (coordinators): the real 311 towns, the real pages and forms.

Search, filters, sort and booking links on /admin/municipis/; a town's OMIC and enrolment on
/admin/municipis/<id>, and the citizen's booking page answering to it at once.
"""

from __future__ import annotations

import csv
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from support.days import today
from support.factories import EVERY_DAY
from support.factories import make_service
from support.factories import make_staff
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.journey import Citizen
from support.queries import counted_selects
from umic import clock
from umic.extensions import db
from umic.models import Municipality
from umic.models import Role
from umic.municipalities import MUNICIPALITIES_CSV
from umic.municipalities import OMICS_CSV
from umic.municipalities import import_municipalities

MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture
def towns(app) -> dict[str, Municipality]:
    """The province's 311 towns and the 8 known OMICs, from the real files."""
    report = import_municipalities(MUNICIPALITIES_CSV, OMICS_CSV)
    assert not report.errors and report.created == 311
    # In INE code order: without ORDER BY, PostgreSQL returns rows updated by the office
    # import (the OMIC towns) last.
    query = select(Municipality).order_by(Municipality.ine_code)
    return {town.name: town for town in db.session.scalars(query)}


@pytest.fixture
def coordinator(login):
    make_staff("OPSSCOORD", role=Role.COORDINATOR, name="Coordinadora Puig")
    login("OPSSCOORD")


def enrol(town: Municipality, day: date) -> None:
    town.enrolled_on = day
    db.session.commit()


def table_rows(html: str) -> list[dict[str, str]]:
    """The registry's rows as {column heading: cell text}."""
    page = soup(html)
    table = page.select_one("#town-results table")
    if table is None:
        return []
    headings = [th.get_text(" ", strip=True) for th in table.select("thead th")]
    return [
        dict(zip(headings, (c.get_text(" ", strip=True) for c in tr.select("th, td")), strict=True))
        for tr in table.select("tbody tr")
    ]


def names(html: str) -> list[str]:
    return [row["Municipi"] for row in table_rows(html)]


def registry(client, **args) -> str:
    response = client.get("/admin/municipis/", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def banners(html: str) -> str:
    return " ".join(p.get_text(" ", strip=True) for p in soup(html).select(".banner p"))


def post_town(client, town_id: int, **fields):
    url = f"/admin/municipis/{town_id}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    data = {"csrf_token": token, **{k: v for k, v in fields.items() if v is not None}}
    return client.post(url, data=data)


def csv_towns(**where) -> list[dict[str, str]]:
    with MUNICIPALITIES_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [row for row in rows if all(row[k] == v for k, v in where.items())]


# --- The list ---------------------------------------------------------------------------------


def test_the_registry_lists_all_311_towns_with_their_ine_data(client, towns, coordinator):
    html = registry(client)
    rows = table_rows(html)
    assert len(rows) == 311
    assert soup(html).select_one("#town-count").get_text(strip=True) == (
        "Es mostren els 311 municipis"
    )
    by_name = {row["Municipi"]: row for row in rows}
    assert by_name["Abrera"] == {
        "Codi INE": "08001",
        "Municipi": "Abrera",
        "Comarca": "Baix Llobregat",
        "Població": "13.227",  # Catalan thousands separator
        "OMIC": "No",
        "Adhesió": "No adherit",
        "Enllaç de reserva": "",
    }
    assert by_name["Barcelona"]["Població"] == "1.731.649"
    assert by_name["Barcelona"]["OMIC"] == "Sí"
    assert by_name["Alpens"]["Població"] == "267"
    assert sum(row["OMIC"] == "Sí" for row in rows) == 10


def test_an_enrolled_town_shows_its_date_and_its_booking_link_ready_to_copy(
    client, towns, coordinator
):
    enrol(towns["Gelida"], date(2025, 3, 1))
    html = registry(client)
    row = {r["Municipi"]: r for r in table_rows(html)}["Gelida"]
    assert row["Adhesió"] == "Adherit 01/03/2025"
    box = soup(html).select_one(f"#enllac-{towns['Gelida'].id}")
    assert box["value"] == "http://localhost/reserva/gelida/"
    assert box.has_attr("readonly") and box["type"] == "text"
    label = soup(html).select_one(f"label[for=enllac-{towns['Gelida'].id}]")
    assert label.get_text(strip=True) == "Enllaç de reserva de Gelida"
    # Only enrolled towns have a link.
    assert len(soup(html).select("input.booking-link")) == 1
    # The link is the citizen's booking page for that town.
    assert client.get("/reserva/gelida/").status_code == 200


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("palau-solita", ["Palau-solità i Plegamans"]),  # no accent, with the hyphen
        ("PALAU SOLITÀ", ["Palau-solità i Plegamans"]),
        ("santa maria palautordera", ["Santa Maria de Palautordera"]),  # words, not a phrase
        ("l'ametlla vallès", ["L'Ametlla del Vallès"]),
        ("08091", ["Gelida"]),  # INE code
        ("Òdena", ["Òdena"]),
    ],
)
def test_search_ignores_accents_case_and_punctuation_and_finds_ine_codes(
    client, towns, coordinator, typed, expected
):
    html = registry(client, q=typed)
    assert names(html) == expected
    assert soup(html).select_one("#q")["value"] == typed  # the search box keeps the text


def test_an_ine_code_prefix_finds_every_town_it_begins(client, towns, coordinator):
    # 08140 to 08149, in name order ("La Nou" under L, "Navàs" after "Navarcles").
    assert names(registry(client, q="0814")) == [
        "La Nou de Berguedà",
        "Navarcles",
        "Navàs",
        "Òdena",
        "Olèrdola",
        "Olesa de Bonesvalls",
        "Olesa de Montserrat",
        "Olivella",
        "Olost",
        "Olvan",
    ]


def test_a_search_without_results_says_so(client, towns, coordinator):
    html = registry(client, q="Springfield")
    assert table_rows(html) == []
    assert "No hi ha cap municipi que coincideixi" in html
    assert soup(html).select_one("#town-count").get_text(strip=True) == "Cap municipi"


def test_filters_by_enrolment_omic_and_comarca(client, towns, coordinator):
    enrol(towns["Gelida"], date(2025, 3, 1))
    enrol(towns["Begues"], date(2025, 3, 1))
    enrol(towns["Abrera"], date(2025, 6, 1))

    assert names(registry(client, estat="adherits")) == ["Abrera", "Begues", "Gelida"]
    omics = names(registry(client, estat="omic"))
    assert len(omics) == 10 and "Barcelona" in omics and "Sabadell" in omics
    assert len(table_rows(registry(client, estat="no-adherits"))) == 311 - 3
    assert len(table_rows(registry(client, estat="sense-omic"))) == 301

    penedes = [row["name"] for row in csv_towns(comarca="Alt Penedès")]
    html = registry(client, comarca="Alt Penedès")
    assert sorted(names(html)) == sorted(penedes) and len(penedes) == 27
    assert soup(html).select_one("#comarca option[selected]")["value"] == "Alt Penedès"
    # Filters combine.
    assert names(registry(client, comarca="Alt Penedès", estat="adherits")) == ["Gelida"]
    assert names(registry(client, comarca="Baix Llobregat", estat="adherits", q="beg")) == [
        "Begues"
    ]


def test_unknown_filter_values_are_ignored_not_an_error(client, towns, coordinator):
    html = registry(client, estat="<script>", ordre="drop table", comarca="Atlàntida")
    assert table_rows(html) == []  # no town in that comarca
    assert len(table_rows(registry(client, estat="qualsevol", ordre="x"))) == 311


def test_sort_by_name_ignores_accents_and_apostrophes(client, towns, coordinator):
    order = names(registry(client))
    assert order[0] == "Abrera"
    # "Òdena" sorts as "odena", before "Olèrdola", not after "Vilobí".
    assert order.index("Òdena") + 1 == order.index("Olèrdola")
    # "L'Ametlla del Vallès" sorts as "l ametlla": among the Ls, not first or last.
    ametlla = order.index("L'Ametlla del Vallès")
    assert (
        order.index("Igualada") < ametlla < order.index("La Garriga") < order.index("Lliçà d'Amunt")
    )


def test_sort_by_population_largest_first(client, towns, coordinator):
    order = names(registry(client, ordre="poblacio"))
    assert order[:3] == ["Barcelona", "L'Hospitalet de Llobregat", "Terrassa"]
    populations = [
        int(row["Població"].replace(".", ""))
        for row in table_rows(registry(client, ordre="poblacio"))
    ]
    assert populations == sorted(populations, reverse=True)


def test_sort_by_enrolment_date_most_recent_first_then_the_rest(client, towns, coordinator):
    enrol(towns["Gelida"], date(2025, 3, 1))
    enrol(towns["Begues"], date(2025, 6, 1))
    enrol(towns["Abrera"], date(2026, 1, 15))
    order = names(registry(client, ordre="adhesio"))
    assert order[:4] == ["Abrera", "Begues", "Gelida", "Aguilar de Segarra"]
    assert len(order) == 311


def test_htmx_gets_only_the_results_and_the_tidy_url(client, towns, coordinator):
    response = client.get(
        "/admin/municipis/",
        query_string={"q": "gelida", "estat": "", "comarca": "", "ordre": "nom"},
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert "<html" not in html and "<h1" not in html
    assert names("<div id=town-results>" + html + "</div>") == ["Gelida"]
    assert response.headers["HX-Push-Url"] == "/admin/municipis/?q=gelida"
    assert "HX-Request" in response.headers["Vary"]
    # The count is also announced in the live region.
    assert soup(html).select_one("[hx-swap-oob]").get_text(strip=True) == (
        "Es mostra 1 municipi de 311"
    )


def test_the_full_list_takes_a_fixed_number_of_queries(client, towns, coordinator):
    for name in ("Gelida", "Begues", "Abrera", "Alella", "Alpens"):
        enrol(towns[name], date(2025, 3, 1))
    with counted_selects() as statements:
        registry(client)
    few = len(statements)
    for town in list(towns.values())[:100]:
        if not town.has_omic:
            town.enrolled_on = date(2025, 6, 1)
    db.session.commit()
    with counted_selects() as statements:
        html = registry(client)
    assert len(soup(html).select("input.booking-link")) == 96  # 4 of the first 100 have an OMIC
    assert len(statements) == few <= 6


# --- Editing a town ---------------------------------------------------------------------------


def test_the_edit_page_shows_the_ine_data_read_only(client, towns, coordinator):
    html = client.get(f"/admin/municipis/{towns['Abrera'].id}").get_data(as_text=True)
    page = soup(html)
    assert page.select_one("h1").get_text(strip=True) == "Abrera"
    summary = page.select_one(".summary-list").get_text(" ", strip=True)
    assert "08001" in summary and "Baix Llobregat" in summary
    assert "13.227 habitants (padró de 2025)" in summary
    fields = {tag["name"] for tag in page.select("form input[name], form select[name]")}
    assert fields >= {"has_omic", "enrolled", "enrolled_on"}
    assert not fields & {"name", "comarca", "population", "ine_code"}
    # Not enrolled: no booking link.
    assert page.select_one("#booking-link") is None


def test_enrolling_with_an_empty_date_enrols_from_today_and_opens_booking_at_once(
    client, towns, coordinator
):
    make_service()
    make_staff("OPSSVEGAVN", hours=EVERY_DAY)
    citizen = Citizen(client, slug="abrera")
    before = client.get("/reserva/abrera/").get_data(as_text=True)
    assert "encara no té atenció per videotrucada" in before
    assert citizen.days() == []

    response = post_town(client, towns["Abrera"].id, enrolled="y", enrolled_on="")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/municipis/{towns['Abrera'].id}"
    db.session.expire_all()
    assert db.session.get(Municipality, towns["Abrera"].id).enrolled_on == today()

    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert banners(html) == (
        f"Abrera s'ha adherit al servei des del {today():%d/%m/%Y}: els seus veïns ja poden "
        "reservar. Enllaç de reserva: http://localhost/reserva/abrera/"
    )
    assert soup(html).select_one("#booking-link")["value"] == "http://localhost/reserva/abrera/"
    # The citizen's page answers at once.
    assert citizen.days() != []
    assert "encara no té atenció" not in client.get("/reserva/abrera/").get_data(as_text=True)


@pytest.mark.parametrize("typed", ["2025-03-01", "01/03/2025", "1/3/2025"])
def test_an_enrolment_date_may_be_given_as_a_date_input_or_typed(client, towns, coordinator, typed):
    response = post_town(client, towns["Alella"].id, enrolled="y", enrolled_on=typed)
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Municipality, towns["Alella"].id).enrolled_on == date(2025, 3, 1)


def test_leaving_the_service_closes_booking_and_keeps_nothing_of_the_date(
    client, towns, coordinator
):
    make_service()
    make_staff("OPSSVEGAVN", hours=EVERY_DAY)
    enrol(towns["Gelida"], date(2025, 3, 1))
    assert Citizen(client).days() != []
    response = post_town(client, towns["Gelida"].id, enrolled_on="2025-03-01")  # box unticked
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert banners(html) == "Gelida ja no està adherit al servei: no s'hi poden fer reserves noves."
    db.session.expire_all()
    assert db.session.get(Municipality, towns["Gelida"].id).enrolled_on is None
    assert Citizen(client).days() == []
    assert "encara no té atenció per videotrucada" in client.get("/reserva/gelida/").get_data(
        as_text=True
    )


def test_an_empty_date_keeps_the_date_of_a_town_already_enrolled(client, towns, coordinator):
    enrol(towns["Gelida"], date(2025, 3, 1))
    response = post_town(client, towns["Gelida"].id, enrolled="y", enrolled_on="")
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert banners(html) == "S'han desat els canvis de Gelida."
    db.session.expire_all()
    assert db.session.get(Municipality, towns["Gelida"].id).enrolled_on == date(2025, 3, 1)


def test_a_town_with_its_own_omic_cannot_be_enrolled_and_the_page_says_why(
    client, towns, coordinator
):
    barcelona = towns["Barcelona"]
    response = post_town(client, barcelona.id, has_omic="y", enrolled="y", enrolled_on="")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    message = (
        "Un municipi amb OMIC pròpia no es pot adherir: aquest servei és per als municipis que "
        "no tenen oficina de consum. Desmarqueu l'OMIC o l'adhesió."
    )
    assert error_messages(html) == [message]
    assert summary_links(html) == [("#enrolled", message)]
    assert soup(html).title.get_text().startswith("Error: Barcelona")
    page = soup(html)
    # The answers are kept, the error is beside the box it is about.
    assert page.select_one("#enrolled").has_attr("checked")
    assert page.select_one("#has_omic").has_attr("checked")
    assert page.select_one("#enrolled")["aria-describedby"] == "enrolled-error"
    db.session.expire_all()
    assert db.session.get(Municipality, barcelona.id).enrolled_on is None
    assert "té oficina de consum pròpia" in client.get("/reserva/barcelona/").get_data(as_text=True)


def test_marking_an_enrolled_town_as_having_an_omic_asks_to_end_the_enrolment_first(
    client, towns, coordinator
):
    gelida = towns["Gelida"]
    enrol(gelida, date(2025, 3, 1))
    response = post_town(client, gelida.id, has_omic="y", enrolled="y", enrolled_on="2025-03-01")
    assert response.status_code == 200
    assert len(error_messages(response.get_data(as_text=True))) == 1
    db.session.expire_all()
    assert db.session.get(Municipality, gelida.id).has_omic is False
    # Unticking the enrolment as asked: saved, and the town can no longer book.
    response = post_town(client, gelida.id, has_omic="y", enrolled_on="2025-03-01")
    assert response.status_code == 303
    db.session.expire_all()
    town = db.session.get(Municipality, gelida.id)
    assert (town.has_omic, town.enrolled_on, town.can_book) == (True, None, False)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("31/02/2026", "La data d'adhesió ha de ser una data real, per exemple 01/03/2025"),
        ("demà", "La data d'adhesió ha de ser una data real, per exemple 01/03/2025"),
        ("2025-13-01", "La data d'adhesió ha de ser una data real, per exemple 01/03/2025"),
        ("1999-12-31", "La data d'adhesió ha de ser de l'any 2000 o després"),
        (
            "2999-01-01",
            "La data d'adhesió pot ser com a molt d'aquí a un any: la reserva s'obre aquell dia",
        ),
    ],
)
def test_a_wrong_enrolment_date_is_explained_beside_the_field_and_kept(
    client, towns, coordinator, typed, message
):
    alella = towns["Alella"]
    response = post_town(client, alella.id, enrolled="y", enrolled_on=typed)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert error_messages(html) == [message]
    assert summary_links(html) == [("#enrolled_on", message)]
    assert soup(html).select_one("#enrolled_on")["value"] == typed
    assert soup(html).title.get_text().startswith("Error: ")
    db.session.expire_all()
    assert db.session.get(Municipality, alella.id).enrolled_on is None


def test_a_town_enrolled_from_tomorrow_can_book_from_tomorrow(client, towns, coordinator):
    from datetime import timedelta

    alella = towns["Alella"]
    tomorrow = today() + timedelta(days=1)
    response = post_town(client, alella.id, enrolled="y", enrolled_on=tomorrow.isoformat())
    assert response.status_code == 303
    db.session.expire_all()
    town = db.session.get(Municipality, alella.id)
    assert (town.enrolled_on, town.can_book) == (tomorrow, False)
    bookable = db.session.scalars(select(Municipality.id).where(Municipality.can_book)).all()
    assert town.id not in bookable
    clock.move_to(clock.now() + timedelta(days=1))
    db.session.expire_all()
    assert db.session.get(Municipality, alella.id).can_book is True


def test_a_form_without_its_token_changes_nothing(client, towns, coordinator):
    response = client.post(f"/admin/municipis/{towns['Alella'].id}", data={"enrolled": "y"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Municipality, towns["Alella"].id).enrolled_on is None


def test_an_unknown_town_is_404(client, towns, coordinator):
    assert client.get("/admin/municipis/99999").status_code == 404


# --- Access -----------------------------------------------------------------------------------


def test_technicians_get_403_and_anonymous_users_go_to_sign_in(client, towns, login):
    town_id = towns["Gelida"].id
    urls = [("GET", "/admin/municipis/"), ("GET", f"/admin/municipis/{town_id}")]
    urls.append(("POST", f"/admin/municipis/{town_id}"))
    token = csrf_token(client.get("/entra").get_data(as_text=True))
    for method, url in urls:
        response = client.open(url, method=method, data={"csrf_token": token, "enrolled": "y"})
        assert response.status_code in (302, 303), url
        assert "/entra" in response.headers["Location"]

    make_staff("OPSSVEGAVN")
    login("OPSSVEGAVN")
    token = csrf_token(client.get("/espai/").get_data(as_text=True))
    for method, url in urls:
        response = client.open(url, method=method, data={"csrf_token": token, "enrolled": "y"})
        assert response.status_code == 403, url
    db.session.expire_all()
    assert db.session.get(Municipality, town_id).enrolled_on is None
    # And the menu does not offer it.
    menu = soup(client.get("/espai/").get_data(as_text=True)).select_one(".staff-nav")
    assert "Municipis" not in menu.get_text()


def test_coordinators_find_the_registry_in_the_menu(client, towns, coordinator):
    menu = soup(client.get("/admin/municipis/").get_data(as_text=True)).select_one(".staff-nav")
    link = menu.find("a", string="Municipis")
    assert link["href"] == "/admin/municipis/" and link["aria-current"] == "page"
