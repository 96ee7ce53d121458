"""The few htmx helpers the app needs (docs/accessibility.md, "Without JavaScript")."""

from __future__ import annotations

from flask import Response
from flask import make_response
from flask import render_template
from flask import request


def is_htmx() -> bool:
    """True when htmx asks for a fragment (not a boosted navigation or a history restore)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_fragment(page: str, fragment: str, **context) -> Response:
    """One URL, two bodies: the whole page, or only the part htmx swaps in."""
    response = make_response(render_template(fragment if is_htmx() else page, **context))
    response.vary.add("HX-Request")  # caches must keep the two bodies apart
    return response


def hx_redirect(url: str) -> Response:
    """A full-page navigation in answer to an htmx request."""
    response = make_response("", 204)
    response.headers["HX-Redirect"] = url
    return response
