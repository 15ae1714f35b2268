"""The demo generator's nights against real sleep EEG: band shares, spectral peaks, exponents, spindles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mesa_report.demo import realism
from mesa_report.demo.generate import night_from_stages

W, N1, N2, N3, N4, REM = range(6)


SFREQ = 256.0


@pytest.fixture(scope="module", params=[0, 1])
def block_night(request):
    """Twelve epochs of each stage (six minutes), two sleepers."""
    return night_from_stages(40 + request.param, np.repeat([W, N1, N2, N3, N4, REM], 12),
                             seed=request.param)


def test_every_stage_has_the_band_shares_of_real_eeg_and_no_peak_real_eeg_lacks(block_night):
    table = realism.stage_table([block_night], "EEG3")
    assert table["stage"].tolist() == ["W", "N1", "N2", "N3", "N4", "REM"]
    assert realism.share_misses(table) == []
    assert table["peak_hz"].isna().all(), table[["stage", "peak_hz"]]
    shares = table.set_index("stage")[list(realism.BAND_LABELS)]
    assert shares.loc["N4", "0.5-4 Hz"] > shares.loc["N3", "0.5-4 Hz"] > shares.loc["N2", "0.5-4 Hz"]


def test_the_aperiodic_exponent_is_flattest_in_wake_and_steepest_in_rem(block_night):
    exponent = realism.stage_table([block_night], "EEG3").set_index("stage")["exponent"]
    assert exponent["W"] < exponent["N1"] < exponent["N2"] < exponent["REM"]
    assert exponent["W"] < exponent["N3"] < exponent["REM"]


def test_spindles_have_real_size_frequency_contrast_and_density(block_night):
    spindles = realism.spindle_summary([block_night], "EEG3")["planted"]
    # real median 32 µV; each sleeper's overall gain (lognormal, sd 0.2) moves it up to 1.5x
    real = realism.REAL_SPINDLES["amplitude_uv"]
    assert real / 1.6 <= spindles["amplitude_uv"] <= real * 1.6, spindles
    assert 12.5 <= spindles["frequency_hz"] <= 14.5
    assert 1.4 <= spindles["contrast"] <= 2.6
    assert 2.0 <= spindles["per_minute"] <= 7.0  # 4 a minute on average, Poisson per epoch


def test_a_drifting_spectrum_is_caught():
    """The old generator's 5.5 Hz N2 rhythm: a share out of range and a peak real N2 lacks."""
    night = night_from_stages(42, [N2] * 12, seed=3)
    t = np.arange(len(night.signals["EEG3"])) / SFREQ
    rng = np.random.default_rng(0)
    theta = np.sin(2 * np.pi * 5.5 * t + np.cumsum(rng.normal(0, 0.02, len(t))))
    night.signals["EEG3"] += (20.0 * theta).astype(np.float32)
    table = realism.stage_table([night], "EEG3")
    assert any(miss.startswith("N2 4-8 Hz") for miss in realism.share_misses(table))
    assert table["peak_hz"].iloc[0] == pytest.approx(5.5, abs=0.5)


def test_the_measurements_agree_with_the_reference_on_real_recordings(realdata):
    """The same code on the real N3 and wake snippets lands near the reference rows."""
    snippets = {source: (stage, samples, rate)
                for source, stage, samples, rate in realism.real_snippets(realdata)}
    for source in ("yasa N3 (central)", "Sleep-EDF Pz-Oz"):
        stage, samples, rate = snippets[source]
        row = {"stage": stage, **realism.snippet_summary(samples, rate)}
        assert realism.share_misses(pd.DataFrame([row])) == [], (source, row)
    stage, samples, rate = snippets["yasa N2 (central)"]
    found = realism.spindle_measures(samples, rate, realism.detect_spindles(samples, rate))
    assert len(found) >= 2 and found["frequency_hz"].between(11, 16).all()
