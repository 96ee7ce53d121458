"""The coordinators' figures page of the triage models (/admin/triatge/, issue 15).

Real database (SQLite file and PostgreSQL): hand-made training runs (their evaluation JSON as
umic.triage.service writes it) and suggestion rows; the page's figures are checked exactly,
its query count does not grow with the rows, technicians get 403, and the button asks the
worker for a training (twice is one request).
"""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select

from support.factories import make_staff
from support.htmlutil import csrf_token
from support.htmlutil import soup
from support.queries import counted_queries
from umic import clock
from umic.core.triage import ClassFigures
from umic.core.triage import Evaluation
from umic.extensions import db
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import Role
from umic.models import TriageModel
from umic.models import TriageState
from umic.models import TriageSuggestion
from umic.triage import figures as triage_figures

URL = "/admin/triatge/"


@pytest.fixture
def coordinator(app):
    return make_staff("OPSSCOORD", role=Role.COORDINATOR, name="Núria Coordinadora")


def _evaluation(accuracy: float, classes: list[tuple[str, float, float, int]], **kw) -> dict:
    values = {
        "method": "cross-validation",
        "folds": 5,
        "examples": sum(c[3] for c in classes),
        "evaluated": sum(c[3] for c in classes),
        "accuracy": accuracy,
        "classes": tuple(ClassFigures(*c) for c in classes),
        **kw,
    }
    return Evaluation(**values).to_dict()


def _run(when, status="ready", **values) -> TriageModel:
    run = TriageModel(trained_at=when, status=status, **values)
    db.session.add(run)
    db.session.commit()
    return run


def _cases(count: int) -> list[CaseFile]:
    cases = [
        CaseFile(
            year=2025,
            sequence=i + 1,
            number=f"2025/{i + 1:07d}",
            description=f"Cas {i}",
            status=CaseStatus.EN_TRAMIT,
        )
        for i in range(count)
    ]
    db.session.add_all(cases)
    db.session.commit()
    return cases


def _suggestions(cases, kind: str, decisions: list[str]) -> None:
    db.session.add_all(
        TriageSuggestion(case_id=case.id, kind=kind, value="x", confidence=0.9, decision=d)
        for case, d in zip(cases, decisions, strict=True)
    )
    db.session.commit()


def _hand_made_history(coordinator) -> dict:
    """An old ready run, the current ready run (type passes, sector does not), a newer
    failed run, and suggestions: type 2 accepted, 1 corrected, 1 undecided; sector 1
    corrected; company 3 undecided; documents none."""
    now = clock.now()
    _run(now - timedelta(days=3), trigger="schedule", type_examples=90)
    current = _run(
        now - timedelta(days=1),
        trigger="request",
        requested_by_id=coordinator.id,
        type_examples=1234,
        sector_examples=1100,
        indexed_cases=800,
        seconds=12.25,
        evaluation=json.dumps(
            {
                "case_type": _evaluation(
                    0.8, [("consulta", 0.9, 0.75, 40), ("reclamacio", 0.7, 0.85, 60)]
                ),
                "sector": _evaluation(
                    0.6,
                    [("TELECOM", 0.625, 0.5, 80)],
                    method="held-out",
                    folds=0,
                    examples=400,
                    dropped=("TRANSPORT",),
                ),
            }
        ),
    )
    failed = _run(
        now - timedelta(hours=2),
        status="failed",
        trigger="schedule",
        error="MemoryError: no hi cap",
    )
    cases = _cases(4)
    _suggestions(cases, "case_type", ["accepted", "accepted", "corrected", ""])
    _suggestions(cases[:1], "sector", ["corrected"])
    _suggestions(cases[:3], "company", ["", "", ""])
    return {"current": current, "failed": failed}


