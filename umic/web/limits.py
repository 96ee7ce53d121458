"""Abuse without puzzles: rate limits, and two quiet bot checks on the citizen's details form.

**Rate limits** (Flask-Limiter) on the pages a bot or a link guesser would hammer.

No puzzles for citizens, which shut many people out: a person never gets near these numbers,
a script does. Each rule is one bucket per client address, shared by its endpoints, with its
limits in configuration (``RATELIMIT_*``, e.g. ``"20 per minute;200 per day"``):

- ``RATELIMIT_BOOKING``: sending the details and confirming (POST), the steps that store data
  and send e-mail; the mailbox's send (POST ``/bustia/...``) has the same numbers in a bucket
  of its own;
- ``RATELIMIT_MANAGE``: every request to a manage link ``/cita/<token>...`` (guessing links,
  rescheduling over and over);
- ``RATELIMIT_TOKEN_PAGES``: the survey, document-upload and follow (``/seguiment/``) links;
- ``RATELIMIT_SIGN_IN``: failed staff sign-ins (POST ``/entra``) from one address; successful
  ones are not counted, so an office behind one address is never locked out by its own staff.

The same views registered under a second name (the embedded booking) share the bucket. The
language switch, which posts a page's form only to show it again (``umic.web.i18n``), is neither
a send nor a sign-in attempt: it is not counted there (it is on manage and token links, where
anything might be a guess).

The client is ``request.remote_addr``: behind a reverse proxy, ``PROXY_COUNT`` (ProxyFix)
makes it the citizen's address. IPv6 addresses count by their /64 network, the block one
home or phone gets. Over a limit: the Catalan 429 page with ``Retry-After``.

Counters live in ``RATELIMIT_STORAGE_URI``: ``memory://`` is per process, right for one
process; with several (gunicorn workers, servers) use a shared store such as
``redis://host:6379`` (needs the ``redis`` package) or ``memcached://host:11211``.

**Bots on the details form**, again without puzzles: a honeypot field that
people never meet (hidden by CSS, out of the tab order and of the accessibility tree, a name
no autofill knows), and a signed "shown at" time: a first submit sooner than
``BOOKING_MIN_FILL_SECONDS`` after the form appeared is not a person typing. Either way the
form comes back once, with everything typed, and nothing is stored; the message
(``too_fast_message``) says plainly what happened and to press the button again.

**What a script gets anyway** is bounded in the database, not here: per-day caps on new
bookings per e-mail address and per client network (``umic.booking.service``, keys from
``client_network_key``), which hold across processes where these in-memory counters do not.

Why: docs/accessibility.md, "Abuse protection that spares people", and docs/booking-abuse.md.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from flask import Response
from flask import current_app
from flask import make_response
from flask import render_template
from flask import request
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter import RateLimitExceeded
from itsdangerous import BadSignature
from itsdangerous import URLSafeSerializer

from ..core import abuse
from .i18n import switching_language

#: Where the app's limiter is kept (``app.extensions``): one per app, never shared.
EXTENSION = "umic.limiter"


def address_key(address: str | None) -> str:
    """The bucket of a client address: IPv4 as is, IPv6 by its /64 network."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_key() -> str:
    return address_key(request.remote_addr)


def client_network_key() -> str:
    """The client's network (IPv4 /24, IPv6 /56) as a keyed hash, for the per-day booking cap
    (``umic.core.abuse``: why those prefixes, why a hash)."""
    return abuse.network_key(request.remote_addr, current_app.config["SECRET_KEY"])


def _failed(response: Response) -> bool:
    """A sign-in that did not end in a redirect (the form again, or the throttled page)."""
    return not 300 <= response.status_code < 400


@dataclass(frozen=True)
class Rule:
    """One bucket: a configuration key, the views it covers, and which methods count."""

    config_key: str
    scope: str
    endpoints: tuple[str, ...]
    methods: tuple[str, ...] | None = None  # None: every method
    deduct_when: Callable[[Response], bool] | None = None
    exempt_when: Callable[[], bool] | None = None


RULES = (
    Rule(
        "RATELIMIT_BOOKING",
        "booking",
        ("booking.details", "booking.check"),
        methods=("POST",),
        exempt_when=switching_language,
    ),
    # An in-person time at a visit of the mobile unit (umic.visits): the booking's steps.
    Rule(
        "RATELIMIT_BOOKING",
        "visits",
        ("visits.details", "visits.check"),
        methods=("POST",),
        exempt_when=switching_language,
    ),
    # The mailbox's send (umic.mailbox): the booking's numbers, a bucket of its own.
    Rule(
        "RATELIMIT_BOOKING",
        "mailbox",
        ("mailbox.index", "mailbox.town"),
        methods=("POST",),
        exempt_when=switching_language,
    ),
    Rule(
        "RATELIMIT_MANAGE",
        "manage",
        (
            "booking.manage",
            "booking.calendar_file",
            "booking.reschedule",
            "booking.reschedule_confirm",
            "booking.cancel",
        ),
    ),
    Rule(
        "RATELIMIT_TOKEN_PAGES",
        "token-pages",
        (
            "surveys.survey",
            "surveys.thanks",
            "uploads.upload",
            "follow.status",
            "mediation.company_page",
        ),
    ),
    Rule(
        "RATELIMIT_SIGN_IN",
        "sign-in",
        ("auth.login",),
        methods=("POST",),
        deduct_when=_failed,
        exempt_when=switching_language,
    ),
)


