"""Reading pages in tests."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

_CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in a page, as a browser would send it."""
    match = _CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def error_messages(html: str) -> list[str]:
    """The inline error messages, without the hidden 'Error:' prefix."""
    page = soup(html)
    return [
        p.get_text(" ", strip=True).removeprefix("Error:").strip()
        for p in page.select(".error-message")
    ]


def summary_links(html: str) -> list[tuple[str, str]]:
    """(href, text) of each error-summary link."""
    return [(a["href"], a.get_text(strip=True)) for a in soup(html).select(".error-summary a")]


def form_values(html: str, selector: str = "main form") -> dict[str, str]:
    """Every named field of the form ``selector`` finds, as a browser would submit it unchanged
    (a select's chosen option, or its first; no submit buttons)."""
    form = soup(html).select_one(selector)
    data = {}
    for element in form.select("input, select, textarea"):
        name = element.get("name")
        if not name or element.get("type") == "submit":
            continue
        if element.name == "select":
            chosen = element.select_one("option[selected]") or element.select_one("option")
            data[name] = chosen.get("value", "")
        elif element.name == "textarea":
            data[name] = element.get_text()
        else:
            data[name] = element.get("value", "")
    return data
