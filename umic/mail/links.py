"""Link tokens in e-mails: found, masked at rest, spliced back in only to send.

Every link the app e-mails to a citizen that opens something by itself (manage a booking,
send documents, answer the survey: any page whose URL carries ``<token>``) is a bearer
token. The database keeps only the SHA-256 of each token (``access_token``), and the outbox
must not undo that: ``outbox_message.body_text``/``body_html`` hold the bodies with every
token masked, its first :data:`KEEP` characters and then :data:`MASK`::

    https://cites.example/cita/wJH2••••••?lang=es

That is also what the coordinators' outbox page, its ``.eml`` and its HTML view show, so
they see which kind of link went out without being able to open it.

The tokens themselves, which a send (and each retry) needs, are kept in
``outbox_message.link_tokens`` (a JSON list) only while the message may still be sent. The
same transaction that marks it sent, failed for good or superseded sets the column to NULL
(``umic.mail.outbox``; each worker pass also wipes any left on a message that is no longer
pending or sending). So a copy of the database shows live tokens only for messages that have
not gone out yet, and only in that one column; once a message is gone, nothing in the
database opens its links. A failed message whose tokens were wiped cannot be sent as it
was: a staff retry issues fresh links to the same pages (``link_refs`` keeps each masked
form with the token's SHA-256, which opens nothing) and puts them in the masked places.

Tokens are found, not declared: every absolute link on ``BASE_URL`` in a body is matched
against the app's routes, and any route with a ``token`` argument counts. A new kind of
link therefore cannot be forgotten.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from flask import current_app
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RoutingException

#: What replaces a token after its first KEEP characters (never part of a real token).
MASK = "\u2022" * 6
KEEP = 4

# Characters a path can hold in our links (tokens are URL-safe base64).
_PATH = r"(/[A-Za-z0-9._~%!$'()*+,;=:@/-]*)"


def find_tokens(*bodies: str) -> list[str]:
    """The tokens of the app's links in ``bodies``, in order, without repeats (app context)."""
    base_url = current_app.config["BASE_URL"].rstrip("/")
    base = urlsplit(base_url)
    adapter = current_app.url_map.bind(
        base.netloc or "localhost", script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    pattern = re.compile(re.escape(base_url) + _PATH)
    found: list[str] = []
    for body in bodies:
        for match in pattern.finditer(body or ""):
            try:
                _endpoint, args = adapter.match(match.group(1), method="GET")
            except (HTTPException, RoutingException):
                continue
            token = args.get("token")
            if isinstance(token, str) and token and token not in found:
                found.append(token)
    return found


def masked(token: str) -> str:
    return token[:KEEP] + MASK


def mask(text: str, tokens: Iterable[str]) -> str:
    """``text`` with every token replaced by its masked form."""
    for token in tokens:
        text = text.replace(token, masked(token))
    return text


def unmask(text: str, tokens: Iterable[str]) -> str:
    """The reverse of :func:`mask`: the real tokens back in their places."""
    for token in tokens:
        text = text.replace(masked(token), token)
    return text


def check_tokens(tokens: list[str]) -> None:
    """Refuse tokens :func:`unmask` could not tell apart, or too short to mask."""
    forms = [masked(token) for token in tokens]
    if len(set(forms)) != len(forms) or any(len(token) <= KEEP for token in tokens):
        raise ValueError("link tokens that cannot be masked apart")


def dump(tokens: list[str]) -> str | None:
    return json.dumps(tokens) if tokens else None


def load(stored: str | None) -> list[str]:
    return list(json.loads(stored)) if stored else []


def refs(tokens: list[str]) -> str | None:
    """What is kept for good about the links: each masked form and the token's SHA-256.

    A hash opens nothing (``access_token`` holds the same); it lets a retry of a message
    whose tokens were wiped find the pages they opened and issue fresh links to them.
    """
    pairs = [[masked(t), hashlib.sha256(t.encode("utf-8")).hexdigest()] for t in tokens]
    return json.dumps(pairs) if pairs else None


def load_refs(stored: str | None) -> list[tuple[str, str]]:
    return [(pair[0], pair[1]) for pair in json.loads(stored)] if stored else []


def has_masked_links(*bodies: str) -> bool:
    return any(MASK in (body or "") for body in bodies)
