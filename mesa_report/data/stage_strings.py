"""The index's ``sleep_stages`` strings (one digit per 30 s epoch) and the label arrays they stand for."""

from __future__ import annotations

import numpy as np

from mesa_report.core.vocabulary import CLASS_NAMES_6, UNSCORED, UNSCORED_NAME

UNSCORED_DIGIT = "9"
"""Character written into ``sleep_stages`` for an unscored epoch (NSRR's ``Unscored|9``)."""


def parse_stage_string(stages: str, n_epochs: int) -> np.ndarray:
    """Labels of a night from its ``sleep_stages`` string, with the seed's rules.

    Characters that are not digits are skipped; digits ``0``-``5`` are stages, any other digit is
    unscored (``-1``); the result is cut to ``n_epochs`` or padded with ``-1``.

    Examples
    --------
    >>> parse_stage_string("0 1-2,9", 5).tolist()
    [0, 1, 2, -1, -1]
    """
    digits = np.frombuffer("".join(ch for ch in str(stages) if ch.isascii() and ch.isdigit())
                           .encode("ascii"), dtype=np.uint8).astype(np.int64) - ord("0")
    digits[digits > len(CLASS_NAMES_6) - 1] = UNSCORED
    labels = np.full(int(n_epochs), UNSCORED, dtype=np.int64)  # (n_epochs,)
    n = min(len(digits), int(n_epochs))
    labels[:n] = digits[:n]
    return labels


def stage_string(labels: np.ndarray) -> str:
    """The ``sleep_stages`` string of a label array (unscored written as ``9``).

    Examples
    --------
    >>> stage_string(np.array([0, 2, -1, 5]))
    '0295'
    """
    labels = np.asarray(labels, dtype=np.int64)
    valid = (labels >= 0) & (labels < len(CLASS_NAMES_6))
    return "".join(str(int(v)) if ok else UNSCORED_DIGIT for v, ok in zip(labels, valid))


def label_counts(labels: np.ndarray) -> dict[str, int]:
    """Epochs per stage name, unscored counted under ``?``.

    Examples
    --------
    >>> label_counts(np.array([0, 0, 2, -1]))
    {'W': 2, 'N1': 0, 'N2': 1, 'N3': 0, 'N4': 0, 'REM': 0, '?': 1}
    """
    labels = np.asarray(labels, dtype=np.int64)
    counts = {name: int(np.sum(labels == code)) for code, name in enumerate(CLASS_NAMES_6)}
    counts[UNSCORED_NAME] = int(len(labels) - sum(counts.values()))
    return counts
