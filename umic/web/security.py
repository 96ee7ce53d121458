"""HTTP security headers for every response, and a check on where forms come from.

- **Headers** (``add_security_headers``): a strict Content-Security-Policy (no inline scripts
  or styles), framing only where a town may embed us, ``nosniff``, a Referrer-Policy that
  keeps Flask-WTF's HTTPS Referer check working, HSTS on HTTPS only,
  ``no-store`` on pages, and a year of caching for static files whose URL names their
  content (``?v=<hash>`` added by ``url_for``, or a version in the file name).
- **Cookies** (``init_app``): HttpOnly and SameSite=Lax always; Secure when the site is
  served over HTTPS (``SESSION_COOKIE_SECURE``; left at None it follows ``BASE_URL``).
- **Cross-origin requests** (``refuse_cross_origin``): defence in depth for CSRF, the
  check of Go's ``http.CrossOriginProtection``. A POST, PUT, PATCH or DELETE is refused (403)
  when the browser says it comes from another site (``Sec-Fetch-Site``), or, from a browser
  too old to say, when its ``Origin`` is not ours. Flask-WTF's tokens stay.

Why: docs/accessibility.md, "Forms from other sites" and "Strict content security policy".
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import render_template
from flask import request

log = logging.getLogger(__name__)

# No inline scripts or styles anywhere: htmx is configured to need neither (htmx-config in
# base.html).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)

#: Sent on HTTPS responses only: a browser that saw it never uses plain HTTP here for a year.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"
#: Static files whose URL changes with their content may be kept for a year.
IMMUTABLE = "public, max-age=31536000, immutable"
#: A version in a static file's name (``htmx-2.0.11.min.js``) already names its content.
_VERSIONED_NAME = re.compile(r"-\d+\.\d+\.\d+(?:\.min)?\.[a-z]+$")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: ``Sec-Fetch-Site`` values of a request made by our own pages, or typed by the user.
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})


def add_security_headers(response: Response) -> Response:
    """Headers that no page should be without.

    A view that may be framed by a town's website sets ``g.frame_ancestors`` to that town's
    origins: its page may be framed by them (and by us), and by no one else. Every other
    response forbids framing twice over: CSP ``frame-ancestors 'none'`` and X-Frame-Options.
    """
    headers = response.headers
    ancestors = g.get("frame_ancestors")
    if ancestors is not None:
        policy = CONTENT_SECURITY_POLICY.replace(
            "frame-ancestors 'none'", "frame-ancestors " + " ".join(["'self'", *ancestors])
        )
        headers.setdefault("Content-Security-Policy", policy)
    else:
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Keeps same-origin Referer for CSRF checks; tokens in our URLs never leave the site.
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if request.is_secure:
        # Behind a proxy, ProxyFix (PROXY_COUNT) makes the proxy's HTTPS visible here.
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    if response.mimetype == "text/html":
        # Pages may carry personal data: never store them in shared caches or on disk.
        headers.setdefault("Cache-Control", "no-store")
    elif request.endpoint == "static" and response.status_code in (200, 304):
        _cache_static(response)
    return response


# --- Static files: fingerprinted URLs, cached for a year -----------------------------------------


def _static_path(filename: str) -> str | None:
    folder = current_app.static_folder
    if not folder or not filename:
        return None
    path = os.path.normpath(os.path.join(folder, filename))
    if not path.startswith(os.path.normpath(folder) + os.sep) or not os.path.isfile(path):
        return None
    return path


@lru_cache(maxsize=64)
def _file_hash(path: str, mtime_ns: int, size: int) -> str:
    """The first 12 hex digits of the file's SHA-256 (recomputed when the file changes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def static_version(filename: str) -> str | None:
    """The content hash of a static file, or None when it does not exist."""
    path = _static_path(filename)
    if path is None:
        return None
    stat = os.stat(path)
    return _file_hash(path, stat.st_mtime_ns, stat.st_size)


