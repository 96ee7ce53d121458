"""Every user-facing string is translatable: no bare text in templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[1] / "umic" / "templates"
# Names that are the same in every language.
PROPER_NAMES = {
    "Diputació de Barcelona",
    "Google Calendar",
    "Outlook",
    "METHOD:",
    "SEQUENCE:",
    "©",
}

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
# Blocks whose content is markup data, not text people read (a CSS class name).
_DATA_BLOCKS = re.compile(r"\{% block body_class %\}.*?\{% endblock %\}", re.S)
_TAG = re.compile(r"<[^>]+>", re.S)
_ENTITY = re.compile(r"&[a-z]+;|&#\d+;")


def bare_text(source: str) -> list[str]:
    """Visible words left once Jinja and HTML are removed."""
    source = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", source, flags=re.S)
    source = _DATA_BLOCKS.sub(" ", source)
    text = _ENTITY.sub(" ", _TAG.sub(" ", _JINJA.sub(" ", source)))
    for name in PROPER_NAMES:
        text = text.replace(name, " ")
    chunks = (chunk.strip() for chunk in re.split(r"\s{2,}|\n", text))
    return [chunk for chunk in chunks if re.search(r"[^\W\d_]{2,}", chunk)]


@pytest.mark.parametrize(
    "template",
    sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*") if p.is_file()),
)
def test_no_untranslatable_text_in_templates(template):
    assert bare_text((TEMPLATES / template).read_text(encoding="utf-8")) == []


def test_the_check_catches_bare_text():
    assert bare_text("<p>Hola {{ name }}</p>") == ["Hola"]
    assert bare_text('<p>{{ _("Hola") }}</p>') == []
