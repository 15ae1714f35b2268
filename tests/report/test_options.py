"""Report options (mesa_report.report.options): checks name the option."""

from __future__ import annotations

import pytest

from mesa_report.core.errors import ReportError
from mesa_report.report.build import build_report
from mesa_report.report.document import render_pdf


def test_option_checks_name_the_option(result):
    with pytest.raises(ReportError, match="epochs per sample"):
        build_report(result, epochs_per_sample=21)
    with pytest.raises(ReportError, match="number of samples"):
        build_report(result, n_samples=-1)


def test_bad_pdf_options_are_refused(report):
    with pytest.raises(ReportError, match="A4 or Letter"):
        render_pdf(report, page_size="A5")
    with pytest.raises(ReportError, match="pdf/a-3b"):
        render_pdf(report, pdf_variant="pdf/x-4")
