"""``flask --app umic privacy find|export|erase``: one person's data from the command line.

The same rules as the coordinators' page (``umic.privacy.subjects``), for whoever runs the
server (a request that arrives by post, a batch of requests). Each command writes the same
audit row as the page, with the actor "cli" (``PrivacyAudit.via``). ``find`` prints counts
only (the terminal's scrollback is not the place for a person's data: ``export`` writes it to
a file); ``erase`` asks for a reason and a confirmation (``--yes`` skips the question).
"""

from __future__ import annotations

from pathlib import Path

import click

from .. import clock
from ..core import identity
from ..extensions import db
from ..models.privacy import PrivacyAction
from . import subjects
from .cli import privacy_cli


def _term(email: str | None, phone: str | None) -> identity.Term:
    if bool(email) == bool(phone):
        raise click.UsageError("Give exactly one of --email or --phone.")
    term = identity.parse_term(email or phone)
    if term is None or (term.kind == identity.EMAIL) != bool(email):
        raise click.BadParameter("not an e-mail address or a phone number", param_hint="term")
    return term


def _echo_counts(counts: dict[str, int]) -> None:
    for key, value in counts.items():
        click.echo(f"{key}: {value}")


_email = click.option("--email", help="The person's e-mail address (case and +tag ignored).")
_phone = click.option("--phone", help="The person's phone number (any spacing, +34 or not).")


@privacy_cli.command("find")
@_email
@_phone
def find_command(email: str | None, phone: str | None) -> None:
    """Count what is held about one person (logged)."""
    term = _term(email, phone)
    subject = subjects.find(term)
    counts = subject.counts()
    subjects.record(PrivacyAction.FIND, term, counts, actor=None, now=clock.now())
    db.session.commit()
    _echo_counts(counts)
    open_cases = subject.open_cases
    if open_cases:
        click.echo("open case files: " + ", ".join(case.number for case in open_cases))


@privacy_cli.command("export")
@_email
@_phone
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="The ZIP file to write (dades.json and the documents).",
)
def export_command(email: str | None, phone: str | None, output: Path) -> None:
    """Write everything held about one person to a ZIP (logged)."""
    term = _term(email, phone)
    now = clock.now()
    subject = subjects.find(term)
    archive, counts = subjects.write_export(subject, now)
    with archive, output.open("wb") as target:
        while chunk := archive.read(1024 * 1024):
            target.write(chunk)
    output.chmod(0o600)  # personal data: readable by its owner only
    subjects.record(PrivacyAction.EXPORT, term, counts, actor=None, now=now)
    db.session.commit()
    _echo_counts(counts)
    click.echo(f"written to {output}")


@privacy_cli.command("erase")
@_email
@_phone
@click.option("--reason", required=True, help="Why (the request's registry entry, not a name).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(email: str | None, phone: str | None, reason: str, yes: bool) -> None:
    """Erase one person's data: bookings and case files anonymised, the rest deleted (logged).

    Refused, with nothing changed, while one of their case files is open.
    """
    term = _term(email, phone)
    reason = " ".join(reason.split())
    if not reason:
        raise click.BadParameter("give the reason for the erasure", param_hint="--reason")
    subject = subjects.find(term)
    if subject.open_cases:
        numbers = ", ".join(case.number for case in subject.open_cases)
        raise click.ClickException(f"open case files ({numbers}): close them first")
    if not subject.found:
        click.echo("nothing held about this person")
    _echo_counts(subject.counts())
    if not yes:
        click.confirm("Erase all of this? It cannot be undone", abort=True)
    done = subjects.erase(subject, reason=reason, actor=None, now=clock.now())
    _echo_counts(done)
