"""The retention schedule applied (umic.privacy): the worker forgets what has expired, and the
statistics do not change.

The proof (issue 10, "Done when"): the demo database, aged by years with the app's clock,
through the worker's own pass (``umic.jobs.run_pass``). Then the pieces: cancelling, the
primitives a coordinator's erasure also uses, the batches, the command line, the privacy page.
Real database (SQLite file and PostgreSQL), real files in a temporary UPLOAD_FOLDER.
"""

from __future__ import annotations

import dataclasses
import io
import struct
import zlib
from datetime import date
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from support import managing
from support.days import today
from support.days import working_days
from support.dump import database_text
from support.factories import make_booking
from support.factories import make_world
from support.htmlutil import soup
from support.journey import Citizen
from support.queries import counted_queries
from umic import clock
from umic import demo
from umic import jobs
from umic.admin.statistics import TABLES
from umic.admin.statistics import Statistics
from umic.admin.survey_results import build_tables
from umic.casefiles import documents
from umic.casefiles.service import case_from_booking
from umic.casefiles.service import update_case
from umic.core.periods import Period
from umic.extensions import db
from umic.models import FINAL_STATUSES
from umic.models import AccessToken
from umic.models import Booking
from umic.models import BookingDraft
from umic.models import BookingStatus
from umic.models import CaseDocument
from umic.models import CaseEvent
from umic.models import CaseFile
from umic.models import CaseStatus
from umic.models import OutboxMessage
from umic.models import SignInAttempt
from umic.models import SurveyResponse
from umic.models import TextStatus
from umic.privacy import anonymise
from umic.privacy.retention import apply_retention
from umic.privacy.retention import due_counts
from umic.privacy.schedule import Kind
from umic.stats.survey_results import survey_results
from umic.web.i18n import service_tz

YEAR = timedelta(days=365)
#: Who books on the web today (the bookings made years later are support.journey's citizen).
#: Who books after the clock has moved: nobody the demo data could have made up.
LATER_CITIZEN = {"name": "Persona Que Reserva Després", "email": "despres@example.net"}

WEB_CITIZEN = {
    "name": "Montserrat Ferrer Duran",
    "email": "montse.ferrer@example.net",
    "phone": "633 111 222",
    "address": "Plaça de la Vila, 3, Gelida",
}


def _png() -> bytes:
    """A 1x1 grey PNG (documents are checked on content)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


PNG = _png()


@pytest.fixture
def upload_dir(tmp_path) -> Path:
    return tmp_path / "fitxers"


@pytest.fixture
def app_config(upload_dir) -> dict:
    return {"UPLOAD_FOLDER": str(upload_dir)}


# --- Helpers ----------------------------------------------------------------------------------


def _attach(case: CaseFile, name: str) -> CaseDocument:
    upload = FileStorage(stream=io.BytesIO(PNG), filename=name, content_type="image/png")
    return documents.add_document(
        case,
        upload,
        category="altres",
        source=documents.CITIZEN,
        uploaded_by=None,
        now=clock.now(),
    )


def _file(document_name: str, upload_dir: Path) -> Path:
    return upload_dir / document_name


def _figures(app, period: Period) -> dict:
    """Every table the statistics page and the survey results page show (their CSVs), but
    the survey's comments: what the service reports."""
    with app.test_request_context("/"):
        figures = Statistics(period)
        tables = {f"statistics/{name}": build(figures) for name, build in TABLES.items()}
        results = survey_results(period, service_tz())
        survey = build_tables(results, "ca")
        tables |= {f"surveys/{n}": t for n, t in survey.items() if n != "comentaris"}
        # The comments go after their period, by design: so does their count.
        summary = tables["surveys/resum"]
        summary.rows = [row for row in summary.rows if row[0] != "Respostes amb comentari"]
        return {name: dataclasses.asdict(table) for name, table in tables.items()}


def _assert_same_figures(after: dict, before: dict) -> None:
    assert after.keys() == before.keys()
    for name in before:
        for part in ("rows", "foot"):
            assert after[name][part] == before[name][part], (name, part)


def _identities(bookings, cases) -> set[str]:
    found = set()
    for b in bookings:
        found |= {b.citizen_name, b.citizen_email, b.citizen_phone, b.citizen_address}
    for c in cases:
        found |= {c.interested_name, c.interested_email, c.interested_phone, c.interested_address}
    return {text for text in found if text and len(text) >= 6}


