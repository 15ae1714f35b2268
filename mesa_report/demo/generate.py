"""Synthetic MESA-like nights: a hypnogram, EEG that shows each epoch's stage, the planted events.

A night is built in three steps:

1. a hypnogram with real sleep architecture (:func:`generate_hypnogram`): sleep-onset wake and N1,
   cycles of about 90 min with N3/N4 early and REM lengthening towards morning, brief awakenings
   followed by N1, N3 islands inside N4 and, now and then, a movement epoch (``-1``);
2. a background per channel whose spectrum follows the stage of each epoch (1/f activity, theta,
   beta, muscle), cross-faded over two seconds at every epoch boundary;
3. planted events, each written into the signal and recorded (kind, channel, start, end,
   peak-to-peak amplitude, frequency): alpha bursts and blinks in wake; vertex waves and slow eye movements in
   N1; one or two spindles, a K-complex or one of each in N2; slow-wave trains filling 25-45 % of an N3 epoch and
   58-90 % of an N4 epoch; sawtooth bursts and rapid eye movements in REM; movement artefacts in
   the unscored epochs.

Amplitudes are in µV and differ between the derivations: EEG1 (Fz-Cz) sees slow waves and
K-complexes largest, EEG3 (C4-M1) spindles, EEG2 (Cz-Oz) alpha; a vertex wave, negative at Cz,
is upright in Fz-Cz. The EOG channels carry a third of the Fz-Cz background plus the eye events
and the frontal slow waves; EMG is muscle tone that falls from wake to REM atonia; Thor is
respiration at 32 Hz.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import fft as sfft
from scipy.ndimage import uniform_filter1d
from scipy.signal import sawtooth

from mesa_report.core.errors import ConfigError
from mesa_report.core.vocabulary import CLASS_NAMES_6, UNSCORED
from mesa_report.core.vocabulary import EPOCH_SECONDS
from mesa_report.data.store import record_id

GENERATOR_VERSION = 3
"""Bumped whenever the generated signals change; names the demo cache folder."""

EEG_SFREQ_HZ = 256.0
"""Sampling rate of the EEG, EOG and EMG channels (as in MESA)."""

RESP_SFREQ_HZ = 32.0
"""Sampling rate of the respiration channel (as in MESA)."""

EEG_CHANNELS = ("EEG1", "EEG2", "EEG3")
EOG_CHANNELS = ("EOG-L", "EOG-R")
EMG_CHANNEL = "EMG"
RESP_CHANNEL = "Thor"
CHANNELS = EEG_CHANNELS + EOG_CHANNELS + (EMG_CHANNEL, RESP_CHANNEL)
"""Every generated channel, in the order written to the EDF."""

EVENT_COLUMNS = ("kind", "channel", "start_s", "end_s", "start_time", "epoch",
                 "amplitude_uv", "frequency_hz")
"""Columns of :attr:`SyntheticNight.events`; times in seconds from the recording start."""

W, N1, N2, N3, N4, REM = range(len(CLASS_NAMES_6))

EVENT_STAGES = {
    "alpha": (W,),
    "blink": (W,),
    "vertex_wave": (N1,),
    "slow_eye_movement": (N1,),
    "spindle": (N2, N3),
    "k_complex": (N2,),
    "slow_wave": (N3, N4),
    "sawtooth": (REM,),
    "rapid_eye_movement": (REM,),
    "movement": (UNSCORED,),
}
"""Stage codes whose epochs may hold each event kind."""

EPOCHS_PER_MINUTE = 60.0 / EPOCH_SECONDS

_EPOCH_SAMPLES = int(round(EPOCH_SECONDS * EEG_SFREQ_HZ))  # 7680
_RESP_EPOCH_SAMPLES = int(round(EPOCH_SECONDS * RESP_SFREQ_HZ))  # 960
_FADE_SAMPLES = int(EEG_SFREQ_HZ)  # 1 s on each side of an epoch boundary
_SEGMENT_SAMPLES = _EPOCH_SAMPLES + 2 * _FADE_SAMPLES  # 8192: one epoch plus both fades
_EDGE_MARGIN_S = 0.25  # events keep this distance from epoch boundaries
_START_SALT = 0x4D455341  # "MESA": keeps demo seeds apart from other uses of the same numbers

# ---------------------------------------------------------------------------------------------
# Hypnogram
# ---------------------------------------------------------------------------------------------

# One sleep cycle as (stage, min minutes, max minutes, probability) steps; the last entry repeats.
_CYCLES = (
    ((N2, 14, 24, 1.0), (N3, 3, 6, 1.0), (N4, 20, 32, 1.0), (N3, 2, 4, 1.0), (N2, 14, 22, 1.0),
     (N1, 1, 2, 0.5), (REM, 6, 10, 1.0)),
    ((N2, 22, 32, 1.0), (N3, 3, 6, 1.0), (N4, 10, 18, 1.0), (N3, 2, 4, 1.0), (N2, 18, 26, 1.0),
     (N1, 1, 2, 0.5), (REM, 12, 20, 1.0)),
    ((N2, 26, 36, 1.0), (N3, 4, 10, 0.8), (N4, 2, 5, 0.4), (N2, 22, 32, 1.0), (REM, 18, 28, 1.0)),
    ((N2, 45, 60, 1.0), (REM, 25, 40, 1.0)),
)
_ONSET = ((W, 6, 16, 1.0), (N1, 3, 6, 1.0))
_AWAKENING = ((W, 1, 3, 1.0), (N1, 2, 4, 1.0))
_REM_TO_NREM = ((N1, 1.5, 3, 1.0),)
_AWAKENING_PROBABILITY = 0.6  # after each REM period
_N2_INTERRUPTION_MINUTES = 12.0  # about one brief awakening per this much N2
_MOVEMENT_AT_AROUSAL = 0.3  # first epoch of a brief awakening scored as movement
_N3_ISLANDS_PER_N4_EPOCH = 0.06


def stage_runs(stages: np.ndarray) -> list[tuple[int, int, int]]:
    """``(code, first epoch, number of epochs)`` of each run of equal stage codes.

    Examples
    --------
    >>> stage_runs(np.array([0, 0, 1, 2, 2, 2]))
    [(0, 0, 2), (1, 2, 1), (2, 3, 3)]
    """
    stages = np.asarray(stages)
    if len(stages) == 0:
        return []
    starts = np.concatenate([[0], np.flatnonzero(np.diff(stages)) + 1])
    ends = np.concatenate([starts[1:], [len(stages)]])
    return [(int(stages[s]), int(s), int(e - s)) for s, e in zip(starts, ends)]


def _append_steps(plan: list[int], steps: Iterable[tuple[int, float, float, float]],
                  rng: np.random.Generator) -> None:
    for stage, low_min, high_min, probability in steps:
        if rng.random() < probability:
            plan.extend([stage] * max(1, int(round(rng.uniform(low_min, high_min)
                                                   * EPOCHS_PER_MINUTE))))


def generate_hypnogram(n_epochs: int, rng: np.random.Generator) -> np.ndarray:
    """A hypnogram of ``n_epochs`` 30 s epochs with the architecture of a real night.

    Sleep onset (wake, then N1) is followed by cycles of about 90 min: N2, N3, N4 (long in the first
    cycle, shorter in the second, rare in the third, absent later), N2 again and REM lengthening
    from about 8 to 30 min. Each REM period ends in a brief awakening or N1; long N2 stretches
    are interrupted by brief awakenings (W, then N1); N4 holds short N3 islands; the first epoch of
    some awakenings is a movement epoch (``-1``).

    Parameters
    ----------
    n_epochs : int
        Length of the night in epochs (at least 1).
    rng : numpy.random.Generator
        Source of randomness; the same state gives the same hypnogram.

    Returns
    -------
    numpy.ndarray of int64, shape (n_epochs,)
        Stage codes 0=W 1=N1 2=N2 3=N3 4=N4 5=REM, -1 for movement.

    Examples
    --------
    >>> stages = generate_hypnogram(960, np.random.default_rng(0))
    >>> stages.shape, int(stages[0]), bool((stages == 4)[:480].sum() > (stages == 4)[480:].sum())
    ((960,), 0, True)
    """
    if int(n_epochs) < 1:
        raise ConfigError(f"n_epochs={n_epochs}: a night needs at least one 30 s epoch")
    plan: list[int] = []
    _append_steps(plan, _ONSET, rng)
    cycle = 0
    while len(plan) < n_epochs:
        _append_steps(plan, _CYCLES[min(cycle, len(_CYCLES) - 1)], rng)
        after_rem = _AWAKENING if rng.random() < _AWAKENING_PROBABILITY else _REM_TO_NREM
        _append_steps(plan, after_rem, rng)
        cycle += 1
    stages = np.asarray(plan[:n_epochs], dtype=np.int64)  # (n_epochs,)
    _interrupt_n2(stages, rng)
    _add_n3_islands(stages, rng)
    return stages


def _interrupt_n2(stages: np.ndarray, rng: np.random.Generator) -> None:
    """Brief awakenings inside N2 runs: W 1-2 epochs (maybe movement first), then N1 1-3 epochs."""
    per_epoch = 1.0 / (_N2_INTERRUPTION_MINUTES * EPOCHS_PER_MINUTE)
    for stage, first, length in stage_runs(stages):
        if stage != N2 or length < 12:
            continue
        for _ in range(rng.poisson(length * per_epoch)):
            wake = int(rng.integers(1, 3))
            drowsy = int(rng.integers(1, 4))
            at = first + int(rng.integers(3, length - wake - drowsy - 2))
            stages[at:at + wake] = W
            if rng.random() < _MOVEMENT_AT_AROUSAL:
                stages[at] = UNSCORED
            stages[at + wake:at + wake + drowsy] = N1


def _add_n3_islands(stages: np.ndarray, rng: np.random.Generator) -> None:
    """Short N3 stretches inside N4 runs, as the slow-wave fraction dips below half."""
    for stage, first, length in stage_runs(stages):
        if stage != N4 or length < 8:
            continue
        for _ in range(rng.poisson(length * _N3_ISLANDS_PER_N4_EPOCH)):
            at = first + int(rng.integers(2, length - 3))
            stages[at:at + int(rng.integers(1, 3))] = N3


# ---------------------------------------------------------------------------------------------
# Background: stage-dependent spectra, cross-faded between epochs
# ---------------------------------------------------------------------------------------------

_SEGMENT_FREQS_HZ = np.fft.rfftfreq(_SEGMENT_SAMPLES, 1.0 / EEG_SFREQ_HZ)  # (4097,)


def _highpass(f: np.ndarray, corner_hz: float, order: int = 4) -> np.ndarray:
    ratio = (f / corner_hz) ** order
    return ratio / (1.0 + ratio)


def _lowpass(f: np.ndarray, corner_hz: float, order: int = 8) -> np.ndarray:
    return 1.0 / (1.0 + (f / corner_hz) ** order)


def _unit_variance(power: np.ndarray) -> np.ndarray:
    """Scale a power template so that noise shaped by it has unit variance (:func:`_shaped_noise`)."""
    return power * (_SEGMENT_SAMPLES ** 2 / (4.0 * power.sum()))


def _background_templates() -> np.ndarray:
    f = _SEGMENT_FREQS_HZ
    low = 1.0 / (f ** 2 + 0.6 ** 2) ** 1.2 * _highpass(f, 0.3) * _lowpass(f, 40.0)
    theta = np.exp(-0.5 * ((f - 5.5) / 0.9) ** 2)
    broad = 1.0 / (f + 1.0) * _highpass(f, 0.3) * _lowpass(f, 45.0)
    beta = np.exp(-0.5 * ((f - 22.0) / 5.0) ** 2)
    muscle = _highpass(f, 30.0, 8) * _lowpass(f, 100.0)
    return np.stack([_unit_variance(p) for p in (low, theta, broad, beta, muscle)])  # (5, 4097)


_BACKGROUND_TEMPLATES = _background_templates()  # (5, 4097): low, theta, broad, beta, muscle

# µV RMS of each background component per stage (rows W N1 N2 N3 N4 REM) on a central derivation.
# N2's background is N1's (both "low amplitude, mixed frequency"): only its spindles and
# K-complexes set it apart, as in the scoring rules, so a model must find them to tell the two.
_BACKGROUND_RMS_UV = np.array([
    [7.0, 4.0, 6.0, 5.0, 5.0],
    [9.0, 12.0, 5.0, 2.0, 2.0],
    [9.0, 12.0, 5.0, 2.0, 2.0],
    [22.0, 5.0, 3.0, 0.8, 0.8],
    [24.0, 4.0, 3.0, 0.8, 0.8],
    [7.0, 7.0, 5.0, 2.5, 0.5],
])  # (6 stages, 5 components)

# Per-derivation gain of each component: Fz-Cz has more frontal muscle, Cz-Oz less delta.
_CHANNEL_COMPONENT_GAIN = {
    "EEG1": np.array([0.85, 0.9, 0.8, 1.2, 2.0]),
    "EEG2": np.array([0.75, 0.8, 0.9, 0.9, 0.8]),
    "EEG3": np.array([1.0, 1.0, 1.0, 1.0, 1.0]),
}

_EMG_TEMPLATE = _unit_variance(_highpass(_SEGMENT_FREQS_HZ, 10.0, 4)
                               * _lowpass(_SEGMENT_FREQS_HZ, 100.0))[None, :]  # (1, 4097)
_EMG_RMS_UV = np.array([[10.0], [6.0], [4.0], [3.5], [3.5], [1.5]])  # (6 stages, 1): REM atonia

_EOG_BACKGROUND_SHARE = 0.33  # EOG carries this share of the Fz-Cz background
_EOG_NOISE_UV = 2.0


def _stage_rows(stages: np.ndarray) -> np.ndarray:
    """Row of a per-stage table for each epoch; movement epochs look like wake."""
    return np.where(stages == UNSCORED, W, stages)


def _fade_windows() -> tuple[np.ndarray, np.ndarray]:
    ramp = (np.arange(2 * _FADE_SAMPLES) + 0.5) / (2 * _FADE_SAMPLES)
    return np.sin(0.5 * np.pi * ramp), np.cos(0.5 * np.pi * ramp)  # each (512,)


def _shaped_noise(rms_uv: np.ndarray, templates: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise whose spectrum follows ``rms_uv`` epoch by epoch.

    Each epoch is synthesised as its own segment, one second longer on each side, and neighbours
    are cross-faded with sine/cosine windows (powers summing to one), so the variance stays
    constant and the spectrum changes smoothly over two seconds at each boundary.

    Parameters
    ----------
    rms_uv : numpy.ndarray, shape (n_epochs, n_components)
        µV RMS of each component in each epoch.
    templates : numpy.ndarray, shape (n_components, n_bins)
        Unit-variance power templates on the segment's frequency grid.
    """
    n_epochs = rms_uv.shape[0]
    amplitude = np.sqrt((rms_uv ** 2) @ templates).astype(np.float32)  # (E, n_bins)
    # Real and imaginary parts side by side, read as complex64 without a copy.
    spectrum = rng.standard_normal((n_epochs, templates.shape[1], 2), dtype=np.float32)
    spectrum = spectrum.view(np.complex64)[..., 0]  # (E, n_bins)
    spectrum *= amplitude
    segments = sfft.irfft(spectrum, n=_SEGMENT_SAMPLES, axis=1)  # (E, 8192) float32
    fade_in, fade_out = _fade_windows()
    tail = _EPOCH_SAMPLES  # segment i+1 starts where segment i's last 2 s begin
    out = segments[:, _FADE_SAMPLES:_FADE_SAMPLES + _EPOCH_SAMPLES].copy()  # (E, 7680)
    # Epoch i's first second overlaps the end of segment i-1; its last second, segment i+1's start.
    out[1:, :_FADE_SAMPLES] *= fade_in[_FADE_SAMPLES:]
    out[1:, :_FADE_SAMPLES] += segments[:-1, tail + _FADE_SAMPLES:] * fade_out[_FADE_SAMPLES:]
    out[:-1, -_FADE_SAMPLES:] *= fade_out[:_FADE_SAMPLES]
    out[:-1, -_FADE_SAMPLES:] += segments[1:, :_FADE_SAMPLES] * fade_in[:_FADE_SAMPLES]
    return out.reshape(-1)  # (E * 7680,)


