"""An epoch's traces (mesa_report.charts.traces): every channel stacked with the attention its tokens receive."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.charts.heatmaps import received_attention
from mesa_report.charts.traces import TRACE_WIDTH_PX, traces_chart
from mesa_report.core.errors import ConfigError
from mesa_report.render.vega import chart_spec

from .charts_common import CHANNELS, EDGES_S, softmax_rows


def test_traces_chart_stacks_every_channel_with_the_attention_its_tokens_receive():
    rng = np.random.default_rng(4)
    w = softmax_rows(rng, 3, 20, 20)  # (C, N, N)
    relevance = received_attention(w)  # (C, N)
    assert relevance.sum(axis=1) == pytest.approx(np.ones(3))
    signals = np.sin(np.arange(3840) / 128.0 * 2 * np.pi)[None] * np.array([[1.0], [2.0], [3.0]])  # (C, T)
    chart = traces_chart(signals, 128.0, relevance, EDGES_S[:-1], EDGES_S[1:], channel_names=CHANNELS)
    spec = chart_spec(chart)
    assert spec["resolve"]["scale"]["color"] == "shared"  # one colour scale, one legend
    subtitle = " ".join(spec["title"]["subtitle"])
    assert "IQR units" in subtitle and "inter-quartile range" in subtitle  # how the signal was scaled
    channels = spec["vconcat"]
    assert len(channels) == 3
    for c, (name, part) in enumerate(zip(["EEG1 (Fz-Cz)", "EEG2 (Cz-Oz)", "EEG3 (C4-M1)"], channels)):
        (shade, line), band = part["vconcat"][0]["layer"], part["vconcat"][1]
        assert line["encoding"]["y"]["title"] == name  # the trace is drawn over its shading
        assert shade["mark"]["fillOpacity"] <= 0.3 and "stroke" not in shade["mark"]  # no white outlines
        assert band["mark"]["type"] == "rect" and band["encoding"]["color"]["field"] == "relevance"
        assert (band["encoding"]["x"].get("title") == "time in epoch (s)") == (c == 2)  # labelled once
        assert line["encoding"]["y"]["axis"]["labelFontSize"] >= 10
    datasets = list(spec["datasets"].values())
    tokens = [d for d in datasets if d and "relevance" in d[0]]
    for c in range(3):  # one row per token and channel, each the attention that token receives
        assert any(np.allclose([r["relevance"] for r in d], relevance[c]) for d in tokens)
    trace = next(d for d in datasets if d and "amplitude" in d[0] and max(r["amplitude"] for r in d) > 2.5)
    # Two points per pixel column at most (each column's min and max), every one a real sample.
    assert len(trace) <= 2 * TRACE_WIDTH_PX
    kept = np.round(np.array([r["time_s"] for r in trace]) * 128).astype(int)
    np.testing.assert_allclose([r["amplitude"] for r in trace], signals[2, kept])
    columns = np.arange(3840) * TRACE_WIDTH_PX // 3840
    assert columns[kept[0]] == 0 and columns[kept[-1]] == TRACE_WIDTH_PX - 1 and np.all(np.diff(kept) > 0)
    for column in (0, 190, TRACE_WIDTH_PX - 1):  # the drawn range of a pixel column is the signal's
        in_column = signals[2, columns == column]
        drawn = signals[2, kept[columns[kept] == column]]
        assert (drawn.min(), drawn.max()) == (in_column.min(), in_column.max())
    with pytest.raises(ConfigError, match="2 channels.*channel_names 3"):
        traces_chart(signals[:2], 128.0, relevance[:2], EDGES_S[:-1], EDGES_S[1:], channel_names=CHANNELS)
