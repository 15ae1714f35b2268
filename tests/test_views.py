"""The one view model (mesa_report.explain.views): every method honest at every level, scales that do
not stretch noise, one numbering, and the same sample the same in the app, a report and the PNG files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from mesa_report import demo
from mesa_report.app import state as nav
from mesa_report.app import downloads
from mesa_report.app import support
from mesa_report.charts.heatmaps import EPOCH_SELECTION, channel_chart, inter_epoch_chart, temporal_chart
from mesa_report.core.vocabulary import REM_BAND_COLOUR, STAGE_COLOURS, WRONG_COLOUR
from mesa_report.data.store import NightStore
from mesa_report.explain.methods import METHODS
from mesa_report.explain.selection import informative_epochs
from mesa_report.explain.view_scales import FLAT_FRACTION, MIN_COLOUR_SPAN, SELF_OFF_SCALE, colour_span
from mesa_report.explain.views import ViewChoice, ignored_choices, night_sample_views, sample_name
from mesa_report.inference.cohort import infer_night
from mesa_report.model.checkpoint import load_model
from mesa_report.render.vega import chart_spec, render_chart
from mesa_report.explain.selection import choose_samples
from mesa_report.report.build import build_report
from mesa_report.report.options import DEFAULT_EPOCHS_PER_SAMPLE, DEFAULT_SAMPLES
from mesa_report.report.seed_pngs import sample_attention, sample_charts

from .browser_helpers import DEMO_HOURS, DEMO_NIGHTS, chart_data, chart_titled, demo_env
from .conftest import REPO_ROOT

APP = REPO_ROOT / "streamlit_app.py"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    if not demo.DEMO_CHECKPOINT.is_file():
        pytest.skip(f"the demo model {demo.DEMO_CHECKPOINT.name} is not installed")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in demo_env(tmp_path_factory).items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def night_1(env):
    """The demo model, night 1 of the tests' demo cohort and its inference."""
    model = load_model(demo.DEMO_CHECKPOINT)
    night = NightStore(demo.demo_store(n_nights=DEMO_NIGHTS, hours=DEMO_HOURS).preprocessed_dir).night(1)
    return model, night, infer_night(model, night)


def _data_span(values: np.ndarray, method: str, level: str) -> tuple[float, float]:
    """The values' own range, computed here without the view model (off the diagonal under rollout)."""
    v = np.asarray(values, dtype=np.float64)
    if level != "trace" and SELF_OFF_SCALE[method]:
        v = v[..., ~np.eye(v.shape[-1], dtype=bool)]
    return float(v.min()), float(v.max())


def _report_views(model, night, result):
    """Every view of the samples a report details, under every method: (method, level, values, span)."""
    for index, _ in choose_samples(result, DEFAULT_SAMPLES):
        view = result.sample(index)
        positions = informative_epochs(view.labels, view.pred, view.uncertainty, DEFAULT_EPOCHS_PER_SAMPLE)
        for method in METHODS:
            att = night_sample_views(result, index, ViewChoice(method), model=model, night=night,
                                     target_epoch=int(view.first_epoch) + positions[0])
            yield method, "epoch", att.epoch, att.span("epoch"), att
            for pos in positions:
                yield method, "channel", att.channel[pos], att.span("channel", pos), att
                yield method, "temporal", att.temporal[pos], att.span("temporal", pos), att
                for c in range(len(att.channel_names)):
                    yield method, "temporal", att.temporal[pos, c], att.span("temporal", pos, c), att
                    yield method, "trace", att.received(pos, c), att.span("trace", pos, c), att


# --------------------------------------------------------------------------------------------
# 1-2: every method honest at every level; no scale stretches noise
# --------------------------------------------------------------------------------------------
def test_every_level_of_every_method_scales_to_its_data_only_above_the_stated_minimum(night_1):
    model, night, result = night_1
    seen = {(m, lvl): 0 for m in METHODS for lvl in MIN_COLOUR_SPAN}
    narrow = 0
    for method, level, values, span, _ in _report_views(model, night, result):
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


