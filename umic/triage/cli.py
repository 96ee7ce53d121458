"""``flask --app umic triage ...``: train now, suggest for texts on stdin, evaluate a TSV.

``suggest`` is how the service measures the models from outside the app: one description per
line in, one JSON object per line out (the raw suggestion, quality thresholds not applied)::

    {"type": "reclamacio", "type_confidence": 0.91, "sector": "TELECOM",
     "sector_confidence": 0.88, "company": "Vodafone", "company_confidence": 0.93}

A blank line gives every field null. Without a trained model it writes a message on stderr and
exits with status 1, so a script never mistakes "no model" for "no suggestion".
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from .. import clock
from . import service


@click.group("triage")
def triage_cli() -> None:
    """The triage models trained on the service's own cases."""


@triage_cli.command("train")
@with_appcontext
def train_command() -> None:
    """Train the models now on the cases technicians have classified."""
    try:
        run = service.train_and_store(now=clock.now(), trigger="command")
    except Exception as error:  # stored as a failed run by train_and_store
        raise click.ClickException(f"training failed: {error}") from error
    service.forget_loaded()
    evaluation = json.loads(run.evaluation or "{}")

    def accuracy(kind: str) -> str:
        figures = evaluation.get(kind)
        if not figures:
            return "not trained (too few examples)"
        return f"{figures['accuracy']:.3f} ({figures['method']}, {figures['evaluated']} scored)"

    click.echo(f"Model {run.id} trained in {run.seconds:.1f} s ({run.library_version}).")
    click.echo(f"Case type: {run.type_examples} examples, accuracy {accuracy('case_type')}")
    click.echo(f"Sector: {run.sector_examples} examples, accuracy {accuracy('sector')}")
    click.echo(f"Similar cases indexed: {run.indexed_cases}")


def _suggestion(text: str) -> dict:
    empty = {
        "type": None,
        "type_confidence": None,
        "sector": None,
        "sector_confidence": None,
        "company": None,
        "company_confidence": None,
    }
    if not text.strip():
        return empty
    found = service.suggest_text(text)
    if found is None:
        return empty
    result = dict(empty)
    if found.case_type is not None:
        result["type"] = found.case_type.label
        result["type_confidence"] = round(found.case_type.confidence, 4)
    if found.sector is not None:
        result["sector"] = found.sector.label
        result["sector_confidence"] = round(found.sector.confidence, 4)
    if found.company is not None and found.company_name:
        result["company"] = found.company_name
        result["company_confidence"] = round(found.company.confidence, 4)
    return result


def _require_model() -> None:
    current = service.loaded()
    if current is None or (current.models.case_type is None and current.models.sector is None):
        click.echo(
            "error: no triage model is trained (run `flask --app umic triage train`)", err=True
        )
        sys.exit(1)


@triage_cli.command("suggest")
@with_appcontext
def suggest_command() -> None:
    """Read descriptions from stdin, one per line; print one JSON object per line."""
    _require_model()
    stream = sys.stdin
    if hasattr(stream, "reconfigure"):  # citizens' accents, whatever the terminal's locale
        try:
            stream.reconfigure(encoding="utf-8", errors="replace")
        except (ValueError, OSError):
            pass
    for line in stream:
        text = line.rstrip("\r\n")
        click.echo(json.dumps(_suggestion(text), ensure_ascii=False))


@triage_cli.command("evaluate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def evaluate_command(path: Path) -> None:
    """Accuracy of the current model on a TSV (columns text, case_type, sector and
    optionally company: the registry name, empty when the text names none), as JSON."""
    _require_model()
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if rows and not {"text", "case_type", "sector"} <= set(rows[0]):
        raise click.ClickException("the file needs the columns text, case_type and sector")
    scores = {"case_type": [0, 0], "sector": [0, 0], "company": [0, 0]}
    has_company = bool(rows) and "company" in rows[0]
    for row in rows:
        got = _suggestion(row["text"] or "")
        for kind, key in (("case_type", "type"), ("sector", "sector")):
            if row.get(kind):
                scores[kind][1] += 1
                scores[kind][0] += got[key] == row[kind]
        if has_company:
            scores["company"][1] += 1
            scores["company"][0] += (got["company"] or "") == (row.get("company") or "")
    result = {"rows": len(rows)}
    for kind, (right, total) in scores.items():
        if kind == "company" and not has_company:
            continue
        result[kind] = {
            "evaluated": total,
            "correct": right,
            "accuracy": round(right / total, 4) if total else None,
        }
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))
