"""A night's row of the cohort table (mesa_report.explain.cohort_table): the project's figures and YASA's."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.explain.cohort_table import table_row, write_table
from mesa_report.inference.cohort import infer_cohort
from mesa_report.scoring.metrics import night_metrics
from mesa_report.scoring.sleep_stats import SLEEP_STAT_KEYS, awakenings, sleep_statistics


def test_table_row_reports_the_projects_own_figures(tiny_model, nights, tmp_path):
    result = next(iter(infer_cohort(tiny_model, nights[:1])))
    stored = result.stored
    # relabel so that the model is right everywhere except on two epochs
    labels = stored.pred.copy()
    labels[[0, 1]] = (labels[[0, 1]] + 1) % 6
    labels[4] = -1
    row = table_row(result.with_labels(labels), "rollout")
    metrics = night_metrics(labels, stored.pred, class_names=stored.class_names)
    assert row["record_id"] == "mesa-sleep-0001" and row["n_epochs"] == 47 and row["n_scored"] == 46
    assert row["accuracy"] == pytest.approx(44 / 46)
    assert row["kappa"] == pytest.approx(metrics.kappa)
    assert row["macro_f1"] == pytest.approx(metrics.stages.macro_f1)
    for name, f1 in zip(stored.class_names, metrics.stages.per_stage_f1):
        assert row[f"f1_{name}"] == pytest.approx(f1, nan_ok=True)
    shares = [row[f"relevance_{name}"] for name in ("EEG1", "EEG2", "EEG3")]
    assert sum(shares) == pytest.approx(1.0, abs=1e-3)
    assert row["share_past"] + row["share_self"] + row["share_future"] == pytest.approx(1.0, abs=1e-3)
    assert 1 <= row["look_back_epochs"] <= 19 and 1 <= row["look_ahead_epochs"] <= 19
    assert row["mean_uncertainty_nats"] == pytest.approx(float(stored.uncertainty.mean()))
    table = write_table([row], tmp_path / "cohort.csv").read_text().splitlines()
    assert table[0].startswith("mesaid,record_id,n_epochs") and len(table) == 2


def test_table_row_holds_yasas_sleep_statistics_of_both_hypnograms(tiny_model, nights, tmp_path):
    result = next(iter(infer_cohort(tiny_model, nights[:1])))
    pred = result.stored.pred
    labels = pred.copy()
    labels[:6] = 0  # the scorer saw wake first, so the scored night falls asleep later
    labels[4] = -1  # and left an epoch unscored: the predicted hypnogram leaves it out too
    row = table_row(result.with_labels(labels), "rollout")
    scored, predicted = sleep_statistics(labels), sleep_statistics(np.where(labels >= 0, pred, -1))
    for key in SLEEP_STAT_KEYS:
        assert row[f"scored_{key}"] == pytest.approx(scored[key], nan_ok=True)
        assert row[f"predicted_{key}"] == pytest.approx(predicted[key], nan_ok=True)
    assert row["scored_TIB"] == row["predicted_TIB"] == 47 * 0.5
    assert row["scored_SOL"] >= 3.0  # the first sleep epoch comes after the six wake/unscored ones
    assert row["scored_awakenings"] == awakenings(labels)
    header = write_table([row], tmp_path / "cohort.csv").read_text().splitlines()[0].split(",")
    assert header[-2:] == ["predicted_SME", "predicted_awakenings"] and "scored_%REM" in header