def test_gradient_explains_its_target_epoch_through_attention_not_as_an_identity(night_1):
    model, night, result = night_1
    targets = 0
    for method, level, values, _, att in _report_views(model, night, result):
        if method != "gradient" or level != "epoch":
            continue
        row = att.epoch[att.target]  # (S,) how much each key epoch reaches the target's prediction
        assert row.sum() > 0 and np.count_nonzero(row > 0.01 * row.max()) >= 2, "one-hot row"
        assert row[att.target] < 0.9 * row.sum()  # not mostly itself
        assert att.epoch.sum(axis=1).max() == pytest.approx(1.0, abs=1e-5)  # strongest row sums to 1
        for pos in range(att.seq_len):  # no level is an identity: off-diagonal relevance everywhere
            assert (att.temporal[pos] * ~np.eye(att.temporal.shape[-1], dtype=bool)).sum() > 0
        targets += 1
    assert targets == len(choose_samples(result, DEFAULT_SAMPLES))
    assert f"for epoch {att.first_epoch + att.target}" in att.layer_label  # the night's epoch number


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


# --------------------------------------------------------------------------------------------
# 3-5: pickers, the clicked row, the URL
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app(env):
    return lambda: AppTest.from_file(str(APP), default_timeout=120)


def test_pickers_a_method_ignores_are_disabled_with_the_reason(app):
    assert ignored_choices("attention") == {} and set(ignored_choices("gradient")) == {"layer", "head"}
    at = app().run()
    assert not at.selectbox(key="layer").disabled and not at.selectbox(key="head").disabled
    at.selectbox(key="method").set_value("rollout").run()
    assert at.selectbox(key="layer").disabled and at.selectbox(key="head").disabled
    assert any("rollout multiplies every layer" in c.value for c in at.sidebar.caption)
    assert "rollout over all layers · mean of heads" in chart_titled(at, "inter-epoch attention")[0]


def test_a_clicked_row_is_outlined_and_no_row_fades():
    chart = inter_epoch_chart(np.full((3, 3), 1 / 3), [0, 2, 5], [0, 1, 5])
    encoding = chart_spec(chart)["encoding"]
    assert "opacity" not in encoding
    for channel in ("stroke", "strokeWidth"):
        condition = encoding[channel]["condition"]
        assert condition["param"] == EPOCH_SELECTION and condition["empty"] is False


def test_a_link_with_all_eight_parameters_gives_that_view_and_keeps_it(app):
    at = app()
    query = dict(subject="mesa-sleep-0002", sample="2", epoch="27", channel="EEG2", layer="1", head="2",
                 method="rollout", scheme="magma")
    at.query_params.update(query)
    at.run()
    assert not at.exception and not at.warning
    assert at.selectbox(key="subject").value == 2 and at.select_slider(key="sample").value == 1
    assert at.selectbox(key="epoch").value == 27 and at.radio(key="channel").value == "EEG2"
    assert (at.selectbox(key="layer").value, at.selectbox(key="head").value) == (0, 1)
    assert at.selectbox(key="method").value == "rollout" and at.selectbox(key="scheme").value == "magma"
    kept = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert kept == query
    at = app()
    at.query_params.update(dict(query, layer="9", head="0", method="magic", scheme="jet"))
    at.run()
    messages = " ".join(w.value for w in at.warning)
    assert "layer 9 does not exist" in messages and "head='0'" in messages
    assert "method 'magic'" in messages and "colour scheme 'jet'" in messages
    assert at.selectbox(key="method").value == "attention" and at.selectbox(key="layer").value == 1
    assert not at.exception


# --------------------------------------------------------------------------------------------
# 6: one numbering; #15: the same sample the same in every output
# --------------------------------------------------------------------------------------------
def _rows(spec: dict, field: str) -> list[pd.DataFrame]:
    """Every data set of a spec (inline or named) that has ``field``."""
    found = [pd.DataFrame(values) for values in (spec.get("datasets") or {}).values()
             if values and field in values[0]]

    def walk(node):
        if isinstance(node, dict):
            values = (node.get("data") or {}).get("values") if isinstance(node.get("data"), dict) else None
            if values and isinstance(values, list) and field in values[0]:
                found.append(pd.DataFrame(values))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec)
    return found


def _grid(frame: pd.DataFrame) -> np.ndarray:
    return frame.pivot(index="query_epoch", columns="key_epoch", values="weight").to_numpy()


