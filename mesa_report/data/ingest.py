"""EDF recordings and their NSRR/Profusion annotations -> the preprocessed store.

For each night ``mesa-sleep-NNNN.edf`` (with ``mesa-sleep-NNNN-nsrr.xml`` or
``mesa-sleep-NNNN-profusion.xml`` next to it or in an annotations folder):

1. the chosen channels are read by name through edfio (default ``EEG1 EEG2 EEG3 Thor``);
2. each is resampled to 128 Hz with a polyphase filter, then band-passed 0.3-35 Hz with a zero-phase
   Butterworth filter (applied at 128 Hz, so the upper edge is always below Nyquist, also for
   channels recorded at a low rate such as Thor at 32 Hz);
3. each channel is centred on its median and divided by its inter-quartile range over the night,
   then clipped to +-20;
4. the night is cut into 30 s epochs from the annotations' start (the start of the recording) and
   labelled from the annotation file (``-1`` where it has no stage, and everywhere without one);
5. the tensor, its JSON sidecar and the index row are written atomically.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import edfio
import numpy as np
from scipy import signal as sps

from mesa_report.data.annotations import fit_labels, read_stages
from mesa_report.core.errors import ConfigError, DataError, IngestError
from mesa_report.core.fileio import remove_partial_files
from mesa_report.core.jobs import JobRunner, check_workers
from mesa_report.core.vocabulary import UNSCORED
from mesa_report.core.vocabulary import STORE_CHANNEL_NAMES as DEFAULT_CHANNEL_NAMES, EPOCH_SAMPLES, EPOCH_SECONDS, NUM_EEG_CHANNELS, SEQ_LEN, SFREQ_HZ
from mesa_report.data.store import INDEX_NAME, index_row, night_filename, parse_record_id, read_sidecar, record_id, sidecar_filename, write_night
from mesa_report.data.index_merge import check_index, merge_index
from mesa_report.data.store import index_path

BANDPASS_HZ = (0.3, 35.0)
"""Pass band of the EEG filter."""

FILTER_ORDER = 4
"""Butterworth order (doubled by the forward-backward pass)."""

CLIP_IQR = 20.0
"""Scaled samples are clipped to this many inter-quartile ranges from the median."""

QUANTILE_STEP = 4
"""Median and quartiles are taken over every 4th sample (32 per second)."""

PIPELINE_VERSION = 1
"""Bumped whenever the processing changes, so that stored nights are made again."""

ANNOTATION_SUFFIXES = ("-nsrr.xml", "-profusion.xml", ".xml")
"""Annotation file names tried after a night's record id, in order of preference."""

_MAX_RATIO_DENOMINATOR = 1000


@dataclass
class PreprocessSummary:
    """What :func:`preprocess` did.

    Attributes
    ----------
    written : list of int
        Nights made in this run.
    skipped : list of int
        Nights already up to date.
    failed : list of (str, str)
        ``(file, message)`` of each night that could not be made; nothing of it was written.
    warnings : list of str
        Problems that did not stop a night (each names its file).
    index_path : Path or None
        The index CSV written, ``None`` if no night was made or up to date.
    """

    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    index_path: Path | None = None


@dataclass(frozen=True)
class PreprocessedNight:
    """One night written by :func:`preprocess_night`: its id, file, index row and warnings."""

    mesaid: int
    path: Path
    row: dict[str, Any]
    warnings: list[str]


@dataclass(frozen=True)
class _Task:
    edf_path: Path
    annotation_path: Path | None
    mesaid: int


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


