"""A folder of EDF recordings and their NSRR/Profusion annotations -> the preprocessed store.

For each night ``mesa-sleep-NNNN.edf`` (with ``mesa-sleep-NNNN-nsrr.xml`` or
``mesa-sleep-NNNN-profusion.xml`` next to it or in an annotations folder) that is not already up
to date, :func:`mesa_report.data.night_ingest.preprocess_night` writes the stored night, in a
pool of worker processes; the index CSV then lists every night made or up to date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesa_report.core.errors import DataError, IngestError
from mesa_report.core.fileio import remove_partial_files
from mesa_report.core.jobs import JobRunner, check_workers
from mesa_report.core.vocabulary import STORE_CHANNEL_NAMES as DEFAULT_CHANNEL_NAMES
from mesa_report.data.index_csv import INDEX_NAME, index_path, index_row
from mesa_report.data.index_merge import check_index, merge_index
from mesa_report.data.night_files import read_sidecar
from mesa_report.data.night_ids import night_filename, parse_record_id, record_id, sidecar_filename
from mesa_report.data.night_ingest import (PIPELINE_VERSION, PreprocessedNight, check_channels,
                                           preprocess_night, source_stamp)

ANNOTATION_SUFFIXES = ("-nsrr.xml", "-profusion.xml", ".xml")
"""Annotation file names tried after a night's record id, in order of preference."""


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
class _Task:
    edf_path: Path
    annotation_path: Path | None
    mesaid: int


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
    current = {"edf": source_stamp(task.edf_path), "annotations": source_stamp(task.annotation_path)}
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
    >>> import tempfile, pathlib, edfio, numpy as np
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