# ---------------------------------------------------------------------------------------------
# Planted events
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Planted:
    """One event: where it starts, its waveform on each channel (µV, at that channel's rate)."""

    kind: str
    start_s: float
    waveforms: dict[str, np.ndarray]
    frequency_hz: float = float("nan")


@dataclass(frozen=True)
class _NightStyle:
    """Traits of one sleeper that stay fixed through the night."""

    alpha_hz: float
    spindle_hz: float
    slow_wave_gain: float
    channel_gain: dict[str, float] = field(default_factory=dict)


# Gains of each event kind per channel (sign = polarity of the derivation).
_EVENT_GAIN = {
    "alpha": {"EEG1": 0.3, "EEG2": 1.0, "EEG3": 0.5},
    "spindle": {"EEG1": 0.6, "EEG2": 0.75, "EEG3": 1.0},
    "k_complex": {"EEG1": 1.0, "EEG2": 0.55, "EEG3": 0.85, "EOG-L": 0.35, "EOG-R": 0.35},
    "slow_wave": {"EEG1": 1.0, "EEG2": 0.6, "EEG3": 0.85, "EOG-L": 0.35, "EOG-R": 0.35},
    "vertex_wave": {"EEG1": -0.7, "EEG2": 1.0, "EEG3": 0.6},
    "sawtooth": {"EEG1": 0.8, "EEG2": 0.6, "EEG3": 1.0},
    "blink": {"EOG-L": 1.0, "EOG-R": 1.0, "EEG1": 0.3},
    "rapid_eye_movement": {"EOG-L": 1.0, "EOG-R": -1.0, "EEG1": 0.2},
    "slow_eye_movement": {"EOG-L": 1.0, "EOG-R": -1.0, "EEG1": 0.15},
}


