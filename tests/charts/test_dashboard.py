"""The seed's attention dashboard (mesa_report.charts.dashboard): one row per selected epoch."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.charts.dashboard import dashboard_chart
from mesa_report.core.errors import ConfigError

from .charts_common import CHANNELS, EDGES_S, PRED, TRUE, softmax_rows, spec_text


def test_dashboard_has_one_row_per_selected_epoch():
    rng = np.random.default_rng(5)
    chart = dashboard_chart(
        softmax_rows(rng, 20, 20), softmax_rows(rng, 20, 3, 3), softmax_rows(rng, 20, 3, 20, 20),
        TRUE, PRED, epochs=[1, 13], channel_names=CHANNELS, token_start_s=EDGES_S[:-1],
        token_end_s=EDGES_S[1:])
    assert len(chart.vconcat) == 3 and all(len(row.hconcat) == 4 for row in chart.vconcat[1:])
    text = spec_text(chart)
    assert "epoch 1: W→N1 (wrong)" in text and "epoch 13: REM→N2 (wrong)" in text
    assert chart.vconcat[2].hconcat[2].title.text == "EEG2 (Cz-Oz)"
    with pytest.raises(ConfigError, match="0-19"):
        dashboard_chart(np.eye(20), np.ones((20, 3, 3)), np.ones((20, 3, 20, 20)), TRUE, PRED,
                               epochs=[20], channel_names=CHANNELS, token_start_s=EDGES_S[:-1],
                               token_end_s=EDGES_S[1:])
