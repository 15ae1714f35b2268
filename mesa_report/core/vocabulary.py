"""Sleep-stage vocabulary shared by every part of mesa-report.

Stage codes follow NSRR / Compumedics Profusion: 0=W, 1=N1, 2=N2, 3=N3, 4=N4, 5=REM.
``-1`` marks an unscored epoch (movement, unscored, unknown or not covered by annotations);
it is kept in the signal, drawn grey, and left out of every metric.
"""

from __future__ import annotations

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
