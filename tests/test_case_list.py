"""The case list (/espai/expedients/): the tracker's columns, search, filters, sorting, pages,
state in the URL with and without htmx, the CSV export, and a fixed number of queries."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC
from datetime import datetime
from urllib.parse import parse_qs
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from support.factories import PASSWORD
from support.factories import make_staff
from support.factories import make_town
from support.htmlutil import csrf_token
from support.htmlutil import soup
from support.queries import counted_queries
from umic.casefiles import queries
from umic.casefiles import tracker
from umic.casefiles.service import create_case
from umic.extensions import db
from umic.models import CaseFile
from umic.models import Role

LIST = "/espai/expedients/"
CSV = "/espai/expedients/export.csv"
MADRID = ZoneInfo("Europe/Madrid")
HEADERS = list(tracker.HEADER)  # the seed's 15 columns (pinned by test_tracker_cli)
HTMX = {"HX-Request": "true"}


def local(year, month, day, hour=10, minute=0, second=0) -> datetime:
    """A Madrid wall-clock moment, as the UTC value the database stores."""
    return datetime(year, month, day, hour, minute, second, tzinfo=MADRID).astimezone(UTC)


def add_case(*, requested: datetime | None = None, updated: datetime | None = None, **values):
    """A case created the way the app creates them, committed."""
    requested = requested or local(2025, 5, 15, 16, 48, 6)
    case = create_case({"requested_at": requested, **values}, actor=None, now=updated or requested)
    db.session.commit()
    return case


def table_rows(html: str) -> list[list[str]]:
    """The text of every cell of every row of the results table."""
    return [
        [cell.get_text(" ", strip=True) for cell in row.select("td, th")]
        for row in soup(html).select("table tbody tr")
    ]


def names(html: str) -> list[str]:
    """The Nom interessat column, which the tests use to tell cases apart (wherever the
    signed-in person's choice of columns puts it)."""
    headers = [th.get_text(" ", strip=True).rstrip("▲▼ ") for th in soup(html).select("thead th")]
    column = headers.index("Nom interessat") if headers else 0
    return [row[column] for row in table_rows(html)]


def count_line(html: str) -> str:
    return soup(html).select_one("#case-count").get_text(strip=True)


#: The tracker's 15 columns, which the signed-in technician chose to see (the default set is
#: narrower: tests/test_tracker_habits.py).
TRACKER_COLUMNS = ",".join(key for key, _header in queries.COLUMNS[:15])


@pytest.fixture
def staff(app, login):
    """Three technicians; the first one is signed in and shows the tracker's 15 columns."""
    people = [make_staff(code) for code in ("OPSSVEGAVN", "OPSSAPRESGA", "OPSSPASCUETCA")]
    people[0].case_list_columns = TRACKER_COLUMNS
    db.session.commit()
    login("OPSSVEGAVN")
    return people


def get(client, query: str = "", **kwargs) -> str:
    response = client.get(LIST + query, **kwargs)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# --- The columns ----------------------------------------------------------------------------


def test_every_column_is_shown_with_the_trackers_wording(client, staff):
    gelida = make_town("Gelida", "08091")
    case = add_case(
        requested=local(2025, 5, 9, 9, 31, 42),
        updated=local(2025, 5, 14, 12, 5),
        municipality_id=gelida.id,
        registry_entry="E/000123-2025",
        call="Convocatòria 2025",
        status="documentacio_requerida",
        status_detail="Documentació requerida",
        internal_status="Documentació requerida",
        internal_detail="ENOTUM fins 28/05. Cobrament impots indeguts, empresa Moneyman",
        assigned_to_id=staff[2].id,
        interested_name="SARAY",
    )
    html = get(client)
    page = soup(html)

    headers = [th.get_text(" ", strip=True).rstrip("▲▼ ") for th in page.select("thead th")]
    assert headers == HEADERS
    assert table_rows(html) == [
        [
            str(case.id),
            "Reclamacions",
            "E/000123-2025",
            case.number,
            "Ajuntament de Gelida",
            "Convocatòria 2025",
            "09/05/2025 09:31:42",
            "14/05/2025",
            "Documentació requerida",
            "Documentació requerida",
            "Documentació requerida",
            "ENOTUM fins 28/05. Cobrament impots indeguts, empresa Moneyman",
            "OPSSPASCUETCA",
            "E02020000 - Ser. Suport Polítiques de Consum",
            "SARAY",
        ]
    ]
    assert page.select_one("tbody th[scope=row] a")["href"] == f"/espai/expedients/{case.id}"
    assert page.select_one("tbody .badge")["class"] == ["badge", "badge-documentacio_requerida"]
    assert count_line(html) == "Mostrant de 1 a 1 de 1 registre"
    assert page.title.get_text().startswith("Expedients")


def test_times_are_shown_in_madrid_time_in_winter_and_summer(client, staff):
    add_case(requested=local(2025, 1, 10, 23, 30, 5), updated=local(2025, 1, 10, 23, 45))
    add_case(requested=local(2025, 7, 1, 0, 15, 0), updated=local(2025, 7, 1, 0, 20))
    rows = table_rows(get(client))
    assert [(row[6], row[7]) for row in rows] == [
        ("01/07/2025 00:15:00", "01/07/2025"),
        ("10/01/2025 23:30:05", "10/01/2025"),
    ]


def test_twenty_one_cases_read_like_the_seed(client, staff):
    for number in range(21):
        add_case(requested=local(2025, 5, 1 + number), interested_name=f"Persona {number}")
    html = get(client)
    assert count_line(html) == "Mostrant de 1 a 21 de 21 registres"
    assert len(table_rows(html)) == 21
    assert soup(html).select(".pager") == []  # one page: no pager


def test_an_empty_list_says_so(client, staff):
    html = get(client)
    assert count_line(html) == "Cap registre"
    assert soup(html).select("table") == []
    assert "Encara no hi ha cap expedient" in html
    html = get(client, "?q=inexistent")
    assert count_line(html) == "Cap registre"
    assert "No hi ha cap expedient que coincideixi" in html


def test_towns_are_named_with_catalan_contractions(client, staff):
    towns = [
        make_town("Abrera", "08001"),
        make_town("El Bruc", "08025"),
        make_town("L'Ametlla del Vallès", "08005"),
        make_town("Les Cabanyes", "08027"),
    ]
    for town in towns:
        add_case(municipality_id=town.id, interested_name=town.name)
    rows = table_rows(get(client, "?ordre=interessat&sentit=asc"))
    assert [row[4] for row in rows] == [
        "Ajuntament d'Abrera",
        "Ajuntament del Bruc",
        "Ajuntament de l'Ametlla del Vallès",
        "Ajuntament de les Cabanyes",
    ]


def test_technicians_and_coordinators_see_every_case(app, client, staff):
    add_case(interested_name="De la companya", assigned_to_id=staff[1].id)
    add_case(interested_name="Sense ningú")
    assert sorted(names(get(client))) == ["De la companya", "Sense ningú"]

    make_staff("COORD", role=Role.COORDINATOR)
    coordinator = app.test_client()
    form = coordinator.get("/entra").get_data(as_text=True)
    signed_in = coordinator.post(
        "/entra", data={"csrf_token": csrf_token(form), "username": "COORD", "password": PASSWORD}
    )
    assert signed_in.status_code == 303
    assert sorted(names(get(coordinator))) == ["De la companya", "Sense ningú"]


# --- Search ---------------------------------------------------------------------------------


def test_search_ignores_accents_and_capitals(client, staff):
    add_case(interested_name="Núria Puig")
    add_case(interested_name="MÒNICA Ferrer")
    add_case(interested_name="Joan Vila", company="Aigües de Gelida")
    assert names(get(client, "?q=nuria")) == ["Núria Puig"]
    assert names(get(client, "?q=NÚRIA")) == ["Núria Puig"]
    assert names(get(client, "?q=Mònica")) == ["MÒNICA Ferrer"]
    assert names(get(client, "?q=aigues")) == ["Joan Vila"]


def test_search_needs_every_word(client, staff):
    add_case(requested=local(2025, 5, 3), interested_name="Baixa i Naturgy", company="Naturgy")
    add_case(requested=local(2025, 5, 2), interested_name="Només empresa", company="Naturgy")
    add_case(requested=local(2025, 5, 1), interested_name="Només baixa", internal_detail="Baixa")
    assert names(get(client, "?q=naturgy+baixa")) == ["Baixa i Naturgy"]
    assert names(get(client, "?q=naturgy")) == ["Baixa i Naturgy", "Només empresa"]
    assert names(get(client, "?q=baixa")) == ["Baixa i Naturgy", "Només baixa"]


def test_search_finds_a_case_by_its_number_or_its_id(client, staff):
    cases = [add_case(interested_name=f"Persona {n}") for n in range(12)]
    older = add_case(requested=local(2024, 12, 30), interested_name="De l'any passat")
    assert older.number == "2024/0000001"
    wanted = cases[1]
    assert wanted.number == "2025/0000002"
    assert names(get(client, "?q=2025/0000002")) == ["Persona 1"]
    assert names(get(client, "?q=0000002")) == ["Persona 1"]
    # The tracker's ID column: 13 is in no case's text, only in the older case's id.
    assert str(older.id) == "13"
    assert names(get(client, "?q=13")) == ["De l'any passat"]


# --- Filters --------------------------------------------------------------------------------


@pytest.fixture
def three_cases(app, staff):
    """Cases that differ in every filter; A and B straddle midnight in Madrid."""
    gelida = make_town("Gelida", "08091")
    begues = make_town("Begues", "08020")
    add_case(
        interested_name="A",
        requested=local(2025, 5, 15, 23, 30),
        status="pendent",
        case_type="reclamacio",
        channel="telematica",
        municipality_id=gelida.id,
        assigned_to_id=staff[0].id,
    )
    add_case(
        interested_name="B",
        requested=local(2025, 5, 16, 0, 30),
        status="en_tramit",
        case_type="queixa",
        channel="bustia",
        municipality_id=begues.id,
        assigned_to_id=staff[1].id,
    )
    add_case(
        interested_name="C",
        requested=local(2025, 1, 10, 10, 0),
        status="resolt",
        case_type="consulta",
        channel="umic",
    )
    return {"gelida": gelida.id, "begues": begues.id, "first": staff[0].id, "second": staff[1].id}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("estat=en_tramit", ["B"]),
        ("estat=resolt", ["C"]),
        ("tipus=consulta", ["C"]),
        ("tipus=reclamacio", ["A"]),
        ("canal=bustia", ["B"]),
        ("canal=umic", ["C"]),
        ("municipi={gelida}", ["A"]),
        ("municipi={begues}", ["B"]),
        ("assignat={second}", ["B"]),
        ("assignat=cap", ["C"]),
        ("desde=2025-05-16", ["B"]),
        ("fins=2025-05-15", ["A", "C"]),
        ("desde=2025-05-15&fins=2025-05-15", ["A"]),
        ("desde=01/01/2025&fins=31/01/2025", ["C"]),
        ("estat=pendent&canal=bustia", []),
        ("", ["B", "A", "C"]),
    ],
)
def test_each_filter_narrows_the_list(client, three_cases, args, expected):
    assert names(get(client, "?" + args.format(**three_cases))) == expected


