"""A night's report rendered: one standalone HTML page or a PDF, from one report model.

The report model (:class:`mesa_report.report.model.SubjectReport`) is built once by
:func:`mesa_report.report.build.build_report`; :func:`render_html` and :func:`render_pdf` lay it out
through the same Jinja template (``mesa_report/report/templates/report.html.j2``):

- HTML: one self-contained file. The CSS is inline; every chart is its Vega-Lite spec, drawn in
  the browser by the Vega bundle inlined once (:func:`mesa_report.render.vega.vega_javascript`), so the
  file opens offline and the charts keep their tooltips. Nothing is loaded from the network.
- PDF: WeasyPrint lays out the same template with the print stylesheet (A4 or Letter, running
  header with the subject, page numbers, document metadata). Every chart is vector: vl-convert
  draws it as a PDF page, WeasyPrint keeps its place, and the page is laid onto that place
  (:mod:`mesa_report.render.pdf_charts`), so WeasyPrint never draws chart text. The archival and the
  tagged variant let WeasyPrint draw each chart from its SVG instead, so that the charts are part
  of the document's structure (slower). WeasyPrint may load nothing but the charts.

:func:`mesa_report.report.files.write_reports` writes the files of the command line; the app's
download buttons render one built report in both formats (:mod:`mesa_report.app.downloads`).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from mesa_report.core.errors import ReportError
from mesa_report.render.pdf_charts import FIGURE_URL, PLACE_PREFIX, chart_pdfs, print_pdf, vector_pdf
from mesa_report.render.pdf_workers import PdfWorkers
from mesa_report.render.vega import render_spec, spec_json, vega_javascript
from mesa_report.report.formats import FILTERS
from mesa_report.report.model import Figure, SubjectReport
from mesa_report.report.options import FORMATS, PAGE_SIZES, PDF_VARIANTS

TEMPLATE_NAME = "report.html.j2"


# --------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------
def templates_dir() -> Path:
    """The folder of the report templates and stylesheets, shipped inside the package.

    Examples
    --------
    >>> (templates_dir() / "report.html.j2").is_file()
    True
    """
    return Path(str(importlib.resources.files("mesa_report.report") / "templates"))


@functools.lru_cache(maxsize=1)
def template_environment() -> jinja2.Environment:
    """The Jinja environment of the reports, built once per process (autoescape on).

    Examples
    --------
    >>> env = template_environment()
    >>> env.from_string("{{ x }} {{ y | percent }}").render(x="<b>", y=0.5)
    '&lt;b&gt; 50.0 %'
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters.update(FILTERS)
    return env


@functools.lru_cache(maxsize=len(FORMATS))
def stylesheet(fmt: str) -> str:
    """The CSS inlined into a report of format ``fmt``.

    HTML gets the shared rules, the screen rules and the print rules (for printing from a
    browser); the PDF gets the shared and the print rules.

    Examples
    --------
    >>> "@page" in stylesheet("pdf"), "@media screen" in stylesheet("html")
    (True, True)
    """
    folder = templates_dir()
    shared = (folder / "report.css").read_text(encoding="utf-8")
    printed = (folder / "print.css").read_text(encoding="utf-8")
    if fmt == "pdf":
        return f"{shared}\n{printed}"
    screen = (folder / "screen.css").read_text(encoding="utf-8")
    return f"{shared}\n@media screen {{\n{screen}\n}}\n@media print {{\n{printed}\n}}"


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------
# Figures are specs made without the Vega-Lite schema check (:func:`figure_spec`), which costs as much
# as building them; tests/report/test_document.py checks every figure of a report against the schema.
EMBED_OPTIONS = {"renderer": "svg", "actions": False, "mode": "vega-lite"}


def _html_figure(figure: Figure) -> Markup:
    # spec_json already breaks "</"; escaping every "<" also keeps "<!--" out of the script.
    spec = spec_json(figure.spec).replace("<", "\\u003c")
    target = f"chart-{figure.key}"
    return Markup(
        f'<div class="vega-chart" id="{target}" role="img" aria-label="{escape(figure.alt_text)}">'
        f'<p class="vega-pending">Drawing the chart…</p></div>\n'
        f'<script type="application/json" class="vega-spec" data-target="{target}">{spec}</script>'
    )


