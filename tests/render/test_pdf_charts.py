"""Charts laid onto a WeasyPrint PDF: sizes, places, what is refused.

Real vl-convert, real WeasyPrint, real pikepdf; the page is rasterised with poppler to check that
each chart is drawn where the layout kept its place, and nowhere else."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pikepdf
import pytest
from pypdf import PdfReader

from mesa_report.core.errors import ReportError
from mesa_report.render.pdf_charts import (
    FIGURE_URL,
    PLACE_PREFIX,
    PT_PER_CSS_PX,
    chart_pdfs,
    chart_places,
    figure_fetcher,
    lay_charts,
    page_size_pt,
    placeholder,
    placeholders,
)


def block_spec(width: int, height: int, title: str) -> dict:
    """A chart that is one black rectangle filling its plot, with a title above it."""
    return {
        "width": width, "height": height, "title": title,
        "data": {"values": [{"x": 0, "x2": 1, "y": 0, "y2": 1}]},
        "mark": {"type": "rect", "color": "black"},
        "encoding": {
            "x": {"field": "x", "type": "quantitative", "axis": None, "scale": {"domain": [0, 1]}},
            "x2": {"field": "x2"},
            "y": {"field": "y", "type": "quantitative", "axis": None, "scale": {"domain": [0, 1]}},
            "y2": {"field": "y2"},
        },
        "config": {"view": {"stroke": None}},
    }


def render_document(body: str, images):
    from weasyprint import HTML

    html = f"<html><head><style>@page {{ size: A5; margin: 10mm }}</style></head><body>{body}</body></html>"
    return HTML(string=html, url_fetcher=figure_fetcher(images)).render()


def chart_img(key: str) -> str:
    return f'<img id="{PLACE_PREFIX}{key}" src="{FIGURE_URL}{key}" alt="{key}">'


@pytest.fixture(scope="module")
def charts():
    return chart_pdfs({"wide": block_spec(300, 60, "wide block"), "tall": block_spec(80, 160, "tall block")})


def _dark_runs(dark: np.ndarray) -> list[int]:
    """Lengths of the runs of consecutive True values."""
    idx = np.flatnonzero(dark)
    return [len(run) for run in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)] if idx.size else []


def test_each_chart_is_a_one_page_vector_pdf_of_its_size(charts):
    for key, (width, height) in {"wide": (300, 60), "tall": (80, 160)}.items():
        with pikepdf.open(io.BytesIO(charts[key])) as doc:
            assert len(doc.pages) == 1
            assert not doc.pages[0].get_images()  # drawn, not pasted as a picture
        page_w, page_h = page_size_pt(charts[key])
        assert width <= page_w < width + 40 and height < page_h < height + 60  # plot + title + padding
        assert f"{key} block" in PdfReader(io.BytesIO(charts[key])).pages[0].extract_text()


def test_placeholders_have_the_chart_size(charts):
    data, mime = placeholders(charts)["wide"]
    width, height = page_size_pt(charts["wide"])
    assert mime == "image/svg+xml" and f'width="{width:.2f}"'.encode() in data
    with pytest.raises(ReportError, match="positive size"):
        placeholder(0, 10)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
def test_charts_are_drawn_where_the_layout_kept_their_place(charts, tmp_path):
    body = (f"<p>Before the charts.</p>{chart_img('wide')}"
            f"<p style='margin-left: 40mm'>Between.</p><div style='margin-left: 40mm'>{chart_img('tall')}</div>")
    document = render_document(body, placeholders(charts))
    places = chart_places(document)
    assert sorted(key for _, key, _ in places) == ["tall", "wide"]
    assert {index for index, _, _ in places} == {0}
    pdf = lay_charts(document.write_pdf(), places, charts)

    dpi = 96  # one pixel per CSS pixel: the places' unit
    (tmp_path / "doc.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", "-singlefile",
                    str(tmp_path / "doc.pdf"), str(tmp_path / "page")], check=True)
    from PIL import Image

    dark = np.asarray(Image.open(tmp_path / "page.png").convert("L")) < 64
    covered = np.zeros_like(dark)
    for _, key, (x0, y0, x1, y1) in places:
        box = dark[int(y0) + 1:int(y1) - 1, int(x0) + 1:int(x1) - 1]
        assert box.mean() > 0.5, f"{key}: its place is not filled"  # the black block, less title and padding
        covered[int(y0):int(y1) + 1, int(x0):int(x1) + 1] = True
    outside = dark & ~covered
    assert outside.sum() < 0.02 * covered.sum()  # only the paragraphs' text lies outside


def test_the_document_keeps_its_metadata_and_text(charts):
    from weasyprint import HTML

    html = (f"<html><head><title>Report of &lt;b&gt;7</title></head><body><h1>Heading</h1>"
            f"{chart_img('wide')}{chart_img('tall')}</body></html>")
    document = HTML(string=html, url_fetcher=figure_fetcher(placeholders(charts))).render()
    pdf = lay_charts(document.write_pdf(), chart_places(document), charts)
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata.title == "Report of <b>7"
    text = reader.pages[0].extract_text()
    assert "Heading" in text and "wide block" in text and "tall block" in text


def test_a_chart_without_a_place_or_a_place_without_a_chart_is_an_error(charts):
    document = render_document(chart_img("wide"), placeholders(charts))
    with pytest.raises(ReportError, match="no place for the charts tall"):
        lay_charts(document.write_pdf(), chart_places(document), charts)
    with pytest.raises(ReportError, match="'wide' that was not drawn"):
        lay_charts(document.write_pdf(), chart_places(document), {})


def test_the_pdf_loads_nothing_from_outside():
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    with pytest.raises(FatalURLFetchingError) as caught:
        HTML(string='<img src="https://example.org/x.png">', url_fetcher=figure_fetcher({})).write_pdf()
    assert isinstance(caught.value.__cause__, ReportError) and "example.org" in str(caught.value.__cause__)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
def test_no_light_lines_run_through_a_temporal_heatmap_laid_on_a_page(tmp_path):
    from PIL import Image

    from mesa_report.charts.heatmaps import temporal_chart
    from mesa_report.explain.view_scales import ColourSpan
    from mesa_report.render.vega import chart_spec

    edges = np.arange(21) * 1.5
    weights = np.random.default_rng(0).uniform(0.0, 0.02, (20, 20))  # every cell dark on a 0-0.1 scale
    spec = chart_spec(temporal_chart(weights, edges[:-1], edges[1:], span=ColourSpan(0.0, 0.1, 0.0, 0.02, 0.02)),
                      validate=False)
    charts = chart_pdfs({"heatmap": {**spec, "width": 170, "height": 170}})  # as a report's detail page
    document = render_document(chart_img("heatmap"), placeholders(charts))
    (tmp_path / "doc.pdf").write_bytes(lay_charts(document.write_pdf(), chart_places(document), charts))
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "doc.pdf"),
                    str(tmp_path / "page")], check=True)
    grey = np.asarray(Image.open(tmp_path / "page.png").convert("L")).astype(int)  # (H, W)
    side_px = 170 * PT_PER_CSS_PX * 150 / 72  # the plot's side on the page, ≈ 266 px
    # a seam between cells is a light line across the plot: it would cut the dark rows and columns
    rows, columns = _dark_runs((grey < 90).mean(axis=1) > 0.2), _dark_runs((grey < 90).mean(axis=0) > 0.2)
    assert max(rows) > 0.95 * side_px and max(columns) > 0.95 * side_px, (rows, columns)
