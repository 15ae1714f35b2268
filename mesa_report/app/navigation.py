"""Where each navigation button of the app goes, and the callbacks that move the session there.

Previous/Next step through the night's samples; "next wrong prediction" and "next stage
transition" jump to the next epoch of that kind (into the sample holding it); a click on a chart
selects an epoch. The callbacks change the session's state (:mod:`mesa_report.app.state` keys)
before the next run draws the page. Nothing here imports Streamlit.

Examples
--------
>>> step_sample(4, 1, 5)
4
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

import numpy as np

from mesa_report.app.resolve import sample_epochs
from mesa_report.app.state import EPOCH_KEY, GENERATION_KEY, LAST_PICK_KEY, NOTICE_KEY, SAMPLE_KEY, SUBJECT_KEY
from mesa_report.core.vocabulary import UNSCORED
from mesa_report.explain.selection import wrong_predictions


def step_sample(sample: int, step: int, n_samples: int) -> int:
    """The sample ``step`` away, kept inside the night.

    Examples
    --------
    >>> step_sample(0, -1, 5), step_sample(3, 1, 5), step_sample(4, 1, 5)
    (0, 4, 4)
    """
    return int(min(max(sample + step, 0), n_samples - 1))


def _next_marked(marked: np.ndarray, after: int) -> int | None:
    """First marked epoch after ``after``, wrapping to the night's start; None when none is marked."""
    hits = np.flatnonzero(marked)  # (M,)
    if hits.size == 0:
        return None
    later = hits[hits > after]
    return int(later[0] if later.size else hits[0])


def next_wrong_epoch(labels: np.ndarray, pred: np.ndarray, after: int) -> int | None:
    """The next scored epoch after ``after`` that the model got wrong (wrapping around).

    Examples
    --------
    >>> next_wrong_epoch(np.array([0, 2, 2, -1, 5]), np.array([0, 1, 2, 0, 2]), 1)
    4
    >>> next_wrong_epoch(np.array([0, 2]), np.array([0, 2]), 0) is None
    True
    """
    return _next_marked(wrong_predictions(labels, pred), after)


def transition_onsets(labels: np.ndarray) -> np.ndarray:
    """Epochs where the scored stage differs from the epoch before (both scored).

    Examples
    --------
    >>> transition_onsets(np.array([2, 2, 3, -1, 3, 5])).tolist()
    [False, False, True, False, False, True]
    """
    codes = np.asarray(labels, dtype=np.int64)  # (E,)
    onset = np.zeros(codes.shape, dtype=bool)
    onset[1:] = (codes[1:] != codes[:-1]) & (codes[1:] != UNSCORED) & (codes[:-1] != UNSCORED)
    return onset


def next_transition_epoch(labels: np.ndarray, after: int) -> int | None:
    """First epoch of the next scored stage change after ``after`` (wrapping around).

    Examples
    --------
    >>> next_transition_epoch(np.array([0, 0, 1, 1, 2]), 2)
    4
    """
    return _next_marked(transition_onsets(labels), after)


def sample_holding(epoch: int, sample: int, sample_starts: np.ndarray, seq_len: int) -> int:
    """The sample to show ``epoch`` in: the current one if it holds it, else the first that does.

    Examples
    --------
    >>> sample_holding(22, 2, np.array([0, 20, 21]), 20), sample_holding(5, 2, np.array([0, 20, 21]), 20)
    (2, 0)
    """
    if epoch in sample_epochs(sample_starts, seq_len, sample):
        return int(sample)
    return int(np.flatnonzero(np.asarray(sample_starts) + seq_len > epoch)[0])


# --------------------------------------------------------------------------------------------
# Button callbacks: they change the session's state before the next run draws the page
# --------------------------------------------------------------------------------------------
def _epoch_set_elsewhere(state: MutableMapping) -> None:
    state[GENERATION_KEY] = int(state.get(GENERATION_KEY, 0)) + 1


def on_step(state: MutableMapping, step: int, n_samples: int) -> None:
    """Previous/Next: move ``step`` samples; the new sample's default epoch gets selected.

    Examples
    --------
    >>> state = {"sample": 0, "epoch": 7}
    >>> on_step(state, 1, 3); state["sample"], state["epoch"]
    (1, None)
    """
    state[SAMPLE_KEY] = step_sample(int(state.get(SAMPLE_KEY) or 0), step, n_samples)
    state[EPOCH_KEY] = None
    _epoch_set_elsewhere(state)