def _pdf_figure(figure: Figure) -> Markup:
    return Markup(f'<img id="{PLACE_PREFIX}{figure.key}" src="{FIGURE_URL}{figure.key}" '
                  f'alt="{escape(figure.alt_text)}">')


def _render(report: SubjectReport, fmt: str, page_size: str | None = None) -> str:
    draw = _html_figure if fmt == "html" else _pdf_figure
    figures = {figure.key: draw(figure) for figure in report.figures}
    env = template_environment()
    context = {
        "report": report,
        "fmt": fmt,
        "figures": figures,
        "css": Markup(stylesheet(fmt)),
        "page_size": page_size,
    }
    if fmt == "html":
        context["vega_js"] = Markup(vega_javascript())
        context["embed_options"] = Markup(json.dumps(EMBED_OPTIONS))
    return env.get_template(TEMPLATE_NAME).render(context)


def render_html(report: SubjectReport) -> str:
    """The report as one self-contained HTML page (CSS, data and Vega inlined; no network).

    Examples
    --------
    >>> html = render_html(build_report(result))  # doctest: +SKIP
    """
    return _render(report, "html")


def check_pdf_options(page_size: str, pdf_variant: str | None) -> str:
    """The paper size as the template names it; a :class:`ReportError` for an option not offered.

    Examples
    --------
    >>> check_pdf_options("letter", None)
    'Letter'
    """
    sizes = {s.lower(): s for s in PAGE_SIZES}
    if str(page_size).lower() not in sizes:
        raise ReportError(f"page size {page_size!r} is not offered; choose {' or '.join(PAGE_SIZES)}")
    if pdf_variant is not None and pdf_variant not in PDF_VARIANTS:
        raise ReportError(f"PDF variant {pdf_variant!r} is not offered; choose one of "
                          f"{', '.join(PDF_VARIANTS)} or none")
    return sizes[str(page_size).lower()]


def render_pdf(report: SubjectReport, *, page_size: str = "A4", pdf_variant: str | None = None,
               workers: PdfWorkers | None = None) -> bytes:
    """The report as PDF bytes (WeasyPrint), with metadata, running header and page numbers.

    Every chart is vector. By default vl-convert draws each chart as a PDF page that is laid onto
    the place WeasyPrint kept for it (:mod:`mesa_report.render.pdf_charts`); the variants let WeasyPrint
    draw the charts' SVG, slower, so that they belong to the archival or tagged structure.

    Parameters
    ----------
    report : SubjectReport
        From :func:`build_report`.
    page_size : {"A4", "Letter"}
        Paper size.
    pdf_variant : {"pdf/a-3b", "pdf/ua-1"}, optional
        Archival or accessible (tagged) PDF.
    workers : PdfWorkers, optional
        Helper processes that draw the charts and lay the pages out (the same PDF, sooner where
        they warmed up while this process was busy); the variants do not use them.

    Returns
    -------
    bytes

    Examples
    --------
    >>> pdf = render_pdf(build_report(result), page_size="Letter")  # doctest: +SKIP
    >>> pdf[:5]  # doctest: +SKIP
    b'%PDF-'
    """
    size = check_pdf_options(page_size, pdf_variant)
    # Charts keep vl-convert's own sans-serif (its bundled Liberation Sans): any other family
    # takes vl-convert's slow path for measuring text, about twice the charts' time (BENCHMARKS.md)
    specs = {figure.key: figure.spec for figure in report.figures}
    html = _render(report, "pdf", size)
    options = {"pdf_variant": pdf_variant, "custom_metadata": True,
               "pdf_tags": pdf_variant is not None and pdf_variant.startswith("pdf/ua")}
    if pdf_variant is not None:  # WeasyPrint draws the charts itself: they join the archival or tagged structure
        images = {key: (render_spec(spec, "svg"), "image/svg+xml") for key, spec in specs.items()}
        return print_pdf(html, images, options)[0]
    if workers is not None:
        return workers.vector_pdf(html, specs, options)
    return vector_pdf(html, chart_pdfs(specs), options)
