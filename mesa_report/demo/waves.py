"""Waveforms of the events planted into a generated night, and where in an epoch they go.

Each event is drawn once on the derivation that sees it best (a :class:`Wave`, µV at 256 Hz) and
then spread over the channels that see it, with the gain and polarity of :data:`EVENT_GAIN`
(:func:`spread`). Sizes follow published and measured figures: spindles 11-16 Hz, 0.5-2 s,
about 32 µV peak to peak in 10-16 Hz on a central derivation (real N2, see :mod:`.realism`);
K-complexes and slow waves over 75 µV on the frontal derivation (AASM scoring manual); vertex
waves sharp and negative at Cz; sawtooth waves 2-5 Hz in REM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mesa_report.core.vocabulary import EPOCH_SECONDS
from mesa_report.demo.background import EEG_SFREQ_HZ, EDF_EPOCH_SAMPLES, NightStyle

RESP_SFREQ_HZ = 32.0
"""Sampling rate of the respiration channel (as in MESA)."""

EDGE_MARGIN_S = 0.25
"""Events keep this distance from epoch boundaries."""

EVENT_GAIN = {
    "alpha": {"EEG1": 0.12, "EEG2": 1.0, "EEG3": 0.25},
    "theta": {"EEG1": 1.0, "EEG2": 0.5, "EEG3": 0.8},
    "spindle": {"EEG1": 0.55, "EEG2": 0.6, "EEG3": 1.0},
    "k_complex": {"EEG1": 1.0, "EEG2": 0.55, "EEG3": 0.85, "EOG-L": 0.35, "EOG-R": 0.35},
    "slow_wave": {"EEG1": 1.0, "EEG2": 0.6, "EEG3": 0.85, "EOG-L": 0.35, "EOG-R": 0.35},
    "vertex_wave": {"EEG1": -0.7, "EEG2": 1.0, "EEG3": 0.6},
    "sawtooth": {"EEG1": 0.8, "EEG2": 0.6, "EEG3": 1.0},
    "blink": {"EOG-L": 1.0, "EOG-R": 1.0, "EEG1": 0.5, "EEG2": 0.03, "EEG3": 0.1},
    "saccade": {"EOG-L": 1.0, "EOG-R": -1.0, "EEG1": 0.2, "EEG3": 0.1},
    "rapid_eye_movement": {"EOG-L": 1.0, "EOG-R": -1.0, "EEG1": 0.1, "EEG3": 0.08},
    "slow_eye_movement": {"EOG-L": 1.0, "EOG-R": -1.0, "EEG1": 0.12, "EEG3": 0.1},
    "muscle": {"EEG1": 1.0, "EEG2": 0.3, "EEG3": 0.8, "EMG": 1.5},
}
"""Gain of each event kind per channel (sign = polarity of the derivation)."""


@dataclass(frozen=True)
class Planted:
    """One event in the night: where it starts, its waveform on each channel (µV, channel rate)."""

    kind: str
    start_s: float
    waveforms: dict[str, np.ndarray]
    frequency_hz: float = float("nan")


@dataclass(frozen=True)
class Wave:
    """A waveform still to be placed: µV on its strongest derivation, at the EEG rate."""

    kind: str
    shape: np.ndarray
    frequency_hz: float = float("nan")

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.shape) / EEG_SFREQ_HZ


def seconds(n_seconds: float) -> np.ndarray:
    """Sample times of a stretch of ``n_seconds`` at the EEG rate."""
    return np.arange(int(round(n_seconds * EEG_SFREQ_HZ))) / EEG_SFREQ_HZ


def on_grid(time_s: float) -> float:
    """Round a time up to the respiration sample grid (every channel then starts on a sample)."""
    return float(np.ceil(time_s * RESP_SFREQ_HZ) / RESP_SFREQ_HZ)


def taper(n: int, fraction: float = 0.5) -> np.ndarray:
    """Tukey window of ``n`` samples: zero at both ends, flat in the middle."""
    edge = max(1, int(n * fraction / 2))
    window = np.ones(n)
    ramp = 0.5 * (1 - np.cos(np.pi * np.arange(edge) / edge))
    window[:edge] = ramp
    window[n - edge:] = ramp[::-1]
    return window


def spread(wave: Wave, start_s: float, style: NightStyle,
           gains: dict[str, float] | None = None) -> Planted:
    """The wave on every channel that sees it, scaled by the channel's gain (default
    :data:`EVENT_GAIN` of its kind)."""
    gains = EVENT_GAIN[wave.kind] if gains is None else gains
    return Planted(wave.kind, start_s, {ch: gain * style.gain(ch) * wave.shape
                                        for ch, gain in gains.items()}, wave.frequency_hz)


def place(durations_s: list[float], rng: np.random.Generator) -> list[float]:
    """Random non-overlapping start times (s from the epoch start) for stretches inside an epoch.

    Stretches that do not fit are dropped (their start is NaN).
    """
    usable = EPOCH_SECONDS - 2 * EDGE_MARGIN_S
    kept = []
    total = 0.0
    for index in rng.permutation(len(durations_s)):
        if total + durations_s[index] <= usable:
            kept.append(index)
            total += durations_s[index]
    gaps = rng.dirichlet(np.ones(len(kept) + 1)) * (usable - total)
    starts = [float("nan")] * len(durations_s)
    position = EDGE_MARGIN_S
    for gap, index in zip(gaps, kept):
        starts[index] = on_grid(position + gap)
        position = starts[index] + durations_s[index]
    return starts


def scatter(epoch_s: float, waves: list[Wave], rng: np.random.Generator,
            style: NightStyle) -> list[Planted]:
    """Place waves at random, without overlap, inside the epoch starting at ``epoch_s``."""
    starts = place([wave.duration_s for wave in waves], rng)
    return [spread(wave, epoch_s + start, style)
            for wave, start in zip(waves, starts) if np.isfinite(start)]


def narrowband(n_rows: int, centre_hz: np.ndarray, width_hz: float,
               rng: np.random.Generator) -> np.ndarray:
    """Unit-variance noise in a band around ``centre_hz`` (one per row), shape (n_rows, 7680).

    Examples
    --------
    >>> x = narrowband(2, np.array([[10.0], [12.0]]), 0.5, np.random.default_rng(0))
    >>> x.shape, bool(0.9 < x.std() < 1.1)
    ((2, 7680), True)
    """
    freqs = np.fft.rfftfreq(EDF_EPOCH_SAMPLES, 1.0 / EEG_SFREQ_HZ)
    power = np.exp(-0.5 * ((freqs[None, :] - centre_hz) / width_hz) ** 2)  # (n_rows, 3841)
    power *= EDF_EPOCH_SAMPLES ** 2 / (4.0 * power.sum(axis=1, keepdims=True))
    coefficients = rng.standard_normal((n_rows, len(freqs), 2))
    spectrum = (coefficients[..., 0] + 1j * coefficients[..., 1]) * np.sqrt(power)
    from scipy import fft as sfft  # here, not at the top: opening a built demo cohort never imports scipy.fft (0.2 s)

    return sfft.irfft(spectrum, n=EDF_EPOCH_SAMPLES, axis=1)


def spindle(rng: np.random.Generator, style: NightStyle, scale: float = 1.0) -> Wave:
    """11-16 Hz, 0.5-2 s (most near 1 s), waxing and waning, 10-20 µV peak on C4-M1."""
    duration_s = float(np.clip(rng.lognormal(np.log(0.9), 0.35), 0.5, 2.0))
    freq = float(np.clip(style.spindle_hz + rng.normal(0, 0.8), 11.0, 16.0))
    t = seconds(duration_s)
    # A sleeper with a steeper background has less sigma to stand out from: spindles keep their
    # contrast (about 1.8x in real N2) by following the background at 13 Hz relative to 2 Hz.
    peak_uv = scale * rng.uniform(10.0, 20.0) * 6.5 ** (-0.5 * style.exponent_shift)
    envelope = np.sin(np.pi * t / duration_s) ** 2
    return Wave("spindle", peak_uv * envelope * np.sin(2 * np.pi * freq * t
                                                       + rng.uniform(0, 2 * np.pi)), freq)


def k_complex(rng: np.random.Generator, style: NightStyle) -> Wave:
    """A sharp negative wave followed by a slower positive one, 0.65-1.35 s in all."""
    negative_s, positive_s = rng.uniform(0.25, 0.45), rng.uniform(0.4, 0.9)
    peak_to_peak_uv = style.slow_wave_gain * rng.uniform(90.0, 180.0) / style.gain("EEG1")
    ratio = rng.uniform(0.5, 0.8)  # positive component relative to the sharp negative one
    down = -np.sin(np.pi * seconds(negative_s) / negative_s)
    up = ratio * np.sin(np.pi * seconds(positive_s) / positive_s)
    return Wave("k_complex", peak_to_peak_uv / (1 + ratio) * np.concatenate([down, up]))


def vertex_wave(rng: np.random.Generator) -> Wave:
    """A sharp negative transient of 150-300 ms at the vertex."""
    duration_s = rng.uniform(0.15, 0.3)
    t = seconds(duration_s)
    return Wave("vertex_wave", -rng.uniform(30.0, 80.0) * np.sin(np.pi * t / duration_s) ** 3)


def theta_burst(rng: np.random.Generator) -> Wave:
    """1-3 s of rhythmic 4-7 Hz waves, frontal-central, as in drowsiness."""
    duration_s = rng.uniform(1.0, 3.0)
    freq = rng.uniform(4.0, 7.0)
    t = seconds(duration_s)
    shape = np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi)) * taper(len(t))
    return Wave("theta", rng.uniform(8.0, 18.0) * shape, freq)


def sawtooth_burst(rng: np.random.Generator) -> Wave:
    """A 1-4 s train of 2-5 Hz saw-toothed waves, 15-45 µV peak to peak."""
    # imported here: scipy.signal (with scipy.stats) takes 1.3 s, and every process that opens the
    # demo's store imports this module without generating a night
    from scipy.signal import sawtooth

    duration_s = rng.uniform(1.0, 4.0)
    freq = rng.uniform(2.0, 5.0)
    t = seconds(duration_s)
    wave = sawtooth(2 * np.pi * freq * t, width=rng.uniform(0.15, 0.3))
    return Wave("sawtooth", 0.5 * rng.uniform(15.0, 45.0) * wave * taper(len(t)), freq)


def slow_wave_train(duration_s: float, rng: np.random.Generator, style: NightStyle) -> Wave:
    """Whole cycles of 0.6-1.6 Hz waves (negative half first), 80-130 µV peak to peak on Fz-Cz
    times the sleeper's slow-wave gain and the square root of their overall gain, never below
    the 75 µV that defines a slow wave."""
    cycles = []
    total_s = 0.0
    while True:
        period_s = 1.0 / rng.uniform(0.6, 1.6)
        if cycles and total_s + period_s > duration_s:
            break
        peak_to_peak_uv = max(style.slow_wave_gain * rng.uniform(80.0, 130.0)
                              * np.sqrt(style.gain("EEG1")), 76.0) / style.gain("EEG1")
        cycles.append(-0.5 * peak_to_peak_uv * np.sin(2 * np.pi * seconds(period_s) / period_s))
        total_s += len(cycles[-1]) / EEG_SFREQ_HZ
    return Wave("slow_wave", np.concatenate(cycles), len(cycles) / total_s)


def alpha_bursts(epoch_s: float, carrier: np.ndarray, rng: np.random.Generator,
                 style: NightStyle, level_uv: tuple[float, float], share: float,
                 gains: dict[str, float] | None = None) -> list[Planted]:
    """Alpha (eyes closed) over about ``share`` of the epoch, cut from this epoch's carrier.

    ``carrier`` is unit-variance narrow-band noise at the sleeper's alpha frequency, (7680,);
    ``gains`` replaces the posterior distribution of wake (:data:`EVENT_GAIN`).
    """
    events = []
    position = rng.uniform(EDGE_MARGIN_S, 3.0)
    end_limit = EPOCH_SECONDS - EDGE_MARGIN_S
    mean_burst_s = 2.0 + 8.0 * share
    while position + 2.0 < end_limit:
        start_s = on_grid(position)
        length_s = min(rng.uniform(0.5, 1.5) * mean_burst_s, end_limit - start_s)
        n = int(round(length_s * EEG_SFREQ_HZ))
        first = int(round(start_s * EEG_SFREQ_HZ))
        burst = Wave("alpha", rng.uniform(*level_uv) * carrier[first:first + n] * taper(n, 0.2),
                     style.alpha_hz)
        events.append(spread(burst, epoch_s + start_s, style, gains))
        gap_s = mean_burst_s * (1.0 - share) / max(share, 0.05) * rng.uniform(0.5, 1.5)
        position = start_s + burst.duration_s + gap_s
    return events
