"""Which epochs and samples are worth showing first.

An epoch earns attention when the model got it wrong, when the scored stage changes at it (the
hardest epochs to stage, for people and models alike) and when the model was unsure. The same
ranking picks the dashboard's epochs in the command line, the app and the reports.

Epochs labelled ``-1`` (unscored) are never wrong, and a change to or from an unscored epoch is
not a stage transition.
"""

from __future__ import annotations

import numpy as np

from mesa_report.core.errors import ConfigError
from mesa_report.core.vocabulary import UNSCORED


def _pair(true_labels, pred_labels) -> tuple[np.ndarray, np.ndarray]:
    true = np.asarray(true_labels, dtype=np.int64)
    pred = np.asarray(pred_labels, dtype=np.int64)
    if true.shape != pred.shape:
        raise ConfigError(f"true_labels {true.shape} and pred_labels {pred.shape} must have the same shape")
    return true, pred


def wrong_predictions(true_labels, pred_labels) -> np.ndarray:
    """Boolean mask of scored epochs whose prediction differs from the scored stage.

    Examples
    --------
    >>> wrong_predictions([0, 2, -1], [0, 1, 3]).tolist()
    [False, True, False]
    """
    true, pred = _pair(true_labels, pred_labels)
    return (true != UNSCORED) & (true != pred)


def stage_transitions(labels) -> np.ndarray:
    """Boolean mask of epochs whose scored stage differs from the previous or the next epoch.

    Both sides of a change are marked; unscored epochs and changes to or from them are not.

    Parameters
    ----------
    labels : int array, shape (..., S)
        Stage codes along the last axis.

    Examples
    --------
    >>> stage_transitions([2, 2, 3, 3, -1, 3]).tolist()
    [False, True, True, False, False, False]
    """
    codes = np.asarray(labels, dtype=np.int64)
    scored = codes != UNSCORED
    change = (codes[..., 1:] != codes[..., :-1]) & scored[..., 1:] & scored[..., :-1]  # (..., S-1)
    marked = np.zeros(codes.shape, dtype=bool)
    marked[..., 1:] |= change
    marked[..., :-1] |= change
    return marked


def rank_epochs(true_labels, pred_labels, uncertainty) -> np.ndarray:
    """Epoch positions, most worth showing first.

    Order: wrong predictions, then stage transitions, then the rest; within each group the most
    uncertain first, ties by position.

    Parameters
    ----------
    true_labels, pred_labels : int array, shape (S,)
        Scored and predicted stages.
    uncertainty : array, shape (S,)
        Any score where larger means less sure (entropy of the prediction, 1 - confidence).

    Returns
    -------
    numpy.ndarray
        ``(S,)`` int64, a permutation of ``0 … S-1``.

    Examples
    --------
    >>> rank_epochs([0, 0, 2, 2, 2], [0, 0, 2, 1, 2], [0.1, 0.2, 0.9, 0.3, 0.5]).tolist()
    [3, 2, 1, 4, 0]
    """
    true, pred = _pair(true_labels, pred_labels)
    unsure = np.asarray(uncertainty, dtype=np.float64)
    if true.ndim != 1 or unsure.shape != true.shape:
        raise ConfigError(
            f"rank_epochs needs (S,) labels and uncertainty; got {true.shape} and {unsure.shape}"
        )
    wrong = wrong_predictions(true, pred)
    transition = stage_transitions(true)
    position = np.arange(true.shape[0])
    return np.lexsort((position, -unsure, ~transition, ~wrong)).astype(np.int64)  # last key first


def informative_epochs(true_labels, pred_labels, uncertainty, count: int) -> list[int]:
    """The ``count`` epochs most worth showing, in sequence order.

    Examples
    --------
    >>> informative_epochs([0, 0, 2, 2, 2], [0, 0, 2, 1, 2], [0.1, 0.2, 0.9, 0.3, 0.5], 2)
    [2, 3]
    """
    if count < 1:
        raise ConfigError(f"the number of epochs to show must be at least 1, not {count}")
    return sorted(int(e) for e in rank_epochs(true_labels, pred_labels, uncertainty)[:count])


def rank_samples(true_labels, pred_labels, uncertainty) -> np.ndarray:
    """Sample indices, most worth showing first.

    Order: most wrong predictions, then most stage transitions, then highest mean uncertainty;
    ties by index.

    Parameters
    ----------
    true_labels, pred_labels : int array, shape (B, S)
        Scored and predicted stages of each sample.
    uncertainty : array, shape (B, S)
        Per-epoch uncertainty.

    Returns
    -------
    numpy.ndarray
        ``(B,)`` int64, a permutation of ``0 … B-1``.

    Examples
    --------
    >>> rank_samples([[0, 0], [0, 2], [2, 2]], [[0, 0], [0, 2], [2, 1]],
    ...              [[0.1, 0.1], [0.2, 0.2], [0.1, 0.3]]).tolist()
    [2, 1, 0]
    """
    true, pred = _pair(true_labels, pred_labels)
    unsure = np.asarray(uncertainty, dtype=np.float64)
    if true.ndim != 2 or unsure.shape != true.shape:
        raise ConfigError(
            f"rank_samples needs (B, S) labels and uncertainty; got {true.shape} and {unsure.shape}"
        )
    n_wrong = wrong_predictions(true, pred).sum(axis=1)  # (B,)
    n_transitions = stage_transitions(true).sum(axis=1)  # (B,)
    index = np.arange(true.shape[0])
    return np.lexsort((index, -unsure.mean(axis=1), -n_transitions, -n_wrong)).astype(np.int64)


def choose_samples(result, count: int) -> list[tuple[int, str]]:
    """Pick up to ``count`` samples, taking in turn the most uncertain one, the one with the most
    wrong predictions and the one with the most stage transitions not yet picked.

    Parameters
    ----------
    result : mesa_report.inference.night.NightInference
        The night.
    count : int
        Samples wanted.

    Returns
    -------
    list of (int, str)
        Sample index and why it was picked, in the night's order.

    Examples
    --------
    >>> choose_samples(result, 3)  # doctest: +SKIP
    [(2, 'stage transitions'), (5, 'most uncertain'), (9, 'wrong predictions')]
    """
    windows = result.sample_starts[:, None] + np.arange(result.seq_len)  # (W, S)
    true = result.labels[windows]  # (W, S)
    pred = result.sample_probs.argmax(axis=-1)  # (W, S)
    doubt = 1.0 - result.sample_probs.max(axis=-1)  # (W, S)
    n_wrong = wrong_predictions(true, pred).sum(axis=1)  # (W,)
    n_transitions = stage_transitions(true).sum(axis=1)  # (W,)
    index = np.arange(true.shape[0])
    rankings = {
        "most uncertain": list(np.lexsort((index, -doubt.mean(axis=1)))),
        "wrong predictions": [w for w in rank_samples(true, pred, doubt) if n_wrong[w] > 0],
        "stage transitions": [w for w in np.lexsort((index, -doubt.mean(axis=1), -n_transitions))
                              if n_transitions[w] > 0],
    }
    picked: dict[int, str] = {}
    queues = {reason: iter(order) for reason, order in rankings.items()}
    while len(picked) < min(count, true.shape[0]) and queues:
        for reason in list(queues):
            sample = next((int(w) for w in queues[reason] if int(w) not in picked), None)
            if sample is None:
                del queues[reason]
            elif len(picked) < count:
                picked[sample] = reason
    return sorted(picked.items())
