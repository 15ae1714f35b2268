"""The ongoing EEG of a generated night: an aperiodic (1/f) background whose exponent follows the stage.

Real sleep EEG is mostly aperiodic activity, power falling as ``1 / (knee^chi + f^chi)``, with
a few periodic and transient events on top (the periodic/aperiodic model of specparam, formerly
FOOOF). The exponent ``chi`` changes with the stage: flattest in wake, steeper in NREM sleep and
steepest in REM sleep (Lendner et al., eLife 2020, 9:e55092). Each epoch's background is shaped
noise with its stage's spectrum, cross-faded over two seconds into its neighbours; each sleeper
(:class:`NightStyle`) shifts the exponent and scales the amplitude a little.

The table :data:`STAGE_APERIODIC` was fitted so that, with the events of :mod:`.events`, the
band shares of C4-M1 (``EEG3``) match those of real expert-scored recordings (see
:mod:`.realism`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mesa_report.core.vocabulary import CLASS_NAMES_6, EPOCH_SECONDS, MODEL_CHANNEL_NAMES, UNSCORED

EEG_SFREQ_HZ = 256.0
"""Sampling rate of the EEG, EOG and EMG channels (as in MESA)."""

EEG_CHANNELS = MODEL_CHANNEL_NAMES
"""Fz-Cz, Cz-Oz and C4-M1, as in MESA."""

W, N1, N2, N3, N4, REM = range(len(CLASS_NAMES_6))

EDF_EPOCH_SAMPLES = int(round(EPOCH_SECONDS * EEG_SFREQ_HZ))  # 7680 (the store's epochs hold 3840, at 128 Hz)
FADE_SAMPLES = int(EEG_SFREQ_HZ)  # 1 s on each side of an epoch boundary
SEGMENT_SAMPLES = EDF_EPOCH_SAMPLES + 2 * FADE_SAMPLES  # 8192: one epoch plus both fades
SEGMENT_FREQS_HZ = np.fft.rfftfreq(SEGMENT_SAMPLES, 1.0 / EEG_SFREQ_HZ)  # (4097,)

# Aperiodic exponent chi, knee (Hz) and µV RMS on C4-M1 of each stage's background
# (rows W N1 N2 N3 N4 REM). Wake is flattest, REM steepest (Lendner et al. 2020).
STAGE_APERIODIC = np.array([
    [1.7, 1.5, 12.5],
    [2.0, 2.0, 13.5],
    [2.4, 2.0, 19.0],
    [2.6, 4.0, 15.0],
    [2.6, 4.0, 14.0],
    [2.9, 3.4, 13.0],
])  # (6 stages, 3)

BACKGROUND_CHANNEL_GAIN = {"EEG1": 0.75, "EEG2": 0.7, "EEG3": 1.0}
"""Background size per derivation: the short bipolar Fz-Cz and Cz-Oz see less than C4-M1."""

MUSCLE_RMS_UV = np.array([2.5, 1.2, 0.6, 0.5, 0.5, 0.3])
"""Tonic scalp muscle (above 20 Hz) per stage on C4-M1; Fz-Cz sees a little more."""

_MUSCLE_CHANNEL_GAIN = {"EEG1": 1.2, "EEG2": 0.6, "EEG3": 1.0}
_EMG_RMS_UV = np.array([10.0, 6.0, 4.0, 3.5, 3.5, 1.5])  # chin EMG per stage: REM atonia
_EPOCH_JITTER = 0.12  # lognormal sigma of each epoch's background size


@dataclass(frozen=True)
class NightStyle:
    """Traits of one sleeper that stay fixed through the night.

    Attributes
    ----------
    alpha_hz, spindle_hz : float
        Frequencies of the sleeper's alpha rhythm and spindles.
    amplitude_gain : float
        Scales every EEG signal of the night (skull, age, electrode impedance).
    exponent_shift : float
        Added to every stage's aperiodic exponent.
    slow_wave_gain : float
        Scales slow waves and K-complexes (slow-wave sleep declines with age).
    channel_gain : dict of str to float
        Extra gain per EEG derivation (electrode positions differ a little).
    """

    alpha_hz: float
    spindle_hz: float
    amplitude_gain: float = 1.0
    exponent_shift: float = 0.0
    slow_wave_gain: float = 1.0
    channel_gain: dict[str, float] = field(default_factory=dict)

    def gain(self, channel: str) -> float:
        """Overall gain of ``channel`` (1 for channels that are not EEG)."""
        if channel not in EEG_CHANNELS:
            return 1.0
        return self.amplitude_gain * self.channel_gain.get(channel, 1.0)


def draw_style(rng: np.random.Generator) -> NightStyle:
    """A random sleeper: alpha 8.5-11.5 Hz, spindles 12-14.5 Hz, amplitude and exponent spread.

    Examples
    --------
    >>> style = draw_style(np.random.default_rng(0))
    >>> bool(8.5 <= style.alpha_hz <= 11.5), sorted(style.channel_gain)
    (True, ['EEG1', 'EEG2', 'EEG3'])
    """
    return NightStyle(
        alpha_hz=rng.uniform(8.5, 11.5),
        spindle_hz=rng.uniform(12.0, 14.5),
        amplitude_gain=float(rng.lognormal(0.0, 0.2)),
        exponent_shift=float(rng.normal(0.0, 0.12)),
        slow_wave_gain=rng.uniform(0.95, 1.2),
        channel_gain={ch: float(rng.lognormal(0.0, 0.08)) for ch in EEG_CHANNELS},
    )


def highpass(f: np.ndarray, corner_hz: float, order: int = 4) -> np.ndarray:
    """Power response of a Butterworth-like high-pass (0 at DC, 1 well above ``corner_hz``)."""
    ratio = (f / corner_hz) ** order
    return ratio / (1.0 + ratio)


def lowpass(f: np.ndarray, corner_hz: float, order: int = 8) -> np.ndarray:
    """Power response of a Butterworth-like low-pass."""
    return 1.0 / (1.0 + (f / corner_hz) ** order)


def unit_variance(power: np.ndarray) -> np.ndarray:
    """Scale a power template so that :func:`shaped_noise` made with it has unit variance."""
    return power * (SEGMENT_SAMPLES ** 2 / (4.0 * power.sum(axis=-1, keepdims=True)))


def aperiodic_power(f: np.ndarray, exponent: float, knee_hz: float) -> np.ndarray:
    """``1 / (knee^chi + f^chi)``, band-limited to 0.3-60 Hz as an amplifier records it.

    Examples
    --------
    >>> p = aperiodic_power(np.array([1.0, 10.0, 20.0]), 2.0, 1.0)
    >>> bool(p[1] / p[2] > 3.5)
    True
    """
    return (1.0 / (knee_hz ** exponent + f ** exponent)) * highpass(f, 0.3) * lowpass(f, 60.0)


def stage_templates(exponent_shift: float) -> np.ndarray:
    """Unit-variance background power per stage plus a muscle row, shape (7, 4097)."""
    f = SEGMENT_FREQS_HZ
    rows = [aperiodic_power(f, chi + exponent_shift, knee) for chi, knee, _ in STAGE_APERIODIC]
    rows.append(highpass(f, 20.0, 6) * lowpass(f, 100.0))
    return unit_variance(np.stack(rows))


def stage_rows(stages: np.ndarray) -> np.ndarray:
    """Row of a per-stage table for each epoch; movement epochs look like wake."""
    return np.where(stages == UNSCORED, W, stages)


def _fade_windows() -> tuple[np.ndarray, np.ndarray]:
    ramp = (np.arange(2 * FADE_SAMPLES) + 0.5) / (2 * FADE_SAMPLES)
    return np.sin(0.5 * np.pi * ramp), np.cos(0.5 * np.pi * ramp)  # each (512,)


def shaped_noise(rms_uv: np.ndarray, templates: np.ndarray,
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

    Examples
    --------
    >>> flat = unit_variance(np.ones((1, len(SEGMENT_FREQS_HZ))))
    >>> x = shaped_noise(np.full((4, 1), 5.0), flat, np.random.default_rng(0))
    >>> x.shape, bool(4.5 < x.std() < 5.5)
    ((30720,), True)
    """
    n_epochs = rms_uv.shape[0]
    amplitude = np.sqrt((rms_uv ** 2) @ templates).astype(np.float32)  # (E, n_bins)
    # Real and imaginary parts side by side, read as complex64 without a copy.
    spectrum = rng.standard_normal((n_epochs, templates.shape[1], 2), dtype=np.float32)
    spectrum = spectrum.view(np.complex64)[..., 0]  # (E, n_bins)
    spectrum *= amplitude
    from scipy import fft as sfft  # here, not at the top: opening a built demo cohort never imports scipy.fft (0.2 s)

    segments = sfft.irfft(spectrum, n=SEGMENT_SAMPLES, axis=1)  # (E, 8192) float32
    fade_in, fade_out = _fade_windows()
    tail = EDF_EPOCH_SAMPLES  # segment i+1 starts where segment i's last 2 s begin
    out = segments[:, FADE_SAMPLES:FADE_SAMPLES + EDF_EPOCH_SAMPLES].copy()  # (E, 7680)
    # Epoch i's first second overlaps the end of segment i-1; its last second, segment i+1's start.
    out[1:, :FADE_SAMPLES] *= fade_in[FADE_SAMPLES:]
    out[1:, :FADE_SAMPLES] += segments[:-1, tail + FADE_SAMPLES:] * fade_out[FADE_SAMPLES:]
    out[:-1, -FADE_SAMPLES:] *= fade_out[:FADE_SAMPLES]
    out[:-1, -FADE_SAMPLES:] += segments[1:, :FADE_SAMPLES] * fade_in[:FADE_SAMPLES]
    return out.reshape(-1)  # (E * 7680,)


