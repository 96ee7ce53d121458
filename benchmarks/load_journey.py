"""A load test of the citizen's whole booking journey, against gunicorn on PostgreSQL.

    .venv/bin/python benchmarks/load_journey.py --citizens 200 --ramp 60 --duration 300 \\
        --workers 4 --database postgresql+psycopg://postgres@127.0.0.1:5432/umic_load_a
    .venv/bin/python benchmarks/load_journey.py --url http://127.0.0.1:8000 --database ...

By default the script prepares the scratch database (created when missing; ``--fresh`` wipes
one that has data), migrates it with ``flask db upgrade`` and loads the demo data, then starts
gunicorn itself (``wsgi:app``, ``--workers`` sync workers) configured the way production is,
by ``UMIC_*`` environment variables: a random secret key, ``UMIC_PROXY_COUNT=1`` and e-mail
kept in the outbox (no mail worker runs, so nothing is sent and no SMTP server is needed).
gunicorn is stopped however the run ends. ``--url`` aims at a server already running instead
(then ``--database``, if given, is only read for the checks). NEVER point it at a real
database: ``--fresh`` drops everything, and the run books hundreds of invented people.

**The citizens.** ``--citizens`` threads, each one person with their own e-mail address (the
per-address booking caps stay on) and their own client address. All of them come from this
machine, so they would share one address and one /24 network, and the per-address rate limits
and the per-network daily cap (``BOOKING_MAX_NEW_PER_NETWORK_PER_DAY``) would stop the run
after a dozen bookings. The app is meant to run behind a reverse proxy: with
``UMIC_PROXY_COUNT=1`` it trusts one ``X-Forwarded-For`` hop (werkzeug's ProxyFix), as it does in
production. Each citizen sends its own address there, each in a /24 of its own, so every
limit and cap stays at its default and applies to each citizen as it would to a person.

They start spread over the first ``--ramp`` seconds and all want a time in the same week (the
first week from tomorrow with at least three days offered), as happens when a town announces
the service. Each walks the journey as a browser does, with htmx:

1. the home page ``/reserva/``, then the town search as htmx asks for it (``HX-Request``);
2. the town page; then the day-times fragment of a day of that week (``HX-Request``);
3. the details step (GET with the chosen time), then, after a human pause longer than the
   form's minimum fill time (``BOOKING_MIN_FILL_SECONDS``, the anti-bot check), the details
   POST with every field of the form and its CSRF token as the page gave them;
4. the check page, the confirm POST and the confirmation (the manage page).

If the time is taken meanwhile (the details step sends them back to the day, or the form or the
confirm says it is gone), they choose another time of the day they are shown, or another day,
and go on, as a person would: that is counted, not an error. When the week is full they take
the first later day offered. Pauses between steps are random and scale with ``--duration``, so
the journeys fill the run (a person takes a few minutes; the smoke run squeezes it into seconds).

**The report** (markdown on stdout): requests per second, per step the count, p50 / p95 / p99 in
milliseconds and the errors (any unexpected status or page, or a failed connection), the times
taken and chosen again, and the checks done in the database afterwards: each confirmed
booking has exactly one technician and its ``booking_claim`` rows are exactly the units of its
time, held by that technician; no two active bookings of a technician overlap; each booking of
the run has exactly one invitation to the citizen (one outbox message carrying a
``METHOD:REQUEST`` calendar part) and one to its technician, and each citizen exactly one
booking. The exit status is 1 on any error or failed check.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from umic.core.scheduling import claim_units  # noqa: E402

STEPS = [
    "home",
    "search",
    "town",
    "day_times",
    "details_get",
    "details_post",
    "check",
    "confirm",
    "confirmation",
    "times_again",
]
STEP_NAMES = {
    "home": "home `/reserva/`",
    "search": "town search (htmx)",
    "town": "town page",
    "day_times": "day-times fragment (htmx)",
    "details_get": "details GET",
    "details_post": "details POST",
    "check": "check page",
    "confirm": "confirm POST",
    "confirmation": "confirmation (manage page)",
    "times_again": "the day again, after a time was taken",
}
#: How long one attempt may wait for gunicorn: a sync worker answers one request at a time.
REQUEST_TIMEOUT = 120
#: A citizen who has had this many times taken from them gives up (counted as an error).
MAX_TRIES = 25
EMAIL_DOMAIN = "example.net"


# --- One browser: cookies, headers, timings --------------------------------------------------


@dataclass
class Sample:
    step: str
    ms: float
    status: int
    error: str = ""
    at: float = 0.0  # when it started (time.monotonic())


@dataclass
class Stats:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    first_start: float | None = None
    last_end: float = 0.0

    def add(self, sample: Sample, started: float, ended: float) -> None:
        with self.lock:
            self.samples.append(sample)
            if self.first_start is None or started < self.first_start:
                self.first_start = started
            self.last_end = max(self.last_end, ended)


class Browser:
    """One citizen's browser: its own cookies and client address; one connection a request
    (gunicorn's sync workers close the connection after each response anyway)."""

    def __init__(self, base_url: str, address: str, stats: Stats):
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.address = address
        self.cookies: dict[str, str] = {}
        self.stats = stats
        self.current_url = f"{self.origin}/reserva/"

    def request(
        self,
        step: str,
        method: str,
        path: str,
        *,
        form: dict | None = None,
        htmx_target: str | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> tuple[int, dict[str, str], str]:
        headers = {
            "Host": f"{self.host}:{self.port}",
            "User-Agent": "umic-load-journey",
            "Accept": "text/html,application/xhtml+xml",
            "Accept-Language": "ca",
            "X-Forwarded-For": self.address,
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
            headers["Sec-Fetch-Site"] = "same-origin"
            headers["Referer"] = self.current_url
        if htmx_target:  # what htmx 2 sends with every request it makes
            headers["HX-Request"] = "true"
            headers["HX-Target"] = htmx_target
            headers["HX-Current-URL"] = self.current_url
        started = time.monotonic()
        status, response_headers, text_, error = 0, {}, "", ""
        try:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                raw = response.read()
                status = response.status
                response_headers = {k.lower(): v for k, v in response.getheaders()}
                for name, value in response.getheaders():
                    if name.lower() == "set-cookie":
                        self._keep_cookie(value)
                text_ = raw.decode("utf-8", "replace")
            finally:
                connection.close()
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
        ended = time.monotonic()
        if not error and status not in expect:
            error = f"HTTP {status} (expected {'/'.join(map(str, expect))})"
        sample = Sample(step, (ended - started) * 1000, status, error, started)
        self.stats.add(sample, started, ended)
        if error:
            raise JourneyError(step, error)
        if method == "GET" and not htmx_target and status == 200:
            self.current_url = self.origin + path
        return status, response_headers, text_

    def _keep_cookie(self, header: str) -> None:
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        lowered = attributes.lower()
        if not value or "max-age=0" in lowered or "expires=thu, 01 jan 1970" in lowered:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value


class JourneyError(Exception):
    def __init__(self, step: str, message: str):
        super().__init__(f"{step}: {message}")
        self.step = step


# --- Reading the pages ----------------------------------------------------------------------


class PageReader(HTMLParser):
    """The inputs (name, value, type) and the town links of a page or fragment."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.inputs: list[dict[str, str]] = []
        self.town_links: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        values = {k: (v or "") for k, v in attrs}
        if tag in ("input", "textarea"):
            self.inputs.append(values)
        elif tag == "a" and "town-link" in values.get("class", "").split():
            self.town_links.append(values.get("href", ""))

    def values(self, name: str) -> list[str]:
        return [i.get("value", "") for i in self.inputs if i.get("name") == name]

    def value(self, name: str) -> str:
        found = self.values(name)
        return found[0] if found else ""


def location_path(headers: dict[str, str]) -> str:
    location = headers.get("location", "")
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- One citizen ----------------------------------------------------------------------------


@dataclass
class Outcome:
    index: int
    email: str
    booked_path: str = ""
    slot: str = ""
    taken: int = 0  # times the chosen time was taken by someone else (chosen again)
    later_week: bool = False  # the week was full: a later day was taken
    no_times: bool = False  # nothing left in the whole horizon
    error: str = ""


@dataclass
class Plan:
    base_url: str
    towns: list[tuple[str, str]]  # (slug, name)
    week: list[str]  # ISO dates of the target week
    ramp: float
    journey_seconds: float  # the mean length of one journey, pauses included
    min_fill: float
    citizens: int
    seed: int
    same_day: bool = False  # everyone wants the week's first day (more collisions)


class Citizen:
    def __init__(self, index: int, plan: Plan, stats: Stats, run_id: str):
        self.index = index
        self.plan = plan
        self.rng = random.Random(plan.seed * 100_003 + index)
        # A /24 of its own for each citizen (10.A.B.0/24), so the per-network cap sees people.
        address = f"10.{index // 250 + 1}.{index % 250 + 1}.{self.rng.randrange(2, 250)}"
        self.browser = Browser(plan.base_url, address, stats)
        self.slug, self.town_name = plan.towns[index % len(plan.towns)]
        self.outcome = Outcome(index, f"load-{run_id}-{index:04d}@{EMAIL_DOMAIN}")
        self.has_draft = False

    def pause(self, share: float) -> None:
        """A person reading or typing: ``share`` of the journey, give or take half."""
        time.sleep(self.plan.journey_seconds * share * self.rng.uniform(0.5, 1.5))

    def run(self, start_at: float) -> Outcome:
        time.sleep(max(0.0, start_at - time.monotonic()))
        try:
            self.walk()
        except JourneyError as exc:
            self.outcome.error = str(exc)
        except Exception as exc:  # a bug here must show in the report, not kill the thread
            self.outcome.error = f"{type(exc).__name__}: {exc}"
        return self.outcome

    def walk(self) -> None:
        b = self.browser
        b.request("home", "GET", "/reserva/")
        self.pause(0.04)
        query = self.town_name[: max(4, len(self.town_name) // 2)]
        _, _, html = b.request(
            "search", "GET", "/reserva/?" + urlencode({"q": query}), htmx_target="town-results"
        )
        links = PageReader(html).town_links
        town_path = f"/reserva/{self.slug}/"
        if town_path not in links:
            raise JourneyError("search", f"{self.town_name!r} not among the results of {query!r}")
        self.pause(0.04)
        _, _, html = b.request("town", "GET", town_path)
        page = PageReader(html)
        if not page.values("dia"):
            self.outcome.no_times = True
            return
        self.pause(0.06)
        slot, day = self.choose_from_fragment(page)
        if slot is None:
            self.outcome.no_times = True
            return
        for _ in range(MAX_TRIES):
            result = self.book(slot, day)
            if result is None:
                return
            self.outcome.taken += 1
            slot, day = result
            if slot is None:
                self.outcome.no_times = True
                return
        raise JourneyError("confirm", f"gave up after {MAX_TRIES} times were taken")

    def pick_day(self, days: list[str], avoid: set[str]) -> str | None:
        days = [d for d in days if d not in avoid]
        in_week = [d for d in days if d in self.plan.week]
        if in_week:
            return min(in_week) if self.plan.same_day else self.rng.choice(in_week)
        later = [d for d in days if d > self.plan.week[-1]]
        if later:
            self.outcome.later_week = True
            return later[0]
        return days[0] if days else None

    def choose_from_fragment(self, page: PageReader) -> tuple[str | None, str | None]:
        """Choose a day of the town page's list, ask for its times as htmx does, pick one."""
        tried: set[str] = set()
        while True:
            day = self.pick_day(page.values("dia"), tried)
            if day is None:
                return None, None
            tried.add(day)
            query = {"dia": day}
            if page.value("des"):
                query = {"des": page.value("des"), "dia": day}
            path = f"/reserva/{self.slug}/?" + urlencode(query)
            _, _, html = self.browser.request("day_times", "GET", path, htmx_target="times")
            slots = PageReader(html).values("slot")
            if slots:
                self.pause(0.04)
                return self.rng.choice(slots), day

    def times_again(self, path: str, day: str | None) -> tuple[str | None, str | None]:
        """Back on the day's page after a time was taken: another time, or another day."""
        _, _, html = self.browser.request("times_again", "GET", path)
        page = PageReader(html)
        self.pause(0.02)
        slots = page.values("slot")
        if slots:
            return self.rng.choice(slots), day
        if not page.values("dia"):
            return None, None
        return self.choose_from_fragment(page)

    def day_page(self, day: str | None) -> str:
        query = {"dia": day, "ocupada": "1"} if day else {}
        return f"/reserva/{self.slug}/" + (f"?{urlencode(query)}" if query else "")

    def book(self, slot: str, day: str | None) -> tuple[str | None, str | None] | None:
        """From the details step to the confirmation. None when booked; else the next
        (slot, day) to try because this one was taken."""
        b = self.browser
        base = f"/reserva/{self.slug}"
        status, headers, html = b.request(
            "details_get", "GET", f"{base}/dades?" + urlencode({"slot": slot}), expect=(200, 303)
        )
        if status == 303:  # taken while the citizen looked at the times
            return self.times_again(location_path(headers), day)
        form = PageReader(html)
        # Typing, longer than the anti-bot minimum (a browser with a draft is not timed, and
        # its form comes filled in). Sent back to choose another time before any draft was
        # saved, the form is empty again: the browser's autofill types it faster this time.
        if self.has_draft:
            self.pause(0.03)
        else:
            share = 0.08 if self.outcome.taken else 0.4
            pause = self.plan.journey_seconds * share * self.rng.uniform(0.6, 1.4)
            time.sleep(max(self.plan.min_fill, pause))
        data = {
            "csrf_token": form.value("csrf_token"),
            "slot": form.value("slot"),
            "shown_at": form.value("shown_at"),
            "name": f"Ciutadana Prova {self.index}",
            "email": self.outcome.email,
            "phone": f"6{self.index:08d}",
            "address": f"Carrer Major, {self.index + 1}, {self.town_name}",
            "description": "L'empresa de telefonia m'ha cobrat un servei que no vaig demanar.",
            "consent": "y",
            "comentari": "",
        }
        if not data["csrf_token"] or not data["shown_at"] or data["slot"] != slot:
            raise JourneyError("details_get", "the form lacks its token, stamp or time")
        status, headers, html = b.request(
            "details_post", "POST", f"{base}/dades", form=data, expect=(200, 303)
        )
        if status == 200:
            if "ja no està disponible" in html:  # the form says the time has gone
                return self.times_again(self.day_page(day), day)
            raise JourneyError("details_post", "the form came back: " + error_text(html))
        if location_path(headers) != f"{base}/comprova":
            raise JourneyError("details_post", f"sent to {location_path(headers)}")
        self.has_draft = True
        self.pause(0.03)
        _, _, html = b.request("check", "GET", f"{base}/comprova")
        token = PageReader(html).value("csrf_token")
        if self.outcome.email not in html or not token:
            raise JourneyError("check", "the check page does not show the details")
        self.pause(0.08)
        status, headers, html = b.request(
            "confirm", "POST", f"{base}/comprova", form={"csrf_token": token}, expect=(303,)
        )
        target = location_path(headers)
        if target.startswith("/cita/"):
            _, _, html = b.request("confirmation", "GET", target)
            if "Cita confirmada" not in html:
                raise JourneyError("confirmation", "no 'Cita confirmada' on the manage page")
            self.outcome.booked_path = target
            self.outcome.slot = slot
            return None
        if "ocupada=1" in target:  # someone confirmed that time first
            return self.times_again(target, day)
        raise JourneyError("confirm", f"sent to {target}")


def error_text(html: str) -> str:
    found = re.findall(r'class="error-message"[^>]*>(.*?)<', html, re.S)
    found += re.findall(r'<li><a href="#[^"]*">(.*?)</a>', html)
    return "; ".join(s.strip() for s in found)[:200] or "(no message)"


# --- The scratch database and the server ----------------------------------------------------


def admin_engine(url: str):
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def prepare_database(url: str, fresh: bool, env: dict[str, str]) -> None:
    name = make_url(url).database
    admin = admin_engine(url)
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        )
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = connection.scalar(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        )
        if tables and not fresh:
            raise SystemExit(f"{name} already has tables: pass --fresh to wipe it (scratch only!)")
        if tables:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    flask = [sys.executable, "-m", "flask", "--app", "umic"]
    for command in (["db", "upgrade"], ["demo", "load"]):
        subprocess.run(flask + command, cwd=ROOT, env=env, check=True, capture_output=True)


def drop_database(url: str) -> None:
    name = make_url(url).database
    admin = admin_engine(url)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(workers: int, port: int, env: dict[str, str]) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
        "--backlog",
        "2048",
        "wsgi:app",
    ]
    log = open(env["LOAD_GUNICORN_LOG"], "wb")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_file = log  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited ({process.returncode}): see {log.name}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/reserva/")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    stop_gunicorn(process)
    raise SystemExit("gunicorn did not answer within 60 s")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    process.log_file.close()  # type: ignore[attr-defined]


# --- Before the run: towns and the week -------------------------------------------------------


def bookable_towns(url: str | None, names: str | None) -> list[tuple[str, str]]:
    if names:
        return [(s.strip(), s.strip().replace("-", " ").title()) for s in names.split(",")]
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT slug, name FROM municipality WHERE enrolled_on IS NOT NULL "
                "AND enrolled_on <= CURRENT_DATE AND NOT has_omic ORDER BY name"
            )
        ).all()
    engine.dispose()
    return [(slug, name) for slug, name in rows]


