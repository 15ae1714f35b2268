"""Night summaries: channel and neighbour-epoch relevance, per stage and per confusion cell."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.core.errors import ConfigError
from mesa_report.explain.summaries import summarise_night
from mesa_report.inference.cohort import infer_night

from ..helpers import noise_night


@pytest.fixture
def result(tiny_model, tmp_path):
    labels = np.repeat(np.random.default_rng(1).integers(0, 6, 9), 5)  # 45 epochs in runs of 5
    return infer_night(tiny_model, noise_night(tmp_path, 3, labels))


@pytest.mark.parametrize("method", ["attention", "rollout"])
def test_shares_are_distributions_and_aggregate_by_stage(result, method):
    summary = summarise_night(result, method)
    np.testing.assert_allclose(summary.channel_relevance.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.nansum(summary.offset_relevance, axis=1), 1.0, atol=1e-4)
    # epoch 0 of the night is position 0 of sample 0: nothing before it
    assert np.isnan(summary.offset_relevance[0, summary.offsets < 0]).all()
    assert summary.share_past + summary.share_self + summary.share_future == pytest.approx(1.0, abs=1e-4)
    stage = int(result.labels[0])
    mask = result.labels == stage
    np.testing.assert_allclose(summary.channel_by_stage[stage], summary.channel_relevance[mask].mean(0))
    assert summary.cell_counts.sum() == result.n_epochs
    assert summary.mean_look_back_epochs > 0 and summary.mean_look_ahead_epochs > 0
    assert set(summary.channel_means()) == set(result.channel_names)


def test_summary_epochs_come_from_the_sample_that_predicted_them(result):
    summary = summarise_night(result, "attention")
    # epoch 30 belongs to sample 1 (epochs 20-39) at position 10
    rows = result.epoch[1].astype(np.float32).mean(axis=1)[-1]  # (S, S): last layer, heads averaged
    row = rows[10] / rows[10].sum()
    np.testing.assert_allclose(summary.offset_relevance[30, 19 - 10: 19 + 10], row, atol=1e-3)


def test_the_gradient_method_is_refused_with_the_reason(result):
    with pytest.raises(ConfigError, match="backward pass"):
        summarise_night(result, "gradient")
