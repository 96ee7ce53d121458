"""The optional language model (umic.assist): off by default; on, through the pages, with the
real ``openai`` client against a real model server process (tests/support/llm_server.py),
never a mock of the library. What the server receives is read back from its record file:
the person's name, e-mail, phone, DNI and address must not be in it.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

from support.factories import make_case
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import soup
from support.llm_server import LLMServer
from support.smtpserver import free_port
from umic import clock
from umic.config import TestConfig
from umic.extensions import db
from umic.models import AssistUse
from umic.models import Role

ROOT = Path(__file__).resolve().parents[1]

DESCRIPTION = (
    "Bon dia, em dic Raúl Sánchez i us escric perquè Endesa em cobra dues vegades la mateixa "
    "factura 458213 del mes de maig, 120,50 € de més. El meu DNI és 12345678Z i visc al "
    "Carrer Major 5, 2n 1a, de Sant Sadurní. Podeu trucar-me al 600123456 o escriure'm a "
    "raul@example.net. Vaig trucar al servei d'atenció al client tres vegades i cada cop em "
    "van dir que ho revisarien, però la factura següent tornava a incloure el mateix període. "
    "També vaig enviar un correu a l'empresa el 12/06/2024 i no n'he rebut resposta. Demano "
    "que em tornin l'import cobrat de més i que corregeixin les factures. Tinc les factures i "
    "els extractes del banc on surten els dos càrrecs, i els puc enviar quan calgui."
)


@pytest.fixture
def llm_port() -> int:
    return free_port()


@pytest.fixture
def app_config(llm_port) -> dict:
    return {
        "ASSIST_URL": f"http://127.0.0.1:{llm_port}/v1",
        "ASSIST_MODEL": "test-model",
        "ASSIST_TIMEOUT_SECONDS": 5,
    }


@pytest.fixture
def start_llm(llm_port, tmp_path):
    """Start the model server on the app's port (with extra flags); stopped afterwards."""
    started: list[LLMServer] = []

    def _start(*flags: str) -> LLMServer:
        server = LLMServer.start(llm_port, tmp_path / "requests.jsonl", *flags)
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()


@pytest.fixture
def world(app):
    return make_world(technicians=2)


@pytest.fixture
def case(world):
    return make_case(
        world,
        description=DESCRIPTION,
        interested_phone="600 123 456",
        interested_address="Carrer Major, 5, 2n 1a, 08770 Sant Sadurní d'Anoia",
        company="Endesa",
    )


def case_page(client, case) -> str:
    response = client.get(f"/espai/expedients/{case.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def post(client, case, what: str, page: str | None = None):
    page = page or case_page(client, case)
    return client.post(
        f"/espai/expedients/{case.id}/assistent/{what}", data={"csrf_token": csrf_token(page)}
    )


def uses() -> list[AssistUse]:
    db.session.expire_all()
    return db.session.scalars(select(AssistUse).order_by(AssistUse.id)).all()


# --- Off -----------------------------------------------------------------------------------


def test_off_by_default_no_buttons_no_routes_nothing_logged(app, client, login, world, case):
    assert TestConfig.ASSIST_URL == ""
    app.config["ASSIST_URL"] = ""
    login(world.technicians[0].username)
    page = case_page(client, case)
    assert soup(page).select_one("#assistent") is None
    assert "assistent" not in page
    for what in ("resum", "esborrany"):
        assert post(client, case, what, page).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(AssistUse)) == 0