def _run_until_done(now) -> None:
    """Worker passes until the retention job finds nothing more (it works in batches)."""
    for _ in range(20):
        report = jobs.run_pass(now)
        assert report.failed_jobs == [], report.describe()
        if not report.jobs["retention"]:
            return
    raise AssertionError("the retention job never finished")


def _count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


# --- The proof: the demo database, aged by years ----------------------------------------------


def test_aging_the_demo_database_forgets_people_and_keeps_the_figures(
    app, client, upload_dir, monkeypatch
):
    start = clock.now()
    demo.load()
    db.session.remove()

    # What a working service also holds: a citizen's booking made on the web (its e-mails
    # and manage link), a draft left unfinished, a staff sign-in attempt, documents.
    Citizen(client).book(**WEB_CITIZEN)
    Citizen(client).details(
        Citizen(client).first_slot(), **{**WEB_CITIZEN, "email": "draft@example.net"}
    )
    db.session.add(SignInAttempt(username="COORDINACIO", ip="192.0.2.7", at=start))
    closed_case = db.session.scalars(  # the latest closed: not due yet
        select(CaseFile)
        .where(CaseFile.status.in_(FINAL_STATUSES))
        .order_by(CaseFile.resolved_at.desc(), CaseFile.id)
    ).first()
    open_case = db.session.scalars(
        select(CaseFile)
        .where(CaseFile.status.not_in(FINAL_STATUSES), CaseFile.booking_id.is_not(None))
        .order_by(CaseFile.id)
    ).first()
    old_document = _attach(closed_case, "dni_persona_tancada.png")
    kept_document = _attach(open_case, "factura_persona_oberta.png")
    old_file = _file(old_document.stored_name, upload_dir)
    kept_file = _file(kept_document.stored_name, upload_dir)
    old_document_id, kept_document_id = old_document.id, kept_document.id
    db.session.commit()
    # A pass of every other job first (the e-mails go out, the demo's unmarked calls get
    # their surveys): what the figures are measured on.
    with monkeypatch.context() as patch:
        others = tuple(job for job in jobs.PERIODIC if job.name != "retention")
        patch.setattr(jobs, "PERIODIC", others)
        jobs.run_pass(start)
    assert old_file.exists() and kept_file.exists()
    assert _count(BookingDraft) == 2 and _count(OutboxMessage) >= 2  # the booked one too
    assert _count(SurveyResponse, SurveyResponse.comment != "") > 0

    # Who is in there, before.
    open_ids = set(
        db.session.scalars(select(CaseFile.id).where(CaseFile.status.not_in(FINAL_STATUSES)))
    )
    open_booking_ids = set(
        db.session.scalars(
            select(CaseFile.booking_id).where(
                CaseFile.id.in_(open_ids), CaseFile.booking_id.is_not(None)
            )
        )
    )
    bookings = list(db.session.scalars(select(Booking)))
    cases = list(db.session.scalars(select(CaseFile)))
    kept_people = _identities(
        [b for b in bookings if b.id in open_booking_ids], [c for c in cases if c.id in open_ids]
    )
    forgotten_people = (
        _identities(
            [b for b in bookings if b.id not in open_booking_ids],
            [c for c in cases if c.id not in open_ids],
        )
        - kept_people
    ) | {"draft@example.net"}  # the unfinished draft's
    closed_booking_ids = {c.booking_id for c in cases if c.id not in open_ids and c.booking_id}
    assert len(forgotten_people) > 100 and open_ids and closed_booking_ids
    period = Period(date(2024, 1, 1), today() + timedelta(days=30))
    before = _figures(app, period)
    db.session.remove()

    # Today: the demo's oldest records are already due.
    jobs.run_pass(start)
    assert old_file.exists() and kept_file.exists()
    assert _count(Booking, Booking.anonymised_at.is_not(None)) > 0
    _assert_same_figures(_figures(app, period), before)
    db.session.remove()

    # Two years on: bookings, e-mails, drafts, attempts, documents of closed cases and survey
    # comments are past their periods; closed case files (five years) are not.
    two_years = start + 2 * YEAR + timedelta(days=10)
    clock.move_to(two_years)
    fresh = Citizen(client).book(**LATER_CITIZEN)  # a booking made now, still to come
    _run_until_done(two_years)

    assert _count(BookingDraft, BookingDraft.created_at < two_years) == 0  # today's booking's
    assert _count(SignInAttempt) == 0
    sent = func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at)
    assert _count(OutboxMessage, sent < two_years - timedelta(days=30)) == 0
    assert _count(SurveyResponse, SurveyResponse.comment != "") == 0
    assert _count(SurveyResponse) == 20  # the scores stay
    assert not old_file.exists() and db.session.get(CaseDocument, old_document_id) is None
    assert kept_file.exists() and db.session.get(CaseDocument, kept_document_id) is not None
    unlinked = select(Booking).where(
        Booking.id.not_in(open_booking_ids | closed_booking_ids),
        Booking.start_utc < start + timedelta(days=30),
    )
    for booking in db.session.scalars(unlinked):
        assert booking.anonymised_at is not None
        assert (booking.citizen_name, booking.citizen_email, booking.citizen_phone) == ("", "", "")
        assert booking.description == "" and booking.cancel_reason == ""
    anonymised_ids = set(db.session.scalars(unlinked.with_only_columns(Booking.id)))
    assert _count(AccessToken, AccessToken.booking_id.in_(anonymised_ids)) == 0
    # A case file's booking follows the case: closed cases keep their people for now.
    for booking_id in closed_booking_ids:
        assert db.session.get(Booking, booking_id).anonymised_at is None
    assert _count(CaseFile, CaseFile.anonymised_at.is_not(None)) == 0
    fresh_booking = db.session.scalars(select(Booking).order_by(Booking.id.desc())).first()
    assert fresh_booking.citizen_email == LATER_CITIZEN["email"]
    assert client.get(fresh).status_code == 200  # its link works
    _assert_same_figures(_figures(app, period), before)
    db.session.remove()

    # Six years on: closed case files too, with their history and their bookings.
    six_years = start + 6 * YEAR
    clock.move_to(six_years)
    Citizen(client).book(**LATER_CITIZEN)
    _run_until_done(six_years)

    for case in db.session.scalars(select(CaseFile)):
        if case.id in open_ids:
            assert case.anonymised_at is None and case.interested_name
            continue
        assert case.anonymised_at is not None
        assert (case.interested_name, case.interested_email, case.interested_phone) == ("", "", "")
        assert case.description == "" and case.status_detail == "" and case.search_text
        assert case.sector or case.case_type  # what the figures read stays
    for booking_id in closed_booking_ids:
        assert db.session.get(Booking, booking_id).anonymised_at is not None
    for booking_id in open_booking_ids:
        booking = db.session.get(Booking, booking_id)
        assert booking.anonymised_at is None and booking.citizen_name
    notes = db.session.scalars(
        select(CaseEvent.note).where(CaseEvent.case_id.not_in(open_ids), CaseEvent.note != "")
    ).all()
    assert notes == []
    _assert_same_figures(_figures(app, period), before)

    # A copy of the database: no forgotten person anywhere, in any text column of any table.
    dump = database_text()
    left = sorted(person for person in forgotten_people if person in dump)
    assert left == [], [line for line in dump.splitlines() if any(p in line for p in left)][:5]
    assert any(person in dump for person in kept_people)  # the dump does see people
    assert LATER_CITIZEN["email"] in dump  # the booking made today is untouched


