"""The expansion plan (coordinators): ranking, coverage, enrolling from it, CSV.

The 311 real towns (8 with an OMIC), requests through every channel written as the app
records them (attended calls, case files, monthly counts entered by hand), and every figure
checked against values worked out by hand:

================== ========== ===================================== ======= ========== =====
town               population requests in the last 12 months         total   per 1,000  > 12
================== ========== ===================================== ======= ========== =====
Alpens             267        3 attended calls + 10 UMIC (monthly)  13      48,7       Sí
Abrera             13.227     10 video + 6 UMIC (monthly), 2 bústia,  20      1,5        Sí
                              2 UMIC case files
Aguilar de Segarra 292        1 bústia, 1 UMIC, 1 video case file    3       10,3       No
Alella             10.262     12 video (monthly): exactly 12        12      1,2        No
================== ========== ===================================== ======= ========== =====

Not counted: anything older than twelve months, cancelled or future calls, the case file of
an attended call (the call already counts), towns with an OMIC, enrolled towns.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import date
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from sqlalchemy import select

from support.days import today
from support.factories import EVERY_DAY
from support.factories import make_booking
from support.factories import make_service
from support.factories import make_staff
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.journey import Citizen
from support.queries import counted_selects
from umic import clock
from umic.casefiles.service import case_from_booking
from umic.casefiles.service import create_case
from umic.core.codes import OfficeKind
from umic.extensions import db
from umic.models import BookingStatus
from umic.models import Channel
from umic.models import ChannelCount
from umic.models import ConsumerOffice
from umic.models import Municipality
from umic.models import Role
from umic.municipalities import MUNICIPALITIES_CSV
from umic.municipalities import OMICS_CSV
from umic.municipalities import import_municipalities
from umic.offices import set_office

MADRID = ZoneInfo("Europe/Madrid")
PILOT = ["Torrelles de Llobregat", "Santa Maria de Palautordera", "Begues", "Gelida"]


def months_ago(count: int) -> date:
    """The first day of the month ``count`` months before this one."""
    month = today().replace(day=1)
    for _ in range(count):
        month = (month - timedelta(days=1)).replace(day=1)
    return month


@pytest.fixture
def towns(app) -> dict[str, Municipality]:
    """The 311 towns and the shipped directory; every town without an OMIC is then recorded
    as known to have only the Agència (so all of them count as "no office of its own": the
    groups of towns whose office is not yet known are ``test_offices.py``'s)."""
    report = import_municipalities(MUNICIPALITIES_CSV, OMICS_CSV)
    assert not report.errors and report.created == 311
    agencia = db.session.scalar(
        select(ConsumerOffice).where(ConsumerOffice.kind == OfficeKind.AGENCIA)
    )
    for town in db.session.scalars(select(Municipality).where(Municipality.has_omic.is_(False))):
        set_office(town, agencia)
    db.session.commit()
    return {town.name: town for town in db.session.scalars(select(Municipality))}


@pytest.fixture
def coordinator(login):
    user = make_staff("OPSSCOORD", role=Role.COORDINATOR, name="Coordinadora Puig")
    login("OPSSCOORD")
    return user


def count(town: Municipality, channel: str, month: date, n: int) -> None:
    db.session.add(ChannelCount(month=month, municipality_id=town.id, channel=channel, count=n))


def case(town: Municipality, channel: str, days_ago: int) -> None:
    now = clock.now()
    create_case(
        {
            "channel": channel,
            "municipality_id": town.id,
            "requested_at": now - timedelta(days=days_ago),
            "interested_name": "Persona de prova",
        },
        actor=None,
        now=now,
    )


@pytest.fixture
def requests(towns):
    """The requests of the table in this module's docstring, and the ones that must not count."""
    service = make_service()
    technician = make_staff("OPSSVEGAVN", hours=EVERY_DAY)
    now = clock.now()
    alpens, abrera = towns["Alpens"], towns["Abrera"]
    aguilar, alella = towns["Aguilar de Segarra"], towns["Alella"]

    # Alpens: 3 attended calls (one with its case file) + 10 UMIC visits entered by hand.
    for days in (5, 40, 300):
        booking, _token = make_booking(
            alpens,
            service,
            technician,
            (now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0),
            status=BookingStatus.ATTENDED,
        )
    case_from_booking(booking, actor=None, now=now)
    make_booking(alpens, service, technician, now - timedelta(days=3), status="cancelled")
    make_booking(alpens, service, technician, now - timedelta(days=2), status="no_show")
    make_booking(alpens, service, technician, now + timedelta(days=2))
    # The monthly counts entered by hand are in months without records of their channel:
    # otherwise the records replace them (stats.requests).
    count(alpens, Channel.UMIC, months_ago(8), 10)

    # Abrera: 10 video and 6 UMIC entered by hand, 2 bústia and 2 UMIC case files.
    count(abrera, Channel.TELEMATICA, months_ago(5), 10)
    count(abrera, Channel.UMIC, months_ago(6), 6)
    case(abrera, Channel.BUSTIA, 10)
    case(abrera, Channel.BUSTIA, 200)
    case(abrera, Channel.UMIC, 1)
    case(abrera, Channel.UMIC, 360)
    count(abrera, Channel.UMIC, months_ago(12), 50)  # a year ago: outside
    case(abrera, Channel.BUSTIA, 400)  # outside

    # Aguilar de Segarra: one case file per channel (the video one without a booking).
    case(aguilar, Channel.BUSTIA, 30)
    case(aguilar, Channel.UMIC, 60)
    case(aguilar, Channel.TELEMATICA, 90)

    # Alella: exactly 12, which is not "more than 12".
    count(alella, Channel.TELEMATICA, months_ago(7), 12)
    case(alella, Channel.UMIC, 500)  # outside

    # Requests of towns that are not candidates: an OMIC town and an enrolled one.
    count(towns["Barcelona"], Channel.UMIC, months_ago(1), 99)
    towns["Gelida"].enrolled_on = date(2025, 3, 1)
    count(towns["Gelida"], Channel.UMIC, months_ago(1), 40)
    db.session.commit()


def plan(client) -> str:
    response = client.get("/admin/ampliacio/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def ranking_rows(html: str) -> list[dict[str, str]]:
    table = soup(html).select_one("#ranking")
    headings = [th.get_text(" ", strip=True) for th in table.select("thead th")]
    return [
        dict(zip(headings, (c.get_text(" ", strip=True) for c in tr.select("th, td")), strict=True))
        for tr in table.select("tbody tr")
    ]


def line(row: dict[str, str]) -> tuple:
    return (
        row["Posició"],
        row["Municipi"],
        row["Població"],
        row["Peticions (any fins avui)"],
        row["Peticions per 1.000 habitants"],
        row["Més de 12 l'any"],
    )


def banners(html: str) -> str:
    return " ".join(p.get_text(" ", strip=True) for p in soup(html).select(".banner p"))


def enrol_from_plan(client, town_id: int, starts_on: date | None = None):
    """Confirm the enrolment on its page (the plan's "Adhereix" links there)."""
    token = csrf_token(plan(client))
    day = (starts_on or today()).isoformat()
    return client.post(
        f"/admin/ampliacio/{town_id}/adhereix", data={"csrf_token": token, "starts_on": day}
    )


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))


