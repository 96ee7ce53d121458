"""Unit tests of umic.casefiles.tracker: reading and writing the existing tracker's list.

The seed's seven rows (tests/data/tracker_seed.tsv, copied verbatim from the presentation)
are the reference for what a real export looks like.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from umic.casefiles import tracker
from umic.casefiles.tracker import HEADER
from umic.casefiles.tracker import ExportLine
from umic.casefiles.tracker import TrackerFileError
from umic.core.text import fold
from umic.models import CaseStatus
from umic.models import CaseType

MADRID = ZoneInfo("Europe/Madrid")
DATA = Path(__file__).resolve().parents[1] / "data"
SEED = (DATA / "tracker_seed.tsv").read_bytes()
SEED_TEXT = SEED.decode("utf-8")
SEED_LINES = SEED_TEXT.splitlines()
GELIDA_ROW = SEED_LINES[1].split("\t")


def text_file(*rows: list[str], delimiter: str = "\t") -> str:
    """A file with the tracker's header and ``rows``."""
    return "\n".join(delimiter.join(cells) for cells in [list(HEADER), *rows]) + "\n"


def with_cells(**changes: str) -> list[str]:
    """The seed's first row (Gelida, 2025/0029005) with some cells replaced by column name."""
    cells = list(GELIDA_ROW)
    for name, value in changes.items():
        cells[HEADER.index(name)] = value
    return cells


def parse_one(cells: list[str]) -> tracker.ParsedFile:
    return tracker.parse(text_file(cells).encode("utf-8"), MADRID)


def only_problem(parsed: tracker.ParsedFile) -> tracker.RowProblem:
    assert parsed.rows == []
    assert len(parsed.problems) == 1
    return parsed.problems[0]


# --- the seed's rows ---------------------------------------------------------------------------


def test_the_seed_rows_parse_without_problems():
    parsed = tracker.parse(SEED, MADRID)

    assert parsed.problems == []
    assert parsed.encoding == "UTF-8"
    assert parsed.delimiter == "\t"
    assert parsed.lines_read == 7
    assert [row.number for row in parsed.rows] == [
        "2025/0029005",
        "2025/0028936",
        "2025/0028144",
        "2025/0027982",
        "2025/0028805",
        "2025/0028804",
        "2025/0028662",
    ]
    assert [row.line for row in parsed.rows] == [2, 3, 4, 5, 6, 7, 8]


def test_the_first_seed_row_maps_every_column():
    row = tracker.parse(SEED, MADRID).rows[0]

    assert row.tracker_id == "458973"
    assert row.procedure_name == "Reclamacions"
    assert row.case_type == "reclamacio"
    assert row.registry == ""
    assert (row.year, row.sequence) == (2025, 29005)
    assert row.town == "Ajuntament de Gelida"
    assert row.call == ""
    # 15/05/2025 16:48:06 in Madrid (CEST, UTC+2).
    assert row.requested_at == datetime(2025, 5, 15, 14, 48, 6, tzinfo=UTC)
    # A day without a time: local midnight.
    assert row.updated_at == datetime(2025, 5, 15, 22, 0, tzinfo=UTC)
    assert row.updated_has_time is False
    assert row.status == "pendent"
    assert row.status_detail == ""
    assert row.internal_status == ""
    assert row.internal_detail == "Manca d'enviament de factura d'aigua"
    assert row.username == "OPSSVEGAVN"
    assert row.organic == "E02020000 - Ser. Suport Polítiques de Consum"
    assert row.interested_name == "TRINIDAD"
    assert row.deadline is None


def test_the_seed_statuses_including_the_misspelt_one():
    rows = tracker.parse(SEED, MADRID).rows

    assert [row.status for row in rows] == [
        "pendent",
        "pendent",
        "en_tramit",
        "documentacio_requerida",
        "en_tramit",
        "en_tramit",
        "documentacio_requerida",
    ]
    saray = rows[3]
    assert saray.status_detail == "Documentació requereida"  # kept as the tracker wrote it
    assert saray.internal_status == "Documentació requereida"


def test_enotum_in_the_seed_gives_the_deadlines():
    rows = {row.number: row for row in tracker.parse(SEED, MADRID).rows}

    # Updated 14/05/2025, "ENOTUM fins 28/05. Cobrament impots indeguts, empresa Moneyman".
    assert rows["2025/0027982"].deadline == date(2025, 5, 28)
    # Updated 19/05/2025, "ENOTUM fins 02/06".
    assert rows["2025/0028662"].deadline == date(2025, 6, 2)
    assert [r.deadline for r in rows.values() if r.status != "documentacio_requerida"] == [None] * 5


