"""Reports that open on something: the period a report opens on, the named shortcuts, and one
meaning of "the last 12 months" on every report and CSV (``umic.core.periods``).

The clock is frozen on Friday 4 December 2026, 11:00 in Barcelona, the day of the review:
the last 12 months are 5 December 2025 to 4 December 2026, this year 1 January to 4 December.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import soup
from test_statistics import PILOT_PERIOD
from test_statistics import body_rows
from test_statistics import csv_rows
from test_statistics import foot_rows
from test_statistics import pilot  # noqa: F401 (a fixture)
from test_surveys import answer
from test_surveys import as_dict
from test_surveys import sent_booking
from test_surveys import table
from umic import clock
from umic.models import Role

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 12, 4, 11, 0, tzinfo=MADRID)
LAST_12 = {"desde": "2025-12-05", "fins": "2026-12-04"}
THIS_YEAR = {"desde": "2026-01-01", "fins": "2026-12-04"}


@pytest.fixture
def coordinator(app, login):
    clock.freeze(NOW)
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    login("OPSSCOORD")
    yield
    clock.reset()


def madrid(year, month, day, hour=16):
    return datetime(year, month, day, hour, tzinfo=MADRID)


def get(client, url: str, **args) -> str:
    response = client.get(url, query_string=args or None)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def shortcuts(html: str) -> dict[str, tuple[str, str | None]]:
    """Shortcut name -> (its link, its aria-current)."""
    return {
        a.get_text(strip=True): (a["href"], a.get("aria-current"))
        for a in soup(html).select("nav[aria-label='Períodes habituals'] a")
    }


def dates(html: str) -> tuple[str, str]:
    return soup(html).select_one("#desde")["value"], soup(html).select_one("#fins")["value"]


def query(href: str) -> str:
    return href.split("?", 1)[1]


# --- One meaning of "the last 12 months" ------------------------------------------------------


def test_in_december_the_last_12_months_and_this_year_are_different_links(client, coordinator):
    """L7: in December "Últims 12 mesos" and "2026" both linked to 1 January - 4 December."""
    html = get(client, "/admin/estadistiques/")
    links = shortcuts(html)
    assert list(links) == [
        "Últims 12 mesos",
        "Aquest any",
        "L'any passat",
        "La prova pilot (mar.–mai. 2025)",
        "Prova pilot i ampliació (mar.–set. 2025)",
    ]
    assert query(links["Últims 12 mesos"][0]) == "desde=2025-12-05&fins=2026-12-04"
    assert query(links["Aquest any"][0]) == "desde=2026-01-01&fins=2026-12-04"
    assert query(links["L'any passat"][0]) == "desde=2025-01-01&fins=2025-12-31"
    assert query(links["La prova pilot (mar.–mai. 2025)"][0]) == (
        "desde=2025-03-01&fins=2025-05-31"
    )
    assert query(links["Prova pilot i ampliació (mar.–set. 2025)"][0]) == (
        "desde=2025-03-01&fins=2025-09-30"
    )
    # The survey results offer the same shortcuts with the same days.
    survey_links = shortcuts(get(client, "/admin/enquestes/"))
    assert {name: query(href) for name, (href, _c) in survey_links.items()} == {
        name: query(href) for name, (href, _c) in links.items()
    }


def test_the_expansion_plan_counts_the_same_last_12_months(client, coordinator):
    """L7: the expansion plan's "requests a year" are the reports' last 12 months."""
    html = get(client, "/admin/ampliacio/")
    assert "Peticions del 05/12/2025 al 04/12/2026" in html


def test_the_chosen_shortcut_is_marked(client, coordinator):
    html = get(client, "/admin/estadistiques/", **THIS_YEAR)
    current = [name for name, (_href, mark) in shortcuts(html).items() if mark]
    assert current == ["Aquest any"]
    html = get(client, "/admin/enquestes/", desde="2025-03-01", fins="2025-05-31")
    current = [name for name, (_href, mark) in shortcuts(html).items() if mark]
    assert current == ["La prova pilot (mar.–mai. 2025)"]


def test_the_pilot_shortcut_reproduces_the_seeds_table(client, coordinator, pilot):  # noqa: F811
    """M4: the pilot's figures are one click away, marked as the period shown."""
    html = get(client, "/admin/estadistiques/")
    href, _mark = shortcuts(html)["La prova pilot (mar.–mai. 2025)"]
    html = get(client, href)
    assert shortcuts(html)["La prova pilot (mar.–mai. 2025)"][1] == "true"
    by_town = {row[0]: row[1:4] for row in body_rows(html, "municipis")}
    assert by_town == {
        "Ajuntament de Torrelles de Llobregat": ["4", "0", "5"],
        "Ajuntament de Santa Maria de Palautordera": ["6", "0", "6"],
        "Ajuntament de Begues": ["4", "0", "0"],
        "Ajuntament de Gelida": ["7", "0", "9"],
    }
    assert foot_rows(html, "municipis") == [["Total", "21", "0", "20", "41"]]
    assert csv_rows(client, "municipis", **PILOT_PERIOD)[-1] == ["Total", "21", "0", "20", "41"]


