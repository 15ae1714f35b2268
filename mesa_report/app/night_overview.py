"""The app's night at a glance: time axis, hypnogram with the shown window, hypnodensity, epoch tables.

* :func:`time_axis_choice` puts the time axis in the sidebar: clock time where the recording's
  start is known, hours since the start otherwise (the reports use clock time when known).
* :func:`overview` is :func:`mesa_report.report.night_section.night_overview` (the reports' own
  values), cached per (checkpoint, night, time axis).
* :func:`draw_navigation` draws the hypnogram, its band on the sample shown, the hypnodensity
  under it and the tables of wrong and least confident epochs. A click on either chart or on a
  table's row moves the view there (:func:`take_picks`, called before the view is settled); the
  URL follows as for every other move.
* :func:`draw_statistics` shows YASA's sleep statistics and the transition matrices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, MutableMapping, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from mesa_report.app import navigation
from mesa_report.app import state as nav
from mesa_report.app.sources import file_stamp
from mesa_report.app.drawing import draw_spec, hoist_named, picked_epoch
from mesa_report.charts.night import NIGHT_EPOCH_SELECTION, WINDOW_DATA, hypnogram_chart, window_rows
from mesa_report.core.time_axis import recording_start
from mesa_report.data.store import Night
from mesa_report.inference.night import NightInference
from mesa_report.render.vega import chart_spec
from mesa_report.report.formats import format_quantity
from mesa_report.report.night_section import EpochRow, NightOverview, StatisticRow, night_overview

TIME_AXIS_KEY = "time_axis"
"""Session key of the sidebar's time-axis choice."""

CLOCK, HOURS = "clock time", "hours since start"
TIME_AXIS_CHOICES = (CLOCK, HOURS)

PICKS = ("hypnogram", "hypnodensity", "wrong", "unsure")
"""The widgets a click in which moves the view: two charts and two tables."""

_FIELD_EPOCH = "epoch"


def time_axis_choice(where, meta: Mapping) -> dt.datetime | None:
    """Sidebar radio of the time axis; returns the clock start to draw with, or None for hours.

    Without a known recording start only hours since the start are offered.

    Examples
    --------
    >>> start = time_axis_choice(st.sidebar, night.meta)  # doctest: +SKIP
    """
    start = recording_start(meta)
    choices = TIME_AXIS_CHOICES if start is not None else (HOURS,)
    chosen = where.radio("Time axis", choices, key=TIME_AXIS_KEY, horizontal=True,
                         help=None if start is not None else "The recording's start time is not known.")
    return start if chosen == CLOCK else None


@st.cache_data(show_spinner=False, max_entries=16)
def _cached_overview(_result: NightInference, _meta: Mapping, model_stamp: tuple, night_stamp: tuple,
                     start: dt.datetime | None) -> NightOverview:
    return night_overview(_result, _meta, start=start)


def overview(result: NightInference, night: Night, checkpoint, start: dt.datetime | None) -> NightOverview:
    """The night at a glance (the reports' values), once per (checkpoint, night, time axis).

    Examples
    --------
    >>> overview(result, night, loaded.path, None).time_title  # doctest: +SKIP
    'time since start (h)'
    """
    return _cached_overview(result, night.meta, file_stamp(checkpoint), file_stamp(night.path), start)


@st.cache_data(show_spinner=False, max_entries=16)
def _night_hypnogram_spec(labels: np.ndarray, pred: np.ndarray, confidence: np.ndarray,
                          class_names: tuple[str, ...], epoch_seconds: float, title: str,
                          start: dt.datetime | None) -> dict:
    return hoist_named(chart_spec(hypnogram_chart(labels, pred, confidence, class_names=class_names,
                                                  epoch_seconds=epoch_seconds, title=title, start=start,
                                                  window=(0, 0)), validate=False))