# --- encodings and separators -----------------------------------------------------------------


def test_semicolons_and_windows_1252_are_read_like_the_tab_separated_utf8_file():
    windows = (DATA / "tracker_seed_windows.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        windows.decode("utf-8")  # the fixture really is not UTF-8

    parsed = tracker.parse(windows, MADRID)

    assert parsed.encoding == "Windows-1252"
    assert parsed.delimiter == ";"
    assert parsed.problems == []
    assert parsed.rows == tracker.parse(SEED, MADRID).rows


def test_a_utf8_byte_order_mark_is_ignored():
    parsed = tracker.parse(b"\xef\xbb\xbf" + SEED, MADRID)

    assert parsed.problems == []
    assert parsed.rows == tracker.parse(SEED, MADRID).rows


def test_latin1_bytes_of_a_semicolon_file_with_a_bom_less_header():
    data = text_file(with_cells(**{"Nom interessat": "JOSÉ MUÑOZ"}), delimiter=";")

    row = tracker.parse(data.encode("latin-1"), MADRID).rows[0]

    assert row.interested_name == "JOSÉ MUÑOZ"
    assert row.procedure_name == "Reclamacions"


def test_utf16_with_a_bom_as_excel_saves_unicode_text():
    parsed = tracker.parse(SEED_TEXT.encode("utf-16"), MADRID)

    assert parsed.encoding == "UTF-16"
    assert parsed.rows == tracker.parse(SEED, MADRID).rows


@pytest.mark.parametrize(
    ("header", "expected"),
    [("ID\tNom tràmit\tRegistre", "\t"), ("ID;Nom tràmit;Registre", ";"), ("A;B\tC\tD", "\t")],
)
def test_delimiter_is_detected_from_the_header_line(header, expected):
    assert tracker.detect_delimiter(header) == expected


def test_a_comma_separated_header_is_refused():
    with pytest.raises(TrackerFileError, match="tabs or semicolons"):
        tracker.detect_delimiter(",".join(HEADER))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf\n\n  \n", "empty"),
        (b"%PDF-1.7\n\x00\x01\x02 binary", "control characters"),
        # 0x81 is undefined in Windows-1252 and not UTF-8 either.
        ("\t".join(HEADER).encode("utf-8") + b"\n1\t\x81\x8d", "neither UTF-8 nor Windows-1252"),
    ],
)
def test_unreadable_files_are_refused_as_a_whole(data, message):
    with pytest.raises(TrackerFileError, match=message):
        tracker.parse(data, MADRID)


def test_a_misspelt_header_names_the_missing_and_unknown_columns():
    data = (DATA / "tracker_bad_header.tsv").read_bytes()

    with pytest.raises(TrackerFileError) as raised:
        tracker.parse(data, MADRID)

    assert "missing columns: Expedient" in str(raised.value)
    assert "unknown columns: Expedients" in str(raised.value)


def test_a_repeated_header_column_is_refused():
    header = "\t".join([*HEADER, "Expedient"])

    with pytest.raises(TrackerFileError, match="repeated columns: Expedient"):
        tracker.parse(f"{header}\n".encode(), MADRID)


def test_header_names_are_matched_without_case_accents_or_extra_spaces_and_in_any_order():
    names = ["  " + name.upper().replace("À", "A").replace("Ó", "O") for name in HEADER]
    order = list(reversed(range(len(HEADER))))
    header = "\t".join(names[i] for i in order)
    row = "\t".join(GELIDA_ROW[i] for i in order)

    parsed = tracker.parse(f"{header}\n{row}\n".encode(), MADRID)

    assert parsed.problems == []
    assert parsed.rows[0] == tracker.parse(SEED, MADRID).rows[0]


def test_a_header_only_file_has_no_rows():
    parsed = tracker.parse(("\t".join(HEADER) + "\r\n").encode(), MADRID)

    assert (parsed.rows, parsed.problems, parsed.lines_read) == ([], [], 0)


def test_quoted_values_may_hold_the_separator_and_line_breaks():
    detail = 'Diu "no"; manca factura\nde l\'aigua'
    cells = with_cells(**{"Detall estat intern": '"' + detail.replace('"', '""') + '"'})

    parsed = tracker.parse(text_file(cells, delimiter=";").encode(), MADRID)

    assert parsed.problems == []
    assert parsed.rows[0].internal_detail == detail


