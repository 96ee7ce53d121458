"""Headers, cookies, forms from other sites, rate limits, the per-address cap and the bot checks.

Why each exists, and why none may get in a person's way: docs/accessibility.md, "Forms from
other sites" and "Abuse protection that spares people". Other suites run with the abuse checks
off (TestConfig); here they are on, with small limits.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from support.apps import make_app as build_app
from support.browser import launched
from support.browser import served
from support.concurrency import at_once
from support.factories import PASSWORD
from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import soup
from support.journey import DETAILS
from support.journey import Citizen
from support.journey import confirm_ready
from umic import clock
from umic.extensions import db
from umic.models import Booking
from umic.models import BookingDraft
from umic.models import BookingStatus
from umic.models import OutboxMessage
from umic.models import SignInAttempt
from umic.web import limits
from umic.web import security

TEMPLATES = Path(__file__).resolve().parents[1] / "umic" / "templates"

#: Small limits, so that a test reaches them in a few requests.
LIMITS = {
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_BOOKING": "3 per minute",
    "RATELIMIT_MANAGE": "3 per minute",
    "RATELIMIT_TOKEN_PAGES": "3 per minute",
    "RATELIMIT_SIGN_IN": "3 per minute",
    "BOOKING_MAX_ACTIVE_PER_EMAIL": 2,
    "BOOKING_MIN_FILL_SECONDS": 0,  # the bot-check tests turn it on
}

# Headers, limits and bot checks do not depend on the database: SQLite is enough for them.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def app_config() -> dict:
    return dict(LIMITS)


@pytest.fixture
def make_app(app, database_url):
    """Another app on the test's database, with other settings (engines closed at the end).

    The test's own ``app`` holds the application context its rows are written in.
    """
    made: list[Flask] = []

    def _make(**overrides) -> Flask:
        other = build_app(database_url, {**LIMITS, **overrides})
        made.append(other)
        return other

    yield _make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def hidden_value(html: str, name: str) -> str:
    tag = soup(html).select_one(f"input[name={name}]")
    assert tag is not None, f"no {name} field"
    return tag.get("value", "")


def details_form(client, slot: str, prefix: str = "") -> str:
    """The details page for ``slot``, as the browser gets it."""
    response = client.get(f"{prefix}/reserva/gelida/dades", query_string={"slot": slot})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def send_details(client, slot: str, page: str, prefix: str = "", fields=None, **kwargs):
    """Send the details form of ``page`` with what a person types (and its hidden fields)."""
    data = {**DETAILS, "slot": slot, "csrf_token": csrf_token(page)}
    data["shown_at"] = hidden_value(page, "shown_at")
    data.update(fields or {})
    return client.post(f"{prefix}/reserva/gelida/dades", data=data, **kwargs)


def sign_in(client, username: str, password: str = PASSWORD, **kwargs):
    page = client.get("/entra", **kwargs).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "username": username, "password": password}
    return client.post("/entra", data=data, **kwargs)


def csp_directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    parts = [p.strip().split(None, 1) for p in policy.split(";") if p.strip()]
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


def assert_strict_csp(response, where: str) -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, where
    directives = csp_directives(response)
    assert directives["default-src"] == "'self'", where
    assert directives["script-src"] == "'self'", where
    assert directives["style-src"] == "'self'", where
    assert directives["object-src"] == "'none'", where


def inline_code(html: str) -> list[str]:
    """Inline scripts, ``<style>`` blocks, ``on*=`` and ``style=`` attributes, ``hx-on``."""
    found = []
    for tag in soup(html).find_all(True):
        if tag.name == "script" and not tag.get("src"):
            found.append(f"<script> without src: {str(tag)[:80]}")
        if tag.name == "style":
            found.append("<style> element")
        for attribute in tag.attrs:
            if attribute.startswith("on") or attribute.startswith("hx-on") or attribute == "style":
                found.append(f"{attribute}= on <{tag.name}>")
        for attribute in ("href", "src", "action"):
            if str(tag.get(attribute, "")).strip().lower().startswith("javascript:"):
                found.append(f"javascript: URL on <{tag.name}>")
    return found


# --- Content-Security-Policy and inline code --------------------------------------------------


def test_no_template_has_inline_scripts_styles_or_event_handlers():
    """Every page template, read as source: nothing a strict CSP would block.

    E-mail templates are not pages (mail clients need inline styles), nor are the ones drawn
    into PDFs (``pdf/``: WeasyPrint reads their style sheet, no browser ever does); they are
    left out.
    """
    pattern = re.compile(
        r"<script(?![^>]*\ssrc=)[^>]*>|<style[\s>]|\son[a-z]+\s*=|\sstyle\s*=|hx-on|javascript:",
        re.IGNORECASE,
    )
    templates = [
        p
        for p in TEMPLATES.rglob("*.html")
        if not {"email", "pdf"} & set(p.relative_to(TEMPLATES).parts)
    ]
    assert len(templates) > 50
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in templates
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    # The scan itself finds what it looks for.
    assert pattern.search('<a href="#" onclick="x()">') and pattern.search("<script>alert(1)")
    assert not pattern.search('<script src="/static/js/htmx.js" defer></script>')


@sqlite_only
def test_every_page_has_a_strict_csp_and_no_inline_code(app, client):
    """Walk every GET route, as a citizen and as a coordinator: CSP header, nothing inline."""
    app.config["RATELIMIT_MANAGE"] = app.config["RATELIMIT_TOKEN_PAGES"] = "1000 per minute"
    world = make_world(technicians=1)
    world.town.embed_origins = "https://www.gelida.cat"
    make_staff("OPSSCOORD", role="coordinator")
    _booking, token = make_booking(
        world.town, world.service, world.technicians[0], clock.now() + timedelta(days=3)
    )
    samples = defaultdict(lambda: 1, slug="gelida", token=token, filename="css/app.css")
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods]
    assert len(rules) > 30

    def walk() -> set[str]:
        pages = set()
        for rule in rules:
            url = rule.build({k: samples[k] for k in rule.arguments}, append_unknown=False)[1]
            response = client.get(url)
            assert_strict_csp(response, url)
            if response.mimetype == "text/html":
                assert inline_code(response.get_data(as_text=True)) == [], url
                pages.add(f"{response.status_code} {url}")
            response.close()
        return pages

    anonymous = walk()
    assert sign_in(client, "OPSSCOORD").status_code == 303
    staff = walk()
    assert any(p.startswith("200 /espai") for p in staff) and any(
        p.startswith("200 /admin") for p in staff
    )
    assert any(p.startswith("200 /reserva/gelida") for p in anonymous)
    assert any(p.startswith("200 /incrustat/") for p in anonymous)
    assert any(p.startswith("404 ") for p in anonymous)  # error pages too
    # And the pages only this module reaches: the 403 of a forged form, the 429 page.
    forged = client.post("/reserva/gelida/dades", headers={"Sec-Fetch-Site": "cross-site"})
    assert forged.status_code == 403
    assert_strict_csp(forged, "403")
    assert inline_code(forged.get_data(as_text=True)) == []
    app.config["RATELIMIT_MANAGE"] = "1 per minute"
    client.get(f"/cita/{token}")
    too_many = client.get(f"/cita/{token}")
    assert too_many.status_code == 429
    assert_strict_csp(too_many, "429")
    assert inline_code(too_many.get_data(as_text=True)) == []


@sqlite_only
def test_embedded_pages_keep_the_strict_policy_and_only_widen_framing(client):
    world = make_world(technicians=1)
    world.town.embed_origins = "https://www.gelida.cat"
    db.session.commit()
    response = client.get("/incrustat/reserva/gelida/")
    assert_strict_csp(response, "embed")
    assert csp_directives(response)["frame-ancestors"] == "'self' https://www.gelida.cat"
    assert "X-Frame-Options" not in response.headers
    page = client.get("/reserva/gelida/")
    assert csp_directives(page)["frame-ancestors"] == "'none'"
    assert page.headers["X-Frame-Options"] == "DENY"


# --- Referrer-Policy, nosniff, HSTS -------------------------------------------------------------


@sqlite_only
def test_plain_http_gets_the_headers_but_no_hsts(client):
    for url in ("/reserva/", "/entra", "/no-existeix", "/static/css/app.css"):
        response = client.get(url)
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", url
        assert "Strict-Transport-Security" not in response.headers, url
        response.close()


@sqlite_only
def test_https_gets_hsts(client):
    for url in ("/reserva/", "/entra", "/no-existeix"):
        response = client.get(url, base_url="https://localhost")
        assert response.headers["Strict-Transport-Security"] == security.STRICT_TRANSPORT_SECURITY
        assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


@sqlite_only
def test_hsts_behind_a_proxy_only_when_the_proxy_is_trusted(client, make_app):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    # PROXY_COUNT=0: anyone could send X-Forwarded-Proto, so it is ignored.
    assert "Strict-Transport-Security" not in client.get("/reserva/", headers=forwarded).headers
    behind = make_app(PROXY_COUNT=1).test_client()
    response = behind.get("/reserva/", headers=forwarded)
    assert response.headers["Strict-Transport-Security"] == security.STRICT_TRANSPORT_SECURITY
    plain = behind.get("/reserva/", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers


@sqlite_only
def test_an_https_form_post_with_its_referer_passes_the_csrf_check(client):
    """Flask-WTF wants a same-origin Referer on HTTPS; our Referrer-Policy keeps it."""
    make_world(technicians=1)
    slot = Citizen(client).first_slot()
    https = {"base_url": "https://localhost"}
    page = client.get("/reserva/gelida/dades", query_string={"slot": slot}, **https)
    html = page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    data = {**DETAILS, "slot": slot, "csrf_token": csrf_token(html)}
    data["shown_at"] = hidden_value(html, "shown_at")
    without = client.post("/reserva/gelida/dades", data=data, **https)
    assert without.status_code == 400  # what "no-referrer" would do to every form
    referer = {"Referer": "https://localhost/reserva/gelida/dades"}
    sent = client.post("/reserva/gelida/dades", data=data, headers=referer, **https)
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith("/reserva/gelida/comprova")


# --- Session cookie ---------------------------------------------------------------------------


def session_cookie(client, **kwargs) -> str:
    response = client.get("/entra", **kwargs)
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def flags(cookie: str) -> set[str]:
    return {part.strip().lower() for part in cookie.split(";")[1:]}


@sqlite_only
def test_session_cookie_is_httponly_and_lax_and_not_secure_on_http(client):
    cookie = flags(session_cookie(client))
    assert {"httponly", "samesite=lax", "path=/"} <= cookie
    assert "secure" not in cookie


@sqlite_only
def test_session_cookie_is_secure_when_the_site_is_https(make_app):
    https_site = make_app(BASE_URL="https://cita.example.cat").test_client()
    cookie = flags(session_cookie(https_site, base_url="https://cita.example.cat"))
    assert {"httponly", "samesite=lax", "secure"} <= cookie
    forced = make_app(SESSION_COOKIE_SECURE=True).test_client()
    assert "secure" in flags(session_cookie(forced))
    # Forced off (e.g. a test server behind plain HTTP), whatever BASE_URL says.
    off = make_app(BASE_URL="https://cita.example.cat", SESSION_COOKIE_SECURE=False)
    assert "secure" not in flags(session_cookie(off.test_client()))


# --- Forms sent from another site ---------------------------------------------------------------


def test_the_cross_origin_rule():
    ours = {"https://cita.example.cat"}

    def refused(method="POST", site=None, origin=None):
        return security.is_cross_origin(method, site, origin, ours)

    assert refused(site="cross-site") and refused(site="same-site")
    assert refused(site="Cross-Site", origin="https://cita.example.cat")  # the header wins
    assert not refused(site="same-origin") and not refused(site="none")
    assert refused(origin="https://evil.example") and refused(origin="null")
    assert refused(origin="http://[x")  # not a URL: not ours
    assert not refused(origin="https://cita.example.cat")
    assert not refused(origin="https://CITA.example.cat:443")
    assert not refused()  # curl, an old client: no header at all
    for method in ("GET", "HEAD", "OPTIONS"):
        assert not refused(method, site="cross-site", origin="https://evil.example")
    for method in ("PUT", "PATCH", "DELETE"):
        assert refused(method, site="cross-site")


@sqlite_only
@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://other.localhost"},
        {"Origin": "https://evil.example"},  # a browser too old for Sec-Fetch-Site
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},  # Origin cannot overrule
    ],
    ids=["cross-site", "same-site", "old-browser-foreign-origin", "cross-site-own-origin"],
)
def test_a_form_from_another_site_gets_a_friendly_403_and_nothing_is_stored(client, headers):
    make_world(technicians=1)
    slot = Citizen(client).first_slot()
    page = details_form(client, slot)
    response = send_details(client, slot, page, headers=headers)
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert '<html lang="ca">' in html
    assert "No hem pogut acceptar el formulari" in html
    assert "No s'ha desat res" in html
    assert count(BookingDraft) == 0
    # Before the CSRF check: a forged form without a token gets the same page, not a 400.
    assert client.post("/reserva/gelida/dades", headers=headers).status_code == 403


@sqlite_only
@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": "http://localhost"},
        {},  # curl, an old client
    ],
    ids=["same-origin", "typed", "old-browser-own-origin", "no-headers"],
)
def test_our_own_forms_and_old_clients_pass(client, headers):
    make_world(technicians=1)
    slot = Citizen(client).first_slot()
    page = details_form(client, slot)
    response = send_details(client, slot, page, headers=headers)
    assert response.status_code == 303
    assert count(BookingDraft) == 1


@sqlite_only
def test_links_from_other_sites_still_open_pages(client):
    """GET is never refused: towns link to us."""
    make_world(technicians=1)
    response = client.get("/reserva/gelida/", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 200


@sqlite_only
def test_behind_a_proxy_the_public_origin_is_ours(make_app):
    make_world(technicians=1)
    behind = make_app(PROXY_COUNT=1, BASE_URL="https://cita.example.cat").test_client()
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "cita.example.cat"}
    slot = Citizen(behind).first_slot()
    page = behind.get("/reserva/gelida/dades", query_string={"slot": slot}, headers=proxy).get_data(
        as_text=True
    )
    data = {**DETAILS, "slot": slot, "csrf_token": csrf_token(page)}
    data["shown_at"] = hidden_value(page, "shown_at")
    own = {
        **proxy,
        "Origin": "https://cita.example.cat",
        "Referer": "https://cita.example.cat/reserva/gelida/dades",
    }
    assert behind.post("/reserva/gelida/dades", data=data, headers=own).status_code == 303
    foreign = {**own, "Origin": "https://evil.example"}
    assert behind.post("/reserva/gelida/dades", data=data, headers=foreign).status_code == 403


# --- Rate limits --------------------------------------------------------------------------------


def assert_too_many(response) -> None:
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert '<html lang="ca">' in html
    assert "Massa intents" in html and "Podreu tornar-ho a provar" in html
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_ipv6_clients_count_by_their_64_network():
    assert limits.address_key("203.0.113.7") == "203.0.113.7"
    home = limits.address_key("2001:db8:1:2:aaaa::1")
    assert home == limits.address_key("2001:db8:1:2:bbbb:cccc:dddd:eeee") == "2001:db8:1:2::/64"
    assert limits.address_key("2001:db8:1:3::1") != home
    assert limits.address_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert limits.address_key("not an address") == "not an address"


@sqlite_only
def test_booking_posts_are_limited_per_address_and_the_embed_shares_the_bucket(client, app):
    make_world(technicians=3)
    slots = Citizen(client).slots()
    # Three sends from one address: two on the site, one in a town's iframe.
    for slot, prefix in zip(slots, ["", "/incrustat", ""], strict=False):
        page = details_form(client, slot, prefix)
        assert send_details(client, slot, page, prefix).status_code == 303
    drafts = count(BookingDraft)
    page = details_form(client, slots[3])
    assert_too_many(send_details(client, slots[3], page))
    page = details_form(client, slots[3], "/incrustat")
    assert_too_many(send_details(client, slots[3], page, "/incrustat"))
    assert count(BookingDraft) == drafts, "nothing stored over the limit"
    # Pages are not counted, only the sends.
    assert client.get("/reserva/gelida/").status_code == 200
    # Another address has its own bucket.
    other = app.test_client()
    environ = {"REMOTE_ADDR": "198.51.100.20"}
    page = other.get(
        "/reserva/gelida/dades", query_string={"slot": slots[3]}, environ_base=environ
    ).get_data(as_text=True)
    assert send_details(other, slots[3], page, environ_base=environ).status_code == 303


@sqlite_only
def test_confirming_counts_in_the_booking_bucket(client):
    make_world(technicians=3)
    citizen = Citizen(client)
    slot = citizen.first_slot()
    assert citizen.details(slot).status_code == 303
    assert citizen.confirm().status_code == 303  # 2 of 3
    assert citizen.details(citizen.slots()[1], email="una.altra@example.net").status_code == 303
    assert_too_many(citizen.confirm())
    assert count(Booking) == 1


@sqlite_only
def test_manage_links_are_limited_and_the_embedded_ones_share_the_bucket(client, app):
    world = make_world(technicians=1)
    _booking, token = make_booking(
        world.town, world.service, world.technicians[0], clock.now() + timedelta(days=3)
    )
    assert client.get(f"/cita/{token}").status_code == 200
    assert client.get(f"/incrustat/cita/{token}").status_code == 200
    assert client.get("/cita/un-enllac-endevinat").status_code == 404  # guesses count too
    assert_too_many(client.get(f"/cita/{token}"))
    assert_too_many(client.get(f"/incrustat/cita/{token}/anulla"))
    other = app.test_client()
    assert other.get(f"/cita/{token}", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


@sqlite_only
def test_survey_and_upload_links_share_a_limit(client, app):
    assert client.get("/enquesta/endevina-1").status_code in (200, 404)
    assert client.get("/enquesta/endevina-2").status_code in (200, 404)
    assert client.get("/documents/endevina-3").status_code in (200, 404)
    assert_too_many(client.get("/documents/endevina-4"))
    assert_too_many(client.get("/enquesta/endevina-5"))
    other = app.test_client()
    response = other.get("/enquesta/endevina-6", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert response.status_code != 429


@sqlite_only
def test_failed_sign_ins_are_limited_and_successful_ones_are_not_counted(app):
    make_staff("OPSSVEGAVN")
    for _ in range(4):  # more successes than the limit: none counts
        assert sign_in(app.test_client(), "OPSSVEGAVN").status_code == 303
    client = app.test_client()
    for _ in range(3):
        response = sign_in(client, "OPSSVEGAVN", "contrasenya dolenta")
        assert response.status_code == 200
        assert "no són correctes" in response.get_data(as_text=True)
    assert count(SignInAttempt, SignInAttempt.success.is_(False)) == 3
    # The fourth attempt from this address is refused before the password is even looked at.
    assert_too_many(sign_in(client, "OPSSVEGAVN"))
    assert count(SignInAttempt) == 4 + 3, "the limiter answered; nothing recorded"
    # Looking at the sign-in page is not an attempt; another address may still sign in.
    assert client.get("/entra").status_code == 200
    other = sign_in(app.test_client(), "OPSSVEGAVN", environ_base={"REMOTE_ADDR": "10.0.0.8"})
    assert other.status_code == 303


@sqlite_only
def test_the_language_switch_is_not_a_send_nor_a_sign_in_attempt(client):
    """The switch posts the page's form to show it again (umic.web.i18n): not counted."""
    world = make_world(technicians=3)
    slots = Citizen(client).slots()
    page = details_form(client, slots[0])
    for language in ["es", "ca", "es", "ca", "es"]:
        switched = send_details(client, slots[0], page, fields={"_idioma": language})
        assert switched.status_code == 200
    for slot in slots[:3]:
        assert send_details(client, slot, details_form(client, slot)).status_code == 303
    assert_too_many(send_details(client, slots[3], details_form(client, slots[3])))

    username = world.technicians[0].username
    login_page = client.get("/entra").get_data(as_text=True)
    for language in ["es", "ca", "es", "ca"]:
        data = {"csrf_token": csrf_token(login_page), "username": username, "_idioma": language}
        assert client.post("/entra", data=data).status_code == 200
    assert count(SignInAttempt) == 0
    for _ in range(3):
        assert sign_in(client, username, "dolenta").status_code == 200
    assert_too_many(sign_in(client, username, "dolenta"))


