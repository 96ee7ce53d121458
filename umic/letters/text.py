"""The small template language of letters: plain paragraphs with ``{{ placeholders }}``.

Texts are edited by a coordinator, so they run in Jinja's ImmutableSandboxedEnvironment
(no attribute starting with "_", no method that changes data) with autoescape on and an
undefined that raises: a name we do not know is an error, never an empty gap. Saving checks
the text first (:func:`check`): syntax errors with their line, unknown placeholders listed.

The rendered text is plain text (the HTML layout escapes it again, paragraph by paragraph:
umic.letters.render.paragraphs), so what a citizen typed can never become markup.
No Flask here (Jinja only: the sandbox is its own).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from dataclasses import field

from jinja2 import StrictUndefined
from jinja2 import TemplateSyntaxError
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError
from jinja2.exceptions import UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..core.codes import N_

#: What a blank left to fill in by hand looks like (a value the case does not have yet).
BLANK = "__________"

#: Every placeholder a letter may use, with what it holds (Catalan, marked for translation:
#: the editor translates them).
PLACEHOLDERS: dict[str, str] = {
    "case.number": N_("Número de l'expedient (2025/0029005)"),
    "case.date": N_("Data de la sol·licitud"),
    "consumer.name": N_("Nom de la persona interessada"),
    "consumer.address": N_("Adreça de la persona interessada"),
    "consumer.email": N_("Correu electrònic de la persona interessada"),
    "company.name": N_("Nom de l'empresa"),
    "company.address": N_("Adreça de l'empresa"),
    "deadline": N_("Termini: data límit (documentació o resposta de l'empresa)"),
    "session.when": N_("Dia i hora de la sessió conjunta de mediació"),
    "session.link": N_("Enllaç de la videotrucada de la sessió"),
    "amount_claimed": N_("Import reclamat"),
    "amount_recovered": N_("Import recuperat"),
    "outcome": N_("Resultat de la mediació"),
    "technician.name": N_("Nom de la persona tècnica"),
    "today": N_("Data d'avui"),
    "town": N_("Municipi de la persona interessada"),
    "organisation": N_("Nom del servei"),
}

#: Top-level names, and the attributes each group has.
GROUPS: dict[str, set[str]] = {}
for _name in PLACEHOLDERS:
    _top, _dot, _attr = _name.partition(".")
    GROUPS.setdefault(_top, set())
    if _attr:
        GROUPS[_top].add(_attr)

SUBJECT_MAX = 200
BODY_MAX = 20000


class LetterTextError(ValueError):
    """A text that cannot be rendered: ``errors`` say why, for people."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


_ENV = ImmutableSandboxedEnvironment(
    autoescape=True,
    undefined=StrictUndefined,
    keep_trailing_newline=False,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class Problems:
    """What :func:`check` found in one text."""

    syntax: list[str] = field(default_factory=list)  # "línia 3: ..."
    unknown: list[str] = field(default_factory=list)  # names we do not know
    unsafe: list[str] = field(default_factory=list)  # "_private" attributes

    def __bool__(self) -> bool:
        return bool(self.syntax or self.unknown or self.unsafe)


def _names(tree: nodes.Node) -> tuple[set[str], set[str]]:
    """(placeholder names used, unsafe attribute names) in a parsed template."""
    used: set[str] = set()
    unsafe: set[str] = set()
    consumed: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        attr = getattr(node, "attr", None)
        if attr is None and isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            attr = str(node.arg.value)
        if attr is not None and attr.startswith("_"):
            unsafe.add(attr)
        if isinstance(node.node, nodes.Name) and attr is not None:
            used.add(f"{node.node.name}.{attr}")
            consumed.add(id(node.node))
    for node in tree.find_all(nodes.Name):
        if id(node) not in consumed and node.ctx == "load":
            used.add(node.name)
    return used, unsafe


def check(text: str) -> Problems:
    """Syntax errors (with their line), unknown placeholders and unsafe attributes."""
    problems = Problems()
    try:
        tree = _ENV.parse(text)
    except TemplateSyntaxError as error:
        problems.syntax.append(f"{error.lineno}: {error.message}")
        return problems
    used, unsafe = _names(tree)
    for name in sorted(used):
        top, _dot, attr = name.partition(".")
        if top not in GROUPS or (attr and attr not in GROUPS[top]) or (not attr and GROUPS[top]):
            problems.unknown.append(name)
    problems.unsafe = sorted(unsafe)
    return problems


def render(text: str, context: dict) -> str:
    """``text`` with its placeholders filled: plain text. Raises LetterTextError."""
    try:
        out = _ENV.from_string(text).render(**context)
    except TemplateSyntaxError as error:
        raise LetterTextError([f"{error.lineno}: {error.message}"]) from error
    except (SecurityError, UndefinedError) as error:
        raise LetterTextError([str(error)]) from error
    except TemplateError as error:
        raise LetterTextError([str(error)]) from error
    # Autoescaped values come back as HTML entities: the letter text is plain text (the
    # layout escapes it again).
    return html.unescape(out)


def sample_context() -> dict:
    """Values to preview a text with (no real person's data)."""
    return {
        "case": {"number": "2026/0000001", "date": "1 de desembre de 2026"},
        "consumer": {
            "name": "Persona de prova",
            "address": "Adreça de prova",
            "email": "persona@example.org",
        },
        "company": {"name": "Empresa de prova", "address": "Adreça de l'empresa"},
        "deadline": "15 de desembre de 2026",
        "session": {"when": "10 de desembre de 2026, 10:00", "link": "https://example.org/sala"},
        "amount_claimed": "120,00 €",
        "amount_recovered": "120,00 €",
        "outcome": "Acord",
        "technician": {"name": "Persona tècnica"},
        "today": "5 de desembre de 2026",
        "town": "Municipi",
        "organisation": "Servei de Consum de la Diputació de Barcelona",
    }
