"""Cohort inference (mesa_report.inference.cohort): windows of several nights share batches, yet every night equals
infer_night."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from mesa_report.core.errors import ConfigError
from mesa_report.data.night_files import write_night
from mesa_report.data.store import Night
from mesa_report.explain.cohort_table import night_summary
from mesa_report.explain.summaries import summarise_night
from mesa_report.inference.cohort import infer_cohort, infer_night
from mesa_report.inference.night import NightInference
from mesa_report.inference.stored import NightFailure, NightResult


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


def test_inference_tensors_stay_inside_the_pass(tiny_model, nights):
    """Between yields the caller's code runs with gradients and without autocast."""
    for _ in infer_cohort(tiny_model, nights, batch_size=2):
        assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
