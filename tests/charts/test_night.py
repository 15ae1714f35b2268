"""Charts of the whole night (mesa_report.charts.night): hypnograms and the confusion matrix."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from mesa_report.charts.data import chart_frame
from mesa_report.charts.night import NIGHT_EPOCH_SELECTION, confusion_chart, hypnogram_chart
from mesa_report.core.vocabulary import REM_BAND_COLOUR
from mesa_report.render.vega import chart_spec, render_chart

from .charts_common import PRED, TRUE, spec_text


# --------------------------------------------------------------------------------------------
# night views
# --------------------------------------------------------------------------------------------
def test_hypnogram_orders_stages_as_scorers_do_and_ticks_wrong_predictions():
    conf = np.full(20, 0.8)
    chart = hypnogram_chart(TRUE, PRED, conf, epoch_seconds=30.0)
    spec = chart_spec(chart)
    scored_panel = spec["vconcat"][0]
    y = scored_panel["layer"][1]["encoding"]["y"]
    assert y["scale"]["domain"] == ["W", "REM", "N1", "N2", "N3", "N4", "?"]
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
    assert "predicted stage" in spec_text(chart)
