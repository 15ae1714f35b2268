"""Every agreement figure mesa-report shows about a night.

:func:`night_metrics` is the one function the app and the reports call, so the same night gives
the same figures everywhere. Epochs labelled ``-1`` (unscored) are left out of every agreement
metric. For a 6-class (R&K) model the figures are also given with N3 and N4 merged into one N3,
the 5-class (AASM) view that published results use.

Sleep statistics (YASA's) are :mod:`mesa_report.scoring.sleep_stats`'. :func:`rank_correlation`
measures agreement between two maps (the explanations' sanity check).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mesa_report.core.errors import DataError
from mesa_report.core.vocabulary import UNSCORED


@dataclass(frozen=True)
class ClassificationMetrics:
    """Agreement between the scored stages and the model's prediction on the scored epochs.

    Attributes
    ----------
    class_names : tuple of str
        Stage names, in code order.
    n_epochs : int
        Number of scored epochs the figures are computed on.
    accuracy : float
        Share of scored epochs where the prediction equals the label (0-1).
    macro_f1 : float
        Mean F1 over the stages that occur in the labels or the prediction.
    kappa : float
        Cohen's kappa; NaN when it is undefined (both sides use a single, identical stage).
    per_stage_f1 : tuple of float
        F1 of each stage; NaN for a stage that occurs in neither the labels nor the prediction.
    support : tuple of int
        Scored epochs of each stage.
    confusion : numpy.ndarray
        ``(K, K)`` int64 counts, rows the scored stage, columns the predicted one.
    """

    class_names: tuple[str, ...]
    n_epochs: int
    accuracy: float
    macro_f1: float
    kappa: float
    per_stage_f1: tuple[float, ...]
    support: tuple[int, ...]
    confusion: np.ndarray


@dataclass(frozen=True)
class NightMetrics:
    """Every figure shown about one night.

    Attributes
    ----------
    class_names : tuple of str
        The model's stage names.
    epoch_seconds : float
        Length of one epoch.
    n_epochs, n_scored : int
        Epochs in the night, and those with a scored stage.
    stages : ClassificationMetrics or None
        Agreement in the model's own classes; None when no epoch is scored.
    merged : ClassificationMetrics or None
        Agreement with N3 and N4 merged (5 classes); None for a model without both N3 and N4,
        or when no epoch is scored.
    """

    class_names: tuple[str, ...]
    epoch_seconds: float
    n_epochs: int
    n_scored: int
    stages: ClassificationMetrics | None
    merged: ClassificationMetrics | None

    @property
    def kappa(self) -> float:
        """Cohen's kappa in the model's classes (NaN when no epoch is scored)."""
        return self.stages.kappa if self.stages is not None else float("nan")


def merge_n3_n4(codes: np.ndarray, class_names: tuple[str, ...] | list[str]
                ) -> tuple[np.ndarray, tuple[str, ...]]:
    """Recode stages with N4 folded into N3 (R&K to AASM); ``-1`` stays ``-1``.

    Parameters
    ----------
    codes : numpy.ndarray
        ``(E,)`` integer stage codes in ``class_names`` order.
    class_names : sequence of str
        Must contain ``"N3"`` and ``"N4"``.

    Returns
    -------
    merged_codes : numpy.ndarray
        ``(E,)`` int64 codes in the merged order.
    merged_names : tuple of str
        ``class_names`` without ``"N4"``.

    Examples
    --------
    >>> import numpy as np
    >>> merge_n3_n4(np.array([0, 3, 4, 5, -1]), ("W", "N1", "N2", "N3", "N4", "REM"))
    (array([ 0,  3,  3,  4, -1]), ('W', 'N1', 'N2', 'N3', 'REM'))
    """
    names = tuple(class_names)
    if "N3" not in names or "N4" not in names:
        raise DataError(f"merging N3 and N4 needs both stages; the classes are {list(names)}")
    merged_names = tuple(name for name in names if name != "N4")
    lookup = np.array([merged_names.index("N3" if name == "N4" else name) for name in names],
                      dtype=np.int64)  # (K,)
    codes = np.asarray(codes, dtype=np.int64)  # (E,)
    in_range = (codes >= 0) & (codes < len(names))  # (E,)
    merged = np.where(in_range, lookup[np.where(in_range, codes, 0)], UNSCORED)  # (E,)
    return merged, merged_names


def classification_metrics(labels: np.ndarray, pred: np.ndarray,
                           class_names: tuple[str, ...] | list[str]
                           ) -> ClassificationMetrics | None:
    """Accuracy, macro-F1, kappa, per-stage F1 and confusion matrix on the scored epochs.

    Parameters
    ----------
    labels : numpy.ndarray
        ``(E,)`` scored stages, ``-1`` for unscored epochs (left out).
    pred : numpy.ndarray
        ``(E,)`` predicted stages, all in ``0..K-1``.
    class_names : sequence of str
        The ``K`` stage names.

    Returns
    -------
    ClassificationMetrics or None
        None when no epoch is scored.

    Examples
    --------
    >>> import numpy as np
    >>> m = classification_metrics(np.array([0, 2, 2, -1]), np.array([0, 2, 1, 5]),
    ...                            ("W", "N1", "N2", "N3", "N4", "REM"))
    >>> m.n_epochs, round(m.accuracy, 3)
    (3, 0.667)
    """
    names = tuple(class_names)
    labels, pred = _checked_pair(labels, pred, len(names))
    scored = labels != UNSCORED  # (E,)
    if not scored.any():
        return None
    y_true, y_pred = labels[scored], pred[scored]  # (N,), (N,)
    n_classes = len(names)
    confusion = np.bincount(y_true * n_classes + y_pred, minlength=n_classes ** 2).reshape(n_classes, n_classes)
    scored_as = confusion.sum(axis=1)  # (K,) rows: the scorer's stage
    predicted_as = confusion.sum(axis=0)  # (K,) columns: the model's
    hits = np.diag(confusion)  # (K,)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_stage = np.where(scored_as + predicted_as > 0, 2 * hits / (scored_as + predicted_as), 0.0)  # (K,)
    present = (scored_as + predicted_as) > 0  # (K,) stages scored or predicted at least once
    n = int(scored.sum())
    return ClassificationMetrics(
        class_names=names,
        n_epochs=n,
        accuracy=float(hits.sum() / n),
        macro_f1=float(per_stage[present].mean()),
        kappa=_cohen_kappa(confusion),
        per_stage_f1=tuple(float(f) if p else float("nan") for f, p in zip(per_stage, present)),
        support=tuple(int(k) for k in scored_as),
        confusion=confusion.astype(np.int64),  # (K, K)
    )


def _cohen_kappa(confusion: np.ndarray) -> float:
    """Cohen's kappa of a confusion matrix; NaN where chance agreement is already total.

    >>> round(_cohen_kappa(np.array([[4, 1], [1, 4]])), 3), _cohen_kappa(np.array([[5, 0], [0, 0]]))
    (0.6, nan)
    """
    n = confusion.sum()
    expected = (confusion.sum(axis=1) @ confusion.sum(axis=0)) / n ** 2  # chance agreement
    if np.isclose(expected, 1.0):
        return float("nan")
    return float((np.trace(confusion) / n - expected) / (1.0 - expected))


def night_metrics(labels: np.ndarray, pred: np.ndarray, *,
                  class_names: tuple[str, ...] | list[str],
                  epoch_seconds: float = 30.0) -> NightMetrics:
    """Compute every figure the app and the reports show for one night.

    Parameters
    ----------
    labels : numpy.ndarray
        ``(E,)`` scored stages, ``-1`` for unscored epochs.
    pred : numpy.ndarray
        ``(E,)`` the model's predicted stages.
    class_names : sequence of str
        The model's stage names.
    epoch_seconds : float
        Length of one epoch.

    Returns
    -------
    NightMetrics

    Examples
    --------
    >>> import numpy as np
    >>> names = ("W", "N1", "N2", "N3", "N4", "REM")
    >>> m = night_metrics(np.array([0, 2, 3, 4, 5, -1]), np.array([0, 2, 4, 3, 5, 0]),
    ...                   class_names=names)
    >>> round(m.stages.accuracy, 2), m.merged.accuracy, m.n_scored
    (0.6, 1.0, 5)
    """
    names = tuple(class_names)
    labels, pred = _checked_pair(labels, pred, len(names))
    scored = labels != UNSCORED  # (E,)
    merged = None
    if scored.any() and "N3" in names and "N4" in names:
        merged_labels, merged_names = merge_n3_n4(labels, names)
        merged_pred, _ = merge_n3_n4(pred, names)
        merged = classification_metrics(merged_labels, merged_pred, merged_names)
    return NightMetrics(
        class_names=names,
        epoch_seconds=float(epoch_seconds),
        n_epochs=int(labels.size),
        n_scored=int(scored.sum()),
        stages=classification_metrics(labels, pred, names),
        merged=merged,
    )


def _checked_pair(labels: np.ndarray, pred: np.ndarray, num_classes: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predictions as int64 vectors of one length; labels out of range become -1."""
    labels = np.asarray(labels, dtype=np.int64)  # (E,)
    pred = np.asarray(pred, dtype=np.int64)  # (E,)
    if labels.ndim != 1 or labels.shape != pred.shape:
        raise DataError(
            f"labels {labels.shape} and predictions {pred.shape} must be two vectors of one "
            "length (one stage per epoch)"
        )
    if pred.size and (pred.min() < 0 or pred.max() >= num_classes):
        raise DataError(
            f"predicted stages must lie in 0..{num_classes - 1} for {num_classes} classes; "
            f"got {pred.min()}..{pred.max()}"
        )
    labels = np.where((labels >= 0) & (labels < num_classes), labels, UNSCORED)  # (E,)
    return labels, pred



