"""Every town's page says what its residents can do: no dead end for any of the 311 towns.

``/reserva/<slug>/`` (and its embedded twin) answers for any town of the province:

- **It can book** (enrolled, from its enrolment day, no office of its own): the day and time
  picker stays the main thing; below it, "Other ways to get help": the mailbox and the
  mobile unit's next visits.
- **Otherwise**, by the town's status (``core.offices.town_status``, the law's order):

  ``own_office`` a municipal office (OMIC): its card (address, phone, e-mail, web, hours);
  ``comarcal``   a comarcal office (OCIC) covers it: its card, the mailbox, the visits;
  ``agencia``    known to have no local office: the Agència Catalana del Consum's card;
  ``served``     enrolled in this service but not bookable yet (enrolled from a later day,
                 or no active service): the mailbox and the visits;
  ``unknown``    not yet known whether it has an office (``office_id`` empty, never
                 guessed): said plainly, with the mailbox, the mobile unit's next visits,
                 the town council, and the Agència with the Generalitat's 012.

  Every state ends with the Agència and the help phone as ``tel:`` links, so that even an
  office card with no verified contact data (most of the shipped directory) offers a way.

Queries: the bookable page reads the town and the service (one query, ``town_and_service``)
and the next visits (one query, kept per process under the free times' number: a visit's
change raises that number, ``models/availability.py``); the other pages add one query for the
town's office and the Agència together. Never a query per row.

The in-app mailbox (``mailbox.town``) is the way to write; ``MAILBOX_URL`` (an external
mailbox) is used only when the app has no mailbox of its own registered. Links to pages
other features own (the mailbox, a town's visits) are built by ``optional_url``, which gives
None when that page is not part of the app, so this page never fails because of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from flask import current_app
from flask import url_for
from markupsafe import Markup
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from werkzeug.routing import BuildError

from ..core.codes import OfficeKind
from ..core.codes import OfficeStatus
from ..core.codes import VisitStatus
from ..core.lru import LRU
from ..core.offices import town_status
from ..core.town_search import TownIndex
from ..extensions import db
from ..models import ConsumerOffice
from ..models import Municipality
from ..models import UmicVisit

#: How many of a town's next visits its page lists.
NEXT_VISITS = 3


class Visit(NamedTuple):
    """What a town's page shows of one visit of the mobile unit."""

    id: int
    start_utc: datetime
    end_utc: datetime
    place: str
    place_details: str
    bookable: bool


def _kept_visits() -> LRU[tuple[Visit, ...]]:
    extensions = current_app.extensions
    found = extensions.get("umic.next_visits")
    if found is None:
        found = extensions.setdefault("umic.next_visits", LRU(1024))
    return found


def next_visits(town_id: int, now: datetime, version: int | None) -> list[Visit]:
    """The town's next planned visits not yet over (at most ``NEXT_VISITS``), soonest first.

    One query; kept per process under the free times' number ``version`` (read before, in
    ``town_and_service``), which any change to a visit raises: what is kept is every future
    visit of the town, and only the passing of time removes one, which the filter below does.
    """
    key = (town_id, version)
    kept = _kept_visits().get(key) if version is not None else None
    if kept is None:
        rows = db.session.execute(
            select(
                UmicVisit.id,
                UmicVisit.start_utc,
                UmicVisit.end_utc,
                UmicVisit.place,
                UmicVisit.place_details,
                UmicVisit.bookable,
            )
            .where(
                UmicVisit.municipality_id == town_id,
                UmicVisit.status == VisitStatus.PLANNED,
                UmicVisit.end_utc > now,
            )
            .order_by(UmicVisit.start_utc, UmicVisit.id)
        )
        kept = tuple(Visit(*row) for row in rows)
        if version is not None:
            _kept_visits().put(key, kept)
    return [visit for visit in kept if visit.end_utc > now][:NEXT_VISITS]


class Offices(NamedTuple):
    office: ConsumerOffice | None  # the town's own or comarcal office, when known
    agencia: ConsumerOffice | None  # the Agència Catalana del Consum, when in the directory


def offices_for(town: Municipality) -> Offices:
    """The town's office and the Agència's row, in one query."""
    condition = ConsumerOffice.kind == OfficeKind.AGENCIA
    if town.office_id is not None:
        condition = or_(condition, ConsumerOffice.id == town.office_id)
    rows = list(
        db.session.scalars(select(ConsumerOffice).where(condition).order_by(ConsumerOffice.id))
    )
    office = next((row for row in rows if row.id == town.office_id), None)
    agencia = next((row for row in rows if row.kind == OfficeKind.AGENCIA), None)
    return Offices(office, agencia)


def not_available_context(town: Municipality, service, version: int | None, now: datetime) -> dict:
    """What ``booking/not_available.html`` shows for a town that cannot book (two queries)."""
    offices = offices_for(town)
    office_kind = offices.office.kind if offices.office is not None else None
    status = town_status(office_kind, town.enrolled, town.has_omic)
    visits = next_visits(town.id, now, version) if status != OfficeStatus.OWN else []
    # Enrolled, no office of its own, a service: it cannot book only because its day has
    # not come yet.
    starts_on = town.enrolled_on if status == OfficeStatus.SERVED and service is not None else None
    return dict(
        town=town,
        service=service,
        status=str(status),
        office=offices.office,
        agencia=offices.agencia,
        visits=visits,
        starts_on=starts_on,
    )


def town_index() -> TownIndex:
    """The towns' names prepared for the search, kept per process and built again when the
    towns change: the key is their number, highest id and the total length of their names
    (one small aggregate query per search; towns are added or renamed a few times a year)."""
    key = tuple(
        db.session.execute(
            select(
                func.count(Municipality.id),
                func.max(Municipality.id),
                func.sum(func.length(Municipality.search_name)),
            )
        ).one()
    )
    kept = current_app.extensions.get("umic.town_index")
    if kept is not None and kept[0] == key:
        return kept[1]
    index = TownIndex.build(db.session.execute(select(Municipality.id, Municipality.name)))
    current_app.extensions["umic.town_index"] = (key, index)
    return index


def optional_url(endpoint: str, **values) -> str | None:
    """``url_for(endpoint, **values)``, or None when the app has no such page (a feature
    not installed): a template links to it only when it exists."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def mailbox_url(slug: str | None = None) -> str | None:
    """Where a citizen writes to the service: the app's mailbox (with the town chosen), or
    the external ``MAILBOX_URL`` when the app has none; None when neither exists."""
    found = (
        optional_url("mailbox.town", slug=slug) if slug else optional_url("mailbox.index")
    ) or optional_url("mailbox.index")
    return found or current_app.config.get("MAILBOX_URL") or None


def tel_href(phone: str) -> str:
    """``tel:`` address of a phone number as written ("93 402 20 20" -> "tel:934022020")."""
    kept = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    return f"tel:{kept}"


def phone_link(phone: str) -> Markup:
    """A phone number as a link a phone's screen can call (never plain text on a page)."""
    return Markup('<a href="{}">{}</a>').format(tel_href(phone), phone)


def register(app) -> None:
    """The template helpers the town pages and ``macros/ways.html`` use."""
    app.jinja_env.globals.update(
        optional_url=optional_url, mailbox_url=mailbox_url, tel_href=tel_href, phone_link=phone_link
    )
