"""Nothing in the app contacts another host unless the optional model endpoint is configured
(issue 15, "Done when").

With ``ASSIST_URL`` empty (the default), every Python socket connection and name lookup is
watched: one to anything but loopback or a Unix socket is recorded and refused. Then the app
does its ordinary work: the public booking pages, a case page, a worker pass (with mail going
to the loopback SMTP test server), and the triage models trained and suggesting on a case
page. PostgreSQL (libpq's own sockets, not Python's) is on loopback too.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

from support.apps import smtp_config
from support.factories import make_case
from support.factories import make_world
from umic import clock
from umic.casefiles.service import create_case
from umic.extensions import db
from umic.jobs import run_pass
from umic.models import CaseStatus

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _is_loopback(host) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host).strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def outbound(monkeypatch) -> list[str]:
    """Every non-loopback address the process tries to reach (each attempt is refused)."""
    seen: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(sock, address) -> None:
        if sock.family == getattr(socket, "AF_UNIX", None):
            return
        host = address[0] if isinstance(address, tuple) else address
        if not _is_loopback(host):
            seen.append(f"{host}:{address[1] if isinstance(address, tuple) else ''}")
            raise ConnectionRefusedError(f"test: no outbound connection to {address!r}")

    def connect(sock, address):
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        check(sock, address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_loopback(host):
            seen.append(f"lookup {host}")
            raise socket.gaierror(socket.EAI_NONAME, f"test: no lookup of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return seen


@pytest.fixture
def app_config(smtp) -> dict:
    return smtp_config(smtp)


def test_the_guard_catches_an_outbound_connection(outbound):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(ConnectionRefusedError):
            sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("example.org", 443)
    assert outbound == ["192.0.2.1:80", "lookup example.org"]


TYPES = {
    "consulta": "vull saber quins drets tinc i quin termini hi ha per informar-me",
    "queixa": "em queixo del tracte rebut perque em van atendre de manera molt grollera",
    "reclamacio": "demano que em tornin els diners cobrats de mes i anul·lin el carrec",
    "mediacio": "ja vaig reclamar fa un mes sense resposta i demano que feu de mediadors",
    "denuncia": "denuncio que no tenen fulls oficials ni preus visibles al public",
}
SECTORS = {
    "TELECOM": "la linia de fibra optica i el mobil de la companyia telefonica",
    "ELECTRICITAT_GAS_AIGUA": "el subministrament de llum i gas del comptador",
}
FILLERS = ("aquest mes", "la setmana passada", "des del gener", "fa poc")


def _labelled_history(world) -> None:
    """40 finished, labelled cases: enough for the triage models to train."""
    now = clock.now()
    for kind, asked in TYPES.items():
        for sector, about in SECTORS.items():
            for filler in FILLERS:
                create_case(
                    {
                        "description": f"{asked} sobre {about} {filler}",
                        "case_type": kind,
                        "sector": sector,
                        "status": CaseStatus.RESOLT,
                        "outcome": "favorable",
                        "interested_name": "Persona",
                        "municipality_id": world.town.id,
                    },
                    actor=None,
                    now=now,
                )
    db.session.commit()


def test_nothing_leaves_loopback_while_the_model_is_off(app, client, login, outbound):
    assert app.config["ASSIST_URL"] == ""
    world = make_world(technicians=1)

    # The public booking pages.
    assert client.get("/reserva/").status_code == 200
    assert client.get(f"/reserva/{world.town.slug}/").status_code == 200

    # A case page.
    case = make_case(
        world,
        description=(
            "Em dic Raúl Sánchez. Vodafone em cobra una permanència de 150 € que no vaig "
            "signar; ja vaig reclamar fa un mes sense resposta. " * 8
        ),
    )
    login(world.technicians[0].username)
    page = client.get(f"/espai/expedients/{case.id}")
    assert page.status_code == 200
    assert 'id="assistent"' not in page.get_data(as_text=True)

    # A worker pass: every periodic job, then the outbox (to the loopback SMTP server).
    report = run_pass(clock.now())
    assert report.failed_jobs == []

    # The triage models: trained on the service's cases, suggesting on a case page.
    from umic.triage import service as triage

    _labelled_history(world)
    run = triage.train_and_store(now=clock.now(), trigger="command")
    assert run.status == "ready"
    assert triage.suggest_text(TYPES["mediacio"] + " sobre " + SECTORS["TELECOM"]) is not None
    page = client.get(f"/espai/expedients/{case.id}")
    assert page.status_code == 200

    assert outbound == []
