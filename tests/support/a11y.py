"""Accessibility checks run in the browser (docs/accessibility.md, "How it is checked").

Helpers only: each takes a Playwright page that shows the state to check and returns what it
found, so a test can gather every problem of a page before asserting.
"""

from __future__ import annotations

import gzip
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from umic import clock
from umic.casefiles.documents import request_documents
from umic.casefiles.service import create_case
from umic.core.tokens import hash_token
from umic.core.tokens import new_token
from umic.extensions import db
from umic.models import AccessToken
from umic.models import BookingStatus
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import Municipality
from umic.models import Role
from umic.models import TokenPurpose
from umic.municipalities import MUNICIPALITIES_CSV
from umic.municipalities import OMICS_CSV
from umic.municipalities import import_municipalities
from umic.surveys.service import find_survey_link
from umic.surveys.service import new_response

from .browser import served
from .factories import EVERY_DAY
from .factories import PASSWORD
from .factories import make_booking
from .factories import make_service
from .factories import make_staff

#: The rules every page state must pass: WCAG 2.0, 2.1 and 2.2 at levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
BLOCKING = {"serious", "critical"}
WIDTHS = (320, 1280)
HEIGHT = 800

#: WCAG 1.4.12 Text Spacing: the overrides a user's style sheet may apply.
TEXT_SPACING_CSS = """
* { line-height: 1.5 !important; letter-spacing: .12em !important;
    word-spacing: .16em !important; }
p { margin-bottom: 2em !important; }
"""

_axe = Axe()


@dataclass
class Findings:
    """What the checks found on one page state; ``blocking`` fails a test, ``notes`` print."""

    blocking: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def extend(self, other: Findings) -> None:
        self.blocking += other.blocking
        self.notes += other.notes