# --- statuses, procedures, towns ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("Pendent", CaseStatus.PENDENT),
        ("PENDENT", CaseStatus.PENDENT),
        ("En tràmit", CaseStatus.EN_TRAMIT),
        ("En tramit", CaseStatus.EN_TRAMIT),
        ("  en   TRÀMIT ", CaseStatus.EN_TRAMIT),
        ("Documentació requereida", CaseStatus.DOCUMENTACIO),
        ("Documentació requerida", CaseStatus.DOCUMENTACIO),
        ("documentacio requerida", CaseStatus.DOCUMENTACIO),
        ("Resolt", CaseStatus.RESOLT),
        ("Tancat", CaseStatus.TANCAT),
        ("Arxivat", CaseStatus.ARXIVAT),
        ("Desistit", CaseStatus.DESISTIT),
    ],
)
def test_every_status_spelling_maps_to_its_code(word, code):
    assert tracker.parse_status(word) == code


@pytest.mark.parametrize("word", ["", "Perdut", "Documentació", "Pendents"])
def test_unknown_statuses_are_refused(word):
    with pytest.raises(ValueError, match="unknown status"):
        tracker.parse_status(word)


def test_export_words_read_back_as_the_same_status():
    for code, word in tracker.STATUS_WORDS.items():
        assert tracker.parse_status(word) == code
    assert tracker.STATUS_WORDS["documentacio_requerida"] == "Documentació requerida"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Reclamacions", CaseType.RECLAMACIO),
        ("Queixes", CaseType.QUEIXA),
        ("Consultes", CaseType.CONSULTA),
        ("Denúncies", CaseType.DENUNCIA),
        ("DENUNCIES", CaseType.DENUNCIA),
        ("Mediacions", CaseType.MEDIACIO),
        ("Reclamació", CaseType.RECLAMACIO),
    ],
)
def test_procedure_names_map_to_case_types(name, code):
    assert tracker.parse_procedure(name) == code


def test_an_unknown_procedure_is_refused():
    with pytest.raises(ValueError, match="unknown procedure"):
        tracker.parse_procedure("Subvencions")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Ajuntament de Gelida", "gelida"),
        ("Gelida", "gelida"),
        ("AJUNTAMENT DE SANTA MARIA DE PALAUTORDERA", "santa maria de palautordera"),
        ("Ajuntament d'Abrera", "abrera"),
        ("Ajuntament del Bruc", "el bruc"),
        ("Ajuntament dels Prats de Rei", "els prats de rei"),
        ("Ajuntament de l'Hospitalet de Llobregat", "l hospitalet de llobregat"),
        ("Ajuntament de la Garriga", "la garriga"),
    ],
)
def test_town_keys_find_the_town_inside_the_council_name(text, key):
    assert key in tracker.town_keys(text)


@pytest.mark.parametrize(
    ("town", "council"),
    [
        ("Gelida", "Ajuntament de Gelida"),
        ("El Bruc", "Ajuntament del Bruc"),
        ("Els Prats de Rei", "Ajuntament dels Prats de Rei"),
        ("Abrera", "Ajuntament d'Abrera"),
        ("L'Hospitalet de Llobregat", "Ajuntament de l'Hospitalet de Llobregat"),
        ("La Garriga", "Ajuntament de la Garriga"),
        ("Les Franqueses del Vallès", "Ajuntament de les Franqueses del Vallès"),
        ("Ullastrell", "Ajuntament d'Ullastrell"),
        ("", ""),
    ],
)
def test_council_names_are_written_as_catalan_contracts_them(town, council):
    result = tracker.council_name(town)

    assert result == council
    if town:
        assert tracker.town_keys(result)[-1] == tracker.town_keys(town)[0]


def test_every_towns_council_name_leads_back_to_that_town_only():
    source = Path(__file__).resolve().parents[2] / "umic" / "data" / "municipalities_barcelona.csv"
    with source.open(encoding="utf-8") as handle:
        names = [row["name"] for row in csv.DictReader(handle)]
    folded = {fold(name): name for name in names}
    assert len(names) == 311 and len(folded) == 311

    for name in names:
        matches = [key for key in tracker.town_keys(tracker.council_name(name)) if key in folded]
        assert matches == [fold(name)], name


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "has_time"),
    [
        ("15/05/2025 16:48:06", datetime(2025, 5, 15, 14, 48, 6, tzinfo=UTC), True),
        ("15/05/2025 16:48", datetime(2025, 5, 15, 14, 48, tzinfo=UTC), True),
        ("16/05/2025", datetime(2025, 5, 15, 22, 0, tzinfo=UTC), False),
        ("5/1/2025 9:05:00", datetime(2025, 1, 5, 8, 5, tzinfo=UTC), True),  # CET, UTC+1
        (" 29/02/2024 ", datetime(2024, 2, 28, 23, 0, tzinfo=UTC), False),
    ],
)
def test_local_dates_become_utc(text, expected, has_time):
    assert tracker.parse_local(text, MADRID) == (expected, has_time)


