"""Sleep statistics of a hypnogram with YASA's names and definitions.

:func:`sleep_statistics` gives the figures ``yasa.sleep_statistics`` gives (YASA 0.8), from stage
codes as the store holds them (0 W, 1 N1, 2 N2, 3 N3, 4 N4, 5 REM, anything else unscored); N3 and
N4 are merged into N3 as YASA's AASM vocabulary has no N4. Durations and latencies are in minutes,
the rest in percent:

- ``TIB`` time in bed: the whole hypnogram, unscored epochs included;
- ``SPT`` sleep period time: from the first to the last sleep epoch (0 without sleep);
- ``WASO`` wake after sleep onset: wake inside the sleep period;
- ``TST`` total sleep time: epochs in N1, N2, N3 or REM (unscored epochs never count);
- ``N1 N2 N3 REM NREM``: time in each stage, NREM = N1 + N2 + N3;
- ``SOL`` and ``Lat_<stage>``: time from the first epoch to the first epoch of sleep / of that
  stage (so the AASM's REM latency, counted from sleep onset, is ``Lat_REM - SOL``);
- ``%N1 %N2 %N3 %REM %NREM``: share of TST;
- ``SE`` sleep efficiency, TST / TIB; ``SME`` sleep maintenance efficiency, TST / SPT.

A figure that is undefined is NaN: WASO, latencies, shares and SME of a night without sleep, and
the latency of a stage that never occurs. :func:`awakenings` and :func:`transition_matrix` add the
number of awakenings and the stage transitions; :func:`compare_sleep_statistics` puts a scored
and a predicted hypnogram side by side, and :func:`sleep_columns` flattens that into table columns.
``tests/scoring/test_sleep_stats.py`` checks the figures against a table made by YASA itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mesa_report.scoring.metrics import merge_n3_n4
from mesa_report.core.vocabulary import CLASS_NAMES_5, CLASS_NAMES_6, UNSCORED

SLEEP_STAT_KEYS = ("TIB", "SPT", "WASO", "TST", "N1", "N2", "N3", "REM", "NREM", "SOL",
                   "Lat_N1", "Lat_N2", "Lat_N3", "Lat_REM", "%N1", "%N2", "%N3", "%REM", "%NREM",
                   "SE", "SME")
"""Keys of :func:`sleep_statistics`, in YASA's order."""

AWAKENINGS = "awakenings"
"""Row of :func:`compare_sleep_statistics` holding the number of awakenings."""

_WAKE = CLASS_NAMES_5.index("W")
_SLEEP_STAGES = tuple(name for name in CLASS_NAMES_5 if name != "W")  # N1 N2 N3 REM
_NREM = ("N1", "N2", "N3")


def _percent_key(key: str) -> bool:
    return key.startswith("%") or key in ("SE", "SME")


def store_codes(codes, class_names: Sequence[str] = CLASS_NAMES_6) -> np.ndarray:
    """Stage codes of a model's classes as the store numbers them (0 W … 4 N4, 5 REM).

    A 6-class model's codes are the store's; a 5-class (AASM) model's REM (code 4) becomes 5.
    Codes out of range, and classes the store has no code for, become ``-1``.

    Examples
    --------
    >>> store_codes([0, 3, 4, 7], ("W", "N1", "N2", "N3", "REM")).tolist()
    [0, 3, 5, -1]
    """
    names = [str(name) for name in class_names]
    lookup = np.array([CLASS_NAMES_6.index(n) if n in CLASS_NAMES_6 else UNSCORED for n in names] + [UNSCORED],
                      dtype=np.int64)  # (K+1,) the last entry catches everything out of range
    arr = np.asarray(codes)
    whole = np.isin(arr, np.arange(len(names)))  # (E,) exact codes 0..K-1 (2.0 counts, 2.5 does not)
    return lookup[np.where(whole, arr, len(names)).astype(np.int64)]


def aasm_stages(hypnogram) -> np.ndarray:
    """Store codes as AASM stages (indices of ``CLASS_NAMES_5``: 0 W, 1 N1, 2 N2, 3 N3, 4 REM).

    N4 becomes N3; any value that is not a stage code 0-5 (NaN, 6 movement, 9 unscored …) is ``-1``.

    Raises
    ------
    ValueError
        For anything but a non-empty one-dimensional sequence of numbers.

    Examples
    --------
    >>> aasm_stages([0, 3, 4, 5, 9, np.nan]).tolist()
    [0, 3, 3, 4, -1, -1]
    """
    arr = np.asarray(hypnogram)
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "biuf":
        raise ValueError(f"a hypnogram is a non-empty 1-D sequence of stage codes (0 W … 5 REM); got "
                         f"shape {arr.shape} of {arr.dtype}: pass one code per epoch")
    return merge_n3_n4(store_codes(arr), CLASS_NAMES_6)[0]


