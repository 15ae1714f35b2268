"""Choosing epochs and samples to show (mesa_report.explain.selection): errors, then transitions, then doubt."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.core.errors import ConfigError
from mesa_report.explain.selection import (
    informative_epochs,
    rank_epochs,
    rank_samples,
    stage_transitions,
    wrong_predictions,
)


# --------------------------------------------------------------------------------------------
# Which epochs and samples to show (mesa_report.explain.selection)
# --------------------------------------------------------------------------------------------
def test_wrong_predictions_ignore_unscored_epochs():
    assert wrong_predictions([0, 1, -1, 5], [0, 2, 3, 5]).tolist() == [False, True, False, False]


def test_stage_transitions_mark_both_sides_and_skip_unscored():
    assert stage_transitions([0, 0, 1, 1, -1, 1, 2]).tolist() == [False, True, True, False, False, True, True]
    both = stage_transitions([[0, 1], [2, 2]])  # a batch: along the last axis
    assert both.tolist() == [[True, True], [False, False]]


def test_rank_epochs_puts_errors_then_transitions_then_doubt():
    true = np.array([2, 2, 2, 3, 3, 3, 3, 3])
    pred = np.array([2, 2, 2, 3, 3, 3, 1, 3])
    unsure = np.array([0.9, 0.1, 0.2, 0.3, 0.8, 0.4, 0.05, 0.6])
    order = rank_epochs(true, pred, unsure)
    assert order[0] == 6  # the only error, though the surest
    assert set(order[1:3]) == {2, 3} and order[1] == 3  # the transition, the less sure first
    assert order[3:].tolist() == [0, 4, 7, 5, 1]
    assert sorted(order.tolist()) == list(range(8))
    assert informative_epochs(true, pred, unsure, 3) == [2, 3, 6]


def test_rank_samples_prefers_errors_then_transitions():
    true = np.array([[0, 0, 0], [0, 1, 1], [2, 2, 2], [0, 0, 0]])
    pred = np.array([[0, 0, 0], [0, 1, 1], [2, 1, 2], [0, 0, 0]])
    unsure = np.array([[0.1] * 3, [0.1] * 3, [0.1] * 3, [0.9] * 3])
    assert rank_samples(true, pred, unsure).tolist() == [2, 1, 3, 0]


def test_selection_rejects_mismatched_shapes():
    with pytest.raises(ConfigError):
        rank_epochs([0, 1], [0, 1, 2], [0.1, 0.2])
    with pytest.raises(ConfigError):
        informative_epochs([0], [0], [0.1], 0)