def enrol_pilot_and_second_wave(towns) -> list[Municipality]:
    """25 towns without an OMIC: the pilot's 4 in March 2025, 21 more in June 2025."""
    pilot = [towns[name] for name in PILOT]
    others = [
        town
        for name, town in sorted(towns.items())
        if not town.has_omic and name not in PILOT and name not in ("Alpens", "Abrera")
    ][:21]
    for town in pilot:
        town.enrolled_on = date(2025, 3, 1)
    for number, town in enumerate(others):
        town.enrolled_on = date(2025, 6, 1) if number < 15 else date(2025, 6, 20)
    db.session.commit()
    return pilot + others


# --- Ranking ----------------------------------------------------------------------------------


def test_the_ranking_matches_the_hand_computed_figures(client, towns, requests, coordinator):
    html = plan(client)
    rows = ranking_rows(html)
    assert [line(row) for row in rows[:4]] == [
        ("1", "Alpens", "267", "13", "48,7", "Sí"),
        ("2", "Abrera", "13.227", "20", "1,5", "Sí"),
        ("3", "Aguilar de Segarra", "292", "3", "10,3", "No"),
        ("4", "Alella", "10.262", "12", "1,2", "No"),
    ]
    # Every other candidate has no request: they share the next rank.
    assert {(row["Posició"], row["Peticions (any fins avui)"]) for row in rows[4:]} == {("5", "0")}
    # Candidates: the 301 towns without an OMIC, less the enrolled one (Gelida).
    assert len(rows) == 300
    names = {row["Municipi"] for row in rows}
    assert "Barcelona" not in names and "Gelida" not in names
    assert soup(html).select_one("#above-count").get_text(strip=True) == (
        "2 municipis superen les 12 peticions."
    )
    last = today()
    # The year that ends today; on 29 February it starts on 1 March of the year before.
    first = date(last.year - 1, 3, 1) if (last.month, last.day) == (2, 29) else None
    first = first or last.replace(year=last.year - 1) + timedelta(days=1)
    assert f"Peticions del {first:%d/%m/%Y} al {last:%d/%m/%Y}" in html


