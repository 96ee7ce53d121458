"""L11 in Chromium: at 360 px the times read "09:00 a 09:30" on one line, never wrapped as
"09:00 a / 09:30", each inside its column (no label running into the next), and the page
does not scroll sideways."""

from __future__ import annotations

import pytest

from support.browser import PHONE
from support.browser import launched
from support.browser import served
from support.factories import make_world
from support.journey import Citizen

pytestmark = pytest.mark.browser

#: For each time's label: how many lines its text takes (a Range's rectangles, one per line).
LINES = """() => Array.from(document.querySelectorAll('.choices-times .choice-label'))
.map(label => {
  const range = document.createRange();
  range.selectNodeContents(label);
  const tops = new Set(Array.from(range.getClientRects()).map(rect => Math.round(rect.top)));
  const right = label.parentElement.getBoundingClientRect().right;
  const inside = label.getBoundingClientRect().right <= right + 1;
  return [label.textContent.trim(), inside ? tops.size : 'overflows its column'];
})"""


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_times_do_not_wrap_on_a_phone(app, client):
    make_world()
    day = Citizen(client).full_day()
    with launched() as browser, served(app) as base:
        context = browser.new_context(viewport=PHONE, java_script_enabled=False)
        page = context.new_page()
        for lang in ("ca", "es"):
            page.goto(f"{base}/reserva/gelida/?dia={day}&lang={lang}#hores")
            lines = page.evaluate(LINES)
            assert len(lines) >= 4, lines
            assert [text for text, count in lines if count != 1] == [], lines
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        context.close()
