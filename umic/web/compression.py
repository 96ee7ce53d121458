"""Compressed responses where nothing in front of the app compresses them (``COMPRESS``).

A citizen's first visit is about 75 KB, and 53 KB of it is htmx: compressed, the whole visit is
about a third of that (benchmarks/README.md), which matters on a phone with a weak signal.
When a reverse proxy in front of the app compresses, set ``UMIC_COMPRESS=false`` and let it do
the work once (docs/compression.md: how, without compressing pages). The encodings are
Flask-Compress's, Brotli first (level 5: htmx 52.2 -> 16.5 KB in about a millisecond), then
zstd, gzip and deflate, as the browser accepts; this module decides **what** is compressed.

**Compressed: what can hold no secret.**

- Static files (CSS, JavaScript, SVG): the bulk of a first visit, the same bytes for everyone.
  Flask serves them as a file stream; they are small, so the file is read and compressed whole,
  once per worker process and encoding (``StaticCache``), which keeps ``Content-Length``; the
  ``ETag`` gets the encoding appended (``"…:br"``) so a revalidation still ends in a 304
  (Flask-Compress answers the conditional request itself).
- The public htmx fragments of the booking, the step citizens hit most: the town search
  results and the free times of a day (``booking.index``, ``booking.town`` and the same views
  embedded in towns' sites). They carry free times and town names, nothing of anyone's.

**Not compressed: HTML that carries a secret next to what a request reflects (BREACH).** With
compression, the size of a response tells an attacker who can make a victim's browser send
many requests whether a guess they put in the URL matches a secret elsewhere on the page, one
character at a time. Every full page carries the session's CSRF token (``base.html`` hands it
to htmx), and Flask-WTF does not mask it per response: the token is the session's raw token,
signed with a timestamp (``URLSafeTimedSerializer``), so its first part is the same in every
page of a session. Pages also reflect input (the town search ``q``, dates, form fields), and
staff pages show people's data next to search boxes. ``SameSite=Lax`` keeps the session cookie
off most cross-site requests, but the embedded booking needs ``SameSite=None`` (towns' iframes),
and the saving would be small: a page is 4–6 KB before compression, against 70 KB of static
files. So a response is compressed only when its endpoint is in the list above **and**
no CSRF token was generated while making it: a form added to a fragment later turns its
compression off by itself. The CSV exports (streamed, people's data), file downloads,
calendar feeds and manage links are never compressed.

Responses that may be compressed say ``Vary: Accept-Encoding``; a client that does not accept an
encoding Flask-Compress offers gets the plain bytes; partial responses (206), errors, redirects
and bodies under ``COMPRESS_MIN_SIZE`` (500 bytes) stay as they are. HEAD requests get the same
headers as GET.
"""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask_compress import Compress

from . import security

#: Where the app's Compress objects are kept (``app.extensions``): one for the public
#: fragments, compressed on each request, one for static files, compressed once per worker.
EXTENSION = "umic.compress"
STATIC_EXTENSION = "umic.compress-static"

#: Views whose responses carry no secret (see the module docstring), in both registrations:
#: the booking's own and the one embedded in towns' sites (umic/embed.py).
PUBLIC_ENDPOINTS = frozenset(
    {"static", "booking.index", "booking.town", "embed.index", "embed.town"}
)

#: A static file larger than this is left to stream as it is (none is near it today).
STATIC_MAX_BYTES = 1024 * 1024


class StaticCache:
    """Compressed static files kept by each worker process: a file is compressed once per
    encoding, not on every request. Keyed by its name and content hash, so an edited file
    (``make run``) is compressed again; a handful of files, emptied if it ever grows."""

    def __init__(self, limit: int = 256):
        self.limit = limit
        self.entries: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.entries.get(key)

    def set(self, key: str, value: bytes) -> None:
        if key not in self.entries and len(self.entries) >= self.limit:
            self.entries.clear()
        self.entries[key] = value


def static_cache_key(req) -> str:
    filename = (req.view_args or {}).get("filename") or ""
    return f"{filename}@{security.static_version(filename)}"


def carries_form_token() -> bool:
    """Whether a CSRF token was generated for this response (Flask-WTF caches it in ``g``)."""
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") in g


def should_compress(response: Response) -> bool:
    """Only public, token-free responses, whole (200), never a download."""
    if request.endpoint not in PUBLIC_ENDPOINTS or response.status_code != 200:
        return False
    if response.headers.get("Content-Disposition", "").startswith("attachment"):
        return False
    return not carries_form_token()


def _read_whole_static(response: Response) -> bool:
    """Turn a small static file's stream into bytes, so it is compressed in one piece with its
    length known; False when the file is too large (it then streams uncompressed)."""
    if not response.is_streamed:
        return True
    length = response.content_length
    if length is None or length > STATIC_MAX_BYTES:
        return False
    response.direct_passthrough = False
    response.make_sequence()
    return True


def compress_response(response: Response) -> Response:
    if not should_compress(response):
        return response
    if request.endpoint == "static":
        if not _read_whole_static(response):
            return response
        return current_app.extensions[STATIC_EXTENSION].after_request(response)
    if response.is_streamed:  # a public view that streams: leave it alone
        return response
    return current_app.extensions[EXTENSION].after_request(response)


def init_app(app: Flask) -> None:
    """Compress chosen responses unless ``COMPRESS`` is off. Call before anything else adds an
    ``after_request``: Flask runs them last-added first, so this one sees the finished response.
    """
    if not app.config.get("COMPRESS", True):
        return
    # Flask-Compress must not wrap every response itself: this module chooses which.
    app.config["COMPRESS_REGISTER"] = False
    # Brotli first, at level 5: htmx 52.2 KB -> 16.5 KB in about a millisecond (zstd at its
    # default level 3, the library's first choice, gives 17.9 KB; gzip at 6 16.9 KB in 4 ms).
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "zstd", "gzip", "deflate"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.extensions[EXTENSION] = Compress(app)
    static = Compress(app)
    static.cache = StaticCache()
    static.cache_key = static_cache_key
    app.extensions[STATIC_EXTENSION] = static
    app.after_request(compress_response)
