"""The hypnodensity strip: data, stage order and colours as drawn, time axis."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pytest
from PIL import Image

from mesa_report.charts.data import chart_frame
from mesa_report.charts.hypnodensity import HYPNODENSITY_SELECTION, PROBABILITY_DECIMALS, hypnodensity_chart
from mesa_report.charts.night import hypnogram_order
from mesa_report.core.errors import ConfigError
from mesa_report.core.vocabulary import CLASS_NAMES_5, CLASS_NAMES_6, STAGE_COLOURS
from mesa_report.render.vega import chart_spec, render_chart, render_spec


def _probs(n_epochs: int, n_stages: int = 6, seed: int = 0) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(0.0, 2.0, (n_epochs, n_stages))
    probs = np.exp(logits)
    return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)  # as the model gives them


def _colour_bands(png: bytes, x_fraction: float, names) -> list[str]:
    """Stage colours met from top to bottom in one pixel column of the plot."""
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int64)  # (H, W, 3)
    column = image[:, int(image.shape[1] * x_fraction)]  # (H, 3)
    palette = {n: np.array([int(STAGE_COLOURS[n][i:i + 2], 16) for i in (1, 3, 5)]) for n in names}
    seen: list[str] = []
    for pixel in column:
        near = [n for n, rgb in palette.items() if np.abs(pixel - rgb).max() <= 6]
        if near and (not seen or seen[-1] != near[0]):
            seen.append(near[0])
    return seen


def test_each_epochs_probabilities_sum_to_one_in_the_charts_data():
    probs = _probs(37)
    frame = chart_frame(hypnodensity_chart(probs, first_epoch=100))
    stages = frame[list(CLASS_NAMES_6)].to_numpy()  # (E+1, K)
    assert frame["epoch"].tolist() == list(range(100, 138))  # the last row closes the final step
    assert np.allclose(stages.sum(axis=1), 1.0, atol=6 * 0.5 * 10.0 ** -PROBABILITY_DECIMALS)
    assert np.allclose(stages[:-1], probs, atol=0.5 * 10.0 ** -PROBABILITY_DECIMALS)
    assert np.array_equal(stages[-1], stages[-2])
    assert np.diff(frame["t"]) == pytest.approx(np.full(37, 30 / 3600), abs=1e-6)  # hours, one epoch each
    assert frame["t"].iloc[0] == pytest.approx(100 * 30 / 3600, abs=1e-6)  # since the night's start


@pytest.mark.parametrize("names", [CLASS_NAMES_6, CLASS_NAMES_5])
def test_stages_are_stacked_as_a_hypnogram_draws_them_in_the_stage_colours(names):
    probs = np.full((6, len(names)), 1.0 / len(names))  # every stage a band of the same height
    chart = hypnodensity_chart(probs, class_names=names).properties(title="")
    spec = chart_spec(chart)
    spec["layer"][0]["encoding"]["color"]["legend"] = None  # only the plot in the picture
    bands = _colour_bands(render_spec(spec, "png", scale=1.0), 0.5, names)
    assert bands == hypnogram_order(names)  # W on top, then REM, N1 … the deepest at the bottom


def test_clock_time_axis_when_the_start_is_known():
    start = dt.datetime(1900, 1, 1, 23, 40)
    chart = hypnodensity_chart(_probs(60), start=start)  # 30 min, over midnight
    frame = chart_frame(chart)
    origin_ms = (start - dt.datetime(1970, 1, 1)).total_seconds() * 1000
    assert frame["t"].tolist()[:2] == [origin_ms, origin_ms + 30_000]
    spec = chart_spec(chart)
    x = spec["layer"][0]["encoding"]["x"]
    assert x["type"] == "temporal" and x["scale"]["type"] == "utc" and x["title"] == "clock time"
    svg = render_chart(chart, "svg").decode()
    assert ">23:40<" in svg and ">00:00<" in svg and ">00:10<" in svg
    hours = render_chart(hypnodensity_chart(_probs(60)), "svg").decode()
    assert "time since start (h)" in hours and ">23:40<" not in hours


def test_every_epoch_can_be_hovered_and_clicked():
    spec = chart_spec(hypnodensity_chart(_probs(5), first_epoch=20))  # also validates the spec
    hover = spec["layer"][1]
    (selection,) = spec["params"]
    assert selection["name"] == HYPNODENSITY_SELECTION and selection["views"] == [hover["name"]]
    assert selection["select"]["fields"] == ["epoch"] and selection["select"]["on"] == "click"
    titles = [t["title"] for t in hover["encoding"]["tooltip"]]
    assert titles[:2] == ["epoch", "hours since start"]
    assert titles[2:] == [f"P({n})" for n in hypnogram_order(CLASS_NAMES_6)]
    assert hover["transform"][0] == {"filter": "datum.epoch < 25"}  # not the closing row


@pytest.mark.parametrize(("probs", "words"), [
    (np.full((4, 5), 0.2), "shape"),
    (np.full((4, 6), 0.5), "sum to 1"),
    (np.zeros((0, 6)), "shape"),
    (np.array([[1.5, -0.5, 0, 0, 0, 0]]), "non-negative"),
])
def test_bad_probabilities_are_refused_with_the_fix(probs, words):
    with pytest.raises(ConfigError, match=words):
        hypnodensity_chart(probs)