# --- Cancelling does what the privacy page says -----------------------------------------------


def test_a_cancelled_booking_is_anonymised_thirty_days_after_cancelling(app, client):
    make_world()
    manage = Citizen(client).book()
    managing.cancel(client, manage, reason="Ja m'ho han resolt; el meu DNI és 12345678Z.")
    booking = db.session.scalars(select(Booking)).one()
    assert booking.status == BookingStatus.CANCELLED and booking.cancel_reason
    cancelled = booking.cancelled_at
    db.session.remove()

    jobs.run_pass(cancelled + timedelta(days=29))
    booking = db.session.scalars(select(Booking)).one()
    assert booking.anonymised_at is None and booking.citizen_name == "Raúl Sánchez Puig"
    db.session.remove()

    moment = cancelled + timedelta(days=30, minutes=1)
    jobs.run_pass(moment)
    booking = db.session.scalars(select(Booking)).one()
    assert booking.anonymised_at == moment
    assert booking.citizen_name == booking.citizen_email == booking.citizen_phone == ""
    assert booking.citizen_address == booking.description == booking.cancel_reason == ""
    assert booking.email_key == "" and booking.network_key is None
    # What the figures read stays.
    assert booking.status == BookingStatus.CANCELLED and booking.cancelled_at == cancelled
    assert booking.municipality_id and booking.technician_id and booking.start_utc
    assert _count(AccessToken) == 0 and _count(OutboxMessage) == 0
    assert client.get(manage).status_code == 404  # the link is gone with the data