def test_off_the_app_never_imports_the_openai_package():
    code = (
        "import sys\n"
        "from umic import create_app\n"
        "from umic.config import TestConfig\n"
        "app = create_app(TestConfig, overrides={'SQLALCHEMY_DATABASE_URI': 'sqlite://'})\n"
        "import umic.assist.service, umic.workspace.assist, umic.admin.assist\n"
        "with app.app_context():\n"
        "    assert not umic.assist.service.enabled()\n"
        "assert 'openai' not in sys.modules, 'openai imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_log_page_says_when_no_model_is_configured(app, client, login):
    app.config["ASSIST_URL"] = ""
    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    login("OPSSCOORD")
    page = client.get("/admin/assistent/").get_data(as_text=True)
    assert "No hi ha cap model configurat" in soup(page).select_one("#assist-config").get_text()


# --- On ------------------------------------------------------------------------------------


def test_summary_through_the_page_sends_no_personal_data(client, login, world, case, start_llm):
    server = start_llm()
    login(world.technicians[0].username)
    page = case_page(client, case)
    section = soup(page).select_one("#assistent")
    assert section is not None
    actions = [form["action"] for form in section.select("form")]
    assert actions == [
        f"/espai/expedients/{case.id}/assistent/resum",
        f"/espai/expedients/{case.id}/assistent/esborrany",
    ]
    assert "registrat" in section.get_text()

    response = post(client, case, "resum", page)
    assert response.status_code == 200
    html = soup(response.get_data(as_text=True))
    assert html.select_one("#assist-text").get_text().startswith("Resum: ")
    assert "model de llenguatge" in html.select_one("#assist-warning").get_text()
    assert html.select_one(f"a[href='/espai/expedients/{case.id}#assistent']")

    (sent,) = server.requests()
    assert sent["model"] == "test-model"
    system, user = (m["content"] for m in sent["messages"])
    assert "Resumeix en català" in system
    for personal in (
        "Raúl",
        "Sánchez",
        "raul@example.net",
        "600123456",
        "12345678Z",
        "Major 5",
    ):
        assert personal not in user, personal
    for placeholder in ("[NOM]", "[CORREU]", "[TELÈFON]", "[DOCUMENT]", "[ADREÇA]"):
        assert placeholder in user, placeholder
    for kept in ("Endesa", "458213", "120,50 €", "12/06/2024"):
        assert kept in user, kept

    (use,) = uses()
    assert use.purpose == "summary"
    assert use.ok is True and use.error == ""
    assert use.case_id == case.id
    assert use.actor_id == world.technicians[0].id
    assert use.host == f"127.0.0.1:{server.port}"
    assert use.model == "test-model"
    assert use.chars_sent == len(system) + len(user)
    assert use.redactions >= 5
    assert 0 <= use.seconds < 5


def test_draft_through_the_page_is_an_editable_textarea(client, login, world, case, start_llm):
    server = start_llm()
    login(world.technicians[1].username)  # any member of staff, not only the case's
    response = post(client, case, "esborrany")
    assert response.status_code == 200
    html = soup(response.get_data(as_text=True))
    textarea = html.select_one("textarea#assist-text")
    assert textarea.get_text().startswith("Esborrany: ")
    assert html.select_one("label[for='assist-text']")
    (sent,) = server.requests()
    system, user = (m["content"] for m in sent["messages"])
    assert "esborrany" in system and "en català" in system
    assert "Raúl" not in user and "[NOM]" in user
    (use,) = uses()
    assert (use.purpose, use.ok, use.actor_id) == ("draft", True, world.technicians[1].id)


def test_a_case_in_spanish_is_asked_in_spanish(client, login, world, start_llm):
    server = start_llm()
    case = make_case(
        world,
        language="es",
        description="Me llamo Raúl Sánchez y Vodafone me cobra una permanencia de 150 €. " * 10,
    )
    login(world.technicians[0].username)
    assert post(client, case, "resum").status_code == 200
    assert post(client, case, "esborrany").status_code == 200
    summary, draft = server.requests()
    assert "Resume en castellano" in summary["messages"][0]["content"]
    assert "castellano" in draft["messages"][0]["content"]
    assert "Tipo:" in draft["messages"][1]["content"]
    assert "Raúl" not in draft["messages"][1]["content"]


def test_short_descriptions_offer_no_summary(client, login, world, start_llm):
    start_llm()
    case = make_case(world, description="Movistar em cobra 20 € de més.")
    login(world.technicians[0].username)
    page = case_page(client, case)
    actions = [form["action"] for form in soup(page).select("#assistent form")]
    assert actions == [f"/espai/expedients/{case.id}/assistent/esborrany"]
    assert post(client, case, "resum", page).status_code == 404
    assert uses() == []


def test_csrf_and_anonymised_cases(client, login, world, case, start_llm):
    server = start_llm()
    login(world.technicians[0].username)
    page = case_page(client, case)
    response = client.post(f"/espai/expedients/{case.id}/assistent/resum")
    assert response.status_code == 400
    case.anonymised_at = clock.now() - timedelta(minutes=1)
    db.session.commit()
    response = client.post(
        f"/espai/expedients/{case.id}/assistent/esborrany", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 404
    assert (
        client.post(
            "/espai/expedients/999999/assistent/esborrany", data={"csrf_token": csrf_token(page)}
        ).status_code
        == 404
    )
    assert server.requests() == []
    assert uses() == []


# --- Failures: a plain page, the use logged ---------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "reason", "words"),
    [
        (("--status", "500"), "HTTP 500", "ha respost amb un error"),
        (("--empty",), "empty answer", "sense text"),
        (None, "connection refused", "No s'ha pogut connectar"),
    ],
)
def test_failures_are_a_plain_page_and_logged(
    client, login, world, case, start_llm, flags, reason, words
):
    if flags is not None:
        start_llm(*flags)
    login(world.technicians[0].username)
    response = post(client, case, "esborrany")
    assert response.status_code == 502
    html = soup(response.get_data(as_text=True))
    error = html.select_one("#assist-error").get_text()
    assert words in error
    assert html.select_one("textarea") is None
    assert html.select_one(f"a[href='/espai/expedients/{case.id}#assistent']")
    (use,) = uses()
    assert (use.ok, use.error, use.purpose) == (False, reason, "draft")
    assert use.redactions >= 5 and use.chars_sent > 0


def test_a_slow_model_times_out(app, client, login, world, case, start_llm):
    start_llm("--delay", "3")
    app.config["ASSIST_TIMEOUT_SECONDS"] = 0.5
    login(world.technicians[0].username)
    response = post(client, case, "resum")
    assert response.status_code == 502
    assert "a temps" in soup(response.get_data(as_text=True)).select_one("#assist-error").get_text()
    (use,) = uses()
    assert (use.ok, use.error) == (False, "timeout")
    assert 0.4 <= use.seconds < 3


# --- The log page ----------------------------------------------------------------------------


def test_log_page_for_coordinators_only(app, client, login, world, case, start_llm):
    start_llm()
    app.config["ASSIST_API_KEY"] = "secret-key-never-shown"
    login(world.technicians[0].username)
    assert post(client, case, "resum").status_code == 200
    assert client.get("/admin/assistent/").status_code == 403
    client.post("/surt", data={"csrf_token": csrf_token(case_page(client, case))})

    make_staff("OPSSCOORD", role=Role.COORDINATOR)
    login("OPSSCOORD")
    response = client.get("/admin/assistent/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "secret-key-never-shown" not in page
    html = soup(page)
    assert "test-model" in html.select_one("#assist-config").get_text()
    (row,) = html.select("#assist-log tbody tr")
    cells = [cell.get_text(" ", strip=True) for cell in row.select("td")]
    assert cells[1] == world.technicians[0].username
    assert cells[2] == case.number
    assert row.select_one(f"a[href='/espai/expedients/{case.id}']")
    assert cells[3] == "Resum"
    assert "127.0.0.1" in cells[4] and "test-model" in cells[4]
    assert cells[8] == "Correcte"
    assert ("admin.assist_log" in page) is False
    menu = [a["href"] for a in html.select(".staff-nav a")]
    assert "/admin/assistent/" in menu
