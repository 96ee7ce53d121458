"""A town's office status and the directory's CSV file (umic.core.offices): the law's order,
never a guess, and a file that either imports whole or says what is wrong by line."""

from __future__ import annotations

from datetime import date

import pytest

from umic.core.codes import OfficeKind
from umic.core.codes import OfficeStatus
from umic.core.offices import COLUMNS
from umic.core.offices import KNOWN_WITHOUT_OWN
from umic.core.offices import decode
from umic.core.offices import omic_name
from umic.core.offices import parse_offices
from umic.core.offices import town_status
from umic.core.offices import write_offices
from umic.core.text import council_name

TOWNS = {"08187": "Sabadell", "08019": "Barcelona", "08001": "Abrera", "08002": "Aguilar"}
HEADER = ",".join(COLUMNS)


@pytest.mark.parametrize(
    ("kind", "enrolled", "has_omic", "status"),
    [
        (OfficeKind.OMIC, False, True, OfficeStatus.OWN),
        (OfficeKind.OMIC, True, True, OfficeStatus.OWN),  # an OMIC first, whatever else
        (None, False, True, OfficeStatus.OWN),  # older rows: has_omic without an office
        (None, True, False, OfficeStatus.SERVED),
        (OfficeKind.OCIC, True, False, OfficeStatus.SERVED),
        (OfficeKind.AGENCIA, True, False, OfficeStatus.SERVED),
        (OfficeKind.OCIC, False, False, OfficeStatus.COMARCAL),
        (OfficeKind.AGENCIA, False, False, OfficeStatus.AGENCIA),
        (None, False, False, OfficeStatus.UNKNOWN),  # never guessed
    ],
)
def test_status_follows_the_laws_order(kind, enrolled, has_omic, status):
    assert town_status(kind, enrolled, has_omic) is status


def test_not_yet_known_is_not_among_the_towns_known_to_have_no_office():
    assert OfficeStatus.UNKNOWN not in KNOWN_WITHOUT_OWN
    assert OfficeStatus.OWN not in KNOWN_WITHOUT_OWN


def test_office_names_use_the_councils_name():
    assert omic_name(council_name("Sabadell")) == "OMIC de l'Ajuntament de Sabadell"
    assert omic_name(council_name("El Bruc")) == "OMIC de l'Ajuntament del Bruc"


def lines(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


def test_a_good_file_with_a_bom_and_semicolons_reads_whole():
    text = lines(
        "omic;OMIC de l'Ajuntament de Sabadell;Carrer X, 1;08201;Sabadell;937 000 000;"
        "omic@example.cat;https://example.cat/omic;Dl-dv 9-14;Lu-vi 9-14;08187;"
        "https://example.cat/font;2026-11-30;",
        "Oficina comarcal;OCIC del Consell;;;;;;;;;08001 08002;;;",
        header=";".join(COLUMNS),
    )
    parsed = parse_offices(decode(("\ufeff" + text).encode("utf-8")), TOWNS)
    assert parsed.problems == []
    sabadell, ocic = parsed.rows
    assert (sabadell.kind, sabadell.hours, sabadell.hours_es) == (
        OfficeKind.OMIC,
        "Dl-dv 9-14",
        "Lu-vi 9-14",
    )
    assert sabadell.verified_on == date(2026, 11, 30) and sabadell.towns == ("08187",)
    assert ocic.kind is OfficeKind.OCIC and ocic.towns == ("08001", "08002")
    assert parsed.assignments == {"08187": 0, "08001": 1, "08002": 1}


def test_every_bad_row_is_reported_by_line_and_nothing_is_kept_apart():
    text = lines(
        "oficina municipal,OK,,,,,,,,,08187,,,",
        "botiga,Bad kind,,,,,,,,,,,,",  # line 3
        "omic,,,,,,,,,,,,,",  # line 4: no name
        "omic,Bad mail,,,,,nobody,,,,,,,",  # line 5
        "omic,Bad web,,,,,,example.cat,,,,,,",  # line 6
        "omic,Bad day,,,,,,,,,,,30/11/2026,",  # line 7
        "omic,Bad town,,,,,,,,,08999,,,",  # line 8
        "omic,ok,,,,,,,,,,,,",  # line 9: same as line 2 (case and accents ignored)
    )
    parsed = parse_offices(text, TOWNS)
    assert [problem.line for problem in parsed.problems] == [3, 4, 5, 6, 7, 8, 9]
    assert "08999" in parsed.problems[5].args["codes"]
    assert parsed.problems[6].args["other"] == "2"
    assert all(problem.message % dict(problem.args) for problem in parsed.problems)


def test_a_town_under_an_omic_and_an_ocic_goes_to_the_omic_and_under_two_omics_is_an_error():
    text = lines(
        "ocic,OCIC,,,,,,,,,08187;08001,,,",
        "omic,OMIC A,,,,,,,,,08187,,,",
        "agencia,Agència,,,,,,,,,08001 08002,,,",
    )
    parsed = parse_offices(text, TOWNS)
    assert parsed.problems == []
    assert parsed.assignments == {"08187": 1, "08001": 0, "08002": 2}
    parsed = parse_offices(text + "omic,OMIC B,,,,,,,,,08187,,,\n", TOWNS)
    assert [(p.line, p.args["code"]) for p in parsed.problems] == [(5, "08187")]


def test_missing_and_unknown_columns_and_empty_files():
    assert parse_offices("", TOWNS).problems[0].line == 0
    problems = parse_offices("name,towns,colour\nX,,\n", TOWNS).problems
    assert [p.args["columns"] for p in problems] == ["kind", "colour"]
    assert decode("café".encode("latin-1")) is None


def test_the_export_imports_back_unchanged():
    offices = [
        {
            "kind": "omic",
            "name": "OMIC de l'Ajuntament de Sabadell",
            "address": 'Plaça "Major", 1',
            "phone": "+34 937 000 000",  # a leading + is quoted for spreadsheets, then read back
            "hours": "Dilluns; dimarts\n9-14",
            "towns": ["08187"],
            "verified_on": date(2026, 11, 30),
            "notes": "=not a formula",
        },
        {"kind": "agencia", "name": "Agència Catalana del Consum", "towns": []},
    ]
    text = write_offices(offices)
    assert "'+34 937 000 000" in text and "'=not a formula" in text
    assert text.startswith("\ufeffkind;name;")
    parsed = parse_offices(text, TOWNS)
    assert parsed.problems == []
    first, second = parsed.rows
    assert (first.phone, first.hours, first.notes, first.address) == (
        "+34 937 000 000",
        "Dilluns; dimarts\n9-14",
        "=not a formula",
        'Plaça "Major", 1',
    )
    assert first.verified_on == date(2026, 11, 30) and second.towns == ()
    again = write_offices({**row.values(), "towns": row.towns} for row in parsed.rows)
    assert again == text
