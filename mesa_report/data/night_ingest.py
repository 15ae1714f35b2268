"""One EDF recording and its NSRR/Profusion annotations -> one stored night.

1. the chosen channels are read by name through edfio (default ``EEG1 EEG2 EEG3 Thor``,
   :mod:`mesa_report.data.edf_channels`);
2. each is resampled to 128 Hz, band-passed 0.3-35 Hz, centred on its median, divided by its
   inter-quartile range over the night and clipped to +-20 (:mod:`mesa_report.data.signal_filters`);
3. the night is cut into 30 s epochs from the annotations' start (the start of the recording) and
   labelled from the annotation file (``-1`` where it has no stage, and everywhere without one);
4. the tensor and its JSON sidecar are written atomically; the index row is returned.

A folder of recordings is :func:`mesa_report.data.ingest.preprocess`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mesa_report.core.errors import ConfigError, DataError, IngestError
from mesa_report.core.vocabulary import (EPOCH_SAMPLES, EPOCH_SECONDS, NUM_EEG_CHANNELS, SEQ_LEN,
                                         UNSCORED)
from mesa_report.core.vocabulary import STORE_CHANNEL_NAMES as DEFAULT_CHANNEL_NAMES
from mesa_report.data.annotations import fit_labels, read_stages
from mesa_report.data.edf_channels import read_edf_channels
from mesa_report.data.index_csv import index_row
from mesa_report.data.night_files import read_sidecar, write_night
from mesa_report.data.night_ids import parse_record_id
from mesa_report.data.signal_filters import (BANDPASS_HZ, CLIP_IQR, FILTER_ORDER, bandpass_and_scale,
                                             resample_to_store)

PIPELINE_VERSION = 1
"""Bumped whenever the processing changes, so that stored nights are made again."""


@dataclass(frozen=True)
class PreprocessedNight:
    """One night written by :func:`preprocess_night`: its id, file, index row and warnings."""

    mesaid: int
    path: Path
    row: dict[str, Any]
    warnings: list[str]


def check_channels(channels: Sequence[str]) -> tuple[str, ...]:
    """Validate a channel selection: at least three distinct names, EEG first.

    Examples
    --------
    >>> check_channels(["EEG1", "EEG2", "EEG3"])
    ('EEG1', 'EEG2', 'EEG3')
    """
    names = tuple(str(name).strip() for name in channels)
    if len(names) < NUM_EEG_CHANNELS or any(not name for name in names):
        raise ConfigError(f"--channels needs at least {NUM_EEG_CHANNELS} EEG channel names "
                          f"(the model reads the first {NUM_EEG_CHANNELS}), got {list(channels)}")
    if len({name.lower() for name in names}) != len(names):
        raise ConfigError(f"--channels names a channel twice: {list(channels)}")
    return names


def source_stamp(path: Path | None) -> dict[str, Any] | None:
    """Name, size and modification time of an input file (``None`` for none), kept in the sidecar.

    Examples
    --------
    >>> source_stamp(None) is None
    True
    """
    if path is None:
        return None
    stat = path.stat()
    return {"name": path.name, "size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def preprocess_night(edf_path: str | Path, annotation_path: str | Path | None,
                     output_dir: str | Path, *,
                     channels: Sequence[str] = DEFAULT_CHANNEL_NAMES,
                     mesaid: int | None = None) -> PreprocessedNight:
    """Turn one EDF (and its annotation file, if any) into a stored night.

    Parameters
    ----------
    edf_path : path-like
        ``mesa-sleep-NNNN.edf`` (the id comes from the name unless ``mesaid`` is given).
    annotation_path : path-like or None
        NSRR or Profusion XML; ``None`` stores an unscored night (all ``-1``).
    output_dir : path-like
        The store folder.
    channels : sequence of str
        EDF channel labels, the model's three EEG channels first.
    mesaid : int, optional
        Id to store the night under.

    Returns
    -------
    PreprocessedNight

    Raises
    ------
    IngestError
        For a bad EDF or annotation file, or a night shorter than one model window.

    Examples
    --------
    >>> import tempfile, pathlib, edfio
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> sig = [edfio.EdfSignal(np.sin(np.arange(256 * 600) / 7.0), 256, label=n)
    ...        for n in ("EEG1", "EEG2", "EEG3")]
    >>> edfio.Edf(sig).write(folder / "mesa-sleep-0003.edf")
    >>> result = preprocess_night(folder / "mesa-sleep-0003.edf", None, folder / "store",
    ...                           channels=("EEG1", "EEG2", "EEG3"))
    >>> result.mesaid, result.row["n_epochs"], result.row["sleep_stages"][:3]
    (3, 20, '999')
    """
    edf_path = Path(edf_path)
    annotation = Path(annotation_path) if annotation_path is not None else None
    channels = check_channels(channels)
    if mesaid is None:
        try:
            mesaid = parse_record_id(edf_path.stem)
        except DataError as exc:
            raise IngestError(f"{edf_path.name}: the file name holds no MESA record id; name it "
                              "mesa-sleep-NNNN.edf") from exc
    hypnogram = None if annotation is None else read_stages(annotation,
                                                            epoch_seconds=EPOCH_SECONDS)
    data, rates, edf_clock, notes = read_edf_channels(edf_path, channels)
    flat = np.array([channel.min() == channel.max() for channel in data])  # (C,)
    resampled = resample_to_store(data, rates)  # (C, T) at 128 Hz
    del data  # not needed any more: frees the raw channels before filtering (peak memory)
    n_epochs = resampled.shape[1] // EPOCH_SAMPLES
    if n_epochs < SEQ_LEN:
        raise IngestError(f"{edf_path.name} holds {n_epochs} whole 30 s epochs; one model window "
                          f"needs {SEQ_LEN} ({SEQ_LEN * EPOCH_SECONDS / 60:g} min)")
    # A trailing partial epoch is dropped.
    scaled, medians, iqrs = bandpass_and_scale(resampled[:, : n_epochs * EPOCH_SAMPLES], flat)
    del resampled
    if hypnogram is None:
        labels = np.full(n_epochs, UNSCORED, dtype=np.int64)
        start_clock, layout = edf_clock, None
        notes.append(f"{edf_path.name}: no annotation file; every epoch is unscored")
    else:
        labels, fit_notes = fit_labels(hypnogram.labels, n_epochs, annotation.name)
        start_clock = hypnogram.start_clock or edf_clock
        layout = hypnogram.layout
        notes += hypnogram.warnings + fit_notes
    for name, iqr in zip(channels, iqrs):
        if iqr <= 0:
            notes.append(f"{edf_path.name}: channel {name} is flat (no signal); it is stored as "
                         "zeros")
    meta = {
        "channel_names": list(channels),
        "start_clock": start_clock,
        "edf_file": edf_path.name,
        "annotation_file": annotation.name if annotation else None,
        "annotation_layout": layout,
        "sources": {"edf": source_stamp(edf_path), "annotations": source_stamp(annotation)},
        "source_channels": [
            {"name": name, "sfreq_hz": rate, "median": float(med), "iqr": float(iqr)}
            for name, rate, med, iqr in zip(channels, rates, medians, iqrs)],
        "bandpass_hz": list(BANDPASS_HZ),
        "filter_order": FILTER_ORDER,
        "clip_iqr": CLIP_IQR,
        "pipeline_version": PIPELINE_VERSION,
        "warnings": notes,
    }
    path = write_night(output_dir, mesaid, scaled, labels, meta)
    return PreprocessedNight(mesaid=mesaid, path=path, row=index_row(read_sidecar(
        path.with_suffix(".json"))), warnings=notes)
