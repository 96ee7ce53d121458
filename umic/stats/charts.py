"""Charts as images: SVG drawn on the server with pygal, returned as ``data:`` URIs.

Shared by every statistics page (service statistics, survey results, expansion plan). The
helpers take plain data (labels, series of numbers, already-translated words) and know
nothing of Flask or the database, so they can be unit-tested and used anywhere.

How a page shows a chart, with a text alternative, no script and a strict CSP
(docs/accessibility.md, "Charts")::

    uri = bar_chart(_("Peticions per canal"), ["Gener", "Febrer"],
                    [(_("UMIC"), [5, 6]), (_("Bústia"), [0, 1])], locale=locale_name())

    <figure class="chart">
      <img src="{{ uri }}" alt="{{ title }}. {{ _('Les dades són a la taula següent.') }}"
           width="{{ CHART_WIDTH }}" height="...">
    </figure>
    <table class="table"> <caption>...</caption> ... the same numbers ... </table>

Every chart must be followed by a real table with the same numbers: the image is for reading
at a glance, the table is what screen readers (and a failed image) get.

What the SVG contains: the title, axis labels, a legend, the values printed on bars, and
pygal's own CSS inlined in a ``<style>`` element (allowed inside an image; the page's CSP
does not apply to it and nothing is fetched). No ``<script>`` (pygal always writes one for
its tooltips: it is removed), no external stylesheet, no web font: the data URI is
self-contained and loads nothing from any host.
"""

from __future__ import annotations

import base64
import math
import re
import sys
from collections.abc import Callable
from collections.abc import Sequence

import pygal
from babel.numbers import format_decimal
from pygal.style import Style

# pygal appends to sys.meta_path a legacy finder for its map plugins (unused here) that has
# no find_spec(): from then on every import no other finder resolves (optional dependencies
# probed with try/except ImportError) raises ImportWarning on Python 3.11, an error under
# the test suite's filterwarnings. Taking it out again costs nothing.
sys.meta_path[:] = [
    finder
    for finder in sys.meta_path
    if not (type(finder).__module__ == "pygal" and type(finder).__name__ == "PluginImportFixer")
]

#: (name, values) per series; values line up with the labels; None leaves a gap.
Series = Sequence[tuple[str, Sequence[float | int | None]]]

#: The drawing's width in SVG units; the page scales it down (max-width: 100%).
CHART_WIDTH = 800
CHART_HEIGHT = 420

#: Few colours, each at least 5:1 against white (WCAG 1.4.11 asks 3:1 for graphics), in an
#: order that keeps the first two (blue, orange) apart for every kind of colour blindness.
PALETTE = ("#0b5c8a", "#b34700", "#505a5f", "#4c2c92", "#00703c", "#a6192e")

_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#0b0c0c",
    foreground_strong="#0b0c0c",
    foreground_subtle="#505a5f",
    font_family='system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif',
    title_font_size=26,
    legend_font_size=18,
    label_font_size=17,
    major_label_font_size=17,
    value_font_size=17,
    value_label_font_size=17,
    tooltip_font_size=16,
    no_data_font_size=24,
    colors=PALETTE,
    opacity="1",
    opacity_hover="1",
    stroke_width="4",
    stroke_width_hover="4",
    stroke_opacity="1",
    stroke_opacity_hover="1",
    guide_stroke_color="#b1b4b6",
    major_guide_stroke_color="#b1b4b6",
    transition="0ms",
)