def axe_violations(page) -> list[dict]:
    """axe-core's violations at the ``AXE_TAGS`` on the page as it is now.

    axe is put into the page once (through the DevTools protocol, which the page's CSP does
    not govern) and run again at each width: half a megabyte of script per run otherwise.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe.axe_script)
    return page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]


def describe(violation: dict, where: str) -> str:
    targets = [", ".join(node["target"]) for node in violation["nodes"]][:5]
    return (
        f"{where}: [{violation['impact']}] {violation['id']} ({', '.join(violation['tags'])}): "
        f"{violation['help']} -> {targets}"
    )


def axe_findings(page, where: str) -> Findings:
    """Serious and critical violations block; moderate and minor are only reported."""
    found = Findings()
    for violation in axe_violations(page):
        text = describe(violation, where)
        if violation["impact"] in BLOCKING:
            found.blocking.append(text)
        else:
            found.notes.append(text)
    return found


def page_scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def clipped_elements(page) -> list[str]:
    """Elements that hide overflowing content (overflow hidden or clip and content wider or
    taller than the box), except the deliberately 1 px screen-reader-only text and form
    controls, whose typed text scrolls inside them by design."""
    return page.evaluate(
        """() => {
          const found = [];
          for (const el of document.querySelectorAll('body *')) {
            if (el.closest('.visually-hidden')) continue;
            if (el.matches('input, textarea, select')) continue;
            const style = getComputedStyle(el);
            if (style.display === 'none' || style.visibility === 'hidden') continue;
            // The same 1 px pattern applied by a media query (a stacked table's thead).
            const onePixel = el.clientWidth <= 1 && el.clientHeight <= 1;
            if (onePixel && style.clipPath === 'inset(50%)') continue;
            const hides = v => v === 'hidden' || v === 'clip';
            const wide = hides(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
            const tall = hides(style.overflowY) && el.scrollHeight > el.clientHeight + 1;
            if (wide || tall) {
              const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                + (el.className && typeof el.className === 'string'
                   ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
              found.push(`${name} (${el.scrollWidth}x${el.scrollHeight} in `
                + `${el.clientWidth}x${el.clientHeight})`);
            }
          }
          return found;
        }"""
    )


def inject_text_spacing(page) -> None:
    """Apply the WCAG 1.4.12 spacing as a user style sheet would.

    A constructed style sheet: the app's CSP forbids inline <style>, which is right, and a
    user's own style sheet is not subject to the page's CSP either.
    """
    page.evaluate(
        """css => {
          const sheet = new CSSStyleSheet();
          sheet.replaceSync(css);
          document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
        }""",
        TEXT_SPACING_CSS,
    )


def statement_links(page) -> int:
    """Links whose accessible name mentions the accessibility statement (every page has one)."""
    return page.get_by_role("link", name=re.compile("ccessibilit")).count()


def small_targets(page) -> list[str]:
    """Targets under 24 x 24 CSS px without the spacing that excuses them (WCAG 2.5.8).

    As the criterion says: a smaller target passes when a 24 px circle centred on it touches
    no other target and no other such circle; a link inside a sentence is exempt (inline).
    """
    return page.evaluate(
        """() => {
          const selector = 'a[href], button, input:not([type=hidden]), select, textarea, '
            + 'summary, [tabindex]:not([tabindex="-1"])';
          const shown = el => {
            const style = getComputedStyle(el);
            if (style.display === 'none' || style.visibility === 'hidden') return null;
            if (el.closest('.visually-hidden')) return null;
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0 || r.right <= 0 || r.bottom <= 0) return null;
            return r;
          };
          const inSentence = el => {
            if (el.tagName !== 'A' || getComputedStyle(el).display !== 'inline') return false;
            const block = el.parentElement;
            return block.textContent.trim().length > el.textContent.trim().length;
          };
          const targets = [];
          for (const el of document.querySelectorAll(selector)) {
            const r = shown(el);
            if (r && !inSentence(el)) targets.push({el, r});
          }
          const centre = r => [(r.left + r.right) / 2, (r.top + r.bottom) / 2];
          const distance = ([x, y], r) => Math.hypot(
            Math.max(r.left - x, 0, x - r.right), Math.max(r.top - y, 0, y - r.bottom));
          const small = targets.filter(t => t.r.width < 23.95 || t.r.height < 23.95);
          const found = [];
          for (const t of small) {
            const c = centre(t.r);
            const near = targets.find(o => o !== t && !o.el.contains(t.el)
              && !t.el.contains(o.el) && (small.includes(o)
                ? Math.hypot(c[0] - centre(o.r)[0], c[1] - centre(o.r)[1]) < 24
                : distance(c, o.r) < 12));
            if (near) {
              const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                + ' "' + (el.innerText || el.value || '').trim().slice(0, 30) + '"';
              found.push(`${name(t.el)} (${t.r.width.toFixed(1)}x${t.r.height.toFixed(1)}) `
                + `too close to ${name(near.el)}`);
            }
          }
          return found;
        }"""
    )


def check_state(
    page, name: str, widths: tuple[int, ...] = WIDTHS, targets: bool = False
) -> Findings:
    """Every check of one page state: axe at each width, reflow at 320 px, the statement
    link, text spacing clipping nothing and, with ``targets``, target sizes (citizen pages).
    Leaves the page with the spacing injected."""
    found = Findings()
    if statement_links(page) < 1:
        found.blocking.append(f"{name}: no link to the accessibility statement")
    for width in widths:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        where = f"{name} @{width}px"
        found.extend(axe_findings(page, where))
        if width <= 320 and page_scroll_width(page) > width:
            found.blocking.append(
                f"{where}: scrolls sideways (scrollWidth {page_scroll_width(page)}) (WCAG 1.4.10)"
            )
        if targets:
            for target in small_targets(page):
                found.blocking.append(f"{where}: target under 24px: {target} (WCAG 2.5.8)")
    inject_text_spacing(page)
    for width in widths:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        for element in clipped_elements(page):
            found.blocking.append(
                f"{name} @{width}px with text spacing: clips {element} (WCAG 1.4.12)"
            )
        if width <= 320 and page_scroll_width(page) > width:
            found.blocking.append(
                f"{name} @{width}px with text spacing: scrolls sideways (WCAG 1.4.12)"
            )
    return found


#: What a focus indicator can change, read from the computed style.
_STYLE_JS = """el => {
  const style = getComputedStyle(el);
  return {
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth) || 0,
    outlineColor: style.outlineColor,
    boxShadow: style.boxShadow,
    background: style.backgroundColor,
  };
}"""


def focus_indicator(page) -> dict:
    """The focused element (tag, text, its index among the marked ones) and its style."""
    return page.evaluate(
        f"""() => {{
          const el = document.activeElement;
          return {{
            index: el.dataset.a11yIndex === undefined ? null : Number(el.dataset.a11yIndex),
            name: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
              + ' "' + (el.innerText || el.value || '').trim().slice(0, 30) + '"',
            style: ({_STYLE_JS})(el),
          }};
        }}"""
    )


def _outline_shows(style: dict) -> bool:
    return (
        style["outlineStyle"] != "none"
        and style["outlineWidth"] > 0
        and style["outlineColor"] not in ("transparent", "rgba(0, 0, 0, 0)")
    )


def focus_is_visible(before: dict, focused: dict) -> bool:
    """Focus changes how the element looks: an outline that shows, a new box shadow or a new
    background (the links' yellow)."""
    outline = _outline_shows(focused) and (
        not _outline_shows(before)
        or any(
            focused[key] != before[key] for key in ("outlineStyle", "outlineWidth", "outlineColor")
        )
    )
    shadow = focused["boxShadow"] not in ("none", before["boxShadow"])
    return outline or shadow or focused["background"] != before["background"]


def invisible_focus(page, limit: int = 200) -> tuple[int, list[str]]:
    """Tab through the page: (how many elements got focus, those whose focus did not show).

    Each focusable element's style is read first, unfocused; then the keyboard moves the focus
    (so ``:focus-visible`` applies as for a keyboard user) until it comes back round.
    """
    before = page.evaluate(
        f"""() => {{
          document.activeElement.blur();
          const selector = 'a[href], button, input:not([type=hidden]), select, textarea, '
            + 'summary, [tabindex]';
          return [...document.querySelectorAll(selector)].map((el, i) => {{
            el.dataset.a11yIndex = i;
            return ({_STYLE_JS})(el);
          }});
        }}"""
    )
    seen: set[int] = set()
    missing: list[str] = []
    for _step in range(limit):
        page.keyboard.press("Tab")
        focused = focus_indicator(page)
        index = focused["index"]
        if index is None:  # the document itself, between the last element and the first
            continue
        if index in seen:
            break
        seen.add(index)
        if not focus_is_visible(before[index], focused["style"]):
            missing.append(f"{focused['name']}: {focused['style']}")
    return len(seen), missing


# --- Page weight ------------------------------------------------------------------------------


@dataclass
class Load:
    """What one page load fetched: (url, resource type, gzip-compressed bytes) each."""

    requests: list[str]
    responses: list[tuple[str, str, int]]

    @property
    def compressed_bytes(self) -> int:
        return sum(size for _url, _type, size in self.responses)


def first_load(page, url: str) -> Load:
    """Load ``url`` with the browser cache off, as a first visit would.

    The test server sends bodies uncompressed; a production proxy gzips them, so each
    body is counted at its gzip size.
    """
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    requests: list[str] = []
    responses: list = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("response", lambda r: responses.append(r))
    page.goto(url, wait_until="load")
    sized = [
        (r.url, r.request.resource_type, len(gzip.compress(r.body(), compresslevel=6)))
        for r in responses
    ]
    cdp.detach()
    return Load(requests=requests, responses=sized)


# --- One server per test module, with data for every page state -------------------------------

RATE_LIMITS = (
    "RATELIMIT_BOOKING",
    "RATELIMIT_MANAGE",
    "RATELIMIT_TOKEN_PAGES",
    "RATELIMIT_SIGN_IN",
)

#: A one-page PDF, enough for the upload check (it reads the type from the first bytes).
PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


@dataclass
class Site:
    """The app served on loopback, the browser, and the rows the page states need."""

    base: str
    app: object
    browser: object
    town: object
    service: object
    technicians: list
    coordinator: object
    upload_dir: Path
    _states: dict = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base + path

    # -- browser ------------------------------------------------------------------------

    @contextmanager
    def page(self, *, user: str | None = None, javascript: bool = True, width: int = 1280):
        """A fresh browser context (signed in as ``user``) and its page.

        Console errors other than HTTP error statuses (a 404 page logs its own 404) are
        collected in ``page.problems``: a CSP violation would show up there.
        """
        options = {"viewport": {"width": width, "height": HEIGHT}}
        options["java_script_enabled"] = javascript
        if user:
            options["storage_state"] = self._signed_in(user)
        context = self.browser.new_context(**options)
        page = context.new_page()
        problems: list[str] = []
        page.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if m.type == "error" and "Failed to load resource" not in m.text
                else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.problems = problems
        try:
            yield page
        finally:
            context.close()

    def _signed_in(self, username: str) -> dict:
        """Sign in once through the real form; later contexts reuse the cookies."""
        if username not in self._states:
            context = self.browser.new_context()
            page = context.new_page()
            page.goto(self.url("/entra"))
            page.fill("#username", username)
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_url(lambda url: "/entra" not in url)
            self._states[username] = context.storage_state()
            context.close()
        return self._states[username]

    # -- rows ------------------------------------------------------------------------------

    def booking(self, minutes_from_now: int, **values):
        """(booking, manage token) starting ``minutes_from_now`` minutes from now (rounded
        down to 5 minutes), with the first technician free then (a new one if none is)."""
        start = clock.now() + timedelta(minutes=minutes_from_now)
        start = start.replace(minute=start.minute - start.minute % 5, second=0, microsecond=0)
        for technician in self.technicians:
            try:
                return make_booking(self.town, self.service, technician, start, **values)
            except IntegrityError:  # that technician is busy then
                db.session.rollback()
        self.technicians.append(make_staff(f"OPSSEXTRA{len(self.technicians)}"))
        return make_booking(self.town, self.service, self.technicians[-1], start, **values)

    def survey_link(self, *, expires_in_days: int = 30, answered: bool = False) -> str:
        """The path of a survey link for a call that ended an hour ago."""
        booking, _token = self.booking(-24 * 60, status=BookingStatus.ATTENDED)
        token = new_token()
        now = clock.now()
        db.session.add(
            AccessToken(
                token_hash=hash_token(token),
                purpose=TokenPurpose.SURVEY,
                booking_id=booking.id,
                created_at=now - timedelta(hours=1),
                expires_at=now + timedelta(days=expires_in_days),
            )
        )
        db.session.commit()
        if answered:
            link = find_survey_link(token, now)
            new_response(
                link,
                attention=9,
                competence=10,
                resolved="totalment",
                comment="Molt clar.",
                language="ca",
                now=now,
            )
            db.session.commit()
        return f"/enquesta/{token}"

    def case(self, **values) -> CaseFile:
        case = create_case(
            {
                "interested_name": "Raúl Sánchez Puig",
                "interested_email": "raul@example.net",
                "municipality_id": self.town.id,
                "assigned_to_id": self.technicians[0].id,
                "status": CaseStatus.EN_TRAMIT,
                "company": "Aigües del Penedès",
                **values,
            },
            actor=self.coordinator,
            now=clock.now(),
        )
        db.session.commit()
        return case

    def upload_link(self) -> tuple[CaseFile, str]:
        """A case asking for documents, and the path of the link the citizen got by e-mail."""
        today = clock.now().astimezone(ZoneInfo("Europe/Madrid")).date()
        case = self.case(
            status=CaseStatus.DOCUMENTACIO,
            deadline=today + timedelta(days=10),
            status_detail="La factura de l'aigua de maig",
        )
        token = request_documents(case, actor=self.coordinator, now=clock.now())
        db.session.commit()
        assert token
        return case, f"/documents/{token}"


def build_world(upload_dir: Path):
    """The real towns of the province, Gelida enrolled, three technicians open every day,
    a coordinator, and a little history for the staff pages."""
    report = import_municipalities(MUNICIPALITIES_CSV, OMICS_CSV)
    assert not report.errors, report.errors
    town = db.session.scalar(select(Municipality).where(Municipality.ine_code == "08091"))
    town.enrolled_on = date(2025, 3, 1)
    db.session.commit()
    service = make_service()
    technicians = [
        make_staff(code, hours=EVERY_DAY) for code in ("OPSSVEGAVN", "OPSSAPRESGA", "OPSSPASCUETCA")
    ]
    coordinator = make_staff("OPSSCOORD", role=Role.COORDINATOR, name="Coordinació SSPC")
    return town, service, technicians, coordinator


@contextmanager
def serve_site(template: Path, folder: Path, browser) -> Iterator[Site]:
    """A migrated copy of the template database, the world in it, the app on loopback.

    The test thread keeps an application context for the module, to add rows as it goes.
    """
    from support.apps import make_app

    path = folder / "umic.db"
    shutil.copy(template, path)
    upload_dir = folder / "fitxers"
    # The rate limits are on (to show their page) but out of reach; a state lowers one.
    limits = {key: "100000 per minute" for key in RATE_LIMITS}
    app = make_app(
        f"sqlite:///{path}",
        {"UPLOAD_FOLDER": str(upload_dir), "RATELIMIT_ENABLED": True, **limits},
    )
    with app.app_context():
        town, service, technicians, coordinator = build_world(upload_dir)
        try:
            with served(app) as base:
                yield Site(
                    base=base,
                    app=app,
                    browser=browser,
                    town=town,
                    service=service,
                    technicians=technicians,
                    coordinator=coordinator,
                    upload_dir=upload_dir,
                )
        finally:
            db.session.remove()
            db.engine.dispose()
