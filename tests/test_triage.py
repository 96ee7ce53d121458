"""Triage in the app (umic.triage.service, the case page's "Suggeriments" and "Casos
semblants", the booking card's line): suggestions stored once, accepted or corrected by a
person, thresholds, who sees what, and a correction that changes the next training.

The labelled history is small and built in one go: 60 finished cases (five types x three
sectors x four wordings) whose words say their type and their sector plainly, so the models
measure well above the thresholds in a few hundred milliseconds.
"""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import soup
from support.queries import counted_queries
from umic import clock
from umic.casefiles.service import create_case
from umic.companies import find_or_create
from umic.core import triage as core
from umic.extensions import db
from umic.models import CaseDocument
from umic.models import CaseEvent
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import Role
from umic.models import TriageModel
from umic.models import TriageSuggestion
from umic.triage import service

TYPES = {
    "consulta": "vull saber quins drets tinc i quin termini hi ha per informar-me",
    "queixa": "em queixo del tracte rebut perque em van atendre de manera molt grollera",
    "reclamacio": "demano que em tornin els diners cobrats de mes i anul·lin el carrec",
    "mediacio": "ja vaig reclamar fa un mes sense resposta i demano que feu de mediadors",
    "denuncia": "denuncio que no tenen fulls oficials ni preus visibles al public",
}
SECTORS = {
    "TELECOM": ("Vodafone", "la linia de fibra optica i el mobil de la companyia telefonica"),
    "ELECTRICITAT_GAS_AIGUA": ("Naturgy", "el subministrament de llum i gas del comptador"),
    "TRANSPORT": ("Vueling", "el vol cancel·lat a l'aeroport i la maleta perduda"),
}
FILLERS = ("aquest mes", "la setmana passada", "des del gener", "fa poc")


def _history(world, *, extra=()):
    """The 60 finished, labelled cases (plus ``extra`` (text, type, sector) rows), linked to
    their company, with an outcome and what resolved them; one commit."""
    companies = {
        sector: find_or_create(name, sector=sector) for sector, (name, _) in SECTORS.items()
    }
    now = clock.now()
    rows = [
        (f"{TYPES[kind]} sobre {words} {filler}", kind, sector)
        for kind in TYPES
        for sector, (_name, words) in SECTORS.items()
        for filler in FILLERS
    ]
    cases = []
    for text, kind, sector in [*rows, *extra]:
        case = create_case(
            {
                "description": text,
                "case_type": kind,
                "sector": sector,
                "company": companies[sector].name if sector in companies else "",
                "status": CaseStatus.RESOLT,
                "outcome": "favorable",
                "amount_recovered": Decimal("45.00"),
                "status_detail": f"L'empresa va retornar l'import ({kind}).",
                "interested_name": "Persona",
                "municipality_id": world.town.id,
            },
            actor=None,
            now=now,
        )
        case.company_id = companies[sector].id if sector in companies else None
        cases.append(case)
    # What they brought: an invoice each, and the earlier claim for mediations.
    for case in cases:
        for category in ("factura", "reclamacio_previa")[
            : 2 if case.case_type == "mediacio" else 1
        ]:
            db.session.add(
                CaseDocument(
                    case_id=case.id,
                    category=category,
                    source="citizen",
                    original_name=f"{category}.pdf",
                    stored_name=uuid.uuid4().hex,
                    content_type="application/pdf",
                    size=10,
                    sha256="0" * 64,
                )
            )
    db.session.commit()
    return cases, companies


def _open_case(world, text, **values):
    """A case as a booking opens it: type "reclamacio" by default, no sector: not labels."""
    case = create_case(
        {
            "description": text,
            "interested_name": "Raúl Sánchez",
            "interested_email": "raul@example.net",
            "municipality_id": world.town.id,
            "assigned_to_id": world.technicians[0].id,
            "status": CaseStatus.EN_TRAMIT,
            **values,
        },
        actor=None,
        now=clock.now(),
    )
    db.session.commit()
    return case


NEW_TEXT = f"{TYPES['mediacio']} sobre {SECTORS['TELECOM'][1]}. Es Vodafone."


@pytest.fixture
def world(app):
    return make_world(technicians=2)


#: The run the first test trained on ``_history``: the same rows (same ids, texts, labels,
#: documents) give the same models, so later tests store its bytes instead of training again
#: (training is what costs time here; tests of training itself call train_and_store).
_SAME_HISTORY: dict[str, TriageModel] = {}


