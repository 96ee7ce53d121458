"""The rules of staff sessions and of sign-in throttling, in plain Python (docs/sessions.md).

Pure: standard library only. The caller (``umic.web.auth``) reads the rows, passes ``now``
and the configured limits, and writes what these functions decide.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import re
from datetime import datetime
from datetime import timedelta


class EndReason(enum.StrEnum):
    """Why a staff session ended (``staff_session.end_reason``)."""

    SIGNED_OUT = "signed_out"  # the user pressed "Surt"
    IDLE = "idle"  # no request for STAFF_IDLE_MINUTES
    EXPIRED = "expired"  # older than STAFF_SESSION_MAX_HOURS, however busy
    OTHER_BROWSER = "other_browser"  # its cookie came from another browser
    OTHER_NETWORK = "other_network"  # the same browser's cookie from another network
    ENDED_BY_USER = "ended_by_user"  # ended from the "my account" page
    PASSWORD_CHANGED = "password_changed"  # the password changed in another session
    ACCOUNT_DISABLED = "account_disabled"  # the account is no longer active


#: The reasons to tell the owner about at their next sign-in: someone else may have the cookie.
WARN_OWNER = frozenset({EndReason.OTHER_BROWSER, EndReason.OTHER_NETWORK})


def agent_hash(user_agent: str | None) -> str:
    """What a session remembers of the browser it began in: the whole User-Agent, hashed."""
    return hashlib.sha256((user_agent or "").encode("utf-8", "replace")).hexdigest()


def end_reason(
    created_at: datetime,
    last_seen_at: datetime,
    now: datetime,
    idle: timedelta,
    lifetime: timedelta,
) -> EndReason | None:
    """Why an open session must end now (too old, or idle too long), or None: it goes on.

    The absolute lifetime counts from ``created_at``, which nothing ever moves: using the
    session (and refreshing its cookie) never extends it.
    """
    if now - created_at > lifetime:
        return EndReason.EXPIRED
    if now - last_seen_at > idle:
        return EndReason.IDLE
    return None


def needs_touch(last_seen_at: datetime, now: datetime, every: timedelta) -> bool:
    """Whether to write ``last_seen_at`` again: at most once per ``every``, not every request.

    The idle limit is then measured to within ``every`` (a minute in an hour).
    """
    return now - last_seen_at >= every


# --- What the user's own list shows ------------------------------------------------------------

#: (pattern, name), first match wins: Edge and Opera say "Chrome" too, Chrome says "Safari".
_BROWSERS = [
    (re.compile(r"Edg(e|A|iOS)?/"), "Edge"),
    (re.compile(r"OPR/|Opera"), "Opera"),
    (re.compile(r"SamsungBrowser/"), "Samsung Internet"),
    (re.compile(r"Firefox/|FxiOS/"), "Firefox"),
    (re.compile(r"Chrome/|CriOS/|Chromium/"), "Chrome"),
    (re.compile(r"Safari/"), "Safari"),
]
_SYSTEMS = [
    (re.compile(r"Android"), "Android"),
    (re.compile(r"iPhone|iPad|iPod"), "iOS"),
    (re.compile(r"Windows"), "Windows"),
    (re.compile(r"Mac OS X|Macintosh"), "macOS"),
    (re.compile(r"CrOS"), "ChromeOS"),
    (re.compile(r"Linux|X11"), "Linux"),
]


def browser_family(user_agent: str | None) -> tuple[str | None, str | None]:
    """(browser, system) as people name them, e.g. ("Firefox", "Windows"); None if unknown."""
    agent = user_agent or ""
    browser = next((name for pattern, name in _BROWSERS if pattern.search(agent)), None)
    system = next((name for pattern, name in _SYSTEMS if pattern.search(agent)), None)
    return browser, system


def network_of(address: str | None) -> str:
    """The network a session came from, not the address: an IPv4 /24, an IPv6 /48.

    Enough for a person to recognise "the office" or "home", and less personal data kept.
    """
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network((ip, prefix), strict=False))


# --- Sign-in throttling -------------------------------------------------------------------------


def sign_in_refused(by_name_here: int, by_address: int, by_name: int, limit: int) -> bool:
    """Whether a sign-in attempt is refused unchecked, from recent failures (one window).

    - ``by_name_here``: failures for this user name from this address. ``limit`` of them
      throttle this address for this name: the attacker, not the owner elsewhere.
    - ``by_address``: failures from this address, any name. An office may mistype a few
      names; four times ``limit`` is a script.
    - ``by_name``: failures for this name from every address. This never locks the name
      (anyone could then lock anyone out): once it reaches twice ``limit`` (an attack from
      many addresses), an address that has already failed for this name waits, so each
      address of a botnet gets one guess per window; an address that has not failed (the
      owner's) is still heard.

    Unknown names count exactly like known ones: the answer never tells them apart.
    """
    if by_name_here >= limit or by_address >= limit * 4:
        return True
    return by_name >= limit * 2 and by_name_here >= 1


# --- Passwords --------------------------------------------------------------------------------

#: ASVS 2.1.1: at least 12 characters (the command line and the "my account" page).
PASSWORD_MIN_LENGTH = 12


def password_weakness(password: str, username: str) -> str | None:
    """Why a new staff password is refused ("short", "username"), or None."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return "short"
    if password.strip().casefold() == username.strip().casefold():
        return "username"
    return None
