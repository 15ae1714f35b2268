"""How much generated nights look like real sleep EEG: spectra per stage and spindles, measured alike.

The same measurements run on generated nights and on real recordings (``../shared/realdata``),
and are set beside figures measured on expert-scored recordings kept apart from the project
(issue 20, :data:`REAL_STAGE_SHARES`):

- band shares: power in 0.5-4, 4-8, 8-12, 11-16 and 16-30 Hz as shares of 0.5-30 Hz power
  (Welch, 4 s Hann windows, per 30 s epoch; the median over a stage's epochs);
- the median SD of an epoch in µV after the store's 0.3-35 Hz band-pass;
- the spectral peak: a local maximum of the stage's median spectrum in 2-30 Hz that stands out
  by :data:`PEAK_PROMINENCE` (log10) after 1.5 Hz smoothing, NaN where the spectrum is 1/f;
- the aperiodic exponent: the slope of a straight line through log power against log frequency
  over 2-30 Hz, refitted once without the points more than 0.1 above the first fit (peaks), as
  specparam's fixed mode does;
- spindles: peak to peak of the 10-16 Hz band inside the spindle, frequency from the zero
  crossings of that band, contrast = the band's RMS inside the spindle over its RMS across the
  epoch, and density per minute of N2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d
from scipy.signal import butter, find_peaks, sosfiltfilt, welch

from mesa_report.data.signal_filters import BANDPASS_HZ
from mesa_report.core.vocabulary import CLASS_NAMES_6
from mesa_report.core.vocabulary import EPOCH_SECONDS

BANDS_HZ = ((0.5, 4.0), (4.0, 8.0), (8.0, 12.0), (11.0, 16.0), (16.0, 30.0))
"""The bands of the share table; 8-12 and 11-16 overlap as in the reference."""

BAND_LABELS = tuple(f"{low:g}-{high:g} Hz" for low, high in BANDS_HZ)

REAL_STAGE_SHARES = {
    "W": ((0.63, 0.12, 0.11, 0.09, 0.06), 11.9),
    "N1": ((0.63, 0.17, 0.13, 0.06, 0.04), 11.8),
    "N2": ((0.76, 0.13, 0.05, 0.05, 0.01), 17.3),
    "N3": ((0.84, 0.10, 0.04, 0.03, 0.01), 23.1),
    "N4": ((0.88, 0.07, 0.03, 0.02, 0.01), 29.5),
}
"""Band shares and median SD (µV) of a central channel in expert-scored recordings (issue 20)."""

REAL_SPINDLES = {"amplitude_uv": 32.0, "frequency_hz": 13.4, "contrast": 1.8, "per_minute": 4.0}
"""Spindles of real N2 on a central channel, same measurement (issue 20)."""

REAL_SCALED_SD = {"W": 0.67, "N1": 0.67, "N2": 0.87, "N3": 1.15}
"""Median epoch SD after the store's per-night robust scaling, real recordings (issue 20)."""

SHARE_TOLERANCE = 0.08
"""Largest accepted distance of a generated band share from the real one."""

PEAK_PROMINENCE = 0.1
"""A spectral peak must stand this far (log10 power, about 1.26x) above its surroundings."""

WELCH_SECONDS = 4.0
SIGMA_HZ = (10.0, 16.0)
"""Band in which spindle size and contrast are measured."""

_FIT_HZ = (2.0, 30.0)