def test_the_threshold_comes_from_the_configuration(app, client, towns, requests, coordinator):
    app.config["EXPANSION_MIN_REQUESTS_PER_YEAR"] = 11
    rows = ranking_rows(plan(client))
    assert [(row["Municipi"], row["Més de 11 l'any"]) for row in rows[:4]] == [
        ("Alpens", "Sí"),
        ("Abrera", "Sí"),
        ("Alella", "Sí"),  # 12 is more than 11
        ("Aguilar de Segarra", "No"),
    ]


def test_a_new_request_moves_a_town_up(client, towns, requests, coordinator):
    # Aguilar de Segarra gets 10 more requests: 13 (> 12), 44,5 per 1,000: second after Alpens.
    count(towns["Aguilar de Segarra"], Channel.BUSTIA, months_ago(2), 10)
    db.session.commit()
    rows = ranking_rows(plan(client))
    assert [line(row) for row in rows[:3]] == [
        ("1", "Alpens", "267", "13", "48,7", "Sí"),
        ("2", "Aguilar de Segarra", "292", "13", "44,5", "Sí"),
        ("3", "Abrera", "13.227", "20", "1,5", "Sí"),
    ]


def test_the_plan_takes_a_fixed_number_of_queries(client, towns, requests, coordinator):
    enrol_pilot_and_second_wave(towns)
    with counted_selects() as statements:
        plan(client)
    before = len(statements)
    # Many more requests, towns and enrolments: the same queries.
    service_town = towns["Olost"]
    for months in range(12):
        count(service_town, Channel.BUSTIA, months_ago(months), 1)
    for name in ("Orís", "Oristà", "Olvan", "Olivella"):
        case(towns[name], Channel.UMIC, 20)
        towns[name].enrolled_on = date(2026, 1, 1)
    db.session.commit()
    with counted_selects() as statements:
        plan(client)
    assert len(statements) == before <= 10


# --- Coverage ---------------------------------------------------------------------------------


def test_coverage_counts_the_enrolled_towns_among_those_without_an_omic(client, towns, coordinator):
    enrol_pilot_and_second_wave(towns)
    # An OMIC town wrongly marked as enrolled (old data) counts neither in N nor in M.
    towns["Barcelona"].enrolled_on = date(2025, 3, 1)
    db.session.commit()
    html = plan(client)
    page = soup(html)
    assert page.select_one("#coverage-text").get_text(strip=True) == (
        "Atesos: 25 de 301 municipis que consta que no tenen OMIC (8,3 %)"
    )
    progress = page.select_one("progress#coverage-progress")
    assert (progress["max"], progress["value"]) == ("100", "8.3")
    assert page.select_one("label[for=coverage-progress]") is not None
    assert page.select_one("#coverage-goal").get_text(" ", strip=True) == (
        "8,3 % de l'objectiu del 100 %. Falten 276 municipis."
    )