def svg_data_uri(svg: bytes) -> str:
    """``data:image/svg+xml;base64,...`` for an SVG document."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


_CHART_ID = re.compile(rb'id="(chart-[0-9a-f-]{36})"')
_COMMENT = re.compile(rb"<!--.*?-->", re.S)
_TITLE = re.compile(rb"<title>[^<]*</title>")
_EMPTY_TEXT = re.compile(rb"<text [^>]*/>")
_RULE = re.compile(rb"([^{}]+)\{([^{}]*)\}")
#: What only an interactive chart uses: an image shows no tooltip and has no hover.
_DEAD_SELECTORS = (b"hover", b"tooltip", b"map-element", b".active", b".ci", b"transition")


_CLASS_ATTRIBUTE = re.compile(rb'class="([^"]*)"')
_CLASS_IN_SELECTOR = re.compile(rb"\.([A-Za-z_][\w-]*)")
_NOT = re.compile(rb":not\([^)]*\)")


def _live(selector: bytes, used: set[bytes]) -> bool:
    """Whether a selector can match: not an interactive one, and every class it needs is
    on some element of the drawing (pygal's stylesheet serves every kind of chart)."""
    if any(dead in selector for dead in _DEAD_SELECTORS):
        return False
    return all(name in used for name in _CLASS_IN_SELECTOR.findall(_NOT.sub(b"", selector)))


def _rule(match: re.Match, used: set[bytes]) -> bytes:
    selectors = [s for s in match.group(1).split(b",") if _live(s, used)]
    declarations = [
        d
        for d in match.group(2).split(b";")
        if d.strip()
        and b"transition" not in d
        # The font is the whole image's (the first rule); pygal repeats it in every rule.
        and not (d.startswith(b"font-family") and selectors != [b"svg"])
    ]
    if not selectors or not declarations:
        return b""
    return b",".join(selectors) + b"{" + b";".join(declarations) + b"}"


_GEOMETRY = re.compile(
    rb'\b(x|y|x1|x2|y1|y2|cx|cy|r|rx|ry|width|height|d|points|transform)="([^"]*)"'
)
_DECIMALS = re.compile(rb"(\d+\.\d)\d+")
#: An axis mark's group: its line and its label, nothing else (no nested group, no style).
_GUIDES = re.compile(rb'<g class="guides">((?:(?!<g[ >]|</g>).)*)</g>', re.S)


def _geometry(match: re.Match) -> bytes:
    """Coordinates to a tenth of a unit (a 800-unit drawing: far below a pixel)."""
    return match.group(1) + b'="' + _DECIMALS.sub(rb"\1", match.group(2)) + b'"'


def compact_svg(svg: bytes) -> bytes:
    """The same picture in about half the bytes (every page sends its charts inline).

    pygal scopes each CSS rule with the chart's random id (the chart could share a page
    with others), writes three comments, and styles tooltips and hover effects. An image is
    a document of its own and is not interactive: the scope, the comments, those rules and
    the rules for classes the drawing does not use are dropped, and coordinates keep one
    decimal; the XML declaration, the groups around each axis mark and the space before
    "/>" go too. What is drawn does not change.
    """
    match = _CHART_ID.search(svg)
    if match:
        scope = b"#" + match.group(1)
        svg = svg.replace(scope + b" ", b"").replace(scope + b"{", b"svg{")
        svg = svg.replace(b" " + match.group(0), b"", 1)
    svg = _COMMENT.sub(b"", svg)
    svg = _GEOMETRY.sub(_geometry, svg)
    svg = svg.replace(b' rx="0" ry="0"', b"").replace(b" tooltip-trigger", b"")
    svg = svg.replace(b' class=""', b"")
    svg = _EMPTY_TEXT.sub(b"", svg)  # the blank labels between the named months
    # The XML declaration says what XML assumes anyway (version 1.0, UTF-8); each axis mark's
    # group holds only its line and label, and no rule styles the group; "/>" needs no space.
    # About 2 KB less on the statistics page (six charts), the drawing the same.
    if svg.startswith(b"<?xml"):
        svg = svg[svg.index(b"?>") + 2 :].lstrip()
    svg = _GUIDES.sub(rb"\1", svg)
    svg = svg.replace(b'" />', b'"/>')
    # Each axis mark's hover text (<title>0</title>); the image's own title comes first.
    first = svg.find(b"</title>") + len(b"</title>")
    svg = svg[:first] + _TITLE.sub(b"", svg[first:])
    start, end = svg.find(b"<style"), svg.find(b"</style>")
    if start >= 0 and end > start:
        opening = svg.index(b">", start) + 1
        used = {name for names in _CLASS_ATTRIBUTE.findall(svg[end:]) for name in names.split()}
        css = _RULE.sub(lambda rule: _rule(rule, used), svg[opening:end])
        svg = svg[:opening] + css + svg[end:]
    return svg


def number_formatter(locale: str = "ca", decimals: int = 0) -> Callable[[float | None], str]:
    """Numbers as people read them in ``locale``: '1.234', '9,4' (Catalan)."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")

    def format_value(value: float | None) -> str:
        if value is None:
            return ""
        return format_decimal(value, format=pattern, locale=locale)

    return format_value


def integer_ticks(highest: float) -> list[int]:
    """Whole-number axis marks from 0 to at least ``highest``, at most about 8 of them.

    Counts of people are whole numbers: an axis showing 0.5 would read as nonsense.
    """
    top = max(1, math.ceil(highest))
    raw_step = top / 8
    magnitude = 10 ** math.floor(math.log10(raw_step)) if raw_step >= 1 else 1
    step = next(
        s * magnitude for s in (1, 2, 5, 10) if s * magnitude >= raw_step and s * magnitude >= 1
    )
    last = math.ceil(top / step) * step
    return list(range(0, last + 1, step))


def _no_scripts(root):
    """XML filter: drop every <script> (pygal adds its tooltip configuration regardless) and
    the tooltips' data (``<desc>``), which an image never shows."""
    for parent in list(root.iter()):
        for child in list(parent):
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag in ("script", "desc") or tag.endswith(("}script", "}desc")):
                parent.remove(child)
    return root


def _values(series: Series) -> list[float]:
    return [v for _name, values in series for v in values if v is not None]


def _configure(chart, title: str, labels: Sequence[str], series: Series, **options) -> None:
    chart.title = title
    chart.x_labels = [str(label) for label in labels]
    for name, values in series:
        chart.add(str(name), [None if v is None else float(v) for v in values])
    chart.add_xml_filter(_no_scripts)


def _legend_columns(series: Series, labels: Sequence[str], width: int, horizontal: bool) -> int:
    """Legend entries side by side only when they fit (pygal would draw them over each other).

    pygal gives each column an equal share of the plot's width and estimates text at 0.6 em
    a character; the plot is narrower than the image by the axis labels.
    """
    if not series:
        return 1
    entry = max(len(str(name)) for name, _values in series) * 0.6 * _STYLE.legend_font_size + 40
    axis = (max((len(str(label)) for label in labels), default=0) if horizontal else 6) * 0.6
    plot = width - 2 * 16 - axis * _STYLE.label_font_size
    fit = max(1, min(len(series), int(plot // entry)))
    # pygal reserves len // columns rows of legend: a column count that does not divide the
    # number of series would leave the last row outside the image.
    return max(c for c in range(1, fit + 1) if len(series) % c == 0)


def _common(
    locale: str,
    value_formatter: Callable | None,
    y_title: str,
    no_data_text: str,
    integers: bool,
    series: Series,
    width: int,
    height: int,
    legend: bool,
    legend_columns: int,
) -> dict:
    formatter = value_formatter or number_formatter(locale)
    options = {
        "style": _STYLE,
        "js": [],  # no tooltip script from a third-party host
        "width": width,
        "height": height,
        "explicit_size": True,  # width/height attributes: the image has an intrinsic size
        "value_formatter": formatter,
        "y_title": y_title or None,
        "no_data_text": no_data_text,
        "show_legend": legend,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": legend_columns,
        "truncate_legend": -1,
        "truncate_label": -1,
        "margin": 16,
        "margin_right": 56,  # room for the last label, centred on the last point
        "spacing": 12,
        "tooltip_fancy_mode": False,
        "include_x_axis": True,
        "pretty_print": False,
    }
    values = _values(series)
    if integers and values and all(float(v).is_integer() for v in values):
        options["y_labels"] = integer_ticks(max(values))
    return options


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Series,
    *,
    horizontal: bool = False,
    stacked: bool = False,
    locale: str = "ca",
    value_formatter: Callable[[float | None], str] | None = None,
    y_title: str = "",
    no_data_text: str = "",
    print_values: bool = True,
    integers: bool = True,
    width: int = CHART_WIDTH,
    height: int | None = None,
) -> str:
    """A bar chart (grouped, or ``stacked``) as a data URI.

    ``labels`` name the groups (towns, months, answers); each series is one colour (a channel,
    a year). Values are printed on the bars, formatted for ``locale`` (or by
    ``value_formatter``, e.g. a percentage). ``horizontal`` suits long labels such as town
    names; its height then grows with the number of labels unless ``height`` is given.
    ``integers`` (the default) puts whole numbers on the axis when every value is whole.
    The legend is shown only when there are several series. ``no_data_text`` is drawn when
    there is nothing to show (pass a translated "Sense dades").
    """
    if stacked:
        kind = pygal.HorizontalStackedBar if horizontal else pygal.StackedBar
    else:
        kind = pygal.HorizontalBar if horizontal else pygal.Bar
    if height is None:
        bars = max(1, len(labels)) * (1 if stacked else max(1, len(series)))
        height = max(CHART_HEIGHT, 160 + 34 * bars) if horizontal else CHART_HEIGHT
    options = _common(
        locale,
        value_formatter,
        y_title,
        no_data_text,
        integers,
        series,
        width,
        height,
        legend=len(series) > 1,
        legend_columns=_legend_columns(series, labels, width, horizontal),
    )
    if horizontal:
        # pygal draws the first label at the bottom; people read a ranking from the top.
        labels = list(labels)[::-1]
        series = [(name, list(values)[::-1]) for name, values in series]
    chart = kind(
        print_values=print_values,
        print_values_position="top" if not stacked else "center",
        print_zeroes=False,
        x_label_rotation=0 if horizontal else (30 if len(labels) > 8 else 0),
        **options,
    )
    _configure(chart, title, labels, series)
    return svg_data_uri(compact_svg(chart.render()))


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Series,
    *,
    locale: str = "ca",
    value_formatter: Callable[[float | None], str] | None = None,
    y_title: str = "",
    no_data_text: str = "",
    print_values: bool = False,
    integers: bool = True,
    label_every: int = 1,
    width: int = CHART_WIDTH,
    height: int = CHART_HEIGHT,
) -> str:
    """A line chart (a trend over ``labels``, usually months) as a data URI.

    One line per series, with a dot on every value; None leaves a gap. Options as
    ``bar_chart``; values are not printed by default (the table beside it has them).
    ``label_every`` > 1 writes only every n-th label (long periods: one a quarter, a year).
    """
    options = _common(
        locale,
        value_formatter,
        y_title,
        no_data_text,
        integers,
        series,
        width,
        height,
        legend=len(series) > 1,
        legend_columns=_legend_columns(series, labels, width, horizontal=False),
    )
    chart = pygal.Line(
        print_values=print_values,
        print_zeroes=True,
        dots_size=5,
        x_label_rotation=30 if len(labels) / max(1, label_every) > 8 else 0,
        x_labels_major_every=label_every if label_every > 1 else None,
        show_minor_x_labels=label_every <= 1,
        **options,
    )
    _configure(chart, title, labels, series)
    return svg_data_uri(compact_svg(chart.render()))
