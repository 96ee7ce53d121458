"""Command-line tools: ``flask --app umic <command>``."""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import Flask
from flask import current_app
from sqlalchemy import select

from . import clock
from .casefiles.cli import cases_cli
from .extensions import db
from .models import Closure
from .models import Role
from .models import StaffUser
from .stats.cli import counts_cli


@click.group("municipalities")
def municipalities_cli() -> None:
    """The province's towns."""


@municipalities_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--omic",
    "omic_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of towns with their own OMIC (column ine_code).",
)
def import_municipalities_command(path: Path, omic_path: Path | None) -> None:
    """Create or update towns from a CSV (ine_code,name,comarca,population,population_year)."""
    from .municipalities import import_municipalities

    report = import_municipalities(path, omic_path)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise click.ClickException("nothing was imported")
    click.echo(
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.omics} newly marked as having an OMIC"
    )


@click.group("demo")
def demo_cli() -> None:
    """Demo data."""


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has data.")
def load_demo_command(if_empty: bool) -> None:
    """Load the real towns, the pilot towns, a service and demo staff."""
    from . import demo

    if not demo.is_empty():
        if if_empty:
            click.echo("Database already has data: demo not loaded.")
            return
        raise click.ClickException("the database is not empty")
    demo.load()
    click.echo(f"Demo data loaded. Staff password for every demo user: {demo.DEMO_PASSWORD}")


@click.command("worker")
@click.option("--passes", type=int, default=None, help="Stop after this many passes.")
def worker_command(passes: int | None) -> None:
    """Run the periodic jobs (umic.jobs) and send the outbox, forever (one per server is fine)."""
    from .jobs import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if current_app.config.get("MAIL_SUPPRESS_SEND"):
        click.echo("MAIL_SUPPRESS_SEND is on: messages are marked sent without leaving the server.")
    run_worker(stop_after=passes)


@click.group("outbox")
def outbox_cli() -> None:
    """The e-mail outbox."""


@outbox_cli.command("send")
def outbox_send_command() -> None:
    """One pass: every periodic job (reminders, surveys, clean-ups), then send what is due."""
    from .jobs import run_pass

    report = run_pass()
    click.echo(report.describe())
    if report.failed_jobs:
        raise click.ClickException("failed: " + ", ".join(report.failed_jobs))


@outbox_cli.command("retry")
@click.argument("message_id", type=int)
def outbox_retry_command(message_id: int) -> None:
    """Try a failed message again."""
    from .mail.outbox import retry

    if not retry(message_id):
        raise click.ClickException(f"message {message_id} is not a failed message")
    click.echo(f"Message {message_id} will be sent on the next pass.")


@click.group("users")
def users_cli() -> None:
    """Staff accounts."""


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.TECHNICIAN.value)
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--password", default=None, help="Asked for when not given.")
def create_user_command(username: str, role: str, email: str, name: str, password: str | None):
    """Create a member of staff (username is the staff code, e.g. OPSSVEGAVN)."""
    username = username.strip().upper()
    if db.session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise click.ClickException(f"user {username} already exists")
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 10:
        raise click.ClickException("the password must have at least 10 characters")
    user = StaffUser(username=username, name=name or username, email=email.strip(), role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {role} {username}.")


@click.group("closures")
def closures_cli() -> None:
    """Days without appointments (public holidays are automatic)."""


@closures_cli.command("add")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--technician", default=None, help="Staff code: an absence, not a closure.")
@click.option("--reason", default="")
def add_closure_command(day, technician: str | None, reason: str) -> None:
    """Close the service (or one technician) on DAY (YYYY-MM-DD)."""
    staff_id = None
    if technician:
        staff_id = db.session.scalar(
            select(StaffUser.id).where(StaffUser.username == technician.upper())
        )
        if staff_id is None:
            raise click.ClickException(f"unknown technician {technician}")
    db.session.add(Closure(day=day.date(), staff_id=staff_id, reason=reason))
    db.session.commit()
    click.echo(f"Closed {day.date().isoformat()}.")


@closures_cli.command("list")
def list_closures_command() -> None:
    """Closures from today on."""
    for closure in db.session.scalars(
        select(Closure)
        .where(Closure.day >= clock.today(ZoneInfo(current_app.config["TIMEZONE"])))
        .order_by(Closure.day)
    ):
        who = "tot el servei" if closure.staff_id is None else f"personal {closure.staff_id}"
        click.echo(f"{closure.day.isoformat()}  {who}  {closure.reason}")


def register(app: Flask) -> None:
    for command in (
        municipalities_cli,
        demo_cli,
        worker_command,
        outbox_cli,
        users_cli,
        closures_cli,
        cases_cli,
        counts_cli,
    ):
        app.cli.add_command(command)