def test_coverage_with_nobody_enrolled_yet(client, towns, coordinator):
    html = plan(client)
    assert soup(html).select_one("#coverage-text").get_text(strip=True) == (
        "Atesos: 0 de 301 municipis que consta que no tenen OMIC (0,0 %)"
    )
    assert "Encara no hi ha cap municipi adherit." in html
    assert soup(html).select_one("#taula-cobertura") is None


def test_coverage_month_by_month_since_the_first_enrolment(client, towns, coordinator):
    enrol_pilot_and_second_wave(towns)
    html = plan(client)
    table = soup(html).select_one("#taula-cobertura")
    assert table.caption.get_text(strip=True) == "Cobertura a final de cada mes"
    assert [th["scope"] for th in table.select("thead th")] == ["col"] * 4
    rows = [[c.get_text(" ", strip=True) for c in tr.select("th, td")] for tr in table.tbody("tr")]
    assert rows[:5] == [
        ["març de 2025", "4", "4", "1,3 %"],
        ["abril de 2025", "0", "4", "1,3 %"],
        ["maig de 2025", "0", "4", "1,3 %"],
        ["juny de 2025", "21", "25", "8,3 %"],
        ["juliol de 2025", "0", "25", "8,3 %"],
    ]
    this_month = format_date(today(), "LLLL 'de' y", locale="ca")
    assert rows[-1] == [this_month, "0", "25", "8,3 %"]
    months = (today().year - 2025) * 12 + today().month - 3 + 1
    assert len(rows) == months


def test_the_progress_chart_is_a_self_contained_image_with_its_table(client, towns, coordinator):
    enrol_pilot_and_second_wave(towns)
    html = plan(client)
    image = soup(html).select_one("figure.chart img")
    assert image["alt"].startswith("Cobertura dels municipis sense OMIC, per mes.")
    prefix = "data:image/svg+xml;base64,"
    assert image["src"].startswith(prefix)
    svg = base64.b64decode(image["src"].removeprefix(prefix)).decode("utf-8")
    assert svg.lstrip().startswith(("<?xml", "<svg"))
    # Nothing runs and nothing is fetched: no script, no link to another document or host.
    assert "<script" not in svg
    assert re.findall(r'(?:href|src)\s*=\s*"(?!#)[^"]*"', svg) == []
    assert "@import" not in svg and "url(http" not in svg
    assert "Cobertura dels municipis sense OMIC, per mes" in svg
    assert "Objectiu (100 %)" in svg
    # The table with the same numbers follows the image.
    assert soup(html).select_one("figure.chart").find_next("table")["id"] == "taula-cobertura"


# --- Enrolling from the plan ------------------------------------------------------------------


def test_enrolling_from_the_plan_takes_the_town_out_and_raises_the_coverage(
    client, towns, requests, coordinator
):
    enrol_pilot_and_second_wave(towns)
    alpens = towns["Alpens"]
    # Not bookable yet (the town's page sends its residents to the Agència: tests of the
    # town pages say what it shows).
    assert Citizen(client, slug="alpens").days() == []

    response = enrol_from_plan(client, alpens.id)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/ampliacio/{alpens.id}/adhereix"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert banners(html) == (
        f"Alpens s'ha adherit al servei des del {today():%d/%m/%Y}: els seus veïns ja poden "
        "reservar. Enllaç de reserva: http://localhost/reserva/alpens/"
    )
    html = plan(client)
    assert "Alpens" not in [row["Municipi"] for row in ranking_rows(html)]
    assert ranking_rows(html)[0]["Municipi"] == "Abrera"
    # Gelida (enrolled by the requests fixture) is one of the 25: 26 now.
    assert soup(html).select_one("#coverage-text").get_text(strip=True) == (
        "Atesos: 26 de 301 municipis que consta que no tenen OMIC (8,6 %)"
    )
    db.session.expire_all()
    assert db.session.get(Municipality, alpens.id).enrolled_on == today()
    # Its residents can book at once.
    assert Citizen(client, slug="alpens").days() != []


