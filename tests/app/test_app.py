"""The Streamlit app, run by ``streamlit.testing``: the demo opens, navigation steps through a night
with one inference per night, the URL restores a view, and every bad input leaves a message and a
working app. The navigation rules themselves are checked directly."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
import torch

from mesa_report import demo
from mesa_report.app import downloads, drawing, navigation, support
from mesa_report.app import sources as app_sources
from mesa_report.app import state as nav
from mesa_report.charts.traces import TRACE_WIDTH_PX
from mesa_report.core.errors import CheckpointError, DataError
from mesa_report.core.vocabulary import stage_name
from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import write_night
from mesa_report.data.night_ids import night_filename
from mesa_report.data.store import NightStore
from mesa_report.explain.methods import attention_rollout
from mesa_report.inference import cohort
from mesa_report.inference import night as inference
from mesa_report.model.checkpoint import save_checkpoint
from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer
from mesa_report.scoring.metrics import night_metrics

from ..browser_helpers import chart_data, chart_titled
from ..helpers import TINY
from .app_common import sources, submit_sources

SAMPLES_PER_NIGHT = 3  # 60 epochs of the tests' demo nights, 20 per sample




def caption(at) -> str:
    return next(m.value for m in at.markdown if "Sample " in m.value)






def stored_inference(at):
    """The shown night's inference, from the app's cache."""
    opened = sources(at)
    night = NightStore(opened.preprocessed_dir).night(at.session_state["subject"])
    return support.night_inference(app_sources.open_model(opened.checkpoint), night)


def tiny_checkpoint(path, **sizes):
    torch.manual_seed(0)
    return save_checkpoint(path, MesaTransformer(ModelConfig(**{**TINY, **sizes})).eval())


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------
def test_the_app_opens_the_demo_and_shows_the_reports_figures(app):
    at = app().run()
    assert not at.exception
    opened = sources(at)
    assert opened.is_demo and "Demo cohort" in at.sidebar.caption[0].value
    if not demo.DEMO_CHECKPOINT.is_file():
        assert any("not installed" in w.value for w in at.warning)
    # the night's figures are night_metrics of the night's predictions, as in the reports
    result = stored_inference(at)
    assert result.mesaid == 1 and result.n_samples == SAMPLES_PER_NIGHT
    figures = night_metrics(result.labels, result.pred, class_names=result.class_names)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Accuracy"] == f"{figures.stages.accuracy:.1%}"
    assert shown["Cohen's κ"] == f"{figures.kappa:.2f}"
    confusion = chart_data(at, "confusion matrix")
    assert confusion["count"].sum() == figures.n_scored
    assert caption(at).startswith(f"**Sample 1 of {SAMPLES_PER_NIGHT}**")
    assert at.query_params["subject"] in ("mesa-sleep-0001", ["mesa-sleep-0001"])


def test_next_changes_the_sample_and_the_labels_shown(app):
    at = app().run()
    before = chart_data(at, "inter-epoch attention")
    at.button(key="next").click().run()
    after = chart_data(at, "inter-epoch attention")
    assert caption(at).startswith(f"**Sample 2 of {SAMPLES_PER_NIGHT}** · epochs 20–39")
    assert sorted(before["query_epoch"].unique()) == list(range(0, 20))
    assert sorted(after["query_epoch"].unique()) == list(range(20, 40))
    labels = NightStore(sources(at).preprocessed_dir).night(1).labels
    for label in after["key_label"].unique():  # "index true→pred", true being the scored stage
        epoch, stages = label.split(" ")
        assert stages.split("→")[0] == stage_name(labels[int(epoch)])
    assert at.session_state["sample"] == 1 and 20 <= at.session_state["epoch"] < 40
    at.button(key="previous").click().run()
    assert caption(at).startswith("**Sample 1 of")


def test_clicking_an_epoch_changes_the_channel_and_temporal_views(app):
    at = app().run()
    channel_before = chart_data(at, "channel attention")
    temporal_before = chart_data(at, "temporal attention")
    target = 12 if at.session_state["epoch"] != 12 else 13
    # a click on a row of the inter-epoch heatmap arrives as the chart's selection state
    generation = {k: at.session_state[k] for k in [nav.GENERATION_KEY] if k in at.session_state}
    at.session_state[navigation.chart_key(0, generation)] = {"selection": {"epoch": [{"query_epoch": target}]}}
    at.run()
    assert at.session_state["epoch"] == target
    channel_after = chart_data(at, "channel attention")
    temporal_after = chart_data(at, "temporal attention")
    assert not np.allclose(channel_before["weight"], channel_after["weight"])
    assert not np.allclose(temporal_before["weight"], temporal_after["weight"])
    result = stored_inference(at)
    expected = result.channel[0, target].astype(np.float32).mean(axis=0)  # (C, C), mean of heads
    np.testing.assert_allclose(np.sort(channel_after["weight"]), np.sort(expected.ravel()), atol=1e-3)
    assert at.query_params["epoch"] in (str(target), [str(target)])
    # another channel: the temporal view follows, the channel view and the stacked traces do not
    title, frames = chart_titled(at, "shading and the band")  # every channel's EEG under its tokens
    at.radio(key="channel").set_value("EEG3").run()
    assert not np.allclose(chart_data(at, "temporal attention")["weight"], temporal_after["weight"])
    np.testing.assert_allclose(chart_data(at, "channel attention")["weight"], channel_after["weight"])
    assert chart_titled(at, "shading and the band")[0] == title
    assert f"epoch {target} " in title and "EEG traces" in title and "IQR units" in title
    tokens = [f for f in frames if "relevance" in f]
    traces = [f for f in frames if "amplitude" in f]
    assert len(tokens) == len(traces) == len(result.channel_names)  # all channels, stacked
    for trace, relevance in zip(traces, tokens):
        # the whole epoch, thinned to what the chart's pixels show (each column's min and max)
        assert len(trace) <= 2 * TRACE_WIDTH_PX and trace["time_s"].iloc[-1] > 30 - 30 / TRACE_WIDTH_PX
        assert relevance["relevance"].sum() == pytest.approx(1.0, abs=1e-3)  # softmax rows: it sums to 1
    night = NightStore(sources(at).preprocessed_dir).night(at.session_state["subject"])
    signal = night.epochs(target, target + 1, channels=len(result.channel_names))[0]  # (C, T)
    for c, trace in enumerate(traces):  # each trace is its channel's samples
        kept = np.round(trace["time_s"].to_numpy() * result.sfreq_hz).astype(int)
        np.testing.assert_allclose(trace["amplitude"], signal[c, kept], rtol=1e-5)


def test_the_explanation_method_changes_the_maps_without_rerunning_the_night(app, monkeypatch):
    calls = []
    real = cohort.infer_night
    monkeypatch.setattr(cohort, "infer_night", lambda *a, **k: calls.append(1) or real(*a, **k))
    at = app().run()
    calls.clear()  # the first run may have inferred the night; switching methods must not
    raw = chart_data(at, "temporal attention")["weight"].to_numpy()
    at.selectbox(key="method").set_value("rollout").run()
    title, (rolled,) = chart_titled(at, "temporal attention")
    assert "rollout over all layers" in title and not np.allclose(raw, rolled["weight"])
    result = stored_inference(at)
    epoch, channel = at.session_state["epoch"], list(result.channel_names).index(at.session_state["channel"])
    maps = result.sample(0).attention
    expected = attention_rollout(maps).temporal[0, epoch, channel].numpy()  # (N, N)
    np.testing.assert_allclose(np.sort(rolled["weight"]), np.sort(expected.ravel()), atol=1e-3)
    at.selectbox(key="method").set_value("gradient").run()
    assert not at.exception
    assert f"gradient × attention for epoch {epoch}" in chart_titled(at, "inter-epoch attention")[0]
    assert calls == []  # the night's inference came from the cache every time


def test_inference_runs_once_per_night_while_stepping_through_it(app, monkeypatch):
    calls = []
    real = cohort.infer_night

    def counted(model, night, **options):
        calls.append(night.mesaid)
        return real(model, night, **options)

    monkeypatch.setattr(cohort, "infer_night", counted)
    for entry in support.results_service().cache.root.glob("*.npz"):
        entry.unlink()  # no night inferred yet, on disk or in memory
    st.cache_resource.clear()
    at = app().run()
    for _ in range(SAMPLES_PER_NIGHT - 1):
        at.button(key="next").click().run()
    assert caption(at).startswith(f"**Sample {SAMPLES_PER_NIGHT} of")
    at.selectbox(key="scheme").set_value("magma")
    at.selectbox(key="layer").set_value(0)
    at.selectbox(key="head").set_value(1)
    at.run()
    assert "layer 1 of 2 · head 2" in chart_titled(at, "inter-epoch attention")[0]
    at.button(key="next_wrong").click().run()
    assert calls == [1]
    at.selectbox(key="subject").set_value(2).run()
    assert caption(at).startswith("**Sample 1 of")  # another night starts at its first sample
    at.selectbox(key="subject").set_value(1).run()
    assert calls == [1, 2] and not at.exception


def test_a_link_restores_the_view_and_bad_values_are_explained(app):
    at = app()
    at.query_params.update(subject="mesa-sleep-0002", sample="2", epoch="27", channel="EEG2")
    at.run()
    assert (at.session_state["subject"], at.session_state["sample"], at.session_state["epoch"],
            at.session_state["channel"]) == (2, 1, 27, "EEG2")  # sample 2 of the URL is the second
    at = app()
    at.query_params.update(subject="../../etc/passwd", sample="99", epoch="x", channel="EEG9")
    at.run()
    messages = " ".join(w.value for w in at.warning)
    assert "is not a night id" in messages and "sample 99 does not exist" in messages
    assert "'EEG9' is not one the model reads" in messages and "epoch='x'" in messages
    assert at.session_state["subject"] == 1 and at.session_state["sample"] == 0 and not at.exception


# --------------------------------------------------------------------------------------------
# Bad input: a message in the page, the rest of the app still usable
# --------------------------------------------------------------------------------------------
def test_a_bad_checkpoint_path_shows_an_error_and_the_app_recovers(app, tmp_path):
    at = app().run()
    submit_sources(at, checkpoint=str(tmp_path / "no" / "such" / "model.pth"))
    assert not at.exception
    assert "no checkpoint at" in at.error[0].value and "model.pth" in at.error[0].value
    assert sources(at).is_demo and len(at.get("vega_lite_chart")) >= 6  # still showing the demo
    good = tiny_checkpoint(tmp_path / "tiny.pth")
    submit_sources(at, checkpoint=f'"{good}"')  # pasted with quotes, as Windows copies paths
    assert not at.error and not at.exception
    assert sources(at).checkpoint == good and not sources(at).is_demo
    assert "Your files" in at.sidebar.caption[0].value
    next(b for b in at.button if b.label == "Back to the demo").click().run()
    assert sources(at).is_demo and not at.exception


def test_a_checkpoint_that_does_not_fit_the_data_is_explained(app, tmp_path):
    at = app().run()
    submit_sources(at, checkpoint=str(tiny_checkpoint(tmp_path / "long.pth", time_steps=3000,
                                                     sfreq_hz=100.0)))
    assert "epochs of 3840 samples" in at.error[0].value and "expects 3000" in at.error[0].value
    submit_sources(at, checkpoint=str(tiny_checkpoint(tmp_path / "wide.pth", num_channels=5,
                                                     channel_names=("A", "B", "C", "D", "E"))))
    assert "has 4 channels but the model reads 5" in at.error[0].value
    assert not at.exception and at.selectbox(key="subject").value == 1  # the page is still there


def test_a_folder_without_nights_and_a_night_shorter_than_a_sample(app, tmp_path):
    at = app().run()
    empty = tmp_path / "empty"
    write_index(empty, [{"mesaid": 5, "sleep_stages": "000"}])
    submit_sources(at, folder=str(empty))
    assert "holds no night listed in mesa_final.csv" in at.error[0].value and sources(at).is_demo
    submit_sources(at, folder=str(tmp_path / "missing"))
    assert "does not exist" in at.error[0].value
    store = tmp_path / "store"
    rng = np.random.default_rng(0)
    for mesaid, n_epochs in ((3, 10), (4, 25)):
        write_night(store, mesaid, rng.standard_normal((4, n_epochs * 3840)).astype(np.float32),
                    np.full(n_epochs, 2))
    write_index(store, [{"mesaid": 3, "sleep_stages": "2" * 10}, {"mesaid": 4, "sleep_stages": ""}])
    submit_sources(at, folder=str(store))
    assert "has 10 epochs" in at.error[0].value and "fewer than one sample" in at.error[0].value
    at.selectbox(key="subject").set_value(4).run()  # the other night still opens
    assert not at.error and not at.exception
    assert caption(at).startswith("**Sample 1 of 2**")
    assert any("No epoch of this night is scored" in i.value for i in at.info)  # night 4 is unscored
    at.button(key="next_wrong").click().run()
    assert any(i.value == "This night has no wrong prediction." for i in at.info)


def test_a_night_file_linking_outside_the_opened_folder_is_refused(tmp_path):
    outside = write_night(tmp_path / "elsewhere", 8, np.zeros((4, 20 * 3840), np.float32), np.zeros(20))
    folder = tmp_path / "store"
    folder.mkdir()
    try:
        os.symlink(outside, folder / night_filename(8))
    except OSError:
        pytest.skip("this file system cannot make symbolic links")
    write_index(folder, [{"mesaid": 8, "sleep_stages": "0" * 20}])
    with pytest.raises(DataError, match="outside the opened folder"):
        app_sources.night_in_store(NightStore(folder), 8)


# --------------------------------------------------------------------------------------------
# Navigation rules and download payloads
# --------------------------------------------------------------------------------------------
def test_jumps_find_the_next_wrong_prediction_and_stage_transition_and_wrap():
    labels = np.array([2] * 25 + [5] * 10 + [-1] + [2] * 9)  # 45 epochs
    pred = labels.copy()
    pred[[3, 30]] = 1
    pred[35] = 0  # unscored: never wrong
    starts = inference.sample_starts(45, 20)  # [0, 20, 25]
    state = {nav.SAMPLE_KEY: 0, nav.EPOCH_KEY: 3}
    navigation.on_jump(state, "wrong", labels, pred, starts, 20)
    assert (state[nav.SAMPLE_KEY], state[nav.EPOCH_KEY]) == (1, 30)
    navigation.on_jump(state, "wrong", labels, pred, starts, 20)  # wraps to the night's start
    assert (state[nav.SAMPLE_KEY], state[nav.EPOCH_KEY]) == (0, 3)
    navigation.on_jump(state, "transition", labels, pred, starts, 20)  # 2→5 at 25; 5→?→2 is no transition
    assert (state[nav.SAMPLE_KEY], state[nav.EPOCH_KEY]) == (1, 25)
    navigation.on_jump(state, "transition", labels, pred, starts, 20)
    assert state[nav.EPOCH_KEY] == 25 and nav.NOTICE_KEY not in state  # the only one: found again
    calm = {nav.SAMPLE_KEY: 0, nav.EPOCH_KEY: 0}
    navigation.on_jump(calm, "wrong", labels, labels, starts, 20)
    assert calm[nav.NOTICE_KEY] == "This night has no wrong prediction." and calm[nav.EPOCH_KEY] == 0
    # the last sample overlaps the one before: an epoch they share stays in the current sample
    assert navigation.sample_holding(27, 2, starts, 20) == 2 and navigation.sample_holding(27, 0, starts, 20) == 1


def test_a_chart_click_is_taken_once_and_a_new_sample_resets_it():
    state = {nav.EPOCH_KEY: 3}
    assert navigation.take_chart_pick(state, 5, range(0, 20)) and state[nav.EPOCH_KEY] == 5
    state[nav.EPOCH_KEY] = 9  # chosen from the list afterwards
    assert not navigation.take_chart_pick(state, 5, range(0, 20)) and state[nav.EPOCH_KEY] == 9
    key = navigation.chart_key(0, state)
    navigation.on_epoch_chosen(state)
    assert navigation.chart_key(0, state) != key  # the chart is drawn afresh, without the stale highlight
    assert not navigation.take_chart_pick(state, 25, range(0, 20))  # a pick outside the sample is ignored
    assert drawing.picked_epoch({"selection": {"epoch": [{"query_epoch": 7.0}]}}) == 7
    assert drawing.picked_epoch({"selection": {"epoch": []}}) is None and drawing.picked_epoch(None) is None


@pytest.mark.parametrize("query, problem", [
    ({"subject": "mesa-sleep-0001/../x"}, "not a night id"),
    ({"sample": "1e3"}, "not a whole number"),
    ({"epoch": "-4"}, "not a whole number"),
    ({"subject": "<script>" * 20}, "..."),
])
def test_hostile_links_are_ignored_with_a_short_message(query, problem):
    request, problems = nav.parse_view_query(query)
    assert request == nav.ViewRequest() and problem in problems[0] and len(problems[0]) < 160


def test_typed_paths_are_checked_before_anything_is_opened(tmp_path):
    assert app_sources.clean_path("  '~/x.pth' ") == Path.home() / "x.pth"
    folder_as_checkpoint = tmp_path / "ckpts"
    folder_as_checkpoint.mkdir()
    with pytest.raises(CheckpointError, match="is a folder"):
        app_sources.check_checkpoint_path(folder_as_checkpoint)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(CheckpointError, match="does not look like a checkpoint"):
        app_sources.check_checkpoint_path(tmp_path / "notes.txt")
    with pytest.raises(DataError, match="without its preprocessed folder"):
        app_sources.user_sources("", "", "index.csv", None)


def test_the_png_of_the_view_and_the_reports_of_the_night(app):
    at = app().run()
    result = stored_inference(at)
    att = support.sample_maps(result, 1, layer=1, head=None)
    png = downloads.view_png(att, 4, support.colour_maps("magma"), 1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 800 and height > 800  # the dashboard: inter-epoch map over the epoch's row
    opened = sources(at)
    night = NightStore(opened.preprocessed_dir).night(1)
    model = app_sources.open_model(opened.checkpoint)
    html = downloads.report_bytes("html", downloads.night_report(result, night, model)).decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and "mesa-sleep-0001" in html
    assert 'src="http' not in html and "<link" not in html  # standalone: nothing from the network
    # the night's PDF, from the same functions, is checked through the app's report worker (test_report_builder)


def test_ten_sessions_stepping_at_once_keep_their_own_views_and_memory_stays_bounded(app):
    import resource

    sessions = [app().run() for _ in range(10)]
    assert not any(at.exception for at in sessions)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for round_ in range(2):  # interleaved: every session clicks before any clicks again
        for k, at in enumerate(sessions):
            if (k + round_) % 2:
                at.button(key="next").click().run()
    for k, at in enumerate(sessions):
        expected = 1 + sum(1 for round_ in range(2) if (k + round_) % 2)
        assert not at.exception
        assert caption(at).startswith(f"**Sample {expected} of"), (k, caption(at))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mb < 300, f"peak memory grew by {grown_mb:.0f} MB while 10 sessions stepped"
