"""Addresses: absolute links for e-mails and invitations (on ``BASE_URL``), and local paths.

Works without a request (the mail worker renders reminders outside any request).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def local_path(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None (never another site's address).

    Refuses what browsers read as another host: ``//host``, ``/\\host`` and anything with a
    scheme or host, and text that is not a URL at all (``http://[x``).
    """
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    return target


def external_url(endpoint: str, **values) -> str:
    """``BASE_URL`` + the path of ``endpoint``, e.g. https://cites.example/cita/abc."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc or "localhost", script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)
