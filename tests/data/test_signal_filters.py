"""Signal processing (mesa_report.data.signal_filters): low-rate channels keep their content, flat ones are reported."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.data.signal_filters import bandpass_and_scale, resample_to_store

from ..ingest_common import peak_hz


def test_low_rate_channels_keep_their_content_and_flat_ones_are_reported():
    rng = np.random.default_rng(3)
    slow = np.sin(2 * np.pi * 0.5 * np.arange(32 * 600) / 32) + 0.01 * rng.normal(size=32 * 600)
    resampled = resample_to_store([rng.normal(size=256 * 600), slow, np.full(100 * 600, 7.0)],
                                  [256.0, 32.0, 100.0])
    assert resampled.shape == (3, 128 * 600) and resampled.dtype == np.float32
    scaled, medians, iqrs = bandpass_and_scale(resampled, np.array([False, False, True]))
    assert scaled.dtype == np.float32
    assert peak_hz(scaled[1])[0] == pytest.approx(0.5, abs=0.15)
    assert iqrs[1] > 0 and iqrs[2] == 0
    assert not scaled[2].any()