@pytest.mark.parametrize(
    "text",
    ["31/02/2025", "29/02/2025 10:00:00", "15/13/2025", "15/05/2025 24:00:00", "2025-05-15", ""],
)
def test_invalid_dates_are_refused(text):
    with pytest.raises(ValueError):
        tracker.parse_local(text, MADRID)


def test_dates_are_written_in_madrid_time():
    summer = datetime(2025, 5, 15, 14, 48, 6, 999_999, tzinfo=UTC)
    winter_midnight = datetime(2025, 1, 31, 23, 30, tzinfo=UTC)

    assert tracker.format_local_datetime(summer, MADRID) == "15/05/2025 16:48:06"
    assert tracker.format_local_date(winter_midnight, MADRID) == "01/02/2025"


@pytest.mark.parametrize(
    ("detail", "updated_on", "deadline"),
    [
        ("ENOTUM fins 28/05", date(2025, 5, 14), date(2025, 5, 28)),
        ("enotum fins al 2/6. Factures", date(2025, 5, 19), date(2025, 6, 2)),
        ("ENOTUM fins 10/01", date(2025, 12, 20), date(2026, 1, 10)),  # the next one
        ("ENOTUM fins 28/05", date(2025, 6, 3), date(2025, 5, 28)),  # updated after it passed
        ("ENOTUM fins 15/06/2026", date(2025, 5, 14), date(2026, 6, 15)),
        ("Manca factura", date(2025, 5, 14), None),
        ("fins 28/05", date(2025, 5, 14), None),
    ],
)
def test_enotum_deadline(detail, updated_on, deadline):
    assert tracker.enotum_deadline(detail, updated_on) == deadline


def test_an_enotum_deadline_that_is_not_a_day_is_an_error():
    with pytest.raises(ValueError, match="not a real date"):
        tracker.enotum_deadline("ENOTUM fins 31/02", date(2025, 2, 1))


# --- rows that are skipped -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"Expedient": "2025/29005"}, "bad Expedient '2025/29005'"),
        ({"Expedient": ""}, "no Expedient"),
        ({"Expedient": "2025/0000000"}, "bad Expedient"),
        ({"Data petició": "31/02/2025 10:00:00"}, "bad Data petició: '31/02/2025 10:00:00' is not"),
        ({"Data petició": ""}, "bad Data petició"),
        ({"Data actualització": "16-05-2025"}, "bad Data actualització"),
        ({"Estat Petició": "Perdut"}, "unknown status 'Perdut'"),
        ({"Nom tràmit": "Subvencions"}, "unknown procedure"),
    ],
)
def test_a_bad_value_skips_the_row_with_its_reason(changes, reason):
    problem = only_problem(parse_one(with_cells(**changes)))

    assert problem.skipped
    assert problem.line == 2
    assert problem.number == with_cells(**changes)[HEADER.index("Expedient")]
    assert reason in problem.message


def test_every_reason_of_a_row_is_reported():
    cells = with_cells(**{"Estat Petició": "Perdut", "Data petició": "31/02/2025 10:00:00"})

    problem = only_problem(parse_one(cells))

    assert "unknown status" in problem.message
    assert "bad Data petició" in problem.message


def test_a_row_with_more_cells_than_the_header_is_skipped():
    cells = with_cells(**{"Detall estat intern": "Manca\tfactura"})

    problem = only_problem(tracker.parse(text_file(cells).encode(), MADRID))

    assert "has 16 columns, the header has 15" in problem.message


def test_trailing_empty_cells_and_a_short_row_of_empty_last_cells_are_fine():
    longer = [*GELIDA_ROW, "", ""]
    shorter = with_cells(**{"Orgànic": "", "Nom interessat": ""})[:-2]

    parsed = tracker.parse(text_file(longer, shorter).encode(), MADRID)

    assert [problem.message for problem in parsed.problems] == ["repeats the Expedient of line 2"]
    assert parsed.rows[0].interested_name == "TRINIDAD"


def test_a_repeated_expedient_keeps_the_first_row():
    first = with_cells()
    second = with_cells(**{"Nom interessat": "ALTRA"})

    parsed = tracker.parse(text_file(first, second).encode(), MADRID)

    assert [row.interested_name for row in parsed.rows] == ["TRINIDAD"]
    assert parsed.problems == [
        tracker.RowProblem(3, "2025/0029005", "repeats the Expedient of line 2")
    ]


