"""The built-in demo cohort: synthetic MESA-like nights, made into a store through the real path.

:func:`demo_store` generates each night (:mod:`mesa_report.demo.generate`), writes it as EDF and
NSRR XML (:mod:`mesa_report.demo.export`), ingests those files with
:func:`mesa_report.data.night_ingest.preprocess_night` and keeps the store alone, in half precision,
with each night's planted events next to it (:mod:`mesa_report.demo.build`): about 120 MB for 8
nights of 4 h. The first call builds the cohort into a cache folder (about 20 s of computing for
8 nights of 4 h); later calls reuse it. ``mesa-report demo --edf_dir FOLDER`` writes the
recordings themselves (:func:`mesa_report.demo.build.export_recordings`)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from mesa_report.core.errors import ConfigError, DataError, MesaReportError
from mesa_report.core.fileio import write_text_atomic
from mesa_report.core.settings import CACHE_ENV, load_settings
from mesa_report.core.settings import DEFAULT_DEMO_HOURS as DEFAULT_HOURS
from mesa_report.core.settings import DEFAULT_DEMO_NIGHTS as DEFAULT_N_NIGHTS
from mesa_report.core.vocabulary import SEQ_LEN
from mesa_report.data.night_ingest import PIPELINE_VERSION
from mesa_report.data.index_csv import INDEX_NAME
from mesa_report.data.index_merge import update_index
from mesa_report.demo.build import STORED_DTYPE, NightTask, build_night, events_filename
from mesa_report.demo.export import write_edf, write_events_csv, write_nsrr_xml
from mesa_report.demo.generate import (CHANNELS, EPOCH_SECONDS, EVENT_COLUMNS, GENERATOR_VERSION, SyntheticNight,
                       generate_hypnogram, generate_night, night_from_stages)

__all__ = [
    "CACHE_ENV", "CHANNELS", "DEFAULT_HOURS", "DEFAULT_N_NIGHTS", "DEMO_CHECKPOINT", "DemoStore",
    "EVENT_COLUMNS", "GENERATOR_VERSION", "SyntheticNight", "default_cache_dir", "demo_store",
    "events_filename", "generate_hypnogram", "generate_night", "load_events", "night_from_stages",
    "write_edf", "write_events_csv", "write_nsrr_xml",
]

MARKER_NAME = "demo.json"
"""File written last into a finished demo folder; it names the generator and pipeline versions."""

DEMO_CHECKPOINT = Path(__file__).with_name("demo_model.pth")
"""The demo model, trained on this cohort and shipped in this folder (absent until trained)."""

ABANDONED_AFTER_S = 3600.0
"""A build folder untouched this long belongs to a process that was killed; it is deleted."""

def default_cache_dir() -> Path:
    """The folder that holds mesa-report's caches (:attr:`mesa_report.core.settings.Settings.cache_dir`).

    Examples
    --------
    >>> default_cache_dir() == load_settings().cache_dir
    True
    """
    return load_settings().cache_dir


@dataclass(frozen=True)
class DemoStore:
    """Where a built demo cohort lives.

    Attributes
    ----------
    root : Path
        The demo folder (``<cache>/demo-v{GENERATOR_VERSION}`` for the default cohort).
    preprocessed_dir : Path
        The store: ``mesa-sleep-NNNN_preprocessed.pt`` and ``.json``, ``mesa_final.csv`` (with a
        ``split`` column) and ``mesa-sleep-NNNN_events.csv``. Samples are stored in float16
        (read as float32); the EDF and XML files they were ingested from are not kept.
    csv_path : Path
        The index CSV.
    mesaids : tuple of int
        The nights, in order.
    """

    root: Path
    preprocessed_dir: Path
    csv_path: Path
    mesaids: tuple[int, ...]

    def events(self, mesaid: int) -> pd.DataFrame:
        """The planted events of one night (see :func:`load_events`)."""
        return load_events(self.preprocessed_dir, mesaid)


def _folder_name(n_nights: int, hours: float, first_id: int = 1) -> str:
    name = f"demo-v{GENERATOR_VERSION}"
    if (n_nights, hours) != (DEFAULT_N_NIGHTS, DEFAULT_HOURS):
        name += f"-{n_nights}x{hours:g}h"
    if first_id != 1:
        name += f"-from{first_id}"
    return name


def _split(position: int, n_nights: int) -> str:
    """``train``/``val``/``test`` of the night at ``position``: the last eighth each for test and
    val (at least one night each from three nights on; one test night out of two)."""
    held_out = max(1, round(n_nights / DEFAULT_N_NIGHTS)) if n_nights >= 2 else 0
    val = held_out if n_nights >= 3 else 0
    if position >= n_nights - held_out:
        return "test"
    return "val" if position >= n_nights - held_out - val else "train"


def _layout(root: Path, mesaids: tuple[int, ...]) -> DemoStore:
    preprocessed = root / "preprocessed"
    return DemoStore(root=root, preprocessed_dir=preprocessed,
                     csv_path=preprocessed / INDEX_NAME, mesaids=mesaids)


def _expected_marker(n_nights: int, hours: float, first_id: int = 1) -> dict:
    return {"generator_version": GENERATOR_VERSION, "pipeline_version": PIPELINE_VERSION,
            "stored_dtype": str(STORED_DTYPE).removeprefix("torch."),
            "n_nights": n_nights, "hours": hours,
            "mesaids": list(range(first_id, first_id + n_nights))}


def _is_complete(root: Path, expected: dict) -> bool:
    try:
        marker = json.loads((root / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and all(marker.get(k) == v for k, v in expected.items())


def _build(root: Path, store: DemoStore, expected: dict, progress: bool) -> None:
    """Build every night into ``root`` (a private folder), then its index and marker."""
    started = time.perf_counter()
    scratch = root / "scratch"  # each night's EDF and XML while it is ingested
    rows = []
    # One night after another, in this process: spawned workers would each import torch, scipy and
    # pandas again (about 7 s of CPU each), more than a second core saves on a 2-core machine.
    for k, mesaid in enumerate(tqdm(store.mesaids, desc="demo nights", unit="night", disable=not progress)):
        try:
            stored = build_night(NightTask(mesaid, expected["hours"], scratch, store.preprocessed_dir))
        except MesaReportError as exc:
            raise DataError(f"building the demo cohort in {root} failed: {exc}") from exc
        rows.append(dict(stored.row, split=_split(k, len(store.mesaids))))
    shutil.rmtree(scratch, ignore_errors=True)
    update_index(store.preprocessed_dir, rows)
    marker = dict(expected, build_seconds=round(time.perf_counter() - started, 1))
    write_text_atomic(root / MARKER_NAME, json.dumps(marker, indent=1) + "\n")


def _publish(building: Path, root: Path, expected: dict) -> None:
    """Move a finished build into place; a complete cohort already there (another process) wins.

    An incomplete or outdated folder in the way is moved aside and deleted.
    """
    for _ in range(2):
        try:
            os.rename(building, root)
            return
        except OSError:
            if _is_complete(root, expected):
                return
            stale = root.with_name(f".{root.name}.{os.getpid()}-{time.time_ns()}.stale")
            try:
                os.rename(root, stale)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise DataError(f"cannot replace the outdated demo cohort at {root} "
                                f"({exc.strerror or exc}); close programs using it or delete "
                                "the folder") from exc
            shutil.rmtree(stale, ignore_errors=True)
    raise DataError(f"cannot put the demo cohort in place at {root}; delete that folder and "
                    "try again")


def _remove_abandoned(cache: Path, name: str) -> None:
    """Delete builds of ``name`` left behind by killed processes (untouched for an hour)."""
    now = time.time()
    for folder in cache.glob(f".{name}.*"):
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > ABANDONED_AFTER_S:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def demo_store(cache_dir: str | os.PathLike | None = None, *, n_nights: int = DEFAULT_N_NIGHTS,
               hours: float = DEFAULT_HOURS, progress: bool = False, first_id: int = 1) -> DemoStore:
    """The demo cohort's store, built on first use and reused afterwards.

    The first call generates ``n_nights`` nights (ids 1..n) one after another, writes each as
    ``mesa-sleep-NNNN.edf`` and ``mesa-sleep-NNNN-nsrr.xml`` into a scratch folder, ingests them
    with :func:`mesa_report.data.night_ingest.preprocess_night` into ``<root>/preprocessed``,
    deletes them and keeps the samples in float16 (:func:`mesa_report.demo.build.build_night`),
    stores each night's planted events there as ``mesa-sleep-NNNN_events.csv`` and writes the
    index with a ``split`` column (of 8 nights: 1-6 train, 7 val, 8 test). The build happens in a private folder that is renamed into place
    when complete, so processes asking at once never see a half-built cohort; a finished
    cohort is recognised by its marker file, which names the generator and pipeline versions and
    the stored sample type (a cohort of an older layout is replaced).

    Parameters
    ----------
    cache_dir : path-like, optional
        Cache folder; default :func:`default_cache_dir`. The cohort lives in its subfolder
        ``demo-v{GENERATOR_VERSION}`` (other sizes add ``-{n}x{hours}h``).
    n_nights : int, default 8
        Number of nights.
    hours : float, default 4.0
        Length of each night.
    progress : bool, default False
        Show progress bars while building.
    first_id : int, default 1
        Id of the first night (nights are ``first_id … first_id + n_nights - 1``); the demo
        model is trained on nights from 101, so the default cohort is held out from it.

    Returns
    -------
    DemoStore

    Raises
    ------
    ConfigError
        For a non-positive ``n_nights`` or ``hours``, or nights shorter than one model window.
    MesaReportError
        If the cache folder cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> store = demo_store(tempfile.mkdtemp(), n_nights=1, hours=0.2)  # doctest: +SKIP
    >>> sorted(p.name for p in store.preprocessed_dir.iterdir())[:2]  # doctest: +SKIP
    ['mesa-sleep-0001_events.csv', 'mesa-sleep-0001_preprocessed.json']
    """
    if isinstance(n_nights, bool) or not isinstance(n_nights, (int, np.integer)) or n_nights < 1:
        raise ConfigError(f"n_nights={n_nights!r}: expected a whole number of at least 1")
    min_hours = SEQ_LEN * EPOCH_SECONDS / 3600.0
    if not isinstance(hours, (int, float)) or not hours >= min_hours:
        raise ConfigError(f"hours={hours!r}: a demo night needs at least one model window "
                          f"({min_hours:g} h)")
    n_nights, hours = int(n_nights), float(hours)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if isinstance(first_id, bool) or not isinstance(first_id, (int, np.integer)) or first_id < 1:
        raise ConfigError(f"first_id={first_id!r}: expected a whole number of at least 1")
    root = cache / _folder_name(n_nights, hours, int(first_id))
    expected = _expected_marker(n_nights, hours, int(first_id))
    store = _layout(root, tuple(expected["mesaids"]))
    if _is_complete(root, expected):
        return store
    try:
        cache.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(cache, root.name)
        building = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".building", dir=cache))
    except OSError as exc:
        raise DataError(f"cannot create the demo cache in {cache}: {exc.strerror or exc}; set "
                        f"{CACHE_ENV} to a folder you can write to") from exc
    try:
        _build(building, _layout(building, store.mesaids), expected, progress)
        _publish(building, root, expected)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return store


def load_events(preprocessed_dir: str | os.PathLike, mesaid: int) -> pd.DataFrame:
    """The planted events of a demo night, or an empty frame when the night has none stored.

    Parameters
    ----------
    preprocessed_dir : path-like
        A store folder.
    mesaid : int
        The night's id.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EVENT_COLUMNS` (``start_time`` as datetimes); one row per event and
        channel.

    Examples
    --------
    >>> import tempfile
    >>> load_events(tempfile.mkdtemp(), 1).columns.tolist()[:4]
    ['kind', 'channel', 'start_s', 'end_s']
    """
    path = Path(preprocessed_dir) / events_filename(mesaid)
    dtypes = {"kind": str, "channel": str, "start_s": float, "end_s": float, "epoch": np.int64,
              "amplitude_uv": float, "frequency_hz": float}
    if not path.is_file():
        frame = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in dtypes.items()})
        frame["start_time"] = pd.Series(dtype="datetime64[us]")
        return frame[list(EVENT_COLUMNS)]
    try:
        frame = pd.read_csv(path, dtype=dtypes)
        frame["start_time"] = pd.to_datetime(frame["start_time"], format="ISO8601")
        return frame[list(EVENT_COLUMNS)]
    except (ValueError, KeyError, pd.errors.ParserError) as exc:
        raise DataError(f"events file {path} cannot be read ({exc}); delete it or build the "
                        "demo cohort again") from exc
