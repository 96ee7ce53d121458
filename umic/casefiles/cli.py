"""``flask --app umic cases import FILE [--dry-run]`` and ``cases export [--output FILE]``."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click

from .tracker import HEADER
from .tracker import RowProblem


@click.group("cases")
def cases_cli() -> None:
    """Case files (expedients) in the existing tracker's list format."""


def _describe(problem: RowProblem) -> str:
    where = f"line {problem.line}" + (f", {problem.number}" if problem.number else "")
    kind = "skipped" if problem.skipped else "warning"
    return f"{where}: {kind}: {problem.message}"


@cases_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
def import_command(path: Path, dry_run: bool) -> None:
    """Create or update cases from the tracker's list (idempotent on Expedient).

    The file has the tracker's header line (ID, Nom tràmit, Registre, Expedient, ...),
    tab- or semicolon-separated, UTF-8 or Windows-1252, dates dd/mm/yyyy HH:MM:SS in local
    time. Rows that cannot be imported are listed and skipped; a file that cannot be read
    changes nothing and exits with an error.
    """
    from .tracker_db import TrackerFileError
    from .tracker_db import import_tracker

    try:
        report = import_tracker(path.read_bytes(), dry_run=dry_run)
    except TrackerFileError as error:
        raise click.ClickException(f"{path.name}: {error}. Nothing was imported.") from None
    for problem in report.problems:
        click.echo(_describe(problem))
    separator = "tab" if report.delimiter == "\t" else "semicolon"
    click.echo(
        f"{path.name}: {report.rows} rows ({report.encoding}, {separator}-separated): "
        + ("would create" if dry_run else "created")
        + f" {report.created}, "
        + ("would update" if dry_run else "updated")
        + f" {report.updated}, unchanged {report.unchanged}, skipped {len(report.skipped)}, "
        f"warnings {len(report.warnings)}."
    )
    if dry_run:
        click.echo("Dry run: nothing was written.")


@cases_cli.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of standard output.",
)
def export_command(output: Path | None) -> None:
    """Write every case in the tracker's format (tab-separated, UTF-8), newest first."""
    from .tracker_db import export_cases

    if output is not None:
        # Written beside the target and renamed: a failure never leaves half a file.
        partial = output.with_name(output.name + ".part")
        try:
            with partial.open("w", encoding="utf-8", newline="") as handle:
                count = export_cases(handle)
            partial.replace(output)
        finally:
            partial.unlink(missing_ok=True)
        click.echo(f"{count} cases written to {output} ({len(HEADER)} columns).")
        return
    binary = getattr(sys.stdout, "buffer", None)
    if binary is None:  # a text-only stream (some consoles): its own encoding
        export_cases(sys.stdout)
        return
    sys.stdout.flush()
    # UTF-8 whatever the console's encoding, as the format says.
    text = io.TextIOWrapper(binary, encoding="utf-8", newline="", write_through=True)
    try:
        export_cases(text)
        text.flush()
    finally:
        text.detach()
