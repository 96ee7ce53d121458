"""``flask --app umic privacy ...``: the retention schedule from the command line (the
rights' commands, find/export/erase, join the same group)."""

from __future__ import annotations

import click

from .. import clock
from ..extensions import db
from .retention import apply_retention
from .retention import current_schedule
from .retention import due_counts
from .retention import expire_sign_in_attempts
from .schedule import Kind
from .schedule import duration_parts


@click.group("privacy")
def privacy_cli() -> None:
    """Personal data: the retention schedule."""


def _period(kind: Kind) -> str:
    period = current_schedule().period(kind)
    if period is None:
        return "never"
    value, unit = duration_parts(period)
    return f"{value} {unit.removeprefix('duration-')}{'s' if value != 1 else ''}"


@privacy_cli.command("retention")
@click.option("--dry-run", is_flag=True, help="Only say how many records of each kind are due.")
def retention_command(dry_run: bool) -> None:
    """Apply the retention schedule now (as the worker does), or say what is due."""
    now = clock.now()
    counts = due_counts(now)
    for kind, count in counts.items():
        rule = current_schedule()[kind]
        click.echo(f"{kind.value}: {count} due ({rule.action.value} after {_period(kind)})")
    if dry_run:
        return
    changed = 0
    # Batches until nothing is due: what the worker spreads over several passes.
    while True:
        step = apply_retention(now) + expire_sign_in_attempts(now)
        changed += step
        if not step:
            break
    db.session.remove()
    click.echo(f"{changed} records changed (drafts are deleted by the worker's own job).")


from . import subjects_cli  # noqa: E402,F401  (find, export, erase: the rights' commands)
