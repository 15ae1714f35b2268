"""The events of each stage, planted epoch by epoch into a generated night.

- W: alpha bursts (eyes closed; strongest on Cz-Oz) alternating with eyes-open stretches full of
  blinks and saccades, muscle bursts, now and then a body movement;
- N1: vertex waves, drowsy theta bursts, slow eye movements, some alpha spread forward;
- N2: spindles (about 4 a minute) and K-complexes, every epoch holding at least one of them;
- N3/N4: slow-wave trains filling 25-45 % / 55-80 % of the epoch, a few spindles in N3;
- REM: sawtooth bursts and rapid eye movements on a low-amplitude background;
- a sleep epoch followed by wake ends in an arousal (alpha and muscle);
- movement epochs (``-1``): a body movement on every channel.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mesa_report.core.vocabulary import UNSCORED
from mesa_report.core.vocabulary import EPOCH_SECONDS
from . import artefacts
from mesa_report.demo.background import N1, N2, N3, N4, REM, W, NightStyle
from mesa_report.demo.waves import (Planted, Wave, alpha_bursts, k_complex, narrowband, sawtooth_burst, scatter,
                    slow_wave_train, spindle, theta_burst, vertex_wave)

EVENT_STAGES = {
    "alpha": (W, N1),
    "blink": (W,),
    "saccade": (W,),
    "muscle": (W,),
    "vertex_wave": (N1,),
    "theta": (N1,),
    "slow_eye_movement": (N1,),
    "spindle": (N2, N3),
    "k_complex": (N2, N3),
    "slow_wave": (N3, N4),
    "sawtooth": (REM,),
    "rapid_eye_movement": (REM,),
    "arousal": (N1, N2, N3, N4, REM),
    "movement": (W, UNSCORED),
}
"""Stage codes whose epochs may hold each event kind."""

SPINDLES_PER_N2_EPOCH = 1.9
"""Mean spindles per N2 epoch before the at-least-one rule (about 4 a minute in all)."""

DROWSY_ALPHA_GAIN = {"EEG1": 0.35, "EEG2": 0.6, "EEG3": 0.6}
"""Alpha spreads forward as drowsiness sets in (anteriorisation): N1's alpha is central."""

_K_COMPLEX_PROBABILITY = 0.35  # per N2 epoch
_MOVEMENT_IN_WAKE = 0.08
_AROUSAL_BEFORE_WAKE = 0.7


def _wake_epoch(epoch_s: float, carrier: np.ndarray, rng: np.random.Generator,
                style: NightStyle, channels: tuple[str, ...]) -> list[Planted]:
    """Alpha with eyes closed, blinks, saccades and muscle with eyes open, sometimes a movement."""
    eyes_open = rng.beta(1.2, 1.2)
    events = alpha_bursts(epoch_s, carrier, rng, style, (4.0, 12.0), 0.7 * (1.0 - eyes_open))
    events += artefacts.eye_and_muscle(epoch_s, rng, style,
                                       artefacts.wake_artefacts(rng, eyes_open))
    if rng.random() < _MOVEMENT_IN_WAKE:
        events += artefacts.movement(epoch_s, rng, channels, (2.0, 6.0))
    return events


def _n1_epoch(epoch_s: float, carrier: np.ndarray, rng: np.random.Generator,
              style: NightStyle) -> list[Planted]:
    waves = [vertex_wave(rng) for _ in range(int(np.clip(rng.poisson(1.0), 1, 3)))]
    waves += [theta_burst(rng) for _ in range(rng.poisson(1.0))]
    events = scatter(epoch_s, waves, rng, style)
    if rng.random() < 0.6:
        events += artefacts.eye_and_muscle(epoch_s, rng, style, [artefacts.slow_eye_movement(rng)])
    if rng.random() < 0.7:
        events += alpha_bursts(epoch_s, carrier, rng, style, (4.0, 8.0), 0.4, DROWSY_ALPHA_GAIN)
    return events


