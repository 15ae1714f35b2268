"""The attention heatmaps (mesa_report.charts.heatmaps): the model's own weights, labels, axes and readable cells."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mesa_report.charts.data import chart_frame
from mesa_report.charts.heatmaps import (
    EPOCH_FIELD,
    EPOCH_SELECTION,
    channel_chart,
    inter_epoch_chart,
    prediction_strip_chart,
    temporal_chart,
)
from mesa_report.core.vocabulary import STAGE_COLOURS, UNSCORED_COLOUR, WRONG_COLOUR
from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer
from mesa_report.render.vega import chart_spec, render_chart

from .charts_common import CHANNELS, EDGES_S, PRED, TRUE, softmax_rows


@pytest.fixture(scope="module")
def tiny_output():
    torch.manual_seed(0)
    model = MesaTransformer(ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16),
                                        temporal_heads=4, channel_heads=2, epoch_heads=4)).eval()
    with torch.no_grad():
        return model(torch.randn(2, 20, 3, 3840), return_attention=True)


# --------------------------------------------------------------------------------------------
# 9-10: the PNG of a view, and colours that mean one thing
# --------------------------------------------------------------------------------------------
def test_cell_text_is_light_on_dark_cells_and_dark_on_light_ones():
    w = np.array([[0.9, 0.1], [0.1, 0.9]])
    for cmap, dark_value in (("viridis", 0.1), ("YlOrRd", 0.9), ("viridis_r", 0.9)):
        svg = render_chart(channel_chart(w, ["EEG1", "EEG2"], cmap=cmap), "svg").decode()
        texts = [chunk for chunk in svg.split("<text")[1:] if f">{dark_value:.2f}<" in chunk]
        assert texts and all('fill="white"' in t or 'fill="#fff' in t for t in texts), cmap


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
    w = softmax_rows(np.random.default_rng(1), 20, 20)
    chart = inter_epoch_chart(w, TRUE, PRED, first_epoch=100)
    spec = chart_spec(chart)
    text = json.dumps(spec, ensure_ascii=False)
    assert "101 W→N1" in text and "113 REM→N2" in text and "115 ?→N2" in text
    x_axis = spec["encoding"]["x"]
    assert x_axis["scale"]["domain"][0] == "100 W→W" and len(x_axis["scale"]["domain"]) == 20
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
    assert tiles["layer"][0]["encoding"]["x"]["scale"] == chart_spec(heat)["encoding"]["x"]["scale"]
    scale = tiles["layer"][0]["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"]))["?"] == UNSCORED_COLOUR
    assert dict(zip(scale["domain"], scale["range"]))["REM"] == STAGE_COLOURS["REM"]


# --------------------------------------------------------------------------------------------
# channel, temporal, trace
# --------------------------------------------------------------------------------------------
def test_channel_chart_names_channels_with_derivations_on_a_fixed_scale():
    w = softmax_rows(np.random.default_rng(2), 3, 3)
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
    w = softmax_rows(np.random.default_rng(3), 20, 20)
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


def test_dense_heatmap_keeps_every_cell():
    n = 90  # 8,100 cells, above Altair's 5,000-row default for data frames
    chart = inter_epoch_chart(np.full((n, n), 1 / n), np.zeros(n, int), np.zeros(n, int))
    for spec in (chart_spec(chart), chart.to_dict()):  # inline data: no row limit either way
        rows = next(iter(spec["datasets"].values()))
        assert len(rows) == n * n


def test_the_heatmaps_axes_take_their_order_from_the_scale_not_from_a_sort_per_cell():
    # a sort list makes Vega-Lite compute a sort index for every cell in the browser at every draw;
    # the scale's domain gives the same order (the same pixels) for nothing
    import vl_convert

    from mesa_report.render.vega import VEGALITE_VERSION

    charts = [inter_epoch_chart(softmax_rows(np.random.default_rng(2), 20, 20), TRUE, PRED),
              channel_chart(np.eye(3), CHANNELS), prediction_strip_chart(TRUE, PRED, np.full(20, 0.5))]
    for chart in charts:
        compiled = json.dumps(vl_convert.vegalite_to_vega(chart_spec(chart), vl_version=VEGALITE_VERSION))
        assert "sort_index" not in compiled
    x = chart_spec(charts[0])["encoding"]["x"]
    assert x["scale"]["domain"] == sorted(x["scale"]["domain"], key=lambda label: int(label.split()[0]))