# --- Opening on a period with data ------------------------------------------------------------


def test_statistics_open_on_the_latest_year_with_data_when_the_last_12_months_have_none(
    client,
    coordinator,
    pilot,  # noqa: F811
):
    """M4: a report opens on a period with data (the pilot's requests are all in 2025)."""
    html = get(client, "/admin/estadistiques/")
    assert dates(html) == ("2025-01-01", "2025-12-31")
    assert shortcuts(html)["L'any passat"][1] == "true"
    assert foot_rows(html, "municipis")[0][-1] != "0"
    # The CSV asked for without dates is the same table as the page.
    assert csv_rows(client, "municipis")[-1] == foot_rows(html, "municipis")[0]


def test_statistics_open_on_the_last_12_months_when_they_have_data(client, coordinator, pilot):  # noqa: F811
    from test_statistics import new_case

    new_case(None, clock.now() - timedelta(days=30))
    html = get(client, "/admin/estadistiques/")
    assert dates(html) == (LAST_12["desde"], LAST_12["fins"])
    assert shortcuts(html)["Últims 12 mesos"][1] == "true"


def test_with_no_data_at_all_the_reports_open_on_the_last_12_months(client, coordinator):
    assert dates(get(client, "/admin/estadistiques/")) == (LAST_12["desde"], LAST_12["fins"])
    html = get(client, "/admin/enquestes/")
    assert dates(html) == (LAST_12["desde"], LAST_12["fins"])
    assert soup(html).select_one("#sense-respostes").get_text(" ", strip=True) == (
        "En aquest període no s'ha enviat ni respost cap enquesta. "
        "Encara no s'ha respost cap enquesta."
    )


@pytest.fixture
def surveys(coordinator):
    """The review's state: the answers are all from 2025; this year's surveys got none."""
    world = make_world(technicians=1)
    technician = world.technicians[0]
    for day in range(1, 11):
        booking = sent_booking(world, technician, madrid(2025, 3, day))
        answer(booking, 9, 9, "totalment", madrid(2025, 3, day + 1))
    booking = sent_booking(world, technician, madrid(2025, 5, 13))
    answer(booking, 10, 10, "parcialment", madrid(2025, 5, 14))
    for day in range(1, 8):
        sent_booking(world, technician, madrid(2026, 11, day))  # sent, never answered
    return world


def test_survey_results_open_on_the_period_with_answers(client, surveys):
    """M4: /admin/enquestes/ opened on this year: 247 sent, 0 answered, every average empty.
    It now opens on the latest year with answers."""
    html = get(client, "/admin/enquestes/")
    assert dates(html) == ("2025-01-01", "2025-12-31")
    summary = as_dict(table(html, "resum"))
    assert summary["Respostes rebudes en el període"] == ["11"]
    assert summary["Valoració mitjana de l'atenció rebuda (de 0 a 10)"] == ["9,1"]
    assert soup(html).select_one("#sense-respostes") is None
    assert soup(html).select("figure.chart")


def test_a_period_with_surveys_sent_but_no_answers_says_so_and_points_to_the_answers(
    client, surveys
):
    """M4: a period with sent surveys and no answer says so plainly, first, and links to the
    period with answers."""
    html = get(client, "/admin/enquestes/", **LAST_12)
    notice = soup(html).select_one("#sense-respostes")
    assert notice.get_text(" ", strip=True) == (
        "En aquest període s'han enviat 7 enquestes, però no se n'ha respost cap. "
        "Les darreres respostes són del dimecres, 14 de maig de 2025. "
        "Vegeu els resultats de: L'any passat"
    )
    assert query(notice.a["href"]) == "desde=2025-01-01&fins=2025-12-31"
    # The notice comes before any table.
    assert notice.find_previous("table") is None


def test_a_period_before_any_answer_points_to_the_latest_answers(client, surveys):
    html = get(client, "/admin/enquestes/", desde="2024-01-01", fins="2024-12-31")
    notice = soup(html).select_one("#sense-respostes")
    assert notice.p.get_text(strip=True) == (
        "En aquest període no s'ha enviat ni respost cap enquesta."
    )
    assert query(notice.a["href"]) == "desde=2025-01-01&fins=2025-12-31"


def test_the_survey_csv_without_dates_is_the_opening_period(client, surveys):
    response = client.get("/admin/enquestes/export.csv", query_string={"taula": "resum"})
    assert response.status_code == 200
    assert "2025-01-01-2025-12-31" in response.headers["Content-Disposition"]


def test_the_opening_period_costs_one_query_and_only_without_dates(client, surveys):
    from support.queries import counted_selects

    with counted_selects() as asked:
        get(client, "/admin/enquestes/", desde="2025-01-01", fins="2025-12-31")
    with counted_selects() as default:
        get(client, "/admin/enquestes/")
    assert len(default) == len(asked) + 1
