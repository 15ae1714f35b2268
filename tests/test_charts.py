"""The attention views as Altair charts: what each spec carries and that it carries the right numbers."""

from __future__ import annotations

import datetime as dt
import json

import altair as alt
import numpy as np
import pytest
import torch

from mesa_report.charts.dashboard import dashboard_chart
from mesa_report.charts.data import chart_frame
from mesa_report.charts.heatmaps import (
    EPOCH_FIELD,
    EPOCH_SELECTION,
    channel_chart,
    epoch_labels,
    inter_epoch_chart,
    prediction_strip_chart,
    received_attention,
    temporal_chart,
)
from mesa_report.charts.night import NIGHT_EPOCH_SELECTION, confusion_chart, hypnogram_chart, hypnogram_order
from mesa_report.charts.scales import colour_scale
from mesa_report.charts.traces import TRACE_WIDTH_PX, traces_chart
from mesa_report.core.vocabulary import REM_BAND_COLOUR, WRONG_COLOUR
from mesa_report.core.errors import ConfigError, ReportError
from mesa_report.model.network import MesaTransformer
from mesa_report.model.config import ModelConfig
from mesa_report.render.vega import chart_spec, render_chart
from mesa_report.core.vocabulary import CLASS_NAMES_6, STAGE_COLOURS, UNSCORED_COLOUR

CHANNELS = ["EEG1", "EEG2", "EEG3"]
TRUE = np.array([0, 0, 1, 2, 2, 2, 3, 4, 4, 3, 2, 5, 5, 5, 2, -1, 0, 0, 1, 2])  # (20,)
PRED = np.array([0, 1, 1, 2, 2, 1, 3, 4, 3, 3, 2, 5, 5, 2, 2, 2, 0, 0, 1, 2])  # (20,)
EDGES_S = np.arange(21) * 1.5  # token edges of a 30 s epoch, (21,)


def _softmax_rows(rng: np.random.Generator, *shape: int) -> np.ndarray:
    scores = rng.normal(size=shape)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _read_only(*arrays: np.ndarray) -> list[np.ndarray]:
    out = []
    for a in arrays:
        a = a.copy()
        a.flags.writeable = False
        out.append(a)
    return out


def _spec_text(chart) -> str:
    return json.dumps(chart_spec(chart), ensure_ascii=False)


def _dataset_with(spec: dict, column: str) -> list[dict]:
    (rows,) = [rows for rows in spec["datasets"].values() if rows and column in rows[0]]
    return rows


@pytest.fixture(scope="module")
def tiny_output():
    torch.manual_seed(0)
    model = MesaTransformer(ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16),
                                        temporal_heads=4, channel_heads=2, epoch_heads=4)).eval()
    with torch.no_grad():
        return model(torch.randn(2, 20, 3, 3840), return_attention=True)


# --------------------------------------------------------------------------------------------
# inter-epoch
# --------------------------------------------------------------------------------------------
def test_inter_epoch_values_are_the_models_captured_weights(tiny_output):
    maps = tiny_output.attention
    for layer, head in ((-1, None), (0, 2)):
        captured = maps.epoch[1, layer]  # (H, S, S) of the second sample
        expected = (captured.mean(0) if head is None else captured[head]).numpy()  # (S, S)
        chart = inter_epoch_chart(maps.epoch_map(layer, head)[1].numpy(), TRUE, PRED)
        grid = chart_frame(chart).pivot(index="query_epoch", columns="key_epoch", values="weight").to_numpy()
        np.testing.assert_allclose(grid, expected, rtol=1e-6, atol=1e-7)
        assert np.allclose(grid.sum(axis=1), 1.0, atol=1e-5)  # every query row is a distribution


def test_inter_epoch_labels_mark_wrong_and_unscored_epochs():
    w = _softmax_rows(np.random.default_rng(1), 20, 20)
    chart = inter_epoch_chart(w, TRUE, PRED, first_epoch=100)
    spec = chart_spec(chart)
    text = json.dumps(spec, ensure_ascii=False)
    assert "101 W→N1" in text and "113 REM→N2" in text and "115 ?→N2" in text
    x_axis = spec["encoding"]["x"]
    assert x_axis["sort"][0] == "100 W→W" and len(x_axis["sort"]) == 20
    colour_expr = x_axis["axis"]["labelColor"]["expr"]
    wrong_list = json.loads(colour_expr.split("indexof(", 1)[1].split(", datum.value")[0])
    assert wrong_list == ["101 W→N1", "105 N2→N1", "108 N4→N3", "113 REM→N2"]
    assert WRONG_COLOUR in colour_expr and UNSCORED_COLOUR in colour_expr
    assert spec["encoding"]["color"]["scale"]["scheme"] == "plasma"
    titles = {t["title"] for t in spec["encoding"]["tooltip"]}
    assert {"query epoch", "key epoch", "query true→pred", "attention"} <= titles


