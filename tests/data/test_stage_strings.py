"""Stage strings (mesa_report.data.stage_strings): parsed as the seed does, round trips, label counts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesa_report.data.stage_strings import label_counts, parse_stage_string, stage_string


def seed_labels(stages: str, n_epochs: int) -> list[int]:
    """The seed's rules, written plainly: skip non-digits, 0-5 stages, other digits -1, cut/pad."""
    digits = [int(ch) for ch in stages if ch in "0123456789"]
    labels = [d if 0 <= d <= 5 else -1 for d in digits][:n_epochs]
    return labels + [-1] * (n_epochs - len(labels))


@pytest.mark.parametrize("stages, n_epochs, expected", [
    ("012345", 6, [0, 1, 2, 3, 4, 5]),
    ("0123456789", 10, [0, 1, 2, 3, 4, 5, -1, -1, -1, -1]),
    ("0,1 2-?x3", 4, [0, 1, 2, 3]),
    ("2222", 2, [2, 2]),
    ("22", 4, [2, 2, -1, -1]),
    ("", 3, [-1, -1, -1]),
])
def test_parse_stage_string_follows_the_seed(stages, n_epochs, expected):
    labels = parse_stage_string(stages, n_epochs)
    assert labels.dtype == np.int64
    assert labels.tolist() == expected


@given(st.text(alphabet="0123456789 ,?xW", max_size=60), st.integers(0, 80))
def test_parse_stage_string_matches_a_plain_reimplementation(stages, n_epochs):
    assert parse_stage_string(stages, n_epochs).tolist() == seed_labels(stages, n_epochs)


@given(st.lists(st.integers(-1, 5), max_size=50))
def test_stage_string_round_trips(labels):
    text = stage_string(np.array(labels, dtype=np.int64))
    assert text.isdigit() or text == ""
    assert parse_stage_string(text, len(labels)).tolist() == labels


def test_label_counts_cover_every_epoch():
    counts = label_counts(np.array([0, 0, 1, 5, -1, -1, 4]))
    assert counts == {"W": 2, "N1": 1, "N2": 0, "N3": 0, "N4": 1, "REM": 1, "?": 2}
    assert sum(counts.values()) == 7
