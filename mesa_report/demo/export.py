"""Write a synthetic night as the files MESA users hold: EDF, NSRR annotation XML, events CSV.

Every file is written atomically (:mod:`mesa_report.core.fileio`). The EDF goes through edfio, each
channel in µV with its physical range set from the data; the XML follows the NSRR layout
(``<PSGAnnotation>``, ``EpochLength`` 30, a ``Recording Start Time`` event with its ``ClockTime``,
and one ``Stages|Stages`` event per run of equal stages whose ``Duration`` spans the whole run).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import edfio
import numpy as np

from mesa_report.core.errors import ConfigError
from mesa_report.core.fileio import atomic_write, write_text_atomic
from mesa_report.core.vocabulary import UNSCORED
from mesa_report.demo.generate import EPOCH_SECONDS, GENERATOR_VERSION, SyntheticNight, stage_runs

STAGE_CONCEPTS = {
    0: "Wake|0",
    1: "Stage 1 sleep|1",
    2: "Stage 2 sleep|2",
    3: "Stage 3 sleep|3",
    4: "Stage 4 sleep|4",
    5: "REM sleep|5",
    UNSCORED: "Movement|6",
}
"""NSRR ``EventConcept`` of each stage code; the generator's only unscored epochs are movement."""

PHYSICAL_DIMENSION = "uV"


def _physical_range(data: np.ndarray) -> tuple[float, float]:
    """Whole-µV range just wider than the data (a whole number always fits EDF's 8 characters)."""
    low, high = math.floor(float(np.min(data))) - 1, math.ceil(float(np.max(data))) + 1
    return float(low), float(high)


def write_edf(night: SyntheticNight, path: str | os.PathLike,
              channels: Sequence[str] | None = None) -> Path:
    """Write the night's signals to an EDF file, as MESA's ``mesa-sleep-NNNN.edf``.

    Each channel keeps its own sampling rate (EEG, EOG and EMG at 256 Hz, Thor at 32 Hz), is
    labelled by its MESA name, and is stored in µV with a physical range just wider than its
    data (16-bit resolution, better than 0.05 µV for EEG). The header carries the start date and
    clock time. Each channel is scaled on its own, so a channel is written the same whichever
    others are written with it.

    Parameters
    ----------
    night : SyntheticNight
        The generated night.
    path : path-like
        Output file; written atomically.
    channels : sequence of str, optional
        The channels to write, in this order; by default all of the night's.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from mesa_report.demo.generate import generate_night
    >>> night = generate_night(2, hours=0.1)
    >>> edf = edfio.read_edf(write_edf(night, pathlib.Path(tempfile.mkdtemp()) / "n.edf"))
    >>> edf.labels[:3], edf.signals[0].sampling_frequency, edf.duration
    (('EEG1', 'EEG2', 'EEG3'), 256.0, 360.0)
    >>> edfio.read_edf(write_edf(night, pathlib.Path(tempfile.mkdtemp()) / "n.edf",
    ...                          channels=["EEG2", "Thor"])).labels
    ('EEG2', 'Thor')
    """
    names = list(night.signals) if channels is None else list(channels)
    unknown = [name for name in names if name not in night.signals]
    if unknown or not names:
        raise ConfigError(f"channels {unknown or names}: choose among {', '.join(night.signals)}")
    signals = [
        edfio.EdfSignal(
            np.asarray(night.signals[name], dtype=np.float64),
            night.sfreq_hz[name],
            label=name,
            physical_dimension=PHYSICAL_DIMENSION,
            physical_range=_physical_range(night.signals[name]),
        )
        for name in names
    ]
    edf = edfio.Edf(
        signals,
        recording=edfio.Recording(startdate=night.start_time.date()),
        starttime=night.start_time.time(),
    )
    with atomic_write(path) as fh:
        edf.write(fh)
    return Path(path)


def _scored_event(event_type: str, concept: str, start: str, duration: str,
                  clock_time: str | None = None) -> list[str]:
    lines = ["<ScoredEvent>",
             f"<EventType>{escape(event_type)}</EventType>" if event_type else "<EventType/>",
             f"<EventConcept>{escape(concept)}</EventConcept>",
             f"<Start>{start}</Start>",
             f"<Duration>{duration}</Duration>"]
    if clock_time is not None:
        lines.append(f"<ClockTime>{escape(clock_time)}</ClockTime>")
    return lines + ["</ScoredEvent>"]


def nsrr_xml_text(night: SyntheticNight) -> str:
    """The NSRR annotation XML of a night, as text (see :func:`write_nsrr_xml`).

    Examples
    --------
    >>> from mesa_report.demo.generate import night_from_stages
    >>> text = nsrr_xml_text(night_from_stages(1, [0, 0, 1, 2]))
    >>> "<EventConcept>Wake|0</EventConcept>" in text, "<Duration>60.0</Duration>" in text
    (True, True)
    """
    epoch_length = int(EPOCH_SECONDS)
    clock = night.start_time.strftime("00.00.00 %H.%M.%S")
    lines = ['<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
             "<PSGAnnotation>",
             f"<SoftwareVersion>mesa-report demo generator {GENERATOR_VERSION}</SoftwareVersion>",
             f"<EpochLength>{epoch_length}</EpochLength>",
             "<ScoredEvents>"]
    lines += _scored_event("", "Recording Start Time", "0", f"{night.duration_s:.1f}", clock)
    for code, first, length in stage_runs(night.stages):
        lines += _scored_event("Stages|Stages", STAGE_CONCEPTS[code],
                               f"{first * EPOCH_SECONDS:.1f}", f"{length * EPOCH_SECONDS:.1f}")
    lines += ["</ScoredEvents>", "</PSGAnnotation>"]
    return "\n".join(lines) + "\n"


def write_nsrr_xml(night: SyntheticNight, path: str | os.PathLike) -> Path:
    """Write the night's stages as an NSRR annotation file (``mesa-sleep-NNNN-nsrr.xml``).

    The layout is NSRR's: ``<PSGAnnotation>`` with ``EpochLength`` 30, a ``Recording Start Time``
    event (``ClockTime`` ``00.00.00 HH.MM.SS``, duration = the recording), then one
    ``Stages|Stages`` event per run of equal stages, ``EventConcept`` ``Wake|0`` ...
    ``REM sleep|5`` or ``Movement|6``, ``Start`` and ``Duration`` in seconds.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from mesa_report.demo.generate import night_from_stages
    >>> path = write_nsrr_xml(night_from_stages(1, [2, 2, 5]),
    ...                       pathlib.Path(tempfile.mkdtemp()) / "mesa-sleep-0001-nsrr.xml")
    >>> path.read_text().count("Stages|Stages")
    2
    """
    return write_text_atomic(path, nsrr_xml_text(night))


def write_events_csv(night: SyntheticNight, path: str | os.PathLike) -> Path:
    """Write the planted events (one row per event and channel) to a CSV file.

    Columns are those of ``night.events``; ``start_time`` is written as ISO date and time.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from mesa_report.demo.generate import night_from_stages
    >>> path = write_events_csv(night_from_stages(1, [2, 2]),
    ...                         pathlib.Path(tempfile.mkdtemp()) / "events.csv")
    >>> "spindle" in set(pd.read_csv(path)["kind"])
    True
    """
    frame = night.events.copy()
    frame["start_time"] = frame["start_time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return write_text_atomic(path, frame.to_csv(index=False, lineterminator="\n"))
