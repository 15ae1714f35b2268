"""What the app and the reports show about a night at a glance, as plain values.

Built once per night by :func:`night_overview`:

- the time axis: clock time where the recording's start is known, else hours since the start;
- the hypnodensity (:func:`mesa_report.charts.hypnodensity.hypnodensity_chart`) as a spec;
- YASA's sleep statistics of the scored and the predicted hypnogram with their difference
  (:func:`mesa_report.scoring.sleep_stats.compare_sleep_statistics`) as :class:`StatisticRow`,
  and the stage transition matrix of each hypnogram;
- every wrong epoch and the least confident ones
  (:mod:`mesa_report.explain.wrong_epochs`) as :class:`EpochRow`, each linking to the report's
  section of a detailed sample that holds it.

:mod:`mesa_report.report.build` puts this into the report model and the template
``_night.html.j2`` lays it out; the app (:mod:`mesa_report.app.night_overview`) shows the same
values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd

from mesa_report.charts.night import hypnogram_order
from mesa_report.charts.hypnodensity import hypnodensity_chart
from mesa_report.core.time_axis import TimeAxis, recording_start
from mesa_report.core.vocabulary import STAGE_COLOURS, UNSCORED_COLOUR
from mesa_report.explain.wrong_epochs import least_confident_epochs, probability_column, wrong_epochs
from mesa_report.render.vega import chart_spec
from mesa_report.scoring.sleep_stats import (AWAKENINGS, compare_sleep_statistics, predicted_on_scored, store_codes,
                                             transition_matrix)

STATISTIC_LABELS = {
    "TIB": "time in bed", "SPT": "sleep period time (first to last sleep epoch)",
    "WASO": "wake after sleep onset", "TST": "total sleep time",
    "N1": "time in N1", "N2": "time in N2", "N3": "time in N3 (N3 + N4)", "REM": "time in REM",
    "NREM": "time in NREM (N1 + N2 + N3)", "SOL": "sleep onset latency",
    "Lat_N1": "latency of N1", "Lat_N2": "latency of N2", "Lat_N3": "latency of N3", "Lat_REM": "latency of REM",
    "%N1": "N1, share of TST", "%N2": "N2, share of TST", "%N3": "N3, share of TST",
    "%REM": "REM, share of TST", "%NREM": "NREM, share of TST",
    "SE": "sleep efficiency (TST / TIB)", "SME": "sleep maintenance efficiency (TST / SPT)",
    AWAKENINGS: "awakenings (wake runs inside the sleep period)",
}
"""What each row of :func:`~mesa_report.scoring.sleep_stats.compare_sleep_statistics` means."""

DIFFERENCE_UNITS = {"min": "min", "%": "pp", "count": ""}
"""Unit of a difference: minutes, percentage points, or a plain count."""


@dataclasses.dataclass(frozen=True)
class StatisticRow:
    """One sleep statistic of the scored and the predicted hypnogram (``unit``: min, % or count)."""

    key: str
    label: str
    unit: str
    scored: float
    predicted: float
    difference: float

    @property
    def difference_unit(self) -> str:
        """``min``, ``pp`` (percentage points) or nothing for a count."""
        return DIFFERENCE_UNITS[self.unit]


@dataclasses.dataclass(frozen=True)
class StageCell:
    """A stage name and its colour."""

    name: str
    colour: str


@dataclasses.dataclass(frozen=True)
class EpochRow:
    """One epoch of the wrong or least confident table; ``anchor`` is the id of its detailed sample."""

    epoch: int
    sample: int
    time: str
    scored: StageCell
    predicted: StageCell
    confidence: float
    probabilities: tuple[float, ...]
    wrong: bool
    anchor: str | None


@dataclasses.dataclass(frozen=True)
class TransitionTable:
    """Stage transitions of one hypnogram: ``counts[i][j]`` epochs in ``stages[i]`` followed by ``stages[j]``."""

    title: str
    stages: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]


@dataclasses.dataclass(frozen=True)
class NightOverview:
    """The night at a glance (see the module's notes)."""

    clock: bool
    time_title: str
    hypnodensity_spec: dict
    statistics: tuple[StatisticRow, ...]
    transitions: tuple[TransitionTable, ...]
    stages: tuple[str, ...]
    wrong: tuple[EpochRow, ...]
    least_confident: tuple[EpochRow, ...]


def statistic_rows(table: pd.DataFrame) -> tuple[StatisticRow, ...]:
    """Rows of a :func:`~mesa_report.scoring.sleep_stats.compare_sleep_statistics` table.

    Examples
    --------
    >>> rows = statistic_rows(compare_sleep_statistics([0, 2, 2, 5, 0], [0, 2, 1, 5, 5]))
    >>> rows[3].key, rows[3].label, rows[3].difference, rows[-1].difference_unit
    ('TST', 'total sleep time', 0.5, '')
    """
    return tuple(StatisticRow(key=str(key), label=STATISTIC_LABELS.get(str(key), str(key)), unit=str(row["unit"]),
                              scored=float(row["scored"]), predicted=float(row["predicted"]),
                              difference=float(row["difference"]))
                 for key, row in table.iterrows())


def transition_tables(labels, predicted_codes) -> tuple[TransitionTable, ...]:
    """Transition counts of the scored and the predicted hypnogram (store codes), AASM stages.

    Examples
    --------
    >>> scored, predicted = transition_tables([0, 2, 2, 5], [0, 2, 1, 5])
    >>> scored.stages, scored.counts[2][2], predicted.counts[3][4]
    (('W', 'N1', 'N2', 'N3', 'REM'), 1, 0)
    """
    tables = []
    for title, hypnogram in (("scored", labels), ("predicted", predicted_codes)):
        counts = transition_matrix(hypnogram)
        tables.append(TransitionTable(title=title, stages=tuple(str(s) for s in counts.index),
                                      counts=tuple(tuple(int(v) for v in row) for row in counts.to_numpy())))
    return tuple(tables)


def _stage(name: str) -> StageCell:
    return StageCell(name, STAGE_COLOURS.get(name, UNSCORED_COLOUR))


def epoch_table_rows(frame: pd.DataFrame, stages: Sequence[str]) -> tuple[EpochRow, ...]:
    """Rows of a :func:`~mesa_report.explain.wrong_epochs.epoch_rows` frame, probabilities in ``stages`` order."""
    columns = [probability_column(name) for name in stages]
    return tuple(EpochRow(epoch=int(row["epoch"]), sample=int(row["sample"]), time=str(row["time"]),
                          scored=_stage(str(row["scored"])), predicted=_stage(str(row["predicted"])),
                          confidence=float(row["confidence"]),
                          probabilities=tuple(float(row[c]) for c in columns),
                          wrong=bool(row["wrong"]), anchor=row["report_anchor"])
                 for row in frame.to_dict("records"))


def night_overview(result, meta: Mapping, *, detailed_samples: Sequence[int] = (),
                   least_confident: int = 10, start: dt.datetime | None | bool = True) -> NightOverview:
    """The night at a glance, from its inference and its sidecar fields.

    Parameters
    ----------
    result : mesa_report.inference.night.NightInference
        The night's predictions.
    meta : mapping
        The night's sidecar fields (:attr:`mesa_report.data.store.Night.meta`); its ``start_clock``
        gives the clock time.
    detailed_samples : sequence of int
        Samples a report shows in detail, in its order: rows link to them.
    least_confident : int
        Rows of the least confident table.
    start : bool or datetime, optional
        ``True`` (default): clock time when the recording start is known; ``False`` or ``None``:
        hours since the start; a datetime: that start.

    Returns
    -------
    NightOverview

    Examples
    --------
    >>> overview = night_overview(result, night.meta, detailed_samples=[2, 5])  # doctest: +SKIP
    >>> overview.time_title, overview.wrong[0].anchor  # doctest: +SKIP
    ('clock time', 'sample-1')
    """
    clock_start = recording_start(meta) if start is True else (start or None)
    axis = TimeAxis(clock_start)
    names = tuple(result.class_names)
    order = tuple(hypnogram_order(names))
    table = compare_sleep_statistics(result.labels, result.pred, class_names=names,
                                     epoch_seconds=result.epoch_seconds)
    predicted = predicted_on_scored(result.labels, store_codes(result.pred, names))
    count = max(1, min(int(least_confident), int(result.labels.shape[0])))
    return NightOverview(
        clock=axis.clock,
        time_title=axis.title,
        hypnodensity_spec=chart_spec(hypnodensity_chart(
            result.probs, class_names=names, epoch_seconds=result.epoch_seconds, start=clock_start),
            validate=False),
        statistics=statistic_rows(table),
        transitions=transition_tables(result.labels, predicted),
        stages=order,
        wrong=epoch_table_rows(wrong_epochs(result, start=clock_start, detailed_samples=detailed_samples), order),
        least_confident=epoch_table_rows(least_confident_epochs(
            result, count, start=clock_start, detailed_samples=detailed_samples), order),
    )