def test_the_filter_form_shows_the_choices_and_keeps_what_was_chosen(client, three_cases):
    make_town("Castellví de Rosanes", "08061", enrolled=False)  # no cases, not enrolled
    html = get(client, "?q=Núria&estat=en_tramit&assignat=cap&desde=2025-05-01")
    page = soup(html)
    assert page.select_one("#q")["value"] == "Núria"
    assert page.select_one("#estat option[selected]")["value"] == "en_tramit"
    assert page.select_one("#assignat option[selected]")["value"] == "cap"
    assert page.select_one("#desde")["value"] == "2025-05-01"
    towns = [option.get_text() for option in page.select("#municipi option")]
    assert towns == ["Tots", "Begues", "Gelida"]
    people = [option["value"] for option in page.select("#assignat option")][2:]
    assert len(people) == 3
    form = page.select_one("form#case-filters")
    assert form["method"] == "get" and form["action"] == LIST
    assert page.select_one(f'a[href="{LIST}?assignat={three_cases["first"]}"]').get_text() == (
        "Els meus expedients"
    )


def test_a_date_that_is_not_real_is_explained_and_ignored(client, three_cases):
    html = get(client, "?desde=2025-02-30&fins=2025-05-15")
    page = soup(html)
    assert page.title.get_text().startswith("Error: ")
    assert [a["href"] for a in page.select(".error-summary a")] == ["#desde"]
    assert "data real" in page.select_one("#desde-error").get_text()
    assert page.select_one("#desde")["aria-invalid"] == "true"
    assert names(html) == ["A", "C"]  # the valid "fins" still applies


