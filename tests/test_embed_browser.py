"""The booking inside a town's web page, in Debian's Chromium (docs/accessibility.md).

The app is served on http://127.0.0.1:<port> and the town's page on http://localhost:<port2>:
another *site*, so the iframe is cross-site as on a real municipal website. A SameSite=Lax
cookie never reaches such a frame; the embed's partitioned cookie (CHIPS) does, and Chromium
accepts it over http://127.0.0.1 because loopback counts as a secure context. Which path the
booking took is asserted, not assumed: the partitioned cookie in the main test, the "open it
in a new tab" fallback in its own test, where the browser loses its cookies midway. The
town's page is the registry's own snippet, pasted as a webmaster would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from support.browser import PHONE
from support.browser import launched
from support.browser import served
from support.factories import make_world
from umic import embed
from umic.extensions import db
from umic.models import Booking
from umic.models import BookingStatus

pytestmark = pytest.mark.browser

FIRST_STEP = "Trieu el dia i l'hora"


@pytest.fixture(scope="module")
def chromium():
    with launched() as browser:
        yield browser


class TownSite:
    """The town's own web server: one page, with the snippet below some content of its own."""

    def __init__(self):
        self.body = b""

    def page(self, snippet: str) -> None:
        self.body = (
            '<!doctype html><html lang="ca"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Ajuntament de Gelida - Consum</title></head><body>"
            "<h1>Ajuntament de Gelida</h1><p>Demaneu cita amb el servei de consum.</p>"
            f"{snippet}<p>Peu de pàgina de l'ajuntament.</p></body></html>"
        ).encode()

    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [self.body]


@dataclass
class Sites:
    ours: str  # the app
    allowed_url: str  # the town's page, on the origin the town listed
    other_url: str  # another origin of the same host, never listed
    allowed: TownSite
    other: TownSite
    snippet: str


@pytest.fixture
def sites(app) -> Sites:
    world = make_world()
    allowed, other = TownSite(), TownSite()
    with (
        served(app) as ours,
        served(allowed, host="localhost") as allowed_url,
        served(other, host="localhost") as other_url,
    ):
        app.config["BASE_URL"] = ours  # the snippet and the e-mails name this server
        world.town.embed_origins = allowed_url  # only this port of localhost, not other_url
        db.session.commit()
        snippet = embed.snippet(world.town)
        assert f'src="{ours}/incrustat/reserva/gelida/"' in snippet
        allowed.page(snippet)
        other.page(snippet)
        yield Sites(ours, allowed_url, other_url, allowed, other, snippet)


def open_town_page(chromium, url: str, *, javascript: bool = True):
    context = chromium.new_context(viewport=PHONE, java_script_enabled=javascript)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text + " @" + str(m.location)) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(url + "/")
    return context, page, problems


def frame_box(page) -> dict:
    return page.evaluate(
        "(() => { const frame = document.querySelector('iframe');"
        " return {top: frame.getBoundingClientRect().top, height: frame.clientHeight}; })()"
    )


def content_height(frame) -> float:
    """The height of the frame's content, measured as the resizer measures it. (Not
    ``scrollHeight``: that is never less than the frame's own height, so before the resizer
    has run an iframe still at its snippet's 3000 px would look already sized.)"""
    return frame.locator("html").evaluate("html => Math.ceil(html.getBoundingClientRect().height)")


def wait_until_sized(page, frame) -> float:
    """The resizer makes the iframe as tall as the step it shows (within 5 px)."""
    deadline = time.monotonic() + 10
    while True:
        height, inner = frame_box(page)["height"], content_height(frame)
        if abs(height - inner) <= 5:
            return height
        assert time.monotonic() < deadline, f"iframe {height}px, its content {inner}px"
        page.wait_for_timeout(50)


def no_sideways_scroll(frame) -> None:
    widths = frame.locator("html").evaluate("html => [html.scrollWidth, html.clientWidth]")
    assert widths[0] <= widths[1], widths


def pick_time(frame, javascript: bool, day: int = 1) -> None:
    frame.locator(f"input[name=dia] >> nth={day}").check()
    if not javascript:
        frame.locator("text=Mostra les hores").click()
    frame.locator("#times input[name=slot] >> nth=0").check()
    frame.locator("#times button[type=submit]").click()