def test_each_row_links_to_the_enrolment_page_and_nothing_is_enrolled_in_one_click(
    client, towns, requests, coordinator
):
    """M8: one click on "Adhereix" enrolled the town, live at once; the plan had 278 such
    buttons. Each row now has a link to a confirmation page, and opening it changes nothing."""
    page = soup(plan(client))
    assert not page.select("#ranking form, #ranking button")
    link = page.select_one(f"#ranking a[href$='/{towns['Abrera'].id}/adhereix']")
    assert link["href"] == f"/admin/ampliacio/{towns['Abrera'].id}/adhereix"
    assert link.get_text(" ", strip=True) == "Adhereix Abrera"
    assert client.get(link["href"]).status_code == 200
    db.session.expire_all()
    assert db.session.get(Municipality, towns["Abrera"].id).enrolled_on is None


def test_enrolling_needs_the_form_token(client, towns, coordinator):
    response = client.post(f"/admin/ampliacio/{towns['Alpens'].id}/adhereix")
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Municipality, towns["Alpens"].id).enrolled_on is None


def test_enrolling_a_town_twice_keeps_its_first_date(client, towns, coordinator):
    towns["Alpens"].enrolled_on = date(2025, 6, 1)
    db.session.commit()
    response = enrol_from_plan(client, towns["Alpens"].id)
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert banners(html) == "Alpens ja estava adherit al servei des del 01/06/2025."
    db.session.expire_all()
    assert db.session.get(Municipality, towns["Alpens"].id).enrolled_on == date(2025, 6, 1)


def test_a_town_with_an_omic_cannot_be_enrolled_from_the_plan(client, towns, coordinator):
    response = enrol_from_plan(client, towns["Sabadell"].id)
    assert response.status_code == 303
    html = plan(client)
    assert (
        soup(html)
        .select_one(".banner-error")
        .get_text(" ", strip=True)
        .startswith("Un municipi amb OMIC pròpia no es pot adherir")
    )
    db.session.expire_all()
    assert db.session.get(Municipality, towns["Sabadell"].id).enrolled_on is None


def test_enrolling_an_unknown_town_is_404(client, towns, coordinator):
    assert enrol_from_plan(client, 99999).status_code == 404


# --- CSV --------------------------------------------------------------------------------------


def test_the_ranking_exports_as_csv(client, towns, requests, coordinator):
    response = client.get("/admin/ampliacio/municipis.csv")
    rows = read_csv(response)
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    assert rows[0] == [
        "Posició",
        "Codi INE",
        "Municipi",
        "Comarca",
        "Població",
        "Peticions (any fins avui)",
        "Peticions per 1.000 habitants",
        "Més de 12 l'any",
        "Oficina de consum",
    ]
    agencia = "Sense oficina local: Agència Catalana del Consum"
    assert rows[1:5] == [
        ["1", "08004", "Alpens", "Lluçanès", "267", "13", "48,7", "Sí", agencia],
        ["2", "08001", "Abrera", "Baix Llobregat", "13227", "20", "1,5", "Sí", agencia],
        ["3", "08002", "Aguilar de Segarra", "Bages", "292", "3", "10,3", "No", agencia],
        ["4", "08003", "Alella", "Maresme", "10262", "12", "1,2", "No", agencia],
    ]
    assert len(rows) == 1 + 300
    # The page links to it.
    assert soup(plan(client)).find("a", href="/admin/ampliacio/municipis.csv") is not None


def test_the_coverage_exports_as_csv(client, towns, coordinator):
    enrol_pilot_and_second_wave(towns)
    rows = read_csv(client.get("/admin/ampliacio/cobertura.csv"))
    assert rows[0] == [
        "Mes",
        "Adhesions del mes",
        "Municipis adherits",
        "Municipis que consta que no tenen OMIC",
        "Cobertura (%)",
    ]
    assert rows[1:5] == [
        ["2025-03", "4", "4", "301", "1,3"],
        ["2025-04", "0", "4", "301", "1,3"],
        ["2025-05", "0", "4", "301", "1,3"],
        ["2025-06", "21", "25", "301", "8,3"],
    ]
    assert rows[-1][0] == today().strftime("%Y-%m")
    assert soup(plan(client)).find("a", href="/admin/ampliacio/cobertura.csv") is not None