def test_an_end_date_before_the_start_is_explained(client, three_cases):
    html = get(client, "?desde=2025-05-16&fins=2025-05-01")
    assert [a["href"] for a in soup(html).select(".error-summary a")] == ["#fins"]
    assert names(html) == ["B"]


def test_a_bad_date_from_htmx_replaces_main_so_the_summary_shows(client, three_cases):
    response = client.get(LIST + "?desde=nope", headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#main"
    assert response.headers["HX-Reselect"] == "#main"
    assert soup(response.get_data(as_text=True)).select_one("main .error-summary[autofocus]")


# --- Sorting --------------------------------------------------------------------------------


@pytest.fixture
def sortable(app, staff):
    gelida = make_town("Gelida", "08091")
    begues = make_town("Begues", "08020")
    add_case(
        interested_name="Berta",
        requested=local(2025, 5, 1),
        updated=local(2025, 5, 20),
        municipality_id=gelida.id,
        assigned_to_id=staff[0].id,  # OPSSVEGAVN
        status="resolt",
        status_detail="b",
    )
    add_case(
        interested_name="Anna",
        requested=local(2025, 5, 3),
        updated=local(2025, 5, 10),
        municipality_id=begues.id,
        status="pendent",
        status_detail="c",
    )
    add_case(
        interested_name="Carles",
        requested=local(2025, 5, 2),
        updated=local(2025, 5, 30),
        assigned_to_id=staff[1].id,  # OPSSAPRESGA
        status="en_tramit",
        status_detail="a",
    )


@pytest.mark.parametrize(
    ("key", "ascending"),
    [
        ("id", ["Berta", "Anna", "Carles"]),
        ("expedient", ["Berta", "Anna", "Carles"]),
        ("interessat", ["Anna", "Berta", "Carles"]),
        ("peticio", ["Berta", "Carles", "Anna"]),
        ("actualitzacio", ["Anna", "Berta", "Carles"]),
        ("estat", ["Carles", "Anna", "Berta"]),
        ("detall_estat", ["Carles", "Berta", "Anna"]),
    ],
)
def test_sorting_by_a_column_both_ways(client, sortable, key, ascending):
    assert names(get(client, f"?ordre={key}&sentit=asc")) == ascending
    assert names(get(client, f"?ordre={key}&sentit=desc")) == ascending[::-1]


@pytest.mark.parametrize(
    ("key", "ascending", "descending"),
    [
        # A case without a town or a technician comes last whichever the direction.
        ("classificacio", ["Anna", "Berta", "Carles"], ["Berta", "Anna", "Carles"]),
        ("assignat", ["Carles", "Berta", "Anna"], ["Berta", "Carles", "Anna"]),
    ],
)
def test_sorting_by_town_or_technician_puts_the_empty_ones_last(
    client, sortable, key, ascending, descending
):
    assert names(get(client, f"?ordre={key}&sentit=asc")) == ascending
    assert names(get(client, f"?ordre={key}&sentit=desc")) == descending


def test_equal_values_keep_a_stable_order_by_id(client, staff):
    cases = [add_case(interested_name="Igual", registry_entry=f"R{n}") for n in range(4)]
    ids = [str(case.id) for case in cases]
    rows = table_rows(get(client, "?ordre=interessat&sentit=asc"))
    assert [row[0] for row in rows] == ids
    rows = table_rows(get(client, "?ordre=interessat&sentit=desc"))
    assert [row[0] for row in rows] == ids[::-1]


def test_the_newest_request_comes_first_by_default(client, sortable):
    html = get(client)
    assert names(html) == ["Anna", "Carles", "Berta"]
    sorted_headers = soup(html).select("th[aria-sort]")
    assert len(sorted_headers) == 1
    assert sorted_headers[0]["aria-sort"] == "descending"
    assert sorted_headers[0].select_one("a").get_text(strip=True).startswith("Data petició")


def test_column_headers_are_links_that_sort_and_then_reverse(client, sortable):
    page = soup(get(client, "?q=a&ordre=interessat&sentit=asc&pagina=1"))
    header = page.select_one("th[aria-sort]")
    assert header["aria-sort"] == "ascending"
    assert query_of(header.select_one("a")["href"]) == {
        "q": ["a"],
        "ordre": ["interessat"],
        "sentit": ["desc"],
    }
    other = page.select_one("#sort-classificacio")
    assert query_of(other["href"]) == {"q": ["a"], "ordre": ["classificacio"], "sentit": ["asc"]}
    assert other["hx-get"] == other["href"]
    # Dates read newest first on the first click.
    assert query_of(page.select_one("#sort-actualitzacio")["href"])["sentit"] == ["desc"]
    # The form keeps the order when a filter changes.
    hidden = {i["name"]: i["value"] for i in page.select("#case-sort input[type=hidden]")}
    assert hidden == {"ordre": "interessat", "sentit": "asc"}


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# --- Pages ----------------------------------------------------------------------------------


@pytest.fixture
def five_cases(staff):
    for day in range(1, 6):
        add_case(requested=local(2025, 5, day), interested_name=f"P{day}", channel="umic")
    add_case(requested=local(2025, 5, 9), interested_name="Un altre canal", channel="bustia")


@pytest.mark.parametrize("app_config", [{"CASES_PAGE_SIZE": 2}])
def test_pages_show_where_you_are_and_keep_the_filters(client, five_cases):
    html = get(client, "?canal=umic")
    assert count_line(html) == "Mostrant de 1 a 2 de 5 registres"
    assert names(html) == ["P5", "P4"]
    pager = soup(html).select_one("nav.pager")
    assert pager.select_one("[aria-current=page]").get_text(" ", strip=True) == "Pàgina 1"
    assert pager.select_one("#page-prev") is None
    assert query_of(pager.select_one("#page-next")["href"]) == {"canal": ["umic"], "pagina": ["2"]}

    html = get(client, "?canal=umic&pagina=2")
    assert count_line(html) == "Mostrant de 3 a 4 de 5 registres"
    assert names(html) == ["P3", "P2"]

    html = get(client, "?canal=umic&pagina=3")
    assert count_line(html) == "Mostrant de 5 a 5 de 5 registres"
    assert names(html) == ["P1"]
    pager = soup(html).select_one("nav.pager")
    assert pager.select_one("#page-next") is None
    assert query_of(pager.select_one("#page-prev")["href"]) == {"canal": ["umic"], "pagina": ["2"]}


@pytest.mark.parametrize("app_config", [{"CASES_PAGE_SIZE": 2}])
def test_a_page_past_the_end_shows_the_last_page(client, five_cases):
    html = get(client, "?canal=umic&pagina=99999")
    assert count_line(html) == "Mostrant de 5 a 5 de 5 registres"
    assert names(html) == ["P1"]


@pytest.mark.parametrize("app_config", [{"CASES_PAGE_SIZE": 2}])
@pytest.mark.parametrize("key", ["classificacio", "assignat", "interessat", "peticio"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_paging_through_any_order_shows_every_case_once_in_the_export_order(
    client, staff, key, direction
):
    """Pages near the end are read backwards; with ties and empty values they still agree."""
    gelida = make_town("Gelida", "08091")
    for n in range(7):
        add_case(
            requested=local(2025, 5, 1 + n % 3),
            municipality_id=gelida.id if n % 3 else None,
            assigned_to_id=staff[n % 2].id if n % 4 else None,
            interested_name=f"Nom {n % 2}",
        )
    args = f"?ordre={key}&sentit={direction}"
    paged = []
    for number in (1, 2, 3, 4):
        paged += table_rows(get(client, f"{args}&pagina={number}"))
    assert csv_rows(client.get(CSV + args))[1:] == paged
    assert sorted(int(row[0]) for row in paged) == list(range(1, 8))


@pytest.mark.parametrize("app_config", [{"CASES_PAGE_SIZE": 1}])
def test_a_long_list_links_the_first_last_and_nearby_pages(client, staff):
    for day in range(1, 21):
        add_case(requested=local(2025, 4, day))
    pager = soup(get(client, "?pagina=10")).select_one("nav.pager")
    numbers = [a.get_text(strip=True).removeprefix("Pàgina") for a in pager.select("a[id^=page-]")]
    assert numbers == ["Anterior", "1", "8", "9", "10", "11", "12", "20", "Següent"]


@pytest.mark.parametrize("app_config", [{"CASES_PAGE_SIZE": 2}])
def test_a_search_with_many_matches_says_more_than_and_pages_up_to_the_cap(
    client, staff, monkeypatch
):
    """A free-text search counts its matches only up to ``SEARCH_COUNT_CAP`` (counting
    every match of a common word would cost more the more cases there are). Past it the
    list says "més de", its pages go as far as the count, and the export has every case."""
    monkeypatch.setattr(queries, "SEARCH_COUNT_CAP", 5)
    for day in range(1, 9):
        add_case(requested=local(2025, 5, day), interested_name=f"Puig {day}")
    add_case(requested=local(2025, 5, 20), interested_name="Vila")

    html = get(client, "?q=puig")
    assert count_line(html) == "Mostrant de 1 a 2 de més de 5 registres"
    assert names(html) == ["Puig 8", "Puig 7"]
    pager = soup(html).select_one("nav.pager")
    numbers = [a.get_text(strip=True).removeprefix("Pàgina") for a in pager.select("a[id^=page-]")]
    assert numbers == ["1", "2", "3", "Següent"]

    # The last page the count reaches is read forwards (the end of the matches is unknown).
    html = get(client, "?q=puig&pagina=3")
    assert count_line(html) == "Mostrant de 5 a 5 de més de 5 registres"
    assert names(html) == ["Puig 4"]
    html = get(client, "?q=puig&pagina=99")
    assert count_line(html) == "Mostrant de 5 a 5 de més de 5 registres"
    assert names(html) == ["Puig 4"]

    assert len(csv_rows(client.get(CSV + "?q=puig"))) == 1 + 8  # the export is complete

    # Up to the cap, and without words (filters alone), the count is exact.
    assert count_line(get(client, "?q=puig+7")) == "Mostrant de 1 a 1 de 1 registre"
    assert count_line(get(client, "")) == "Mostrant de 1 a 2 de 9 registres"
    monkeypatch.setattr(queries, "SEARCH_COUNT_CAP", 8)
    assert count_line(get(client, "?q=puig")) == "Mostrant de 1 a 2 de 8 registres"


@pytest.fixture
def searchable(staff):
    """Nine cases with ties, empty towns and technicians: "puig" is in seven, "vila" in two."""
    gelida = make_town("Gelida", "08091")
    begues = make_town("Begues", "08020")
    for n in range(9):
        add_case(
            requested=local(2025, 5, 1 + n % 3),
            updated=local(2025, 6, 1 + n % 2),
            municipality_id=(None, gelida.id, begues.id)[n % 3],
            assigned_to_id=staff[n % 2].id if n % 4 else None,
            interested_name=f"{'Vila' if n in (2, 6) else 'Puig'} {n % 2}",
            status_detail=("a", "b", "")[n % 3],
        )


def _page_ids(query, limit, offset, *, reverse=False, few=False) -> list[int]:
    statement = queries.page_statement(query, MADRID, limit, offset, reverse=reverse, few=few)
    return [row.id for row in db.session.execute(statement)]


@pytest.mark.parametrize("words", ["puig", "vila", "0", ""])
@pytest.mark.parametrize("direction", [True, False])
def test_few_matches_read_first_give_the_same_rows_in_the_same_order(searchable, words, direction):
    """``page_statement(few=True)`` finds the matches before sorting them (a rare word must
    not make the database walk every case in date order): every sort, both ways, forwards
    and backwards, from the first page to the last, gives exactly the rows of the plain
    plan, which are the export's."""
    for key in queries.SORT_COLUMNS:
        query = queries.CaseListQuery(q=words, sort=key, descending=direction)
        everything = [row.id for row in db.session.execute(queries.rows_statement(query, MADRID))]
        assert everything, key
        for limit in (2, 4):
            for offset in range(0, len(everything), limit):
                expected = everything[offset : offset + limit]
                assert _page_ids(query, limit, offset) == expected, key
                assert _page_ids(query, limit, offset, few=True) == expected, key
                back = len(everything) - offset - len(expected)  # the same rows from the end
                for few in (False, True):
                    rows = _page_ids(query, len(expected), back, reverse=True, few=few)
                    assert rows[::-1] == expected, (key, few)


@pytest.mark.parametrize("app_config", [{"CASES_PAGE_SIZE": 2}])
@pytest.mark.parametrize("words", ["puig", "vila"])
@pytest.mark.parametrize("key", ["peticio", "classificacio", "assignat", "interessat"])
def test_a_search_pages_through_every_match_once_to_the_last_page(client, searchable, words, key):
    """A common and a rare word, paged (the last pages backwards, the matches read first):
    the export's rows in the export's order, and the last page is the remainder."""
    args = f"?q={words}&ordre={key}&sentit=asc"
    expected = csv_rows(client.get(CSV + args))[1:]
    assert len(expected) == (7 if words == "puig" else 2)
    pages = (len(expected) + 1) // 2
    paged = []
    for number in range(1, pages + 1):
        paged += table_rows(get(client, f"{args}&pagina={number}"))
    assert paged == expected
    last = get(client, f"{args}&pagina={pages}")
    assert len(table_rows(last)) == 2 - len(expected) % 2
    assert count_line(last).endswith(f"de {len(expected)} registres")


# --- State in the URL, with and without htmx ------------------------------------------------


def test_htmx_gets_only_the_results_and_the_same_rows_as_the_page(client, three_cases):
    args = "?q=a&canal=telematica&ordre=interessat&sentit=desc"
    page = client.get(LIST + args)
    fragment = client.get(LIST + args, headers=HTMX)
    assert fragment.status_code == 200
    assert "HX-Request" in fragment.headers["Vary"]
    assert "HX-Request" in page.headers["Vary"]
    fragment_html = fragment.get_data(as_text=True)
    assert "<html" not in fragment_html and "<html" in page.get_data(as_text=True)
    assert table_rows(fragment_html) == table_rows(page.get_data(as_text=True))
    assert names(fragment_html) == ["A"]
    # The address bar shows the same state, tidied.
    pushed = fragment.headers["HX-Push-Url"]
    assert urlsplit(pushed).path == LIST
    assert query_of(pushed) == {
        "q": ["a"],
        "canal": ["telematica"],
        "ordre": ["interessat"],
        "sentit": ["desc"],
    }
    fragment_page = soup(fragment_html)
    # The count goes to the live region, the order to the form, both out of band.
    status = fragment_page.select_one('[hx-swap-oob="innerHTML:#status"]')
    assert status.get_text(strip=True) == "Mostrant de 1 a 1 de 1 registre"
    sort = fragment_page.select_one('#case-sort[hx-swap-oob="true"]')
    assert {i["name"]: i["value"] for i in sort.select("input")} == {
        "ordre": "interessat",
        "sentit": "desc",
    }


def test_the_page_is_ready_for_htmx_and_works_without_it(client, three_cases):
    page = soup(get(client))
    form = page.select_one("form#case-filters")
    assert form["hx-get"] == LIST
    assert form["autocomplete"] == "off"  # "back" shows the URL's filters, not the last ones
    assert "input changed delay:300ms from:#q" in form["hx-trigger"]
    assert "search from:#q" in form["hx-trigger"]
    assert "change from:.case-filter" in form["hx-trigger"]
    assert "submit" in form["hx-trigger"]
    wrapper = form.parent
    assert wrapper["hx-target"] == "#case-results"
    assert wrapper["hx-push-url"] == "true"
    assert page.select_one("#case-results table")
    assert len(page.select("select.case-filter")) == 7  # with sector and company (issue 14)
    assert len(page.select("input[type=date].case-filter")) == 2
    assert page.select_one("#status[role=status]").get_text(strip=True) == ""
    assert form.select_one("button[type=submit]")


def test_htmx_pushes_a_tidy_url_without_empty_fields_or_a_page_past_the_end(client, three_cases):
    args = "?q=&estat=&tipus=&canal=umic&municipi=&assignat=&desde=&fins=&pagina=7"
    response = client.get(LIST + args, headers=HTMX)
    assert response.headers["HX-Push-Url"] == LIST + "?canal=umic"
    assert "HX-Push-Url" not in client.get(LIST + args).headers


def test_a_history_restore_gets_the_whole_page(client, three_cases):
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    html = client.get(LIST + "?estat=resolt", headers=headers).get_data(as_text=True)
    assert "<html" in html
    assert names(html) == ["C"]


# --- CSV export -----------------------------------------------------------------------------


def csv_rows(response) -> list[list[str]]:
    """The export's tracker columns (its first 15; the app's own follow them)."""
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert all(len(row) == len(queries.CSV_HEADERS) for row in rows)
    return [row[:15] for row in rows]


@pytest.mark.parametrize("app_config", [{"CASES_PAGE_SIZE": 2}])
def test_the_export_is_the_whole_filtered_sorted_list(client, five_cases):
    args = "?canal=umic&ordre=interessat&sentit=asc"
    listed = []
    for number in (1, 2, 3):
        listed += table_rows(get(client, f"{args}&pagina={number}"))
    response = client.get(CSV + args)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_data().startswith(b"\xef\xbb\xbf")
    rows = csv_rows(response)
    assert rows[0] == HEADERS
    assert rows[1:] == listed
    assert [row[14] for row in rows[1:]] == ["P1", "P2", "P3", "P4", "P5"]


def test_the_export_link_carries_the_current_filters_but_not_the_page(client, five_cases):
    page = soup(get(client, "?q=p&canal=umic&ordre=interessat&sentit=asc&pagina=1"))
    link = page.find("a", string="Exporta a CSV")
    assert urlsplit(link["href"]).path == CSV
    assert query_of(link["href"]) == {
        "q": ["p"],
        "canal": ["umic"],
        "ordre": ["interessat"],
        "sentit": ["asc"],
    }


def test_the_export_keeps_accents_and_defuses_formulas(client, staff):
    add_case(interested_name='=HYPERLINK("http://example.com")', internal_detail="Àngels, «sí»")
    rows = csv_rows(client.get(CSV))
    assert rows[1][14] == '\'=HYPERLINK("http://example.com")'
    assert rows[1][11] == "Àngels, «sí»"


def test_an_empty_export_has_only_the_headers(client, staff):
    assert csv_rows(client.get(CSV + "?q=res")) == [HEADERS]


# --- Bad input and access -------------------------------------------------------------------


BAD_PARAMETERS = [
    "pagina=abc",
    "pagina=-3",
    "pagina=0",
    "pagina=" + "9" * 40,
    "ordre=nonsense",
    "ordre=id&sentit=sideways",
    "estat=perdut",
    "tipus=%27%3B+DROP+TABLE",
    "canal=fax",
    "municipi=abc",
    "municipi=999999",
    "municipi=" + "9" * 40,
    "assignat=ningu",
    "assignat=-1",
    "desde=2025-13-45",
    "fins=31/02/2025",
    "desde=0001-01-01",
    "fins=9999-12-31",
    "desde=" + "x" * 5000,
    "q=" + "paraula+" * 800,
    "q=%00%01",
    "q=%25_%5C",
    "q=%F0%9F%98%80",
    "estat=pendent&estat=resolt",
]


def test_bad_parameters_never_break_the_list_or_the_export(client, three_cases):
    for args in BAD_PARAMETERS:
        assert client.get(f"{LIST}?{args}").status_code == 200, args
        assert client.get(f"{LIST}?{args}", headers=HTMX).status_code == 200, args
        response = client.get(f"{CSV}?{args}")
        assert response.status_code == 200, args
        assert csv_rows(response)[0] == HEADERS, args


@pytest.mark.parametrize("path", [LIST, CSV])
def test_anonymous_visitors_are_sent_to_sign_in(client, app, path):
    response = client.get(path + "?estat=pendent")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/entra"
    response = client.get(path, headers=HTMX)
    assert urlsplit(response.headers["HX-Redirect"]).path == "/entra"


# --- Queries --------------------------------------------------------------------------------


def _queries(client, url: str) -> list[str]:
    with counted_queries() as statements:
        response = client.get(url)
        response.get_data()  # the export runs its query while streaming
    assert response.status_code == 200
    return statements


def _fill(count: int, towns, people) -> None:
    for n in range(count):
        add_case(
            requested=local(2025, 1 + n % 12, 1 + n % 28),
            municipality_id=towns[n % len(towns)].id if n % 5 else None,
            assigned_to_id=people[n % len(people)].id if n % 7 else None,
            interested_name=f"Persona {n}",
        )


@pytest.mark.parametrize("app_config", [{"CASES_PAGE_SIZE": 250}])
def test_the_list_costs_the_same_queries_with_5_or_200_cases(client, staff):
    towns = [make_town("Gelida", "08091"), make_town("Begues", "08020"), make_town("Avià", "08011")]
    _fill(5, towns, staff)
    urls = [f"{LIST}?ordre=assignat", f"{LIST}?q=persona&canal=telematica", CSV]
    few = [_queries(client, url) for url in urls]
    assert len(table_rows(get(client))) == 5

    _fill(195, towns, staff)
    many = [_queries(client, url) for url in urls]
    assert len(table_rows(get(client))) == 200
    assert db.session.query(CaseFile).count() == 200

    assert [len(q) for q in many] == [len(q) for q in few]
    list_page = [s for s in many[0] if s.lstrip().upper().startswith("SELECT")]
    # The signed-in user, the count, the page, the towns, the staff and the companies (issue
    # 14) for the filters.
    assert len(list_page) <= 6, list_page


# --- In a real browser ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    from support.browser import launched

    with launched() as browser:
        yield browser


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_searching_filtering_sorting_and_going_back_in_a_browser(
    chromium, app, three_cases, javascript
):
    from playwright.sync_api import expect

    from support.browser import served

    with served(app) as site:
        context = chromium.new_context(java_script_enabled=javascript)
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{site}/entra")
        page.fill("#username", "OPSSVEGAVN")
        page.fill("#password", PASSWORD)
        page.click("main form button[type=submit]")
        page.goto(f"{site}{LIST}")

        rows = page.locator("#case-results tbody tr")
        # The last column, Nom interessat, tells the cases apart; expect() waits for swaps.
        shown = page.locator("#case-results tbody tr td:last-child")
        sorted_header = page.locator("th:has(#sort-interessat)")

        expect(shown).to_have_text(["B", "A", "C"])
        page.fill("#q", "gelida")
        if javascript:  # results arrive without a reload, the URL follows, the count is read
            expect(rows).to_have_count(1)
            page.wait_for_url("**q=gelida**")
            expect(page.locator("#status")).to_have_text("Mostrant de 1 a 1 de 1 registre")
            assert page.evaluate("document.activeElement.id") == "q"
        else:
            page.click("form#case-filters button[type=submit] >> nth=0")
            page.wait_for_url(re.compile(r".*[?&]q=gelida"))
        expect(shown).to_have_text(["A"])

        page.fill("#q", "")
        if javascript:
            expect(rows).to_have_count(3)
        page.select_option("#canal", "umic")
        if not javascript:
            page.click("text=Filtra")
        page.wait_for_url("**canal=umic**")
        expect(shown).to_have_text(["C"])

        page.select_option("#canal", "")
        if not javascript:
            page.click("text=Filtra")
        expect(rows).to_have_count(3)
        page.click("#sort-interessat")
        page.wait_for_url("**ordre=interessat**")
        expect(sorted_header).to_have_attribute("aria-sort", "ascending")
        expect(shown).to_have_text(["A", "B", "C"])
        # A filter changed after sorting keeps the order (the form's hidden fields follow).
        page.select_option("#estat", "pendent")
        if not javascript:
            page.click("text=Filtra")
        page.wait_for_url("**estat=pendent**")
        assert "ordre=interessat" in page.url
        expect(shown).to_have_text(["A"])

        # Back: htmx keeps no page in its history cache, so the browser reloads the URL.
        page.go_back()
        expect(page).not_to_have_url(re.compile("estat=pendent"))
        expect(shown).to_have_text(["A", "B", "C"])
        expect(sorted_header).to_have_attribute("aria-sort", "ascending")
        expect(page.locator("#estat")).to_have_value("")
        assert problems == [], problems
        context.close()