def fill_details(frame) -> None:
    frame.locator("#name").fill("Núria Puig i Solà")
    frame.locator("#email").fill("nuria@example.net")
    frame.locator("#consent").check()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_whole_booking_inside_a_cross_site_iframe(chromium, sites):
    ours, allowed_url = sites.ours, sites.allowed_url
    context, page, problems = open_town_page(chromium, allowed_url)
    frame = page.frame_locator("iframe")
    expect(frame.locator("h1")).to_have_text(FIRST_STEP)
    # The frame took neither the focus nor the scroll of the town's page on loading.
    assert page.evaluate("document.activeElement.tagName") == "BODY"
    assert page.evaluate("window.scrollY") == 0
    # The snippet's fixed height became the height of the first step.
    assert wait_until_sized(page, frame) != embed.DEFAULT_HEIGHT
    no_sideways_scroll(frame)
    heights = {"first": frame_box(page)["height"]}

    pick_time(frame, javascript=True)
    frame.locator("#name").wait_for()
    frame.locator("main form button[type=submit]").click()  # nothing filled in
    frame.locator(".error-summary").wait_for()
    # Browsers ignore autofocus in a cross-site frame; the summary is focused all the same.
    expect(frame.locator(".error-summary")).to_be_focused()
    heights["details, errors"] = wait_until_sized(page, frame)
    fill_details(frame)
    frame.locator("main form button[type=submit]").click()
    expect(frame.locator("h1")).to_contain_text("Comproveu les dades")
    heights["check"] = wait_until_sized(page, frame)
    # After each step the town's page brings the frame's top back into view.
    assert frame_box(page)["top"] >= -1, frame_box(page)

    # Which path: the embed's partitioned cookie, kept for the town's site.
    cookies = [c for c in context.cookies() if c["name"] == embed.EMBED_COOKIE]
    assert len(cookies) == 1, context.cookies()
    assert cookies[0]["partitionKey"] == "http://localhost" and cookies[0]["secure"]
    assert cookies[0]["sameSite"] == "None" and cookies[0]["path"] == "/incrustat"

    frame.locator("text=Confirma la cita").click()
    expect(frame.locator(".panel-title")).to_have_text("Cita confirmada")
    booking = db.session.scalar(select(Booking))
    assert booking.reference in frame.locator(".panel").inner_text()
    heights["confirmation"] = wait_until_sized(page, frame)
    assert len(set(heights.values())) > 1, heights  # it followed the content
    assert page.url == allowed_url + "/"  # the town's page never went away

    # A link out opens our statement in a new tab, top-level.
    with context.expect_page() as new_tab:
        frame.locator("a[href='/accessibilitat']").click()
    statement = new_tab.value
    statement.wait_for_load_state()
    assert statement.url == ours + "/accessibilitat"
    assert "accessibilitat" in statement.locator("h1").inner_text().lower()
    statement.close()

    frame.locator("text=Torna a planificar").click()
    pick_time(frame, javascript=True, day=2)
    frame.locator("text=Confirma el canvi").click()
    expect(frame.locator("main")).to_contain_text("Heu canviat l'hora de la cita")
    frame.locator("text=Anul·la la cita").click()
    frame.locator("text=Sí, anul·la la cita").click()
    expect(frame.locator("h1")).to_contain_text("Cita anul·lada")
    db.session.expire_all()
    booking = db.session.scalar(select(Booking))
    assert booking.status == BookingStatus.CANCELLED and booking.ical_sequence == 2
    assert problems == [], problems
    context.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_town_page_ignores_size_messages_that_do_not_come_from_the_booking(chromium, sites):
    # Another site framed in the same page, and the page itself, keep asking for 10 px.
    forged = 'postMessage({type: "diba-cita:resize", height: 10}, "*")'
    sites.other.body = f"<!doctype html><title>x</title><script>parent.{forged}</script>".encode()
    sites.allowed.page(
        sites.snippet
        + f'<iframe src="{sites.other_url}/" title="Un altre web"></iframe>'
        + f"<script>setInterval(() => window.{forged}, 20);</script>"
    )
    context, page, problems = open_town_page(chromium, sites.allowed_url)
    frame = page.frame_locator("iframe >> nth=0")
    expect(frame.locator("h1")).to_have_text(FIRST_STEP)
    page.frame_locator("iframe >> nth=1").locator("title").wait_for(state="attached")
    height = wait_until_sized(page, frame)
    page.wait_for_timeout(300)  # some fifteen forged messages more
    assert frame_box(page)["height"] == height > 10
    assert problems == [], problems
    context.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_without_javascript_the_frame_keeps_its_height_and_the_booking_works(chromium, sites):
    allowed_url = sites.allowed_url
    context, page, _problems = open_town_page(chromium, allowed_url, javascript=False)
    frame = page.frame_locator("iframe")
    heights = {}
    expect(frame.locator("h1")).to_have_text(FIRST_STEP)
    frame.locator("input[name=dia] >> nth=1").check()
    frame.locator("text=Mostra les hores").click()
    frame.locator("#times input[name=slot] >> nth=0").check()
    heights["times"] = content_height(frame)
    frame.locator("#times button[type=submit]").click()
    frame.locator("#name").wait_for()
    frame.locator("main form button[type=submit]").click()  # nothing filled in
    frame.locator(".error-summary").wait_for()
    heights["details, errors"] = content_height(frame)
    fill_details(frame)
    frame.locator("main form button[type=submit]").click()
    frame.locator("text=Confirma la cita").click()
    expect(frame.locator(".panel-title")).to_have_text("Cita confirmada")
    heights["confirmation"] = content_height(frame)
    assert db.session.scalar(select(Booking)).status == BookingStatus.CONFIRMED
    # No resizer: the snippet's height, enough for every step on a phone (no inner scrolling).
    assert frame_box(page)["height"] == embed.DEFAULT_HEIGHT
    assert max(heights.values()) <= embed.DEFAULT_HEIGHT, heights
    context.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_browser_that_keeps_no_cookie_for_the_frame_continues_in_a_new_tab(chromium, sites):
    ours, allowed_url = sites.ours, sites.allowed_url
    context, page, problems = open_town_page(chromium, allowed_url)
    frame = page.frame_locator("iframe")
    pick_time(frame, javascript=True)
    fill_details(frame)
    context.clear_cookies()  # as a browser that blocks every cookie in frames would
    frame.locator("main form button[type=submit]").click()
    expect(frame.locator("h1")).to_have_text("Obriu el formulari en una pestanya nova")
    assert db.session.scalar(select(Booking)) is None

    with context.expect_page() as new_tab:
        frame.locator("main a.button").click()
    tab = new_tab.value
    tab.wait_for_load_state()
    assert tab.url.startswith(ours + "/reserva/gelida/dades?slot=")  # the same step, top-level
    tab.fill("#name", "Núria Puig i Solà")
    tab.fill("#email", "nuria@example.net")
    tab.check("#consent")
    tab.click("main form button[type=submit]")
    tab.click("text=Confirma la cita")
    expect(tab.locator(".panel-title")).to_have_text("Cita confirmada")
    assert tab.url.startswith(ours + "/cita/")
    assert db.session.scalar(select(Booking)).status == BookingStatus.CONFIRMED
    assert problems == [], problems
    context.close()


def refused(page, problems: list[str], directive: str) -> None:
    """The page's iframe holds Chromium's error page, and Chromium says the directive refused it."""
    deadline = time.monotonic() + 10
    while True:
        frames = [frame.url for frame in page.frames if frame != page.main_frame]
        said = [text for text in problems if "violates" in text and directive in text]
        if frames and frames[0].startswith("chrome-error://") and said:
            break
        assert time.monotonic() < deadline, (frames, problems)
        page.wait_for_timeout(50)
    assert len(frames) == 1
    problems.clear()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_page_the_town_did_not_allow_gets_no_booking_in_its_frame(chromium, sites):
    # The same snippet on another port of localhost: another origin, which Gelida did not list.
    _context, page, problems = open_town_page(chromium, sites.other_url)
    refused(page, problems, f"frame-ancestors 'self' {sites.allowed_url}")

    # The site's own pages are never framed, not even by a town's allowed page.
    sites.allowed.page(f'<iframe src="{sites.ours}/reserva/gelida/" title="Cita"></iframe>')
    page.goto(sites.allowed_url + "/")
    refused(page, problems, "frame-ancestors 'none'")
    page.context.close()
