"""Tables of a night's epochs worth a look: every wrong prediction, and the least confident.

Each row tells where the epoch is (its index in the night, its time, the sample it is shown in),
what the scorer and the model said, and the model's probability of every stage. The ``sample``
and ``epoch`` columns are what the app's view holds (:class:`mesa_report.app.state.View`), so a row
can move the view; ``sample`` is the sample the epoch's prediction comes from
(:meth:`mesa_report.inference.night.NightInference.epoch_owner`). Given the samples a report details,
``report_anchor`` names the section an HTML or PDF link can point to.

The functions take a :class:`~mesa_report.inference.night.NightInference`, or anything with its
``labels``, ``probs``, ``class_names``, ``epoch_seconds``, ``sample_starts`` and ``seq_len``.

Examples
--------
>>> from types import SimpleNamespace
>>> probs = np.tile([0.05, 0.05, 0.8, 0.04, 0.03, 0.03], (45, 1))  # N2 everywhere, but …
>>> probs[[3, 30]] = [0.1, 0.6, 0.3, 0.0, 0.0, 0.0]  # … N1 at epochs 3 and 30
>>> night = SimpleNamespace(labels=np.full(45, 2), probs=probs, class_names=("W", "N1", "N2", "N3", "N4", "REM"),
...                         epoch_seconds=30.0, sample_starts=np.array([0, 20, 25]), seq_len=20)
>>> table = wrong_epochs(night, start=datetime(1900, 1, 1, 23, 0), detailed_samples=[2])
>>> table[["epoch", "sample", "position", "time", "scored", "predicted", "report_anchor"]].values.tolist()
[[3, 0, 3, '23:01:30', 'N2', 'N1', None], [30, 1, 10, '23:15:00', 'N2', 'N1', 'sample-3']]
>>> least_confident_epochs(night, 1)[["epoch", "confidence", "p_N1", "wrong"]].values.tolist()
[[3, 0.6, 0.6, True]]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from mesa_report.core.errors import ConfigError
from mesa_report.inference.night import epoch_owner
from mesa_report.explain.selection import wrong_predictions
from mesa_report.core.vocabulary import stage_name
from mesa_report.core.time_axis import TimeAxis

DEFAULT_LEAST_CONFIDENT = 10
"""Rows of :func:`least_confident_epochs` by default."""


def report_anchor(number: int) -> str:
    """Id of the report section of sample ``number`` (samples numbered from 1 in the night, as every output
    numbers them: :mod:`mesa_report.explain.views`).

    Examples
    --------
    >>> report_anchor(2)
    'sample-2'
    """
    return f"sample-{int(number)}"


def probability_column(stage: str) -> str:
    """Name of the column holding the probability of ``stage``.

    Examples
    --------
    >>> probability_column("REM")
    'p_REM'
    """
    return f"p_{stage}"


def _anchors(result, epochs: np.ndarray, owner: np.ndarray, detailed_samples: Sequence[int]) -> list:
    """Per epoch, the anchor of the detailed sample holding it (its owner first), else None."""
    starts = np.asarray(result.sample_starts, dtype=np.int64)
    numbered = {int(sample): rank for rank, sample in enumerate(detailed_samples)}  # sample -> report order
    if any(not 0 <= s < starts.shape[0] for s in numbered):
        raise ConfigError(f"detailed_samples {list(detailed_samples)} name samples this night does "
                          f"not have (0-{starts.shape[0] - 1})")
    found = []
    for epoch, own in zip(epochs.tolist(), owner.tolist()):
        holding = [s for s in numbered if starts[s] <= epoch < starts[s] + result.seq_len]
        best = own if own in holding else min(holding, key=numbered.get, default=None)
        found.append(None if best is None else report_anchor(best + 1))
    return found


def epoch_rows(result, epochs, *, start: datetime | None = None,
               detailed_samples: Sequence[int] = ()) -> pd.DataFrame:
    """One row per given epoch of a night, in the order given.

    Parameters
    ----------
    result : mesa_report.inference.night.NightInference
        The night's predictions.
    epochs : sequence of int
        Night epoch indices.
    start : datetime.datetime, optional
        Clock time of the night's first epoch (:func:`mesa_report.core.time_axis.recording_start`):
        ``time`` is then the clock time, otherwise ``h:mm:ss`` since the start.
    detailed_samples : sequence of int
        Samples a report shows in detail, in the report's order (e.g. the indices of
        :func:`mesa_report.explain.selection.choose_samples`); fills ``report_anchor``.

    Returns
    -------
    pandas.DataFrame
        Columns ``epoch``, ``sample``, ``position`` (in the sample), ``start_s`` (seconds since the
        start), ``time``, ``scored``, ``predicted``, ``wrong``, ``confidence``, ``p_<stage>`` per
        stage and ``report_anchor`` (None where no detailed sample holds the epoch).
    """
    chosen = np.asarray(epochs, dtype=np.int64).reshape(-1)  # (R,)
    n_epochs = int(result.labels.shape[0])
    if chosen.size and not ((chosen >= 0) & (chosen < n_epochs)).all():
        raise ConfigError(f"epochs must lie in the night (0-{n_epochs - 1}); got {chosen.tolist()}")
    owner, position = epoch_owner(np.asarray(result.sample_starts, dtype=np.int64), int(result.seq_len), n_epochs)
    names = tuple(result.class_names)
    probs = np.asarray(result.probs)[chosen]  # (R, K)
    labels, pred = np.asarray(result.labels)[chosen], probs.argmax(axis=1)
    start_s = chosen * float(result.epoch_seconds)
    frame = pd.DataFrame({
        "epoch": chosen, "sample": owner[chosen], "position": position[chosen], "start_s": start_s,
        "time": TimeAxis(start).labels(start_s),
        "scored": [stage_name(c, names) for c in labels],
        "predicted": [stage_name(c, names) for c in pred],
        "wrong": wrong_predictions(labels, pred),
        "confidence": probs.max(axis=1),
    })
    for k, name in enumerate(names):
        frame[probability_column(name)] = probs[:, k].astype(np.float64)
    frame["report_anchor"] = pd.Series(_anchors(result, chosen, owner[chosen], detailed_samples),
                                       dtype=object)
    return frame


def wrong_epochs(result, *, start: datetime | None = None,
                 detailed_samples: Sequence[int] = ()) -> pd.DataFrame:
    """Every scored epoch the model got wrong, in night order (columns of :func:`epoch_rows`).

    Examples
    --------
    See the module's.
    """
    wrong = wrong_predictions(result.labels, np.asarray(result.probs).argmax(axis=1))  # (E,)
    return epoch_rows(result, np.flatnonzero(wrong), start=start, detailed_samples=detailed_samples)


def least_confident_epochs(result, count: int = DEFAULT_LEAST_CONFIDENT, *, start: datetime | None = None,
                           detailed_samples: Sequence[int] = ()) -> pd.DataFrame:
    """The ``count`` epochs the model was least sure of, least confident first (ties by epoch).

    Every epoch competes, scored or not; ``wrong`` tells which of them the model got wrong.
    Columns of :func:`epoch_rows`.
    """
    if int(count) < 1:
        raise ConfigError(f"the number of least confident epochs must be at least 1, not {count}")
    confidence = np.asarray(result.probs).max(axis=1)  # (E,)
    order = np.lexsort((np.arange(confidence.shape[0]), confidence))[: int(count)]
    return epoch_rows(result, order, start=start, detailed_samples=detailed_samples)