def test_a_town_name_cannot_smuggle_a_formula_into_the_csv(client, towns, coordinator):
    towns["Alpens"].name = '=HYPERLINK("http://x")'
    db.session.commit()
    rows = read_csv(client.get("/admin/ampliacio/municipis.csv"))
    assert ['\'=HYPERLINK("http://x")'] == [row[2] for row in rows if "HYPERLINK" in row[2]]


# --- Access -----------------------------------------------------------------------------------

URLS = [
    ("GET", "/admin/ampliacio/"),
    ("GET", "/admin/ampliacio/municipis.csv"),
    ("GET", "/admin/ampliacio/cobertura.csv"),
    ("POST", "/admin/ampliacio/{id}/adhereix"),
]


def test_technicians_get_403_and_anonymous_users_go_to_sign_in(client, towns, login):
    town_id = towns["Alpens"].id
    token = csrf_token(client.get("/entra").get_data(as_text=True))
    for method, url in URLS:
        response = client.open(url.format(id=town_id), method=method, data={"csrf_token": token})
        assert response.status_code in (302, 303), url
        assert "/entra" in response.headers["Location"]

    make_staff("OPSSVEGAVN")
    login("OPSSVEGAVN")
    token = csrf_token(client.get("/espai/").get_data(as_text=True))
    for method, url in URLS:
        response = client.open(url.format(id=town_id), method=method, data={"csrf_token": token})
        assert response.status_code == 403, url
    db.session.expire_all()
    assert db.session.get(Municipality, town_id).enrolled_on is None
    menu = soup(client.get("/espai/").get_data(as_text=True)).select_one(".staff-nav")
    assert "Ampliació" not in menu.get_text()


def test_coordinators_find_the_plan_in_the_menu(client, towns, coordinator):
    menu = soup(plan(client)).select_one(".staff-nav")
    link = menu.find("a", string="Ampliació")
    assert link["href"] == "/admin/ampliacio/" and link["aria-current"] == "page"


# --- Enrolling asks for confirmation and a start day, and can be undone -----------------------


