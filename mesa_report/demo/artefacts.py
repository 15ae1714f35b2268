"""What a real recording carries besides brain activity: eye movements, muscle, body movement.

Real wake EEG holds most of its power below 4 Hz because of eye movements and blinks (about
0.63 of 0.5-30 Hz power on a central derivation of expert-scored recordings; 0.84 on the frontal
Fpz-Cz of Sleep-EDF's wake), with bursts of scalp muscle above 20 Hz and, at arousals and
awakenings, body movements that swing every electrode. Eye movements are largest on the EOG,
then on Fz-Cz, then on C4-M1, and nearly absent on Cz-Oz (:data:`.waves.EVENT_GAIN`).
"""

from __future__ import annotations

import numpy as np

from mesa_report.core.vocabulary import EPOCH_SECONDS
from mesa_report.demo.background import EEG_SFREQ_HZ, NightStyle
from mesa_report.demo.waves import (EDGE_MARGIN_S, RESP_SFREQ_HZ, Planted, Wave, on_grid, place, seconds, spread,
                    taper)


def eye_movement(kind: str, rise_s: float, hold_s: float, fall_s: float,
                 amplitude_uv: float) -> Wave:
    """A step-like eye deflection: half-cosine rise, plateau, half-cosine return.

    Examples
    --------
    >>> wave = eye_movement("blink", 0.1, 0.0, 0.2, 150.0)
    >>> round(wave.duration_s, 2), float(wave.shape.max()) <= 150.0
    (0.3, True)
    """
    rise = 0.5 * (1 - np.cos(np.pi * seconds(rise_s) / rise_s))
    fall = 0.5 * (1 + np.cos(np.pi * seconds(fall_s) / fall_s))
    return Wave(kind, amplitude_uv * np.concatenate([rise, np.ones(len(seconds(hold_s))), fall]))


def blink(rng: np.random.Generator) -> Wave:
    """A blink: 0.3-0.5 s, 80-250 µV on the EOG."""
    return eye_movement("blink", rng.uniform(0.08, 0.15), rng.uniform(0.0, 0.1),
                        rng.uniform(0.15, 0.25), rng.uniform(80.0, 250.0))


def saccade(rng: np.random.Generator) -> Wave:
    """A look to the side and back: fast steps, a fixation of 0.3-2 s, 40-250 µV on the EOG."""
    return eye_movement("saccade", rng.uniform(0.04, 0.08), rng.uniform(0.3, 2.0),
                        rng.uniform(0.04, 0.1), rng.choice([-1.0, 1.0]) * rng.uniform(40.0, 250.0))


def rapid_eye_movement(rng: np.random.Generator) -> Wave:
    """A rapid eye movement of REM sleep: 40-150 µV, held 0.2-0.8 s."""
    return eye_movement("rapid_eye_movement", rng.uniform(0.05, 0.1), rng.uniform(0.2, 0.8),
                        rng.uniform(0.15, 0.3), rng.choice([-1.0, 1.0]) * rng.uniform(40, 150))


def slow_eye_movement(rng: np.random.Generator) -> Wave:
    """One slow rolling eye movement of 2-6 s, as in drowsiness."""
    period_s = rng.uniform(2.0, 6.0)
    t = seconds(period_s)
    shape = np.sin(np.pi * t / period_s) ** 2 * np.sin(2 * np.pi * t / period_s)
    return Wave("slow_eye_movement", rng.uniform(40.0, 120.0) * shape, 1.0 / period_s)


def muscle_burst(rng: np.random.Generator, level_uv: tuple[float, float] = (5.0, 20.0),
                 duration_s: tuple[float, float] = (0.5, 4.0)) -> Wave:
    """Scalp muscle (jaw, frown): white noise differenced into 20-100 Hz, µV RMS ``level_uv``."""
    n = int(round(rng.uniform(*duration_s) * EEG_SFREQ_HZ))
    noise = np.diff(rng.standard_normal(n + 1)) / np.sqrt(2.0)  # a high-pass of white noise
    return Wave("muscle", rng.uniform(*level_uv) * noise * taper(n, 0.2))


def eye_and_muscle(epoch_s: float, rng: np.random.Generator, style: NightStyle,
                   waves: list[Wave]) -> list[Planted]:
    """Place artefacts in an epoch without regard to the brain events (they overlap in life)."""
    starts = place([wave.duration_s for wave in waves], rng)
    return [spread(wave, epoch_s + start, style)
            for wave, start in zip(waves, starts) if np.isfinite(start)]


def wake_artefacts(rng: np.random.Generator, eyes_open: float) -> list[Wave]:
    """Blinks, saccades and muscle bursts of a waking epoch; more of them with eyes open."""
    waves = [blink(rng) for _ in range(rng.poisson(1.0 + 4.0 * eyes_open))]
    waves += [saccade(rng) for _ in range(rng.poisson(0.5 + 3.0 * eyes_open))]
    waves += [muscle_burst(rng) for _ in range(rng.poisson(0.8))]
    return waves


def movement(epoch_s: float, rng: np.random.Generator, channels: tuple[str, ...],
             duration_s: tuple[float, float] = (4.0, 20.0)) -> list[Planted]:
    """Body movement: muscle bursts and electrode swings on every channel, respiration included."""
    length_s = on_grid(rng.uniform(*duration_s))
    (start_s,) = place([length_s], rng)  # at most 20 s: always fits
    waveforms = {}
    for channel in channels:
        sfreq = RESP_SFREQ_HZ if channel == "Thor" else EEG_SFREQ_HZ
        t = np.arange(int(round(length_s * sfreq))) / sfreq
        swing = sum(rng.uniform(30.0, 120.0) * np.sin(2 * np.pi * rng.uniform(0.3, 2.0) * t
                                                      + rng.uniform(0, 2 * np.pi))
                    for _ in range(3))
        muscle = (0.0 if channel == "Thor"
                  else rng.uniform(10.0, 40.0) * rng.standard_normal(len(t)))
        waveforms[channel] = (swing + muscle) * taper(len(t), 0.2)
    return [Planted("movement", epoch_s + start_s, waveforms)]


def arousal(epoch_s: float, carrier: np.ndarray, rng: np.random.Generator,
            style: NightStyle) -> list[Planted]:
    """3-10 s of alpha and muscle at the end of a sleep epoch that wakes into the next one.

    ``carrier`` is unit-variance alpha-band noise for the epoch, shape (7680,).
    """
    length_s = on_grid(rng.uniform(3.0, 10.0))
    start_s = on_grid(EPOCH_SECONDS - EDGE_MARGIN_S - length_s - 1.0 / RESP_SFREQ_HZ)
    n = int(round(length_s * EEG_SFREQ_HZ))
    first = int(round(start_s * EEG_SFREQ_HZ))
    alpha = rng.uniform(8.0, 14.0) * carrier[first:first + n]
    muscle = rng.uniform(6.0, 20.0) * np.diff(rng.standard_normal(n + 1)) / np.sqrt(2.0)
    gains = {"EEG1": (0.12, 1.0), "EEG2": (1.0, 0.3), "EEG3": (0.35, 0.8), "EMG": (0.0, 2.0)}
    window = taper(n, 0.3)
    waveforms = {ch: (a * alpha + m * muscle) * window * style.gain(ch)
                 for ch, (a, m) in gains.items()}
    return [Planted("arousal", epoch_s + start_s, waveforms, style.alpha_hz)]
