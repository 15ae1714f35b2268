"""What a different recording does to the same sleep: pieces of nights and recording conditions.

The demo model is trained on generated nights passed through these (``scripts/train_demo_model.py``)
so that it learns the stages' rules rather than the generator's signature:

- :func:`cut_night`: a stretch of a night as a recording of its own (shorter and longer recordings
  change what the per-night robust scaling divides by);
- :func:`recorded_like`: gain per night and per derivation, a spectral tilt per derivation
  (electrodes, filters and skulls differ), amplifier noise, electrode pops and slow sway.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from mesa_report.core.errors import ConfigError
from mesa_report.core.vocabulary import EPOCH_SECONDS
from mesa_report.demo.background import EEG_CHANNELS, EEG_SFREQ_HZ
from mesa_report.demo.generate import SyntheticNight

TILT_PIVOT_HZ = 10.0
"""A spectral tilt leaves this frequency's power unchanged."""


def cut_night(night: SyntheticNight, first_epoch: int, n_epochs: int) -> SyntheticNight:
    """Epochs ``first_epoch`` … ``first_epoch + n_epochs - 1`` of ``night`` as a recording of its own.

    Signals, stages and the events that lie wholly inside are kept; times restart at zero and the
    clock time moves on.

    Examples
    --------
    >>> from mesa_report.demo.generate import night_from_stages
    >>> night = night_from_stages(1, [0, 1, 2, 2, 3], seed=0)
    >>> piece = cut_night(night, 2, 2)
    >>> piece.stages.tolist(), piece.signals["EEG1"].shape, int(piece.events["epoch"].min())
    ([2, 2], (15360,), 0)
    """
    first, n = int(first_epoch), int(n_epochs)
    if first < 0 or n < 1 or first + n > night.n_epochs:
        raise ConfigError(f"epochs {first}..{first + n - 1}: the night has epochs 0..{night.n_epochs - 1}")
    signals = {}
    for channel, data in night.signals.items():
        per_epoch = int(round(EPOCH_SECONDS * night.sfreq_hz[channel]))
        signals[channel] = data[first * per_epoch:(first + n) * per_epoch].copy()
    offset_s = first * EPOCH_SECONDS
    events = night.events
    inside = (events["start_s"] >= offset_s) & (events["end_s"] <= offset_s + n * EPOCH_SECONDS)
    events = events[inside].copy()
    events["start_s"] -= offset_s
    events["end_s"] -= offset_s
    events["epoch"] -= first
    return dataclasses.replace(night, signals=signals, stages=night.stages[first:first + n].copy(),
                               events=events.reset_index(drop=True),
                               start_time=night.start_time + dt.timedelta(seconds=offset_s))


def tilt_spectrum(signal: np.ndarray, sfreq_hz: float, slope: float) -> np.ndarray:
    """``signal`` with its power multiplied by ``(f / 10 Hz) ** slope`` (flat below 0.3 Hz).

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(25600)
    >>> y = tilt_spectrum(x, 256.0, -1.0)
    >>> bool(np.std(np.diff(y)) < np.std(np.diff(x)))
    True
    """
    from scipy import fft as sfft  # here, not at the top: opening a built demo cohort never imports scipy.fft (0.2 s)

    spectrum = sfft.rfft(signal)
    freqs = np.fft.rfftfreq(len(signal), 1.0 / sfreq_hz)
    spectrum *= (np.maximum(freqs, 0.3) / TILT_PIVOT_HZ) ** (slope / 2.0)
    return sfft.irfft(spectrum, n=len(signal)).astype(np.float32)


def _pops_and_sway(n_samples: int, rng: np.random.Generator, per_hour: float) -> np.ndarray:
    """Electrode pops (a step decaying over 0.5-3 s) and sway (0.1-0.5 Hz for 10-60 s), µV."""
    out = np.zeros(n_samples, dtype=np.float32)
    hours = n_samples / EEG_SFREQ_HZ / 3600.0
    for _ in range(rng.poisson(per_hour * hours)):
        at = int(rng.integers(0, n_samples))
        t = np.arange(min(n_samples - at, int(6 * EEG_SFREQ_HZ))) / EEG_SFREQ_HZ
        out[at:at + len(t)] += rng.choice([-1, 1]) * rng.uniform(50, 300) * np.exp(-t / rng.uniform(0.5, 3))
    for _ in range(rng.poisson(per_hour * hours)):
        length = int(rng.uniform(10, 60) * EEG_SFREQ_HZ)
        at = int(rng.integers(0, max(1, n_samples - length)))
        t = np.arange(min(length, n_samples - at)) / EEG_SFREQ_HZ
        out[at:at + len(t)] += (rng.uniform(20, 80) * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t)
                                * np.sin(np.pi * t / max(t[-1], 1e-3)))
    return out


def recorded_like(night: SyntheticNight, rng: np.random.Generator, *, gain_sd: float = 0.35,
                  channel_gain_sd: float = 0.2, max_tilt: float = 0.5,
                  max_noise_uv: float = 3.0, artefacts_per_hour: float = 3.0) -> SyntheticNight:
    """``night`` as another amplifier, montage and sleeper would record it (EEG channels only).

    Each EEG derivation gets the night's gain times its own (lognormal), a spectral tilt drawn
    from ±``max_tilt`` (power slope), white noise up to ``max_noise_uv`` µV RMS, and electrode
    pops and slow sway at ``artefacts_per_hour`` each. Stages and events are unchanged.

    Examples
    --------
    >>> from mesa_report.demo.generate import night_from_stages
    >>> night = night_from_stages(1, [2] * 4, seed=0)
    >>> other = recorded_like(night, np.random.default_rng(0))
    >>> other.signals["EEG1"].shape == night.signals["EEG1"].shape, other.stages.tolist()
    (True, [2, 2, 2, 2])
    """
    night_gain = rng.lognormal(0.0, gain_sd)
    signals = dict(night.signals)
    for channel in EEG_CHANNELS:
        data = tilt_spectrum(night.signals[channel], EEG_SFREQ_HZ, rng.uniform(-max_tilt, max_tilt))
        data *= night_gain * rng.lognormal(0.0, channel_gain_sd)
        data += rng.uniform(0.0, max_noise_uv) * rng.standard_normal(len(data), dtype=np.float32)
        data += _pops_and_sway(len(data), rng, artefacts_per_hour)
        signals[channel] = data
    return dataclasses.replace(night, signals=signals)