@pytest.fixture
def trained(world):
    cases, companies = _history(world)
    earlier = _SAME_HISTORY.get("run")
    if earlier is None:
        run = service.train_and_store(now=clock.now(), trigger="command")
        _SAME_HISTORY["run"] = TriageModel(
            **{
                column.key: getattr(run, column.key)
                for column in TriageModel.__table__.columns
                if column.key not in ("id", "requested_by_id")
            }
        )
    else:
        run = TriageModel(
            **{
                column.key: getattr(earlier, column.key)
                for column in TriageModel.__table__.columns
                if column.key not in ("id", "requested_by_id")
            }
        )
        db.session.add(run)
        db.session.commit()
    return cases, companies, run


def _page(client, case):
    response = client.get(f"/espai/expedients/{case.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _post(client, case, kind, page, **data):
    form = soup(page).find("form", action=f"/espai/expedients/{case.id}/suggeriments/{kind}")
    values = {
        "csrf_token": csrf_token(page),
        "version": form.find("input", {"name": "version"})["value"],
    }
    values.update(data)
    return client.post(f"/espai/expedients/{case.id}/suggeriments/{kind}", data=values)


def _fresh(case):
    db.session.expire_all()
    return db.session.get(CaseFile, case.id)


# --- The training set -------------------------------------------------------------------------


def test_the_training_set_takes_only_what_a_person_stands_behind(app, world):
    _history(world)
    booking_like = _open_case(world, "un cas obert per una cita sense classificar")
    anonymised = _open_case(world, "un cas anonimitzat", sector="TELECOM")
    anonymised.anonymised_at = clock.now()
    _open_case(world, "", sector="TELECOM")  # no description: never read
    retyped = _open_case(world, "un tipus canviat pel personal")
    service.update_case(
        retyped,
        {"case_type": "consulta"},
        actor=world.technicians[0],
        expected_version=retyped.version,
        now=clock.now(),
    )
    db.session.commit()
    with counted_queries() as statements:
        data = service.training_set()
    assert len(statements) == 2  # the labelled rows (streamed) and the documents' GROUP BY
    texts = {example.text for example in data.case_type}
    assert len(data.case_type) == 61  # the 60 finished ones and the one retyped by staff
    assert "un tipus canviat pel personal" in texts
    assert booking_like.description not in texts  # "reclamacio" by default is not a label
    assert all("anonimitzat" not in example.text for example in data.sector)
    assert len(data.sector) == 60 and len(data.past) == 60 and len(data.documents) == 60
    assert {example.weight for example in data.case_type} == {1.0}


def test_training_stores_a_run_and_drops_older_artefacts(app, trained):
    _cases, _companies, first = trained
    assert first.status == "ready" and first.artefact_sha256 and first.type_examples == 60
    evaluation = json.loads(first.evaluation)
    assert core.Evaluation.from_dict(evaluation["case_type"]).accuracy >= 0.9
    second = service.train_and_store(now=clock.now(), trigger="schedule")
    db.session.expire_all()
    rows = db.session.execute(
        select(TriageModel.id, TriageModel.artefact.is_not(None), TriageModel.evaluation).order_by(
            TriageModel.id
        )
    ).all()
    assert [(row[0], row[1]) for row in rows] == [(first.id, False), (second.id, True)]
    assert json.loads(rows[0][2])["case_type"]["accuracy"] >= 0.9  # its figures stay
    assert service.loaded().model_id == second.id


def test_a_failed_training_is_stored_and_raised(app, world, monkeypatch):
    _history(world)

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(core, "train", broken)
    with pytest.raises(RuntimeError):
        service.train_and_store(now=clock.now(), trigger="command")
    run = db.session.scalars(select(TriageModel)).one()
    assert run.status == "failed" and "out of memory" in run.error
    assert service.loaded() is None


def test_a_damaged_artefact_is_not_loaded(app, trained, caplog):
    _cases, _companies, run = trained
    service.forget_loaded()
    db.session.execute(
        TriageModel.__table__.update()
        .values(artefact_sha256="0" * 64)
        .where(TriageModel.id == run.id)
    )
    db.session.commit()
    assert service.loaded() is None
    assert "checksum" in caplog.text


# --- The case page ---------------------------------------------------------------------------


def test_suggestions_appear_on_the_case_page_and_are_stored_once(client, login, trained, world):
    case = _open_case(world, NEW_TEXT)
    login(world.technicians[0].username)
    page = _page(client, case)
    section = soup(page).find(id="suggeriments")
    assert section is not None
    text = section.get_text(" ", strip=True)
    assert "Mediació" in text and "Telecomunicacions" in text and "Vodafone" in text
    assert re.search(r"\d+\s%", text)  # "87 %"
    assert "apresos dels expedients del mateix servei" in text
    stored = db.session.scalars(select(TriageSuggestion).order_by(TriageSuggestion.kind)).all()
    assert {row.kind for row in stored} == {"case_type", "sector", "company", "documents"}
    _page(client, case)
    db.session.expire_all()
    assert db.session.query(TriageSuggestion).count() == 4  # stored once


def test_accepting_changes_the_case_and_the_history_says_who(client, login, trained, world):
    case = _open_case(world, NEW_TEXT)
    technician = world.technicians[0]
    login(technician.username)
    page = _page(client, case)
    response = _post(client, case, "case_type", page, value="mediacio")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/espai/expedients/{case.id}#suggeriments")
    case = _fresh(case)
    assert case.case_type == "mediacio"
    event = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.field == "case_type")
    ).one()
    assert (event.old_value, event.new_value, event.actor_id) == (
        "reclamacio",
        "mediacio",
        technician.id,
    )
    row = db.session.scalars(
        select(TriageSuggestion).where(TriageSuggestion.kind == "case_type")
    ).one()
    assert (row.decision, row.final_value, row.decided_by_id) == (
        "accepted",
        "mediacio",
        technician.id,
    )
    # The company: linked to the registry's entry as the case form does.
    page = _page(client, case)
    assert (
        _post(client, case, "company", page, value=str(trained[1]["TELECOM"].id)).status_code == 303
    )
    case = _fresh(case)
    assert case.company_id == trained[1]["TELECOM"].id and case.company == "Vodafone"
    assert "Suggeriment acceptat." in _page(client, case)