@sqlite_only
def test_the_sign_in_throttle_throttles_the_attacker_not_the_owner(app, client):
    """The database's throttle and the address limit cooperate (review, finding 9): failures
    from many addresses never lock the name; the failing address waits (tests/test_sessions.py
    has the rest)."""
    app.config["RATELIMIT_SIGN_IN"] = "100 per minute"
    make_staff("OPSSVEGAVN")
    botnet = [{"REMOTE_ADDR": f"10.0.0.{number + 1}"} for number in range(10)]
    for environ in botnet:  # one try per address
        sign_in(app.test_client(), "OPSSVEGAVN", "dolenta", environ_base=environ)
    assert sign_in(client, "OPSSVEGAVN").status_code == 303  # the owner, elsewhere
    response = sign_in(app.test_client(), "OPSSVEGAVN", environ_base=botnet[0])
    assert response.status_code == 429
    minutes = app.config["SIGN_IN_WINDOW_MINUTES"]
    assert response.headers["Retry-After"] == str(minutes * 60)
    assert f"Espereu {minutes} minuts" in response.get_data(as_text=True)


@sqlite_only
def test_behind_a_proxy_each_citizen_has_their_own_bucket(make_app):
    world = make_world(technicians=1)
    _booking, token = make_booking(
        world.town, world.service, world.technicians[0], clock.now() + timedelta(days=3)
    )
    client = make_app(PROXY_COUNT=1, RATELIMIT_MANAGE="2 per minute").test_client()

    def visit(address):
        return client.get(f"/cita/{token}", headers={"X-Forwarded-For": address})

    assert visit("203.0.113.1").status_code == 200
    assert visit("203.0.113.1").status_code == 200
    assert_too_many(visit("203.0.113.1"))
    assert visit("203.0.113.2").status_code == 200  # the citizen's address, not the proxy's


