"""Cohort inference: windows of several nights share batches, yet every night equals infer_night."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from mesa_report.explain.cohort_table import night_summary, table_row, write_table
from mesa_report.inference.cohort import infer_cohort
from mesa_report.inference.stored import NightFailure, NightResult
from mesa_report.core.errors import ConfigError, DataError
from mesa_report.inference.cohort import infer_night
from mesa_report.inference.night import NightInference
from mesa_report.scoring.metrics import night_metrics
from mesa_report.data.night_files import write_night
from mesa_report.data.stage_strings import stage_string
from mesa_report.data.store import Night
from mesa_report.explain.summaries import summarise_night
from mesa_report.scoring.sleep_stats import SLEEP_STAT_KEYS, awakenings, sleep_statistics

LENGTHS = {1: 47, 2: 20, 3: 33}  # epochs: samples [0, 20, 27], [0], [0, 13]


@pytest.fixture
def nights(tmp_path):
    rng = np.random.default_rng(3)
    made = []
    for mesaid, n_epochs in LENGTHS.items():
        labels = rng.integers(0, 6, n_epochs)
        labels[4] = -1
        path = write_night(tmp_path, mesaid, rng.standard_normal((4, n_epochs * 3840)).astype(np.float32), labels)
        made.append(Night(path, mesaid, stage_string(labels)))
    return made


def test_every_night_equals_infer_night_although_batches_mix_nights(tiny_model, nights):
    # batch_size=4: the first batch holds night 1's three samples and night 2's only one
    results = list(infer_cohort(tiny_model, nights, batch_size=4))
    assert [r.mesaid for r in results] == [1, 2, 3]
    for night, result in zip(nights, results):
        reference = infer_night(tiny_model, night)
        stored = result.stored
        np.testing.assert_allclose(stored.probs, reference.probs, atol=1e-5)
        np.testing.assert_array_equal(stored.pred, reference.pred)
        np.testing.assert_array_equal(stored.sample_starts, reference.sample_starts)
        np.testing.assert_array_equal(stored.labels, reference.labels)
        np.testing.assert_allclose(stored.uncertainty, reference.uncertainty, atol=1e-4)
        np.testing.assert_allclose(stored.channel.astype(np.float32), reference.channel, atol=2e-3)
        np.testing.assert_allclose(stored.epoch.astype(np.float32), reference.epoch, atol=2e-3)
        assert stored.channel.dtype == np.float16 and stored.temporal.shape[0] == 0
        assert not result.complete and result.temporal_samples.size == 0
        assert stored.settings["precision"] == "fp32"


def test_full_maps_and_detailed_samples(tiny_model, nights):
    full = list(infer_cohort(tiny_model, nights, batch_size=5, keep_attention="full"))
    reference = infer_night(tiny_model, nights[0])
    assert full[0].complete and full[0].inference() is full[0].stored
    np.testing.assert_allclose(full[0].stored.temporal.astype(np.float32), reference.temporal, atol=2e-3)

    asked = []

    def picker(result: NightInference) -> list[int]:
        asked.append(result.mesaid)
        return [2, 0] if result.n_samples == 3 else []

    detailed = list(infer_cohort(tiny_model, nights, batch_size=2, detail_samples=picker))
    assert asked == [1, 2, 3]
    first = detailed[0]
    assert first.temporal_samples.tolist() == [0, 2] and first.stored.temporal.shape[0] == 2
    expanded = first.inference()
    assert expanded.temporal.shape == reference.temporal.shape
    np.testing.assert_allclose(expanded.temporal[[0, 2]].astype(np.float32), reference.temporal[[0, 2]], atol=2e-3)
    assert np.isnan(expanded.temporal[1]).all()  # not kept: never passed off as a real map
    view = expanded.sample(2, nights[0])
    assert np.isfinite(view.attention.temporal.numpy()).all()


@pytest.mark.parametrize("method", ["rollout", "attention"])
def test_summaries_equal_those_of_the_full_result(tiny_model, nights, method):
    result = next(iter(infer_cohort(tiny_model, nights[:1], batch_size=8)))
    summary = night_summary(result, method)
    reference = summarise_night(infer_night(tiny_model, nights[0]), method)
    np.testing.assert_allclose(summary.channel_relevance, reference.channel_relevance, atol=2e-3)
    np.testing.assert_allclose(summary.offset_relevance, reference.offset_relevance, atol=2e-3)
    assert summary.share_past + summary.share_self + summary.share_future == pytest.approx(1.0, abs=1e-3)


def test_a_night_that_cannot_be_staged_is_reported_and_the_others_go_on(tiny_model, nights, tmp_path):
    short = Night(write_night(tmp_path, 9, np.zeros((4, 10 * 3840), np.float32), np.zeros(10)), 9, "0" * 10)
    items = list(infer_cohort(tiny_model, [nights[0], short, nights[2]], batch_size=4))
    failures = [i for i in items if isinstance(i, NightFailure)]
    assert [f.mesaid for f in failures] == [9] and "fewer than one sample" in failures[0].error
    assert sorted(i.mesaid for i in items if isinstance(i, NightResult)) == [1, 3]


def test_loading_errors_surface_and_an_abandoned_pass_stops_its_thread(tiny_model, nights):
    class Broken:
        mesaid = 5

        def __getattr__(self, name):
            raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError, match="disk gone"):
        list(infer_cohort(tiny_model, [nights[0], Broken()], batch_size=8))
    before = threading.active_count()
    items = infer_cohort(tiny_model, nights * 4, batch_size=1)
    next(items)
    items.close()  # the consumer walks away mid-cohort
    assert threading.active_count() == before
    with pytest.raises(ConfigError, match="batch_size"):
        next(infer_cohort(tiny_model, nights, batch_size=0))
    with pytest.raises(ConfigError, match="keep_attention"):
        next(infer_cohort(tiny_model, nights, keep_attention="some"))


def test_results_round_trip_and_inconsistent_files_are_refused(tiny_model, nights, tmp_path):
    result = next(iter(infer_cohort(tiny_model, nights[:1], detail_samples=lambda r: [1])))
    loaded = NightResult.load(result.save(tmp_path / "r.npz"))
    assert loaded.temporal_samples.tolist() == [1]
    np.testing.assert_array_equal(loaded.stored.temporal, result.stored.temporal)
    assert "temporal_samples" not in loaded.stored.settings
    loaded.check(nights[0])
    with pytest.raises(DataError, match="mesa-sleep-0002"):
        loaded.check(nights[1])
    cut = NightResult(result.stored.__class__(**{**result.stored.__dict__, "probs": result.stored.probs[:-1]}),
                      result.temporal_samples)
    with pytest.raises(DataError, match="probs has shape"):
        cut.check()
    # a file written by NightInference.save holds every map
    full = NightResult.load(infer_night(tiny_model, nights[1]).save(tmp_path / "n.npz"))
    assert full.complete


def test_table_row_reports_the_projects_own_figures(tiny_model, nights, tmp_path):
    result = next(iter(infer_cohort(tiny_model, nights[:1])))
    stored = result.stored
    # relabel so that the model is right everywhere except on two epochs
    labels = stored.pred.copy()
    labels[[0, 1]] = (labels[[0, 1]] + 1) % 6
    labels[4] = -1
    row = table_row(result.with_labels(labels), "rollout")
    metrics = night_metrics(labels, stored.pred, class_names=stored.class_names)
    assert row["record_id"] == "mesa-sleep-0001" and row["n_epochs"] == 47 and row["n_scored"] == 46
    assert row["accuracy"] == pytest.approx(44 / 46)
    assert row["kappa"] == pytest.approx(metrics.kappa)
    assert row["macro_f1"] == pytest.approx(metrics.stages.macro_f1)
    for name, f1 in zip(stored.class_names, metrics.stages.per_stage_f1):
        assert row[f"f1_{name}"] == pytest.approx(f1, nan_ok=True)
    shares = [row[f"relevance_{name}"] for name in ("EEG1", "EEG2", "EEG3")]
    assert sum(shares) == pytest.approx(1.0, abs=1e-3)
    assert row["share_past"] + row["share_self"] + row["share_future"] == pytest.approx(1.0, abs=1e-3)
    assert 1 <= row["look_back_epochs"] <= 19 and 1 <= row["look_ahead_epochs"] <= 19
    assert row["mean_uncertainty_nats"] == pytest.approx(float(stored.uncertainty.mean()))
    table = write_table([row], tmp_path / "cohort.csv").read_text().splitlines()
    assert table[0].startswith("mesaid,record_id,n_epochs") and len(table) == 2


def test_table_row_holds_yasas_sleep_statistics_of_both_hypnograms(tiny_model, nights, tmp_path):
    result = next(iter(infer_cohort(tiny_model, nights[:1])))
    pred = result.stored.pred
    labels = pred.copy()
    labels[:6] = 0  # the scorer saw wake first, so the scored night falls asleep later
    labels[4] = -1  # and left an epoch unscored: the predicted hypnogram leaves it out too
    row = table_row(result.with_labels(labels), "rollout")
    scored, predicted = sleep_statistics(labels), sleep_statistics(np.where(labels >= 0, pred, -1))
    for key in SLEEP_STAT_KEYS:
        assert row[f"scored_{key}"] == pytest.approx(scored[key], nan_ok=True)
        assert row[f"predicted_{key}"] == pytest.approx(predicted[key], nan_ok=True)
    assert row["scored_TIB"] == row["predicted_TIB"] == 47 * 0.5
    assert row["scored_SOL"] >= 3.0  # the first sleep epoch comes after the six wake/unscored ones
    assert row["scored_awakenings"] == awakenings(labels)
    header = write_table([row], tmp_path / "cohort.csv").read_text().splitlines()[0].split(",")
    assert header[-2:] == ["predicted_SME", "predicted_awakenings"] and "scored_%REM" in header


def test_inference_tensors_stay_inside_the_pass(tiny_model, nights):
    """Between yields the caller's code runs with gradients and without autocast."""
    for _ in infer_cohort(tiny_model, nights, batch_size=2):
        assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