def test_inter_epoch_has_the_named_point_selection_for_the_app():
    spec = chart_spec(inter_epoch_chart(np.full((3, 3), 1 / 3), [0, 1, 2], [0, 1, 2]))
    params = [p for p in spec.get("params", []) if p["name"] == EPOCH_SELECTION]
    assert len(params) == 1
    assert params[0]["select"]["type"] == "point"
    assert params[0]["select"]["fields"] == [EPOCH_FIELD]


def test_prediction_strip_lines_up_with_the_heatmap_columns():
    conf = np.linspace(0.3, 1.0, 20)
    strip = prediction_strip_chart(TRUE, PRED, conf, first_epoch=0)
    heat = inter_epoch_chart(np.eye(20), TRUE, PRED)
    tiles = chart_spec(strip)["vconcat"][0]
    assert tiles["layer"][0]["encoding"]["x"]["sort"] == chart_spec(heat)["encoding"]["x"]["sort"]
    scale = tiles["layer"][0]["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"]))["?"] == UNSCORED_COLOUR
    assert dict(zip(scale["domain"], scale["range"]))["REM"] == STAGE_COLOURS["REM"]


# --------------------------------------------------------------------------------------------
# channel, temporal, trace
# --------------------------------------------------------------------------------------------
def test_channel_chart_names_channels_with_derivations_on_a_fixed_scale():
    w = _softmax_rows(np.random.default_rng(2), 3, 3)
    chart = channel_chart(w, CHANNELS)
    spec = chart_spec(chart)
    text = json.dumps(spec)
    for label in ("EEG1 (Fz-Cz)", "EEG2 (Cz-Oz)", "EEG3 (C4-M1)"):
        assert label in text
    cells, values = spec["layer"]
    assert cells["encoding"]["color"]["scale"] == {"domain": [0.0, 1.0], "scheme": "yelloworangered", "clamp": True}
    assert values["mark"]["type"] == "text" and values["encoding"]["text"]["format"] == ".2f"
    frame = chart_frame(chart).set_index(["query_channel", "key_channel"])["weight"]
    assert frame[("EEG2 (Cz-Oz)", "EEG3 (C4-M1)")] == pytest.approx(w[1, 2])


def test_temporal_chart_axes_are_seconds_from_the_token_times():
    w = _softmax_rows(np.random.default_rng(3), 20, 20)
    spec = chart_spec(temporal_chart(w, EDGES_S[:-1], EDGES_S[1:], cmap="magma"))
    enc = spec["encoding"]
    assert enc["x"]["title"] == "key time in epoch (s)" and enc["y"]["title"] == "query time in epoch (s)"
    assert enc["x"]["scale"]["domain"] == [0.0, 30.0] and enc["y"]["scale"]["reverse"] is True
    assert enc["color"]["scale"]["scheme"] == "magma"
    # each cell is drawn a little under the next one (no seam between them), and clipped at the plot's edge
    assert (enc["x2"]["field"], enc["y2"]["field"], spec["mark"]["clip"]) == ("key_drawn_end_s", "query_drawn_end_s", True)
    rows = next(iter(spec["datasets"].values()))
    cell = next(r for r in rows if r["query_token"] == 4 and r["key_token"] == 7)
    assert (cell["key_start_s"], cell["key_end_s"], cell["query_start_s"]) == (10.5, 12.0, 6.0)
    assert 12.0 < cell["key_drawn_end_s"] < 12.0 + 0.2 * 1.5 and cell["query_drawn_end_s"] > cell["query_end_s"]
    assert cell["weight"] == pytest.approx(w[4, 7])


def test_traces_chart_stacks_every_channel_with_the_attention_its_tokens_receive():
    rng = np.random.default_rng(4)
    w = _softmax_rows(rng, 3, 20, 20)  # (C, N, N)
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