# --- The per-address cap: nobody hoards the free times ------------------------------------------


def upcoming(world, days: int, email: str, **values):
    start = (clock.now() + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)
    return make_booking(
        world.town, world.service, world.technicians[0], start, citizen_email=email, **values
    )


def assert_cap_page(response) -> None:
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = soup(html).get_text(" ", strip=True)
    assert "Ja teniu cites pendents" in text
    assert "com a màxim 2 cites pendents" in text
    assert "Torna a planificar" in text and "Anul·la la cita" in text  # what to do instead
    assert "012" in text  # or phone


def test_a_third_upcoming_booking_with_one_address_gets_a_clear_page(client):
    world = make_world(technicians=3)
    upcoming(world, 5, "Raul.Sanchez@Example.net")
    upcoming(world, 6, "raul.sanchez@example.net")
    citizen = Citizen(client)
    response = citizen.details(citizen.first_slot(), email="RAUL.SANCHEZ@example.NET")
    assert_cap_page(response)
    assert "RAUL.SANCHEZ@example.NET" in response.get_data(as_text=True)
    assert count(Booking) == 2
    assert count(OutboxMessage) == 0


def test_the_cap_is_checked_again_when_confirming(client):
    """Details sent with one appointment; a second one booked meanwhile: no third."""
    world = make_world(technicians=3)
    upcoming(world, 5, "raul.sanchez@example.net")
    citizen = Citizen(client)
    assert citizen.details(citizen.first_slot()).status_code == 303
    upcoming(world, 6, "Raul.Sanchez@example.net")  # e.g. from another browser
    assert_cap_page(citizen.confirm())
    assert count(Booking) == 2
    assert count(OutboxMessage) == 0