def test_the_figures_are_exact(app, client, login, coordinator):
    runs = _hand_made_history(coordinator)
    with app.test_request_context():
        with counted_queries() as statements:
            figures = triage_figures.figures()
    assert len(statements) <= 4

    assert figures.newest.id == runs["failed"].id and figures.newest_failed
    assert figures.newest.error == "MemoryError: no hi cap"
    ready = figures.ready
    assert ready.id == runs["current"].id
    assert (ready.type_examples, ready.sector_examples, ready.indexed_cases) == (1234, 1100, 800)
    assert ready.requested_by == "Núria Coordinadora" and ready.trigger == "request"
    assert ready.case_type.accuracy == 0.8 and ready.case_type.passes
    assert ready.sector.accuracy == 0.6 and not ready.sector.passes
    assert ready.case_type.method == "validació creuada en 5 parts"
    assert ready.sector.method == "20\xa0% de casos reservats"  # 80 evaluated of 400
    assert [(c.label, c.precision, c.recall, c.support) for c in ready.case_type.classes] == [
        ("Consulta", 0.9, 0.75, 40),
        ("Reclamació", 0.7, 0.85, 60),
    ]
    assert ready.sector.classes[0].label == "Telecomunicacions i Internet"
    assert ready.sector.dropped == ["Transport"]
    assert [run.id for run in figures.history][:2] == [runs["failed"].id, runs["current"].id]
    assert len(figures.history) == 3

    by_kind = {a.kind: a for a in figures.acceptance}
    assert list(by_kind) == ["case_type", "sector", "company", "documents"]
    case_type = by_kind["case_type"]
    assert (case_type.shown, case_type.accepted, case_type.corrected, case_type.undecided) == (
        4,
        2,
        1,
        1,
    )
    assert case_type.rate == pytest.approx(2 / 3)
    assert by_kind["sector"].rate == 0.0
    assert by_kind["company"].shown == 3 and by_kind["company"].rate is None
    assert by_kind["documents"].shown == 0 and by_kind["documents"].rate is None

    login("OPSSCOORD")
    html = client.get(URL).get_data(as_text=True)
    page = soup(html)
    assert page.h1.get_text(strip=True) == "Suggeriments automàtics: qualitat"
    assert (
        "no es mostren suggeriments"
        in page.select_one("#qualitat-sector").find_parent("section").get_text()
    )
    assert (
        "no es mostren"
        not in page.select_one("#qualitat-case_type").find_parent("section").dl.get_text()
    )
    assert "MemoryError: no hi cap" in page.select_one("#ultim-fallit").get_text()
    text = " ".join(page.select_one("#dades-model").get_text(" ").split())
    assert "1.234" in text and "12,2 s" in text and "Núria Coordinadora" in text
    rows = {
        tr.th.get_text(strip=True): [td.get_text(strip=True) for td in tr.find_all("td")]
        for tr in page.select("#taula-acceptacio tbody tr")
    }
    assert rows["Tipus"] == ["4", "2", "1", "1", "66,7\xa0%"]
    assert rows["Sector"] == ["1", "0", "1", "0", "0,0\xa0%"]
    assert rows["Empresa"][-1] == "cap decisió encara"
    classes = [
        [cell.get_text(strip=True) for cell in tr.find_all(["th", "td"])]
        for tr in page.select("#qualitat-case_type-classes tbody tr")
    ]
    assert classes == [
        ["Consulta", "90,0\xa0%", "75,0\xa0%", "40"],
        ["Reclamació", "70,0\xa0%", "85,0\xa0%", "60"],
    ]
    history = page.select("#taula-historial tbody tr")
    assert len(history) == 3
    assert "Fallit" in history[0].get_text() and "80,0\xa0%" in history[1].get_text()
    # Accessible tables: a caption, column and row headers; they stack on a phone.
    for table in page.select("main table"):
        assert table.caption and table.caption.get_text(strip=True)
        assert "table-stack" in table["class"]
        assert all(th.get("scope") == "col" for th in table.thead.find_all("th"))
        assert all(tr.th and tr.th.get("scope") == "row" for tr in table.tbody.find_all("tr"))
    # The staff menu links the page for coordinators.
    assert page.select_one(f'nav a[href="{URL}"]') is not None


