"""Unit tests of umic.casefiles.queries: reading the URL, pages, the tracker's formats, CSV."""

from __future__ import annotations

import csv
import io
from collections import namedtuple
from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import postgresql

from umic.casefiles.queries import CSV_HEADERS
from umic.casefiles.queries import UNASSIGNED
from umic.casefiles.queries import CaseListQuery
from umic.casefiles.queries import count_statement
from umic.casefiles.queries import csv_chunks
from umic.casefiles.queries import local_midnight
from umic.casefiles.queries import page_of
from umic.casefiles.queries import page_rows_statement
from umic.casefiles.queries import page_statement
from umic.casefiles.queries import parse_args
from umic.casefiles.queries import rows_statement
from umic.casefiles.tracker import format_local_date
from umic.casefiles.tracker import format_local_datetime
from umic.core.text import council_name

MADRID = ZoneInfo("Europe/Madrid")


# --- Reading the URL ------------------------------------------------------------------------


def test_an_empty_url_is_every_case_newest_first():
    query, problems = parse_args({})
    assert query == CaseListQuery()
    assert (query.sort, query.descending, query.page) == ("peticio", True, 1)
    assert problems == {}
    assert not query.filtered
    assert query.args() == {}


def test_every_parameter_is_read_and_written_back():
    args = {
        "q": "  Núria   Puig ",
        "estat": "en_tramit",
        "tipus": "queixa",
        "canal": "bustia",
        "municipi": "7",
        "assignat": "3",
        "desde": "2025-05-01",
        "fins": "31/05/2025",
        "ordre": "interessat",
        "sentit": "desc",
        "pagina": "4",
    }
    query, problems = parse_args(args)
    assert problems == {}
    assert query == CaseListQuery(
        q="Núria Puig",
        status="en_tramit",
        case_type="queixa",
        channel="bustia",
        municipality_id=7,
        assigned=3,
        date_from=date(2025, 5, 1),
        date_to=date(2025, 5, 31),
        sort="interessat",
        descending=True,
        page=4,
    )
    assert query.words == ["nuria", "puig"]
    assert parse_args(query.args())[0] == query
    assert query.args()["fins"] == "2025-05-31"


@pytest.mark.parametrize(
    ("args", "field", "kept"),
    [
        ({"estat": "perdut"}, "status", ""),
        ({"tipus": "RECLAMACIO"}, "case_type", ""),
        ({"canal": "fax"}, "channel", ""),
        ({"municipi": "abc"}, "municipality_id", None),
        ({"municipi": "-4"}, "municipality_id", None),
        ({"municipi": "0"}, "municipality_id", None),
        ({"municipi": "9" * 40}, "municipality_id", None),
        ({"assignat": "ningu"}, "assigned", None),
        ({"assignat": "cap"}, "assigned", UNASSIGNED),
        ({"ordre": "nonsense"}, "sort", "peticio"),
        ({"pagina": "abc"}, "page", 1),
        ({"pagina": "0"}, "page", 1),
        ({"pagina": "9" * 40}, "page", 1),
        ({"q": "x" * 500}, "q", "x" * 200),
    ],
)
def test_unknown_values_are_ignored(args, field, kept):
    query, problems = parse_args(args)
    assert getattr(query, field) == kept
    assert problems == {}


def test_the_direction_defaults_to_newest_first_for_dates_and_a_to_z_otherwise():
    assert parse_args({"ordre": "actualitzacio"})[0].descending is True
    assert parse_args({"ordre": "interessat"})[0].descending is False
    assert parse_args({"ordre": "interessat", "sentit": "sideways"})[0].descending is False
    assert parse_args({"ordre": "peticio", "sentit": "asc"})[0].descending is False


def test_bad_dates_are_reported_and_dropped():
    query, problems = parse_args({"desde": "2025-02-30", "fins": "2025-03-01"})
    assert problems == {"desde": "invalid"}
    assert (query.date_from, query.date_to) == (None, date(2025, 3, 1))
    query, problems = parse_args({"desde": "2025-05-16", "fins": "2025-05-01"})
    assert problems == {"fins": "before_start"}
    assert (query.date_from, query.date_to) == (date(2025, 5, 16), None)


def test_header_links_sort_then_reverse_and_go_back_to_the_first_page():
    query = CaseListQuery(q="gas", sort="interessat", descending=False, page=3)
    assert query.sorted_by("interessat") == {"q": "gas", "ordre": "interessat", "sentit": "desc"}
    assert query.sorted_by("registre") == {"q": "gas", "ordre": "registre", "sentit": "asc"}
    assert query.sorted_by("actualitzacio")["sentit"] == "desc"
    # Back to the default order: nothing in the URL.
    assert CaseListQuery(descending=False).sorted_by("peticio") == {}
    assert query.at_page(4) == {"q": "gas", "ordre": "interessat", "sentit": "asc", "pagina": "4"}


