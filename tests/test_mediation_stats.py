"""Mediation figures and the most claimed companies on the statistics page, on a real DB.

A hand-built month (March 2025, Europe/Madrid) whose every figure is worked out below:

    case  company   requested (Madrid)  mediation opened    answered   closed (Madrid)   outcome
    c1    Naturgy   10/02               12/02              +3 days    01/03 00:30        acord_total
    c2    Naturgy   02/03               03/03              +1 day     20/03              acord_parc.
    c3    Naturgy   05/03               06/03              -          28/03              sense_acord
    c4    Naturgy   07/03               -
    c5    Movistar  08/03               09/03              +4 days    01/04 00:30        acord_total
    c6    Movistar  10/03               11/03              +10 days   (open)
    c7    Orange    12/03               13/03              -          25/03              desistit
    c8    Orange    31/03 23:30         -
    c9    Vodafone  28/02 23:30         20/02              -          28/02 23:30        sense_acord
    c10   (none)    15/03               -

March: opened c2 c3 c5 c6 c7 (5), answered c2 c5 c6 (3: 60 %, median 4 days); closed c1 c2
c3 c7 (c1 at 00:30 on the 1st is March in Madrid, 23:30 UTC on 28 February; c5 at 00:30 on
1 April is April, although still 31 March in UTC; c9 at 23:30 on 28 February is February).
Agreement rate 2 / (4 - 1 withdrawn). Claimed 100.10 + 200.20 + 0.70 = 301.00; recovered
100.10 + 50.05 + 5.00 = 155.15, of which 150.15 on mediations with an amount claimed.
Most claimed (cases requested in March; mediations closed in March): Naturgy 3 cases, 3
mediations (c1 c2 c3), 2 agreements, 150.15; Movistar 2, none closed (c5 is April's);
Orange 2, 1 (withdrawn), 0, 5.00 (Movistar before Orange: equal counts go by name).
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from support.factories import make_staff
from support.factories import make_town
from support.htmlutil import soup
from support.queries import counted_selects
from test_statistics import body_rows
from test_statistics import csv_rows
from test_statistics import table_rows
from umic.casefiles.service import create_case
from umic.core.periods import Period
from umic.extensions import db
from umic.models import Company
from umic.models import Mediation
from umic.models import Role
from umic.stats import mediation_stats

MADRID = ZoneInfo("Europe/Madrid")
MARCH = Period(date(2025, 3, 1), date(2025, 3, 31))
MARCH_ARGS = {"desde": "2025-03-01", "fins": "2025-03-31"}


def madrid(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


def company(name: str, sector: str) -> Company:
    row = Company(name=name, name_key=name.lower(), sector=sector)
    db.session.add(row)
    db.session.flush()
    return row


def claim(town, firm, requested_at, mediation=None):
    case = create_case(
        {"municipality_id": town.id, "requested_at": requested_at}, actor=None, now=requested_at
    )
    case.company_id = firm.id if firm else None
    db.session.flush()
    if mediation is not None:
        opened = mediation.pop("opened_at")
        db.session.add(
            Mediation(
                case_id=case.id,
                company_id=firm.id,
                opened_at=opened,
                answer_due=(opened + timedelta(days=15)).date(),
                status="tancada" if mediation.get("closed_at") else "oberta",
                **mediation,
            )
        )
    return case


@pytest.fixture
def march(app):
    town = make_town()
    naturgy = company("Naturgy", "ELECTRICITAT_GAS_AIGUA")
    movistar = company("Movistar", "TELECOM")
    orange = company("Orange", "TELECOM")
    vodafone = company("Vodafone", "TELECOM")
    d = Decimal
    claim(
        town,
        naturgy,
        madrid(2, 10),
        {
            "opened_at": madrid(2, 12),
            "answered_at": madrid(2, 15),
            "answer": "accepta",
            "closed_at": madrid(3, 1, 0, 30),
            "outcome": "acord_total",
            "amount_claimed": d("100.10"),
            "amount_recovered": d("100.10"),
        },
    )
    claim(
        town,
        naturgy,
        madrid(3, 2),
        {
            "opened_at": madrid(3, 3),
            "answered_at": madrid(3, 4),
            "answer": "proposa",
            "closed_at": madrid(3, 20, 12),
            "outcome": "acord_parcial",
            "amount_claimed": d("200.20"),
            "amount_recovered": d("50.05"),
        },
    )
    claim(
        town,
        naturgy,
        madrid(3, 5),
        {
            "opened_at": madrid(3, 6),
            "closed_at": madrid(3, 28, 12),
            "outcome": "sense_acord",
            "referral": "arbitratge",
            "amount_claimed": d("0.70"),
        },
    )
    claim(town, naturgy, madrid(3, 7))
    claim(
        town,
        movistar,
        madrid(3, 8),
        {
            "opened_at": madrid(3, 9),
            "answered_at": madrid(3, 13),
            "answer": "accepta",
            "closed_at": madrid(4, 1, 0, 30),
            "outcome": "acord_total",
            "amount_claimed": d("1000.00"),
            "amount_recovered": d("1000.00"),
        },
    )
    claim(
        town,
        movistar,
        madrid(3, 10),
        {"opened_at": madrid(3, 11), "answered_at": madrid(3, 21), "answer": "rebutja"},
    )
    claim(
        town,
        orange,
        madrid(3, 12),
        {
            "opened_at": madrid(3, 13),
            "closed_at": madrid(3, 25, 12),
            "outcome": "desistit",
            "amount_recovered": d("5.00"),
        },
    )
    claim(town, orange, madrid(3, 31, 23, 30))
    claim(
        town,
        vodafone,
        madrid(2, 28, 23, 30),
        {
            "opened_at": madrid(2, 20),
            "closed_at": madrid(2, 28, 23, 30),
            "outcome": "sense_acord",
            "referral": "inspeccio",
            "amount_claimed": d("9.99"),
        },
    )
    claim(town, None, madrid(3, 15))
    db.session.commit()
    return {"naturgy": naturgy, "movistar": movistar, "orange": orange, "town": town}


def test_mediation_figures_of_a_month(march):
    m = mediation_stats.mediation_figures(MARCH, MADRID)
    assert (m.opened, m.answered) == (5, 3)
    assert m.answer_rate == pytest.approx(0.6)
    assert m.median_answer_days == pytest.approx(4.0)
    assert m.outcomes == {"acord_total": 1, "acord_parcial": 1, "sense_acord": 1, "desistit": 1}
    assert (m.closed, m.agreements, m.agreement_base) == (4, 2, 3)
    assert m.agreement_rate == pytest.approx(2 / 3)
    assert m.referrals == {"arbitratge": 1, "inspeccio": 0}
    assert m.claimed == Decimal("301.00")
    assert m.recovered == Decimal("155.15")
    assert m.recovered_with_claim == Decimal("150.15")
    assert m.recovered_ratio == pytest.approx(150.15 / 301.00)


def test_period_edges_are_madrid_days(march):
    """00:30 Madrid on 1 March is March (still 28 February in UTC); on 1 April, April."""
    february = mediation_stats.mediation_figures(
        Period(date(2025, 2, 1), date(2025, 2, 28)), MADRID
    )
    assert february.closed == 1  # c9 at 23:30 on the 28th, not c1 at 00:30 on 1 March
    assert february.referrals == {"arbitratge": 0, "inspeccio": 1}
    assert february.claimed == Decimal("9.99")
    april = mediation_stats.mediation_figures(Period(date(2025, 4, 1), date(2025, 4, 30)), MADRID)
    assert april.outcomes["acord_total"] == 1 and april.closed == 1
    assert april.recovered == Decimal("1000.00")


def test_nothing_in_the_period(app):
    m = mediation_stats.mediation_figures(MARCH, MADRID)
    assert (m.opened, m.closed, m.answered) == (0, 0, 0)
    assert m.agreement_rate is None and m.answer_rate is None and m.recovered_ratio is None
    assert m.median_answer_days is None and m.claimed == Decimal(0)
    assert mediation_stats.most_claimed_companies(MARCH, MADRID) == []


def test_most_claimed_companies(march):
    rows = mediation_stats.most_claimed_companies(MARCH, MADRID)
    # Movistar and Orange tie on 2 cases: by name. Vodafone's case is February's.
    assert [(r.name, r.sector, r.cases, r.mediations, r.agreements, r.recovered) for r in rows] == [
        ("Naturgy", "ELECTRICITAT_GAS_AIGUA", 3, 3, 2, Decimal("150.15")),
        ("Movistar", "TELECOM", 2, 0, 0, Decimal("0.00")),
        ("Orange", "TELECOM", 2, 1, 0, Decimal("5.00")),
    ]
    assert [r.company_id for r in rows][0] == march["naturgy"].id
    assert [r.name for r in mediation_stats.most_claimed_companies(MARCH, MADRID, most=2)] == [
        "Naturgy",
        "Movistar",
    ]


def test_query_counts_do_not_grow_with_rows(march):
    def count() -> int:
        with counted_selects() as statements:
            mediation_stats.mediation_figures(MARCH, MADRID)
            mediation_stats.most_claimed_companies(MARCH, MADRID)
        return len(statements)

    few = count()
    assert few == 5  # 3 for the figures (with a median), 2 for the companies
    town = march["town"]
    for n in range(12):
        firm = company(f"Empresa de prova {n}", "TELECOM")
        claim(
            town,
            firm,
            madrid(3, 3 + n),
            {
                "opened_at": madrid(3, 4 + n),
                "answered_at": madrid(3, 6 + n),
                "closed_at": madrid(3, 18 + n),
                "outcome": "acord_total",
                "amount_claimed": Decimal("1.01"),
                "amount_recovered": Decimal("1.01"),
            },
        )
    db.session.commit()
    assert count() == few
    assert mediation_stats.mediation_figures(MARCH, MADRID).claimed == Decimal("313.12")


def coordinator(login):
    make_staff("OPSSCOORD", role=Role.COORDINATOR, name="Coordinadora Puig")
    login("OPSSCOORD")


def test_page_shows_mediation_and_companies(client, login, march):
    coordinator(login)
    response = client.get("/admin/estadistiques/", query_string=MARCH_ARGS)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = soup(html)
    assert page.select_one("section h2#mediacio") is not None
    assert page.select_one("section h2#empreses") is not None
    figures = dict(body_rows(html, "mediacio"))
    assert figures["Mediacions obertes en el període"] == "5"
    assert figures["Taxa de resposta de l'empresa"] == "60,0 %"
    assert figures["Mediana de dies fins a la resposta de l'empresa"] == "4 dies"
    assert figures["Mediacions tancades en el període"] == "4"
    assert figures["Taxa d'acord"] == "66,7 %"
    assert figures["Import reclamat"] == "301,00 €"
    assert figures["Import recuperat"] == "155,15 €"
    assert figures["Import recuperat sobre l'import reclamat"] == "49,9 %"
    assert figures["Derivades: Arbitratge de consum"] == "1"
    outcomes = ["Acord total", "Acord parcial", "Sense acord", "Desistiment"]
    assert [figures[f"Tancades: {label}"] for label in outcomes] == ["1", "1", "1", "1"]
    assert figures["Acords (totals i parcials)"] == "2"
    assert figures["Derivades: Inspecció de consum"] == "0"
    companies = body_rows(html, "empreses")
    assert [row[:2] + row[3:6] for row in companies] == [
        ["1", "Naturgy", "3", "3", "2"],
        ["2", "Movistar", "2", "0", "0"],
        ["3", "Orange", "2", "1", "0"],
    ]
    assert companies[1][2] == companies[2][2] != companies[0][2] != ""
    assert [row[6] for row in companies] == ["150,15 €", "0,00 €", "5,00 €"]
    table = page.select_one("table#taula-empreses")
    assert table.select_one("caption").get_text(strip=True) == "Empreses més reclamades"
    assert all(th.get("scope") == "col" for th in table.select("thead th"))
    if "workspace.company_detail" in client.application.view_functions:
        link = table.select_one("tbody tr td a")
        assert link["href"].endswith(f"/espai/empreses/{march['naturgy'].id}")
    assert table.find_parent("div", class_="table-wrap") is not None


def test_export_has_the_figures(client, login, march):
    coordinator(login)
    rows = csv_rows(client, "mediacio", **MARCH_ARGS)
    assert ["Import recuperat", "155,15 €"] in rows
    assert ["Taxa d'acord", "66,7 %"] in rows
    companies = csv_rows(client, "empreses", **MARCH_ARGS)
    assert companies[0][:2] == ["Posició", "Empresa"]
    assert [row[1] for row in companies[1:]] == ["Naturgy", "Movistar", "Orange"]
    assert ["Tancades: Desistiment", "1"] in rows
    html = client.get("/admin/estadistiques/", query_string=MARCH_ARGS).get_data(as_text=True)
    assert rows == table_rows(html, "mediacio")
    assert companies == table_rows(html, "empreses")


def test_technicians_get_403(client, login, app):
    make_staff("OPSSVEGAVN")
    login("OPSSVEGAVN")
    assert client.get("/admin/estadistiques/", query_string=MARCH_ARGS).status_code == 403
    for name in ("mediacio", "empreses"):
        response = client.get(
            "/admin/estadistiques/taula.csv", query_string={"taula": name, **MARCH_ARGS}
        )
        assert response.status_code == 403