def test_the_confirmation_page_shows_the_town_its_figures_and_today_as_start(
    client, towns, requests, coordinator
):
    """M8: enrolling asks for confirmation first, with the town's figures and a start day."""
    response = client.get(f"/admin/ampliacio/{towns['Alpens'].id}/adhereix")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = soup(html)
    assert page.h1.get_text(strip=True) == "Adherir Alpens al servei"
    figures = {
        row.dt.get_text(strip=True): row.dd.get_text(" ", strip=True)
        for row in page.select("#xifres-municipi .summary-row")
    }
    assert figures["Població"] == "267"
    assert figures["Peticions dels últims 12 mesos"].startswith("13 ")
    assert figures["Peticions per 1.000 habitants"] == "48,7"
    assert figures["Posició al pla"].startswith("1")
    assert page.select_one("#starts_on")["value"] == today().isoformat()
    assert page.select_one("label[for=starts_on]").get_text(strip=True) == "Data d'inici"
    db.session.expire_all()
    assert db.session.get(Municipality, towns["Alpens"].id).enrolled_on is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("ahir", "La data d'inici ha de ser una data real, per exemple 01/03/2027"),
        (
            "2020-01-01",
            "La data d'inici ha de ser avui o després: els veïns podran reservar des d'aquell dia",
        ),
        (
            "2999-01-01",
            "La data d'adhesió pot ser com a molt d'aquí a un any: la reserva s'obre aquell dia",
        ),
    ],
)
def test_a_wrong_start_day_is_explained_beside_the_field(
    client, towns, coordinator, typed, message
):
    """M8: the start day is checked, the problem said beside the field, nothing enrolled."""
    token = csrf_token(plan(client))
    response = client.post(
        f"/admin/ampliacio/{towns['Alpens'].id}/adhereix",
        data={"csrf_token": token, "starts_on": typed},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert error_messages(html) == [message]
    assert summary_links(html) == [("#starts_on", message)]
    assert soup(html).select_one("#starts_on")["value"] == typed
    db.session.expire_all()
    assert db.session.get(Municipality, towns["Alpens"].id).enrolled_on is None


def test_a_town_enrolled_from_a_later_day_books_from_that_day(client, towns, coordinator):
    """M8: the start day is when booking opens, not the click."""
    alpens = towns["Alpens"]
    start = today() + timedelta(days=10)
    response = enrol_from_plan(client, alpens.id, start)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert banners(html).startswith(
        f"Alpens s'adherirà al servei el {start:%d/%m/%Y}: els seus veïns podran reservar "
        "des d'aquell dia."
    )
    db.session.expire_all()
    town = db.session.get(Municipality, alpens.id)
    assert (town.enrolled_on, town.can_book) == (start, False)
    assert "encara no té atenció per videotrucada" in client.get("/reserva/alpens/").get_data(
        as_text=True
    )


def test_an_enrolment_can_be_undone_from_the_page_it_lands_on(client, towns, coordinator):
    """M8: the result says how to undo it, and "Desfés l'adhesió" undoes it."""
    alpens = towns["Alpens"]
    response = enrol_from_plan(client, alpens.id)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    form = soup(html).select_one("#bloc-desfer form")
    assert form["action"] == f"/admin/ampliacio/{alpens.id}/desfes"
    assert form.button.get_text(" ", strip=True) == "Desfés l'adhesió Alpens"
    response = client.post(form["action"], data={"csrf_token": csrf_token(html)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/ampliacio/"
    html = plan(client)
    assert banners(html) == (
        "S'ha desfet l'adhesió de Alpens: els seus veïns ja no poden reservar i torna a ser a "
        "la llista de municipis per adherir."
    )
    assert "Alpens" in [row["Municipi"] for row in ranking_rows(html)]
    db.session.expire_all()
    assert db.session.get(Municipality, alpens.id).enrolled_on is None


def test_undoing_is_refused_while_the_town_has_calls_to_come(client, towns, coordinator):
    """M8: undoing an enrolment with confirmed calls to come is refused, the calls listed."""
    alpens = towns["Alpens"]
    enrol_from_plan(client, alpens.id)
    service = make_service()
    technician = make_staff("OPSSVEGAVN", hours=EVERY_DAY)
    start = (clock.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    make_booking(db.session.get(Municipality, alpens.id), service, technician, start)
    page = f"/admin/ampliacio/{alpens.id}/adhereix"
    html = client.get(page).get_data(as_text=True)
    assert soup(html).select_one("#bloc-desfer form") is None
    listed = soup(html).select("#cites-pendents li")
    assert len(listed) == 1 and "Raúl Sánchez" in listed[0].get_text()
    local_day = start.astimezone(MADRID).date()
    assert listed[0].a["href"] == f"/espai/?dia={local_day.isoformat()}"
    # A POST anyway (an old page): refused, said why.
    token = csrf_token(html)
    response = client.post(f"/admin/ampliacio/{alpens.id}/desfes", data={"csrf_token": token})
    assert response.headers["Location"] == page
    html = client.get(page).get_data(as_text=True)
    assert soup(html).select_one(".banner-error").get_text(" ", strip=True) == (
        "No s'ha desfet l'adhesió de Alpens: té cites confirmades pendents. "
        "Canvieu-les o anul·leu-les primer."
    )
    db.session.expire_all()
    assert db.session.get(Municipality, alpens.id).enrolled_on == today()


def test_undoing_needs_the_form_token(client, towns, coordinator):
    enrol_from_plan(client, towns["Alpens"].id)
    assert client.post(f"/admin/ampliacio/{towns['Alpens'].id}/desfes").status_code == 400
    db.session.expire_all()
    assert db.session.get(Municipality, towns["Alpens"].id).enrolled_on == today()