def _seconds(n_seconds: float) -> np.ndarray:
    """Sample times of a stretch of ``n_seconds`` at the EEG rate."""
    return np.arange(int(round(n_seconds * EEG_SFREQ_HZ))) / EEG_SFREQ_HZ


@dataclass(frozen=True)
class _Wave:
    """A waveform still to be placed: µV on its strongest derivation, at the EEG rate."""

    kind: str
    shape: np.ndarray
    frequency_hz: float = float("nan")

    @property
    def duration_s(self) -> float:
        return len(self.shape) / EEG_SFREQ_HZ


def _spread(wave: _Wave, start_s: float, style: _NightStyle) -> _Planted:
    """The wave on every channel that sees it, scaled by the channel's gain."""
    return _Planted(wave.kind, start_s,
                    {ch: gain * style.channel_gain.get(ch, 1.0) * wave.shape
                     for ch, gain in _EVENT_GAIN[wave.kind].items()}, wave.frequency_hz)


def _on_grid(seconds: float) -> float:
    """Round a time up to the respiration sample grid (every channel then starts on a sample)."""
    return float(np.ceil(seconds * RESP_SFREQ_HZ) / RESP_SFREQ_HZ)


def _place(durations_s: list[float], rng: np.random.Generator) -> list[float]:
    """Random non-overlapping start times (s from the epoch start) for stretches inside an epoch.

    Stretches that do not fit are dropped (their start is NaN).
    """
    usable = EPOCH_SECONDS - 2 * _EDGE_MARGIN_S
    kept = []
    total = 0.0
    for index in rng.permutation(len(durations_s)):
        if total + durations_s[index] <= usable:
            kept.append(index)
            total += durations_s[index]
    gaps = rng.dirichlet(np.ones(len(kept) + 1)) * (usable - total)
    starts = [float("nan")] * len(durations_s)
    position = _EDGE_MARGIN_S
    for gap, index in zip(gaps, kept):
        starts[index] = _on_grid(position + gap)
        position = starts[index] + durations_s[index]
    return starts


