"""Sleep statistics with YASA's names and definitions, checked against YASA's own figures."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesa_report import sleep_statistics
from mesa_report.scoring.sleep_stats import (
    AWAKENINGS,
    SLEEP_STAT_KEYS,
    awakenings,
    compare_sleep_statistics,
    predicted_on_scored,
    transition_matrix,
)
from tests.helpers import REALDATA, REPO_ROOT
from tests.yasa_cases import YASA_TABLE, read_real_hypnogram

TABLE = json.loads(YASA_TABLE.read_text(encoding="utf-8"))


CASES = {case["name"]: case for case in TABLE["cases"]}


hypnograms = st.lists(st.sampled_from([-1, 0, 1, 2, 3, 4, 5, 6, 9]), min_size=1, max_size=120)


def _hypnogram(case: dict) -> np.ndarray:
    if "hypnogram" in case:
        return np.array([int(code) for code in case["hypnogram"].split()], dtype=np.int64)
    if not REALDATA.is_dir():
        pytest.skip(f"real reference files not found at {REALDATA}")
    codes = read_real_hypnogram(REALDATA, case["source"]["kind"], case["source"]["path"])
    assert codes.size == case["n_epochs"], "the file is not the one YASA's figures were made from"
    return codes


def _same(ours: float, theirs: float | None) -> bool:
    if theirs is None:  # stored for YASA's NaN
        return math.isnan(ours)
    return math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=1e-12)


def test_the_table_says_where_it_comes_from_and_holds_the_required_cases():
    assert TABLE["yasa_version"] and TABLE["made_by"] == "scripts/make_yasa_table.py"
    assert (REPO_ROOT / TABLE["made_by"]).is_file()
    required = {"demo night 1", "Profusion night 100022", "no sleep at all", "sleep from the first epoch",
                "unscored runs inside the night"}
    assert required <= set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_sleep_statistics_equal_yasas(name):
    case = CASES[name]
    ours = sleep_statistics(_hypnogram(case), epoch_seconds=TABLE["epoch_seconds"])
    theirs = case["sleep_statistics"]
    assert list(ours) == list(theirs) == list(SLEEP_STAT_KEYS)
    wrong = {key: (ours[key], theirs[key]) for key in SLEEP_STAT_KEYS if not _same(ours[key], theirs[key])}
    assert not wrong, f"{name}: ours vs YASA's {wrong}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_transition_counts_equal_yasas_on_scored_stages(name):
    case = CASES[name]
    counts = transition_matrix(_hypnogram(case))
    assert counts.to_numpy().tolist() == case["transition_counts"]


def test_the_edge_cases_mean_what_their_names_say():
    no_sleep = sleep_statistics(_hypnogram(CASES["no sleep at all"]))
    assert no_sleep["TST"] == no_sleep["SPT"] == no_sleep["SE"] == 0.0
    assert all(math.isnan(no_sleep[key]) for key in ("WASO", "SOL", "Lat_REM", "%N2", "SME"))
    first = sleep_statistics(_hypnogram(CASES["sleep from the first epoch"]))
    assert first["SOL"] == first["Lat_N2"] == 0.0
    inside = _hypnogram(CASES["unscored runs inside the night"])
    stats = sleep_statistics(inside)
    asleep = np.flatnonzero(np.isin(inside, [1, 2, 3, 4, 5]))
    n_unscored = int((~np.isin(inside[asleep[0]:asleep[-1] + 1], range(6))).sum())
    assert n_unscored > 0  # unscored epochs inside the sleep period count neither as sleep nor as wake
    assert stats["SPT"] == stats["TST"] + stats["WASO"] + n_unscored * 0.5


@given(hypnograms)
def test_figures_add_up_on_any_hypnogram(codes):
    stats = sleep_statistics(codes, epoch_seconds=20.0)
    assert stats["TIB"] == pytest.approx(len(codes) / 3)
    assert stats["NREM"] == pytest.approx(stats["N1"] + stats["N2"] + stats["N3"])
    assert stats["TST"] == pytest.approx(stats["NREM"] + stats["REM"])
    assert stats["N3"] == pytest.approx(sum(c in (3, 4) for c in codes) / 3)  # N4 is part of N3
    assert stats["TST"] + (stats["WASO"] if stats["TST"] else 0.0) <= stats["SPT"] + 1e-9 <= stats["TIB"] + 2e-9
    assert 0.0 <= stats["SE"] <= 100.0
    if stats["TST"] > 0:
        shares = stats["%N1"] + stats["%N2"] + stats["%N3"] + stats["%REM"]
        assert shares == pytest.approx(100.0) and stats["%NREM"] + stats["%REM"] == pytest.approx(100.0)
        assert stats["SOL"] <= min(v for k, v in stats.items() if k.startswith("Lat_") and not math.isnan(v))
        assert stats["SOL"] + stats["SPT"] <= stats["TIB"] + 1e-9
    else:
        assert math.isnan(stats["SOL"]) and math.isnan(stats["SME"])


@given(hypnograms)
def test_transitions_count_every_scored_pair_and_rows_are_probabilities(codes):
    counts = transition_matrix(codes)
    scored = np.isin(codes, range(6))
    assert int(counts.to_numpy().sum()) == int((scored[1:] & scored[:-1]).sum())
    probs = transition_matrix(codes, probabilities=True).to_numpy()
    rows = probs[~np.isnan(probs).any(axis=1)]
    assert np.allclose(rows.sum(axis=1), 1.0)
    assert list(counts.index) == list(counts.columns) == ["W", "N1", "N2", "N3", "REM"]


@pytest.mark.parametrize(("codes", "expected"), [
    ([0, 0, 0], 0),
    ([2, 2, 2], 0),
    ([0, 2, 0, 2, 0], 1),  # wake before onset and after the last sleep epoch does not count
    ([2, 0, -1, 0, 2, 0, 0, 5, 0, 2], 3),  # an unscored epoch inside wake does not split it
    ([2, 0, 2, -1, 2, 0, 2], 2),
])
def test_awakenings_count_wake_runs_inside_the_sleep_period(codes, expected):
    assert awakenings(codes) == expected


def test_comparison_puts_scored_and_predicted_side_by_side_with_their_difference():
    labels = np.array([0, 0, 2, 2, 3, 5, 5, -1, 0, 2])
    pred = np.array([0, 2, 2, 0, 4, 5, 0, 5, 0, 2])
    table = compare_sleep_statistics(labels, pred)
    assert list(table.index) == [*SLEEP_STAT_KEYS, AWAKENINGS]
    assert list(table.columns) == ["scored", "predicted", "difference", "unit"]
    expected_pred = sleep_statistics(predicted_on_scored(labels, pred))
    assert table["predicted"].iloc[:-1].tolist() == pytest.approx(list(expected_pred.values()), nan_ok=True)
    assert table.loc["Lat_N2", "difference"] == pytest.approx(-0.5)  # minutes
    assert table.loc["%REM", "difference"] == pytest.approx(100 / 5 - 200 / 6)  # percentage points
    assert table.loc[AWAKENINGS, ["scored", "predicted"]].tolist() == [1.0, 2.0]
    assert table.loc["TIB", "unit"] == "min" and table.loc["SE", "unit"] == "%"


def test_a_five_class_models_rem_is_not_read_as_n4():
    table = compare_sleep_statistics([2, 2, 5, 5], [2, 2, 4, 4], class_names=("W", "N1", "N2", "N3", "REM"))
    assert table.loc["REM", "predicted"] == 1.0 and table.loc["N3", "predicted"] == 0.0


@pytest.mark.parametrize(("hypnogram", "epoch_seconds", "words"), [
    ([], 30.0, "non-empty"),
    ([[0, 1], [2, 3]], 30.0, "1-D"),
    (["W", "N2"], 30.0, "stage codes"),
    ([0, 2], 0.0, "epoch_seconds"),
    ([0, 2], float("nan"), "epoch_seconds"),
])
def test_bad_input_is_refused_with_the_fix(hypnogram, epoch_seconds, words):
    with pytest.raises(ValueError, match=words):
        sleep_statistics(hypnogram, epoch_seconds=epoch_seconds)


def test_the_public_name_is_imported_only_when_asked_for():
    code = ("import sys, mesa_report; assert 'mesa_report.scoring.sleep_stats' not in sys.modules; "
            "from mesa_report import sleep_statistics; print(sleep_statistics([0, 2])['TST'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0.5"
