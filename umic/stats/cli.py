"""``flask --app umic counts import FILE``: monthly request counts for months before the app.

The file has the columns ``month,ine_code,channel,count`` (a header line is optional; comma
or semicolon separated; UTF-8 or Windows-1252): month ``YYYY-MM``, the town's INE code,
channel (its code, ``telematica``, ``bustia``, ``umic``..., or any of its words in
``umic.core.codes.Channel``), and the number of requests. Every line is checked first: one
bad line and nothing is imported. Importing the same file again changes nothing; a count of 0
removes what was entered.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from .. import clock
from ..extensions import db


@click.group("counts")
def counts_cli() -> None:
    """Monthly request counts per town and channel (months before the app)."""


@counts_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_counts_command(path: Path) -> None:
    """Create, update or remove counts from a CSV file (all lines or none; idempotent)."""
    from zoneinfo import ZoneInfo

    from .service_stats import import_counts

    now = clock.now()
    today = now.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
    with path.open("rb") as handle:
        data = handle.read()
    result = import_counts(data, actor_id=None, now=now, today=today)
    if not result.ok:
        db.session.rollback()
        for problem in result.problems:
            click.echo(f"error: {problem.describe()}", err=True)
        raise click.ClickException(f"{path.name}: nothing was imported")
    db.session.commit()
    report = result.report
    click.echo(
        f"{path.name}: {result.rows} lines: {report.created} created, {report.updated} "
        f"updated, {report.deleted} removed, {report.unchanged} unchanged."
    )