def _scatter(epoch_s: float, waves: list[_Wave], rng: np.random.Generator,
             style: _NightStyle) -> list[_Planted]:
    """Place waves at random, without overlap, inside the epoch starting at ``epoch_s``."""
    starts = _place([wave.duration_s for wave in waves], rng)
    return [_spread(wave, epoch_s + start, style)
            for wave, start in zip(waves, starts) if np.isfinite(start)]


def _taper(n: int, fraction: float = 0.5) -> np.ndarray:
    """Tukey window of ``n`` samples: zero at both ends, flat in the middle."""
    edge = max(1, int(n * fraction / 2))
    window = np.ones(n)
    ramp = 0.5 * (1 - np.cos(np.pi * np.arange(edge) / edge))
    window[:edge] = ramp
    window[n - edge:] = ramp[::-1]
    return window


def _spindle(rng: np.random.Generator, style: _NightStyle, scale: float = 1.0) -> _Wave:
    """11-16 Hz, 0.5-2 s, waxing and waning."""
    duration_s = rng.uniform(0.5, 2.0)
    freq = float(np.clip(style.spindle_hz + rng.normal(0, 0.6), 11.0, 16.0))
    t = _seconds(duration_s)
    peak_uv = scale * rng.uniform(18.0, 42.0)
    envelope = np.sin(np.pi * t / duration_s) ** 2
    return _Wave("spindle", peak_uv * envelope * np.sin(2 * np.pi * freq * t
                                                        + rng.uniform(0, 2 * np.pi)), freq)


