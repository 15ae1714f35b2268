"""Night metrics on small hypnograms whose figures are known by hand, and the sleep statistics they go with."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesa_report.core.errors import DataError
from mesa_report.core.vocabulary import CLASS_NAMES_5, CLASS_NAMES_6
from mesa_report.scoring.metrics import classification_metrics, merge_n3_n4, night_metrics, rank_correlation
from mesa_report.scoring.sleep_stats import compare_sleep_statistics

W, N1, N2, N3, N4, REM = range(6)


def kappa_from_confusion(confusion: np.ndarray) -> float:
    """Cohen's kappa written out: (p_o - p_e) / (1 - p_e)."""
    total = confusion.sum()
    observed = np.trace(confusion) / total
    expected = (confusion.sum(axis=1) * confusion.sum(axis=0)).sum() / total**2
    return (observed - expected) / (1 - expected)


def test_perfect_prediction_scores_one_everywhere():
    labels = np.array([W, N1, N2, N2, N3, N4, REM, W])
    m = night_metrics(labels, labels.copy(), class_names=CLASS_NAMES_6)
    assert m.stages.accuracy == 1.0
    assert m.stages.macro_f1 == 1.0
    assert m.kappa == pytest.approx(1.0)
    assert np.array_equal(np.diag(m.stages.confusion), m.stages.support)


def test_unscored_epochs_are_left_out_of_every_agreement_metric():
    labels = np.array([W, W, N2, N2, -1, -1, REM, REM])
    pred_a = np.array([W, N1, N2, N2, W, W, REM, N2])
    pred_b = pred_a.copy()
    pred_b[[4, 5]] = [N3, REM]  # only the unscored epochs differ
    a = night_metrics(labels, pred_a, class_names=CLASS_NAMES_6)
    b = night_metrics(labels, pred_b, class_names=CLASS_NAMES_6)
    assert a.n_scored == 6 and a.n_epochs == 8
    assert a.stages.confusion.sum() == 6
    assert a.stages.accuracy == pytest.approx(4 / 6)
    assert (a.stages.accuracy, a.stages.macro_f1, a.kappa) == (
        b.stages.accuracy, b.stages.macro_f1, b.kappa)
    assert np.array_equal(a.stages.confusion, b.stages.confusion)


def test_hand_computed_figures():
    labels = np.array([W, W, W, N2, N2, N2, N2, REM, REM, REM])
    pred = np.array([W, W, N2, N2, N2, N2, W, REM, REM, N2])
    m = classification_metrics(labels, pred, CLASS_NAMES_6)
    assert m.accuracy == pytest.approx(7 / 10)
    # W: tp 2, fp 1, fn 1 -> F1 2/3; N2: tp 3, fp 2, fn 1 -> 6/9; REM: tp 2, fp 0, fn 1 -> 0.8
    assert m.per_stage_f1[W] == pytest.approx(2 / 3)
    assert m.per_stage_f1[N2] == pytest.approx(2 / 3)
    assert m.per_stage_f1[REM] == pytest.approx(0.8)
    assert math.isnan(m.per_stage_f1[N1]) and math.isnan(m.per_stage_f1[N4])
    assert m.macro_f1 == pytest.approx((2 / 3 + 2 / 3 + 0.8) / 3)
    assert m.kappa == pytest.approx(kappa_from_confusion(m.confusion))
    assert m.support == (3, 0, 4, 0, 0, 3)
    assert m.confusion[N2, W] == 1 and m.confusion[REM, N2] == 1


def test_a_stage_predicted_but_never_scored_counts_as_f1_zero():
    labels = np.array([W, W, N2, N2])
    pred = np.array([W, N1, N2, N2])
    m = classification_metrics(labels, pred, CLASS_NAMES_6)
    assert m.per_stage_f1[N1] == 0.0
    # W: tp 1, fn 1 -> 2/3; N1: 0; N2: 1; stages in neither side stay out of the mean
    assert m.macro_f1 == pytest.approx((2 / 3 + 0.0 + 1.0) / 3)


def test_merging_n3_and_n4_forgives_exactly_that_confusion():
    labels = np.array([W, N2, N3, N3, N4, N4, REM])
    pred = np.array([W, N2, N4, N3, N3, N4, REM])
    m = night_metrics(labels, pred, class_names=CLASS_NAMES_6)
    assert m.stages.accuracy == pytest.approx(5 / 7)
    assert m.merged.class_names == CLASS_NAMES_5
    assert m.merged.accuracy == 1.0
    assert m.merged.confusion.shape == (5, 5)
    assert m.merged.support[CLASS_NAMES_5.index("N3")] == 4


def test_merge_recodes_rem_and_keeps_unscored():
    merged, names = merge_n3_n4(np.array([W, N1, N2, N3, N4, REM, -1]), CLASS_NAMES_6)
    assert names == CLASS_NAMES_5
    assert [names[c] if c >= 0 else "?" for c in merged] == ["W", "N1", "N2", "N3", "N3", "REM", "?"]


def test_a_five_class_model_has_no_merged_view():
    labels = np.array([0, 1, 2, 3, 4])
    m = night_metrics(labels, labels, class_names=CLASS_NAMES_5)
    assert m.merged is None and m.stages.accuracy == 1.0
    with pytest.raises(DataError, match="N4"):
        merge_n3_n4(labels, CLASS_NAMES_5)