# --------------------------------------------------------------------------------------------
# night views
# --------------------------------------------------------------------------------------------
def test_hypnogram_orders_stages_as_scorers_do_and_ticks_wrong_predictions():
    conf = np.full(20, 0.8)
    chart = hypnogram_chart(TRUE, PRED, conf, epoch_seconds=30.0)
    spec = chart_spec(chart)
    scored_panel = spec["vconcat"][0]
    y = scored_panel["layer"][1]["encoding"]["y"]
    assert y["sort"] == ["W", "REM", "N1", "N2", "N3", "N4", "?"]
    assert scored_panel["layer"][0]["mark"]["color"] == REM_BAND_COLOUR  # REM row shaded
    ticks = chart_frame(chart.vconcat[2].layer[1])
    assert ticks["epoch"].tolist() == [1, 5, 8, 13]
    tiles = chart_frame(chart.vconcat[0].layer[1])
    assert tiles["t_end"].iloc[-1] == pytest.approx(20 * 30 / 3600)
    # the step line: one point per run in time order, then the night's end
    steps = chart_frame(chart.vconcat[0].layer[2])
    assert steps["at"].tolist() == tiles["t"].tolist() + [tiles["t_end"].iloc[-1]]
    assert steps["stage"].tolist() == tiles["stage"].tolist() + [tiles["stage"].iloc[-1]]
    assert scored_panel["layer"][2]["encoding"]["order"]["field"] == "at"
    assert "time since start (h)" in json.dumps(spec)


def test_hypnogram_marks_the_window_and_every_epoch_is_clickable_in_every_panel():
    chart = hypnogram_chart(TRUE, PRED, np.full(20, 0.8), first_epoch=40, window=(45, 49))
    spec = chart_spec(chart)  # validated against the Vega-Lite schema
    (pick,) = spec["params"]
    assert pick["name"] == NIGHT_EPOCH_SELECTION and pick["select"]["fields"] == ["epoch"]
    clickable = [panel["layer"][-1] for panel in spec["vconcat"]]
    assert pick["views"] == [layer["name"] for layer in clickable]  # all three panels, and only they
    for panel in chart.vconcat:
        assert chart_frame(panel.layer[-1])["epoch"].tolist() == list(range(40, 60))
        band = chart_frame(panel.layer[-2])
        assert (band["t"].item(), band["t_end"].item()) == pytest.approx((45 * 30 / 3600, 50 * 30 / 3600))
    assert "band marks the sample" in json.dumps(spec["title"])
    unmarked = chart_spec(hypnogram_chart(TRUE, PRED, np.full(20, 0.8)))
    assert len(unmarked["vconcat"][2]["layer"]) == len(spec["vconcat"][2]["layer"]) - 1


def test_hypnogram_and_hypnodensity_share_the_clock_time_axis():
    from mesa_report.charts.hypnodensity import hypnodensity_chart

    start = dt.datetime(1900, 1, 1, 23, 50)
    probs = np.full((20, 6), 1 / 6)
    hypnogram = chart_spec(hypnogram_chart(TRUE, PRED, np.full(20, 0.8), start=start))
    density = chart_spec(hypnodensity_chart(probs, start=start))
    x_hypnogram = hypnogram["vconcat"][2]["layer"][0]["encoding"]["x"]
    x_density = density["layer"][0]["encoding"]["x"]
    assert x_hypnogram["scale"] == x_density["scale"] and x_hypnogram["type"] == "temporal"
    svg = render_chart(hypnogram_chart(TRUE, PRED, np.full(20, 0.8), start=start), "svg").decode()
    assert ">23:50:00<" in svg and ">00:00:00<" in svg and "clock time" in svg  # 10 min: seconds shown


def test_confusion_chart_rows_are_scored_stages():
    matrix = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 0]])
    chart = confusion_chart(matrix, ["W", "N1", "N2"])
    cells = chart_frame(chart).set_index(["scored", "predicted"])
    assert cells.loc[("W", "N1"), "count"] == 2 and cells.loc[("W", "N1"), "row_share"] == pytest.approx(0.2)
    assert cells.loc[("N2", "N2"), "row_share"] == 0.0  # an empty row is no division by zero
    assert "predicted stage" in _spec_text(chart)