def _limit_from_config(key: str) -> Callable[[], str]:
    # Read on each request: a change of configuration (or a test's) applies at once.
    return lambda: current_app.config[key]


def limiter_of(app: Flask) -> Limiter:
    return app.extensions[EXTENSION]


def apply_rules(app: Flask, limiter: Limiter) -> None:
    """Wrap each rule's views (and the same views under any other endpoint) in its limit."""
    for rule in RULES:
        decorator = limiter.shared_limit(
            _limit_from_config(rule.config_key),
            scope=rule.scope,
            methods=list(rule.methods) if rule.methods else None,
            deduct_when=rule.deduct_when,
            exempt_when=rule.exempt_when,
        )
        # One wrapper per view, put in place under every name the view has (booking.details
        # and embed.details are one function): one limit, one bucket.
        wrapped = {}
        for endpoint in rule.endpoints:
            view = app.view_functions[endpoint]
            wrapped[view] = decorator(view)
        for endpoint, view in list(app.view_functions.items()):
            if view in wrapped:
                app.view_functions[endpoint] = wrapped[view]


def retry_after_seconds(limiter: Limiter) -> int:
    """Seconds until the breached limit lets this client in again (at least 1)."""
    breached = limiter.current_limit
    if breached is None:
        return 60
    return max(1, int(breached.reset_at - time.time()))


def too_many_requests(error: RateLimitExceeded):
    """The Catalan "Massa intents" page, with Retry-After for browsers and scripts."""
    seconds = retry_after_seconds(limiter_of(current_app))
    minutes = -(-seconds // 60)  # rounded up: never "0 minutes"
    response = make_response(
        render_template("errors/429.html", error=error, retry_after=seconds, minutes=minutes),
        429,
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def init_app(app: Flask) -> None:
    """Create this app's limiter and wrap the views; call after the blueprints."""
    limiter = Limiter(client_key, key_prefix="umic", headers_enabled=False)
    limiter.init_app(app)  # reads RATELIMIT_ENABLED and RATELIMIT_STORAGE_URI
    app.extensions[EXTENSION] = limiter
    if limiter.enabled:
        apply_rules(app, limiter)
        app.register_error_handler(RateLimitExceeded, too_many_requests)


# --- Bots on the details form (plain values in and out) ------------------------------------------

_STAMP_SALT = "umic.form-shown-at"
#: A form left open longer than this comes back once with a fresh stamp (nothing is lost).
STAMP_MAX_AGE = 24 * 3600


def form_stamp(secret: str, now: float) -> str:
    """A signed "this form was shown at ``now``" for a hidden field."""
    return URLSafeSerializer(secret, salt=_STAMP_SALT).dumps(round(now, 3))


def stamp_age(secret: str, stamp: str | None, now: float) -> float | None:
    """Seconds since the stamp was made; None when it is missing or not one of ours."""
    if not stamp or len(stamp) > 200:
        return None
    try:
        shown = URLSafeSerializer(secret, salt=_STAMP_SALT).loads(stamp)
    except BadSignature:
        return None
    if isinstance(shown, bool) or not isinstance(shown, int | float):
        return None
    age = now - shown
    # A stamp kept and replayed by a script is worth no more than none at all.
    return age if age <= STAMP_MAX_AGE else None


def too_fast_message(button: str) -> str:
    """What a person whose form was refused by these checks reads (review finding M5).

    Nothing is wrong with their data, so the message says what happened and the one thing to
    do, and the form comes back with everything they typed. ``button`` is the button's own
    words ("Continua", "Envia"). One wording for every public form (booking details, the
    mailbox, the mobile unit's visits), so the citizen meets the same sentence everywhere.
    """
    return _(
        "Heu enviat el formulari molt de pressa i, per protegir el servei dels enviaments "
        "automàtics, no l'hem desat. Les dades que heu escrit continuen aquí: comproveu-les "
        "i torneu a prémer «%(button)s».",
        button=button,
    )


def looks_automated(honeypot: str | None, age: float | None, min_seconds: float) -> bool:
    """The hidden field was filled, or the form came back faster than a person can fill it."""
    if (honeypot or "").strip():
        return True
    return min_seconds > 0 and (age is None or age < min_seconds)
