"""Vector charts in a WeasyPrint PDF without WeasyPrint drawing them.

WeasyPrint lays out SVG text through Pango one element at a time (about 3 ms per axis label)
and re-compresses every raster image, so a report whose charts it draws spends most of its time
there. Here each chart is drawn once by vl-convert as a one-page vector PDF; WeasyPrint lays the
page out around an empty image of the chart's size, and the chart's page is then laid, as a form
XObject, onto the rectangle that image was given (:func:`lay_charts`). Text in the charts stays
text (selectable, searchable), and nothing is rasterised.

The flow, as :func:`mesa_report.report.document.render_pdf` uses it::

    charts = chart_pdfs(specs)        # key -> one-page PDF
    pdf = vector_pdf(html, charts)    # laid out around <img src="mesa-report:figure/KEY" id="chart-KEY">

:func:`vector_pdf` runs :func:`print_pdf` on :func:`placeholders` of the charts, then
:func:`lay_charts`. Both steps take and return plain values, so helper processes can do them
(:mod:`mesa_report.render.pdf_workers`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

from mesa_report.core.errors import ReportError
from mesa_report.render.vega import render_spec

FIGURE_URL = "mesa-report:figure/"
"""How a PDF's HTML names a chart; :func:`figure_fetcher` answers with its bytes."""

PLACE_PREFIX = "chart-"
"""Id of the ``<img>`` that keeps a chart's place: ``chart-<key>``."""

PT_PER_CSS_PX = 0.75
"""WeasyPrint's unit (the CSS pixel, 1/96 in) in PDF points (1/72 in)."""


def chart_pdfs(specs: Mapping[str, dict]) -> dict[str, bytes]:
    """Each Vega-Lite spec drawn by vl-convert as a one-page vector PDF.

    One chart pixel becomes one point, so a chart drawn at its own size in CSS pixels is
    scaled by 0.75, as WeasyPrint scales everything.

    Examples
    --------
    >>> spec = {"data": {"values": [{"x": 1}]}, "mark": "point",
    ...         "encoding": {"x": {"field": "x", "type": "quantitative"}}}
    >>> chart_pdfs({"dot": spec})["dot"][:5]
    b'%PDF-'
    """
    return {key: render_spec(spec, "pdf") for key, spec in specs.items()}


def chart_svgs(specs: Mapping[str, dict]) -> dict[str, str]:
    """Each Vega-Lite spec drawn by vl-convert as SVG text: the first half of :func:`chart_pdfs`.

    The SVG already gives the chart's size (:func:`svg_size`), so a layout can start while
    :func:`svg_pdfs` turns the SVGs into the same PDF pages that :func:`chart_pdfs` makes.

    Examples
    --------
    >>> spec = {"data": {"values": [{"x": 1}]}, "mark": "point", "width": 40, "height": 30,
    ...         "encoding": {"x": {"field": "x", "type": "quantitative"}}}
    >>> svg = chart_svgs({"dot": spec})["dot"]
    >>> svg_size(svg), page_size_pt(svg_pdfs({"dot": svg})["dot"]), page_size_pt(chart_pdfs({"dot": spec})["dot"])
    ((56.0, 72.0), (56.0, 72.0), (56.0, 72.0))
    """
    return {key: render_spec(spec, "svg").decode("utf-8") for key, spec in specs.items()}


def svg_pdfs(svgs: Mapping[str, str]) -> dict[str, bytes]:
    """Each chart's SVG (:func:`chart_svgs`) as a one-page vector PDF, as :func:`chart_pdfs` draws it."""
    import vl_convert

    try:
        return {key: vl_convert.svg_to_pdf(svg) for key, svg in svgs.items()}
    except ValueError as exc:
        raise ReportError(f"a chart could not be turned into PDF: {exc}") from exc


SVG_SIZE = re.compile(r'<svg\b[^>]*?\swidth="([0-9.]+)"[^>]*?\sheight="([0-9.]+)"')
"""The width and height of vl-convert's SVG root element (plain numbers: chart pixels)."""


def svg_size(svg: str) -> tuple[float, float]:
    """The width and height of a chart's SVG: its PDF page's size in points.

    Examples
    --------
    >>> svg_size('<svg xmlns="http://www.w3.org/2000/svg" class="marks" width="885" height="430.5">')
    (885.0, 430.5)
    """
    found = SVG_SIZE.search(svg[:1000])
    if found is None:
        raise ReportError("a chart's SVG has no plain width and height")
    return float(found[1]), float(found[2])


def page_size_pt(pdf: bytes) -> tuple[float, float]:
    """Width and height in points of the first page of a PDF."""
    import pikepdf  # here, not at the top: an HTML report needs none of it

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        x0, y0, x1, y1 = (float(v) for v in doc.pages[0].mediabox)
    return x1 - x0, y1 - y0


def placeholder(width: float, height: float) -> bytes:
    """An empty SVG image of the given size: the place WeasyPrint keeps for a chart.

    Examples
    --------
    >>> placeholder(400, 300)
    b'<svg xmlns="http://www.w3.org/2000/svg" width="400.00" height="300.00"/>'
    """
    if not (width > 0 and height > 0):
        raise ReportError(f"a chart needs a positive size, not {width} x {height}")
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.2f}" height="{height:.2f}"/>'.encode()