def test_a_cancelled_booking_with_a_case_file_follows_the_case(app):
    world = make_world()
    start = clock.now() - timedelta(days=60)
    booking, _token = make_booking(
        world.town,
        world.service,
        world.technicians[0],
        start,
        status=BookingStatus.CANCELLED,
        cancelled_at=start - timedelta(days=1),
    )
    case = case_from_booking(booking, actor=None, now=clock.now())
    db.session.commit()
    assert due_counts(clock.now())[Kind.CANCELLED_BOOKINGS] == 0
    apply_retention(clock.now())
    assert db.session.get(Booking, booking.id).anonymised_at is None
    assert db.session.get(CaseFile, case.id).interested_email == "raul@example.net"


# --- The primitives (a coordinator's erasure uses them too) -----------------------------------


def _closed_case_with_history(world, upload_dir):
    booking, _token = make_booking(
        world.town,
        world.service,
        world.technicians[0],
        clock.now() - timedelta(days=3),
        status=BookingStatus.ATTENDED,
        citizen_phone="612345678",
        citizen_address="Carrer Major, 1",
        description="La companyia em cobra dues vegades.",
    )
    technician = world.technicians[0]
    case = case_from_booking(booking, actor=technician, now=clock.now())
    update_case(
        case,
        {
            "interested_name": "Raúl Sánchez Vidal",
            "status": CaseStatus.RESOLT,
            "sector": "TELECOM",
            "amount_claimed": 120,
        },
        actor=technician,
        expected_version=case.version,
        now=clock.now(),
        note="Truca al 612345678, en Raúl.",
    )
    db.session.commit()
    document = _attach(case, "contracte_raul.png")
    return booking, case, document


def test_anonymising_a_case_blanks_its_people_history_documents_and_booking(app, upload_dir):
    world = make_world()
    booking, case, document = _closed_case_with_history(world, upload_dir)
    path = _file(document.stored_name, upload_dir)
    version = case.version
    now = clock.now()

    assert anonymise.anonymise_cases([case.id], now) == 1
    db.session.commit()

    case = db.session.get(CaseFile, case.id)
    assert case.anonymised_at == now and case.version == version + 1
    assert (case.interested_name, case.interested_email, case.interested_phone) == ("", "", "")
    assert case.description == "" and case.search_text == case.number
    assert (case.status, case.sector, case.amount_claimed) == (CaseStatus.RESOLT, "TELECOM", 120)
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
    assert all(event.note == "" for event in events)
    kept = {(e.field, e.new_value) for e in events if e.new_value}
    assert ("status", CaseStatus.RESOLT) in kept and ("sector", "TELECOM") in kept
    assert not [e for e in events if e.field == "interested_name" and (e.old_value or e.new_value)]
    assert not path.exists() and _count(CaseDocument) == 0
    assert db.session.get(Booking, booking.id).anonymised_at == now
    assert "612345678" not in database_text() and "Raúl" not in database_text()

    # Idempotent: a second call changes nothing and counts nothing.
    assert anonymise.anonymise_cases([case.id], now + timedelta(days=1)) == 0
    assert anonymise.anonymise_bookings([booking.id], now + timedelta(days=1)) == 0
    db.session.commit()
    assert db.session.get(CaseFile, case.id).anonymised_at == now


def test_a_deleted_document_keeps_its_file_if_the_transaction_rolls_back(app, upload_dir):
    world = make_world()
    _booking, case, document = _closed_case_with_history(world, upload_dir)
    path = _file(document.stored_name, upload_dir)

    assert anonymise.delete_documents([document.id]) == 1
    db.session.rollback()
    assert path.exists() and db.session.get(CaseDocument, document.id) is not None

    assert anonymise.delete_documents([document.id]) == 1
    assert path.exists()  # not before the commit
    db.session.commit()
    assert not path.exists()
    assert anonymise.delete_documents([document.id]) == 0