def test_cancelled_and_past_appointments_do_not_count(client):
    world = make_world(technicians=3)
    upcoming(world, 5, "raul.sanchez@example.net", status=BookingStatus.CANCELLED)
    upcoming(world, -3, "raul.sanchez@example.net")
    upcoming(world, 6, "raul.sanchez@example.net")
    upcoming(world, 7, "una.altra@example.net")
    path = Citizen(client).book()  # the second upcoming one: allowed
    assert path.startswith("/cita/")
    assert count(Booking) == 5


def test_staff_booking_on_behalf_is_exempt(app, client):
    world = make_world(technicians=1)
    upcoming(world, 5, "raul.sanchez@example.net")
    upcoming(world, 6, "raul.sanchez@example.net")
    assert sign_in(client, world.technicians[0].username).status_code == 303
    page = client.get(f"/espai/cites/nova?municipi={world.town.id}").get_data(as_text=True)
    day = re.findall(r'name="dia" value="([^"]+)"', page)[0]
    page = client.get(f"/espai/cites/nova?municipi={world.town.id}&dia={day}")
    slot = re.findall(r'name="slot" value="([^"]+)"', page.get_data(as_text=True))[0]
    form = client.get(
        "/espai/cites/nova/dades", query_string={"municipi": world.town.id, "slot": slot}
    ).get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(form),
        "municipi": world.town.id,
        "slot": slot,
        "name": "Raúl Sánchez",
        "email": "Raul.Sanchez@example.net",
        "technician": 0,
        "consent": "y",
    }
    response = client.post("/espai/cites/nova/dades", data=data)
    assert response.status_code == 303
    assert "/espai" in response.headers["Location"]
    assert count(Booking) == 3
    # The citizen, online, is still held to the cap (three upcoming now).
    citizen = Citizen(app.test_client())
    assert_cap_page(citizen.details(citizen.first_slot(), email="raul.sanchez@example.net"))


