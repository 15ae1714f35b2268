"""The report's section on its explanations (mesa_report.report.explanations): it measures them."""

from __future__ import annotations

import pytest

from mesa_report.core.vocabulary import CLASS_NAMES_6


def test_the_report_measures_its_own_explanations(report, page, result):
    ex = report.explanations
    assert ex is not None and ex.n_samples == len(report.samples) == 1
    assert [row.method for row in ex.trust_rows] == ["attention", "rollout"]
    for row in ex.channel_rows:
        assert sum(row.shares) == pytest.approx(1.0, abs=1e-3)
        assert row.epochs == int((result.labels == CLASS_NAMES_6.index(row.stage)).sum())
    assert ex.share_past + ex.share_self + ex.share_future == pytest.approx(1.0, abs=1e-3)
    assert 'id="explanations"' in page and "how far to trust it" in page
