"""What may import what (docs/architecture.md, "What may depend on what"): imports go downhill.

Each module belongs to a room; rooms stand on floors. A module may import its own room and
the floors below; two rooms on the same floor may not import each other, except where a
feature uses another one (the pairs in ``SIDEWAYS``). Function-level imports count too;
imports only for type hints (``if TYPE_CHECKING:``) do not.
"""

from __future__ import annotations

import ast
from pathlib import Path

UMIC = Path(__file__).resolve().parents[2] / "umic"

#: room -> floor. A room is a package of umic, or a module at its root.
FLOORS = {
    "config": 0,
    "clock": 0,
    "extensions": 0,
    "connections": 0,  # when a pooled database connection is checked
    "core": 0,
    "models": 1,
    "web": 2,
    "mail": 3,
    "offices": 3,  # the consumer-office directory: each town's office (and has_omic)
    "companies": 3,  # the registry of companies: cases and mediations name one
    "municipalities": 4,
    "booking": 4,
    "surveys": 4,
    "casefiles": 4,
    "stats": 4,
    "pages": 4,
    "mailbox": 4,  # the consumer mailbox: a message becomes a case file
    "visits": 4,  # the mobile unit's visits: in-person appointments are bookings
    "privacy": 4,  # retention and the people's rights: forgets what the features hold
    "letters": 4,  # the letters the service writes: PDFs stored as case documents
    "triage": 4,  # models learnt from the cases: suggestions, similar cases, their figures
    "assist": 4,  # the optional language model: summaries and drafts, personal data removed
    "embed": 5,
    "workspace": 5,
    "mediation": 5,  # a case's mediation with its company: staff panel and company page
    "admin": 5,
    "demo": 6,
    "jobs": 6,
    "cli": 7,
    "__init__": 8,  # the app factory: it registers everything
}
#: Features on one floor that use another one: (importer, imported).
SIDEWAYS = {
    ("booking", "surveys"),  # marking a call attended queues its survey
    ("stats", "surveys"),  # the results read the survey's scale
    ("admin", "embed"),  # a town's page says how to embed its booking
    ("privacy", "casefiles"),  # deleting a document deletes its file, where casefiles keeps it
    ("privacy", "booking"),  # erasing a person cancels their future bookings first
    ("pages", "privacy"),  # the privacy page lists the retention schedule
    ("triage", "casefiles"),  # accepting a suggestion edits the case through its history
    ("mailbox", "casefiles"),  # a mailbox message is a case file, its files its documents
    ("mailbox", "booking"),  # its cap refusals join the booking's alerts (booking.abuse)
    ("visits", "booking"),  # an in-person time is a booking: same claims, caps, drafts
    ("mediation", "workspace"),  # its staff panel is part of the case page
    ("letters", "casefiles"),  # a letter is stored as a document of its case (store_bytes)
}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> dict[str, Path]:
    found = {}
    for path in UMIC.rglob("*.py"):
        parts = list(path.relative_to(UMIC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path) -> list[tuple[int, str]]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def walk(tree):
        for node in ast.iter_child_nodes(tree):
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                continue
            yield node
            yield from walk(node)

    found = []
    for node in walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            names = [f"{target}.{alias.name}" for alias in node.names] if not node.module else []
            found += [(node.lineno, name) for name in names or [target]]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("umic"):
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("umic")]
    return found


def test_every_room_has_a_floor():
    rooms = {_room(module) for module in _modules()}
    assert rooms <= set(FLOORS), rooms - set(FLOORS)


def test_imports_go_downhill_or_to_a_named_neighbour():
    uphill = []
    for module, path in _modules().items():
        room = _room(module)
        for line, target in _imports(module, path):
            other = _room(target)
            if other == room or other == "__init__" and target == "umic":
                continue
            if FLOORS[other] < FLOORS[room] or (room, other) in SIDEWAYS:
                continue
            uphill.append(f"{path.relative_to(UMIC)}:{line} imports {target}")
    assert uphill == []