# --- Pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "asked", "number", "first", "last", "pages"),
    [
        (0, 1, 1, 0, 0, 1),
        (21, 1, 1, 1, 21, 1),
        (51, 2, 2, 26, 50, 3),
        (51, 3, 3, 51, 51, 3),
        (51, 99999, 3, 51, 51, 3),
        (50, 0, 1, 1, 25, 2),
    ],
)
def test_pages_are_clamped_and_counted(total, asked, number, first, last, pages):
    page = page_of(total, asked, 25)
    assert (page.number, page.first, page.last, page.pages) == (number, first, last, pages)


def test_the_page_window_shows_the_ends_and_the_neighbours():
    assert page_of(100, 1, 10).window() == [1, 2, 3, None, 10]
    assert page_of(100, 6, 10).window() == [1, None, 4, 5, 6, 7, 8, None, 10]
    assert page_of(100, 4, 10).window() == [1, 2, 3, 4, 5, 6, None, 10]
    assert page_of(30, 2, 10).window() == [1, 2, 3]


# --- Statements -----------------------------------------------------------------------------


def _sql(statement) -> str:
    compiled = statement.compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return " ".join(str(compiled).split()).replace("%%", "%")  # pyformat escaping


def test_each_search_word_is_a_like_on_the_folded_text():
    query = CaseListQuery(q="Àngels  Gas")
    sql = _sql(count_statement(query, MADRID))
    assert "case_file.search_text LIKE '%angels%'" in sql
    assert "case_file.search_text LIKE '%gas%'" in sql
    assert "JOIN" not in sql  # counting needs no join


def test_a_number_also_matches_the_id_but_not_with_leading_zeros():
    assert "case_file.id = 458973" in _sql(count_statement(CaseListQuery(q="458973"), MADRID))
    sql = _sql(count_statement(CaseListQuery(q="0029005"), MADRID))
    assert "case_file.id = 29005" not in sql and "case_file.tracker_id" not in sql


def test_the_date_range_covers_whole_days_in_madrid():
    query = CaseListQuery(date_from=date(2025, 5, 15), date_to=date(2025, 5, 15))
    sql = _sql(count_statement(query, MADRID))
    assert "requested_at >= '2025-05-14 22:00:00+00:00'" in sql
    assert "requested_at < '2025-05-15 22:00:00+00:00'" in sql
    assert local_midnight(date(2025, 1, 10), MADRID) == datetime(2025, 1, 9, 23, tzinfo=UTC)


def test_the_order_is_total_and_empty_towns_go_last():
    sql = _sql(rows_statement(CaseListQuery(sort="classificacio", descending=True), MADRID))
    assert "ORDER BY municipality.search_name DESC NULLS LAST, case_file.id DESC" in sql
    sql = _sql(rows_statement(CaseListQuery(sort="peticio", descending=False), MADRID))
    assert "ORDER BY case_file.requested_at ASC, case_file.id ASC" in sql


def test_a_page_chooses_its_ids_first_and_can_count_from_the_end():
    query = CaseListQuery(sort="classificacio", descending=False)
    sql = _sql(page_statement(query, MADRID, 25, 50))
    inner = "ORDER BY municipality.search_name ASC NULLS LAST, case_file.id ASC LIMIT 25 OFFSET 50"
    assert inner in sql
    assert sql.count("JOIN municipality") == 2  # to sort the ids, then for the 25 rows
    sql = _sql(page_statement(query, MADRID, 25, 0, reverse=True))
    assert "ORDER BY municipality.search_name DESC NULLS FIRST, case_file.id DESC LIMIT 25" in sql
    sql = _sql(page_statement(CaseListQuery(), MADRID, 25, 0))
    assert "JOIN municipality" in sql and sql.count("JOIN municipality") == 1


def test_few_matches_are_found_before_they_are_sorted():
    """When the count found few matches, the page reads them in a subquery the planner may
    not merge (``OFFSET 0``) and sorts only them; a capped count, or no filter at all, keeps
    the plain plan (walking an index in the list's order)."""
    rare = CaseListQuery(q="sitges")
    fenced = "LIMIT ALL OFFSET 0) AS matches ORDER BY matches.sort_value DESC, matches.id DESC"
    statement, backwards = page_rows_statement(rare, MADRID, page_of(24, 1, 25))
    sql = _sql(statement)
    assert fenced in sql and not backwards
    # The case's own text, or one of its documents' (one index condition each).
    assert (
        "WHERE case_file.search_text LIKE '%sitges%' OR case_file.id = ANY(ARRAY(SELECT "
        "case_document.case_id FROM case_document WHERE case_document.search_text LIKE "
        "'%sitges%')) LIMIT ALL OFFSET 0"
    ) in sql
    # The last page of few matches, read backwards, is fenced the same way.
    statement, backwards = page_rows_statement(rare, MADRID, page_of(480, 20, 25))
    sql = _sql(statement)
    assert backwards
    assert "ORDER BY matches.sort_value ASC, matches.id ASC LIMIT 5 OFFSET 0" in sql
    # A town's order carries the town's name (empty ones last) out of the subquery.
    by_town = CaseListQuery(q="sitges", sort="classificacio", descending=False)
    sql = _sql(page_rows_statement(by_town, MADRID, page_of(24, 1, 25))[0])
    assert "municipality.search_name AS sort_value" in sql
    assert "ORDER BY matches.sort_value ASC NULLS LAST, matches.id ASC LIMIT 24" in sql
    # Many matches (a capped count) or no filter: no fence.
    common = CaseListQuery(q="puig")
    sql = _sql(page_rows_statement(common, MADRID, page_of(500, 1, 25, capped=True))[0])
    assert "AS matches" not in sql
    sql = _sql(page_rows_statement(CaseListQuery(), MADRID, page_of(24, 1, 25))[0])
    assert "AS matches" not in sql