def test_outbox_and_survey_primitives(app, client):
    make_world()
    Citizen(client).book()
    messages = db.session.scalars(select(OutboxMessage.id)).all()
    assert anonymise.delete_outbox(messages) == len(messages) > 0
    assert anonymise.delete_outbox(messages) == 0
    booking = db.session.scalars(select(Booking)).one()
    response = SurveyResponse(
        booking_id=booking.id,
        technician_id=booking.technician_id,
        municipality_id=booking.municipality_id,
        attention=9,
        competence=8,
        resolved="totalment",
        comment="Em dic Raúl i tot va anar molt bé.",
    )
    db.session.add(response)
    db.session.commit()
    assert anonymise.blank_survey_comments([response.id], clock.now()) == 1
    assert anonymise.blank_survey_comments([response.id], clock.now()) == 0
    db.session.commit()
    response = db.session.get(SurveyResponse, response.id)
    assert (response.comment, response.attention, response.competence) == ("", 9, 8)


def test_the_job_takes_a_bounded_batch_per_pass(app):
    world = make_world()
    old = clock.now() - 2 * YEAR
    for hour in range(5):
        make_booking(
            world.town,
            world.service,
            world.technicians[0],
            old + timedelta(hours=hour),
            status=BookingStatus.NO_SHOW,
        )
    assert due_counts(clock.now())[Kind.PAST_BOOKINGS] == 5
    assert apply_retention(clock.now(), batch=2) == 2
    assert apply_retention(clock.now(), batch=2) == 2
    assert apply_retention(clock.now(), batch=2) == 1
    assert apply_retention(clock.now(), batch=2) == 0
    assert _count(Booking, Booking.anonymised_at.is_(None)) == 0


def _retention_statements(world, how_many: int) -> list[str]:
    old = clock.now() - 6 * YEAR - timedelta(days=how_many)
    for day in range(how_many):
        booking, _ = make_booking(
            world.town,
            world.service,
            world.technicians[0],
            old + timedelta(days=day),
            status=BookingStatus.ATTENDED,
        )
        case = case_from_booking(booking, actor=None, now=booking.end_utc)
        case.status, case.resolved_at = CaseStatus.RESOLT, booking.end_utc
        db.session.commit()
        # Read long ago: reading a document's text is one document at a time by design
        # (umic.casefiles.extract), and this counts the retention's statements.
        _attach(case, f"document_{day}.png").text_status = TextStatus.DONE
        db.session.add(SignInAttempt(username="X", ip="192.0.2.1", at=old))
        db.session.commit()
    with counted_queries() as statements:
        jobs.run_pass(clock.now())
    assert _count(CaseFile, CaseFile.anonymised_at.is_(None)) == 0
    assert _count(CaseDocument) == 0
    return statements


def test_a_pass_costs_the_same_number_of_statements_for_3_or_30_records(app, upload_dir):
    world = make_world()
    few = _retention_statements(world, 3)
    many = _retention_statements(world, 30)
    assert len(many) == len(few)


def test_bookings_still_within_their_period_stay(app):
    world = make_world()
    day = working_days(1)
    future, _ = make_booking(
        world.town,
        world.service,
        world.technicians[0],
        clock.now() + timedelta(days=(day - today()).days),
    )
    recent, _ = make_booking(
        world.town,
        world.service,
        world.technicians[1],
        clock.now() - timedelta(days=300),
        status=BookingStatus.ATTENDED,
    )
    assert apply_retention(clock.now()) == 0
    for booking in (future, recent):
        assert db.session.get(Booking, booking.id).citizen_name == "Raúl Sánchez"


def test_a_never_period_keeps_the_data(app):
    app.config.update(RETENTION_PAST_BOOKINGS_DAYS=None)
    world = make_world()
    booking, _ = make_booking(
        world.town,
        world.service,
        world.technicians[0],
        clock.now() - 10 * YEAR,
        status=BookingStatus.ATTENDED,
    )
    assert due_counts(clock.now())[Kind.PAST_BOOKINGS] == 0
    assert apply_retention(clock.now()) == 0
    assert db.session.get(Booking, booking.id).anonymised_at is None


# --- Command line -----------------------------------------------------------------------------


