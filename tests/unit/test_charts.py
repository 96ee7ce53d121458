"""Unit tests of umic.stats.charts: pygal charts as self-contained data: URIs.

The image must load nothing and run nothing (strict CSP, no third-party host), carry its
title, and be readable (whole numbers on count axes, Catalan number formatting).
"""

from __future__ import annotations

import base64
import importlib
import re
import sys
import warnings
import xml.etree.ElementTree as ET

import pytest

from umic.stats.charts import PALETTE
from umic.stats.charts import bar_chart
from umic.stats.charts import integer_ticks
from umic.stats.charts import line_chart
from umic.stats.charts import number_formatter
from umic.stats.charts import svg_data_uri

PREFIX = "data:image/svg+xml;base64,"
SVG = "{http://www.w3.org/2000/svg}"
TOWNS = ["Ajuntament de Torrelles de Llobregat", "Ajuntament de Begues", "Ajuntament de Gelida"]
SERIES = [("Assistència telemàtica", [4, 4, 7]), ("Bústia", [0, 0, 0]), ("UMIC", [5, 0, 9])]


def decoded(uri: str) -> str:
    assert uri.startswith(PREFIX)
    return base64.b64decode(uri.removeprefix(PREFIX), validate=True).decode("utf-8")


def texts(svg: str) -> list[str]:
    """Every piece of text drawn in the picture (not the hidden tooltip data)."""
    root = ET.fromstring(svg.encode("utf-8"))
    return [(node.text or "").strip() for node in root.iter(f"{SVG}text") if node.text]


CHARTS = {
    "bar": lambda: bar_chart("Peticions per ens local", TOWNS, SERIES),
    "horizontal bar": lambda: bar_chart("Peticions per ens local", TOWNS, SERIES, horizontal=True),
    "stacked bar": lambda: bar_chart("Peticions per ens local", TOWNS, SERIES, stacked=True),
    "line": lambda: line_chart("Peticions per ens local", TOWNS, SERIES),
}


@pytest.mark.parametrize("kind", sorted(CHARTS))
def test_a_chart_is_a_self_contained_svg_data_uri_with_its_title_and_no_script(kind):
    svg = decoded(CHARTS[kind]())
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    assert "Peticions per ens local" in texts(svg)
    assert "<script" not in svg.lower()
    assert not list(root.iter(f"{SVG}script"))
    # Nothing fetched from anywhere: no stylesheet link, no external reference, no font host.
    assert "xml-stylesheet" not in svg
    assert not re.search(r"(?:href|src)=\"(?:https?:)?//", svg)
    assert "@import" not in svg and "fonts.googleapis" not in svg
    # An intrinsic size, so the <img> keeps its proportions when scaled down.
    assert root.get("width") and root.get("height") and root.get("viewBox")


def test_every_series_is_named_in_the_legend_and_every_label_drawn():
    shown = texts(decoded(bar_chart("Peticions", TOWNS, SERIES, horizontal=True)))
    for name, _values in SERIES:
        assert name in shown
    for town in TOWNS:
        assert town in shown  # never cut to "Ajuntament de Torr…"


def test_a_single_series_has_no_legend():
    shown = texts(decoded(bar_chart("Cites", ["Ateses", "Anul·lades"], [("Cites", [21, 6])])))
    assert "Cites" in shown  # the title
    assert shown.count("Cites") == 1


def test_values_are_printed_on_the_bars_in_catalan_format():
    shown = texts(decoded(bar_chart("Peticions", ["2024", "2025"], [("Total", [1234, 7])])))
    assert "1.234" in shown and "7" in shown


def test_the_value_formatter_is_used_for_printed_values():
    uri = bar_chart(
        "Taxa",
        ["Ateses", "No presentades"],
        [("Cites", [87.5, 12.5])],
        value_formatter=lambda v: f"{number_formatter('ca', 1)(v)} %",
        integers=False,
    )
    shown = texts(decoded(uri))
    assert "87,5 %" in shown and "12,5 %" in shown