def _epoch_minutes(epoch_seconds: float) -> float:
    if not (isinstance(epoch_seconds, (int, float)) and math.isfinite(epoch_seconds) and epoch_seconds > 0):
        raise ValueError(f"epoch_seconds must be a positive number of seconds, not {epoch_seconds!r} "
                         "(30 for the usual scoring epochs)")
    return float(epoch_seconds) / 60.0


def sleep_statistics(hypnogram, epoch_seconds: float = 30.0) -> dict[str, float]:
    """YASA's sleep statistics of one hypnogram (keys :data:`SLEEP_STAT_KEYS`).

    Parameters
    ----------
    hypnogram : sequence of int, shape (E,)
        Stage code per epoch as the store has them: 0 W, 1 N1, 2 N2, 3 N3, 4 N4, 5 REM, anything
        else unscored. The hypnogram is taken to run from lights off to lights on.
    epoch_seconds : float
        Length of one epoch.

    Returns
    -------
    dict of str to float
        Minutes for durations and latencies, percent for ``%…``, ``SE`` and ``SME``; NaN where a
        figure is undefined (see the module's notes).

    Raises
    ------
    ValueError
        For an empty or multi-dimensional hypnogram, or a non-positive ``epoch_seconds``.

    Examples
    --------
    >>> stats = sleep_statistics([0, 0, 1, 2, 2, 4, 3, 0, 5, 5, 0, 0])
    >>> stats["TIB"], stats["SPT"], stats["WASO"], stats["TST"], stats["N3"], stats["Lat_REM"]
    (6.0, 4.0, 0.5, 3.5, 1.0, 4.0)
    >>> round(stats["SE"], 2), round(stats["SME"], 2), math.isnan(sleep_statistics([0, 0])["SOL"])
    (58.33, 87.5, True)
    """
    stage = aasm_stages(hypnogram)  # (E,) 0 W … 4 REM, -1 unscored
    minutes = _epoch_minutes(epoch_seconds)
    asleep = np.flatnonzero(stage > _WAKE)  # (n_sleep,)
    has_sleep = asleep.size > 0
    period = stage[asleep[0]:asleep[-1] + 1] if has_sleep else stage[:0]  # (SPT epochs,)
    counts = np.bincount(stage[stage >= 0], minlength=len(CLASS_NAMES_5))  # (5,)
    time_in = {name: float(counts[CLASS_NAMES_5.index(name)]) * minutes for name in _SLEEP_STAGES}
    stats = {
        "TIB": stage.size * minutes,
        "SPT": period.size * minutes,
        "WASO": float(np.count_nonzero(period == _WAKE)) * minutes if has_sleep else math.nan,
        "TST": asleep.size * minutes,
        **time_in,
        "NREM": sum(time_in[name] for name in _NREM),
        "SOL": float(asleep[0]) * minutes if has_sleep else math.nan,
    }
    for name in _SLEEP_STAGES:
        first = np.flatnonzero(stage == CLASS_NAMES_5.index(name))
        stats[f"Lat_{name}"] = float(first[0]) * minutes if first.size else math.nan
    for name in (*_SLEEP_STAGES, "NREM"):
        stats[f"%{name}"] = 100.0 * stats[name] / stats["TST"] if has_sleep else math.nan
    stats["SE"] = 100.0 * stats["TST"] / stats["TIB"]
    stats["SME"] = 100.0 * stats["TST"] / stats["SPT"] if has_sleep else math.nan
    return {key: float(stats[key]) for key in SLEEP_STAT_KEYS}


def awakenings(hypnogram) -> int:
    """Number of awakenings: runs of wake inside the sleep period (first to last sleep epoch).

    Unscored epochs are skipped, so wake, unscored, wake is one awakening; wake before sleep onset
    and after the last sleep epoch is not an awakening.

    Examples
    --------
    >>> awakenings([0, 2, 0, 0, 2, 0, -1, 0, 5, 0, 0])
    2
    >>> awakenings([0, 0, 0])
    0
    """
    stage = aasm_stages(hypnogram)
    scored = stage[stage >= 0]  # (n,)
    asleep = np.flatnonzero(scored > _WAKE)
    if asleep.size == 0:
        return 0
    wake = scored[asleep[0]:asleep[-1] + 1] == _WAKE  # (SPT,) starts and ends asleep
    return int(np.count_nonzero(wake[1:] & ~wake[:-1]))


