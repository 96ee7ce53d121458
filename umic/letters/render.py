"""HTML to PDF for the letters the service writes: PDF/A-3b, A4, letterhead, page numbers.

Why WeasyPrint (and not reportlab or fpdf2): a letter is an HTML page with a small print
style sheet, which anyone on the team can read and change; the same HTML is what the
coordinator previews. WeasyPrint lays out paragraphs, hyphenation and page breaks itself,
embeds the fonts, writes PDF/A (``pdf_variant="pdf/a-3b"``: the variant archives accept,
and the one that allows attaching files later), and is actively maintained. reportlab and
fpdf2 draw with coordinates in Python code: every change of layout is a programmer's job,
and PDF/A needs extra work there.

Safety. The HTML we pass is the only input: ``url_fetcher`` refuses every URL, so nothing is
fetched from the network or read from disk (no images, no style sheets, no ``file://``);
fonts come from the system (DejaVu, Liberation) through fontconfig, by family name.
"""

from __future__ import annotations

import gc
import warnings

from markupsafe import Markup
from markupsafe import escape

#: Who writes: the letterhead of every letter. Proper names, written as the Diputació
#: writes them, in Catalan in every language (as "Agència Catalana del Consum" is); a
#: language may be given its own wording here once the Diputació's is confirmed.
LETTERHEAD_ORGANISATION = "Diputació de Barcelona"
LETTERHEAD_UNIT = {
    "ca": "Servei de Suport en Polítiques de Consum",
    "es": "Servei de Suport en Polítiques de Consum",
}
PAGE_WORDS = {"ca": ("Pàgina", "de"), "es": ("Página", "de"), "en": ("Page", "of")}


class FetchRefused(ValueError):
    """A letter asked WeasyPrint for a URL: nothing is fetched."""


def refusing_fetcher():
    """WeasyPrint's url_fetcher for letters: every URL is refused (no network, no files).

    A refused resource (an image, a style sheet) is left out of the PDF with a warning in
    the log; our letters never ask for one (their text is escaped: umic.letters.service).
    """
    from weasyprint.urls import URLFetcher

    class Refuse(URLFetcher):
        def fetch(self, url, headers=None):
            raise FetchRefused(f"letters fetch nothing: {url[:80]!r}")

    return Refuse(fail_on_errors=False)


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def stylesheet(language: str) -> str:
    """The print style: A4, margins, letterhead on every page, "Pàgina n de m" at the foot."""
    page, of = PAGE_WORDS.get(language, PAGE_WORDS["ca"])
    unit = LETTERHEAD_UNIT.get(language, LETTERHEAD_UNIT["ca"])
    return f"""
@page {{
  size: A4;
  margin: 32mm 22mm 24mm 25mm;
  @top-left {{
    content: {_css_string(LETTERHEAD_ORGANISATION)} "\\A" {_css_string(unit)};
    white-space: pre;
    font-family: "DejaVu Sans", "Liberation Sans", sans-serif;
    font-size: 8.5pt; line-height: 1.35; color: #333;
    vertical-align: bottom; padding-bottom: 4mm;
    border-bottom: 0.6pt solid #999;
  }}
  @bottom-right {{
    content: {_css_string(page + " ")} counter(page) {_css_string(" " + of + " ")}
      counter(pages);
    font-family: "DejaVu Sans", "Liberation Sans", sans-serif;
    font-size: 8pt; color: #333;
  }}
}}
html {{ font-family: "DejaVu Serif", "Liberation Serif", serif; font-size: 10.5pt;
  line-height: 1.45; color: #000; }}
body {{ margin: 0; }}
p {{ margin: 0 0 0.8em 0; text-align: left; orphans: 3; widows: 3; }}
.recipient {{ margin: 6mm 0 10mm 0; font-family: "DejaVu Sans", "Liberation Sans", sans-serif;
  font-size: 10pt; }}
.recipient p {{ margin: 0; }}
.meta {{ font-family: "DejaVu Sans", "Liberation Sans", sans-serif; font-size: 9.5pt;
  margin-bottom: 8mm; }}
.meta p {{ margin: 0; }}
h1 {{ font-size: 11pt; font-weight: bold; margin: 0 0 6mm 0; }}
.signature {{ margin-top: 12mm; page-break-inside: avoid; }}
.signature p {{ margin: 0; }}
"""


def paragraphs(text: str) -> Markup:
    """Plain text (paragraphs separated by a blank line) as escaped HTML paragraphs."""
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n")]
    out = []
    for block in blocks:
        if block:
            lines = [escape(line.strip()) for line in block.split("\n")]
            out.append(Markup("<p>") + Markup("<br>").join(lines) + Markup("</p>"))
    return Markup("\n").join(out)


def letter_html(
    *,
    language: str,
    title: str,
    body: str,
    recipient_lines: list[str] | tuple[str, ...] = (),
    meta_lines: list[str] | tuple[str, ...] = (),
    signature_lines: list[str] | tuple[str, ...] = (),
    author: str = LETTERHEAD_ORGANISATION,
) -> str:
    """A whole letter as an HTML document (every text escaped here)."""

    def block(css_class: str, lines) -> Markup:
        inner = Markup("").join(Markup("<p>") + escape(line) + Markup("</p>") for line in lines)
        return Markup(f'<div class="{css_class}">') + inner + Markup("</div>")

    return str(
        Markup('<!DOCTYPE html>\n<html lang="')
        + escape(language)
        + Markup('"><head><meta charset="utf-8"><title>')
        + escape(title)
        + Markup('</title><meta name="author" content="')
        + escape(author)
        + Markup('"><style>')
        + Markup(stylesheet(language))
        + Markup("</style></head><body>")
        + (block("recipient", recipient_lines) if recipient_lines else Markup(""))
        + (block("meta", meta_lines) if meta_lines else Markup(""))
        + Markup("<h1>")
        + escape(title)
        + Markup("</h1>")
        + paragraphs(body)
        + (block("signature", signature_lines) if signature_lines else Markup(""))
        + Markup("</body></html>")
    )


def html_to_pdf(html: str, *, language: str) -> bytes:
    """Render ``html`` to a PDF/A-3b document (A4); the title comes from its ``<title>``.

    The HTML is the only input: any URL in it (an image, a style sheet) is refused and left
    out; nothing is fetched or read from disk.
    """
    import weasyprint  # imported here: loading Pango costs time at app start

    document = weasyprint.HTML(string=html, url_fetcher=refusing_fetcher(), base_url=None)
    # The language is the document's own (<html lang>); write_pdf takes no language.
    with warnings.catch_warnings():
        # WeasyPrint 70 opens its sRGB profile for PDF/A and leaves closing it to the
        # garbage collector (a ResourceWarning, harmless): the document is freed here.
        warnings.simplefilter("ignore", ResourceWarning)
        rendered = document.render()
        data = rendered.write_pdf(pdf_variant="pdf/a-3b")
        del rendered
        gc.collect()
    return data
