"""What the tests of cohort share: fixtures and helpers."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.data.night_files import write_night
from mesa_report.data.stage_strings import stage_string
from mesa_report.data.store import Night

LENGTHS = {1: 47, 2: 20, 3: 33}  # epochs: samples [0, 20, 27], [0], [0, 13]


@pytest.fixture
def nights(tmp_path):
    rng = np.random.default_rng(3)
    made = []
    for mesaid, n_epochs in LENGTHS.items():
        labels = rng.integers(0, 6, n_epochs)
        labels[4] = -1
        path = write_night(tmp_path, mesaid, rng.standard_normal((4, n_epochs * 3840)).astype(np.float32), labels)
        made.append(Night(path, mesaid, stage_string(labels)))
    return made