def _source(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    stat = path.stat()
    return {"name": path.name, "size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _find_label(path: Path, labels: Sequence[str], name: str) -> int:
    exact = [k for k, label in enumerate(labels) if label == name]
    loose = exact or [k for k, label in enumerate(labels)
                      if label.strip().lower() == name.lower()]
    if len(loose) == 1:
        return loose[0]
    if not loose:
        raise IngestError(f"{path.name} has no channel {name!r}; it has: {', '.join(labels)}. "
                          "Choose channels with --channels")
    raise IngestError(f"{path.name} has {len(loose)} channels named {name!r}; rename them")


def read_edf_channels(edf_path: str | Path, channels: Sequence[str]
                      ) -> tuple[list[np.ndarray], list[float], str | None, list[str]]:
    """Read the named channels of an EDF file in physical units.

    Returns
    -------
    data : list of numpy.ndarray
        One float32 array ``(n_samples_c,)`` per channel.
    rates_hz : list of float
        Their sampling rates.
    start_clock : str or None
        Start time ``HH:MM:SS`` from the header.
    notes : list of str
        Warnings about the data (e.g. uncalibrated channels).

    Raises
    ------
    IngestError
        For a file that is missing, not an EDF, truncated, discontinuous (EDF+D with gaps), or
        lacks a channel (the message lists the channels it has).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mesa-sleep-0001.edf"
    >>> edfio.Edf([edfio.EdfSignal(np.zeros(256), 256, label=n) for n in "ABC"]).write(path)
    >>> data, rates, _, _ = read_edf_channels(path, ["A", "B", "C"])
    >>> [len(d) for d in data], rates
    ([256, 256, 256], [256.0, 256.0, 256.0])
    """
    path = Path(edf_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            edf = edfio.read_edf(path, lazy_load_data=True)
        except FileNotFoundError as exc:
            raise IngestError(f"EDF file {path} not found") from exc
        except Exception as exc:  # edfio raises several types for a damaged header
            raise IngestError(f"{path} is not a readable EDF file ({type(exc).__name__}: {exc});"
                              " download or export it again") from exc
    if caught:
        raise IngestError(f"{path} is truncated or damaged ({caught[0].message}); download or "
                          "export it again")
    if str(edf.reserved).startswith("EDF+D") and not edf.is_continuous:
        raise IngestError(f"{path} is an EDF+D file with gaps between its data records, which "
                          "would be read as if joined; export the recording as one continuous "
                          "EDF (EDF+C), or one file per continuous part")
    labels = list(edf.labels)
    picked = [edf.signals[_find_label(path, labels, name)] for name in channels]
    if edf.num_data_records < 1:
        raise IngestError(f"{path} holds no data records; download or export it again")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = [np.asarray(sig.data, dtype=np.float32) for sig in picked]  # one f64 at a time
    notes = [f"{path.name}: {w.message}" for w in caught]
    rates = [float(sig.sampling_frequency) for sig in picked]
    try:
        start_clock = edf.starttime.replace(microsecond=0).isoformat()
    except ValueError:
        start_clock = None
    return data, rates, start_clock, notes


def _resample_ratio(sfreq_hz: float) -> Fraction:
    ratio = (Fraction(SFREQ_HZ) / Fraction(sfreq_hz)).limit_denominator(_MAX_RATIO_DENOMINATOR)
    if ratio <= 0:
        raise IngestError(f"sampling rate {sfreq_hz} Hz cannot be resampled")
    return ratio


def resample_to_store(data: Sequence[np.ndarray], rates_hz: Sequence[float]) -> np.ndarray:
    """Resample channels recorded at any rates to 128 Hz with a polyphase filter.

    Channels of one rate are resampled together.

    Parameters
    ----------
    data : sequence of numpy.ndarray
        One 1-D array per channel, covering the same time span.
    rates_hz : sequence of float
        Their sampling rates.

    Returns
    -------
    numpy.ndarray, shape (channels, T), float32
        At 128 Hz, cut to the shortest channel.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> resample_to_store([rng.normal(size=256 * 60), rng.normal(size=32 * 60)],
    ...                   [256.0, 32.0]).shape
    (2, 7680)
    """
    groups = {}  # rate -> (channel indices, common input length, resampling ratio)
    for rate in sorted(set(rates_hz)):
        members = [k for k, r in enumerate(rates_hz) if r == rate]
        groups[rate] = (members, min(len(data[k]) for k in members), _resample_ratio(rate))
    n_samples = min(math.ceil(length * ratio) for _, length, ratio in groups.values())
    resampled = np.empty((len(data), n_samples), dtype=np.float32)  # (C, T) at 128 Hz
    for members, length, ratio in groups.values():
        block = np.stack([data[k][:length] for k in members]).astype(np.float32)  # (k, n)
        if ratio != 1:
            block = sps.resample_poly(block, ratio.numerator, ratio.denominator, axis=-1)
        resampled[members] = block[:, :n_samples]
    return resampled


def bandpass_and_scale(signal: np.ndarray, flat: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Band-pass 0.3-35 Hz (zero phase), centre on the median, divide by the IQR, clip.

    Parameters
    ----------
    signal : numpy.ndarray, shape (channels, T)
        At 128 Hz.
    flat : numpy.ndarray of bool, shape (channels,), optional
        Channels that were constant as recorded (resampling adds a ripple, so this is decided
        on the raw data). They, and any channel whose filtered quartiles coincide, are stored
        as zeros.

    Returns
    -------
    scaled : numpy.ndarray, shape (channels, T), float32
    medians, iqrs : numpy.ndarray, shape (channels,)
        Per-channel median and inter-quartile range of the filtered signal (input units); 0 for
        a flat channel.

    Examples
    --------
    >>> noise = np.random.default_rng(0).normal(5.0, 2.0, size=(2, 128 * 600))
    >>> scaled, medians, iqrs = bandpass_and_scale(noise)
    >>> bool(abs(np.median(scaled)) < 0.05), bool(np.abs(scaled).max() <= 20)
    (True, True)
    """
    signal = np.asarray(signal, dtype=np.float32)
    flat = np.zeros(len(signal), dtype=bool) if flat is None else np.asarray(flat, dtype=bool)
    sos = sps.butter(FILTER_ORDER, BANDPASS_HZ, btype="bandpass", fs=SFREQ_HZ, output="sos")
    # float32 throughout: the store keeps float32, and the error is ~1e-4 of the signal's spread.
    filtered = sps.sosfiltfilt(sos.astype(np.float32), signal, axis=-1)  # (C, T) float32
    every = filtered[:, ::QUANTILE_STEP]  # (C, T / step): 32 samples/s are plenty for quartiles
    q25, medians, q75 = np.percentile(every, [25, 50, 75], axis=-1)  # (C,) each
    flat = flat | (q75 <= q25)  # also a channel constant over more than half the night
    iqrs = np.where(flat, 0.0, q75 - q25)
    filtered -= medians[:, None].astype(np.float32)
    filtered /= np.where(iqrs > 0, iqrs, 1.0)[:, None].astype(np.float32)
    np.clip(filtered, -CLIP_IQR, CLIP_IQR, out=filtered)
    filtered[flat] = 0.0
    return filtered, medians, iqrs


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
    >>> import tempfile, pathlib
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
        "sources": {"edf": _source(edf_path), "annotations": _source(annotation)},
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


def _listing(folder: Path) -> dict[str, Path]:
    return {p.name.lower(): p for p in folder.iterdir() if p.is_file()}


def find_annotation(edf_path: Path, mesaid: int, listings: Sequence[dict[str, Path]]
                    ) -> Path | None:
    """The annotation file of a night: first folder first, NSRR before Profusion.

    Examples
    --------
    >>> listing = {"mesa-sleep-0001-profusion.xml": Path("p.xml"),
    ...            "mesa-sleep-0001-nsrr.xml": Path("n.xml")}
    >>> find_annotation(Path("mesa-sleep-0001.edf"), 1, [listing]).name
    'n.xml'
    """
    stems = dict.fromkeys([record_id(mesaid), edf_path.stem])
    for listing in listings:
        for suffix in ANNOTATION_SUFFIXES:
            for stem in stems:
                found = listing.get(f"{stem}{suffix}".lower())
                if found is not None:
                    return found
    return None


def _plan(edf_dir: Path, annotations_dir: Path | None
          ) -> tuple[list[_Task], list[tuple[str, str]]]:
    if not edf_dir.is_dir():
        raise IngestError(f"EDF folder {edf_dir} does not exist; pass the folder that holds the "
                          "mesa-sleep-NNNN.edf files (--edf_dir)")
    if annotations_dir is not None and not annotations_dir.is_dir():
        raise IngestError(f"annotations folder {annotations_dir} does not exist "
                          "(--annotations_dir)")
    edfs = sorted(p for p in edf_dir.iterdir() if p.is_file() and p.suffix.lower() == ".edf")
    if not edfs:
        raise IngestError(f"no .edf files in {edf_dir}; pass the folder that holds the "
                          "mesa-sleep-NNNN.edf files (--edf_dir)")
    folders = [annotations_dir, edf_dir] if annotations_dir is not None else [edf_dir]
    listings = [_listing(folder) for folder in folders]
    tasks: list[_Task] = []
    failed: list[tuple[str, str]] = []
    seen: dict[int, Path] = {}
    for edf in edfs:
        try:
            mesaid = parse_record_id(edf.stem)
        except DataError:
            failed.append((str(edf), "the file name holds no MESA record id; name it "
                                     "mesa-sleep-NNNN.edf"))
            continue
        if mesaid in seen:
            failed.append((str(edf), f"same record id as {seen[mesaid].name}; keep one of them"))
            continue
        seen[mesaid] = edf
        tasks.append(_Task(edf, find_annotation(edf, mesaid, listings), mesaid))
    return tasks, failed


def _up_to_date(task: _Task, output_dir: Path, channels: tuple[str, ...]) -> dict | None:
    """The night's sidecar if its files exist and were made from the same inputs, else None."""
    if not (output_dir / night_filename(task.mesaid)).is_file():
        return None
    try:
        meta = read_sidecar(output_dir / sidecar_filename(task.mesaid))
    except DataError:
        return None
    current = {"edf": _source(task.edf_path), "annotations": _source(task.annotation_path)}
    same = (meta.get("pipeline_version") == PIPELINE_VERSION
            and meta.get("sources") == current
            and meta.get("channel_names") == list(channels))
    return meta if same else None


def _preprocess_task(item: tuple[_Task, Path, tuple[str, ...]]) -> PreprocessedNight:
    task, output_dir, channels = item
    return preprocess_night(task.edf_path, task.annotation_path, output_dir, channels=channels,
                            mesaid=task.mesaid)


def preprocess(edf_dir: str | Path, output_dir: str | Path, *,
               annotations_dir: str | Path | None = None,
               channels: Sequence[str] = DEFAULT_CHANNEL_NAMES, jobs: int = 1,
               force: bool = False, progress: bool = True,
               csv_name: str = INDEX_NAME) -> PreprocessSummary:
    """Preprocess every ``*.edf`` of a folder into a store, skipping nights already up to date.

    Annotation files are matched by record id (``mesa-sleep-0001.edf`` with
    ``mesa-sleep-0001-nsrr.xml``, else ``-profusion.xml``), looked for in ``annotations_dir``
    first, then next to the EDF. A night that fails is listed in the summary and nothing of it
    is written; the others are kept, and the index CSV lists every night made or up to date.
    An existing index is checked before any night is written; rows of other nights in it are kept
    exactly as written (id spellings, columns, order), as are other files in ``output_dir``, and
    each row of its own nights that changes is reported in the summary's warnings.

    Parameters
    ----------
    edf_dir, output_dir : path-like
        Input and store folders (they may be the same).
    annotations_dir : path-like, optional
        Folder of annotation XML files.
    channels : sequence of str
        EDF channel labels, the model's three EEG channels first.
    jobs : int
        Nights processed in parallel, in separate (spawned) processes; a script that asks for
        more than one must call this under ``if __name__ == "__main__":``.
    force : bool
        Make every night again, even when up to date.
    progress : bool
        Show a progress bar on stderr.
    csv_name : str
        File name of the index CSV in ``output_dir``.

    Returns
    -------
    PreprocessSummary

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> sig = [edfio.EdfSignal(np.cos(np.arange(128 * 600) / 5.0), 128, label=n)
    ...        for n in ("EEG1", "EEG2", "EEG3")]
    >>> edfio.Edf(sig).write(folder / "mesa-sleep-0009.edf")
    >>> summary = preprocess(folder, folder / "store", channels=("EEG1", "EEG2", "EEG3"),
    ...                      progress=False)
    >>> summary.written, summary.failed, summary.index_path.name
    ([9], [], 'mesa_final.csv')
    """
    channels = check_channels(channels)
    jobs = check_workers(jobs)
    output = Path(output_dir)
    csv_path = index_path(output, csv_name)
    check_index(csv_path)  # an index it could not merge into stops the run before any night
    remove_partial_files(output)  # left by a run that was killed mid-write
    tasks, failed = _plan(Path(edf_dir), Path(annotations_dir) if annotations_dir else None)
    summary = PreprocessSummary(failed=failed)
    rows: list[dict[str, Any]] = []
    todo: list[_Task] = []
    for task in tasks:
        meta = None if force else _up_to_date(task, output, channels)
        if meta is None:
            todo.append(task)
        else:
            summary.skipped.append(task.mesaid)
            rows.append(index_row(meta))
    runner = JobRunner(jobs, total=len(todo), desc="preprocess", unit="night", quiet=not progress)
    try:
        with runner:
            for task in todo:
                runner.submit(_preprocess_task, str(task.edf_path), (task, output, channels))
    finally:  # the index lists every night made, even when the run is interrupted
        for outcome in runner.outcomes:
            if outcome.failed:
                summary.failed.append((outcome.key, outcome.error))
            else:
                summary.written.append(outcome.value.mesaid)
                summary.warnings += outcome.value.warnings
                rows.append(outcome.value.row)
        if rows:
            rows.sort(key=lambda row: row["mesaid"])
            summary.warnings += merge_index(csv_path, rows)
            summary.index_path = csv_path
    summary.written.sort()
    return summary