def test_an_impossible_enotum_day_is_a_warning_and_the_row_is_kept():
    cells = with_cells(
        **{"Estat Petició": "Documentació requereida", "Detall estat intern": "ENOTUM fins 31/02"}
    )

    parsed = parse_one(cells)

    assert parsed.rows[0].deadline is None
    assert len(parsed.problems) == 1
    assert not parsed.problems[0].skipped
    assert "not a real date" in parsed.problems[0].message


def test_blank_lines_are_ignored_and_line_numbers_count_every_physical_line():
    bad = with_cells(**{"Estat Petició": "Perdut"})
    data = text_file(with_cells(), bad).replace("\n" + "\t".join(bad), "\n\n" + "\t".join(bad))

    parsed = tracker.parse(("\n" + data + "\n\n").encode(), MADRID)

    assert parsed.lines_read == 2
    assert parsed.rows[0].line == 3
    assert parsed.problems[0].line == 5


def test_the_bad_rows_fixture_reports_each_row_by_line():
    parsed = tracker.parse((DATA / "tracker_bad_rows.tsv").read_bytes(), MADRID)

    skipped = {problem.line: problem for problem in parsed.problems if problem.skipped}
    warnings = {problem.line: problem for problem in parsed.problems if not problem.skipped}
    assert sorted(skipped) == [3, 4, 6, 8, 11, 12]  # the unknown town (5) needs the database
    assert sorted(warnings) == [10]  # the unknown user (7) needs the database too
    assert [row.line for row in parsed.rows] == [2, 5, 7, 9, 10]
    lenient = parsed.rows[3]
    assert (lenient.status, lenient.case_type, lenient.town) == ("tancat", "queixa", "gelida")
    assert lenient.updated_has_time is True


# --- writing --------------------------------------------------------------------------------------


def export_line(**overrides) -> ExportLine:
    values = {
        "id": 7,
        "procedure_name": "Reclamacions",
        "registry": "",
        "number": "2025/0027982",
        "town": "Gelida",
        "call": "",
        "requested_at": datetime(2025, 5, 9, 7, 31, 42, tzinfo=UTC),
        "updated_at": datetime(2025, 5, 13, 22, 30, tzinfo=UTC),
        "status": "documentacio_requerida",
        "status_detail": "Documentació requerida",
        "internal_status": "Documentació requerida",
        "internal_detail": "ENOTUM fins 28/05. Cobrament impots indeguts, empresa Moneyman",
        "username": "OPSSPASCUETCA",
        "organic": "E02020000 - Ser. Suport Polítiques de Consum",
        "interested_name": "SARAY",
    }
    values.update(overrides)
    return ExportLine(**values)


def test_write_gives_the_header_and_tab_separated_rows():
    out = io.StringIO()

    count = tracker.write([export_line(), export_line(id=8, town="", username="")], out, MADRID)

    lines = out.getvalue().split("\n")
    assert count == 2
    assert lines[0] == SEED_LINES[0]  # the seed's header, byte for byte
    assert lines[1].split("\t") == [
        "7",
        "Reclamacions",
        "",
        "2025/0027982",
        "Ajuntament de Gelida",
        "",
        "09/05/2025 09:31:42",
        "14/05/2025",
        "Documentació requerida",
        "Documentació requerida",
        "Documentació requerida",
        "ENOTUM fins 28/05. Cobrament impots indeguts, empresa Moneyman",
        "OPSSPASCUETCA",
        "E02020000 - Ser. Suport Polítiques de Consum",
        "SARAY",
    ]
    assert lines[2].split("\t")[4] == "" and lines[2].split("\t")[12] == ""
    assert lines[3:] == [""]


def test_what_write_writes_parse_reads_back():
    tricky = export_line(internal_detail='Diu "prou"\tamb tabulador\ni salt de línia')
    out = io.StringIO()
    tracker.write([tricky], out, MADRID)

    row = tracker.parse(out.getvalue().encode("utf-8"), MADRID).rows[0]

    assert row.internal_detail == tricky.internal_detail
    assert row.number == tricky.number
    assert row.town == "Ajuntament de Gelida"
    assert row.status == tricky.status
    assert row.requested_at == tricky.requested_at
    assert row.updated_at.astimezone(MADRID).date() == date(2025, 5, 14)


def test_the_deadline_survives_writing_and_reading_through_the_detail():
    out = io.StringIO()
    tracker.write([export_line()], out, MADRID)

    assert tracker.parse(out.getvalue().encode("utf-8"), MADRID).rows[0].deadline == date(
        2025, 5, 28
    )