def placeholders(charts: Mapping[str, bytes]) -> dict[str, tuple[bytes, str]]:
    """For each chart PDF, an empty SVG of its size in chart pixels (the images to fetch)."""
    return {key: (placeholder(*page_size_pt(pdf)), "image/svg+xml") for key, pdf in charts.items()}


def figure_fetcher(images: Mapping[str, tuple[bytes, str]]):
    """WeasyPrint URL fetcher that serves the report's charts and refuses every other URL.

    ``images`` maps a chart's key to its bytes and media type; the HTML names it
    ``mesa-report:figure/<key>``. Charts travel as bytes rather than as ``data:`` URLs, since
    WeasyPrint's HTML parser is pure Python and slow on megabytes of base64. A refused URL stops
    the rendering (WeasyPrint's ``FatalURLFetchingError``, with the refusal as its cause).
    """
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class FigureFetcher(URLFetcher):
        def fetch(self, url: str, headers=None):
            key = url[len(FIGURE_URL):] if url.startswith(FIGURE_URL) else None
            if key not in images:
                raise ReportError(f"a PDF report loads nothing from outside; refused {url[:80]}")
            data, mime = images[key]
            return URLFetcherResponse(url, data, {"Content-Type": mime})

    return FigureFetcher(fail_on_errors=True)


def chart_places(document) -> list[tuple[int, str, tuple[float, float, float, float]]]:
    """Where WeasyPrint put each chart's image: ``(page index, key, (x0, y0, x1, y1))``.

    Rectangles are in CSS pixels from the page's top-left corner, read from the anchors that
    the ``chart-<key>`` ids of the images leave on a rendered WeasyPrint document.
    """
    places = []
    for index, page in enumerate(document.pages):
        for name, rect in page.anchors.items():
            if name.startswith(PLACE_PREFIX):
                places.append((index, name[len(PLACE_PREFIX):], tuple(float(v) for v in rect[:4])))
    return places


def lay_charts(pdf: bytes, places, charts: Mapping[str, bytes]) -> bytes:
    """Lay each chart's PDF page onto the rectangle kept for it in a WeasyPrint PDF.

    Parameters
    ----------
    pdf : bytes
        The document WeasyPrint wrote.
    places : list of (int, str, tuple)
        From :func:`chart_places` of the same rendering.
    charts : mapping of str to bytes
        From :func:`chart_pdfs`.

    Returns
    -------
    bytes
        The document with the charts drawn; metadata, outline and links are kept.

    Raises
    ------
    ReportError
        When a place names a chart that was not drawn, or a chart found no place.
    """
    import pikepdf

    unplaced = sorted(set(charts) - {key for _, key, _ in places})
    if unplaced:
        raise ReportError(f"the PDF layout kept no place for the charts {', '.join(unplaced)}")
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        sources = {}
        try:
            for index, key, (x0, y0, x1, y1) in places:
                if key not in charts:
                    raise ReportError(f"the PDF layout has a place for a chart {key!r} that was not drawn")
                if key not in sources:
                    sources[key] = pikepdf.open(io.BytesIO(charts[key]))
                page = doc.pages[index]
                top = float(page.mediabox[3])  # PDF y grows upwards; CSS y downwards
                rect = pikepdf.Rectangle(x0 * PT_PER_CSS_PX, top - y1 * PT_PER_CSS_PX,
                                         x1 * PT_PER_CSS_PX, top - y0 * PT_PER_CSS_PX)
                page.add_overlay(sources[key].pages[0], rect)
            out = io.BytesIO()
            doc.save(out)
        finally:
            for source in sources.values():
                source.close()
    return out.getvalue()


def print_pdf(html: str, images: Mapping[str, tuple[bytes, str]], options: Mapping | None = None):
    """WeasyPrint's PDF of ``html``, and where it put each chart's image (:func:`chart_places`).

    ``images`` are what the HTML's ``mesa-report:figure/<key>`` URLs load (:func:`figure_fetcher`);
    ``options`` go to WeasyPrint's ``render`` and ``write_pdf`` (PDF variant, metadata, tags).
    A refused URL becomes a :class:`ReportError`.
    """
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    options = dict(options or {})
    try:
        document = HTML(string=html, url_fetcher=figure_fetcher(images)).render(**options)
        pdf = document.write_pdf(**options)
    except FatalURLFetchingError as exc:  # a BaseException in WeasyPrint: make it the report's error
        raise ReportError(str(exc.__cause__ or exc)) from exc
    return pdf, chart_places(document)


def vector_pdf(html: str, charts: Mapping[str, bytes], options: Mapping | None = None) -> bytes:
    """The PDF of ``html`` with each chart's vector page (:func:`chart_pdfs`) laid onto its place.

    Examples
    --------
    >>> spec = {"data": {"values": [{"x": 1}]}, "mark": "point", "width": 40, "height": 30,
    ...         "encoding": {"x": {"field": "x", "type": "quantitative"}}}
    >>> html = f'<p>A dot</p><img id="{PLACE_PREFIX}dot" src="{FIGURE_URL}dot">'
    >>> vector_pdf(html, chart_pdfs({"dot": spec}))[:5]
    b'%PDF-'
    """
    pdf, places = print_pdf(html, placeholders(charts), options)
    return lay_charts(pdf, places, charts)
