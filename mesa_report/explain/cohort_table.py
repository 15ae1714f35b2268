"""The cohort table: one row per night of a batch, with the figures the app and the reports show.

Examples
--------
>>> row = table_row(result)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mesa_report.core.fileio import write_text_atomic
from mesa_report.data.night_ids import record_id
from mesa_report.explain.summaries import NightSummary, summarise_night
from mesa_report.inference.stored import NightResult
from mesa_report.scoring.metrics import night_metrics
from mesa_report.scoring.sleep_stats import sleep_columns

TABLE_NAME = "cohort.csv"
"""File name of the cohort table inside a batch's output folder."""


def night_summary(result: NightResult, method: str = "rollout") -> NightSummary:
    """The night's relevance summaries (:func:`mesa_report.explain.summaries.summarise_night`).

    The summaries read the channel and inter-epoch maps, which a cohort pass keeps for every
    sample; the temporal maps are left out of the call.
    """
    maps_needed = dataclasses.replace(result.stored, temporal=result.stored.temporal[:0])
    return summarise_night(maps_needed, method, chunk=max(1, result.stored.n_samples))


def table_row(result: NightResult, method: str = "rollout") -> dict[str, object]:
    """One night's row of the cohort table.

    Agreement figures come from :func:`mesa_report.scoring.metrics.night_metrics` (unscored epochs left
    out), relevance figures from :func:`night_summary`, so the table shows the numbers the
    app and the reports show.

    Columns: ``mesaid``, ``record_id``, ``n_epochs``, ``n_scored``, ``accuracy``, ``macro_f1``,
    ``kappa``, ``kappa_n3n4_merged`` (N3 and N4 as one stage), ``f1_<stage>`` per stage,
    ``mean_uncertainty_nats``, ``relevance_<channel>`` per channel (mean share), ``share_past``,
    ``share_self``, ``share_future``, ``look_back_epochs``, ``look_ahead_epochs`` (relevance-weighted
    mean distance of the earlier and later epochs used), ``method``, then YASA's sleep statistics
    of the scored and of the predicted hypnogram, ``scored_<key>`` and ``predicted_<key>`` for each
    key of :data:`mesa_report.scoring.sleep_stats.SLEEP_STAT_KEYS` and ``awakenings``
    (:func:`mesa_report.scoring.sleep_stats.sleep_columns`).

    Examples
    --------
    >>> row = table_row(result)  # doctest: +SKIP
    >>> row["record_id"], round(row["kappa"], 2)  # doctest: +SKIP
    ('mesa-sleep-0001', 0.71)
    """
    night = result.stored
    metrics = night_metrics(night.labels, night.pred, class_names=night.class_names,
                            epoch_seconds=night.epoch_seconds)
    summary = night_summary(result, method)
    nan = float("nan")
    stages, merged = metrics.stages, metrics.merged
    row: dict[str, object] = {
        "mesaid": result.mesaid, "record_id": record_id(result.mesaid),
        "n_epochs": metrics.n_epochs, "n_scored": metrics.n_scored,
        "accuracy": stages.accuracy if stages else nan,
        "macro_f1": stages.macro_f1 if stages else nan,
        "kappa": metrics.kappa,
        "kappa_n3n4_merged": merged.kappa if merged else nan,
    }
    per_stage = stages.per_stage_f1 if stages else (nan,) * len(night.class_names)
    row.update({f"f1_{name}": f1 for name, f1 in zip(night.class_names, per_stage)})
    row["mean_uncertainty_nats"] = float(night.uncertainty.mean())
    row.update({f"relevance_{name}": share for name, share in summary.channel_means().items()})
    row.update(share_past=summary.share_past, share_self=summary.share_self,
               share_future=summary.share_future, look_back_epochs=summary.mean_look_back_epochs,
               look_ahead_epochs=summary.mean_look_ahead_epochs, method=method)
    row.update(sleep_columns(night.labels, night.pred, class_names=night.class_names,
                             epoch_seconds=night.epoch_seconds))
    return row


def write_table(rows: Sequence[dict[str, object]], path: str | os.PathLike) -> Path:
    """Write the cohort table as CSV, atomically, one row per night in the order given.

    Floats are written with 6 significant digits (figures from batches of different sizes
    differ only beyond that).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = write_table([{"mesaid": 1, "kappa": 0.123456789}], pathlib.Path(tempfile.mkdtemp()) / "t.csv")
    >>> path.read_text().splitlines()
    ['mesaid,kappa', '1,0.123457']
    """
    frame = pd.DataFrame(list(rows))
    return write_text_atomic(path, frame.to_csv(index=False, float_format="%.6g", lineterminator="\n"))