def hypnogram_spec(labels: np.ndarray, pred: np.ndarray, confidence: np.ndarray, class_names: tuple[str, ...],
                   epoch_seconds: float, title: str, start: dt.datetime | None,
                   window: tuple[int, int]) -> dict:
    """Spec of the night's hypnogram with the band on ``window`` (first and last epoch shown).

    The chart is built once per night, its band's data moved into ``datasets``
    (:func:`mesa_report.app.drawing.hoist_named`); another window changes that data set alone
    (:data:`mesa_report.charts.night.WINDOW_DATA`), so the spec the page gets is otherwise the same.

    Examples
    --------
    >>> spec = hypnogram_spec(np.array([0, 2]), np.array([0, 1]), np.array([.9, .6]),
    ...                       ("W", "N1", "N2"), 30.0, "night", None, (0, 1))
    >>> spec["params"][0]["name"], spec["datasets"][WINDOW_DATA]
    ('night_epoch', [{'t': 0.0, 't_end': 0.016666666666666666}])
    """
    spec = _night_hypnogram_spec(labels, pred, confidence, class_names, epoch_seconds, title, start)
    band = window_rows(window, epoch_seconds=epoch_seconds, start=start)
    return {**spec, "datasets": {**spec["datasets"], WINDOW_DATA: band}}


def pick_keys(state: Mapping) -> dict[str, str]:
    """Widget key of each pick widget; they change whenever a pick was taken from one of them.

    So a click is taken once, and a table's selected row is never a stale one: after a pick the
    widgets are drawn afresh under new keys. Other moves (Previous, Next, the jumps) keep the
    keys: those widgets then hold no pick, and the night's charts are not built anew in the
    browser when they step (the hypnogram's band moves by its data alone).

    Examples
    --------
    >>> pick_keys({"night_pick_generation": 3})["wrong"]
    'night_wrong_3'
    """
    generation = int(state.get(nav.NIGHT_PICKS_KEY, 0))
    return {name: f"night_{name}_{generation}" for name in PICKS}


def picked_row(event, rows: Sequence[EpochRow]) -> EpochRow | None:
    """The table row selected in ``st.dataframe``'s event, if any.

    Examples
    --------
    >>> picked_row({"selection": {"rows": [1]}}, ["a", "b"]), picked_row({"selection": {"rows": []}}, ["a"])
    ('b', None)
    """
    chosen = (((event or {}).get("selection") or {}).get("rows")) or []
    if not chosen or not isinstance(chosen[0], (int, np.integer)) or not 0 <= chosen[0] < len(rows):
        return None
    return rows[int(chosen[0])]


def _pick(state: Mapping, result: NightInference, night: NightOverview) -> tuple[int, int | None] | None:
    """The epoch picked in a night chart or table, and the sample to show it in (None: the default)."""
    keys = pick_keys(state)
    for name in ("hypnogram", "hypnodensity"):
        epoch = picked_epoch(state.get(keys[name]), NIGHT_EPOCH_SELECTION, _FIELD_EPOCH)
        if epoch is not None and 0 <= epoch < result.labels.shape[0]:
            return epoch, None
    for name, rows in (("wrong", night.wrong), ("unsure", night.least_confident)):
        row = picked_row(state.get(keys[name]), rows)
        if row is not None:
            return row.epoch, row.sample
    return None


def take_picks(state: MutableMapping, result: NightInference, night: NightOverview) -> bool:
    """Move the view to an epoch clicked in the night's charts or selected in its tables.

    Call it before the view is settled. A table row shows its epoch in the sample it is
    predicted in; a chart click keeps the current sample when it holds the epoch. Returns True
    when the view moved; the pick widgets then get new keys (:func:`pick_keys`).

    Examples
    --------
    >>> take_picks(st.session_state, result, overview(result, night, checkpoint, None))  # doctest: +SKIP
    False
    """
    pick = _pick(state, result, night)
    if pick is None:
        return False
    navigation.show_epoch(state, pick[0], result.sample_starts, result.seq_len, sample=pick[1])
    state[nav.NIGHT_PICKS_KEY] = int(state.get(nav.NIGHT_PICKS_KEY, 0)) + 1
    return True


def epoch_frame(rows: Sequence[EpochRow], night: NightOverview) -> pd.DataFrame:
    """A table of epoch rows as the app shows it (samples numbered from 1, as in the page).

    Examples
    --------
    >>> epoch_frame([], overview).columns[:3].tolist()  # doctest: +SKIP
    ['epoch', 'clock time', 'sample']
    """
    frame = pd.DataFrame({
        "epoch": [row.epoch for row in rows],
        night.time_title: [row.time for row in rows],
        "sample": [row.sample + 1 for row in rows],
        "scored": [row.scored.name for row in rows],
        "predicted": [row.predicted.name for row in rows],
    })
    for k, name in enumerate(night.stages):
        frame[f"P({name})"] = [round(row.probabilities[k], 3) for row in rows]
    return frame


