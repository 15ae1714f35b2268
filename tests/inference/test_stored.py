"""Stored results (mesa_report.inference.stored): round trips, inconsistent files refused."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.core.errors import DataError
from mesa_report.inference.cohort import infer_cohort, infer_night
from mesa_report.inference.stored import NightResult


def test_results_round_trip_and_inconsistent_files_are_refused(tiny_model, nights, tmp_path):
    result = next(iter(infer_cohort(tiny_model, nights[:1], detail_samples=lambda r: [1])))
    loaded = NightResult.load(result.save(tmp_path / "r.npz"))
    assert loaded.temporal_samples.tolist() == [1]
    np.testing.assert_array_equal(loaded.stored.temporal, result.stored.temporal)
    assert "temporal_samples" not in loaded.stored.settings
    loaded.check(nights[0])
    with pytest.raises(DataError, match="mesa-sleep-0002"):
        loaded.check(nights[1])
    cut = NightResult(result.stored.__class__(**{**result.stored.__dict__, "probs": result.stored.probs[:-1]}),
                      result.temporal_samples)
    with pytest.raises(DataError, match="probs has shape"):
        cut.check()
    # a file written by NightInference.save holds every map
    full = NightResult.load(infer_night(tiny_model, nights[1]).save(tmp_path / "n.npz"))
    assert full.complete
