"""The citizen's manage link driven through the real forms: reschedule and cancel."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .htmlutil import csrf_token


def days(client, manage: str) -> list[str]:
    """Days offered on the reschedule page (first page of them)."""
    page = client.get(f"{manage}/planifica")
    assert page.status_code == 200, page.status_code
    return re.findall(r'name="dia" value="([^"]+)"', page.get_data(as_text=True))


def slots(client, manage: str, day: str) -> list[str]:
    """Times offered to move the booking to on ``day`` (ISO local times with offset)."""
    page = client.get(f"{manage}/planifica", query_string={"dia": day})
    assert page.status_code == 200, page.status_code
    return re.findall(r'name="slot" value="([^"]+)"', page.get_data(as_text=True))


def reschedule(client, manage: str, slot: str):
    """Choose ``slot`` and confirm the change; returns the POST response (303 to manage)."""
    page = client.get(f"{manage}/planifica/confirma", query_string={"slot": slot})
    assert page.status_code == 200, page.status_code
    response = client.post(
        f"{manage}/planifica/confirma",
        data={"slot": slot, "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    location = urlsplit(response.headers["Location"])
    assert location.path == manage and not location.query, response.headers["Location"]
    return response


def cancel(client, manage: str, reason: str = "Ja ho he resolt."):
    """Cancel through the confirmation form; returns the POST response (303 to manage)."""
    page = client.get(f"{manage}/anulla")
    assert page.status_code == 200, page.status_code
    response = client.post(
        f"{manage}/anulla",
        data={"reason": reason, "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    assert urlsplit(response.headers["Location"]).path == manage
    return response