CONCURRENT = 10


def test_the_cap_holds_when_one_address_confirms_many_times_at_once(app):
    """Ten browsers, one address (in any case), ten free times, all confirmed at once."""
    app.config["RATELIMIT_BOOKING"] = "1000 per minute"
    make_world(technicians=3)
    planner = Citizen(app.test_client())
    slots = [slot for day in planner.days()[:3] for slot in planner.slots(day)][:CONCURRENT]
    assert len(slots) == CONCURRENT
    ready = []
    for number, slot in enumerate(slots):
        client = app.test_client()
        email = "Mateixa.Persona@example.net" if number % 2 else "mateixa.persona@EXAMPLE.net"
        assert Citizen(client).details(slot, email=email).status_code == 303
        page = client.get("/reserva/gelida/comprova").get_data(as_text=True)
        ready.append((client, csrf_token(page)))

    responses = at_once(confirm_ready, ready)

    booked = [r for r in responses if r.status_code == 303]
    refused = [r for r in responses if r.status_code == 200]
    assert len(booked) == 2, [r.status_code for r in responses]
    assert all(urlsplit(r.headers["Location"]).path.startswith("/cita/") for r in booked)
    assert len(refused) == CONCURRENT - 2
    assert all("Ja teniu cites pendents" in r.get_data(as_text=True) for r in refused)
    assert count(Booking) == 2
    assert count(OutboxMessage) == 2 * 2  # the citizen's and the technician's, twice