def on_sample_chosen(state: MutableMapping) -> None:
    """The sample slider moved: select the new sample's default epoch.

    Examples
    --------
    >>> state = {"sample": 4, "epoch": 3}
    >>> on_sample_chosen(state); state["epoch"]
    """
    state[EPOCH_KEY] = None
    _epoch_set_elsewhere(state)


def on_subject_chosen(state: MutableMapping) -> None:
    """Another night was chosen: start at its first sample.

    Examples
    --------
    >>> state = {"subject": 2, "sample": 4}
    >>> on_subject_chosen(state); state["sample"]
    0
    """
    state[SAMPLE_KEY] = 0
    state[EPOCH_KEY] = None
    _epoch_set_elsewhere(state)


def on_sources_changed(state: MutableMapping) -> None:
    """Other files were opened: forget the night shown (it may not exist there).

    Examples
    --------
    >>> state = {"subject": 2, "sample": 4}
    >>> on_sources_changed(state); "subject" in state, state["sample"]
    (False, 0)
    """
    state.pop(SUBJECT_KEY, None)
    on_subject_chosen(state)


def on_epoch_chosen(state: MutableMapping) -> None:
    """The epoch was chosen from the list: the chart's own highlight no longer applies.

    Examples
    --------
    >>> state = {}
    >>> on_epoch_chosen(state); chart_key(0, state)
    'inter_epoch_0_1'
    """
    _epoch_set_elsewhere(state)


def on_jump(state: MutableMapping, kind: str, labels: np.ndarray, pred: np.ndarray,
            sample_starts: np.ndarray, seq_len: int) -> None:
    """Jump to the next wrong prediction or stage transition after the selected epoch.

    The search wraps around to the night's start. When the night has none, the view stays and
    a notice says so.

    Examples
    --------
    >>> state = {"sample": 0, "epoch": 1}
    >>> on_jump(state, "wrong", np.array([0] * 30), np.array([0] * 25 + [1] * 5), np.array([0, 10]), 20)
    >>> state["sample"], state["epoch"]
    (1, 25)
    """
    after = int(state.get(EPOCH_KEY) or 0)
    if kind == "wrong":
        target, missing = next_wrong_epoch(labels, pred, after), "no wrong prediction"
    else:
        target, missing = next_transition_epoch(labels, after), "no scored stage transition"
    if target is None:
        state[NOTICE_KEY] = f"This night has {missing}."
        return
    show_epoch(state, target, sample_starts, seq_len)


def show_epoch(state: MutableMapping, epoch: int, sample_starts: np.ndarray, seq_len: int,
               sample: int | None = None) -> None:
    """Select night ``epoch`` in ``sample``, by default the current sample if it holds it, else the first that does.

    For the jumps and for a click on the night's charts or tables.

    Examples
    --------
    >>> state = {"sample": 0, "epoch": 3}
    >>> show_epoch(state, 27, np.array([0, 20, 25]), 20); state["sample"], state["epoch"]
    (1, 27)
    >>> show_epoch(state, 30, np.array([0, 20, 25]), 20, sample=2); state["sample"], state["epoch"]
    (2, 30)
    """
    if sample is None:
        sample = sample_holding(epoch, int(state.get(SAMPLE_KEY) or 0), sample_starts, seq_len)
    state[SAMPLE_KEY] = int(sample)
    state[EPOCH_KEY] = int(epoch)
    _epoch_set_elsewhere(state)


def chart_key(sample: int, state: Mapping) -> str:
    """Widget key of the inter-epoch chart.

    It changes with the sample and whenever the epoch was chosen by other means, so the chart's
    click highlight is either absent or the selected epoch, never a stale one.

    Examples
    --------
    >>> chart_key(3, {"chart_generation": 2})
    'inter_epoch_3_2'
    """
    return f"inter_epoch_{int(sample)}_{int(state.get(GENERATION_KEY, 0))}"


def take_chart_pick(state: MutableMapping, pick: int | None, epochs: range) -> bool:
    """Select the epoch clicked in the inter-epoch chart, once per click.

    Returns True when the selected epoch changed.

    Examples
    --------
    >>> state = {"epoch": 3}
    >>> take_chart_pick(state, 5, range(0, 20)), take_chart_pick(state, 5, range(0, 20)), state["epoch"]
    (True, False, 5)
    """
    if pick is None or pick not in epochs:
        state[LAST_PICK_KEY] = None
        return False
    if pick == state.get(LAST_PICK_KEY):
        return False
    state[LAST_PICK_KEY] = pick
    state[EPOCH_KEY] = pick
    return True
