"""A night's report files: their paths, the stamp that records what they were made from, and writing
them atomically (an up-to-date report is skipped)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mesa_report.core.errors import ReportError
from mesa_report.core.fileio import write_bytes_atomic, write_text_atomic
from mesa_report.render.pdf_workers import PdfWorkers
from mesa_report.report.document import check_pdf_options, render_html, render_pdf
from mesa_report.report.model import SubjectReport
from mesa_report.report.options import FORMATS
from mesa_report.scoring.metrics import ClassificationMetrics, NightMetrics

REPORT_SUFFIX = "_report"
"""File names are ``<record id>_report.html``, ``.pdf`` and the stamp ``.json``."""


_STAMP_VERSION = 1


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def report_paths(output_dir: str | Path, stem: str, formats: Iterable[str] = FORMATS) -> dict[str, Path]:
    """Where the reports of one subject go: ``{fmt: <output_dir>/<stem>_report.<fmt>}``.

    Examples
    --------
    >>> report_paths("out", "mesa-sleep-0001", ["pdf"])["pdf"].name
    'mesa-sleep-0001_report.pdf'
    """
    return {fmt: Path(output_dir) / f"{stem}{REPORT_SUFFIX}.{fmt}" for fmt in _check_formats(formats)}


def stamp_path(output_dir: str | Path, stem: str) -> Path:
    """The JSON stamp of one subject's reports (inputs digest and the night's figures)."""
    return Path(output_dir) / f"{stem}{REPORT_SUFFIX}.json"


def _check_formats(formats: Iterable[str]) -> list[str]:
    chosen = [str(f).lower().lstrip(".") for f in formats]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise ReportError(f"report format(s) {unknown or 'none'}: choose from {', '.join(FORMATS)}")
    return list(dict.fromkeys(chosen))


def reports_up_to_date(output_dir: str | Path, stem: str, formats: Iterable[str],
                       fingerprint: str) -> bool:
    """Whether every requested report of ``stem`` exists and was made from these inputs.

    Examples
    --------
    >>> import tempfile
    >>> reports_up_to_date(tempfile.mkdtemp(), "mesa-sleep-0001", ["html"], "abc")
    False
    """
    try:
        stamp = json.loads(stamp_path(output_dir, stem).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(stamp, dict) or stamp.get("inputs") != fingerprint or not fingerprint:
        return False
    made = stamp.get("files") or {}
    return all(made.get(fmt) == path.name and path.is_file()
               for fmt, path in report_paths(output_dir, stem, formats).items())


def _metrics_summary(metrics: NightMetrics, statistics: Sequence) -> dict:
    def figures(item: ClassificationMetrics | None) -> dict | None:
        if item is None:
            return None
        return {"accuracy": item.accuracy, "macro_f1": item.macro_f1, "kappa": item.kappa,
                "n_epochs": item.n_epochs,
                "per_stage_f1": dict(zip(item.class_names, item.per_stage_f1))}

    return {"n_epochs": metrics.n_epochs, "n_scored": metrics.n_scored,
            "stages": figures(metrics.stages), "merged": figures(metrics.merged),
            "sleep_scored": {row.key: row.scored for row in statistics},
            "sleep_predicted": {row.key: row.predicted for row in statistics}}


def _json_number(value: Any) -> Any:
    """NaN and infinities as null, so the stamp is strict JSON."""
    if isinstance(value, dict):
        return {k: _json_number(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_reports(report: SubjectReport, output_dir: str | Path, formats: Iterable[str] = FORMATS,
                  *, stem: str | None = None, page_size: str = "A4", pdf_variant: str | None = None,
                  pdf_workers: PdfWorkers | None = None) -> dict[str, Path]:
    """Render and write one subject's reports atomically, then its JSON stamp.

    Every format is rendered before the first file is written. The stamp
    (``<stem>_report.json``) is written last; it holds the inputs digest, the files and the
    night's figures in machine-readable form.

    Parameters
    ----------
    report : SubjectReport
        From :func:`build_report`.
    output_dir : path-like
        Folder of the reports (created if missing).
    formats : iterable of {"html", "pdf"}
        Formats to write.
    stem : str, optional
        File name stem; default the report's subject.
    page_size, pdf_variant
        PDF options (see :func:`render_pdf`).
    pdf_workers : PdfWorkers, optional
        Helper processes that make the PDF (see :func:`render_pdf`).

    Returns
    -------
    dict of str to Path
        The file written per format.

    Raises
    ------
    ReportError
        For an unknown format or PDF option.
    MesaReportError
        When the folder cannot be written (nothing is left under a final name).

    Examples
    --------
    >>> write_reports(report, "reports", ["html", "pdf"])  # doctest: +SKIP
    {'html': PosixPath('reports/mesa-sleep-0001_report.html'), 'pdf': ...}
    """
    stem = stem or report.subject
    paths = report_paths(output_dir, stem, formats)
    if "pdf" in paths:
        check_pdf_options(page_size, pdf_variant)  # a bad PDF option is refused before any rendering
    rendered = {  # the HTML first: PDF helpers may still be drawing the charts (render_pdf)
        fmt: (render_html(report).encode("utf-8") if fmt == "html"
              else render_pdf(report, page_size=page_size, pdf_variant=pdf_variant, workers=pdf_workers))
        for fmt in sorted(paths, key=lambda fmt: fmt != "html")
    }
    for fmt, path in paths.items():
        write_bytes_atomic(path, rendered[fmt])
    stamp = {
        "stamp_version": _STAMP_VERSION,
        "subject": report.subject,
        "inputs": report.fingerprint,
        "software_version": report.software_version,
        "created": report.created_iso,
        "files": {fmt: path.name for fmt, path in paths.items()},
        "metrics": _json_number(_metrics_summary(report.metrics, report.night.statistics if report.night else ())),
    }
    write_text_atomic(stamp_path(output_dir, stem), json.dumps(stamp, indent=1) + "\n")
    return paths