def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, tied values sharing the mean of the ranks they span."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts_group = np.r_[True, ordered[1:] != ordered[:-1]]
    starts = np.flatnonzero(starts_group)
    ends = np.r_[starts[1:], values.size]
    ranks = np.empty(values.size)
    ranks[order] = ((starts + ends + 1) / 2.0)[np.cumsum(starts_group) - 1]
    return ranks


def rank_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation of two equally long sequences (ties get average ranks).

    Written with numpy so that a report, which compares saliency maps with it, does not import
    ``scipy.stats`` (1.3-2.6 s); the tests compare it with ``scipy.stats.spearmanr``.

    Parameters
    ----------
    x, y : numpy.ndarray
        Values, flattened; the same number of each.

    Returns
    -------
    float
        Between -1 and 1; NaN when either side is constant or holds a NaN.

    Examples
    --------
    >>> rank_correlation(np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 20.0, 30.0, 45.0]))
    1.0
    >>> round(rank_correlation(np.array([1.0, 2.0, 3.0]), np.array([3.0, 3.0, 1.0])), 3)
    -0.866
    """
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if x.size != y.size:
        raise ValueError(f"rank_correlation: {x.size} values against {y.size}; pass two sequences of one length")
    if x.size < 2 or np.isnan(x).any() or np.isnan(y).any():
        return float("nan")
    rx, ry = _average_ranks(x) - (x.size + 1) / 2.0, _average_ranks(y) - (y.size + 1) / 2.0
    spread = np.sqrt((rx @ rx) * (ry @ ry))
    return float(rx @ ry / spread) if spread > 0 else float("nan")
