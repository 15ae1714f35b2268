"""One demo night from nothing to the store, and the demo's EDF + XML files on request.

:func:`build_night` generates a night (:mod:`mesa_report.demo.generate`), writes it as an EDF and
an NSRR XML file into a scratch folder, ingests those through the real path
(:func:`mesa_report.data.night_ingest.preprocess_night`), deletes them, and keeps the stored
signal in half precision. What the demo keeps is therefore the store alone (about 15 MB per
recorded hour less than with the EDF and float32 samples); :func:`export_recordings` writes the
full recordings again, identical to those ingested, for whoever wants to run ``preprocess`` on
them.

Half precision: a stored night is read as float32 windows (every float16 is a float32), and on
the demo cohort it gives the demo model the same stage on every epoch as float32 samples
(``benchmarks/bench_demo.py`` checks it). Users' own nights are never written this way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from mesa_report.core.errors import DataError
from mesa_report.core.fileio import atomic_write
from mesa_report.core.vocabulary import STORE_CHANNEL_NAMES
from mesa_report.data.night_files import load_signal  # noqa: F401  (the examples read the nights back)
from mesa_report.data.night_ids import record_id
from mesa_report.data.night_ingest import PreprocessedNight, preprocess_night
from mesa_report.demo.export import write_edf, write_events_csv, write_nsrr_xml
from mesa_report.demo.generate import generate_night

STORED_DTYPE = torch.float16
"""Sample type of the demo's stored nights (the store reads them as float32)."""

_EVENTS_SUFFIX = "_events.csv"


def events_filename(mesaid: int) -> str:
    """File name of a night's planted events inside the store.

    Examples
    --------
    >>> events_filename(3)
    'mesa-sleep-0003_events.csv'
    """
    return f"{record_id(mesaid)}{_EVENTS_SUFFIX}"


def recording_names(mesaid: int) -> tuple[str, str]:
    """File names of a night's EDF and NSRR XML, as in a MESA download.

    Examples
    --------
    >>> recording_names(12)
    ('mesa-sleep-0012.edf', 'mesa-sleep-0012-nsrr.xml')
    """
    return f"{record_id(mesaid)}.edf", f"{record_id(mesaid)}-nsrr.xml"


def store_half_precision(path: str | os.PathLike) -> Path:
    """Rewrite a stored night's samples as :data:`STORED_DTYPE`, atomically.

    The file is read whole (not mapped), so it can be replaced on every system.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "n.pt"
    >>> torch.save(torch.full((4, 3840), 0.1), path)
    >>> load_signal(store_half_precision(path)).dtype
    torch.float16
    """
    path = Path(path)
    signal = torch.load(path, weights_only=True, map_location="cpu").to(STORED_DTYPE)  # (C, T)
    with atomic_write(path) as fh:
        torch.save(signal, fh)
    return path


@dataclass(frozen=True)
class NightTask:
    """One demo night to build: its id and length, the scratch folder and the store."""

    mesaid: int
    hours: float
    scratch_dir: Path
    store_dir: Path


def build_night(task: NightTask) -> PreprocessedNight:
    """Generate a night, ingest it from EDF + XML into the store, keep it in half precision.

    The EDF holds the channels the store keeps (:data:`STORE_CHANNEL_NAMES`), the only ones
    ingestion reads; it and the XML are deleted once the night is stored. The planted events
    go next to the store (:func:`events_filename`).

    Returns
    -------
    PreprocessedNight
        What ingestion wrote (its ``row`` is the night's index row).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> stored = build_night(NightTask(4, 0.2, folder / "scratch", folder / "store"))
    >>> load_signal(stored.path).shape, sorted(p.name for p in (folder / "scratch").iterdir())
    (torch.Size([4, 92160]), [])
    """
    night = generate_night(task.mesaid, hours=task.hours)
    edf_name, xml_name = recording_names(task.mesaid)
    edf = write_edf(night, task.scratch_dir / edf_name, channels=STORE_CHANNEL_NAMES)
    xml = write_nsrr_xml(night, task.scratch_dir / xml_name)
    try:
        stored = preprocess_night(edf, xml, task.store_dir, mesaid=task.mesaid)
    finally:
        edf.unlink(missing_ok=True)
        xml.unlink(missing_ok=True)
    write_events_csv(night, task.store_dir / events_filename(task.mesaid))
    store_half_precision(stored.path)
    return stored


def export_recordings(folder: str | os.PathLike, mesaids: Iterable[int], hours: float) -> list[Path]:
    """Write demo nights as a MESA download: every channel in an EDF, the stages in NSRR XML.

    The nights are generated again (the generator is deterministic), so these are the recordings
    the demo cohort was ingested from; ``mesa-report preprocess`` turns them into the same store,
    in float32.

    Raises
    ------
    DataError
        If one of the files already exists (nothing is overwritten; choose an empty folder).

    Examples
    --------
    >>> import tempfile
    >>> [p.name for p in export_recordings(tempfile.mkdtemp(), [2], 0.2)]
    ['mesa-sleep-0002.edf', 'mesa-sleep-0002-nsrr.xml']
    """
    folder = Path(folder)
    mesaids = list(mesaids)
    targets = [folder / name for mesaid in mesaids for name in recording_names(mesaid)]
    existing = [path for path in targets if path.exists()]
    if existing:
        raise DataError(f"{existing[0]} already exists; export the demo recordings into an empty "
                        "folder (nothing is overwritten)")
    written = []
    for mesaid in mesaids:
        night = generate_night(mesaid, hours=hours)
        edf_name, xml_name = recording_names(mesaid)
        written += [write_edf(night, folder / edf_name), write_nsrr_xml(night, folder / xml_name)]
    return written

