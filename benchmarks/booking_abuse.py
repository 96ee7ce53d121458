"""How many bookings a scripted client gets in one day, before and after the defences.

Issue 10 item 4 asks for the measure; docs/booking-abuse.md explains the defences and has the
results. The script:

1. migrates a scratch SQLite database and loads the demo data (its towns, technicians and
   opening hours: the calendar a citizen sees), once, into a template copied for each run;
2. for each scenario, on a fresh copy and a fresh app (fresh rate-limit counters), runs a
   scripted client through the real pages with the Flask test client: the details form
   (CSRF token, the empty honeypot, the signed "shown at" stamp), the check step, confirm.
   It passes the 2-second fill-time check the way a script would, by waiting, except that
   here waiting is moving ``umic.clock`` on 3 seconds (no sleeping); each booking uses a new
   cookie jar, as a script would;
3. tries every free booking of the 30-day horizon once, in order (a time with two free
   technicians twice), until the calendar is full or 30 attempts in a row fail (the script
   gives up for the day), and counts what it got.

Scenarios:

- ``one address, fresh e-mails``: one IPv4 address, a new mailbox for every booking;
- ``one address, +tag variants``: one address, ``persona+N@gmail.com`` / dotted variants of one
  mailbox;
- ``a /24, fresh e-mails``: 254 addresses of one /24 taking turns, a new mailbox each time.

Each runs twice: ``before`` (the new per-day caps switched off by configuration:
``BOOKING_MAX_NEW_PER_EMAIL_PER_DAY = BOOKING_MAX_NEW_PER_NETWORK_PER_DAY = 0``; the rate limits
and the per-address cap of 2 upcoming appointments as they were) and ``after`` (the defaults).

Two honest notes, printed with the results as well:

- the rate limiter counts real seconds, and this simulated day lasts a few seconds, so the
  booking limit is given as its daily part only (``200 per day``): a script spreads its 200
  POSTs over the day (one every 7 minutes) and never meets the per-minute part;
- the +tag folding of the per-address cap cannot be switched off, so the "before" figure of
  the +tag scenario is already the folded one; before issue 10, every tag was a new address
  (security review, finding 3), i.e. that scenario was the "fresh e-mails" one.

Run: ``.venv/bin/python benchmarks/booking_abuse.py`` (a minute or two on SQLite).
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func
from sqlalchemy import select

from umic import clock
from umic import create_app
from umic import demo
from umic.booking import service as booking_service
from umic.config import Config
from umic.extensions import db
from umic.models import Booking
from umic.models import Municipality

MIGRATIONS = str(Path(__file__).resolve().parents[1] / "migrations")

#: The app as it is deployed, on a scratch database, with mail kept in the outbox.
BASE = {
    "SECRET_KEY": "benchmark-only-secret-key-0123456789abcdef",
    "MAIL_SUPPRESS_SEND": True,
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_BOOKING": "200 per day",  # its daily part: see the module's notes
}
BEFORE = {"BOOKING_MAX_NEW_PER_EMAIL_PER_DAY": 0, "BOOKING_MAX_NEW_PER_NETWORK_PER_DAY": 0}
AFTER: dict = {}  # the defaults of umic/config.py

GIVE_UP_AFTER = 30
_CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
_STAMP = re.compile(r'name="shown_at"(?: type="hidden")? value="([^"]*)"')


@dataclass
class Result:
    booked: int = 0
    capped: int = 0
    limited: int = 0
    gone: int = 0
    free_at_start: int = 0
    free_at_end: int = 0
    seconds: float = 0.0


def make_app(url: str, overrides: dict) -> Flask:
    return create_app(Config, overrides={"SQLALCHEMY_DATABASE_URI": url, **BASE, **overrides})


def build_template(path: Path) -> None:
    app = make_app(f"sqlite:///{path}", {})
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        demo.load()
        db.engine.dispose()


def free_slots(app: Flask) -> list[str]:
    """Every free booking of the horizon, as the picker sends its time: a time with two free
    technicians is there twice (two citizens can book it)."""
    service = booking_service.active_service()
    rules = booking_service.rules()
    slots, _ = booking_service.open_slots(service, clock.now(), rules)
    return [slot.start.astimezone(rules.tz).isoformat() for slot in slots for _ in slot.technicians]


def attempt(app: Flask, slug: str, slot: str, email: str, address: str) -> str:
    """One booking through the real pages: booked, capped, limited (429) or gone."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    page = client.get(f"/reserva/{slug}/dades", query_string={"slot": slot})
    if page.status_code != 200:
        return "gone"
    html = page.get_data(as_text=True)
    token = _CSRF.search(html).group(1)
    clock.advance(timedelta(seconds=3))  # "typing": past BOOKING_MIN_FILL_SECONDS
    data = {
        "csrf_token": token,
        "shown_at": _STAMP.search(html).group(1),
        "slot": slot,
        "name": "Bot Automàtic",
        "email": email,
        "phone": "612 345 678",
        "address": "Carrer Fals, 1",
        "description": "Reserva de prova",
        "consent": "y",
        "comentari": "",
    }
    for url in (f"/reserva/{slug}/dades", f"/reserva/{slug}/comprova"):
        response = client.post(url, data=data if url.endswith("dades") else {"csrf_token": token})
        if response.status_code == 429:
            return "limited"
        if response.status_code == 200:
            return "capped"
        location = response.headers.get("Location", "")
        if "/cita/" in location:
            return "booked"
        if "/comprova" not in location:
            return "gone"
    return "gone"