def _n2_epoch(epoch_s: float, rng: np.random.Generator, style: NightStyle) -> list[Planted]:
    """Spindles (Poisson) and perhaps a K-complex; at least one spindle when neither came."""
    n_spindles = rng.poisson(SPINDLES_PER_N2_EPOCH)
    n_k_complexes = int(rng.random() < _K_COMPLEX_PROBABILITY)
    if n_spindles + n_k_complexes == 0:
        n_spindles = 1
    waves = [spindle(rng, style) for _ in range(n_spindles)]
    waves += [k_complex(rng, style) for _ in range(n_k_complexes)]
    return scatter(epoch_s, waves, rng, style)


def _slow_wave_epoch(epoch_s: float, rng: np.random.Generator, style: NightStyle,
                     fraction_range: tuple[float, float], max_trains: int,
                     spindle_rate: float) -> list[Planted]:
    """Slow-wave trains covering a fraction of the epoch drawn from ``fraction_range``."""
    fraction = rng.uniform(*fraction_range)
    n_trains = int(rng.integers(1, max_trains + 1))
    lengths_s = rng.dirichlet(np.full(n_trains, 3.0)) * fraction * EPOCH_SECONDS
    waves = [slow_wave_train(length, rng, style) for length in lengths_s]
    waves += [spindle(rng, style, 0.8) for _ in range(rng.poisson(spindle_rate))]
    return scatter(epoch_s, waves, rng, style)


def _rem_epoch(epoch_s: float, rng: np.random.Generator, style: NightStyle) -> list[Planted]:
    events = scatter(epoch_s, [sawtooth_burst(rng) for _ in range(int(rng.integers(1, 3)))],
                     rng, style)
    if rng.random() < 0.85:
        moves: list[Wave] = [artefacts.rapid_eye_movement(rng)
                             for _ in range(int(rng.integers(1, 6)))]
        events += artefacts.eye_and_muscle(epoch_s, rng, style, moves)
    return events


def plant_events(stages: np.ndarray, rng: np.random.Generator, style: NightStyle,
                 channels: tuple[str, ...]) -> list[Planted]:
    """Events of every epoch, by stage, plus arousals before awakenings.

    Examples
    --------
    >>> from .background import draw_style
    >>> events = plant_events(np.array([0, 1, 2, 3, 4, 5, -1]), np.random.default_rng(0),
    ...                       draw_style(np.random.default_rng(1)), ("EEG1", "EEG2", "EEG3", "Thor"))
    >>> {"alpha", "vertex_wave", "slow_wave", "sawtooth", "movement"} <= {e.kind for e in events}
    True
    """
    carriers = narrowband(len(stages), style.alpha_hz + rng.normal(0.0, 0.4, (len(stages), 1)),
                          0.8, rng)  # (E, 7680): each epoch's alpha-band noise
    per_stage: dict[int, Callable[[int, float], list[Planted]]] = {
        W: lambda e, at: _wake_epoch(at, carriers[e], rng, style, channels),
        N1: lambda e, at: _n1_epoch(at, carriers[e], rng, style),
        N2: lambda e, at: _n2_epoch(at, rng, style),
        N3: lambda e, at: _slow_wave_epoch(at, rng, style, (0.25, 0.45), 3, 0.4),
        N4: lambda e, at: _slow_wave_epoch(at, rng, style, (0.55, 0.8), 2, 0.0),
        REM: lambda e, at: _rem_epoch(at, rng, style),
        UNSCORED: lambda e, at: artefacts.movement(at, rng, channels),
    }
    waking = np.isin(stages, (W, UNSCORED))
    events: list[Planted] = []
    for epoch, stage in enumerate(stages):
        epoch_s = epoch * EPOCH_SECONDS
        events += per_stage[int(stage)](epoch, epoch_s)
        wakes_next = epoch + 1 < len(stages) and waking[epoch + 1]
        if not waking[epoch] and wakes_next and rng.random() < _AROUSAL_BEFORE_WAKE:
            events += artefacts.arousal(epoch_s, carriers[epoch], rng, style)
    return events
