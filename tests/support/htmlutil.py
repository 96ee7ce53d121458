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
