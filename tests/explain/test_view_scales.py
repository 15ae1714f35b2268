"""Colour scales of the views (mesa_report.explain.view_scales): fitted to the data above a stated minimum span."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.charts.heatmaps import inter_epoch_chart, temporal_chart
from mesa_report.explain.methods import METHODS
from mesa_report.explain.view_scales import FLAT_FRACTION, MIN_COLOUR_SPAN, SELF_OFF_SCALE, colour_span
from mesa_report.explain.views import ViewChoice, night_sample_views
from mesa_report.render.vega import chart_spec

from ..views_common import report_views


def _data_span(values: np.ndarray, method: str, level: str) -> tuple[float, float]:
    """The values' own range, computed here without the view model (off the diagonal under rollout)."""
    v = np.asarray(values, dtype=np.float64)
    if level != "trace" and SELF_OFF_SCALE[method]:
        v = v[..., ~np.eye(v.shape[-1], dtype=bool)]
    return float(v.min()), float(v.max())


# --------------------------------------------------------------------------------------------
# 1-2: every method honest at every level; no scale stretches noise
# --------------------------------------------------------------------------------------------
def test_every_level_of_every_method_scales_to_its_data_only_above_the_stated_minimum(night_1):
    model, night, result = night_1
    seen = {(m, lvl): 0 for m in METHODS for lvl in MIN_COLOUR_SPAN}
    narrow = 0
    for method, level, values, span, _ in report_views(model, night, result):
        low, high = _data_span(values, method, level)
        minimum = MIN_COLOUR_SPAN[level]
        if high - low >= minimum:
            assert span.domain == pytest.approx((low, high)), (method, level)
        else:
            narrow += 1
            assert span.high - span.low == pytest.approx(minimum), (method, level)
            assert span.low <= low + 1e-9 and high <= span.high + 1e-9  # the data inside the scale
            assert span.high - span.low != pytest.approx(high - low)
        seen[(method, level)] += 1
    assert all(seen.values()) and narrow > 0  # every method and level checked; some scales were widened


def test_flat_and_narrow_views_say_so_under_the_legend():
    rng = np.random.default_rng(0)
    flat = 0.05 + rng.uniform(-1e-7, 1e-7, (20, 20))  # what gradient showed at layer 1, head 2
    span = colour_span(flat, "temporal", "gradient")
    assert span.flat and span.notes[0].startswith("no signal: every value within 0.1%")
    assert (flat.max() - flat.min()) <= FLAT_FRACTION * flat.max()
    noisy = 0.0490 + rng.uniform(0, 0.0015, (20, 20))  # 0.0490-0.0505: noise, not findings
    span = colour_span(noisy, "temporal", "attention")
    assert not span.flat and span.widened and span.high - span.low == pytest.approx(0.02)
    edges = np.arange(21) * 1.5
    spec = chart_spec(temporal_chart(noisy, edges[:-1], edges[1:], span=span))
    colour = spec["encoding"]["color"]
    assert colour["scale"]["domain"] == [span.low, span.high] and colour["scale"]["clamp"] is True
    assert colour["title"] == ["attention", "scale widened to its minimum span 0.02"]


def test_rollout_leaves_the_diagonal_out_of_the_scale_and_says_so(night_1):
    _, _, result = night_1
    att = night_sample_views(result, 0, ViewChoice("rollout"))
    span = att.span("epoch")
    off = att.epoch[~np.eye(att.seq_len, dtype=bool)]
    assert span.self_clipped and span.high == pytest.approx(off.max()) and off.max() < np.diag(att.epoch).max()
    spec = chart_spec(inter_epoch_chart(att.epoch, att.true_labels, att.pred_labels, span=span))
    assert "diagonal (self) clipped to the top" in spec["encoding"]["color"]["title"]
