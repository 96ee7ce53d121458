"""Absolute links for e-mails and invitations, built on ``BASE_URL``.

Works without a request (the mail worker renders reminders outside any request).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    """``BASE_URL`` + the path of ``endpoint``, e.g. https://cites.example/cita/abc."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc or "localhost", script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)
