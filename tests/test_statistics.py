"""Service statistics and the monthly counts of other channels (coordinators), on a real DB.

Every figure is checked against values worked out by hand, starting with the seed's table
"Resultats" of the pilot's first three months (March-May 2025):

    Ens local                                  Assistència telemàtica  Bústia  UMIC
    Ajuntament de Torrelles de Llobregat                  4               0      5
    Ajuntament de Santa Maria de Palautordera             6               0      6
    Ajuntament de Begues                                  4               0      0
    Ajuntament de Gelida                                  7               0      9
    -> 21 assistències virtuals · 20 assistències UMIC · 0 en bústia
"""

from __future__ import annotations

import base64
import csv
import io
import uuid
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy import select

from support.factories import make_booking
from support.factories import make_service
from support.factories import make_staff
from support.factories import make_town
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.queries import counted_selects
from umic import clock
from umic.casefiles.service import case_from_booking
from umic.casefiles.service import create_case
from umic.core import periods
from umic.extensions import db
from umic.models import Booking
from umic.models import BookingStatus
from umic.models import CaseStatus
from umic.models import CaseType
from umic.models import Channel
from umic.models import ChannelCount
from umic.models import Outcome
from umic.models import Role
from umic.stats import service_stats as stats

MADRID = ZoneInfo("Europe/Madrid")
PILOT_PERIOD = {"desde": "2025-03-01", "fins": "2025-05-31"}
#: (name, INE code, video calls attended, UMIC visits) in the pilot's first three months.
PILOT = [
    ("Torrelles de Llobregat", "08289", 4, 5),
    ("Santa Maria de Palautordera", "08259", 6, 6),
    ("Begues", "08020", 4, 0),
    ("Gelida", "08091", 7, 9),
]
PILOT_MONTHS = [date(2025, 3, 1), date(2025, 4, 1), date(2025, 5, 1)]
#: A month that has not begun yet: no counts may be entered for it.
NEXT_MONTH = periods.add_months(clock.now().astimezone(MADRID).date().replace(day=1), 1)


# --- helpers ----------------------------------------------------------------------------------


