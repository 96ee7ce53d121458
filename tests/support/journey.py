"""A citizen going through the real forms with the test client (CSRF tokens included)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from . import days
from .htmlutil import csrf_token

DETAILS = {
    "name": "Raúl Sánchez Puig",
    "email": "raul.sanchez@example.net",
    "phone": "612 345 678",
    "address": "Carrer Major, 1, Gelida",
    "description": "L'empresa d'aigua em cobra dues vegades la mateixa factura.",
    "consent": "y",
}


class Citizen:
    """Drives the booking pages like a browser without JavaScript."""

    def __init__(self, client, slug: str = "gelida"):
        self.client = client
        self.slug = slug

    def days(self) -> list[str]:
        page = self.client.get(f"/reserva/{self.slug}/").get_data(as_text=True)
        return re.findall(r'name="dia" value="([^"]+)"', page)

    def full_day(self) -> str:
        """The first day offered after today: all its times are still there (today's go as the
        hours pass, and one may stop being bookable while a test is using it)."""
        today = days.today().isoformat()
        return next(day for day in self.days() if day > today)

    def slots(self, day: str | None = None) -> list[str]:
        """The times offered on ``day`` (by default a full day)."""
        day = day or self.full_day()
        page = self.client.get(f"/reserva/{self.slug}/?dia={day}").get_data(as_text=True)
        return re.findall(r'name="slot" value="([^"]+)"', page)

    def first_slot(self) -> str:
        return self.slots()[0]

    def details(self, slot: str, **fields):
        page = self.client.get(f"/reserva/{self.slug}/dades", query_string={"slot": slot})
        data = {**DETAILS, **fields, "slot": slot}
        data = {k: v for k, v in data.items() if v is not None}
        data["csrf_token"] = csrf_token(page.get_data(as_text=True))
        return self.client.post(f"/reserva/{self.slug}/dades", data=data)

    def confirm(self):
        page = self.client.get(f"/reserva/{self.slug}/comprova").get_data(as_text=True)
        return self.client.post(
            f"/reserva/{self.slug}/comprova", data={"csrf_token": csrf_token(page)}
        )

    def book(self, slot: str | None = None, **fields) -> str:
        """Book and return the manage path (/cita/<token>)."""
        slot = slot or self.first_slot()
        response = self.details(slot, **fields)
        assert response.status_code == 303, response.get_data(as_text=True)
        response = self.confirm()
        assert response.status_code == 303
        location = urlsplit(response.headers["Location"]).path
        assert location.startswith("/cita/"), location
        return location


def confirm_ready(entry):
    """Press "Confirma" for a browser that has its check page open: ``(client, form token)``."""
    client, token = entry
    return client.post("/reserva/gelida/comprova", data={"csrf_token": token})


def book_by_phone(client, town_id: int, slot: str, **fields):
    """A member of staff (signed in on ``client``) books ``slot`` for someone who phoned:
    the details form fetched for its token, then posted with ``fields`` (any technician,
    consent given, unless ``fields`` say otherwise). Returns the POST's response."""
    query = {"municipi": town_id, "slot": slot}
    form = client.get("/espai/cites/nova/dades", query_string=query).get_data(as_text=True)
    data = {"csrf_token": csrf_token(form), **query, "technician": 0, "consent": "y", **fields}
    return client.post("/espai/cites/nova/dades", data=data)
