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
from .companies import companies_cli
from .core import calls
from .core.text import slugify
from .extensions import db
from .models import Closure
from .models import Role
from .models import Service
from .models import StaffUser
from .privacy.cli import privacy_cli
from .stats.cli import counts_cli
from .triage.cli import triage_cli


@click.group("municipalities")
def municipalities_cli() -> None:
    """The province's towns."""


@municipalities_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--offices",
    "offices_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The consumer-office directory (docs/offices.md), e.g. umic/data/consumer_offices.csv.",
)
def import_municipalities_command(path: Path, offices_path: Path | None) -> None:
    """Create or update towns from a CSV (ine_code,name,comarca,population,population_year)."""
    from .municipalities import import_municipalities

    report = import_municipalities(path, offices_path)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise click.ClickException("nothing was imported")
    click.echo(
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.omics} newly marked as having an OMIC, {report.offices} offices created"
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
    _check_password(password, username)
    user = StaffUser(username=username, name=name or username, email=email.strip(), role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {role} {username}.")


def _check_password(password: str, username: str) -> None:
    """The rule of the "my account" page (umic.core.sessions): 12 characters, not the code."""
    from .core.sessions import PASSWORD_MIN_LENGTH
    from .core.sessions import password_weakness

    weakness = password_weakness(password, username)
    if weakness == "short":
        raise click.ClickException(
            f"the password must have at least {PASSWORD_MIN_LENGTH} characters"
        )
    if weakness == "username":
        raise click.ClickException("the password must not be the user name")


@users_cli.command("set-password")
@click.argument("username")
@click.option("--password", default=None, help="Asked for when not given.")
def set_password_command(username: str, password: str | None) -> None:
    """Give a member of staff a new password; every session of theirs ends."""
    from .core.sessions import EndReason
    from .web.auth import end_sessions

    username = username.strip().upper()
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        raise click.ClickException(f"no user {username}")
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _check_password(password, username)
    user.set_password(password)
    ended = end_sessions(user.id, EndReason.PASSWORD_CHANGED, clock.now())
    db.session.commit()
    click.echo(f"New password for {username}; {ended} open session(s) ended.")


@click.group("services")
def services_cli() -> None:
    """What citizens book: the video-call service, its name and the length of a call."""


def _minutes(value: int | None) -> int | None:
    """The length asked for, checked by the same rule as the coordinators' page."""
    if value is not None and not calls.call_minutes_ok(value):
        raise click.BadParameter(
            f"a multiple of {calls.CALL_MINUTES_STEP} between {calls.MIN_CALL_MINUTES} "
            f"and {calls.MAX_CALL_MINUTES}",
            param_hint="--minutes",
        )
    return value


_LINK_PROBLEMS = {
    calls.LinkProblem.NOT_HTTPS: "must start with https://",
    calls.LinkProblem.NO_HOST: "must name a server, e.g. https://meet.jit.si/umic-{room}",
    calls.LinkProblem.SPACES: "must not contain spaces",
    calls.LinkProblem.PLACEHOLDER: "the only placeholder allowed is {room}",
    calls.LinkProblem.TOO_LONG: f"must be {calls.VIDEO_LINK_MAX} characters or fewer",
}


def _video_link(value: str | None) -> str | None:
    """The template asked for ("" for the installation's), checked like the page does."""
    if value is None:
        return None
    value = value.strip()
    problem = calls.video_link_problem(value) if value else None
    if problem is not None:
        raise click.BadParameter(_LINK_PROBLEMS[problem], param_hint="--video-link")
    return value


@services_cli.command("list")
def list_services_command() -> None:
    """Every service, with the length of its calls."""
    for service in db.session.scalars(select(Service).order_by(Service.id)):
        state = "" if service.active else "  (inactive)"
        click.echo(f"{service.slug}  {service.duration_minutes} min  {service.name}{state}")


_VIDEO_LINK_HELP = (
    "Video link template, https only; {room} becomes a new room per booking, without it one "
    'fixed link; "" for the installation\'s UMIC_VIDEO_LINK_TEMPLATE.'
)


@services_cli.command("create")
@click.argument("slug")
@click.option("--name", default=None, help="In Catalan (default: a readable name).")
@click.option("--name-es", default=None, help="In Spanish (empty: the Catalan name).")
@click.option("--name-en", default=None, help="In English (empty: the Catalan name).")
@click.option("--minutes", type=int, default=30, show_default=True, help="Length of a call.")
@click.option("--description", default="")
@click.option("--description-es", default="")
@click.option("--description-en", default="")
@click.option("--video-link", default=None, help=_VIDEO_LINK_HELP)
def create_service_command(
    slug: str,
    name: str | None,
    name_es: str | None,
    name_en: str | None,
    minutes: int,
    description: str,
    description_es: str,
    description_en: str,
    video_link: str | None,
) -> None:
    """Create the service citizens book (SLUG: its code, e.g. atencio-telematica).

    Without --name it is called "Atenció telemàtica de consum", in Spanish and English too.
    """
    slug = slugify(slug)
    if not slug or db.session.scalar(select(Service.id).where(Service.slug == slug)):
        raise click.ClickException(f"a service {slug!r} already exists (or the code is empty)")
    _minutes(minutes)
    named = bool(name and name.strip())
    db.session.add(
        Service(
            slug=slug,
            name=name.strip() if named else calls.DEFAULT_NAMES["ca"],
            # A name given in Catalan only stays Catalan everywhere: never a default's
            # translation of a different name.
            name_es=(name_es or "").strip() if named else calls.DEFAULT_NAMES["es"],
            name_en=(name_en or "").strip() if named else calls.DEFAULT_NAMES["en"],
            description=description.strip(),
            description_es=description_es.strip(),
            description_en=description_en.strip(),
            duration_minutes=minutes,
            video_link_template=_video_link(video_link) or None,
        )
    )
    db.session.commit()
    click.echo(f"Created {slug}: {minutes}-minute calls.")


@services_cli.command("set")
@click.argument("slug")
@click.option("--minutes", type=int, help="Length of a call (and the step between start times).")
@click.option("--name", help="In Catalan.")
@click.option("--name-es", default=None, help='In Spanish ("": the Catalan name).')
@click.option("--name-en", default=None, help='In English ("": the Catalan name).')
@click.option("--video-link", default=None, help=_VIDEO_LINK_HELP)
@click.option("--active/--inactive", default=None)
def set_service_command(
    slug: str,
    minutes: int | None,
    name: str | None,
    name_es: str | None,
    name_en: str | None,
    video_link: str | None,
    active: bool | None,
):
    """Change a service; bookings already made keep their times (the coordinators' page
    /admin/servei/ changes the same things, and the descriptions)."""
    service = db.session.scalar(select(Service).where(Service.slug == slug))
    if service is None:
        raise click.ClickException(f"no service {slug!r} (flask --app umic services list)")
    if _minutes(minutes) is not None:
        service.duration_minutes = minutes
    if name:
        service.name = name.strip()
    if name_es is not None:
        service.name_es = name_es.strip()
    if name_en is not None:
        service.name_en = name_en.strip()
    link = _video_link(video_link)
    if link is not None:
        service.video_link_template = link or None
    if active is not None:
        service.active = active
    db.session.commit()
    click.echo(f"{service.slug}: {service.duration_minutes}-minute calls, {service.name}.")


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
        services_cli,
        closures_cli,
        cases_cli,
        companies_cli,
        counts_cli,
        privacy_cli,
        triage_cli,
    ):
        app.cli.add_command(command)
