"""Vector charts in a WeasyPrint PDF without WeasyPrint drawing them.

WeasyPrint lays out SVG text through Pango one element at a time (about 3 ms per axis label)
and re-compresses every raster image, so a report whose charts it draws spends most of its time
there. Here each chart is drawn once by vl-convert as a one-page vector PDF; WeasyPrint lays the
page out around an empty image of the chart's size, and the chart's page is then laid, as a form
XObject, onto the rectangle that image was given (:func:`lay_charts`). Text in the charts stays
text (selectable, searchable), and nothing is rasterised.

The flow, as :func:`mesa_report.report.document.render_pdf` uses it::

    charts = chart_pdfs(specs)                     # key -> one-page PDF
    fetcher = figure_fetcher(placeholders(charts))  # <img src="mesa-report:figure/KEY" id="chart-KEY">
    document = weasyprint.HTML(string=html, url_fetcher=fetcher).render()
    pdf = lay_charts(document.write_pdf(), chart_places(document), charts)
"""

from __future__ import annotations

import io
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