def test_the_command_says_what_is_due_and_applies_it(app, runner):
    world = make_world()
    for status in (BookingStatus.ATTENDED, BookingStatus.CANCELLED):
        make_booking(
            world.town,
            world.service,
            world.technicians[0] if status == BookingStatus.ATTENDED else world.technicians[1],
            clock.now() - 2 * YEAR,
            status=status,
            cancelled_at=clock.now() - 2 * YEAR if status == BookingStatus.CANCELLED else None,
        )
    db.session.remove()
    dry = runner.invoke(args=["privacy", "retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "past_bookings: 1 due (anonymise after 1 year)" in dry.output
    assert "cancelled_bookings: 1 due (anonymise after 30 days)" in dry.output
    assert "closed_cases: 0 due (anonymise after 5 years)" in dry.output
    assert _count(Booking, Booking.anonymised_at.is_not(None)) == 0
    db.session.remove()

    done = runner.invoke(args=["privacy", "retention"])
    assert done.exit_code == 0, done.output
    assert "2 records changed" in done.output
    assert _count(Booking, Booking.anonymised_at.is_not(None)) == 2
    assert "Raúl" not in done.output


def test_a_wrong_retention_setting_stops_the_start(monkeypatch, tmp_path):
    from umic import create_app
    from umic.config import TestConfig

    monkeypatch.setenv("UMIC_RETENTION_OUTBOX_DAYS", "-3")
    with pytest.raises(ValueError, match="RETENTION_OUTBOX_DAYS"):
        create_app(TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


# --- The privacy page -------------------------------------------------------------------------


def test_the_privacy_page_names_the_contact_and_the_periods_of_the_schedule(app, client):
    app.config.update(
        DPO_NAME="Delegada de protecció de dades",
        DPO_EMAIL="dpd@diputacio.example",
        RETENTION_CANCELLED_BOOKINGS_DAYS=45,
        RETENTION_CLOSED_CASES_DAYS=6 * 365,
    )
    page = soup(client.get("/privacitat").get_data(as_text=True))
    text = page.get_text(" ", strip=True)
    assert "Delegada de protecció de dades" in text
    assert page.select_one('a[href="mailto:dpd@diputacio.example"]')
    assert "Rambla de Catalunya, 126, 08008 Barcelona" in text
    table = page.select_one("table")
    assert table.select_one("caption") and len(table.select("thead th[scope=col]")) == 3
    rows = {
        row.select_one("th").get_text(" ", strip=True): row.select_one("td").get_text(strip=True)
        for row in table.select("tbody tr")
    }
    assert rows["Les dades d'una cita anul·lada"] == "45 dies des que s'anul·la la cita"
    assert rows["Les dades d'un expedient tancat (consulta, queixa, reclamació...)"] == (
        "6 anys des que es tanca l'expedient"
    )
    assert rows["Les dades d'una cita que no arribeu a confirmar"].startswith("1 dia")
    assert len(rows) == 7  # staff sign-in attempts are not the citizens' data
    # Cancelling: the page says what the job does, with the same period.
    assert "al cap de 45 dies, se n'esborren el nom" in text
    assert "Podeu retirar el consentiment" in text


def test_the_privacy_page_in_spanish_says_the_periods_in_spanish(app, client):
    page = soup(client.get("/privacitat?lang=es").get_data(as_text=True))
    cells = [td.get_text(strip=True) for td in page.select("table tbody td")]
    assert any(cell.startswith("30 días") for cell in cells)
    assert any(cell.startswith("5 años") for cell in cells)


def test_unconfigured_the_page_names_the_office_and_its_postal_address(app, client):
    page = soup(client.get("/privacitat").get_data(as_text=True))
    assert not page.select('a[href^="mailto:"]')
    text = page.get_text(" ", strip=True)
    assert "Delegat de protecció de dades de la Diputació de Barcelona" in text
    assert "Rambla de Catalunya, 126" in text


def test_staff_are_not_named_by_the_retention_log(app, caplog):
    world = make_world()
    make_booking(
        world.town,
        world.service,
        world.technicians[0],
        clock.now() - 2 * YEAR,
        status=BookingStatus.ATTENDED,
    )
    caplog.set_level("INFO", logger="umic.privacy.retention")
    assert apply_retention(clock.now()) == 1
    assert "past_bookings 1" in caplog.text
    assert "Raúl" not in caplog.text and "raul@" not in caplog.text