def _k_complex(rng: np.random.Generator, style: _NightStyle) -> _Wave:
    """A sharp negative wave followed by a slower positive one, 0.65-1.35 s in all."""
    negative_s, positive_s = rng.uniform(0.25, 0.45), rng.uniform(0.4, 0.9)
    peak_to_peak_uv = style.slow_wave_gain * rng.uniform(100.0, 240.0)
    ratio = rng.uniform(0.5, 0.8)  # positive component relative to the sharp negative one
    down = -np.sin(np.pi * _seconds(negative_s) / negative_s)
    up = ratio * np.sin(np.pi * _seconds(positive_s) / positive_s)
    return _Wave("k_complex", peak_to_peak_uv / (1 + ratio) * np.concatenate([down, up]))


def _vertex_wave(rng: np.random.Generator) -> _Wave:
    """A sharp negative transient of 150-300 ms at the vertex."""
    duration_s = rng.uniform(0.15, 0.3)
    t = _seconds(duration_s)
    return _Wave("vertex_wave", -rng.uniform(50.0, 120.0) * np.sin(np.pi * t / duration_s) ** 3)


def _slow_eye_movement(rng: np.random.Generator) -> _Wave:
    """One slow rolling eye movement of 2-6 s."""
    period_s = rng.uniform(2.0, 6.0)
    t = _seconds(period_s)
    shape = np.sin(np.pi * t / period_s) ** 2 * np.sin(2 * np.pi * t / period_s)
    return _Wave("slow_eye_movement", rng.uniform(40.0, 120.0) * shape, 1.0 / period_s)


def _sawtooth_burst(rng: np.random.Generator) -> _Wave:
    """A 1.5-5 s train of 2.5-5 Hz saw-toothed waves."""
    duration_s = rng.uniform(1.5, 5.0)
    freq = rng.uniform(2.5, 5.0)
    t = _seconds(duration_s)
    wave = sawtooth(2 * np.pi * freq * t, width=rng.uniform(0.15, 0.3))
    return _Wave("sawtooth", 0.5 * rng.uniform(30.0, 70.0) * wave * _taper(len(t)), freq)


def _slow_wave_train(duration_s: float, rng: np.random.Generator, style: _NightStyle) -> _Wave:
    """Whole cycles of 0.6-1.6 Hz waves (negative half first), each over 75 µV peak to peak."""
    cycles = []
    total_s = 0.0
    while True:
        period_s = 1.0 / rng.uniform(0.6, 1.6)
        if cycles and total_s + period_s > duration_s:
            break
        peak_to_peak_uv = style.slow_wave_gain * rng.uniform(90.0, 190.0)
        cycles.append(-0.5 * peak_to_peak_uv * np.sin(2 * np.pi * _seconds(period_s) / period_s))
        total_s += len(cycles[-1]) / EEG_SFREQ_HZ
    return _Wave("slow_wave", np.concatenate(cycles), len(cycles) / total_s)


def _eye_movement(kind: str, rise_s: float, hold_s: float, fall_s: float,
                  amplitude_uv: float) -> _Wave:
    """A step-like eye deflection: half-cosine rise, plateau, half-cosine return."""
    rise = 0.5 * (1 - np.cos(np.pi * _seconds(rise_s) / rise_s))
    fall = 0.5 * (1 + np.cos(np.pi * _seconds(fall_s) / fall_s))
    return _Wave(kind, amplitude_uv * np.concatenate([rise, np.ones(len(_seconds(hold_s))), fall]))


def _wake_epoch(epoch_s: float, rng: np.random.Generator, style: _NightStyle,
                alpha: np.ndarray) -> list[_Planted]:
    """Alpha bursts (eyes closed) separated by eyes-open gaps that start with a blink.

    ``alpha`` is this epoch's unit-variance alpha carrier, shape (7680,).
    """
    events = []
    position = rng.uniform(_EDGE_MARGIN_S, 3.0)
    end_limit = EPOCH_SECONDS - _EDGE_MARGIN_S
    while position + 2.0 < end_limit:
        start_s = _on_grid(position)
        n = int(round(min(rng.uniform(2.0, 10.0), end_limit - start_s) * EEG_SFREQ_HZ))
        first = int(round(start_s * EEG_SFREQ_HZ))
        burst = _Wave("alpha", rng.uniform(7.0, 13.0) * alpha[first:first + n] * _taper(n, 0.2),
                      style.alpha_hz)
        events.append(_spread(burst, epoch_s + start_s, style))
        end_s = start_s + burst.duration_s
        gap_s = rng.uniform(0.5, 3.0)
        if rng.random() < 0.6:
            blink = _eye_movement("blink", 0.12, rng.uniform(0.0, 0.1), 0.2,
                                  rng.uniform(80.0, 200.0))
            blink_at = _on_grid(end_s + 0.05)
            if blink_at + blink.duration_s < end_limit:
                events.append(_spread(blink, epoch_s + blink_at, style))
                gap_s = max(gap_s, blink_at - end_s + blink.duration_s + 0.2)
        position = end_s + gap_s
    return events


def _n1_epoch(epoch_s: float, rng: np.random.Generator, style: _NightStyle) -> list[_Planted]:
    waves = [_vertex_wave(rng) for _ in range(int(np.clip(rng.poisson(1.8), 1, 4)))]
    if rng.random() < 0.6:
        waves.append(_slow_eye_movement(rng))
    return _scatter(epoch_s, waves, rng, style)