def draw_navigation(where, state: MutableMapping, result: NightInference, night: NightOverview,
                    view: nav.View, title: str, start: dt.datetime | None) -> None:
    """Hypnogram (band on the sample shown), hypnodensity and the epoch tables, all clickable.

    Examples
    --------
    >>> draw_navigation(st, st.session_state, result, overview, view, "night", None)  # doctest: +SKIP
    """
    keys = pick_keys(state)
    first = int(result.sample_starts[view.sample])
    spec = hypnogram_spec(result.labels, result.pred, result.confidence, tuple(result.class_names),
                          float(result.epoch_seconds), title, start, (first, first + int(result.seq_len) - 1))
    pick = {"on_select": "rerun", "selection_mode": NIGHT_EPOCH_SELECTION}
    draw_spec(where, spec, key=keys["hypnogram"], **pick)
    draw_spec(where, night.hypnodensity_spec, key=keys["hypnodensity"], **pick)
    where.caption("Click an epoch in the hypnogram or the hypnodensity, or a row below, to show it.")
    wrong_tab, unsure_tab = where.tabs([f"Wrong epochs ({len(night.wrong)})",
                                        f"Least confident epochs ({len(night.least_confident)})"])
    if night.wrong:
        wrong_tab.dataframe(epoch_frame(night.wrong, night), key=keys["wrong"], on_select="rerun",
                            selection_mode="single-row", hide_index=True, height=min(36 * (len(night.wrong) + 1), 320))
    else:
        wrong_tab.info("No scored epoch was predicted wrong.")
    unsure_tab.dataframe(epoch_frame(night.least_confident, night), key=keys["unsure"], on_select="rerun",
                         selection_mode="single-row", hide_index=True)


def _amount(value: float, unit: str, signed: bool = False) -> str:
    if unit == "count":
        return format_quantity(value, "", signed=signed, digits=0)
    return format_quantity(value, "pp" if signed and unit == "%" else unit, signed=signed)


def statistics_frame(rows: Sequence[StatisticRow]) -> pd.DataFrame:
    """YASA's statistics as text columns: key, measure, scored, predicted, predicted − scored.

    Examples
    --------
    >>> from mesa_report.report.night_section import statistic_rows
    >>> from mesa_report.scoring.sleep_stats import compare_sleep_statistics
    >>> frame = statistics_frame(statistic_rows(compare_sleep_statistics([0, 2, 2, 5, 0], [0, 2, 1, 5, 5])))
    >>> frame.set_index("key").loc["%N2"].tolist()
    ['N2, share of TST', '66.7 %', '25.0 %', '−41.7 pp']
    """
    return pd.DataFrame({
        "key": [row.key for row in rows],
        "measure": [row.label for row in rows],
        "scored": [_amount(row.scored, row.unit) for row in rows],
        "predicted": [_amount(row.predicted, row.unit) for row in rows],
        "predicted − scored": [_amount(row.difference, row.unit, signed=True) for row in rows],
    })


def draw_statistics(where, night: NightOverview) -> None:
    """YASA's sleep statistics of both hypnograms and their transition matrices, in an expander.

    Examples
    --------
    >>> draw_statistics(st, overview)  # doctest: +SKIP
    """
    with where.expander("Sleep statistics (YASA's definitions) and stage transitions"):
        st.dataframe(statistics_frame(night.statistics), hide_index=True)
        st.caption("Minutes, or percent of total sleep time; differences of shares in percentage points. "
                   "Latencies run from the first epoch; N3 includes N4.")
        for column, matrix in zip(st.columns(len(night.transitions)), night.transitions):
            column.markdown(f"**Transitions, {matrix.title} hypnogram** (row: from, column: to)")
            column.dataframe(pd.DataFrame(matrix.counts, index=matrix.stages, columns=matrix.stages))
