"""The few htmx helpers the app needs (docs/accessibility.md, "Without JavaScript")."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from flask import Response
from flask import current_app
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


class _Memo:
    """Rendered fragments by what they are made of, the least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, html: str) -> None:
        with self._lock:
            self._items[key] = html
            while len(self._items) > self.size:
                self._items.popitem(last=False)


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
            memo = current_app.extensions.setdefault("umic.fragments", _Memo(4096))
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
