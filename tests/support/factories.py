"""Plain functions that put rows in the test database (no factory library)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from umic import clock
from umic.casefiles.service import create_case
from umic.core import scheduling
from umic.core.text import fold
from umic.core.text import slugify
from umic.core.tokens import hash_token
from umic.core.tokens import new_reference
from umic.core.tokens import new_token
from umic.extensions import db
from umic.models import AccessToken
from umic.models import Booking
from umic.models import BookingClaim
from umic.models import BookingStatus
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import Municipality
from umic.models import OpeningHours
from umic.models import Role
from umic.models import Service
from umic.models import StaffUser
from umic.models import TokenPurpose

PASSWORD = "correct horse battery"
MORNING = (time(9, 0), time(14, 0))
AFTERNOON = (time(15, 30), time(19, 0))
#: Open every day of the week, so tests find free times whatever today is.
EVERY_DAY = {weekday: [MORNING, AFTERNOON] for weekday in range(7)}


def make_town(
    name: str = "Gelida",
    ine_code: str = "08091",
    *,
    enrolled: bool = True,
    has_omic: bool = False,
    comarca: str = "Alt Penedès",
    population: int = 8198,
) -> Municipality:
    town = Municipality(
        ine_code=ine_code,
        name=name,
        search_name=fold(name),
        slug=slugify(name),
        comarca=comarca,
        population=population,
        population_year=2025,
        has_omic=has_omic,
        enrolled_on=date(2025, 3, 1) if enrolled else None,
    )
    db.session.add(town)
    db.session.commit()
    return town


def make_service(**overrides) -> Service:
    values = {
        "slug": "atencio-telematica",
        "name": "Consum_DIBA. Atenció telemàtica",
        "description": "Videotrucada de 30 minuts.",
        "duration_minutes": 30,
    }
    values.update(overrides)
    service = Service(**values)
    db.session.add(service)
    db.session.commit()
    return service


def make_staff(
    username: str = "OPSSVEGAVN",
    *,
    role: str = Role.TECHNICIAN,
    hours: dict[int, list[tuple[time, time]]] | None = None,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
) -> StaffUser:
    user = StaffUser(
        username=username,
        name=name or f"Tècnica {username[-3:]}",
        email=email or f"{username.lower()}@example.org",
        role=role,
    )
    user.set_password(password)
    for weekday, periods in (hours or {}).items():
        for start, end in periods:
            user.hours.append(OpeningHours(weekday=weekday, start_time=start, end_time=end))
    db.session.add(user)
    db.session.commit()
    return user


def make_booking(
    town: Municipality,
    service: Service,
    technician: StaffUser,
    start: datetime,
    *,
    status: str = BookingStatus.CONFIRMED,
    **overrides,
) -> tuple[Booking, str]:
    """A booking written directly (with its claims and a manage token)."""
    end = start + service.duration
    values = {
        "reference": new_reference(),
        "service_id": service.id,
        "municipality_id": town.id,
        "technician_id": technician.id,
        "start_utc": start,
        "end_utc": end,
        "status": status,
        "citizen_name": "Raúl Sánchez",
        "citizen_email": "raul@example.net",
        "consent_at": clock.now(),
        "consent_version": "test",
        "ical_uid": str(uuid.uuid4()),
        "video_link": f"https://meet.jit.si/umic-{uuid.uuid4().hex}",
        "confirmed_at": clock.now() - timedelta(days=7),
    }
    values.update(overrides)
    booking = Booking(**values)
    db.session.add(booking)
    db.session.flush()
    if status == BookingStatus.CONFIRMED:
        for unit in scheduling.claim_units(start, end):
            db.session.add(
                BookingClaim(booking_id=booking.id, technician_id=technician.id, unit_start=unit)
            )
    token = new_token()
    db.session.add(
        AccessToken(
            token_hash=hash_token(token),
            purpose=TokenPurpose.MANAGE,
            booking_id=booking.id,
            expires_at=end + timedelta(days=90),
        )
    )
    db.session.commit()
    return booking, token


@dataclass
class World:
    town: Municipality
    service: Service
    technicians: list[StaffUser]


def make_world(technicians: int = 3, hours=None) -> World:
    """An enrolled town, the service, and technicians open every day."""
    town = make_town()
    service = make_service()
    codes = ["OPSSVEGAVN", "OPSSAPRESGA", "OPSSPASCUETCA", "OPSSTECNIC4", "OPSSTECNIC5"]
    hours = EVERY_DAY if hours is None else hours
    staff = [make_staff(code, hours=hours) for code in codes[:technicians]]
    return World(town=town, service=service, technicians=staff)


def make_case(
    world: World,
    *,
    email: str = "raul@example.net",
    technician: StaffUser | None = None,
    actor: StaffUser | None = None,
    now: datetime | None = None,
    **values,
) -> CaseFile:
    """A case in progress in the world's town, for Raúl Sánchez, assigned to its first
    technician (or ``technician``); ``values`` are further case fields. Committed."""
    case = create_case(
        {
            "interested_name": "Raúl Sánchez",
            "interested_email": email,
            "municipality_id": world.town.id,
            "assigned_to_id": (technician or world.technicians[0]).id,
            "status": CaseStatus.EN_TRAMIT,
            **values,
        },
        actor=actor,
        now=now or clock.now(),
    )
    db.session.commit()
    return case