def test_correcting_records_corrected(client, login, trained, world):
    case = _open_case(world, NEW_TEXT)
    login(world.technicians[0].username)
    page = _page(client, case)
    assert _post(client, case, "sector", page, value="BENS_CONSUM").status_code == 303
    case = _fresh(case)
    assert case.sector == "BENS_CONSUM"
    row = db.session.scalars(
        select(TriageSuggestion).where(TriageSuggestion.kind == "sector")
    ).one()
    assert (row.decision, row.value, row.final_value) == ("corrected", "TELECOM", "BENS_CONSUM")
    # A company typed by name, as in the case form (added to the registry when new).
    page = _page(client, case)
    assert _post(client, case, "company", page, value="Movistar").status_code == 303
    case = _fresh(case)
    assert case.company == "Movistar" and case.company_id is not None
    assert 'id="suggeriment-sector"' not in _page(client, case)  # decided: no longer shown


def test_the_case_form_records_a_decision_too(client, login, trained, world):
    case = _open_case(world, NEW_TEXT)
    login(world.technicians[0].username)
    page = _page(client, case)
    form = soup(page).find("form", id="case-form")
    data = {}
    for element in form.find_all(["input", "select", "textarea"]):
        name = element.get("name")
        if not name or element.get("type") == "submit":
            continue
        if element.name == "select":
            chosen = element.find("option", selected=True) or element.find("option")
            data[name] = chosen.get("value", "") if chosen else ""
        elif element.name == "textarea":
            data[name] = element.get_text()
        else:
            data[name] = element.get("value", "")
    data["case_type"] = "mediacio"
    assert client.post(f"/espai/expedients/{case.id}", data=data).status_code == 303
    db.session.expire_all()
    row = db.session.scalars(
        select(TriageSuggestion).where(TriageSuggestion.kind == "case_type")
    ).one()
    assert row.decision == "accepted" and row.decided_by_id == world.technicians[0].id


def test_accepting_the_usual_documents_prefills_the_request(client, login, trained, world):
    case = _open_case(world, NEW_TEXT)
    login(world.technicians[0].username)
    page = _page(client, case)
    section = soup(page).find(id="suggeriment-documents")
    assert section is not None
    codes = [i["value"] for i in section.find("form").find_all("input", {"name": "value"})]
    form = soup(page).find("form", action=f"/espai/expedients/{case.id}/suggeriments/documents")
    response = client.post(
        form["action"],
        data={"csrf_token": csrf_token(page), "version": str(case.version), "value": codes},
    )
    assert response.status_code == 303
    assert "demana=" in response.headers["Location"]
    filled = soup(client.get(response.headers["Location"]).get_data(as_text=True))
    status = filled.find("select", id="status").find("option", selected=True)
    assert status["value"] == CaseStatus.DOCUMENTACIO.value
    assert filled.find("textarea", id="status_detail").get_text().strip().startswith("Envieu-nos:")
    assert _fresh(case).status == CaseStatus.EN_TRAMIT  # nothing sent until the person saves