def _add_static_version(endpoint: str, values: dict) -> None:
    """``url_for('static', filename='css/app.css')`` -> ``/static/css/app.css?v=<hash>``."""
    if endpoint != "static" or "v" in values:
        return
    filename = values.get("filename") or ""
    if _VERSIONED_NAME.search(filename):
        return
    version = static_version(filename)
    if version:
        values["v"] = version


def _cache_static(response: Response) -> None:
    """A year for a URL that names the file's content; otherwise ask again each time."""
    filename = (request.view_args or {}).get("filename") or ""
    named = _VERSIONED_NAME.search(filename) is not None
    if named or request.args.get("v") == static_version(filename):
        response.headers["Cache-Control"] = IMMUTABLE
    else:
        # An old ?v= after a deploy, or no version: revalidate (ETag), never serve stale.
        response.headers["Cache-Control"] = "no-cache"


# --- Cross-origin requests (CSRF defence in depth) ----------------------------------------------


def origin_of(url: str) -> str:
    """'https://Cita.example.cat/reserva/' -> 'https://cita.example.cat' ('' if not a URL)."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:  # "http://[x": not a URL, so not ours
        return ""
    if not parts.scheme or not parts.netloc:
        return ""
    scheme, netloc = parts.scheme.lower(), parts.netloc.lower()
    # Browsers leave the default port out of Origin; a Host header may carry it.
    default = {"http": ":80", "https": ":443"}.get(scheme)
    if default and netloc.endswith(default):
        netloc = netloc.removesuffix(default)
    return f"{scheme}://{netloc}"


def is_cross_origin(
    method: str, fetch_site: str | None, origin: str | None, own_origins: set[str]
) -> bool:
    """Whether an unsafe request must be refused as coming from another site.

    Safe methods always pass. A browser that sends ``Sec-Fetch-Site`` is believed: only
    ``same-origin`` (our own pages, also inside a town's cross-site iframe, whose form belongs
    to the frame's document: Chromium says so, see tests/test_security.py) and ``none`` (typed
    by the user) pass. Without it (an old browser, a script), a request passes when it has no
    ``Origin`` or our own.
    """
    if method.upper() not in UNSAFE_METHODS:
        return False
    if fetch_site is not None:
        return fetch_site.strip().lower() not in TRUSTED_FETCH_SITES
    if origin is None:
        return False
    return origin_of(origin) not in own_origins


def own_origins() -> set[str]:
    """This request's own origin (after ProxyFix) and the public one in ``BASE_URL``."""
    origins = {origin_of(request.host_url), origin_of(current_app.config.get("BASE_URL", ""))}
    origins.discard("")
    return origins


def refuse_cross_origin() -> tuple[str, int] | None:
    """``before_request``: a clear 403 page for a form sent from another site."""
    if request.method.upper() not in UNSAFE_METHODS:
        return None  # safe methods always pass: no need to work out our own origins
    fetch_site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if not is_cross_origin(request.method, fetch_site, origin, own_origins()):
        return None
    log.info(
        "refused a cross-origin %s %s (Sec-Fetch-Site=%s, Origin=%s)",
        request.method,
        request.path,
        fetch_site,
        origin,
    )
    return render_template("errors/cross_site.html"), 403


# --- Wiring ------------------------------------------------------------------------------------


def secure_cookie_default(config) -> bool:
    """``SESSION_COOKIE_SECURE`` when not set: Secure exactly when the public site is HTTPS."""
    return str(config.get("BASE_URL", "")).lower().startswith("https://")


def init_app(app: Flask) -> None:
    if app.config.get("SESSION_COOKIE_SECURE") is None:
        app.config["SESSION_COOKIE_SECURE"] = secure_cookie_default(app.config)
    # First of all before_request functions: a forged form gets this 403 before Flask-WTF
    # answers "token missing", and before any view or rate limit does any work.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_cross_origin)
    app.url_defaults(_add_static_version)
    app.after_request(add_security_headers)
