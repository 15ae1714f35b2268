"""A PDF's charts drawn, and its pages laid out, by helper processes started before they are needed.

A fresh ``report`` command spends its first seconds importing torch and building the report
model on one core. Two helpers (:class:`mesa_report.core.helpers.Helper`) started at its
beginning meanwhile load vl-convert's JavaScript engine and WeasyPrint with its fonts on the
other. As soon as the report's figures are made (:meth:`PdfWorkers.start_charts`, while the report
still measures its explanations) each helper draws half of the charts as SVG, which gives their
sizes; then the first lays the pages out while the second turns the SVGs into PDF pages, and the
first lays them on (the steps of :func:`mesa_report.render.pdf_charts.vector_pdf`). The PDF is the
one this process would make, drawn on both cores with no first-use cost left on the way. Should a
helper die, or none start, the PDF is made in the calling process instead.

Examples
--------
>>> spec = {"data": {"values": [{"x": 1}]}, "mark": "point", "width": 40, "height": 30,
...         "encoding": {"x": {"field": "x", "type": "quantitative"}}}
>>> html = '<p>Two dots</p><img id="chart-a" src="mesa-report:figure/a"><img id="chart-b" src="mesa-report:figure/b">'
>>> with PdfWorkers(2) as workers:
...     pdf = workers.vector_pdf(html, {"a": spec, "b": spec})
>>> pdf[:5]
b'%PDF-'
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from mesa_report.core.helpers import Helper, HelperStopped

CHARTS = "mesa_report.render.pdf_charts"
"""The module whose functions the helpers run."""

WARM_SPEC = {"data": {"values": [{"x": 1, "label": "mesa-report"}]}, "mark": "text",
             "encoding": {"x": {"field": "x", "type": "quantitative"}, "text": {"field": "label"}}}
"""A chart with an axis and a text, in the typeface of the PDF's charts: drawn once so that vl-convert's
engine is up before the first report (by the helpers here, and by the app's report worker)."""

WARM_HTML = '<p style="font-family: \'Liberation Sans\', Arial, \'DejaVu Sans\'"><b>mesa-report</b> 0:00</p>'
"""A line laid out once at the layout helper's start: WeasyPrint loads its fonts and styles."""

NICENESS = 5
"""How far the helpers lower their priority: they warm up behind the command's own imports."""


def warm_up(layout: bool) -> None:
    """Draw :data:`WARM_SPEC`; with ``layout`` also lay out :data:`WARM_HTML` and load pikepdf."""
    from mesa_report.render.pdf_charts import chart_pdfs

    chart_pdfs({"warm": WARM_SPEC})
    if layout:
        import pikepdf  # noqa: F401  (laying the charts on needs it)
        from weasyprint import HTML

        HTML(string=WARM_HTML).write_pdf()


def should_start(formats, pdf_variant: str | None, jobs: int) -> bool:
    """Whether a command is worth helpers: a plain PDF, one subject at a time, two cores or more.

    Examples
    --------
    >>> should_start(["html"], None, 1), should_start(["pdf"], "pdf/a-3b", 1), should_start(["pdf"], None, 4)
    (False, False, False)
    """
    return "pdf" in formats and pdf_variant is None and jobs == 1 and (os.cpu_count() or 1) >= 2


class PdfWorkers:
    """Helper processes that draw a PDF's charts and lay its pages out.

    Parameters
    ----------
    count : int
        Processes (at least 1). The charts are dealt out among them; then the first lays the
        pages out while the last turns the charts' SVGs into PDF pages. Where no process can be
        started, the PDFs are made in the calling process.
    niceness : int
        See :data:`NICENESS`.
    """

    def __init__(self, count: int = 2, *, niceness: int = NICENESS) -> None:
        if count < 1:
            raise ValueError(f"PdfWorkers needs at least one process, not {count}")
        self._helpers: list[Helper] = []
        self._drawing: tuple[dict, list[Helper]] | None = None
        try:
            for index in range(count):
                self._helpers.append(Helper((__name__, "warm_up", (index == 0,), {}), niceness=niceness))
        except OSError:  # no process can be started here: the PDFs are made in this process
            self.close()

    def __enter__(self) -> PdfWorkers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start_charts(self, specs: Mapping[str, dict]) -> None:
        """Start drawing ``specs`` now, e.g. while the rest of the report is built.

        :meth:`vector_pdf` with the same specs then takes these drawings; a drawing it does not
        ask for is dropped.
        """
        if self._helpers:
            try:
                self._start(specs)
            except HelperStopped:
                self.close()

    def _start(self, specs: Mapping[str, dict]) -> None:
        try:
            self._take(self._drawing)
        except HelperStopped:
            raise
        except Exception:  # noqa: BLE001, S110 - the failure of a drawing no one asks for any more
            pass
        keys, count = list(specs), len(self._helpers)
        busy = []
        for helper, share in zip(self._helpers, (keys[index::count] for index in range(count))):
            if share:
                helper.submit(CHARTS, "chart_svgs", {key: specs[key] for key in share})
                busy.append(helper)
        self._drawing = (dict(specs), busy)

    def vector_pdf(self, html: str, specs: Mapping[str, dict], options: Mapping | None = None) -> bytes:
        """:func:`~mesa_report.render.pdf_charts.vector_pdf` of ``html`` with ``specs`` drawn as its charts.

        A chart or layout error is raised as it would be in this process; a helper that has died
        is left behind, and the PDF is made here.
        """
        if self._helpers:
            try:
                return self._in_helpers(html, specs, options)
            except HelperStopped:
                self.close()
        from mesa_report.render.pdf_charts import chart_pdfs, vector_pdf  # here: the helpers' start stays light

        return vector_pdf(html, chart_pdfs(specs), options)

    def _in_helpers(self, html: str, specs: Mapping[str, dict], options: Mapping | None) -> bytes:
        from mesa_report.render.pdf_charts import placeholder, svg_size

        if self._drawing is None or not _same_specs(self._drawing[0], specs):
            self._start(specs)
        svgs: dict[str, str] = {}
        for drawn in self._take(self._drawing):
            svgs.update(drawn)
        images = {key: (placeholder(*svg_size(svgs[key])), "image/svg+xml") for key in specs}
        layout, converter = self._helpers[0], self._helpers[-1]
        if converter is layout:
            charts = layout.call(CHARTS, "svg_pdfs", svgs)
            pdf, places = layout.call(CHARTS, "print_pdf", html, images, options)
        else:  # the pages are laid out while the charts become PDF pages
            layout.submit(CHARTS, "print_pdf", html, images, options)
            converter.submit(CHARTS, "svg_pdfs", svgs)
            (pdf, places), charts = _answers([layout, converter])
        return layout.call(CHARTS, "lay_charts", pdf, places, charts)

    def _take(self, drawing: tuple[dict, list[Helper]] | None) -> list:
        """The answers of a drawing's helpers (none without a drawing); the drawing is then over."""
        self._drawing = None
        return _answers(drawing[1] if drawing else [])

    def close(self) -> None:
        """Stop the helpers; later PDFs are made in this process."""
        for helper in self._helpers:
            helper.close()
        self._helpers, self._drawing = [], None


def _answers(helpers: list[Helper]) -> list:
    """The answer of each helper that was given a call; the first failure is raised once all answered."""
    answers, failure = [], None
    for helper in helpers:
        try:
            answers.append(helper.result())
        except Exception as exc:  # noqa: BLE001 - raised below, once every helper is free again
            failure = failure or exc
    if failure is not None:
        raise failure
    return answers


def _same_specs(started: Mapping[str, dict], wanted: Mapping[str, dict]) -> bool:
    return list(started) == list(wanted) and all(started[key] is wanted[key] or started[key] == wanted[key]
                                                 for key in wanted)