def test_dashboard_has_one_row_per_selected_epoch():
    rng = np.random.default_rng(5)
    chart = dashboard_chart(
        _softmax_rows(rng, 20, 20), _softmax_rows(rng, 20, 3, 3), _softmax_rows(rng, 20, 3, 20, 20),
        TRUE, PRED, epochs=[1, 13], channel_names=CHANNELS, token_start_s=EDGES_S[:-1],
        token_end_s=EDGES_S[1:])
    assert len(chart.vconcat) == 3 and all(len(row.hconcat) == 4 for row in chart.vconcat[1:])
    text = _spec_text(chart)
    assert "epoch 1: W→N1 (wrong)" in text and "epoch 13: REM→N2 (wrong)" in text
    assert chart.vconcat[2].hconcat[2].title.text == "EEG2 (Cz-Oz)"
    with pytest.raises(ConfigError, match="0-19"):
        dashboard_chart(np.eye(20), np.ones((20, 3, 3)), np.ones((20, 3, 20, 20)), TRUE, PRED,
                               epochs=[20], channel_names=CHANNELS, token_start_s=EDGES_S[:-1],
                               token_end_s=EDGES_S[1:])


# --------------------------------------------------------------------------------------------
# colour maps, limits, purity, errors
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, scheme", [("viridis", "viridis"), ("plasma", "plasma"),
                                          ("YlOrRd", "yelloworangered"), ("ylorrd", "yelloworangered"),
                                          ("yelloworangered", "yelloworangered")])
def test_matplotlib_colour_maps_map_to_vega_schemes(name, scheme):
    assert colour_scale(name).to_dict()["scheme"] == scheme


def test_unknown_colour_map_lists_the_valid_ones():
    with pytest.raises(ReportError, match="viridis, plasma.*YlOrRd"):
        temporal_chart(np.eye(20), EDGES_S[:-1], EDGES_S[1:], cmap="jet")


def test_dense_heatmap_keeps_every_cell():
    n = 90  # 8,100 cells, above Altair's 5,000-row default for data frames
    chart = inter_epoch_chart(np.full((n, n), 1 / n), np.zeros(n, int), np.zeros(n, int))
    for spec in (chart_spec(chart), chart.to_dict()):  # inline data: no row limit either way
        rows = next(iter(spec["datasets"].values()))
        assert len(rows) == n * n


def test_charts_change_neither_their_inputs_nor_altair_settings():
    rng = np.random.default_rng(6)
    ew, cw, tw = _read_only(_softmax_rows(rng, 20, 20), _softmax_rows(rng, 20, 3, 3),
                            _softmax_rows(rng, 20, 3, 20, 20))
    true, pred, start, end = _read_only(TRUE, PRED, EDGES_S[:-1], EDGES_S[1:])
    before = [a.copy() for a in (ew, cw, tw, true, pred)]
    transformer, theme = alt.data_transformers.active, alt.theme.active
    dashboard_chart(ew, cw, tw, true, pred, epochs=[0, 5], channel_names=CHANNELS,
                           token_start_s=start, token_end_s=end)
    hypnogram_chart(true, pred, np.full(20, 0.5))
    for a, b in zip((ew, cw, tw, true, pred), before):
        np.testing.assert_array_equal(a, b)
    assert (alt.data_transformers.active, alt.theme.active) == (transformer, theme)


def test_shape_mistakes_are_clear_errors():
    with pytest.raises(ConfigError, match="pred_labels has 3 entries but weights has 20"):
        inter_epoch_chart(np.eye(20), TRUE, [0, 1, 2])
    with pytest.raises(ConfigError, match="2 channel names"):
        channel_chart(np.eye(3), ["EEG1", "EEG2"])
    with pytest.raises(ConfigError, match="square"):
        temporal_chart(np.ones((20, 19)), EDGES_S[:-1], EDGES_S[1:])
    with pytest.raises(ConfigError, match="NaN"):
        channel_chart(np.full((3, 3), np.nan), CHANNELS)


def test_stage_names_default_to_the_seed_six():
    assert hypnogram_order(CLASS_NAMES_6) == ["W", "REM", "N1", "N2", "N3", "N4"]
    assert epoch_labels([5], [0], CLASS_NAMES_6) == ["0 REM→W"]
