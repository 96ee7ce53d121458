"""The few htmx helpers the app needs (docs/accessibility.md, "Without JavaScript")."""

from __future__ import annotations

from collections.abc import Hashable

from flask import Response
from flask import current_app
from flask import make_response
from flask import render_template
from flask import request

from ..core.lru import LRU


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


def render_fragment_memoised(fragment: str, key: Hashable, **context) -> Response:
    """``render_page_or_fragment`` for an htmx fragment that is a pure function of ``key``.

    The day-times fragment is asked for constantly and most of its cost is the template
    (times and dates formatted for the language). ``key`` must hold everything the template
    shows (the language is added here); the same key then always gives the same HTML, so
    keeping it can never show anything stale. Templates that reload while the app runs (debug)
    are rendered every time.
    """
    from .i18n import locale_name

    if current_app.jinja_env.auto_reload:
        html = render_template(fragment, **context)
    else:
        memo = current_app.extensions.get("umic.fragments")
        if memo is None:
            memo = current_app.extensions.setdefault("umic.fragments", LRU(4096))
        full_key = (fragment, locale_name(), key)
        html = memo.get(full_key)
        if html is None:
            html = render_template(fragment, **context)
            memo.put(full_key, html)
    response = make_response(html)
    response.vary.add("HX-Request")
    return response


def hx_redirect(url: str) -> Response:
    """A full-page navigation in answer to an htmx request."""
    response = make_response("", 204)
    response.headers["HX-Redirect"] = url
    return response