# Share of N2 epochs holding each combination of stage-defining events (spindles, K-complexes).
_N2_EVENT_MIX = (((1, 0), 0.55), ((2, 0), 0.15), ((0, 1), 0.15), ((1, 1), 0.15))


def _n2_epoch(epoch_s: float, rng: np.random.Generator, style: _NightStyle) -> list[_Planted]:
    """One or two spindles, a K-complex, or one of each: sparse enough that an explanation can
    point at them (a spindle covers about a fifth of the epoch's tokens, not most of them)."""
    mixes, shares = zip(*_N2_EVENT_MIX)
    n_spindles, n_k_complexes = mixes[rng.choice(len(mixes), p=shares)]
    waves = [_spindle(rng, style) for _ in range(n_spindles)]
    waves += [_k_complex(rng, style) for _ in range(n_k_complexes)]
    return _scatter(epoch_s, waves, rng, style)


def _slow_wave_epoch(epoch_s: float, rng: np.random.Generator, style: _NightStyle,
                     fraction_range: tuple[float, float], max_trains: int,
                     spindle_probability: float) -> list[_Planted]:
    """Slow-wave trains covering a fraction of the epoch drawn from ``fraction_range``."""
    fraction = rng.uniform(*fraction_range)
    n_trains = int(rng.integers(1, max_trains + 1))
    lengths_s = rng.dirichlet(np.full(n_trains, 3.0)) * fraction * EPOCH_SECONDS
    waves = [_slow_wave_train(length, rng, style) for length in lengths_s]
    if rng.random() < spindle_probability:
        waves.append(_spindle(rng, style, 0.7))
    return _scatter(epoch_s, waves, rng, style)


def _rem_epoch(epoch_s: float, rng: np.random.Generator, style: _NightStyle) -> list[_Planted]:
    waves = [_sawtooth_burst(rng) for _ in range(int(rng.integers(1, 4)))]
    if rng.random() < 0.85:
        waves += [_eye_movement("rapid_eye_movement", rng.uniform(0.05, 0.1),
                                rng.uniform(0.2, 0.8), rng.uniform(0.15, 0.3),
                                rng.choice([-1.0, 1.0]) * rng.uniform(60, 200))
                  for _ in range(int(rng.integers(1, 6)))]
    return _scatter(epoch_s, waves, rng, style)


def _movement_epoch(epoch_s: float, rng: np.random.Generator) -> list[_Planted]:
    """Body movement: muscle bursts and electrode swings on every channel, respiration included."""
    duration_s = _on_grid(rng.uniform(4.0, 20.0))
    (start_s,) = _place([duration_s], rng)
    waveforms = {}
    for channel in CHANNELS:
        sfreq = RESP_SFREQ_HZ if channel == RESP_CHANNEL else EEG_SFREQ_HZ
        t = np.arange(int(round(duration_s * sfreq))) / sfreq
        swing = sum(rng.uniform(50.0, 150.0) * np.sin(2 * np.pi * rng.uniform(0.3, 2.0) * t
                                                      + rng.uniform(0, 2 * np.pi))
                    for _ in range(3))
        muscle = (0.0 if channel == RESP_CHANNEL
                  else rng.uniform(15.0, 50.0) * rng.standard_normal(len(t)))
        waveforms[channel] = (swing + muscle) * _taper(len(t), 0.2)
    return [_Planted("movement", epoch_s + start_s, waveforms)]


def _plant_events(stages: np.ndarray, rng: np.random.Generator, style: _NightStyle,
                  alpha: np.ndarray) -> list[_Planted]:
    """Events of every epoch, by stage."""
    per_stage: dict[int, Callable[[float], list[_Planted]]] = {
        N1: lambda at: _n1_epoch(at, rng, style),
        N2: lambda at: _n2_epoch(at, rng, style),
        N3: lambda at: _slow_wave_epoch(at, rng, style, (0.25, 0.45), 3, 0.3),
        N4: lambda at: _slow_wave_epoch(at, rng, style, (0.58, 0.9), 2, 0.0),
        REM: lambda at: _rem_epoch(at, rng, style),
        UNSCORED: lambda at: _movement_epoch(at, rng),
    }
    events: list[_Planted] = []
    wake_rows = np.cumsum(stages == W) - 1
    for epoch, stage in enumerate(stages):
        epoch_s = epoch * EPOCH_SECONDS
        if stage == W:
            events += _wake_epoch(epoch_s, rng, style, alpha[wake_rows[epoch]])
        else:
            events += per_stage[int(stage)](epoch_s)
    return events


def _alpha_carrier(n_wake: int, rng: np.random.Generator, style: _NightStyle) -> np.ndarray:
    """Unit-variance narrow-band noise around the sleeper's alpha frequency, one row per W epoch."""
    freqs = np.fft.rfftfreq(_EPOCH_SAMPLES, 1.0 / EEG_SFREQ_HZ)
    centre = style.alpha_hz + rng.normal(0.0, 0.2, size=(n_wake, 1))  # (n_wake, 1)
    power = np.exp(-0.5 * ((freqs[None, :] - centre) / 0.5) ** 2)  # (n_wake, 3841)
    power *= _EPOCH_SAMPLES ** 2 / (4.0 * power.sum(axis=1, keepdims=True))
    coefficients = rng.standard_normal((n_wake, len(freqs), 2))
    spectrum = (coefficients[..., 0] + 1j * coefficients[..., 1]) * np.sqrt(power)
    return sfft.irfft(spectrum, n=_EPOCH_SAMPLES, axis=1)  # (n_wake, 7680)


