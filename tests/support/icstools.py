"""Wrappers around the three independent iCalendar parsers used as test oracles.

See docs/invitations.md, "How the tests check invitations".

* :func:`inspect_icaljs`: ``node tools/ics-inspect.mjs`` (ical.js 2.2.1);
* :func:`libical_check`: ``/usr/bin/python3 tools/libical_check.py`` (libical 3.0 via
  Debian's python3-gi / gir1.2-ical-3.0);
* :func:`vobject_read` / :func:`vobject_start_utc`: vobject in a fresh process per file,
  because vobject caches time zones by TZID per process.

A missing tool is a visible skip locally. With ``UMIC_REQUIRE_ALL_TESTS=1`` (CI) it is a test
failure instead, so CI can never pass by skipping the oracles.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
INSPECTOR = REPO / "tools" / "ics-inspect.mjs"
LIBICAL_CHECK = REPO / "tools" / "libical_check.py"
SYSTEM_PYTHON = "/usr/bin/python3"
TIMEOUT = 60

_VOBJECT_SCRIPT = """
import json, sys, vobject
from datetime import timezone
cal = vobject.readOne(open(sys.argv[1], encoding="utf-8").read())
ev = cal.vevent
def text(name):
    prop = getattr(ev, name, None)
    return None if prop is None else str(prop.value)
attendees = [
    {"value": a.value, "cn": a.params.get("CN", [None])[0]}
    for a in ev.contents.get("attendee", [])
]
print(json.dumps({
    "start_utc": ev.dtstart.value.astimezone(timezone.utc).isoformat(),
    "end_utc": ev.dtend.value.astimezone(timezone.utc).isoformat(),
    "summary": text("summary"),
    "description": text("description"),
    "attendees": attendees,
}))
"""


def require_all() -> bool:
    """True when every oracle must run (CI): ``UMIC_REQUIRE_ALL_TESTS=1``."""
    return os.environ.get("UMIC_REQUIRE_ALL_TESTS") == "1"


def _missing(reason: str) -> NoReturn:
    if require_all():
        pytest.fail(f"{reason} (required because UMIC_REQUIRE_ALL_TESTS=1)", pytrace=False)
    pytest.skip(reason)


def _utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("expected_utc must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _run(cmd: list[str], *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, capture_output=True, text=True, encoding="utf-8", timeout=TIMEOUT, env=env
    )


def _json(proc: subprocess.CompletedProcess, what: str) -> dict[str, Any]:
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"{what} printed no JSON (exit {proc.returncode}):\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
        ) from None


# --- ical.js --------------------------------------------------------------------------------


def icaljs_available() -> str | None:
    """None when the ical.js inspector can run, else the reason it cannot."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (REPO / "node_modules" / "ical.js" / "package.json").exists():
        return "node_modules/ical.js is missing: run `npm ci` in the repository root"
    return None


def inspect_icaljs(
    path: str | os.PathLike[str], expected_utc: datetime | None = None, *, tz: str | None = None
) -> dict[str, Any]:
    """Run the ical.js inspector on ``path`` and return its JSON.

    With ``expected_utc`` the inspector itself exits 1 when ical.js computes another start;
    that becomes an ``AssertionError`` here. ``tz`` sets the process ``TZ``: a correct file
    gives the same result in any zone, a floating time moves.
    """
    reason = icaljs_available()
    if reason:
        _missing(f"ical.js inspector unavailable: {reason}")
    cmd = ["node", str(INSPECTOR), str(path)]
    if expected_utc is not None:
        cmd.append(_utc_text(expected_utc))
    env = dict(os.environ)
    if tz is not None:
        env["TZ"] = tz
    proc = _run(cmd, env=env)
    if proc.returncode != 0:
        raise AssertionError(
            f"ical.js inspector failed on {path} (exit {proc.returncode}):\n"
            f"{proc.stderr.strip()}\n{proc.stdout.strip()}"
        )
    return _json(proc, "ical.js inspector")


# --- libical --------------------------------------------------------------------------------


@functools.cache
def libical_available() -> str | None:
    """None when the system Python can import ICalGLib 3.0, else the reason it cannot."""
    if not os.path.exists(SYSTEM_PYTHON):
        return f"{SYSTEM_PYTHON} does not exist"
    probe = _run(
        [
            SYSTEM_PYTHON,
            "-c",
            "import gi; gi.require_version('ICalGLib', '3.0'); from gi.repository import ICalGLib",
        ]
    )
    if probe.returncode != 0:
        return (
            f"{SYSTEM_PYTHON} cannot import ICalGLib 3.0 "
            "(Debian packages python3-gi gir1.2-ical-3.0): " + probe.stderr.strip()[-300:]
        )
    return None


def libical_check(path: str | os.PathLike[str], *, expect_clean: bool = True) -> dict[str, Any]:
    """Run libical's parser and RFC 5546 restriction check on ``path``; return its JSON.

    With ``expect_clean`` (the default) any libical error is an ``AssertionError`` listing
    the errors. With ``expect_clean=False`` the result is returned for the caller to inspect
    (``itip_ok``, ``errors``). A parse failure is always an ``AssertionError``.
    """
    reason = libical_available()
    if reason:
        _missing(f"libical unavailable: {reason}")
    proc = _run([SYSTEM_PYTHON, str(LIBICAL_CHECK), str(path)])
    if proc.returncode == 3:
        _missing(f"libical unavailable: {proc.stdout.strip()}")
    result = _json(proc, "libical_check")
    if proc.returncode == 2 or not result.get("parsed"):
        raise AssertionError(f"libical could not parse {path}: {result}")
    if expect_clean and proc.returncode != 0:
        raise AssertionError(f"libical reports errors for {path}: {result.get('errors')}")
    return result


# --- vobject --------------------------------------------------------------------------------


def vobject_read(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``path`` with vobject in a fresh interpreter (vobject caches zones per process)."""
    proc = _run([sys.executable, "-W", "ignore", "-c", _VOBJECT_SCRIPT, str(path)])
    if proc.returncode != 0 and "No module named 'vobject'" in proc.stderr:
        _missing("vobject is not installed in this Python (pip install vobject==0.9.9)")
    if proc.returncode != 0:
        raise AssertionError(f"vobject failed on {path}:\n{proc.stderr.strip()}")
    return _json(proc, "vobject")


def vobject_start_utc(path: str | os.PathLike[str]) -> datetime:
    """The UTC start of the VEVENT in ``path`` as computed by vobject (in a fresh process)."""
    return datetime.fromisoformat(vobject_read(path)["start_utc"])
