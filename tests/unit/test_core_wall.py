"""The wall round the pure core: ``umic/core/`` (and the few pure modules kept in their areas)
import no web framework, no database layer, none of the app's models, extensions or clock.

That is what lets their rules be read without the app around them and unit-tested in
milliseconds: callers turn rows into plain values and pass ``now`` in. Third-party libraries
that only compute (Babel, icalendar, pygal, holidays) are fine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

UMIC = Path(__file__).resolve().parents[2] / "umic"
#: Pure modules that live in their area's package rather than in core/.
PURE_ELSEWHERE = ["casefiles/tracker.py", "stats/charts.py", "privacy/schedule.py"]
#: Top-level packages a pure module may not import.
FORBIDDEN = {"flask", "werkzeug", "sqlalchemy", "wtforms", "jinja2", "alembic", "psycopg"}


def _pure_modules() -> list[Path]:
    return sorted((UMIC / "core").glob("*.py")) + [UMIC / name for name in PURE_ELSEWHERE]


def _imports(path: Path, umic: Path = UMIC) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, function-level ones too."""
    package = path.relative_to(umic.parent).with_suffix("").parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if node.level and not node.module:  # from .. import x: x is a module
                found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, module))
    return found


def _forbidden(module: str) -> bool:
    top = module.split(".")[0]
    if top in FORBIDDEN or top.startswith("flask_"):
        return True
    # Inside the app, only the core itself.
    return top == "umic" and not module.startswith("umic.core")


@pytest.mark.parametrize("path", _pure_modules(), ids=lambda p: p.relative_to(UMIC).as_posix())
def test_a_pure_module_imports_no_web_database_models_or_clock(path):
    offenders = [f"line {line}: {module}" for line, module in _imports(path) if _forbidden(module)]
    assert offenders == []


def test_the_wall_would_catch_what_it_forbids(tmp_path):
    """The check above must not pass by reading nothing: it sees relative and lazy imports."""
    probe = tmp_path / "umic" / "core" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text(
        "from flask import current_app\n"
        "from ..models import Booking\n"
        "from .. import clock\n"
        "from . import dates\n"
        "def later():\n"
        "    import sqlalchemy\n"
    )
    modules = [module for _line, module in _imports(probe, tmp_path / "umic")]
    assert modules == ["flask", "umic.models", "umic.clock", "umic.core.dates", "sqlalchemy"]
    assert [_forbidden(module) for module in modules] == [True, True, True, False, True]