def test_count_axes_show_whole_numbers_only():
    shown = texts(decoded(bar_chart("Peticions", ["Begues"], [("UMIC", [1])])))
    assert "0,5" not in " ".join(shown) and "0.5" not in " ".join(shown)
    assert "1" in shown


def test_the_palette_is_used_and_has_few_colours():
    svg = decoded(bar_chart("Peticions", TOWNS, SERIES))
    assert PALETTE[0] in svg and PALETTE[1] in svg
    assert len(PALETTE) <= 6


def test_with_no_data_the_given_words_are_drawn():
    svg = decoded(bar_chart("Peticions", [], [], no_data_text="Sense dades"))
    assert "Sense dades" in texts(svg)
    assert "<script" not in svg


def test_line_chart_keeps_gaps_for_missing_values():
    uri = line_chart("Valoració", ["gen.", "febr.", "març"], [("Mitjana", [9.4, None, 9.3])])
    root = ET.fromstring(decoded(uri).encode("utf-8"))
    dots = [c for c in root.iter(f"{SVG}circle") if "dot" in (c.get("class") or "")]
    assert len(dots) == 2  # January and March; February has no value and no dot


@pytest.mark.parametrize(
    ("highest", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (7, [0, 1, 2, 3, 4, 5, 6, 7]),
        (9, [0, 2, 4, 6, 8, 10]),
        (23, [0, 5, 10, 15, 20, 25]),
        (1234, [0, 200, 400, 600, 800, 1000, 1200, 1400]),
    ],
)
def test_integer_ticks_are_round_and_cover_the_highest_value(highest, ticks):
    assert integer_ticks(highest) == ticks


def test_number_formatter_follows_the_locale():
    assert number_formatter("ca")(1234) == "1.234"
    assert number_formatter("ca", 1)(9.35) in {"9,3", "9,4"}
    assert number_formatter("ca")(None) == ""


def test_svg_data_uri_round_trips_bytes():
    assert decoded(svg_data_uri("<svg>à</svg>".encode())) == "<svg>à</svg>"


def test_pygal_leaves_no_import_hook_that_makes_later_imports_warn():
    # pygal's own finder lacks find_spec(); Python 3.11 would warn on this failed import.
    assert not [f for f in sys.meta_path if type(f).__module__ == "pygal"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImportError):
            importlib.import_module("umic_no_such_module_for_this_test")


def test_a_chart_is_compacted_without_changing_what_is_drawn():
    """The scope id, comments, tooltip data and unused CSS go; the drawing stays."""
    import pygal

    from umic.stats.charts import compact_svg

    chart = pygal.HorizontalBar(js=[])
    chart.title = "Peticions"
    chart.x_labels = TOWNS
    for name, values in SERIES:
        chart.add(name, values)
    raw = chart.render()
    svg = compact_svg(raw)
    assert len(svg) < len(raw) * 0.7
    text = svg.decode("utf-8")
    root = ET.fromstring(svg)
    assert "chart-" not in text and "<!--" not in text
    style = re.search(r"<style[^>]*>(.*?)</style>", text, re.S).group(1)
    assert "hover" not in style and "tooltip" not in style
    geometry = re.findall(r'\b(?:x|y|width|height|d)="([^"]*)"', text)
    assert geometry and not any(re.search(r"\d\.\d\d", value) for value in geometry)
    # The bars, the labels and the colour of each series are all still there.
    original = ET.fromstring(raw)
    assert len(list(root.iter(f"{SVG}rect"))) == len(list(original.iter(f"{SVG}rect")))
    assert texts(text) == [t for t in texts(raw.decode("utf-8")) if t]
    assert all(f".color-{i}" in text for i in range(len(SERIES)))
    assert "svg{" in text and ".title{" in text  # the rules the drawing uses are kept


def test_horizontal_bar_charts_of_a_dozen_towns_stay_small():
    labels = [f"Municipi número {i}" for i in range(13)]
    series = [(name, [100 * i + 7 for i in range(13)]) for name, _values in SERIES]
    uri = bar_chart("Peticions per ens local i canal", labels, series, horizontal=True)
    assert len(uri) < 25_000  # a bar per town of the province was 600 KB