def test_the_page_costs_the_same_queries_with_more_runs_and_suggestions(
    app, client, login, coordinator
):
    login("OPSSCOORD")
    _hand_made_history(coordinator)
    with counted_queries() as few:
        assert client.get(URL).status_code == 200
    now = clock.now()
    for hours in range(20):
        _run(now - timedelta(days=10, hours=hours), status="failed", error="x")
    more = [
        CaseFile(year=2024, sequence=i + 1, number=f"2024/{i + 1:07d}", description="c")
        for i in range(10)
    ]
    db.session.add_all(more)
    db.session.commit()
    _suggestions(more, "documents", ["accepted"] * 10)
    with counted_queries() as many:
        html = client.get(URL).get_data(as_text=True)
    assert len(many) == len(few), (few, many)
    assert len(soup(html).select("#taula-historial tbody tr")) == triage_figures.HISTORY


def test_without_a_model_the_page_says_how_to_train(client, login, coordinator):
    login("OPSSCOORD")
    page = soup(client.get(URL).get_data(as_text=True))
    text = page.select_one("#sense-model").get_text()
    assert "Encara no hi ha cap model entrenat" in text
    assert "flask --app umic triage train" in text
    assert page.select_one("#model-actual") is None
    assert "Encara no s'ha fet cap entrenament." in page.get_text()


def test_a_technician_may_not_see_the_figures_nor_ask_for_a_training(client, login, coordinator):
    make_staff("OPSSTECNIC")
    login("OPSSTECNIC")
    assert client.get(URL).status_code == 403
    token = csrf_token(client.get("/espai/compte").get_data(as_text=True))
    assert client.post("/admin/triatge/entrena", data={"csrf_token": token}).status_code == 403
    assert db.session.scalars(select(TriageState)).all() == []


def test_the_button_asks_the_worker_once(client, login, coordinator):
    login("OPSSCOORD")
    page = client.get(URL).get_data(as_text=True)
    token = csrf_token(page)
    first = client.post("/admin/triatge/entrena", data={"csrf_token": token})
    assert first.status_code == 303 and first.headers["Location"].endswith(URL)
    again = client.post("/admin/triatge/entrena", data={"csrf_token": token})
    assert again.status_code == 303
    states = db.session.scalars(select(TriageState)).all()
    assert len(states) == 1
    assert states[0].requested_at is not None and states[0].requested_by_id == coordinator.id
    assert db.session.scalars(select(TriageModel)).all() == []  # the worker trains, not the page
    page = soup(client.get(URL).get_data(as_text=True))
    assert "procés de fons el farà en la seva propera passada" in page.get_text()
    assert "Núria Coordinadora" in page.select_one("#estat-entrenament").get_text()


def test_the_button_needs_the_csrf_token(client, login, coordinator):
    login("OPSSCOORD")
    assert client.post("/admin/triatge/entrena").status_code == 400
    assert db.session.scalars(select(TriageState)).all() == []


def test_dates_are_shown_in_madrid(client, login, coordinator):
    """A run stored at 10:00 UTC on a summer day was trained at 12:00 in Madrid."""
    _run(datetime(2025, 7, 1, 10, 0, tzinfo=UTC), trigger="command", seconds=3.5)
    login("OPSSCOORD")
    page = soup(client.get(URL).get_data(as_text=True))
    text = " ".join(page.select_one("#dades-model").get_text(" ").split())
    assert "1 de juliol de 2025, 12:00" in text
    assert "Ordre (flask triage train)" in text and "3,5 s" in text
    row = page.select_one("#taula-historial tbody tr")
    assert "1 de juliol de 2025, 12:00" in row.th.get_text()
