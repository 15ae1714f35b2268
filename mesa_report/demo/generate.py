"""Synthetic MESA-like nights: a hypnogram, EEG that shows each epoch's stage, the planted events.

A night is built in three steps:

1. a hypnogram with real sleep architecture (:func:`generate_hypnogram`): sleep-onset wake and N1,
   cycles of about 90 min with N3/N4 early and REM lengthening towards morning, brief awakenings
   followed by N1, N3 islands inside N4 and, now and then, a movement epoch (``-1``);
2. an aperiodic (1/f) background per derivation whose exponent follows the stage, flattest in wake
   and steepest in REM (:mod:`.background`), cross-faded over two seconds at every epoch boundary;
3. planted events, each written into the signal and recorded (kind, channel, start, end,
   peak-to-peak amplitude, frequency) (:mod:`.events`, :mod:`.waves`, :mod:`.artefacts`): alpha
   and eye and muscle artefacts in wake; vertex waves, theta and slow eye movements in N1;
   spindles (about 4 a minute) and K-complexes in N2; slow-wave trains filling 25-45 % of an N3
   epoch and 55-80 % of an N4 epoch; sawtooth bursts and rapid eye movements in REM; arousals
   before awakenings and movement artefacts in the unscored epochs.

Each night has its sleeper (:class:`.background.NightStyle`): amplitude, aperiodic exponent,
alpha and spindle frequency vary from night to night. The derivations differ as in MESA: EEG1
(Fz-Cz) sees eye movements, frontal muscle, slow waves and K-complexes largest, EEG2 (Cz-Oz)
alpha, EEG3 (C4-M1) spindles and the largest background; a vertex wave, negative at Cz, is
upright in Fz-Cz. The EOG channels carry a third of the Fz-Cz background plus the eye events
and the frontal slow waves; EMG is muscle tone that falls from wake to REM atonia; Thor is
respiration at 32 Hz. :mod:`.realism` compares the result with real recordings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mesa_report.core.errors import ConfigError
from mesa_report.core.vocabulary import CLASS_NAMES_6, EPOCH_SECONDS, UNSCORED
from mesa_report.data.night_ids import record_id
from mesa_report.demo.background import (EEG_CHANNELS, EEG_SFREQ_HZ, N1, N2, N3, N4, REM, W, chin_emg,
                                         draw_style, eeg_background, stage_rows)
from mesa_report.demo.events import EVENT_STAGES, plant_events
from mesa_report.demo.waves import RESP_SFREQ_HZ, Planted

__all__ = ["CHANNELS", "EEG_CHANNELS", "EEG_SFREQ_HZ", "EPOCH_SECONDS", "EVENT_COLUMNS",
           "EVENT_STAGES", "GENERATOR_VERSION", "RESP_SFREQ_HZ", "SyntheticNight",
           "generate_hypnogram", "generate_night", "night_from_stages", "stage_runs"]

GENERATOR_VERSION = 4
"""Bumped whenever the generated signals change; names the demo cache folder."""

EOG_CHANNELS = ("EOG-L", "EOG-R")
EMG_CHANNEL = "EMG"
RESP_CHANNEL = "Thor"
CHANNELS = EEG_CHANNELS + EOG_CHANNELS + (EMG_CHANNEL, RESP_CHANNEL)
"""Every generated channel, in the order written to the EDF."""

EVENT_COLUMNS = ("kind", "channel", "start_s", "end_s", "start_time", "epoch",
                 "amplitude_uv", "frequency_hz")
"""Columns of :attr:`SyntheticNight.events`; times in seconds from the recording start."""

EPOCHS_PER_MINUTE = 60.0 / EPOCH_SECONDS

_RESP_EPOCH_SAMPLES = int(round(EPOCH_SECONDS * RESP_SFREQ_HZ))  # 960
_START_SALT = 0x4D455341  # "MESA": keeps demo seeds apart from other uses of the same numbers
_EOG_BACKGROUND_SHARE = 0.33  # EOG carries this share of the Fz-Cz background
_EOG_NOISE_UV = 2.0


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
# Respiration
# ---------------------------------------------------------------------------------------------

def _breathing(stages: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Thoracic effort at 32 Hz: regular in NREM, faster and irregular in wake and REM."""
    rows = stage_rows(stages)
    rate_offset = np.array([1.5, 0.5, -0.5, -1.0, -1.0, 1.0])[rows]  # breaths/min per epoch
    rate_spread = np.array([2.0, 1.0, 0.4, 0.3, 0.3, 2.0])[rows]
    amplitude_spread = np.array([0.25, 0.12, 0.06, 0.05, 0.05, 0.25])[rows]
    base_bpm = rng.uniform(13.0, 17.0)
    n_epochs = len(stages)
    rate = base_bpm + rate_offset + rate_spread * rng.standard_normal(n_epochs)  # (E,)
    amplitude = 1.0 + amplitude_spread * rng.standard_normal(n_epochs)  # (E,)
    # imported here: scipy.ndimage takes 0.2 s, and every process that opens the demo cohort imports
    # this module, while only a build draws a night
    from scipy.ndimage import uniform_filter1d

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


_RANDOM_STREAMS = ("hypnogram", "clock", "style", "eeg", "eog", "emg", "events",
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


def _events_frame(planted: list[Planted], start_time: dt.datetime,
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
    style = draw_style(rng["style"])
    signals = eeg_background(stages, style, rng["eeg"])
    frontal = _EOG_BACKGROUND_SHARE * signals["EEG1"]
    for channel in EOG_CHANNELS:
        noise = rng["eog"].standard_normal(len(frontal), dtype=np.float32) * _EOG_NOISE_UV
        signals[channel] = frontal + noise
    signals[EMG_CHANNEL] = chin_emg(stages, rng["emg"])
    signals[RESP_CHANNEL] = _breathing(stages, rng["breathing"])
    sfreq_hz = {ch: (RESP_SFREQ_HZ if ch == RESP_CHANNEL else EEG_SFREQ_HZ) for ch in CHANNELS}

    planted = plant_events(stages, rng["events"], style, CHANNELS)
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
