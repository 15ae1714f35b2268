"""A night's channels brought to the store's form: resampled to 128 Hz, band-passed, scaled, clipped.

Each channel is resampled to 128 Hz with a polyphase filter, then band-passed 0.3-35 Hz with a
zero-phase Butterworth filter (applied at 128 Hz, so the upper edge is always below Nyquist, also
for channels recorded at a low rate such as Thor at 32 Hz), centred on its median and divided by
its inter-quartile range over the night, then clipped to +-20.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from mesa_report.core.errors import IngestError
from mesa_report.core.vocabulary import SFREQ_HZ

BANDPASS_HZ = (0.3, 35.0)
"""Pass band of the EEG filter."""

FILTER_ORDER = 4
"""Butterworth order (doubled by the forward-backward pass)."""

CLIP_IQR = 20.0
"""Scaled samples are clipped to this many inter-quartile ranges from the median."""

QUANTILE_STEP = 4
"""Median and quartiles are taken over every 4th sample (32 per second)."""

_MAX_RATIO_DENOMINATOR = 1000


def _resample_ratio(sfreq_hz: float) -> Fraction:
    ratio = (Fraction(SFREQ_HZ) / Fraction(sfreq_hz)).limit_denominator(_MAX_RATIO_DENOMINATOR)
    if ratio <= 0:
        raise IngestError(f"sampling rate {sfreq_hz} Hz cannot be resampled")
    return ratio


def resample_to_store(data: Sequence[np.ndarray], rates_hz: Sequence[float]) -> np.ndarray:
    """Resample channels recorded at any rates to 128 Hz with a polyphase filter.

    Channels of one rate are resampled together.

    Parameters
    ----------
    data : sequence of numpy.ndarray
        One 1-D array per channel, covering the same time span.
    rates_hz : sequence of float
        Their sampling rates.

    Returns
    -------
    numpy.ndarray, shape (channels, T), float32
        At 128 Hz, cut to the shortest channel.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> resample_to_store([rng.normal(size=256 * 60), rng.normal(size=32 * 60)],
    ...                   [256.0, 32.0]).shape
    (2, 7680)
    """
    from scipy import signal as sps  # imported where used: see bandpass_and_scale

    groups = {}  # rate -> (channel indices, common input length, resampling ratio)
    for rate in sorted(set(rates_hz)):
        members = [k for k, r in enumerate(rates_hz) if r == rate]
        groups[rate] = (members, min(len(data[k]) for k in members), _resample_ratio(rate))
    n_samples = min(math.ceil(length * ratio) for _, length, ratio in groups.values())
    resampled = np.empty((len(data), n_samples), dtype=np.float32)  # (C, T) at 128 Hz
    for members, length, ratio in groups.values():
        block = np.stack([data[k][:length] for k in members]).astype(np.float32)  # (k, n)
        if ratio != 1:
            block = sps.resample_poly(block, ratio.numerator, ratio.denominator, axis=-1)
        resampled[members] = block[:, :n_samples]
    return resampled


def bandpass_and_scale(signal: np.ndarray, flat: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Band-pass 0.3-35 Hz (zero phase), centre on the median, divide by the IQR, clip.

    Parameters
    ----------
    signal : numpy.ndarray, shape (channels, T)
        At 128 Hz.
    flat : numpy.ndarray of bool, shape (channels,), optional
        Channels that were constant as recorded (resampling adds a ripple, so this is decided
        on the raw data). They, and any channel whose filtered quartiles coincide, are stored
        as zeros.

    Returns
    -------
    scaled : numpy.ndarray, shape (channels, T), float32
    medians, iqrs : numpy.ndarray, shape (channels,)
        Per-channel median and inter-quartile range of the filtered signal (input units); 0 for
        a flat channel.

    Examples
    --------
    >>> noise = np.random.default_rng(0).normal(5.0, 2.0, size=(2, 128 * 600))
    >>> scaled, medians, iqrs = bandpass_and_scale(noise)
    >>> bool(abs(np.median(scaled)) < 0.05), bool(np.abs(scaled).max() <= 20)
    (True, True)
    """
    # scipy.signal is imported here, not with the module: it brings scipy.stats (1.3 s) into every
    # process that only reads a store, e.g. a `report` on the demo, whose package imports this one
    from scipy import signal as sps

    signal = np.asarray(signal, dtype=np.float32)
    flat = np.zeros(len(signal), dtype=bool) if flat is None else np.asarray(flat, dtype=bool)
    sos = sps.butter(FILTER_ORDER, BANDPASS_HZ, btype="bandpass", fs=SFREQ_HZ, output="sos")
    # float32 throughout: the store keeps float32, and the error is ~1e-4 of the signal's spread.
    filtered = sps.sosfiltfilt(sos.astype(np.float32), signal, axis=-1)  # (C, T) float32
    every = filtered[:, ::QUANTILE_STEP]  # (C, T / step): 32 samples/s are plenty for quartiles
    q25, medians, q75 = np.percentile(every, [25, 50, 75], axis=-1)  # (C,) each
    flat = flat | (q75 <= q25)  # also a channel constant over more than half the night
    iqrs = np.where(flat, 0.0, q75 - q25)
    filtered -= medians[:, None].astype(np.float32)
    filtered /= np.where(iqrs > 0, iqrs, 1.0)[:, None].astype(np.float32)
    np.clip(filtered, -CLIP_IQR, CLIP_IQR, out=filtered)
    filtered[flat] = 0.0
    return filtered, medians, iqrs
