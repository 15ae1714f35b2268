"""A PDF made by helper processes: the same pages as one made here, errors as here, a dead helper survived."""

from __future__ import annotations

import io
import os
import signal

import pikepdf
import pytest
from pypdf import PdfReader

from mesa_report.core.errors import ReportError
from mesa_report.render.pdf_charts import (
    FIGURE_URL,
    PLACE_PREFIX,
    chart_pdfs,
    chart_svgs,
    page_size_pt,
    svg_pdfs,
    svg_size,
    vector_pdf,
)
from mesa_report.render.pdf_workers import PdfWorkers
from tests.helpers import drawn_forms
from tests.render.test_pdf_charts import block_spec


def html_of(keys) -> str:
    images = "".join(f'<p>Chart {key}</p><img id="{PLACE_PREFIX}{key}" src="{FIGURE_URL}{key}">' for key in keys)
    return f"<html><head><style>@page {{ size: A5; margin: 10mm }}</style></head><body>{images}</body></html>"


SPECS = {f"c{i}": block_spec(60 + 40 * i, 200 - 30 * i, f"block {i}") for i in range(5)}


def pages(pdf: bytes) -> list[tuple]:
    """Per page: its size, and the size and drawing of each chart laid on it."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return [(tuple(float(v) for v in page.mediabox),
                 [(tuple(float(v) for v in form.BBox), form.read_bytes()) for form in drawn_forms(page)])
                for page in doc.pages]


@pytest.fixture(scope="module")
def workers():
    with PdfWorkers(2) as workers:
        yield workers


def test_svgs_give_the_chart_pdfs_sizes_and_pages():
    svgs = chart_svgs(SPECS)
    direct = chart_pdfs(SPECS)
    for key, pdf in svg_pdfs(svgs).items():
        assert svg_size(svgs[key]) == page_size_pt(pdf) == page_size_pt(direct[key])
        text = [PdfReader(io.BytesIO(one)).pages[0].extract_text() for one in (pdf, direct[key])]
        assert text[0] == text[1] and f"block {key[1:]}" in text[0]


def test_the_helpers_make_the_pdf_this_process_makes(workers):
    html = html_of(SPECS)
    here = vector_pdf(html, chart_pdfs(SPECS))
    there = workers.vector_pdf(html, SPECS)
    assert pages(there) == pages(here)
    assert len(pages(here)) > 1 and all(charts for _, charts in pages(here))  # charts on every page
    assert sum(len(charts) for _, charts in pages(there)) == len(SPECS)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(there)).pages)
    assert all(f"block {i}" in text and f"Chart c{i}" in text for i in range(5))


def test_charts_started_early_are_used_and_a_drawing_no_one_asks_for_is_dropped(workers):
    html = html_of(SPECS)
    expected = pages(vector_pdf(html, chart_pdfs(SPECS)))
    workers.start_charts(SPECS)
    assert pages(workers.vector_pdf(html, SPECS)) == expected
    other = {"c9": block_spec(90, 90, "block 9")}
    workers.start_charts(other)  # dropped: the next PDF wants SPECS
    assert pages(workers.vector_pdf(html, SPECS)) == expected


def test_a_chart_error_is_raised_here_and_the_helpers_go_on(workers):
    broken = {**SPECS, "bad": {"mark": "no-such-mark", "data": {"values": []}}}
    with pytest.raises(ReportError, match="could not be drawn"):
        workers.vector_pdf(html_of(broken), broken)
    assert PdfReader(io.BytesIO(workers.vector_pdf(html_of(SPECS), SPECS))).pages


def test_without_its_helpers_the_pdf_is_made_here():
    html = html_of(SPECS)
    with PdfWorkers(2) as workers:
        for helper in workers._helpers:  # both die, as an out-of-memory kill would do it
            os.kill(helper.call("os", "getpid"), signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
        assert pages(workers.vector_pdf(html, SPECS)) == pages(vector_pdf(html, chart_pdfs(SPECS)))
        assert not workers._helpers


def test_one_helper_does_it_all():
    html = html_of(SPECS)
    with PdfWorkers(1) as workers:
        assert pages(workers.vector_pdf(html, SPECS)) == pages(vector_pdf(html, chart_pdfs(SPECS)))
    with pytest.raises(ValueError, match="at least one"):
        PdfWorkers(0)


def test_where_no_process_can_start_the_pdf_is_made_here(monkeypatch):
    import mesa_report.render.pdf_workers as pdf_workers

    def refused(*args, **kwargs):
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(pdf_workers, "Helper", refused)
    html = html_of(SPECS)
    with PdfWorkers(2) as workers:
        workers.start_charts(SPECS)
        assert pages(workers.vector_pdf(html, SPECS)) == pages(vector_pdf(html, chart_pdfs(SPECS)))