# --- The tracker's formats and the CSV ------------------------------------------------------


@pytest.mark.parametrize(
    ("town", "council"),
    [
        ("Gelida", "Ajuntament de Gelida"),
        ("Santa Maria de Palautordera", "Ajuntament de Santa Maria de Palautordera"),
        ("Abrera", "Ajuntament d'Abrera"),
        ("Òdena", "Ajuntament d'Òdena"),
        ("Hostalets de Pierola", "Ajuntament d'Hostalets de Pierola"),
        ("El Bruc", "Ajuntament del Bruc"),
        ("el Bruc", "Ajuntament del Bruc"),  # the INE file writes the article in lower case
        ("Els Prats de Rei", "Ajuntament dels Prats de Rei"),
        ("L'Ametlla del Vallès", "Ajuntament de l'Ametlla del Vallès"),
        ("La Garriga", "Ajuntament de la Garriga"),
        ("Les Cabanyes", "Ajuntament de les Cabanyes"),
        ("", ""),
        (None, ""),
    ],
)
def test_the_classification_is_the_councils_name(town, council):
    assert council_name(town) == council


def test_dates_are_written_as_the_tracker_did_in_madrid_time():
    summer = datetime(2025, 5, 15, 14, 48, 6, tzinfo=UTC)
    assert format_local_datetime(summer, MADRID) == "15/05/2025 16:48:06"
    late_winter_evening = datetime(2025, 1, 31, 23, 30, tzinfo=UTC)
    assert format_local_date(late_winter_evening, MADRID) == "01/02/2025"
    assert format_local_datetime(None, MADRID) == format_local_date(None, MADRID) == ""


Row = namedtuple(
    "Row",
    "id procedure_name registry_entry number town call requested_at updated_at status "
    "status_detail internal_status internal_detail assigned organic interested_name "
    "tracker_id deadline amount_claimed amount_recovered company",
)


def _row(n: int, **changes) -> Row:
    values = {
        "id": n,
        "procedure_name": "Reclamacions",
        "registry_entry": "",
        "number": f"2025/{n:07d}",
        "town": "Gelida",
        "call": "",
        "requested_at": datetime(2025, 5, 15, 14, 48, 6, tzinfo=UTC),
        "updated_at": datetime(2025, 5, 16, 8, tzinfo=UTC),
        "status": "pendent",
        "status_detail": "",
        "internal_status": "",
        "internal_detail": "Manca d'enviament de factura d'aigua",
        "assigned": None,
        "organic": "E02020000 - Ser. Suport Polítiques de Consum",
        "interested_name": "TRINIDAD",
        "tracker_id": "458973",
        "deadline": date(2025, 5, 28),
        "amount_claimed": Decimal("245.50"),
        "amount_recovered": None,
        "company": "Naturgy",
    }
    values.update(changes)
    return Row(**values)


def test_the_csv_has_a_bom_the_headers_and_a_line_per_case_in_pieces():
    chunks = list(csv_chunks((_row(n) for n in range(1, 8)), MADRID, str.upper, rows_per_chunk=3))
    assert len(chunks) == 3  # 3 + 3 + 1 rows
    text = "".join(chunks)
    # Semicolons by default (Excel with Catalan or Spanish settings), the tracker's 15 first.
    assert text.startswith("\ufeffID;Nom tràmit;Registre;Expedient;Classificació;")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))
    assert rows[0] == list(CSV_HEADERS)
    assert len(CSV_HEADERS) == 20  # the company (issue 14) last
    assert rows[1] == [
        "1",
        "Reclamacions",
        "",
        "2025/0000001",
        "Ajuntament de Gelida",
        "",
        "15/05/2025 16:48:06",
        "16/05/2025",
        "PENDENT",
        "",
        "",
        "Manca d'enviament de factura d'aigua",
        "",
        "E02020000 - Ser. Suport Polítiques de Consum",
        "TRINIDAD",
        "458973",
        "28/05/2025",
        "245,50",
        "",
        "Naturgy",
    ]
    assert len(rows) == 8
    assert "\r\n" in text


def test_the_csv_defuses_formulas_and_quotes_commas_and_newlines():
    rows = [
        _row(1, interested_name="=1+1", internal_detail="a, b\nc", status_detail="-2", call="@x")
    ]
    text = "".join(csv_chunks(rows, MADRID, str, delimiter=",")).removeprefix("\ufeff")
    line = list(csv.reader(io.StringIO(text, newline="")))[1]
    assert line[17] == "245.50"  # the comma variant: a decimal point
    assert line[14] == "'=1+1"
    assert line[9] == "'-2"
    assert line[5] == "'@x"
    assert line[11] == "a, b\nc"