def transition_matrix(hypnogram, *, probabilities: bool = False) -> pd.DataFrame:
    """Stage transitions between consecutive epochs: rows the stage before, columns the one after.

    Pairs with an unscored epoch on either side are left out; N4 counts as N3. Every AASM stage
    has its row and column, present or not.

    Parameters
    ----------
    hypnogram : sequence of int, shape (E,)
        Store codes as for :func:`sleep_statistics`.
    probabilities : bool
        Give each row divided by its sum (the chance of the next stage given this one; NaN for a
        stage with no transition out) instead of the counts.

    Returns
    -------
    pandas.DataFrame
        ``(5, 5)``, index and columns ``W N1 N2 N3 REM``; int64 counts or float probabilities.

    Examples
    --------
    >>> counts = transition_matrix([0, 0, 1, 2, -1, 2, 4, 5])
    >>> counts.loc["N2", "N3"], counts.loc["W", "W"], int(counts.to_numpy().sum())
    (np.int64(1), np.int64(1), 5)
    >>> transition_matrix([0, 0, 1, 2, -1, 2, 4, 5], probabilities=True).loc["W"].tolist()
    [0.5, 0.5, 0.0, 0.0, 0.0]
    """
    stage = aasm_stages(hypnogram)
    before, after = stage[:-1], stage[1:]  # (E-1,) each
    both = (before >= 0) & (after >= 0)
    k = len(CLASS_NAMES_5)
    counts = np.bincount(before[both] * k + after[both], minlength=k * k).reshape(k, k)  # (5, 5)
    frame = pd.DataFrame(counts.astype(np.int64), index=pd.Index(CLASS_NAMES_5, name="from"),
                         columns=pd.Index(CLASS_NAMES_5, name="to"))
    if not probabilities:
        return frame
    totals = counts.sum(axis=1, keepdims=True)  # (5, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, counts / totals, np.nan)
    return pd.DataFrame(shares, index=frame.index, columns=frame.columns)


def predicted_on_scored(labels, pred) -> np.ndarray:
    """The predicted hypnogram with the epochs the scorer left unscored unscored too.

    Both hypnograms then span the same epochs, so their statistics compare like with like; a
    night nobody scored keeps its whole prediction.

    Examples
    --------
    >>> predicted_on_scored([0, -1, 2], [0, 1, 1]).tolist()
    [0, -1, 1]
    >>> predicted_on_scored([-1, -1], [0, 2]).tolist()
    [0, 2]
    """
    scored = aasm_stages(labels) >= 0  # (E,)
    pred = np.asarray(pred, dtype=np.int64)  # (E,)
    if pred.shape != scored.shape:
        raise ValueError(f"scored ({scored.size} epochs) and predicted ({pred.size} epochs) hypnograms "
                         "must cover the same epochs")
    return np.where(scored, pred, UNSCORED) if scored.any() else pred


def compare_sleep_statistics(labels, pred, *, class_names: Sequence[str] = CLASS_NAMES_6,
                             epoch_seconds: float = 30.0) -> pd.DataFrame:
    """Sleep statistics of the scored and the predicted hypnogram side by side.

    Parameters
    ----------
    labels : sequence of int, shape (E,)
        Scored stages, store codes (``-1`` unscored).
    pred : sequence of int, shape (E,)
        The model's predicted class per epoch, in ``class_names`` order; epochs the scorer left
        unscored are left out (see :func:`predicted_on_scored`).
    class_names : sequence of str
        The model's classes.
    epoch_seconds : float
        Length of one epoch.

    Returns
    -------
    pandas.DataFrame
        One row per key of :data:`SLEEP_STAT_KEYS`, then :data:`AWAKENINGS`; columns ``scored``,
        ``predicted``, ``difference`` (predicted − scored: minutes, percentage points or a count)
        and ``unit`` (``min``, ``%`` or ``count``).

    Examples
    --------
    >>> table = compare_sleep_statistics([0, 2, 2, 5, 0], [0, 2, 1, 5, 5])
    >>> table.loc["TST", ["scored", "predicted", "difference"]].tolist(), table.loc["TST", "unit"]
    ([1.5, 2.0, 0.5], 'min')
    >>> round(float(table.loc["%N2", "difference"]), 2), table.loc["awakenings", "unit"]
    (-41.67, 'count')
    """
    scored = np.asarray(labels)
    predicted = predicted_on_scored(scored, store_codes(pred, class_names))
    rows = {}
    for name, hypnogram in (("scored", scored), ("predicted", predicted)):
        values = sleep_statistics(hypnogram, epoch_seconds)
        values[AWAKENINGS] = float(awakenings(hypnogram))
        rows[name] = values
    frame = pd.DataFrame(rows)
    frame["difference"] = frame["predicted"] - frame["scored"]
    frame["unit"] = ["%" if _percent_key(key) else "count" if key == AWAKENINGS else "min"
                     for key in frame.index]
    return frame


def sleep_columns(labels, pred, *, class_names: Sequence[str] = CLASS_NAMES_6,
                  epoch_seconds: float = 30.0) -> dict[str, float]:
    """:func:`compare_sleep_statistics` as flat columns ``scored_<key>`` and ``predicted_<key>``.

    Examples
    --------
    >>> columns = sleep_columns([0, 2, 2, 5, 0], [0, 2, 1, 5, 5])
    >>> columns["scored_TST"], columns["predicted_Lat_N1"], columns["predicted_awakenings"]
    (1.5, 1.0, 0.0)
    >>> len(columns)
    44
    """
    table = compare_sleep_statistics(labels, pred, class_names=class_names, epoch_seconds=epoch_seconds)
    return {f"{side}_{key}": float(table.at[key, side])
            for side in ("scored", "predicted") for key in table.index}