def test_thresholds_hide_suggestions(app, client, login, trained, world):
    login(world.technicians[0].username)
    app.config["TRIAGE_MIN_ACCURACY"] = 1.01  # no model measures that well
    case = _open_case(world, NEW_TEXT)
    page = soup(_page(client, case))
    assert page.find(id="suggeriment-case_type") is None
    assert page.find(id="suggeriment-sector") is None
    assert page.find(id="suggeriment-company") is not None  # the matcher has no accuracy bar
    app.config["TRIAGE_MIN_ACCURACY"] = 0.75
    app.config["TRIAGE_MIN_CONFIDENCE"] = 1.01  # no guess is that sure
    other = _open_case(world, NEW_TEXT)
    assert soup(_page(client, other)).find(id="suggeriments") is None
    db.session.expire_all()
    stored = db.session.scalars(
        select(TriageSuggestion).where(TriageSuggestion.case_id == other.id)
    ).all()
    assert stored == []  # nothing shown, nothing counted


def test_anonymised_and_finished_cases_show_none(client, login, trained, world):
    login(world.technicians[0].username)
    finished = _open_case(world, NEW_TEXT, status=CaseStatus.RESOLT)
    anonymised = _open_case(world, NEW_TEXT)
    anonymised.anonymised_at = clock.now()
    db.session.commit()
    for case in (finished, anonymised):
        assert soup(_page(client, case)).find(id="suggeriments") is None
    assert db.session.query(TriageSuggestion).count() == 0


def test_a_colleague_who_may_not_change_the_case_sees_no_forms(client, login, trained, world):
    case = _open_case(world, NEW_TEXT)
    colleague = world.technicians[1]
    login(colleague.username)
    page = _page(client, case)
    assert soup(page).find(id="suggeriments") is None
    assert soup(page).find(id="casos-semblants") is not None  # reading is for everyone
    response = client.post(
        f"/espai/expedients/{case.id}/suggeriments/case_type",
        data={"csrf_token": csrf_token(page), "version": "1", "value": "mediacio"},
    )
    assert response.status_code == 403
    assert _fresh(case).case_type == "reclamacio"


def test_bad_kind_value_and_version(client, login, trained, world):
    case = _open_case(world, NEW_TEXT)
    login(world.technicians[0].username)
    page = _page(client, case)
    token = csrf_token(page)
    url = f"/espai/expedients/{case.id}/suggeriments"
    assert client.post(f"{url}/colour", data={"csrf_token": token}).status_code == 404
    response = _post(client, case, "case_type", page, value="cap-tipus")
    assert response.status_code == 422
    bad = soup(response.get_data(as_text=True))
    assert bad.find(id="suggeriment-case_type-valor-error") is not None
    assert bad.find(class_="error-summary") is not None
    response = _post(client, case, "sector", page, value="")
    assert response.status_code == 422
    response = _post(client, case, "documents", page, value="passaport")
    assert response.status_code == 422
    response = _post(client, case, "company", page, value="")
    assert response.status_code == 422
    # Someone saved the case meanwhile: the page says so, nothing is applied.
    fresh = _fresh(case)
    service.update_case(
        fresh,
        {"amount_claimed": Decimal("12.00")},
        actor=None,
        expected_version=fresh.version,
        now=clock.now(),
    )
    db.session.commit()
    response = _post(client, case, "case_type", page, value="mediacio")
    assert response.status_code == 409
    assert "Algú altre ha canviat l'expedient" in response.get_data(as_text=True)
    assert _fresh(case).case_type == "reclamacio"


def test_similar_cases_are_listed_with_outcomes_and_links(client, login, trained, world):
    cases, _companies, _run = trained
    case = _open_case(world, NEW_TEXT)
    login(world.technicians[1].username)
    section = soup(_page(client, case)).find(id="casos-semblants")
    items = section.find_all("li")
    assert 1 <= len(items) <= 5
    links = [item.find("a")["href"] for item in items]
    ids = {c.id: c for c in cases}
    first = ids[int(links[0].rsplit("/", 1)[1])]
    assert first.case_type == "mediacio" and first.sector == "TELECOM"
    text = items[0].get_text(" ", strip=True)
    assert "Resolt" in text and "Favorable" in text and "45,00" in text
    assert "L'empresa va retornar l'import" in text