# --- Bots, without puzzles: the honeypot and the time it takes a person -------------------------


@sqlite_only
def test_a_filled_honeypot_gets_the_form_back_and_nothing_is_stored(client):
    make_world(technicians=1)
    slot = Citizen(client).first_slot()
    page = details_form(client, slot)
    response = send_details(client, slot, page, fields={"comentari": "Buy cheap pills"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Heu enviat el formulari molt de pressa" in html
    assert "Buy cheap pills" not in html  # never sent back filled
    assert 'value="Raúl Sánchez Puig"' in html  # what the person typed is kept
    assert soup(html).title.get_text().startswith("Error:")
    assert count(BookingDraft) == 0 and count(Booking) == 0


@sqlite_only
def test_a_form_sent_faster_than_a_person_can_type_comes_back_once(client, app):
    app.config["BOOKING_MIN_FILL_SECONDS"] = 1
    make_world(technicians=1)
    slot = Citizen(client).first_slot()
    page = details_form(client, slot)
    stamp = hidden_value(page, "shown_at")
    response = send_details(client, slot, page)  # at once: a script
    assert response.status_code == 200
    again = response.get_data(as_text=True)
    assert "Heu enviat el formulari molt de pressa" in again
    assert "torneu a prémer «Continua»" in again  # says what to do (M5)
    assert 'value="Raúl Sánchez Puig"' in again  # and keeps what was typed
    assert count(BookingDraft) == 0
    # The stamp of the first showing is kept: pressing the button again later goes through.
    assert hidden_value(again, "shown_at") == stamp
    time.sleep(1.1)
    response = send_details(client, slot, again)
    assert response.status_code == 303
    assert count(BookingDraft) == 1


@sqlite_only
@pytest.mark.parametrize("stamp", ["", "made-up", "eyJ4IjoxfQ.bad-signature"])
def test_a_missing_or_forged_stamp_counts_as_too_fast(client, app, stamp):
    app.config["BOOKING_MIN_FILL_SECONDS"] = 1
    make_world(technicians=1)
    slot = Citizen(client).first_slot()
    page = details_form(client, slot)
    time.sleep(1.1)
    response = send_details(client, slot, page, fields={"shown_at": stamp})
    assert response.status_code == 200
    assert "Heu enviat el formulari molt de pressa" in response.get_data(as_text=True)
    assert count(BookingDraft) == 0


def test_the_stamp_rules():
    now = 1_800_000_000.0
    stamp = limits.form_stamp("secret", now)
    assert limits.stamp_age("secret", stamp, now + 5) == pytest.approx(5)
    assert limits.stamp_age("other secret", stamp, now + 5) is None
    assert limits.stamp_age("secret", None, now) is None
    # Kept and replayed for days: worth no more than no stamp (the form comes back once).
    assert limits.stamp_age("secret", stamp, now + limits.STAMP_MAX_AGE + 1) is None
    assert limits.looks_automated("", 5, 2) is False
    assert limits.looks_automated("", 1, 2) is True
    assert limits.looks_automated("", None, 2) is True
    assert limits.looks_automated("x", 60, 2) is True
    assert limits.looks_automated("", None, 0) is False  # the timing check off


# --- In a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    with launched() as browser:
        yield browser


@pytest.mark.browser
@sqlite_only
def test_the_honeypot_is_out_of_reach_of_keyboard_and_screen_reader(chromium, app):
    """A person with a keyboard or a screen reader never meets the field, and gets through."""
    app.config["BOOKING_MIN_FILL_SECONDS"] = 1
    make_world(technicians=1)
    slot = Citizen(app.test_client()).first_slot()
    with served(app) as site:
        context = chromium.new_context()
        page = context.new_page()
        page.goto(f"{site}/reserva/gelida/dades?{urlencode({'slot': slot})}")
        honeypot = page.locator("#comentari")
        assert honeypot.count() == 1 and honeypot.is_hidden()
        # Not in the accessibility tree: no role query finds it, the form's tree omits it.
        assert page.get_by_role("textbox", name=re.compile("Deixeu")).count() == 0
        assert page.get_by_label(re.compile("Deixeu")).count() == 1  # (it does exist)
        assert page.get_by_role("textbox", name=re.compile("Deixeu"), include_hidden=True).count()
        assert "Deixeu" not in page.locator("form").aria_snapshot()
        # Never reached with Tab, from the top of the page to past the button.
        focused = []
        for _ in range(40):
            page.keyboard.press("Tab")
            focused.append(
                page.evaluate("document.activeElement.id || document.activeElement.tagName")
            )
        assert "comentari" not in focused
        assert "name" in focused and "consent" in focused
        # A person fills the form in by keyboard and goes on to check the answers.
        page.locator("#name").focus()
        page.keyboard.type("Núria Puig")
        page.keyboard.press("Tab")
        page.keyboard.type("nuria@example.net")
        page.check("#consent")
        page.wait_for_timeout(1100)
        page.get_by_role("button", name="Continua").click()
        page.wait_for_url(re.compile(r"/reserva/gelida/comprova$"))
        context.close()
    assert count(BookingDraft) == 1


PARENT = """<!doctype html><html lang="ca"><head><meta charset="utf-8"><title>Ajuntament</title>
</head><body><h1>Ajuntament de Gelida</h1>{body}</body></html>"""


def town_site(body: str) -> Flask:
    """A town's web page, on another origin."""
    parent = Flask("town_site")
    parent.add_url_rule("/", "index", lambda: PARENT.format(body=body))
    return parent


@pytest.mark.browser
@sqlite_only
def test_in_chromium_a_town_iframe_posts_same_origin_and_a_forged_form_is_refused(chromium, app):
    """The cross-site check in a real browser: what Chromium sends decides. The booking inside a
    town's cross-site iframe sends ``Sec-Fetch-Site: same-origin`` (the form is the frame's own
    document) and passes; a form on the town's page that posts to us is ``cross-site``: 403."""
    world = make_world(technicians=1)
    slot = Citizen(app.test_client()).first_slot()
    with served(app, host="localhost") as site:
        target = f"{site}/reserva/gelida/dades"
        query = urlencode({"slot": slot})
        frame = (
            f'<iframe src="{site}/incrustat/reserva/gelida/dades?{query}" title="Cita"></iframe>'
        )
        forged = (
            f'<form method="post" action="{target}"><input type="hidden" name="slot" '
            f'value="{slot}"><input type="hidden" name="email" value="x@example.net">'
            "<button>Envia</button></form>"
        )
        with served(town_site(frame + forged)) as town:
            world.town.embed_origins = town
            db.session.commit()
            context = chromium.new_context()
            page = context.new_page()
            page.goto(f"{town}/")

            inner = page.frame_locator("iframe")
            inner.locator("#name").fill("Núria Puig")
            inner.locator("#email").fill("nuria@example.net")
            inner.locator("#consent").check()
            with page.expect_response(lambda r: r.request.method == "POST") as sent:
                inner.get_by_role("button", name="Continua").click()
            request = sent.value.request
            assert request.url.startswith(f"{site}/incrustat/reserva/gelida/dades")
            assert request.all_headers()["sec-fetch-site"] == "same-origin"
            assert request.all_headers()["origin"] == site
            # On to checking the answers (or, where the browser keeps no cookie for the frame,
            # the "open it in a new tab" page): anything but the 403 of a forged form.
            assert sent.value.status in (200, 303)
            child = page.frames[1]
            if sent.value.status == 303:
                child.wait_for_url(re.compile(r"/incrustat/reserva/gelida/comprova$"))
            assert "No hem pogut acceptar" not in inner.locator("main").inner_text()

            with page.expect_response(lambda r: r.request.method == "POST") as forged_sent:
                page.get_by_role("button", name="Envia").click()
            request = forged_sent.value.request
            assert request.url == target
            assert request.all_headers()["sec-fetch-site"] == "cross-site"
            assert forged_sent.value.status == 403
            page.wait_for_url(target)
            assert "No hem pogut acceptar el formulari" in page.locator("h1").inner_text()
            context.close()
