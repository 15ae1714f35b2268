"""The vocabulary every part of mesa-report reads its defaults from: the signal's sizes, stages, channels.

Sizes are those of the seed's store and model (MESA's EEG at 128 Hz, 30 s epochs, windows of 20
epochs); everything else is derived from them here.

Stage codes follow NSRR / Compumedics Profusion: 0=W, 1=N1, 2=N2, 3=N3, 4=N4, 5=REM.
``-1`` marks an unscored epoch (movement, unscored, unknown or not covered by annotations);
it is kept in the signal, drawn grey, and left out of every metric.

Examples
--------
>>> EPOCH_SAMPLES, STORE_CHANNEL_NAMES[:NUM_EEG_CHANNELS] == MODEL_CHANNEL_NAMES
(3840, True)
"""

from __future__ import annotations

SFREQ_HZ = 128.0
"""Sampling rate of every stored night (and of the model's input)."""

EPOCH_SECONDS = 30.0
"""Length of one scored epoch."""

EPOCH_SAMPLES = int(round(EPOCH_SECONDS * SFREQ_HZ))
"""Samples per epoch (3840)."""

SEQ_LEN = 20
"""Epochs per model window (the seed's ``seq_len``)."""

NUM_EEG_CHANNELS = 3
"""EEG channels the model reads (the first three of each night)."""

STORE_CHANNEL_NAMES = ("EEG1", "EEG2", "EEG3", "Thor")
"""The seed's channel order in a stored night; names of a night that has no sidecar."""

MODEL_CHANNEL_NAMES = STORE_CHANNEL_NAMES[:NUM_EEG_CHANNELS]
"""The channels the model reads, in order."""

SIGNAL_UNIT = "IQR units"
"""Unit of the stored signal: ``preprocess`` centres each channel on its median over the night and
divides it by its inter-quartile range (:mod:`mesa_report.data.ingest`)."""

SIGNAL_SCALING = "signal as stored: each channel's median over the night removed, divided by its inter-quartile range"
"""How the stored signal was scaled, in words, for the notes under its charts."""

ENTROPY_EPS = 1e-8
"""The seed's uncertainty is ``-sum(p * log(p + ENTROPY_EPS))`` over the stages, in nats."""

UNSCORED = -1
"""Label of an epoch without a usable stage."""

CLASS_NAMES_6 = ("W", "N1", "N2", "N3", "N4", "REM")
"""Class names of the seed's 6-class model (R&K stages, NSRR codes 0-5)."""

CLASS_NAMES_5 = ("W", "N1", "N2", "N3", "REM")
"""Class names of a 5-class (AASM) model, N3 and N4 merged."""

STAGE_COLOURS = {
    "W": "#3498db",
    "N1": "#e74c3c",
    "N2": "#2ecc71",
    "N3": "#9b59b6",
    "N4": "#f39c12",
    "REM": "#1abc9c",
}
"""The seed module's stage colours."""

UNSCORED_COLOUR = "#b0b0b0"
UNSCORED_NAME = "?"

WRONG_COLOUR = "#d6007e"
"""Wrong predictions (labels, ticks, the report's marks): a magenta no stage uses, so that red
means N1 only."""

REM_BAND_COLOUR = "#d5f5ee"
"""The hypnogram's REM band: a pale tint of the REM colour."""

EEG_DERIVATIONS = {"EEG1": "Fz-Cz", "EEG2": "Cz-Oz", "EEG3": "C4-M1"}
"""MESA's EEG channels and their derivations (NSRR documentation)."""


def default_class_names(num_classes: int) -> tuple[str, ...]:
    """Return the stage names for a model with ``num_classes`` outputs.

    Examples
    --------
    >>> default_class_names(5)
    ('W', 'N1', 'N2', 'N3', 'REM')
    """
    if num_classes == 6:
        return CLASS_NAMES_6
    if num_classes == 5:
        return CLASS_NAMES_5
    return tuple(f"class {k}" for k in range(num_classes))


def stage_name(code: int, class_names: tuple[str, ...] | list[str] = CLASS_NAMES_6) -> str:
    """Name of one stage code; ``-1`` (or any code out of range) is the unscored mark ``?``."""
    code = int(code)
    if 0 <= code < len(class_names):
        return str(class_names[code])
    return UNSCORED_NAME


def channel_label(name: str) -> str:
    """Channel name with its derivation where known, e.g. ``EEG1 (Fz-Cz)``."""
    derivation = EEG_DERIVATIONS.get(name)
    return f"{name} ({derivation})" if derivation else name
