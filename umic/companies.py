"""The registry of companies: finding one by name or tax id, linking cases, merging duplicates.

A case names its company twice: ``CaseFile.company_id`` (the registry's entry, which the
mediation writes to and the statistics group by) and ``CaseFile.company`` (the text, as the
old tracker and its export have it). Linking keeps the two in step: the text becomes the
registry's name.

Matching (``umic.core.companies``): the same tax id is the same company; otherwise the same
``name_key`` (case, accents, punctuation and legal form do not count). Nothing here commits:
the caller does, so a failure leaves nothing half done.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import click
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from .core.companies import name_key
from .core.companies import normalize_tax_id
from .core.text import clean
from .extensions import db
from .models import CaseEvent
from .models import CaseFile
from .models import Company
from .models import Mediation

#: Fields ``find_or_create`` and ``merge`` fill when the registry's entry has them empty.
FILLABLE = ("sector", "address", "claims_email", "claims_channel", "phone", "notes")


def _fill_empty(company: Company, fields: dict) -> None:
    for field, value in fields.items():
        if field not in FILLABLE and field != "language":
            raise TypeError(f"unknown company field {field!r}")
        if field == "language":
            continue  # every entry has one (ca by default): it is set on creation only
        if value and not getattr(company, field):
            setattr(company, field, value)


def find_or_create(name: str, *, tax_id: str | None = None, **fields) -> Company:
    """The registry's company for ``name`` (and ``tax_id``), created when there is none.

    The same tax id finds that company whatever its name; otherwise a company with the same
    ``name_key`` and no other tax id. Fields given fill the found company's empty ones only
    (what the registry says is never overwritten). Flushes; the caller commits.
    """
    name = clean(name)[:200]
    if not name:
        raise ValueError("a company needs a name")
    tax_id = normalize_tax_id(tax_id) or None
    company = None
    if tax_id:
        company = db.session.scalar(select(Company).where(Company.tax_id == tax_id))
    if company is None:
        key = name_key(name)
        candidates = select(Company).where(Company.name_key == key).order_by(Company.id)
        if tax_id:
            candidates = candidates.where(Company.tax_id.is_(None))
        company = db.session.scalars(candidates.limit(1)).first()
        if company is not None and tax_id:
            company.tax_id = tax_id
    if company is None:
        company = Company(
            name=name,
            name_key=name_key(name),
            tax_id=tax_id,
            language=fields.get("language") or "ca",
        )
        db.session.add(company)
    _fill_empty(company, fields)
    db.session.flush()
    return company


def link_case(
    case: CaseFile,
    company: Company | None,
    *,
    actor=None,
    now: datetime | None = None,
) -> CaseEvent | None:
    """Link ``case`` to ``company`` (None unlinks) and write its name in the case's text.

    A change of the text is written to the case's history (field ``company``), like any edit;
    the event is returned. The caller commits.
    """
    old_text = case.company or ""
    case.company_id = company.id if company is not None else None
    if company is not None:
        case.company_entry = company
        case.company = company.name
    else:
        case.company_entry = None
    if (case.company or "") == old_text:
        return None
    event = CaseEvent(
        at=now or case.updated_at,
        actor_id=actor.id if actor is not None else None,
        kind="change",
        field="company",
        old_value=old_text,
        new_value=case.company or "",
    )
    case.events.append(event)
    return event


def duplicates() -> list[list[Company]]:
    """Companies that look like the same one (the same ``name_key``), in groups, oldest first.

    The same tax id cannot be twice (it is unique). One query.
    """
    shared = (
        select(Company.name_key)
        .group_by(Company.name_key)
        .having(func.count(Company.id) > 1)
        .scalar_subquery()
    )
    groups: dict[str, list[Company]] = defaultdict(list)
    statement = (
        select(Company).where(Company.name_key.in_(shared)).order_by(Company.name_key, Company.id)
    )
    for company in db.session.scalars(statement):
        groups[company.name_key].append(company)
    return list(groups.values())


def merge(keep: Company, drop: Company, *, actor, now: datetime) -> int:
    """Fold ``drop`` into ``keep``: its cases and mediations move (one UPDATE each), keep's
    empty fields take drop's values, drop is deleted and the merge is written in keep's notes.
    The cases' text stays as it was (it is what their search finds). Returns how many cases
    moved. The caller commits."""
    if keep.id == drop.id:
        raise ValueError("a company cannot be merged with itself")
    moved = db.session.execute(
        update(CaseFile)
        .where(CaseFile.company_id == drop.id)
        .values(company_id=keep.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.execute(
        update(Mediation)
        .where(Mediation.company_id == drop.id)
        .values(company_id=keep.id)
        .execution_options(synchronize_session=False)
    )
    tax_id = drop.tax_id
    if tax_id and not keep.tax_id:
        drop.tax_id = None  # unique: freed before keep takes it
        db.session.flush()
        keep.tax_id = tax_id
    _fill_empty(keep, {field: getattr(drop, field) for field in FILLABLE if field != "notes"})
    who = getattr(actor, "username", "") if actor is not None else ""
    record = (
        f"{now.date().isoformat()}: fusionada amb «{drop.name}» (id {drop.id}"
        + (f", NIF {tax_id}" if tax_id else "")
        + f", {moved} expedients)"
        + (f" per {who}" if who else "")
        + "."
    )
    if drop.notes:
        record += "\n" + drop.notes
    keep.notes = f"{keep.notes}\n{record}".strip() if keep.notes else record
    keep.updated_at = now
    db.session.delete(drop)
    db.session.flush()
    db.session.expire_all()  # cases loaded before the UPDATE see their new company
    return moved


@dataclass(frozen=True)
class BackfillReport:
    names: int  # distinct company texts seen on unlinked cases
    linked: int  # cases linked
    created: int  # companies created


def backfill(now: datetime, *, create: bool = True) -> BackfillReport:
    """Link every unlinked case that names a company to the registry's entry for that name.

    Grouped, never one query per case: one query reads the distinct texts, one the registry;
    then one UPDATE per company links all its cases at once. With ``create`` a name the
    registry does not know becomes a new company; without, such cases stay unlinked. The
    cases' text is left as the citizen or the tracker wrote it. The caller commits.
    """
    texts = db.session.scalars(
        select(CaseFile.company)
        .where(CaseFile.company_id.is_(None), CaseFile.company != "")
        .group_by(CaseFile.company)
    ).all()
    by_key: dict[str, Company] = {}
    for company in db.session.scalars(select(Company).order_by(Company.id)):
        by_key.setdefault(company.name_key, company)
    targets: dict[int, list[str]] = defaultdict(list)
    created = 0
    for text in texts:
        key = name_key(text)
        if not key:
            continue
        company = by_key.get(key)
        if company is None:
            if not create:
                continue
            company = Company(name=clean(text)[:200], name_key=key, created_at=now, updated_at=now)
            db.session.add(company)
            db.session.flush()
            by_key[key] = company
            created += 1
        targets[company.id].append(text)
    linked = 0
    for company_id, names in targets.items():
        linked += db.session.execute(
            update(CaseFile)
            .where(CaseFile.company_id.is_(None), CaseFile.company.in_(names))
            .values(company_id=company_id)
            .execution_options(synchronize_session=False)
        ).rowcount
    db.session.flush()
    return BackfillReport(names=len(texts), linked=linked, created=created)


def case_counts(company_ids) -> dict[int, int]:
    """How many cases each company has: one grouped query."""
    ids = list(company_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(CaseFile.company_id, func.count(CaseFile.id))
        .where(CaseFile.company_id.in_(ids))
        .group_by(CaseFile.company_id)
    )
    return {company_id: count for company_id, count in rows}


@click.group("companies")
def companies_cli() -> None:
    """The registry of companies (empreses)."""


@companies_cli.command("link-cases")
@click.option(
    "--no-create",
    is_flag=True,
    help="Only link to companies already in the registry; create none.",
)
def link_cases_command(no_create: bool) -> None:
    """Link the cases that name a company (the tracker's text) to the registry, in bulk."""
    from . import clock

    report = backfill(clock.now(), create=not no_create)
    db.session.commit()
    click.echo(
        f"{report.names} company names on unlinked cases: {report.linked} cases linked, "
        f"{report.created} companies created."
    )