def _breathing(stages: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Thoracic effort at 32 Hz: regular in NREM, faster and irregular in wake and REM."""
    rows = _stage_rows(stages)
    rate_offset = np.array([1.5, 0.5, -0.5, -1.0, -1.0, 1.0])[rows]  # breaths/min per epoch
    rate_spread = np.array([2.0, 1.0, 0.4, 0.3, 0.3, 2.0])[rows]
    amplitude_spread = np.array([0.25, 0.12, 0.06, 0.05, 0.05, 0.25])[rows]
    base_bpm = rng.uniform(13.0, 17.0)
    n_epochs = len(stages)
    rate = base_bpm + rate_offset + rate_spread * rng.standard_normal(n_epochs)  # (E,)
    amplitude = 1.0 + amplitude_spread * rng.standard_normal(n_epochs)  # (E,)
    smooth = int(10 * RESP_SFREQ_HZ)
    rate_t = uniform_filter1d(np.repeat(rate, _RESP_EPOCH_SAMPLES), smooth, mode="nearest")
    amp_t = uniform_filter1d(np.repeat(amplitude, _RESP_EPOCH_SAMPLES), smooth, mode="nearest")
    phase = 2 * np.pi * np.cumsum(rate_t / 60.0) / RESP_SFREQ_HZ + rng.uniform(0, 2 * np.pi)
    noise = rng.standard_normal(len(phase)) * 10.0
    effort = 400.0 * amp_t * (np.sin(phase) + 0.2 * np.sin(2 * phase + 0.5))
    return (effort + noise).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# The night
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SyntheticNight:
    """One generated night: signals in µV, stages per 30 s epoch and the planted events.

    Attributes
    ----------
    mesaid : int
        The night's id (record ``mesa-sleep-{mesaid:04d}``).
    signals : dict of str to numpy.ndarray
        Channel name to float32 samples in µV, in :data:`CHANNELS` order.
    sfreq_hz : dict of str to float
        Channel name to sampling rate.
    stages : numpy.ndarray of int64, shape (n_epochs,)
        0=W 1=N1 2=N2 3=N3 4=N4 5=REM, -1 for movement epochs.
    events : pandas.DataFrame
        One row per planted event and channel, columns :data:`EVENT_COLUMNS`.
    start_time : datetime.datetime
        Clock time of the recording start.
    seed : int or None
        The seed it was generated with.
    """

    mesaid: int
    signals: dict[str, np.ndarray]
    sfreq_hz: dict[str, float]
    stages: np.ndarray
    events: pd.DataFrame
    start_time: dt.datetime
    seed: int | None = None

    @property
    def record_id(self) -> str:
        """``mesa-sleep-{mesaid:04d}``."""
        return record_id(self.mesaid)

    @property
    def n_epochs(self) -> int:
        """Number of 30 s epochs."""
        return int(len(self.stages))

    @property
    def duration_s(self) -> float:
        """Recording length in seconds."""
        return self.n_epochs * EPOCH_SECONDS


def _check_id(name: str, value: int | None, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(f"{name}={value!r}: expected a whole number of 0 or more")
    return int(value)


_RANDOM_STREAMS = ("hypnogram", "clock", "style", "eeg", "eog", "emg", "alpha", "events",
                   "breathing")
"""One independent random stream per part of a night, so that changing one part leaves the rest."""


def _random_streams(mesaid: int, seed: int | None) -> dict[str, np.random.Generator]:
    entropy = [_START_SALT, mesaid] if seed is None else [_START_SALT, mesaid, 1, seed]
    children = np.random.SeedSequence(entropy).spawn(len(_RANDOM_STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(_RANDOM_STREAMS, children)}


def _start_time(mesaid: int, rng: np.random.Generator) -> dt.datetime:
    day = dt.date(2011, 1, 3) + dt.timedelta(days=mesaid % 700)
    minutes = int(rng.integers(21 * 60 + 30, 23 * 60 + 45))
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60, int(rng.integers(0, 60))))


def _events_frame(planted: list[_Planted], start_time: dt.datetime,
                  sfreq_hz: dict[str, float]) -> pd.DataFrame:
    rows = []
    for event in planted:
        for channel, waveform in event.waveforms.items():
            end_s = event.start_s + len(waveform) / sfreq_hz[channel]
            rows.append((event.kind, channel, event.start_s, end_s,
                         int(event.start_s // EPOCH_SECONDS), float(np.ptp(waveform)),
                         event.frequency_hz))
    frame = pd.DataFrame(rows, columns=["kind", "channel", "start_s", "end_s", "epoch",
                                        "amplitude_uv", "frequency_hz"])
    frame = frame.astype({"kind": str, "channel": str, "start_s": float, "end_s": float,
                          "epoch": np.int64, "amplitude_uv": float, "frequency_hz": float})
    frame["start_time"] = pd.Timestamp(start_time) + pd.to_timedelta(frame["start_s"], unit="s")
    frame = frame.sort_values(["start_s", "channel"], kind="stable").reset_index(drop=True)
    return frame[list(EVENT_COLUMNS)]


def night_from_stages(mesaid: int, stages: np.ndarray, *,
                      seed: int | None = None) -> SyntheticNight:
    """Generate the signals and events of a night whose hypnogram is given.

    Parameters
    ----------
    mesaid : int
        The night's id; with ``seed`` it fixes the random state.
    stages : array-like of int, shape (n_epochs,)
        Stage codes 0-5 or -1 (movement) per 30 s epoch.
    seed : int, optional
        Another night of the same id; ``None`` is the id's default night.

    Returns
    -------
    SyntheticNight

    Examples
    --------
    >>> night = night_from_stages(1, [0, 1, 2, 3, 4, 5, -1], seed=3)
    >>> night.signals["EEG1"].shape, night.sfreq_hz["Thor"]
    ((53760,), 32.0)
    >>> sorted(set(night.events["kind"]) & {"alpha", "spindle", "slow_wave", "sawtooth"})
    ['alpha', 'sawtooth', 'slow_wave', 'spindle']
    """
    mesaid = _check_id("mesaid", mesaid)
    seed = _check_id("seed", seed, allow_none=True)
    stages = np.asarray(stages, dtype=np.int64)  # (n_epochs,)
    if stages.ndim != 1 or len(stages) == 0:
        raise ConfigError(f"stages: expected a non-empty 1-D sequence, got shape {stages.shape}")
    if not np.isin(stages, [UNSCORED, *range(len(CLASS_NAMES_6))]).all():
        raise ConfigError(f"stages: codes must be -1 or 0-5, got {sorted(set(stages.tolist()))}")
    rng = _random_streams(mesaid, seed)
    start_time = _start_time(mesaid, rng["clock"])
    style = _NightStyle(
        alpha_hz=rng["style"].uniform(9.0, 11.0),
        spindle_hz=rng["style"].uniform(12.0, 14.5),
        slow_wave_gain=rng["style"].uniform(0.85, 1.15),
        channel_gain={ch: float(rng["style"].lognormal(0.0, 0.06)) for ch in EEG_CHANNELS},
    )
    rows = _stage_rows(stages)
    n_epochs = len(stages)
    signals: dict[str, np.ndarray] = {}
    for channel in EEG_CHANNELS:
        jitter = rng["eeg"].lognormal(0.0, 0.12, size=(n_epochs, _BACKGROUND_RMS_UV.shape[1]))
        rms = _BACKGROUND_RMS_UV[rows] * _CHANNEL_COMPONENT_GAIN[channel] * jitter
        signals[channel] = _shaped_noise(rms * style.channel_gain[channel], _BACKGROUND_TEMPLATES,
                                         rng["eeg"])
    frontal = _EOG_BACKGROUND_SHARE * signals["EEG1"]
    for channel in EOG_CHANNELS:
        noise = rng["eog"].standard_normal(len(frontal), dtype=np.float32) * _EOG_NOISE_UV
        signals[channel] = frontal + noise
    emg_rms = _EMG_RMS_UV[rows] * rng["emg"].lognormal(0.0, 0.15, size=(n_epochs, 1))
    signals[EMG_CHANNEL] = _shaped_noise(emg_rms, _EMG_TEMPLATE, rng["emg"])
    signals[RESP_CHANNEL] = _breathing(stages, rng["breathing"])
    sfreq_hz = {ch: (RESP_SFREQ_HZ if ch == RESP_CHANNEL else EEG_SFREQ_HZ) for ch in CHANNELS}

    alpha = _alpha_carrier(int(np.sum(stages == W)), rng["alpha"], style)
    planted = _plant_events(stages, rng["events"], style, alpha)
    for event in planted:
        for channel, waveform in event.waveforms.items():
            first = int(round(event.start_s * sfreq_hz[channel]))
            signals[channel][first:first + len(waveform)] += waveform.astype(np.float32)
    return SyntheticNight(
        mesaid=mesaid,
        signals={ch: signals[ch] for ch in CHANNELS},
        sfreq_hz=sfreq_hz,
        stages=stages.copy(),
        events=_events_frame(planted, start_time, sfreq_hz),
        start_time=start_time,
        seed=seed,
    )


def generate_night(mesaid: int, *, hours: float = 4.0, seed: int | None = None) -> SyntheticNight:
    """Generate one MESA-like night: hypnogram, signals and planted events.

    Deterministic: the same ``mesaid``, ``hours`` and ``seed`` give the same arrays on every run.

    Parameters
    ----------
    mesaid : int
        The night's id (record ``mesa-sleep-{mesaid:04d}``).
    hours : float, default 4.0
        Recording length; rounded to whole 30 s epochs.
    seed : int, optional
        Draw another night for the same id (e.g. unseen nights for evaluation).

    Returns
    -------
    SyntheticNight

    Examples
    --------
    >>> night = generate_night(1, hours=0.5)
    >>> night.n_epochs, night.signals["EEG2"].shape, night.sfreq_hz["EEG2"]
    (60, (460800,), 256.0)
    """
    mesaid = _check_id("mesaid", mesaid)
    seed = _check_id("seed", seed, allow_none=True)
    try:
        length_s = float(hours) * 3600.0
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"hours={hours!r}: expected a number of hours, e.g. 4.0") from exc
    if not np.isfinite(length_s) or round(length_s / EPOCH_SECONDS) < 1:
        raise ConfigError(f"hours={hours!r}: a night needs at least one 30 s epoch (0.01 h)")
    n_epochs = int(round(length_s / EPOCH_SECONDS))
    stages = generate_hypnogram(n_epochs, _random_streams(mesaid, seed)["hypnogram"])
    return night_from_stages(mesaid, stages, seed=seed)