def madrid(year: int, month: int, day: int, hour: int = 16, minute: int = 0) -> datetime:
    """A Madrid wall-clock time, as the UTC moment stored."""
    return datetime(year, month, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


def coordinator(login):
    user = make_staff("OPSSCOORD", role=Role.COORDINATOR, name="Coordinadora Puig")
    login("OPSSCOORD")
    return user


def page(client, **args) -> str:
    response = client.get("/admin/estadistiques/", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def cell_text(node) -> str:
    """A cell's text; '' for an empty one (shown as a dash, read out as "Sense dades")."""
    if node.select_one(".empty"):
        return ""
    return node.get_text(" ", strip=True).replace("\xa0", " ")


def banners(html: str) -> str:
    """The messages shown after an action, as one text."""
    return " ".join(p.get_text(" ", strip=True) for p in soup(html).select(".banner p"))


def table_rows(html: str, name: str) -> list[list[str]]:
    """Header, body and foot rows of table ``taula-<name>``, as text cells."""
    table = soup(html).select_one(f"table#taula-{name}")
    assert table is not None, f"no table {name}"
    return [[cell_text(c) for c in row.select("th, td")] for row in table.select("tr")]


def body_rows(html: str, name: str) -> list[list[str]]:
    table = soup(html).select_one(f"table#taula-{name}")
    return [[cell_text(c) for c in row.select("th, td")] for row in table.select("tbody tr")]


def foot_rows(html: str, name: str) -> list[list[str]]:
    table = soup(html).select_one(f"table#taula-{name}")
    return [[cell_text(c) for c in row.select("th, td")] for row in table.select("tfoot tr")]


def csv_rows(client, name: str, **args) -> list[list[str]]:
    response = client.get("/admin/estadistiques/taula.csv", query_string={"taula": name, **args})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8").removeprefix("\ufeff")
    return [
        [c.replace("\xa0", " ") for c in row]
        for row in csv.reader(io.StringIO(text), delimiter=";")
    ]


def add_count(town, month: date, channel: str, count: int) -> None:
    db.session.add(ChannelCount(month=month, municipality_id=town.id, channel=channel, count=count))


def bulk_bookings(town, service, technician, starts, status=BookingStatus.ATTENDED, **extra):
    """Bookings written at once (no claims: only attended, missed or cancelled ones)."""
    for start in starts:
        db.session.add(
            Booking(
                reference=uuid.uuid4().hex[:10].upper(),
                service_id=service.id,
                municipality_id=town.id,
                technician_id=technician.id,
                start_utc=start,
                end_utc=start + timedelta(minutes=30),
                status=status,
                citizen_name="Persona",
                citizen_email="persona@example.net",
                consent_at=start - timedelta(days=3),
                consent_version="test",
                ical_uid=str(uuid.uuid4()),
                video_link="https://meet.jit.si/x",
                created_at=extra.get("created_at", start - timedelta(days=3)),
            )
        )
    db.session.commit()


def new_case(town, requested_at, **values):
    case = create_case(
        {"municipality_id": town.id if town else None, "requested_at": requested_at, **values},
        actor=None,
        now=requested_at,
    )
    db.session.commit()
    return case


@pytest.fixture
def pilot(app):
    """The seed's four towns with their first three months, plus what must not count."""
    service = make_service()
    technician = make_staff("OPSSVEGAVN")
    towns = {}
    for name, code, video, visits in PILOT:
        town = make_town(name, code)
        towns[name] = town
        # The video calls, spread over March, April and May (local days).
        starts = [madrid(2025, 3 + i % 3, 3 + i, 16, 30) for i in range(video)]
        bulk_bookings(town, service, technician, starts)
        # The UMIC visits, entered by hand as monthly counts (the app did not exist yet).
        split = (visits // 3 + visits % 3, visits // 3, visits // 3)
        for month, n in zip(PILOT_MONTHS, split, strict=True):
            if n:
                add_count(town, month, Channel.UMIC, n)
    db.session.commit()
    gelida = towns["Gelida"]
    # Not requests of the period: cancelled and missed calls, one still to come, and calls
    # just outside it (28 February 23:30 and 1 June 00:30, Madrid time).
    bulk_bookings(gelida, service, technician, [madrid(2025, 4, 10)], BookingStatus.CANCELLED)
    bulk_bookings(gelida, service, technician, [madrid(2025, 4, 11)], BookingStatus.NO_SHOW)
    make_booking(gelida, service, technician, madrid(2025, 5, 20))
    bulk_bookings(gelida, service, technician, [madrid(2025, 2, 28, 23, 30)])
    bulk_bookings(gelida, service, technician, [madrid(2025, 6, 1, 0, 30)])
    add_count(gelida, date(2025, 6, 1), Channel.UMIC, 3)
    add_count(gelida, date(2025, 2, 1), Channel.BUSTIA, 2)
    db.session.commit()
    # The case file of an attended call is the same request, not a second one.
    attended = db.session.scalar(
        select(Booking).where(
            Booking.municipality_id == gelida.id, Booking.status == BookingStatus.ATTENDED
        )
    )
    case_from_booking(attended, actor=None, now=madrid(2025, 3, 20))
    db.session.commit()
    return towns


# --- The seed's table -------------------------------------------------------------------------


def test_the_pilot_shows_the_seeds_table_per_town_and_channel(client, login, pilot):
    coordinator(login)
    html = page(client, **PILOT_PERIOD)
    assert table_rows(html, "municipis")[0] == [
        "Ens local",
        "Assistència telemàtica",
        "Bústia",
        "UMIC",
        "Total",
    ]
    by_town = {row[0]: row[1:4] for row in body_rows(html, "municipis")}
    assert by_town == {
        "Ajuntament de Torrelles de Llobregat": ["4", "0", "5"],
        "Ajuntament de Santa Maria de Palautordera": ["6", "0", "6"],
        "Ajuntament de Begues": ["4", "0", "0"],
        "Ajuntament de Gelida": ["7", "0", "9"],
    }
    # Most requests first: Gelida 16, Santa Maria 12, Torrelles 9, Begues 4.
    assert [row[0] for row in body_rows(html, "municipis")] == [
        "Ajuntament de Gelida",
        "Ajuntament de Santa Maria de Palautordera",
        "Ajuntament de Torrelles de Llobregat",
        "Ajuntament de Begues",
    ]
    assert [row[4] for row in body_rows(html, "municipis")] == ["16", "12", "9", "4"]
    assert foot_rows(html, "municipis") == [["Total", "21", "0", "20", "41"]]
    period = soup(html).select_one("#periode").get_text(strip=True)
    assert period == "Període: 1 de març de 2025 – 31 de maig de 2025"
    totals = [li.get_text(strip=True) for li in soup(html).select("#totals li")]
    assert totals == ["21 assistències virtuals", "20 assistències UMIC", "0 en bústia"]


def test_the_pilot_months_add_up_to_the_same_totals(client, login, pilot):
    coordinator(login)
    html = page(client, **PILOT_PERIOD)
    # By hand, from the fixture: each town's calls go to March, April, May, March... so video
    # 4/6/4/7 gives March 2+2+2+3, April 1+2+1+2, May 1+2+1+2; UMIC 5/6/0/9 is entered as
    # (3, 1, 1), (2, 2, 2), none, (3, 3, 3).
    assert body_rows(html, "mesos") == [
        ["març de 2025", "9", "0", "8", "17"],
        ["abril de 2025", "6", "0", "6", "12"],
        ["maig de 2025", "6", "0", "6", "12"],
    ]
    assert foot_rows(html, "mesos") == [["Total", "21", "0", "20", "41"]]


def test_a_booking_at_2330_on_31_may_madrid_time_counts_in_may(client, login, app):
    coordinator(login)
    town, service, technician = make_town(), make_service(), make_staff("OPSSVEGAVN")
    late_may = madrid(2025, 5, 31, 23, 30)  # 21:30 UTC
    early_june = madrid(2025, 6, 1, 0, 30)  # 22:30 UTC on 31 May
    assert late_may.date() == early_june.date() == date(2025, 5, 31)
    bulk_bookings(town, service, technician, [late_may, early_june])
    html = page(client, desde="2025-05-01", fins="2025-06-30")
    assert body_rows(html, "mesos") == [
        ["maig de 2025", "1", "0", "0", "1"],
        ["juny de 2025", "1", "0", "0", "1"],
    ]
    html = page(client, desde="2025-05-01", fins="2025-05-31")
    assert foot_rows(html, "municipis") == [["Total", "1", "0", "0", "1"]]


def test_bustia_and_umic_case_files_count_in_their_channel(client, login, app):
    coordinator(login)
    town = make_town()
    new_case(town, madrid(2025, 4, 2), channel=Channel.BUSTIA)
    new_case(town, madrid(2025, 4, 3), channel=Channel.UMIC)
    new_case(town, madrid(2025, 4, 4), channel=Channel.UMIC)
    new_case(town, madrid(2025, 4, 5), channel=Channel.TELEMATICA)  # from the old tracker
    new_case(None, madrid(2025, 4, 6), channel=Channel.BUSTIA)  # the town was not given
    html = page(client, desde="2025-04-01", fins="2025-04-30")
    assert body_rows(html, "municipis") == [
        ["Ajuntament de Gelida", "1", "1", "2", "4"],
        ["Municipi desconegut", "0", "1", "0", "1"],
    ]
    links = {a["href"] for a in soup(html).select("main a")}
    assert "/espai/expedients/nou?canal=bustia" in links
    assert "/espai/expedients/nou?canal=umic" in links
    assert "/admin/comptatges/" in links


# --- Appointments -----------------------------------------------------------------------------


def test_appointments_booked_attended_missed_and_cancelled_with_rates(client, login, app):
    coordinator(login)
    town, service, technician = make_town(), make_service(), make_staff("OPSSVEGAVN")
    in_period = [madrid(2025, 4, d) for d in range(1, 11)]
    made = madrid(2025, 3, 20)  # booked in March for April
    bulk_bookings(town, service, technician, in_period[:3], created_at=made)
    bulk_bookings(town, service, technician, in_period[3:5], BookingStatus.NO_SHOW, created_at=made)
    bulk_bookings(
        town, service, technician, in_period[5:9], BookingStatus.CANCELLED, created_at=made
    )
    make_booking(town, service, technician, in_period[9], created_at=madrid(2025, 4, 1, 9))
    # Booked in April for May: counts as booked in April, not as an April appointment.
    bulk_bookings(town, service, technician, [madrid(2025, 5, 5)], created_at=madrid(2025, 4, 2))
    html = page(client, desde="2025-04-01", fins="2025-04-30")
    assert body_rows(html, "cites") == [
        ["Reservades durant el període", "2", ""],
        ["Amb data dins del període", "10", ""],
        ["Ateses", "3", "60,0 %"],
        ["No presentades", "2", "40,0 %"],
        ["Anul·lades", "4", "40,0 %"],
        ["Pendents de marcar o per fer", "1", ""],
    ]


def test_a_cancelled_appointment_is_never_counted_as_a_no_show(client, login, app):
    coordinator(login)
    town, service, technician = make_town(), make_service(), make_staff("OPSSVEGAVN")
    # Cancelled by the citizen, by staff, and after its start time: still cancellations.
    bulk_bookings(
        town, service, technician, [madrid(2025, 4, d) for d in (1, 2, 3)], BookingStatus.CANCELLED
    )
    html = page(client, desde="2025-04-01", fins="2025-04-30")
    rows = {row[0]: row[1:] for row in body_rows(html, "cites")}
    assert rows["No presentades"] == ["0", ""]
    assert rows["Anul·lades"] == ["3", "100,0 %"]
    assert rows["Ateses"] == ["0", ""]


# --- Case files -------------------------------------------------------------------------------


def test_case_files_by_type_and_sector_in_the_period(client, login, app):
    coordinator(login)
    town = make_town()
    april = madrid(2025, 4, 10)
    for case_type, sector in [
        (CaseType.RECLAMACIO, "ELECTRICITAT_GAS_AIGUA"),
        (CaseType.RECLAMACIO, "ELECTRICITAT_GAS_AIGUA"),
        (CaseType.RECLAMACIO, "TELECOM"),
        (CaseType.CONSULTA, ""),
    ]:
        new_case(town, april, case_type=case_type, sector=sector)
    new_case(town, madrid(2025, 5, 1, 0, 30), case_type=CaseType.QUEIXA)  # May: outside
    html = page(client, desde="2025-04-01", fins="2025-04-30")
    assert body_rows(html, "tipus") == [
        ["Reclamació", "3", "75,0 %"],
        ["Consulta", "1", "25,0 %"],
    ]
    assert foot_rows(html, "tipus") == [["Total", "4", "100,0 %"]]
    sectors = body_rows(html, "sectors")
    assert [row[1:] for row in sectors] == [["2", "50,0 %"], ["1", "25,0 %"], ["1", "25,0 %"]]
    assert "Sense sector" in [row[0] for row in sectors]


def _resolved(town, days: float, **values):
    requested = madrid(2025, 3, 1, 10)
    return new_case(
        town,
        requested,
        status=CaseStatus.RESOLT,
        resolved_at=requested + timedelta(days=days),
        **values,
    )


def test_median_days_to_resolution_with_an_odd_number_of_cases(client, login, app):
    coordinator(login)
    town = make_town()
    for days in (30, 1, 3):  # sorted 1, 3, 30: the middle one
        _resolved(town, days)
    html = page(client, desde="2025-03-01", fins="2025-04-30")
    rows = {row[0]: row[1] for row in body_rows(html, "resolucio")}
    assert rows["Expedients resolts en el període"] == "3"
    assert rows["Mediana de dies des de la petició fins a la resolució"] == "3 dies"


def test_median_days_to_resolution_with_an_even_number_of_cases(client, login, app):
    coordinator(login)
    town = make_town()
    for days in (30, 1, 4, 3):  # sorted 1, 3, 4, 30: (3 + 4) / 2
        _resolved(town, days)
    # Resolved outside the period: not counted.
    _resolved(town, 90)
    html = page(client, desde="2025-03-01", fins="2025-04-30")
    rows = {row[0]: row[1] for row in body_rows(html, "resolucio")}
    assert rows["Expedients resolts en el període"] == "4"
    assert rows["Mediana de dies des de la petició fins a la resolució"] == "3,5 dies"


def test_amounts_claimed_and_recovered_and_outcomes(client, login, app):
    coordinator(login)
    town = make_town()
    _resolved(
        town,
        5,
        amount_claimed=Decimal("1234.50"),
        amount_recovered=Decimal("1000.00"),
        outcome=Outcome.FAVOURABLE,
    )
    _resolved(
        town,
        6,
        amount_claimed=Decimal("100.25"),
        amount_recovered=Decimal("234.50"),
        outcome=Outcome.FAVOURABLE,
    )
    _resolved(town, 7, amount_claimed=Decimal("0.10"), outcome=Outcome.PARTIAL)
    _resolved(town, 8, outcome=Outcome.UNFAVOURABLE)
    _resolved(town, 9, outcome=Outcome.WITHDRAWN)
    new_case(town, madrid(2025, 3, 2), amount_claimed=Decimal("999"))  # not resolved
    html = page(client, desde="2025-03-01", fins="2025-04-30")
    rows = {row[0]: row[1] for row in body_rows(html, "resolucio")}
    assert rows["Import reclamat"] == "1.334,85 €"
    assert rows["Import recuperat per a les persones consumidores"] == "1.234,50 €"
    assert rows["Mediana de dies des de la petició fins a la resolució"] == "7 dies"
    assert body_rows(html, "resultats") == [
        ["Favorable", "2", "40,0 %"],
        ["Parcialment favorable", "1", "20,0 %"],
        ["Desfavorable", "1", "20,0 %"],
        ["Desistiment", "1", "20,0 %"],
    ]


def test_with_no_resolved_case_the_median_says_so(client, login, app):
    coordinator(login)
    html = page(client, desde="2025-03-01", fins="2025-04-30")
    rows = {row[0]: row[1] for row in body_rows(html, "resolucio")}
    assert rows["Mediana de dies des de la petició fins a la resolució"] == "Sense dades"
    assert rows["Import recuperat per a les persones consumidores"] == "0,00 €"
    assert "No hi ha cap petició en aquest període." in html


# --- Charts and CSV ---------------------------------------------------------------------------


def test_every_chart_is_a_data_uri_image_with_alt_text_followed_by_its_table(client, login, pilot):
    coordinator(login)
    town = pilot["Gelida"]
    _resolved(town, 3, outcome=Outcome.FAVOURABLE)
    new_case(town, madrid(2025, 4, 1), sector="ELECTRICITAT_GAS_AIGUA")
    figures = soup(page(client, **PILOT_PERIOD)).select("figure.chart")
    assert len(figures) >= 6
    for figure in figures:
        img = figure.select_one("img")
        assert img["src"].startswith("data:image/svg+xml;base64,")
        svg = base64.b64decode(img["src"].split(",", 1)[1]).decode("utf-8")
        assert "<script" not in svg
        assert img["alt"].endswith("Les xifres són a la taula que segueix el gràfic.")
        title = img["alt"].split(".")[0]
        assert title in svg
        table_wrap = figure.parent.find_next_sibling()  # the chart scrolls in its own frame
        assert "table-wrap" in table_wrap["class"]
        table = table_wrap.select_one("table")
        assert table.caption.get_text(strip=True)
        assert table.select("thead th[scope=col]")
        assert table.select("tbody th[scope=row]")


def test_each_csv_export_has_exactly_the_rows_of_its_table(client, login, pilot):
    coordinator(login)
    town = pilot["Gelida"]
    _resolved(town, 3, outcome=Outcome.FAVOURABLE, amount_recovered=Decimal("1234.5"))
    new_case(town, madrid(2025, 4, 1), sector="ELECTRICITAT_GAS_AIGUA", case_type=CaseType.CONSULTA)
    html = page(client, **PILOT_PERIOD)
    names = [t["id"].removeprefix("taula-") for t in soup(html).select("table[id^=taula-]")]
    assert set(names) == {
        "municipis",
        "mesos",
        "cites",
        "tipus",
        "sectors",
        "resolucio",
        "resultats",
        "mediacio",  # "empreses" only when some case file has a company (test_mediation_stats)
    }
    for name in names:
        assert csv_rows(client, name, **PILOT_PERIOD) == table_rows(html, name), name
        link = soup(html).select_one(f"a[href*='taula={name}']")
        assert link is not None and "desde=2025-03-01" in link["href"]
    # The two case files added here came by video without a booking (the old tracker's): 23.
    assert csv_rows(client, "municipis", **PILOT_PERIOD)[-1] == ["Total", "23", "0", "20", "43"]


def test_an_unknown_table_is_404_and_bad_dates_go_back_to_the_page(client, login, app):
    coordinator(login)
    assert client.get("/admin/estadistiques/taula.csv?taula=res").status_code == 404
    response = client.get("/admin/estadistiques/taula.csv?taula=mesos&desde=abc")
    assert response.status_code == 303
    assert "/admin/estadistiques/?desde=abc" in response.headers["Location"]


def test_the_page_costs_the_same_queries_for_10_or_200_rows(client, login, app):
    coordinator(login)
    service, technician = make_service(), make_staff("OPSSVEGAVN")
    towns = [make_town(f"Poble {i}", f"08{i:03d}") for i in range(1, 6)]

    def add(n: int, offset: int) -> None:
        for i in range(n):
            town = towns[i % len(towns)]
            status = [BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED][i % 3]
            start = madrid(2025, 3 + i % 3, 1 + i % 28, 9) + timedelta(minutes=offset + i)
            bulk_bookings(town, service, technician, [start], status)
            new_case(
                town,
                start,
                channel=[Channel.BUSTIA, Channel.UMIC][i % 2],
                case_type=list(CaseType)[i % 5],
                sector=["ELECTRICITAT_GAS_AIGUA", "TELECOM", ""][i % 3],
                status=CaseStatus.RESOLT,
                resolved_at=start + timedelta(days=i % 17),
                outcome=list(Outcome)[i % 4],
                amount_recovered=Decimal(i),
            )
            if offset + i < 60:  # every (month, town) of 2024 once: 12 and 5 are coprime
                add_count(town, date(2024, 1 + i % 12, 1), Channel.UMIC, 1 + i)
        db.session.commit()

    add(10, 0)
    period = {"desde": "2024-01-01", "fins": "2025-12-31"}
    with counted_selects() as few:
        html = page(client, **period)
    assert body_rows(html, "cites")[1][1] == "10"
    add(190, 10_000)
    with counted_selects() as many:
        html = page(client, **period)
    assert body_rows(html, "cites")[1][1] == "200"
    assert foot_rows(html, "tipus") == [["Total", "200", "100,0 %"]]
    assert len(many) == len(few), many


def _chart_svg(html: str, section: str) -> str:
    img = soup(html).select_one(f"section[aria-labelledby={section}] figure.chart img")
    return base64.b64decode(img["src"].split(",", 1)[1]).decode("utf-8")


def _towns_with_cases(count: int, first: int = 1) -> None:
    """Towns "Poble N" with N requests each (UMIC), so they rank in a known order."""
    for i in range(first, first + count):
        town = make_town(f"Poble {i}", f"08{i:03d}")
        for j in range(i):
            new_case(town, madrid(2025, 4, 1 + j % 28), channel=Channel.UMIC)


def test_the_towns_chart_draws_the_top_towns_and_the_others_the_table_keeps_every_town(
    client, login, app
):
    """The province has 311 towns: a bar each is unreadable on a phone and a 600 KB image."""
    from umic.admin.statistics import TOWNS_IN_CHART

    coordinator(login)
    _towns_with_cases(TOWNS_IN_CHART + 3)  # Poble 1 .. Poble 15: 15 has most
    html = page(client, **PILOT_PERIOD)
    svg = _chart_svg(html, "municipis")
    shown = [f"Poble {i}" for i in range(TOWNS_IN_CHART + 3, 3, -1)]  # the 12 with most
    for name in shown:
        assert f">{name}<" in svg
    for name in ("Poble 1", "Poble 2", "Poble 3"):
        assert f">{name}<" not in svg
    assert ">Altres municipis (3)<" in svg
    assert ">6<" in svg  # 1 + 2 + 3 requests, the others' bar
    img = soup(html).select_one("section[aria-labelledby=municipis] figure.chart img")
    assert img["alt"] == (
        "Peticions per ens local i canal: els 12 ens locals amb més peticions i la suma de la "
        "resta. Les xifres de cada ens local són a la taula que segueix el gràfic."
    )
    rows = body_rows(html, "municipis")
    assert len(rows) == TOWNS_IN_CHART + 3  # every town, in the table
    assert rows[-1] == ["Ajuntament de Poble 1", "0", "0", "1", "1"]


def test_one_town_left_over_is_drawn_itself_not_as_others(client, login, app):
    from umic.admin.statistics import TOWNS_IN_CHART

    coordinator(login)
    _towns_with_cases(TOWNS_IN_CHART + 1)
    svg = _chart_svg(page(client, **PILOT_PERIOD), "municipis")
    assert ">Poble 1<" in svg and "Altres municipis" not in svg


def test_top_towns_adds_up_the_rest_per_channel():
    rows = [
        stats.TownRow(i, f"Poble {i}", {Channel.TELEMATICA: i, Channel.BUSTIA: 1, Channel.UMIC: 0})
        for i in range(5, 0, -1)
    ]
    shown, others = stats.top_towns(rows, 2)
    assert [r.name for r in shown] == ["Poble 5", "Poble 4"]
    assert others == stats.OtherTowns(
        3, {Channel.TELEMATICA: 6, Channel.BUSTIA: 3, Channel.UMIC: 0}
    )
    assert stats.top_towns(rows, 4) == (rows, None)  # one left over: shown itself
    assert stats.top_towns(rows, 5) == (rows, None)


def test_the_page_costs_the_same_queries_for_2_or_40_towns(client, login, app):
    """Whatever the number of towns (and of cases): the same statements, none per town."""
    coordinator(login)
    _towns_with_cases(2)
    with counted_selects() as few:
        page(client, **PILOT_PERIOD)
        page(client)  # the default period (it asks for the latest request's day)
    _towns_with_cases(38, first=3)
    with counted_selects() as many:
        html = page(client, **PILOT_PERIOD)
        page(client)
    assert len(body_rows(html, "municipis")) == 40
    assert len(many) == len(few), many


@pytest.mark.parametrize("locale", ["ca", "es", "en"])
def test_whole_numbers_are_written_as_babel_writes_them(app, locale):
    """``reports.number`` groups whole numbers itself (hundreds per page): same text."""
    from babel.numbers import format_decimal
    from flask_babel import force_locale

    from umic.admin.reports import number

    values = [0, 7, -7, 999, 1000, -1234, 12345, 999_999, 1_000_000, 123_456_789]
    with app.test_request_context(), force_locale(locale):
        assert [number(v) for v in values] == [
            format_decimal(v, format="#,##0", locale=locale) for v in values
        ]
        assert number(1234.6) == format_decimal(1234.6, format="#,##0", locale=locale)
        assert number(None) == ""


# --- The period -------------------------------------------------------------------------------


def test_the_default_period_is_the_last_twelve_months_with_quick_links(client, login, app):
    coordinator(login)
    today = clock.now().astimezone(MADRID).date()
    new_case(make_town(), clock.now() - timedelta(days=3))  # data in the last 12 months
    html = page(client)
    first = periods.last_twelve_months(today).first
    assert soup(html).select_one("#desde")["value"] == first.isoformat()
    assert soup(html).select_one("#fins")["value"] == today.isoformat()
    links = {a.get_text(strip=True): a for a in soup(html).select("nav a[href*=desde]")}
    assert links["Últims 12 mesos"]["aria-current"] == "true"
    assert f"desde={today.year}-01-01" in links["Aquest any"]["href"]
    last_year = links["L'any passat"]["href"]
    assert (
        f"desde={today.year - 1}-01-01" in last_year and f"fins={today.year - 1}-12-31" in last_year
    )
    assert len(body_rows(html, "mesos")) == len(periods.last_twelve_months(today).months())


@pytest.mark.parametrize(
    ("args", "box", "message"),
    [
        ({"desde": "abc"}, "desde", "La data «Des de» ha de ser una data real"),
        ({"desde": "2025-02-30"}, "desde", "La data «Des de» ha de ser una data real"),
        ({"fins": "0001-01-01"}, "fins", "La data «Fins a» ha de ser entre els anys 2000 i 2100"),
        (
            {"desde": "2025-05-01", "fins": "2025-04-01"},
            "fins",
            "La data «Fins a» ha de ser el mateix dia o posterior",
        ),
        ({"desde": "2000-01-01", "fins": "2025-01-01"}, "desde", "El període no pot ser"),
    ],
)
def test_a_bad_period_is_explained_beside_the_field(client, login, app, args, box, message):
    coordinator(login)
    response = client.get("/admin/estadistiques/", query_string=args)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert soup(html).title.get_text().startswith("Error: ")
    assert summary_links(html)[0][0] == f"#{box}"
    assert any(m.startswith(message) for m in error_messages(html))
    field = soup(html).select_one(f"#{box}")
    assert field["aria-invalid"] == "true"
    assert field["value"] == args[box]  # what was typed is kept
    assert not soup(html).select("table[id^=taula-]")


def test_a_typed_day_first_date_is_understood(client, login, pilot):
    coordinator(login)
    html = page(client, desde="01/03/2025", fins="31/05/2025")
    assert foot_rows(html, "municipis") == [["Total", "21", "0", "20", "41"]]


# --- Access -----------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/admin/estadistiques/"),
    ("GET", "/admin/estadistiques/taula.csv?taula=municipis"),
    ("GET", "/admin/comptatges/"),
    ("POST", "/admin/comptatges/?mes=2025-03"),
    ("POST", "/admin/comptatges/importa"),
]


def test_statistics_and_counts_are_for_coordinators_only(client, login, app):
    town = make_town()
    make_staff("OPSSVEGAVN")
    login("OPSSVEGAVN")
    token = csrf_token(client.get("/espai/").get_data(as_text=True))
    for method, url in ROUTES:
        response = client.open(
            url,
            method=method,
            data={
                "csrf_token": token,
                "mes": "2025-03",
                "nou-1-municipi": str(town.id),
                "nou-1-umic": "4",
            },
        )
        assert response.status_code == 403, (method, url)
    assert db.session.scalar(select(func.count()).select_from(ChannelCount)) == 0


def test_signed_out_visitors_are_sent_to_sign_in(client, app):
    token = csrf_token(client.get("/entra").get_data(as_text=True))
    for method, url in ROUTES:
        response = client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code in (302, 303), (method, url)
        assert "/entra" in response.headers["Location"]


def test_the_staff_menu_offers_statistics_to_coordinators(client, login, app):
    coordinator(login)
    html = client.get("/espai/").get_data(as_text=True)
    assert soup(html).select_one("nav.staff-nav a[href='/admin/estadistiques/']")


# --- Entering monthly counts ------------------------------------------------------------------


def counts_in_db() -> dict[tuple[date, str, str], tuple[int, int | None]]:
    rows = db.session.execute(
        select(
            ChannelCount.month,
            ChannelCount.municipality_id,
            ChannelCount.channel,
            ChannelCount.count,
            ChannelCount.updated_by_id,
        )
    ).all()
    db.session.expire_all()
    return {(m, t, c): (n, by) for m, t, c, n, by in rows}


def post_grid(client, month: str, values: dict):
    url = f"/admin/comptatges/?mes={month}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, "mes": month, **values})


def test_counts_of_a_new_town_are_saved_with_who_entered_them(client, login, app):
    user = coordinator(login)
    gelida = make_town()
    begues = make_town("Begues", "08020", enrolled=False)
    response = post_grid(
        client,
        "2025-03",
        {
            "nou-1-municipi": str(gelida.id),
            "nou-1-umic": "5",
            "nou-1-bustia": "",
            "nou-2-municipi": str(begues.id),
            "nou-2-telematica": "2",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/comptatges/?mes=2025-03")
    assert counts_in_db() == {
        (date(2025, 3, 1), gelida.id, "umic"): (5, user.id),
        (date(2025, 3, 1), begues.id, "telematica"): (2, user.id),
    }
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "S'han desat els comptatges de març de 2025." in banners(html)
    assert soup(html).select_one(f"#n-{gelida.id}-umic")["value"] == "5"
    assert soup(html).select_one(f"#n-{begues.id}-telematica")["value"] == "2"
    months = body_rows(html, "mesos-comptatges")
    assert months == [["març de 2025", "2", "2", "0", "5", "7"]]


def test_changing_a_count_updates_its_row_and_zero_removes_it(client, login, app):
    user = coordinator(login)
    other = make_staff("OPSSALTRA", role=Role.COORDINATOR)
    gelida = make_town()
    march = date(2025, 3, 1)
    for channel, n in (("umic", 5), ("bustia", 2), ("telematica", 1)):
        db.session.add(
            ChannelCount(
                month=march,
                municipality_id=gelida.id,
                channel=channel,
                count=n,
                updated_by_id=other.id,
            )
        )
    db.session.commit()
    response = post_grid(
        client,
        "2025-03",
        {
            f"n-{gelida.id}-umic": "7",
            f"n-{gelida.id}-bustia": "0",
            f"n-{gelida.id}-telematica": "1",
        },
    )
    assert response.status_code == 303
    assert counts_in_db() == {
        (march, gelida.id, "umic"): (7, user.id),
        (march, gelida.id, "telematica"): (1, other.id),  # unchanged: still who entered it
    }
    post_grid(client, "2025-03", {f"n-{gelida.id}-umic": "", f"n-{gelida.id}-telematica": "0"})
    assert counts_in_db() == {}


@pytest.mark.parametrize("typed", ["abc", "-1", "2,5", "1e3"])
def test_a_count_that_is_not_a_whole_number_is_explained_and_nothing_is_saved(
    client, login, app, typed
):
    coordinator(login)
    gelida = make_town()
    db.session.add(
        ChannelCount(month=date(2025, 3, 1), municipality_id=gelida.id, channel="umic", count=5)
    )
    db.session.commit()
    before = counts_in_db()
    response = post_grid(
        client, "2025-03", {f"n-{gelida.id}-umic": typed, f"n-{gelida.id}-bustia": "3"}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert soup(html).title.get_text().startswith("Error: ")
    assert summary_links(html) == [
        (f"#n-{gelida.id}-umic", "UMIC: escriviu un nombre enter de 0 o més")
    ]
    assert error_messages(html) == ["UMIC: escriviu un nombre enter de 0 o més"]
    assert soup(html).select_one(f"#n-{gelida.id}-umic")["value"] == typed
    assert soup(html).select_one(f"#n-{gelida.id}-bustia")["value"] == "3"
    assert counts_in_db() == before


@pytest.mark.parametrize(
    ("values", "box", "message"),
    [
        ({"nou-1-umic": "4"}, "nou-1-municipi", "Trieu el municipi d'aquests nombres"),
        ({"nou-1-municipi": "99999", "nou-1-umic": "4"}, "nou-1-municipi", "Trieu un municipi"),
        ({"nou-1-municipi": "TOWN"}, "nou-1-telematica", "Escriviu almenys un nombre per a Gelida"),
        (
            {
                "nou-1-municipi": "TOWN",
                "nou-1-umic": "1",
                "nou-2-municipi": "TOWN",
                "nou-2-umic": "2",
            },
            "nou-2-municipi",
            "Gelida ja és a la taula",
        ),
    ],
)
def test_rows_adding_a_town_are_checked(client, login, app, values, box, message):
    coordinator(login)
    gelida = make_town()
    values = {k: (str(gelida.id) if v == "TOWN" else v) for k, v in values.items()}
    response = post_grid(client, "2025-03", values)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert summary_links(html)[0][0] == f"#{box}"
    assert any(m.startswith(message) for m in error_messages(html))
    assert counts_in_db() == {}


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2025-13", "Escriviu el mes amb el format AAAA-MM"),
        ("març", "Escriviu el mes amb el format AAAA-MM"),
        (f"{NEXT_MONTH:%Y-%m}", "Trieu un mes que ja hagi començat"),
    ],
)
def test_a_wrong_month_is_explained_beside_the_month_box(client, login, app, month, message):
    coordinator(login)
    response = client.get("/admin/comptatges/", query_string={"mes": month})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert summary_links(html)[0][0] == "#mes"
    assert error_messages(html)[0].startswith(message)
    assert soup(html).select_one("#mes")["value"] == month
    assert not soup(html).select("form[method=post] input[name=mes]")


def test_a_month_written_day_first_opens_its_grid(client, login, app):
    coordinator(login)
    html = client.get("/admin/comptatges/?mes=03/2025").get_data(as_text=True)
    assert soup(html).select_one("#graella").get_text(strip=True) == "Comptatges de març de 2025"
    assert soup(html).select_one("select#nou-1-municipi optgroup")


def test_entered_counts_reach_the_statistics(client, login, app):
    coordinator(login)
    gelida = make_town()
    post_grid(client, "2025-03", {"nou-1-municipi": str(gelida.id), "nou-1-umic": "9"})
    html = page(client, desde="2025-03-01", fins="2025-03-31")
    assert body_rows(html, "municipis") == [["Ajuntament de Gelida", "0", "0", "9", "9"]]


# --- Importing counts -------------------------------------------------------------------------

GOOD_FILE = (
    "month,ine_code,channel,count\r\n"
    "2025-03,08091,umic,5\r\n"
    "2025-03,8091,Bústia,1\r\n"  # a spreadsheet lost the leading zero; Catalan word
    "2025-04,08020,Assistència telemàtica,2\r\n"
    "\r\n"
)


@pytest.fixture
def two_towns(app):
    return make_town(), make_town("Begues", "08020")


def upload(client, data: bytes, name: str = "comptatges.csv"):
    token = csrf_token(client.get("/admin/comptatges/").get_data(as_text=True))
    return client.post(
        "/admin/comptatges/importa",
        data={"csrf_token": token, "fitxer": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_importing_a_good_file_creates_the_counts(client, login, two_towns):
    user = coordinator(login)
    gelida, begues = two_towns
    response = upload(client, GOOD_FILE.encode())
    assert response.status_code == 303
    assert counts_in_db() == {
        (date(2025, 3, 1), gelida.id, "umic"): (5, user.id),
        (date(2025, 3, 1), gelida.id, "bustia"): (1, user.id),
        (date(2025, 4, 1), begues.id, "telematica"): (2, user.id),
    }
    html = banners(client.get(response.headers["Location"]).get_data(as_text=True))
    assert (
        "Fitxer importat (3 línies): 3 comptatges nous, 0 canviats, 0 esborrats i 0 sense canvis."
        in html
    )


def test_importing_the_same_file_twice_changes_nothing(client, login, two_towns):
    coordinator(login)
    upload(client, GOOD_FILE.encode())
    before = db.session.execute(select(ChannelCount.id, ChannelCount.updated_at)).all()
    response = upload(client, GOOD_FILE.encode())
    html = banners(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "0 comptatges nous, 0 canviats, 0 esborrats i 3 sense canvis." in html
    assert db.session.execute(select(ChannelCount.id, ChannelCount.updated_at)).all() == before


def test_a_semicolon_windows_1252_file_and_a_zero_that_removes(client, login, two_towns):
    coordinator(login)
    gelida, _begues = two_towns
    upload(client, GOOD_FILE.encode())
    data = "2025-03;08091;bústia;0\r\n2025-03;08091;umic;6\r\n".encode("cp1252")
    upload(client, data)
    counts = counts_in_db()
    assert counts[(date(2025, 3, 1), gelida.id, "umic")][0] == 6
    assert (date(2025, 3, 1), gelida.id, "bustia") not in counts


def test_a_file_with_bad_rows_changes_nothing_and_lists_every_bad_line(client, login, two_towns):
    coordinator(login)
    upload(client, GOOD_FILE.encode())
    before = counts_in_db()
    data = (
        "month,ine_code,channel,count\n"
        "2025-03,08091,umic,50\n"  # good, but the file is refused as a whole
        "2025-3x,08091,umic,1\n"
        "2025-03,99999,umic,1\n"
        "2025-03,08091,fax,1\n"
        "2025-03,08091,bustia,-2\n"
        "2025-03,08091,umic\n"
        f"{NEXT_MONTH:%Y-%m},08091,umic,1\n"
        "2025-03,08091,UMIC,7\n"  # the same month, town and channel as line 2
    ).encode()
    response = upload(client, data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert soup(html).title.get_text().startswith("Error: ")
    assert summary_links(html) == [("#fitxer", "El fitxer té 7 errors: no s'ha importat cap línia")]
    problems = [li.get_text(strip=True) for li in soup(html).select(".import-problems li")]
    assert problems == [
        "Línia 3: el mes «2025-3x» no té el format AAAA-MM",
        "Línia 4: cap municipi té el codi INE «99999»",
        "Línia 5: el canal «fax» ha de ser un d'aquests: telematica, bustia, umic",
        "Línia 6: el nombre «-2» ha de ser un enter de 0 o més",
        "Línia 7: calen 4 columnes: mes, codi INE, canal i nombre",
        f"Línia 8: el mes {NEXT_MONTH:%Y-%m} encara no ha començat",
        "Línia 9: 2025-03,08091,umic ja apareix en una línia anterior",
    ]
    assert counts_in_db() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "El fitxer no té cap línia de dades"),
        (b"month,ine_code,channel,count\n", "El fitxer no té cap línia de dades"),
        (b"\x81\x8d\x8f\x90\x9d" * 3, "El fitxer ha de ser text CSV, en UTF-8 o Windows-1252"),
        (
            b"2025-03,08091,umic,1\n\x00\x01",
            "El fitxer ha de ser text CSV, en UTF-8 o Windows-1252",
        ),
    ],
)
def test_an_unusable_file_is_explained(client, login, two_towns, data, message):
    coordinator(login)
    html = upload(client, data).get_data(as_text=True)
    assert summary_links(html) == [("#fitxer", message)]


def test_importing_without_choosing_a_file_is_explained(client, login, two_towns):
    coordinator(login)
    token = csrf_token(client.get("/admin/comptatges/").get_data(as_text=True))
    response = client.post("/admin/comptatges/importa", data={"csrf_token": token})
    assert response.status_code == 200
    assert summary_links(response.get_data(as_text=True)) == [
        ("#fitxer", "Trieu el fitxer CSV que voleu importar")
    ]


@pytest.fixture
def counts_runner(runner):
    return runner


def test_the_command_line_import_is_idempotent(counts_runner, two_towns, tmp_path):
    gelida, begues = two_towns
    path = tmp_path / "comptatges.csv"
    path.write_text(GOOD_FILE, encoding="utf-8")
    result = counts_runner.invoke(args=["counts", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 lines: 3 created, 0 updated, 0 removed, 0 unchanged" in result.output
    assert counts_in_db()[(date(2025, 4, 1), begues.id, "telematica")] == (2, None)
    result = counts_runner.invoke(args=["counts", "import", str(path)])
    assert "0 created, 0 updated, 0 removed, 3 unchanged" in result.output


def test_the_command_line_import_refuses_a_file_with_bad_rows(counts_runner, two_towns, tmp_path):
    path = tmp_path / "comptatges.csv"
    path.write_text("2025-03,08091,umic,5\n2025-03,00000,umic,1\n", encoding="utf-8")
    result = counts_runner.invoke(args=["counts", "import", str(path)])
    assert result.exit_code == 1
    assert "line 2: no town has INE code '00000'" in result.output
    assert "nothing was imported" in result.output
    assert counts_in_db() == {}


# --- Pure rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "window"), [(0, (0, 0)), (1, (0, 1)), (2, (0, 2)), (3, (1, 1)), (4, (1, 2))]
)
def test_median_window_reads_the_middle_rows(count, window):
    assert stats.median_window(count) == window


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("2025-03", date(2025, 3, 1)),
        ("2025-3", date(2025, 3, 1)),
        ("03/2025", date(2025, 3, 1)),
        ("2025-03-01", date(2025, 3, 1)),
        ("2025-13", None),
        ("1999-12", None),
        ("", None),
        ("març 2025", None),
    ],
)
def test_parse_month(text, month):
    assert stats.parse_month(text) == month


@pytest.mark.parametrize("typed", ["²", "9" * 20, "999999"])
def test_a_new_row_naming_no_known_town_is_explained_and_nothing_is_saved(
    client, login, app, typed
):
    """A town that is not in the list (a superscript digit passes str.isdigit() but not int())."""
    coordinator(login)
    make_town()
    response = post_grid(client, "2025-03", {"nou-1-municipi": typed, "nou-1-umic": "4"})
    assert response.status_code == 200
    assert "Trieu un municipi de la llista" in response.get_data(as_text=True)
    assert counts_in_db() == {}
