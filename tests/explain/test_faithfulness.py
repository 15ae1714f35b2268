"""Faithfulness tests (mesa_report.explain.faithfulness): their arithmetic on a tiny model and planted events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import write_night
from mesa_report.data.store import NightStore
from mesa_report.explain.faithfulness import (
    DELETION_FRACTIONS,
    DeletionResult,
    _delete,
    _hit_mask,
    collect_samples,
    deletion_test,
    faithfulness_table,
    format_table,
    pointing_game,
    reinitialised_copy,
    sanity_check,
)


def test_deleting_tokens_zeroes_exactly_their_steps(samples):
    masks = np.zeros((2, 3, 20), dtype=bool)
    masks[0, 1, 4] = True
    out = _delete(samples.features, 7, masks, step=192)
    changed = (out != samples.features)
    assert changed[0, 7, 1, 4 * 192:5 * 192].all()
    assert int(changed.sum()) == 192 and samples.features.abs().sum() > 0


def test_hit_mask_covers_the_event_plus_one_token_on_its_channel():
    starts = np.arange(20) * 1.5
    events = pd.DataFrame({"kind": ["spindle"], "channel": ["EEG2"], "start_s": [100.0 + 6.2],
                           "end_s": [100.0 + 7.4]})
    mask = _hit_mask(events, 100.0, ["EEG1", "EEG2", "EEG3"], starts, starts + 1.5)
    assert not mask[0].any() and not mask[2].any()
    assert np.flatnonzero(mask[1]).tolist() == [3, 4, 5]  # token 4 holds it; ±1 token


def test_deletion_curve_shapes_and_random_baseline(tiny_model, samples):
    result = deletion_test(tiny_model, samples, "rollout", target_epochs=[3], n_random=2)
    assert result.fractions == DELETION_FRACTIONS
    assert result.drop_relevant.shape == result.drop_random.shape == (len(DELETION_FRACTIONS),)
    assert np.isfinite(result.auc_relevant)
    assert np.isfinite(result.ratio_at(0.1)) == (result.drop_random[0] > 1e-6)


def test_deletion_ratio_is_undefined_when_random_deletion_does_not_hurt():
    def ratio(top: float, random: float) -> float:
        return DeletionResult("rollout", (0.1,), np.array([top]), np.array([random])).ratio_at(0.1)

    assert ratio(0.12, 0.02) == pytest.approx(6.0)
    assert np.isnan(ratio(0.05, -0.001)) and np.isnan(ratio(0.05, 0.0))


def test_pointing_game_counts_trials_and_chance(tiny_model, samples):
    events = pd.DataFrame({"kind": ["spindle", "k_complex"], "channel": ["EEG2", "EEG1"],
                           "start_s": [3 * 30 + 10.0, 25 * 30 + 3.0], "end_s": [3 * 30 + 11.0, 25 * 30 + 4.0]})
    result = pointing_game(tiny_model, samples, "attention", lambda m: events, ["EEG1", "EEG2", "EEG3"])
    assert result.trials == {"spindle": 1, "k_complex": 1}  # epoch 3 of sample 0, epoch 5 of sample 1
    assert result.chance["spindle"] == pytest.approx(4 / 60)  # 10-11 s: tokens 6-7, ±1 token
    assert result.hit_rate("spindle") in (0.0, 1.0)  # one trial: a hit or a miss, nothing between


def test_sanity_check_and_table(tiny_model, samples):
    torch.manual_seed(5)
    expected_next = torch.rand(3)
    torch.manual_seed(5)
    rho = sanity_check(tiny_model, samples, "attention", target_epochs=(0,))
    assert np.isfinite(rho) and -1 <= rho <= 1
    assert torch.equal(torch.rand(3), expected_next)  # the caller's random state is left alone
    with torch.inference_mode():
        maps = tiny_model(samples.features, return_attention=True).attention
        reference = reinitialised_copy(tiny_model)(samples.features, return_attention=True).attention
    assert sanity_check(tiny_model, samples, "attention", target_epochs=(0,), maps=maps,
                        reference_maps=reference) == pytest.approx(rho)  # the same copy, read from its maps
    table = format_table(faithfulness_table(tiny_model, samples, methods=["attention"]))
    assert table.splitlines()[0].startswith("| method") and "attention" in table


def test_collect_samples_draws_whole_samples_from_each_night(tmp_path):
    rng = np.random.default_rng(0)
    for mesaid in (1, 2):
        write_night(tmp_path, mesaid, rng.standard_normal((4, 60 * 3840)).astype(np.float32),
                    np.zeros(60, dtype=np.int64))
    write_index(tmp_path, [{"mesaid": m, "sleep_stages": "0" * 60} for m in (1, 2)])
    got = collect_samples(NightStore(tmp_path), [1, 2], seq_len=20, num_channels=3, per_night=2)
    assert got.features.shape == (4, 20, 3, 3840) and got.mesaids == [1, 1, 2, 2]
    assert all(f % 20 == 0 for f in got.first_epochs)