def eeg_background(stages: np.ndarray, style: NightStyle,
                   rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The aperiodic background plus tonic muscle of each EEG derivation, µV, float32.

    Examples
    --------
    >>> style = draw_style(np.random.default_rng(1))
    >>> eeg = eeg_background(np.array([0, 2, 3, 5]), style, np.random.default_rng(2))
    >>> sorted(eeg), eeg["EEG3"].shape
    (['EEG1', 'EEG2', 'EEG3'], (30720,))
    """
    rows = stage_rows(stages)
    templates = stage_templates(style.exponent_shift)  # (7, 4097)
    n_epochs = len(stages)
    out = {}
    for channel in EEG_CHANNELS:
        rms = np.zeros((n_epochs, templates.shape[0]))
        jitter = rng.lognormal(0.0, _EPOCH_JITTER, size=n_epochs)
        rms[np.arange(n_epochs), rows] = (STAGE_APERIODIC[rows, 2] * jitter
                                          * BACKGROUND_CHANNEL_GAIN[channel])
        rms[:, -1] = MUSCLE_RMS_UV[rows] * _MUSCLE_CHANNEL_GAIN[channel] * jitter
        out[channel] = shaped_noise(rms * style.gain(channel), templates, rng)
    return out


def chin_emg(stages: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Chin muscle tone: 10-100 Hz noise that falls from wake to REM atonia, µV, float32."""
    template = unit_variance(highpass(SEGMENT_FREQS_HZ, 10.0, 4)
                             * lowpass(SEGMENT_FREQS_HZ, 100.0))[None, :]  # (1, 4097)
    rms = _EMG_RMS_UV[stage_rows(stages)] * rng.lognormal(0.0, 0.15, size=len(stages))
    return shaped_noise(rms[:, None], template, rng)