def epoch_spectra(epochs: np.ndarray, sfreq_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch spectra of each row of ``epochs`` (n, samples): frequencies and power (n, bins).

    Examples
    --------
    >>> freqs, power = epoch_spectra(np.random.default_rng(0).standard_normal((2, 3000)), 100.0)
    >>> power.shape, float(freqs[1])
    ((2, 201), 0.25)
    """
    nperseg = min(int(WELCH_SECONDS * sfreq_hz), epochs.shape[-1])
    return welch(np.atleast_2d(epochs), sfreq_hz, nperseg=nperseg, axis=-1)


def band_shares(freqs: np.ndarray, power: np.ndarray) -> np.ndarray:
    """Power in each of :data:`BANDS_HZ` as a share of 0.5-30 Hz power, shape (n, 5).

    Examples
    --------
    >>> f = np.arange(0, 50, 0.25)
    >>> band_shares(f, np.ones((1, len(f)))).round(2).tolist()
    [[0.12, 0.14, 0.14, 0.17, 0.47]]
    """
    power = np.atleast_2d(power)
    total = power[:, (freqs >= 0.5) & (freqs < 30.0)].sum(axis=1)
    return np.stack([power[:, (freqs >= low) & (freqs < high)].sum(axis=1) / total
                     for low, high in BANDS_HZ], axis=1)


def _bandpass(x: np.ndarray, band_hz: tuple[float, float], sfreq_hz: float) -> np.ndarray:
    sos = butter(4, band_hz, btype="bandpass", fs=sfreq_hz, output="sos")
    return sosfiltfilt(sos, np.asarray(x, dtype=float), axis=-1)


def epoch_sd_uv(epochs: np.ndarray, sfreq_hz: float) -> np.ndarray:
    """SD of each epoch after the store's 0.3-35 Hz band-pass, µV."""
    return _bandpass(np.atleast_2d(epochs), BANDPASS_HZ, sfreq_hz).std(axis=-1)


def aperiodic_exponent(freqs: np.ndarray, power: np.ndarray) -> float:
    """Minus the log-log slope over 2-30 Hz, refitted without peaks (specparam's fixed mode).

    Examples
    --------
    >>> f = np.arange(0.25, 40, 0.25)
    >>> round(aperiodic_exponent(f, f ** -2.0 * (1 + 3 * np.exp(-(f - 12) ** 2))), 2)
    2.0
    """
    keep = (freqs >= _FIT_HZ[0]) & (freqs <= _FIT_HZ[1])
    log_f, log_p = np.log10(freqs[keep]), np.log10(power[keep])
    slope, offset = np.polyfit(log_f, log_p, 1)
    flat = log_p - (slope * log_f + offset) < 0.1
    slope, _ = np.polyfit(log_f[flat], log_p[flat], 1)
    return float(-slope)


def spectral_peak_hz(freqs: np.ndarray, power: np.ndarray) -> float:
    """The most prominent local maximum in 2-30 Hz of a spectrum, NaN if there is none.

    Examples
    --------
    >>> f = np.arange(0.25, 40, 0.25)
    >>> spectral_peak_hz(f, 1 / f ** 2), spectral_peak_hz(f, 1 / f ** 2 + 0.05 * np.exp(-(f - 10) ** 2))
    (nan, 10.0)
    """
    step_hz = float(freqs[1] - freqs[0])
    smooth = uniform_filter1d(np.log10(power), max(1, int(round(1.5 / step_hz))))
    keep = np.flatnonzero((freqs >= _FIT_HZ[0]) & (freqs <= _FIT_HZ[1]))
    peaks, props = find_peaks(smooth[keep], prominence=PEAK_PROMINENCE)
    if len(peaks) == 0:
        return float("nan")
    return float(freqs[keep][peaks[np.argmax(props["prominences"])]])


def stage_summary(epochs: np.ndarray, sfreq_hz: float) -> dict:
    """Band shares, SD, peak and exponent of one stage's epochs (n, samples)."""
    freqs, power = epoch_spectra(epochs, sfreq_hz)
    median_power = np.median(power, axis=0)
    shares = np.median(band_shares(freqs, power), axis=0)
    return {"epochs": len(power), **{k: round(float(v), 3) for k, v in zip(BAND_LABELS, shares)},
            "sd_uv": round(float(np.median(epoch_sd_uv(epochs, sfreq_hz))), 1),
            "peak_hz": spectral_peak_hz(freqs, median_power),
            "exponent": round(aperiodic_exponent(freqs, median_power), 2)}


def stage_table(nights, channel: str = "EEG3") -> pd.DataFrame:
    """:func:`stage_summary` of every stage over ``nights`` (SyntheticNight), one row a stage.

    Examples
    --------
    >>> from mesa_report.demo.generate import night_from_stages
    >>> night = night_from_stages(1, [0, 0, 2, 2, 3, 3], seed=0)
    >>> stage_table([night])["stage"].tolist()
    ['W', 'N2', 'N3']
    """
    rows = []
    for code, name in enumerate(CLASS_NAMES_6):
        epochs = [night.signals[channel].reshape(night.n_epochs, -1)[night.stages == code]
                  for night in nights]
        stacked = np.concatenate(epochs)
        if len(stacked):
            rows.append({"stage": name, **stage_summary(stacked, nights[0].sfreq_hz[channel])})
    return pd.DataFrame(rows)


def share_misses(table: pd.DataFrame, tolerance: float = SHARE_TOLERANCE) -> list[str]:
    """Every band share of ``table`` further than ``tolerance`` from :data:`REAL_STAGE_SHARES`.

    Examples
    --------
    >>> row = dict(zip(BAND_LABELS, (0.5, 0.12, 0.11, 0.09, 0.06)), stage="W")
    >>> share_misses(pd.DataFrame([row]))
    ['W 0.5-4 Hz: 0.500 vs real 0.63']
    """
    misses = []
    for _, row in table.iterrows():
        if row["stage"] not in REAL_STAGE_SHARES:
            continue
        real, _ = REAL_STAGE_SHARES[row["stage"]]
        misses += [f"{row['stage']} {label}: {row[label]:.3f} vs real {value:g}"
                   for label, value in zip(BAND_LABELS, real)
                   if abs(row[label] - value) > tolerance]
    return misses


def spindle_measures(signal: np.ndarray, sfreq_hz: float,
                     intervals_s: list[tuple[float, float]]) -> pd.DataFrame:
    """Size, frequency and contrast of each spindle ``(start_s, end_s)`` in ``signal`` (µV).

    The contrast divides the 10-16 Hz RMS inside the spindle by the RMS over the 30 s epoch
    around it (the whole signal when shorter).
    """
    sigma = _bandpass(signal, SIGMA_HZ, sfreq_hz)
    epoch = int(round(EPOCH_SECONDS * sfreq_hz))
    rows = []
    for start_s, end_s in intervals_s:
        first, last = int(round(start_s * sfreq_hz)), int(round(end_s * sfreq_hz))
        piece = sigma[first:last]
        epoch_first = min(first // epoch * epoch, max(0, len(sigma) - epoch))
        around = sigma[epoch_first:epoch_first + epoch]
        crossings = np.count_nonzero(np.diff(np.signbit(piece)))
        rows.append({"amplitude_uv": float(np.ptp(piece)),
                     "frequency_hz": crossings / 2.0 / ((last - first) / sfreq_hz),
                     "contrast": float(np.sqrt(np.mean(piece ** 2) / np.mean(around ** 2)))})
    return pd.DataFrame(rows, columns=["amplitude_uv", "frequency_hz", "contrast"])


def detect_spindles(signal: np.ndarray, sfreq_hz: float,
                    threshold: float = 1.5) -> list[tuple[float, float]]:
    """Spindles of 0.5-2 s where the 11-16 Hz RMS (0.3 s window) exceeds ``threshold`` times its
    median over the signal; a plain detector, the same for real and generated EEG.

    Examples
    --------
    >>> t = np.arange(0, 30, 0.01)
    >>> burst = 8 * np.sin(2 * np.pi * 13 * t) * (abs(t - 10) < 0.5)
    >>> x = np.random.default_rng(0).standard_normal(len(t)) + burst
    >>> [bool(start_s < 10.0 < end_s) for start_s, end_s in detect_spindles(x, 100.0)]
    [True]
    """
    sigma = _bandpass(signal, (11.0, 16.0), sfreq_hz)
    rms = np.sqrt(uniform_filter1d(sigma ** 2, max(1, int(0.3 * sfreq_hz))))
    above = np.concatenate([[False], rms > threshold * np.median(rms), [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    found = []
    for first, last in zip(edges[::2], edges[1::2]):
        if 0.5 <= (last - first) / sfreq_hz <= 2.0:
            found.append((first / sfreq_hz, last / sfreq_hz))
    return found


def real_snippets(realdata_dir) -> list[tuple[str, str, np.ndarray, float]]:
    """``(source, stage, µV samples, rate)`` of the real EEG in ``realdata_dir`` (see its
    PROVENANCE.md): YASA's N2 with spindles and N3, Sleep-EDF's first 300 s of wake (both EEG).

    Examples
    --------
    >>> real_snippets("/nowhere")
    []
    """
    from pathlib import Path

    import edfio

    root = Path(realdata_dir)
    found = []
    for name, stage, rate in (("data_N2_spindles_15sec_200Hz.txt", "N2", 200.0),
                              ("data_N3_no-spindles_30sec_100Hz.txt", "N3", 100.0)):
        path = root / "yasa" / name
        if path.is_file():
            found.append((f"yasa {stage} (central)", stage, np.loadtxt(path), rate))
    edf_path = root / "sleepedf" / "SC4001E0-first300s.edf"
    if edf_path.is_file():
        for signal in edfio.read_edf(edf_path).signals:
            if signal.label.startswith("EEG"):
                found.append((f"Sleep-EDF {signal.label[4:]}", "W", signal.data,
                              float(signal.sampling_frequency)))
    return found


def snippet_summary(samples: np.ndarray, sfreq_hz: float) -> dict:
    """:func:`stage_summary` of a real recording cut into 30 s epochs (one epoch when shorter)."""
    epoch = int(round(EPOCH_SECONDS * sfreq_hz))
    n_epochs = len(samples) // epoch
    epochs = samples[:n_epochs * epoch].reshape(n_epochs, epoch) if n_epochs else samples[None, :]
    return stage_summary(epochs, sfreq_hz)


def scaled_sd_by_stage(nights, channel: str = "EEG3") -> dict[str, float]:
    """Median epoch SD per stage after dividing each night by its IQR, as the store scales.

    Examples
    --------
    >>> from mesa_report.demo.generate import night_from_stages
    >>> sorted(scaled_sd_by_stage([night_from_stages(1, [0, 2, 3], seed=0)]))
    ['N2', 'N3', 'W']
    """
    per_stage: dict[str, list[float]] = {}
    for night in nights:
        rate = night.sfreq_hz[channel]
        filtered = _bandpass(night.signals[channel], BANDPASS_HZ, rate)
        q25, q75 = np.percentile(filtered, [25, 75])
        sds = filtered.reshape(night.n_epochs, -1).std(axis=1) / (q75 - q25)
        for code, name in enumerate(CLASS_NAMES_6):
            per_stage.setdefault(name, []).extend(sds[night.stages == code].tolist())
    return {name: round(float(np.median(v)), 2) for name, v in per_stage.items() if v}


def spindle_summary(nights, channel: str = "EEG3") -> dict[str, dict[str, float]]:
    """Median spindle size, frequency, contrast and N2 density of generated nights: of the planted
    spindles (``planted``) and of those :func:`detect_spindles` finds in N2 epochs (``detected``).
    """
    planted, detected, n2_minutes = [], [], 0.0
    for night in nights:
        rate = night.sfreq_hz[channel]
        events = night.events
        mine = events[(events["kind"] == "spindle") & (events["channel"] == channel)
                      & np.isin(events["epoch"], np.flatnonzero(night.stages == 2))]
        planted.append(spindle_measures(night.signals[channel], rate,
                                        list(zip(mine["start_s"], mine["end_s"]))))
        epochs = night.signals[channel].reshape(night.n_epochs, -1)
        for epoch in np.flatnonzero(night.stages == 2):
            found = detect_spindles(epochs[epoch], rate)
            detected.append(spindle_measures(epochs[epoch], rate, found))
        n2_minutes += np.count_nonzero(night.stages == 2) * EPOCH_SECONDS / 60.0
    return {name: _spindle_row(pd.concat(frames), n2_minutes)
            for name, frames in (("planted", planted), ("detected", detected))}


def _spindle_row(frame: pd.DataFrame, minutes: float) -> dict:
    quartiles = np.percentile(frame["amplitude_uv"], [25, 50, 75]) if len(frame) else [np.nan] * 3
    q25, q50, q75 = (round(float(q), 1) for q in quartiles)
    return {"amplitude_uv": q50, "amplitude_iqr": (q25, q75),
            "frequency_hz": round(float(frame["frequency_hz"].median()), 2),
            "contrast": round(float(frame["contrast"].median()), 2),
            "per_minute": round(float(len(frame) / minutes), 2) if minutes else float("nan")}