def test_the_same_sample_has_the_same_maps_labels_and_numbers_in_the_app_a_report_and_the_pngs(
        app, night_1, tmp_path):
    model, night, result = night_1
    index, first = 1, int(result.sample_starts[1])
    name = sample_name(index, first, result.seq_len)  # "Sample 2: epochs 20–39"
    # the app, opened on that sample
    at = app()
    at.query_params.update(subject="mesa-sleep-0001", sample="2", epoch=str(first + 3))
    at.run()
    assert at.markdown and any(m.value.startswith(f"**Sample 2 of {result.n_samples}** · epochs "
                                                  f"{first}–{first + 19}") for m in at.markdown)
    in_app = chart_data(at, "inter-epoch attention")
    assert downloads.view_stem(nav.View(1, index, first + 3, "EEG1")).startswith("mesa-sleep-0001_sample_2_")
    # the report: the same heading, the same matrix and axis labels
    report = build_report(result, night=night, n_samples=result.n_samples)
    section = next(s for s in report.samples if s.first_epoch == first)
    assert section.heading == name and section.anchor == "sample-2"
    in_report = _rows(section.overview.spec, "query_label")[0]
    # the PNG files: the same sample number in the names, night epochs, the same matrix
    features, labels = night.epochs(first, first + result.seq_len, 3), night.labels[first:first + 20]
    att = sample_attention(model, torch.from_numpy(features), torch.from_numpy(labels), index,
                           first_epoch=first)
    files = sample_charts(att, [3])
    assert {"attention_dashboard_sample_2", "channel_attention_sample_2_epoch_23",
            "temporal_attention_sample_2_epoch_23_ch_0"} <= set(files)
    in_png = _rows(chart_spec(files["epoch_attention_sample_2"]), "query_label")[0]
    assert name in json.dumps(chart_spec(files["epoch_attention_sample_2"]), ensure_ascii=False)
    for frame in (in_report, in_png):
        assert sorted(frame["key_label"].unique()) == sorted(in_app["key_label"].unique())
        np.testing.assert_allclose(_grid(frame), _grid(in_app), atol=2e-3)  # stored maps are float16
    np.testing.assert_allclose(_grid(in_app), night_sample_views(result, index).epoch, atol=1e-6)


# --------------------------------------------------------------------------------------------
# 9-10: the PNG of a view, and colours that mean one thing
# --------------------------------------------------------------------------------------------
def test_cell_text_is_light_on_dark_cells_and_dark_on_light_ones():
    w = np.array([[0.9, 0.1], [0.1, 0.9]])
    for cmap, dark_value in (("viridis", 0.1), ("YlOrRd", 0.9), ("viridis_r", 0.9)):
        svg = render_chart(channel_chart(w, ["EEG1", "EEG2"], cmap=cmap), "svg").decode()
        texts = [chunk for chunk in svg.split("<text")[1:] if f">{dark_value:.2f}<" in chunk]
        assert texts and all('fill="white"' in t or 'fill="#fff' in t for t in texts), cmap


def test_the_png_of_a_view_is_titled_with_night_sample_epoch_and_maps(night_1, monkeypatch):
    _, _, result = night_1
    drawn = {}
    monkeypatch.setattr(downloads, "render_chart", lambda chart, fmt: drawn.setdefault("spec", chart_spec(chart)))
    att = night_sample_views(result, 1, ViewChoice("attention", 0, 1))
    downloads.view_png(att, 4, support.colour_maps("magma"), 1)
    assert drawn["spec"]["title"]["text"] == ("mesa-sleep-0001 · Sample 2: epochs 20–39 · epoch 24 · "
                                              "layer 1 of 2 · head 2")


def test_the_png_of_a_view_has_no_blank_half(night_1):
    import io

    from PIL import Image

    _, _, result = night_1
    att = night_sample_views(result, 1, ViewChoice("attention", 0, 1))
    grey = np.asarray(Image.open(io.BytesIO(downloads.view_png(att, 4, support.colour_maps("magma"), 1))).convert("L"))
    h, w = grey.shape  # the inter-epoch map spans the epoch's row of panels under it
    assert (grey[int(0.15 * h):int(0.45 * h), int(0.55 * w):int(0.7 * w)] > 245).mean() < 0.2
    assert (grey[:, w // 2:] < 200).mean() > 0.15  # the right half is drawn


def test_wrong_predictions_have_a_colour_no_stage_uses_and_red_is_n1_only():
    def rgb(hex_colour):
        return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)

    for stage, colour in STAGE_COLOURS.items():
        assert np.abs(rgb(WRONG_COLOUR) - rgb(colour)).sum() > 120, stage
    red, green, blue = rgb(REM_BAND_COLOUR)
    assert green > red and blue > red  # the REM band is a tint of REM's teal, not of N1's red