def target_week(base_url: str, slug: str) -> list[str]:
    """The first week (Monday to Sunday) from tomorrow with at least three days offered."""
    stats = Stats()
    browser = Browser(base_url, "10.250.250.250", stats)
    _, _, html = browser.request("probe", "GET", f"/reserva/{slug}/")
    offered = PageReader(html).values("dia")
    days = [date.fromisoformat(d) for d in offered]
    if not days:
        raise SystemExit(f"/reserva/{slug}/ offers no days: nothing to book")
    tomorrow = min(days) + timedelta(days=1)
    weeks: dict[date, list[date]] = defaultdict(list)
    for d in days:
        weeks[d - timedelta(days=d.weekday())].append(d)
    for monday in sorted(weeks):
        if len([d for d in weeks[monday] if d >= tomorrow]) >= 3:
            return [(monday + timedelta(days=i)).isoformat() for i in range(7)]
    monday = sorted(weeks)[0]
    return [(monday + timedelta(days=i)).isoformat() for i in range(7)]


# --- After the run: the database checks ------------------------------------------------------


def integrity_checks(url: str, run_id: str, outcomes: list[Outcome]) -> list[tuple[str, bool, str]]:
    checks: list[tuple[str, bool, str]] = []
    engine = create_engine(url)
    with engine.connect() as c:
        pattern = f"load-{run_id}-%@{EMAIL_DOMAIN}"
        booked = {o.email for o in outcomes if o.booked_path}
        rows = c.execute(
            text(
                "SELECT citizen_email, count(*) FROM booking WHERE citizen_email LIKE :p GROUP BY 1"
            ),
            {"p": pattern},
        ).all()
        per_email = dict(rows)
        twice = sorted(e for e, n in per_email.items() if n != 1)
        checks.append(
            (
                "each citizen who saw the confirmation has exactly one booking, "
                "no one else has any",
                set(per_email) == booked and not twice,
                f"{len(booked)} confirmed in the browser, {sum(per_email.values())} bookings "
                f"of the run in the database" + (f"; more than one: {twice[:3]}" if twice else ""),
            )
        )
        confirmed = c.execute(
            text(
                "SELECT b.id, b.technician_id, b.start_utc, b.end_utc, s.role "
                "FROM booking b LEFT JOIN staff_user s ON s.id = b.technician_id "
                "WHERE b.status = 'confirmed'"
            )
        ).all()
        claims: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
        for booking_id, technician_id, unit in c.execute(
            text("SELECT booking_id, technician_id, unit_start FROM booking_claim")
        ):
            claims[booking_id].append((technician_id, unit))
        no_technician = [r.id for r in confirmed if r.technician_id is None or r.role is None]
        checks.append(
            (
                "every confirmed booking has exactly one technician (a member of staff)",
                not no_technician,
                f"{len(confirmed)} confirmed bookings in the database (demo data and run)"
                + (f"; without: {no_technician[:5]}" if no_technician else ""),
            )
        )
        wrong_claims = []
        for r in confirmed:
            expected = sorted(
                (r.technician_id, u) for u in claim_units(as_utc(r.start_utc), as_utc(r.end_utc))
            )
            held = sorted((t, as_utc(u)) for t, u in claims.get(r.id, []))
            if held != expected:
                wrong_claims.append(r.id)
        cancelled_with_claims = c.scalar(
            text(
                "SELECT count(DISTINCT b.id) FROM booking b JOIN booking_claim k "
                "ON k.booking_id = b.id WHERE b.status = 'cancelled'"
            )
        )
        checks.append(
            (
                "each confirmed booking's booking_claim rows are exactly its time's units, "
                "held by its technician; no cancelled booking holds any",
                not wrong_claims and not cancelled_with_claims,
                f"{sum(len(v) for v in claims.values())} claims"
                + (f"; wrong for bookings {wrong_claims[:5]}" if wrong_claims else "")
                + (
                    f"; {cancelled_with_claims} cancelled with claims"
                    if cancelled_with_claims
                    else ""
                ),
            )
        )
        overlaps = c.execute(
            text(
                "SELECT a.id, b.id FROM booking a JOIN booking b "
                "ON a.technician_id = b.technician_id AND a.id < b.id "
                "AND a.start_utc < b.end_utc AND b.start_utc < a.end_utc "
                "WHERE a.status IN ('confirmed', 'attended', 'no_show') "
                "AND b.status IN ('confirmed', 'attended', 'no_show')"
            )
        ).all()
        checks.append(
            (
                "no two active bookings of a technician overlap",
                not overlaps,
                f"{len(overlaps)} overlapping pairs" + (f": {overlaps[:3]}" if overlaps else ""),
            )
        )
        invitations = c.execute(
            text(
                "SELECT b.id, b.citizen_email, t.email AS tech_email, m.recipient, "
                "m.ics_method, m.ics "
                "FROM booking b JOIN staff_user t ON t.id = b.technician_id "
                "LEFT JOIN outbox_message m ON m.booking_id = b.id "
                "WHERE b.citizen_email LIKE :p"
            ),
            {"p": pattern},
        ).all()
        to_citizen: Counter = Counter()
        to_technician: Counter = Counter()
        others = []
        for r in invitations:
            if r.recipient is None:
                continue
            request_ = r.ics is not None and b"METHOD:REQUEST" in bytes(r.ics)
            if request_ and r.ics_method == "REQUEST":
                if r.recipient == r.citizen_email:
                    to_citizen[r.id] += 1
                elif r.recipient == r.tech_email:
                    to_technician[r.id] += 1
            elif r.ics is not None:
                others.append(r.id)
        ids = {r.id for r in invitations}
        bad_citizen = sorted(i for i in ids if to_citizen[i] != 1)
        bad_technician = sorted(i for i in ids if to_technician[i] != 1)
        checks.append(
            (
                "each booking of the run has exactly one invitation to the citizen "
                "(an outbox message with a METHOD:REQUEST calendar part) and one to its technician",
                bool(ids) and not bad_citizen and not bad_technician and not others,
                f"{sum(to_citizen.values())} to citizens, {sum(to_technician.values())} to "
                f"technicians for {len(ids)} bookings"
                + (
                    f"; wrong for {bad_citizen[:5]} {bad_technician[:5]}"
                    if bad_citizen or bad_technician
                    else ""
                )
                + (f"; other calendar messages for {others[:5]}" if others else ""),
            )
        )
    engine.dispose()
    return checks


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- The report ------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def report(args, plan, stats, outcomes, checks, elapsed, machine) -> tuple[str, bool]:
    lines = []
    samples = stats.samples
    errors = [s for s in samples if s.error]
    unfinished = [o for o in outcomes if o.error]
    span = (stats.last_end - (stats.first_start or stats.last_end)) or 1.0
    lines.append("### Load test of the booking journey\n")
    setting = (
        f"{args.citizens} citizens starting over {args.ramp:g} s, journeys paced to fill "
        f"{args.duration:g} s; gunicorn {args.workers} sync workers"
        if not args.url
        else f"{args.citizens} citizens over {args.ramp:g} s against {args.url}"
    )
    lines.append(
        f"{setting}; target week {plan.week[0]} to {plan.week[-1]}; {len(plan.towns)} towns. "
        f"{machine}. Wall time {elapsed:.0f} s.\n"
    )
    windows = Counter(int((s.at - (stats.first_start or 0)) // 10) for s in samples)
    peak = max(windows.values(), default=0) / 10
    lines.append(
        f"**{len(samples)} requests in {span:.0f} s: {len(samples) / span:.1f} requests/s** "
        f"(busiest 10 s: {peak:.1f} requests/s), **{len(errors)} errors**.\n"
    )
    lines.append("| step | requests | p50 ms | p95 ms | p99 ms | max ms | errors |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    by_step: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_step[s.step].append(s)
    for step in STEPS:
        group = by_step.get(step)
        if not group:
            continue
        ms = [s.ms for s in group]
        lines.append(
            f"| {STEP_NAMES[step]} | {len(group)} | {percentile(ms, 50):.0f} | "
            f"{percentile(ms, 95):.0f} | {percentile(ms, 99):.0f} | {max(ms):.0f} | "
            f"{sum(1 for s in group if s.error)} |"
        )
    all_ms = [s.ms for s in samples]
    if all_ms:
        lines.append(
            f"| **all** | {len(all_ms)} | {percentile(all_ms, 50):.0f} | "
            f"{percentile(all_ms, 95):.0f} | {percentile(all_ms, 99):.0f} | {max(all_ms):.0f} | "
            f"{len(errors)} |"
        )
    booked = [o for o in outcomes if o.booked_path]
    in_week = [o for o in booked if o.slot[:10] in plan.week]
    lines.append("")
    lines.append(
        f"Citizens: **{len(booked)} booked** ({len(in_week)} in the target week, "
        f"{sum(o.later_week for o in outcomes)} moved to a later day because the week was "
        f"full), {sum(o.no_times for o in outcomes)} found no time left, "
        f"{len(unfinished)} did not finish. "
        f"**Times taken meanwhile and chosen again: {sum(o.taken for o in outcomes)}** "
        f"(by {sum(1 for o in outcomes if o.taken)} citizens; not errors)."
    )
    if errors or unfinished:
        lines.append("")
        lines.append("Errors (the 10 most frequent):")
        reasons = Counter(o.error for o in unfinished)
        reasons.update(f"request in step {s.step}: {s.error}" for s in errors)
        for message, count in reasons.most_common(10):
            lines.append(f"- {count} × {message}")
    ok = not errors and not unfinished
    if checks:
        lines.append("")
        lines.append("| check in the database afterwards | result | detail |")
        lines.append("| --- | --- | --- |")
        for name, passed, detail in checks:
            lines.append(f"| {name} | {'pass' if passed else '**FAIL**'} | {detail} |")
            ok = ok and passed
    else:
        lines.append("\nNo database given: no checks.")
    return "\n".join(lines) + "\n", ok


def machine_line(url: str | None) -> str:
    version = ""
    if url:
        engine = create_engine(url)
        with engine.connect() as c:
            version = c.scalar(text("SHOW server_version")) or ""
        engine.dispose()
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs, PostgreSQL {version.split()[0] if version else '?'}, "
        f"Python {sys.version.split()[0]}, load average {load[0]:.1f} at the end"
    )


# --- Main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--ramp", type=float, default=60, help="seconds over which they start")
    parser.add_argument("--duration", type=float, default=300, help="seconds the journeys fill")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--database", help="SCRATCH PostgreSQL URL (postgresql+psycopg://...)")
    parser.add_argument("--url", help="an already running server: no database set-up, no gunicorn")
    parser.add_argument("--fresh", action="store_true", help="wipe the scratch database first")
    parser.add_argument("--drop", action="store_true", help="drop the scratch database at the end")
    parser.add_argument("--towns", help="comma-separated slugs (default: every bookable town)")
    parser.add_argument("--min-fill", type=float, default=2.5, help="least seconds on the form")
    parser.add_argument(
        "--same-day", action="store_true", help="all want the first day (the smoke run's clash)"
    )
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    if not args.url and not args.database:
        parser.error("give --database (a scratch PostgreSQL database) or --url")
    if args.database and not args.database.startswith("postgresql"):
        parser.error("--database must be PostgreSQL")

    run_id = secrets.token_hex(3)
    env = dict(os.environ)
    env.update(
        {
            "UMIC_SECRET_KEY": secrets.token_hex(32),
            "UMIC_SQLALCHEMY_DATABASE_URI": args.database or "",
            "UMIC_MAIL_SUPPRESS_SEND": "true",  # and no mail worker: the e-mails stay queued
            "UMIC_PROXY_COUNT": "1",  # one proxy's X-Forwarded-For is trusted, as in production
            "FLASK_DEBUG": "0",
            "LOAD_GUNICORN_LOG": str(Path(tempfile.gettempdir()) / f"umic-load-{run_id}.log"),
        }
    )
    env.pop("UMIC_TEST_NOW", None)
    server = None
    started = time.monotonic()
    try:
        if args.url:
            base_url = args.url.rstrip("/")
        else:
            print(f"Preparing {make_url(args.database).database} ...", file=sys.stderr)
            prepare_database(args.database, args.fresh, env)
            port = free_port()
            env["UMIC_BASE_URL"] = f"http://127.0.0.1:{port}"
            server = start_gunicorn(args.workers, port, env)
            base_url = f"http://127.0.0.1:{port}"
        towns = bookable_towns(args.database, args.towns)
        week = target_week(base_url, towns[0][0])
        plan = Plan(
            base_url=base_url,
            towns=towns,
            week=week,
            ramp=args.ramp,
            journey_seconds=max(1.0, (args.duration - args.ramp) * 0.5),
            min_fill=args.min_fill,
            citizens=args.citizens,
            seed=args.seed,
            same_day=args.same_day,
        )
        print(f"{args.citizens} citizens, week {week[0]}..{week[-1]}, {base_url}", file=sys.stderr)
        stats = Stats()
        citizens = [Citizen(i, plan, stats, run_id) for i in range(args.citizens)]
        t0 = time.monotonic() + 0.5
        rng = random.Random(args.seed)
        outcomes: list[Outcome | None] = [None] * args.citizens
        threads = []
        for i, citizen in enumerate(citizens):
            start_at = t0 + args.ramp * (i + rng.random()) / args.citizens

            def work(i=i, citizen=citizen, start_at=start_at):
                outcomes[i] = citizen.run(start_at)

            thread = threading.Thread(target=work, daemon=True)
            thread.start()
            threads.append(thread)
        deadline = t0 + args.duration + 120
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        final = [
            o if o is not None else Outcome(i, citizens[i].outcome.email, error="unfinished")
            for i, o in enumerate(outcomes)
        ]
        if server is not None:
            stop_gunicorn(server)
            server = None
        checks = integrity_checks(args.database, run_id, final) if args.database else []
        text_, ok = report(
            args,
            plan,
            stats,
            final,
            checks,
            time.monotonic() - started,
            machine_line(args.database),
        )
        print(text_)
        return 0 if ok else 1
    finally:
        if server is not None:
            stop_gunicorn(server)
        if args.drop and args.database and not args.url:
            drop_database(args.database)


if __name__ == "__main__":
    sys.exit(main())
