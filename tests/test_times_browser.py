"""Review finding M1: on a phone with JavaScript, choosing a day brings its times into view."""

from __future__ import annotations

import pytest

from support.browser import PHONE
from support.browser import launched
from support.browser import served
from support.factories import make_world

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_choosing_a_day_on_a_phone_shows_its_times(app):
    make_world(technicians=1)
    with launched() as browser, served(app) as site:
        page = browser.new_context(viewport=PHONE).new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{site}/reserva/gelida/")
        heading_before = page.inner_text("#hores") if page.locator("#hores").count() else ""
        page.click("label.choice-label >> nth=1")  # a tap on the second day
        page.wait_for_function(
            "(before) => { const h = document.getElementById('hores');"
            " return h && h.textContent !== before; }",
            arg=heading_before,
        )
        page.wait_for_timeout(400)  # htmx settles, then scrolls
        box = page.evaluate(
            "() => { const r = document.getElementById('hores').getBoundingClientRect();"
            " return [r.top, r.bottom]; }"
        )
        assert 0 <= box[0] and box[1] <= PHONE["height"], box
        # The first time is in view too: what the citizen looks for next.
        first = page.evaluate(
            "() => document.querySelector('#times input[name=slot] + label')"
            ".getBoundingClientRect().bottom"
        )
        assert first <= PHONE["height"], first
        # The focus stays on the day chosen (WCAG 3.2.2); the live region says how many times.
        assert page.evaluate("document.activeElement.name") == "dia"
        assert page.inner_text("#status").strip()
        assert problems == []