def test_predicted_statistics_use_the_epochs_the_scorer_staged():
    labels = np.array([-1, -1, W, N2, N2, N2])
    pred = np.array([N2, N2, W, N2, N2, N2])
    table = compare_sleep_statistics(labels, pred, class_names=CLASS_NAMES_6)
    assert table.loc["TST", "predicted"] == table.loc["TST", "scored"] == 1.5
    assert table.loc["TIB", "predicted"] == 3.0 and table.loc["TST", "difference"] == 0.0


def test_a_night_where_every_epoch_is_unscored_still_has_predicted_statistics():
    labels = np.full(6, -1)
    pred = np.array([W, N1, N2, N2, REM, W])
    m = night_metrics(labels, pred, class_names=CLASS_NAMES_6)
    assert m.stages is None and m.merged is None and math.isnan(m.kappa)
    assert m.n_scored == 0
    table = compare_sleep_statistics(labels, pred, class_names=CLASS_NAMES_6)
    assert table.loc["TIB", "scored"] == 3.0 and table.loc["TST", "scored"] == 0.0
    assert table.loc["TST", "predicted"] == 2.0  # nothing scored: the whole prediction counts


def test_kappa_of_a_single_agreed_stage_is_undefined_not_an_error():
    labels = np.full(5, N2)
    m = classification_metrics(labels, labels, CLASS_NAMES_6)
    assert m.accuracy == 1.0 and math.isnan(m.kappa)


def test_bad_input_names_the_problem():
    with pytest.raises(DataError, match="one length"):
        night_metrics(np.zeros(4), np.zeros(5), class_names=CLASS_NAMES_6)
    with pytest.raises(DataError, match="0..5"):
        night_metrics(np.zeros(3), np.array([0, 6, 1]), class_names=CLASS_NAMES_6)


def test_labels_outside_the_vocabulary_count_as_unscored():
    m = night_metrics(np.array([0, 9, 2]), np.array([0, 1, 2]), class_names=CLASS_NAMES_6)
    assert m.n_scored == 2 and m.stages.accuracy == 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 5), st.integers(0, 5)), min_size=1, max_size=80))
def test_invariants_on_random_nights(pairs):
    labels = np.array([p[0] for p in pairs])
    pred = np.array([p[1] for p in pairs])
    m = night_metrics(labels, pred, class_names=CLASS_NAMES_6)
    scored = labels >= 0
    assert m.n_scored == int(scored.sum())
    tib = len(pairs) * 0.5
    table = compare_sleep_statistics(labels, pred, class_names=CLASS_NAMES_6)
    assert table.loc["TIB", "scored"] == table.loc["TIB", "predicted"] == tib
    assert 0.0 <= table.loc["SE", "scored"] <= 100.0
    if m.stages is None:
        return
    c = m.stages.confusion
    assert c.sum() == m.n_scored
    assert m.stages.accuracy == pytest.approx(np.trace(c) / c.sum())
    assert tuple(c.sum(axis=1)) == m.stages.support
    if not math.isnan(m.kappa):
        assert m.kappa == pytest.approx(kappa_from_confusion(c))
    assert m.merged.accuracy >= m.stages.accuracy
    assert 0.0 <= m.stages.macro_f1 <= 1.0


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=200))
def test_the_figures_equal_scikit_learns(pairs):
    """The figures are computed from the confusion matrix with numpy; scikit-learn, a test dependency, agrees."""
    metrics = pytest.importorskip("sklearn.metrics")
    labels, pred = (np.array(column) for column in zip(*pairs))
    m = classification_metrics(labels, pred, ("W", "N1", "N2", "N3", "N4", "REM"))
    codes = np.arange(6)
    np.testing.assert_array_equal(m.confusion, metrics.confusion_matrix(labels, pred, labels=codes))
    assert m.accuracy == pytest.approx(metrics.accuracy_score(labels, pred))
    assert m.macro_f1 == pytest.approx(metrics.f1_score(labels, pred, average="macro", zero_division=0.0))
    present = np.isin(codes, labels) | np.isin(codes, pred)
    sk_f1 = metrics.f1_score(labels, pred, labels=codes, average=None, zero_division=0.0)
    np.testing.assert_allclose(np.array(m.per_stage_f1)[present], sk_f1[present])
    kappa = metrics.cohen_kappa_score(labels, pred, labels=codes, replace_undefined_by=np.nan)
    assert (np.isnan(m.kappa) and np.isnan(kappa)) or m.kappa == pytest.approx(kappa)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=2, max_size=40))
def test_rank_correlation_equals_scipys_spearman_with_ties(pairs):
    from scipy.stats import spearmanr

    x, y = (np.array(side, dtype=float) for side in zip(*pairs))
    expected = spearmanr(x, y).statistic if np.ptp(x) and np.ptp(y) else float("nan")
    got = rank_correlation(x, y)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected, abs=1e-12)


def test_rank_correlation_of_a_map_and_its_monotone_transform_is_one_and_reversed_minus_one():
    relevance = np.random.default_rng(0).random((20, 32))
    assert rank_correlation(relevance, np.exp(relevance)) == pytest.approx(1.0)
    assert rank_correlation(relevance, -relevance) == pytest.approx(-1.0)
    assert math.isnan(rank_correlation(relevance, np.ones_like(relevance)))
    with pytest.raises(ValueError, match="one length"):
        rank_correlation(relevance, relevance[:3])