def test_the_page_costs_the_same_queries_whatever_the_cases(client, login, world, app):
    """The case page with suggestions and similar cases, at 60 and at 120 past cases (and a
    case whose similar cases are 1 or 5): the same number of statements."""
    login(world.technicians[0].username)
    _history(world)
    service.train_and_store(now=clock.now(), trigger="command")
    small = _open_case(world, NEW_TEXT)
    _page(client, small)  # the first view stores the suggestions
    with counted_queries() as statements:
        _page(client, small)
    with_model = len(statements)
    _history(world)
    service.train_and_store(now=clock.now(), trigger="command")
    large = _open_case(world, NEW_TEXT)
    _page(client, large)
    _page(client, large)  # the new model is loaded once per process
    with counted_queries() as statements:
        _page(client, large)
    assert len(statements) == with_model


def test_the_correction_changes_the_next_training(app, client, login, world):
    """THE DONE-WHEN TEST: a technician's correction changes the next training's result.

    Setup (honest): besides the 60 plain cases, two finished cases say exactly "garantia
    ampliada venuda al taulell" and were labelled *queixa*. Nothing else in the history uses
    those words, so for a new case saying the same the first model suggests *queixa*. A
    technician corrects it on the page to *denuncia*: the case now carries "denuncia" and a
    corrected suggestion, so the next training reads it as a label of weight
    CORRECTION_WEIGHT (3) against the two old ones (1 + 1), and the suggestion for that text
    becomes *denuncia*. Counted once instead, the two old examples would still win: the check
    at the end retrains by hand with weight 1 and gets *queixa* again, so it is the weight of
    a person's correction, not its mere presence, that turns the model.

    The minimum confidence is lowered for this test: with two examples among 62 the first
    model's confidence for that text is modest, and the point here is the change of label.
    """
    app.config["TRIAGE_MIN_CONFIDENCE"] = 0.05
    odd = "garantia ampliada venuda al taulell"
    _history(world, extra=[(odd, "queixa", "BENS_CONSUM")] * 2)
    service.train_and_store(now=clock.now(), trigger="command")
    case = _open_case(world, odd, sector="BENS_CONSUM")
    login(world.technicians[0].username)
    page = _page(client, case)
    shown = soup(page).find(id="suggeriment-case_type")
    assert shown is not None and "Queixa" in shown.get_text()
    assert service.suggest_text(odd).case_type.label == "queixa"
    assert _post(client, case, "case_type", page, value="denuncia").status_code == 303
    db.session.expire_all()

    service.train_and_store(now=clock.now(), trigger="command")
    assert service.suggest_text(odd).case_type.label == "denuncia"
    another = _open_case(world, odd, sector="BENS_CONSUM")
    shown = soup(_page(client, another)).find(id="suggeriment-case_type")
    assert shown is not None and "Denúncia" in shown.get_text()

    # The same data with the correction weighing 1: the old labels win again.
    data = service.training_set()
    data.case_type = [
        core.Example(e.text, e.label, 1.0) if e.weight != 1.0 else e for e in data.case_type
    ]
    assert sum(1 for e in data.case_type if e.text == odd) == 3
    assert core.TextClassifier.fit(data.case_type).predict([odd])[0].label == "queixa"


# --- The booking card -------------------------------------------------------------------------


def test_the_booking_card_shows_a_read_only_suggestion(client, login, trained, world):
    start = clock.now().replace(microsecond=0)
    booking, _token = make_booking(
        world.town, world.service, world.technicians[0], start, description=NEW_TEXT
    )
    login(world.technicians[0].username)
    page = soup(client.get(f"/espai/cites/{booking.id}").get_data(as_text=True))
    line = page.find(id="booking-suggestion")
    assert line is not None
    text = line.get_text(" ", strip=True)
    assert "Mediació" in text and "Vodafone" in text
    assert line.find("form") is None


def test_the_booking_card_without_a_model(client, login, world):
    start = clock.now().replace(microsecond=0)
    booking, _token = make_booking(
        world.town, world.service, world.technicians[0], start, description=NEW_TEXT
    )
    login(world.technicians[0].username)
    page = soup(client.get(f"/espai/cites/{booking.id}").get_data(as_text=True))
    assert page.find(id="booking-suggestion") is None


def test_a_coordinator_gets_the_figures_link_when_the_page_exists(client, trained, world, login):
    coordinator = make_staff("OPSSCOORD", role=Role.COORDINATOR)
    case = _open_case(world, NEW_TEXT)
    login(coordinator.username)
    section = soup(_page(client, case)).find(id="suggeriments")
    assert section is not None
    link = section.find("a", string=re.compile("encertats"))
    from flask import url_for

    try:
        with client.application.test_request_context():
            expected = url_for("admin.triage_figures")
    except Exception:  # the figures page is another helper's: absent, no link
        assert link is None
    else:
        assert link is not None and link["href"] == expected
