"""Case files: numbering under concurrency, editing with history, edit conflicts."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import select

from support.concurrency import in_app_at_once
from support.factories import PASSWORD
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import form_values
from support.htmlutil import soup
from umic import clock
from umic.casefiles.service import StaleCase
from umic.casefiles.service import create_case
from umic.casefiles.service import update_case
from umic.core.casenumbers import format_number
from umic.core.casenumbers import parse_number
from umic.extensions import db
from umic.models import CaseEvent
from umic.models import CaseFile
from umic.models import CaseStatus


def sign_in(client, username: str) -> None:
    page = client.get("/entra").get_data(as_text=True)
    response = client.post(
        "/entra",
        data={"csrf_token": csrf_token(page), "username": username, "password": PASSWORD},
    )
    assert response.status_code == 303


def new_case(world, **values) -> CaseFile:
    base = {
        "municipality_id": world.town.id,
        "interested_name": "Trinidad Garcia",
        "assigned_to_id": world.technicians[0].id,
    }
    case = create_case({**base, **values}, actor=world.technicians[0], now=clock.now())
    db.session.commit()
    return case


def form_data(page: str) -> dict:
    """Every field of the case form as the browser would submit it unchanged."""
    return form_values(page, "form[action$='expedients/'] , main form")


# --- Numbering ----------------------------------------------------------------------------------


def test_case_numbers_look_like_the_trackers():
    assert format_number(2025, 29005) == "2025/0029005"
    assert parse_number("2025/0029005") == (2025, 29005)
    for bad in ("2025/29005", "25/0029005", "2025-0029005", "2025/0000000", ""):
        with pytest.raises(ValueError):
            parse_number(bad)


def test_numbers_follow_on_within_a_year_and_restart_the_next(app):
    world = make_world(technicians=1)
    first = new_case(world, requested_at=datetime(2025, 12, 31, 22, 0, tzinfo=UTC))
    second = new_case(world, requested_at=datetime(2025, 12, 31, 22, 30, tzinfo=UTC))
    # 23:30 UTC on 31 December is already 2026 in Barcelona.
    third = new_case(world, requested_at=datetime(2025, 12, 31, 23, 30, tzinfo=UTC))
    assert [first.number, second.number, third.number] == [
        "2025/0000001",
        "2025/0000002",
        "2026/0000001",
    ]


def test_concurrent_creation_never_gives_one_number_twice(app):
    world = make_world(technicians=1)
    workers = 20
    municipality_id = world.town.id

    def create(index: int) -> str:
        case = create_case(
            {"municipality_id": municipality_id, "interested_name": f"Persona {index}"},
            actor=None,
            now=clock.now(),
        )
        db.session.commit()
        return case.number

    numbers = in_app_at_once(app, create, range(workers))
    assert len(set(numbers)) == workers
    year = clock.now().year
    assert sorted(numbers) == [format_number(year, n) for n in range(1, workers + 1)]


# --- Editing and history -------------------------------------------------------------------


def test_every_change_is_recorded_with_who_when_and_old_new(client):
    world = make_world(technicians=2)
    case = new_case(world, assigned_to_id=world.technicians[1].id)
    sign_in(client, world.technicians[1].username)
    page = client.get(f"/espai/expedients/{case.id}").get_data(as_text=True)
    data = form_data(page)
    data.update(
        status="en_tramit",
        internal_detail="Manca d'enviament de factura d'aigua",
        company="Aigües de prova",
        amount_claimed="1.120,50",
        note="He parlat amb l'empresa.",
    )
    response = client.post(f"/espai/expedients/{case.id}", data=data)
    assert response.status_code == 303
    db.session.expire_all()
    case = db.session.get(CaseFile, case.id)
    assert case.status == CaseStatus.EN_TRAMIT and str(case.amount_claimed) == "1120.50"
    changes = {
        e.field: (e.old_value, e.new_value, e.actor_id) for e in case.events if e.kind == "change"
    }
    actor = world.technicians[1].id
    assert changes == {
        "company": ("", "Aigües de prova", actor),
        "amount_claimed": ("", "1120.50", actor),
        "status": ("pendent", "en_tramit", actor),
        "internal_detail": ("", "Manca d'enviament de factura d'aigua", actor),
    }
    assert [e.note for e in case.events if e.kind == "note"] == ["He parlat amb l'empresa."]
    timeline = soup(client.get(f"/espai/expedients/{case.id}").get_data(as_text=True))
    text = timeline.select_one(".timeline").get_text(" ", strip=True)
    assert "Estat petició" in text and "Pendent → En tràmit" in text
    assert world.technicians[1].username in text


def test_saving_without_changes_records_nothing(client):
    world = make_world(technicians=1)
    case = new_case(world)
    sign_in(client, world.technicians[0].username)
    data = form_data(client.get(f"/espai/expedients/{case.id}").get_data(as_text=True))
    client.post(f"/espai/expedients/{case.id}", data=data)
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
    assert [e.kind for e in events] == ["created"]


def test_resolving_records_the_date_and_reopening_clears_it(app):
    world = make_world(technicians=1)
    case = new_case(world)
    now = clock.now()
    update_case(case, {"status": "resolt"}, actor=None, expected_version=case.version, now=now)
    db.session.commit()
    assert case.resolved_at == now.replace(microsecond=case.resolved_at.microsecond)
    update_case(case, {"status": "en_tramit"}, actor=None, expected_version=case.version, now=now)
    db.session.commit()
    assert case.resolved_at is None


def test_two_people_editing_at_once_cannot_overwrite_each_other(client, app):
    world = make_world(technicians=2)
    case = new_case(world)
    make_staff("OPSSCOORD", role="coordinator")
    first, second = app.test_client(), app.test_client()
    sign_in(first, world.technicians[0].username)  # the case's technician
    sign_in(second, "OPSSCOORD")
    first_data = form_data(first.get(f"/espai/expedients/{case.id}").get_data(as_text=True))
    second_data = form_data(second.get(f"/espai/expedients/{case.id}").get_data(as_text=True))

    first_data["company"] = "Empresa A"
    assert first.post(f"/espai/expedients/{case.id}", data=first_data).status_code == 303

    second_data["company"] = "Empresa B"
    second_data["internal_status"] = "Revisat"
    response = second.post(f"/espai/expedients/{case.id}", data=second_data)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Algú altre ha desat canvis mentre editàveu" in html
    page = soup(html)
    assert page.select_one("#company")["value"] == "Empresa B", "what they typed is kept"
    assert page.select_one("#internal_status")["value"] == "Revisat"
    db.session.expire_all()
    assert db.session.get(CaseFile, case.id).company == "Empresa A", "nothing overwritten"

    # Saving again, having seen the conflict, keeps the second person's version on purpose.
    retry = form_data(html)
    assert second.post(f"/espai/expedients/{case.id}", data=retry).status_code == 303
    db.session.expire_all()
    saved = db.session.get(CaseFile, case.id)
    assert (saved.company, saved.internal_status) == ("Empresa B", "Revisat")
    companies = [e.new_value for e in saved.events if e.field == "company"]
    assert companies == ["Empresa A", "Empresa B"]


def test_the_service_refuses_an_edit_on_an_old_version(app):
    world = make_world(technicians=1)
    case = new_case(world)
    old_version = case.version
    update_case(case, {"company": "X"}, actor=None, expected_version=old_version, now=clock.now())
    db.session.commit()
    with pytest.raises(StaleCase):
        update_case(
            case, {"company": "Y"}, actor=None, expected_version=old_version, now=clock.now()
        )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("interested_name", "", "Escriviu el nom de la persona interessada"),
        (
            "interested_email",
            "no és un correu",
            "Escriviu una adreça de correu electrònic vàlida, com ara nom@exemple.cat",
        ),
        ("amount_claimed", "molts", "Escriviu un import en euros, com ara 120,50"),
        ("amount_claimed", "-5", "Escriviu un import positiu"),
        ("deadline", "2026-02-31", "Valor de data no vàlid"),
        (
            "status",
            "documentacio_requerida",
            "Indiqueu fins quan té la persona per aportar la documentació",
        ),
        ("company", "x" * 201, "L'empresa ha de tenir 200 caràcters o menys"),
    ],
)
def test_bad_case_input_is_an_error_beside_the_field(client, field, value, message):
    world = make_world(technicians=1)
    case = new_case(world)
    sign_in(client, world.technicians[0].username)
    data = form_data(client.get(f"/espai/expedients/{case.id}").get_data(as_text=True))
    data[field] = value
    response = client.post(f"/espai/expedients/{case.id}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert soup(html).title.get_text().startswith("Error: ")
    assert message in error_messages(html)
    db.session.expire_all()
    assert db.session.get(CaseFile, case.id).version == case.version


def test_a_note_goes_into_the_history(client):
    world = make_world(technicians=1)
    case = new_case(world)
    sign_in(client, world.technicians[0].username)
    page = client.get(f"/espai/expedients/{case.id}").get_data(as_text=True)
    token = csrf_token(page)
    response = client.post(
        f"/espai/expedients/{case.id}/nota", data={"csrf_token": token, "note": "Trucada feta"}
    )
    assert response.status_code == 303
    assert "Trucada feta" in client.get(f"/espai/expedients/{case.id}").get_data(as_text=True)
    empty = client.post(
        f"/espai/expedients/{case.id}/nota", data={"csrf_token": token, "note": " "}
    )
    assert "Escriviu la nota" in error_messages(empty.get_data(as_text=True))


def test_a_case_from_the_mailbox_is_created_by_hand(client):
    world = make_world(technicians=1)
    sign_in(client, world.technicians[0].username)
    page = client.get("/espai/expedients/nou?canal=bustia").get_data(as_text=True)
    data = form_data(page)
    data.update(
        interested_name="Persona de la Bústia",
        case_type="queixa",
        municipality_id=str(world.town.id),
    )
    response = client.post("/espai/expedients/nou", data=data)
    assert response.status_code == 303
    case = db.session.scalar(select(CaseFile))
    assert (case.channel, case.case_type, case.procedure_name) == ("bustia", "queixa", "Queixes")
    assert re.fullmatch(r"\d{4}/\d{7}", case.number)
    assert case.deadline is None and case.requested_at <= clock.now()


def test_staff_see_every_case_but_anonymous_users_none(client, app):
    world = make_world(technicians=2)
    case = new_case(world)
    assert client.get(f"/espai/expedients/{case.id}").status_code == 302
    make_staff("OPSSALTRE")
    sign_in(client, "OPSSALTRE")
    assert client.get(f"/espai/expedients/{case.id}").status_code == 200
    assert client.get("/espai/expedients/999999").status_code == 404


def test_amounts_are_text_boxes_that_take_a_decimal_comma(client):
    """type=number would refuse "120,50" in the browser."""
    world = make_world(technicians=1)
    case = new_case(world)
    sign_in(client, world.technicians[0].username)
    page = soup(client.get(f"/espai/expedients/{case.id}").get_data(as_text=True))
    for name in ("amount_claimed", "amount_recovered"):
        box = page.select_one(f"#{name}")
        assert box["type"] == "text" and box["inputmode"] == "decimal"