def run(template: Path, workdir: Path, overrides: dict, mailbox, addresses) -> Result:
    path = workdir / f"run-{len(list(workdir.glob('run-*.db')))}.db"  # never a reused name
    shutil.copy(template, path)
    app = make_app(f"sqlite:///{path}", overrides)
    result = Result()
    started = time.perf_counter()
    with app.app_context():
        town = next(t for t in db.session.scalars(select(Municipality)) if t.can_book)
        slug = town.slug
        slots = free_slots(app)
    result.free_at_start = len(slots)
    failures = 0
    # The requests run outside any application context, each in its own (as in production).
    for number, slot in enumerate(slots):
        outcome = attempt(app, slug, slot, mailbox(number), addresses(number))
        setattr(result, outcome, getattr(result, outcome) + 1)
        failures = 0 if outcome == "booked" else failures + 1
        if failures >= GIVE_UP_AFTER:
            break
    with app.app_context():
        result.free_at_end = len(free_slots(app))
        stored = db.session.scalar(
            select(func.count(Booking.id)).where(Booking.citizen_name == "Bot Automàtic")
        )
        assert result.booked == stored, (result, stored)
        db.engine.dispose()
    result.seconds = time.perf_counter() - started
    return result


def fresh(number: int) -> str:
    return f"bot{number}@mailinator.example.net"


def tagged(number: int) -> str:
    if number % 2:
        return f"persona.prova+{number}@gmail.com"
    return f"p.e.r.s.o.n.a.prova+{number}@googlemail.com"


SCENARIOS = [
    ("one address, fresh e-mails", fresh, lambda n: "198.51.100.7"),
    ("one address, +tag variants", tagged, lambda n: "198.51.100.7"),
    ("a /24, fresh e-mails", fresh, lambda n: f"198.51.100.{n % 254 + 1}"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        template = workdir / "template.db"
        build_template(template)
        rows = []
        for name, mailbox, addresses in SCENARIOS:
            for label, overrides in (("before", BEFORE), ("after", AFTER)):
                clock.reset()
                result = run(template, workdir, overrides, mailbox, addresses)
                rows.append((name, label, result))
                print(
                    f"{name:30} {label:6} booked {result.booked:4}  "
                    f"capped {result.capped:4}  rate-limited {result.limited:4}  "
                    f"free bookings {result.free_at_start} -> {result.free_at_end}  "
                    f"({result.seconds:.1f} s)",
                    flush=True,
                )
    print()
    print("| scenario | before | after |")
    print("| --- | ---: | ---: |")
    for name, *_ in SCENARIOS:
        before = next(r for n, lbl, r in rows if n == name and lbl == "before")
        after = next(r for n, lbl, r in rows if n == name and lbl == "after")
        print(
            f"| {name} | {before.booked} of {before.free_at_start} free bookings "
            f"| {after.booked} of {after.free_at_start} free bookings |"
        )
    print()
    print("Notes: the booking rate limit is given as its daily part only (200 per day): this")
    print("simulated day lasts seconds. The +tag folding cannot be switched off: before issue 10")
    print("each tag was a new address, so that row's 'before' was the fresh e-mails' figure.")


if __name__ == "__main__":
    main()
