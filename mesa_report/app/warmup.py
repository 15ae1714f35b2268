"""Costs a process pays once before its first report, paid ahead of any click.

The first HTML report of a process reads Vega's JavaScript bundle (2-3 s), the first chart
starts vl-convert's engine (0.3 s) and the first PDF makes WeasyPrint load its fonts (3-4 s). The
app's report worker (:mod:`mesa_report.app.report_builder`) calls :func:`warm_up` as soon as it
starts, so those costs land while the user looks at the first page, not on a download button.

Examples
--------
>>> sorted(warm_up())  # doctest: +SKIP
['PDF layout (WeasyPrint fonts)', 'Vega bundle', 'vl-convert engine']
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mesa_report.render.pdf_workers import WARM_SPEC
from mesa_report.render.vega import render_spec, vega_javascript
from mesa_report.report.document import stylesheet


def _first_pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string=f"<style>{stylesheet('pdf')}</style><h1>mesa-report</h1><p>warm-up</p>").write_pdf()


WARM_UP_STEPS: dict[str, Callable[[], object]] = {
    "Vega bundle": vega_javascript,
    "vl-convert engine": lambda: render_spec(WARM_SPEC, "pdf"),
    "PDF layout (WeasyPrint fonts)": _first_pdf,
}
"""What is paid once per process, by name (the Vega bundle stays cached in the process)."""


def warm_up() -> dict[str, float]:
    """Pay the once-per-process costs of the reports now; return seconds per step.

    Examples
    --------
    >>> seconds = warm_up()  # doctest: +SKIP
    >>> all(s >= 0 for s in seconds.values())  # doctest: +SKIP
    True
    """
    seconds = {}
    for name, step in WARM_UP_STEPS.items():
        started = time.perf_counter()
        step()
        seconds[name] = time.perf_counter() - started
    return seconds
