"""What every chart family shares (mesa_report.charts.parts): inputs are checked and never changed."""

from __future__ import annotations

import altair as alt
import numpy as np
import pytest

from mesa_report.charts.dashboard import dashboard_chart
from mesa_report.charts.heatmaps import channel_chart, epoch_labels, inter_epoch_chart, temporal_chart
from mesa_report.charts.night import hypnogram_chart, hypnogram_order
from mesa_report.charts.parts import composed, tooltip_field
from mesa_report.core.errors import ConfigError
from mesa_report.core.vocabulary import CLASS_NAMES_6

from .charts_common import CHANNELS, EDGES_S, PRED, TRUE, softmax_rows


def _read_only(*arrays: np.ndarray) -> list[np.ndarray]:
    out = []
    for a in arrays:
        a = a.copy()
        a.flags.writeable = False
        out.append(a)
    return out


def test_charts_change_neither_their_inputs_nor_altair_settings():
    rng = np.random.default_rng(6)
    ew, cw, tw = _read_only(softmax_rows(rng, 20, 20), softmax_rows(rng, 20, 3, 3),
                            softmax_rows(rng, 20, 3, 20, 20))
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


@pytest.mark.parametrize(("shorthand", "kind"), [("w:Q", "quantitative"), ("epoch:O", "ordinal"),
                                                  ("stage:N", "nominal"), ("at:T", "temporal")])
def test_a_tooltip_reads_its_type_from_the_shorthand_and_keeps_colons_in_the_name(shorthand, kind):
    assert tooltip_field(shorthand, "t")["type"] == kind
    assert tooltip_field("a:b:Q", "t", ".2f") == {"field": "a:b", "type": "quantitative", "title": "t",
                                                  "format": ".2f"}
    with pytest.raises(ValueError, match="NAME:T"):
        tooltip_field("weight", "t")


def test_composed_keeps_parts_as_they_are_and_lifts_selections_like_altair():
    plain = alt.Chart(mark="point")
    picked = alt.Chart(mark="rect").add_params(alt.selection_point(name="pick"))
    assert composed(alt.VConcatChart, [plain, plain]).to_dict() == alt.VConcatChart(vconcat=[plain, plain]).to_dict()
    with_param = composed(alt.LayerChart, [plain, picked], width=50)
    assert with_param.to_dict() == alt.LayerChart(layer=[plain, picked], width=50).to_dict()
    assert [p.name for p in with_param.params] == ["pick"]  # lifted by Altair's own constructor
