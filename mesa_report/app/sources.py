"""What the app reads: the demo cohort by default, or the user's own files, each path checked.

The demo cohort and demo checkpoint open with no arguments; while the demo checkpoint is not
installed, a seed-sized model with fixed random weights stands in, with a notice. The sidebar's
paths (checkpoint, preprocessed folder, index CSV) are checked and opened before anything is
replaced, so a wrong path leaves the app showing what it showed. A model is loaded once per
checkpoint file and a store opened once per index CSV (``st.cache_resource``); the cache keys hold
each file's size and modification time, so a file replaced on disk is read again.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch

from mesa_report import demo

from mesa_report.app import navigation
from mesa_report.model.checkpoint import save_checkpoint
from mesa_report.model.loaded import LoadedModel, open_checkpoint
from mesa_report.core.errors import CheckpointError, DataError, MesaReportError
from mesa_report.model.network import MesaTransformer
from mesa_report.model.config import ModelConfig
from mesa_report.core.settings import load_settings
from mesa_report.data.index_csv import INDEX_NAME
from mesa_report.data.store import Night, NightStore
from mesa_report.data.night_ids import night_filename, record_id


UNTRAINED_NAME = "untrained_model.pth"
"""Stand-in checkpoint in the cache folder while ``mesa_report.demo.DEMO_CHECKPOINT`` does not exist."""

UNTRAINED_SEED = 0
"""Seed of the stand-in model's random weights."""

CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin")
"""File endings accepted as checkpoints."""

SOURCES_KEY = "sources"
"""Session key of the open :class:`Sources` (None when even the demo could not be prepared)."""

OPEN_ERROR_KEY = "open_error"
"""Session key of the message of a failed attempt to open the user's files."""

PATH_KEYS = ("checkpoint_text", "folder_text", "csv_text")
"""Session keys of the sidebar's path fields."""


# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sources:
    """The three things the app reads.

    Attributes
    ----------
    checkpoint : Path
        Model checkpoint.
    preprocessed_dir : Path
        Folder of ``mesa-sleep-NNNN_preprocessed.pt`` files.
    csv_path : Path
        Index CSV.
    is_demo : bool
        True for the built-in demo cohort.
    notices : tuple of str
        What the user should know about these sources (e.g. an untrained stand-in model).
    """

    checkpoint: Path
    preprocessed_dir: Path
    csv_path: Path
    is_demo: bool
    notices: tuple[str, ...] = ()


def demo_size() -> tuple[int, float]:
    """Nights and hours of the demo cohort: the demo's defaults, or ``$MESA_REPORT_DEMO_SIZE``.

    Raises
    ------
    ConfigError
        If the variable is set but is not ``NIGHTSxHOURS``.

    Examples
    --------
    >>> demo_size() == (load_settings().demo_nights, load_settings().demo_hours)
    True
    """
    settings = load_settings()
    return settings.demo_nights, settings.demo_hours


def untrained_checkpoint(cache_dir: Path) -> Path:
    """A seed-sized model with fixed random weights, saved once in ``cache_dir``.

    Examples
    --------
    >>> import tempfile
    >>> untrained_checkpoint(Path(tempfile.mkdtemp())).name
    'untrained_model.pth'
    """
    path = Path(cache_dir) / UNTRAINED_NAME
    if not path.is_file():
        torch.manual_seed(UNTRAINED_SEED)
        save_checkpoint(path, MesaTransformer(ModelConfig()).eval())
    return path


@st.cache_resource(show_spinner=False)
def _demo_sources(cache_dir: str, n_nights: int, hours: float) -> Sources:
    built = demo.demo_store(cache_dir, n_nights=n_nights, hours=hours)
    notices: tuple[str, ...] = ()
    checkpoint = demo.DEMO_CHECKPOINT
    if not checkpoint.is_file():
        checkpoint = untrained_checkpoint(Path(cache_dir))
        notices = (f"The demo checkpoint {demo.DEMO_CHECKPOINT.name} is not installed, so the demo runs "
                   "an untrained model with random weights: its predictions and attention mean "
                   "nothing. Open a trained checkpoint in the sidebar.",)
    return Sources(checkpoint=checkpoint, preprocessed_dir=built.preprocessed_dir,
                   csv_path=built.csv_path, is_demo=True, notices=notices)


def demo_sources() -> Sources:
    """The demo cohort (built into the cache folder on first use) and the demo checkpoint.

    Examples
    --------
    >>> demo_sources().is_demo  # doctest: +SKIP
    True
    """
    n_nights, hours = demo_size()
    return _demo_sources(str(demo.default_cache_dir()), n_nights, hours)


def sources_caption(sources: Sources) -> str:
    """What is open, in two Markdown lines.

    Examples
    --------
    >>> sources_caption(Sources(Path("m.pth"), Path("store"), Path("store/i.csv"), False)).splitlines()
    ['**Your files** · checkpoint `m.pth`  ', 'folder `store` · index `i.csv`']
    """
    kind = "Demo cohort" if sources.is_demo else "Your files"
    return (f"**{kind}** · checkpoint `{sources.checkpoint.name}`  \n"
            f"folder `{sources.preprocessed_dir}` · index `{sources.csv_path.name}`")


def clean_path(text: str) -> Path | None:
    """A typed path without surrounding spaces or quotes, ``~`` expanded; None when empty.

    Examples
    --------
    >>> clean_path('  "~/mesa"  ') == Path.home() / "mesa"
    True
    >>> clean_path("   ") is None
    True
    """
    stripped = str(text).strip().strip("'\"").strip()
    return Path(stripped).expanduser() if stripped else None


def check_checkpoint_path(path: Path) -> Path:
    """The checkpoint file, or a :class:`CheckpointError` that says what is wrong with the path.

    Examples
    --------
    >>> check_checkpoint_path(Path("no/such/model.pth"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mesa_report.core.errors.CheckpointError: no checkpoint at no/such/model.pth; give the path of a .pth...
    """
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder; give the checkpoint file inside it "
                              "(e.g. checkpoints_mesa/best_model.pth)")
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; give the path of a .pth file written by "
                              "training (e.g. checkpoints_mesa/best_model.pth)")
    if path.suffix.lower() not in CHECKPOINT_SUFFIXES:
        raise CheckpointError(f"{path} does not look like a checkpoint (expected a file ending in "
                              f"{', '.join(CHECKPOINT_SUFFIXES)})")
    return path


def check_store_paths(folder: Path, csv_path: Path | None) -> tuple[Path, Path]:
    """The preprocessed folder and its index CSV, or a :class:`DataError` naming the wrong one.

    An empty CSV field means ``mesa_final.csv`` inside the folder; a relative CSV path that
    does not exist from the working folder is looked for inside the folder.

    Examples
    --------
    >>> import tempfile
    >>> check_store_paths(Path(tempfile.mkdtemp()), None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mesa_report.core.errors.DataError: ...mesa_final.csv not found; give the index CSV written with the nights
    """
    if not folder.is_dir():
        raise DataError(f"preprocessed folder {folder} does not exist or is not a folder; give "
                        "the folder that holds the mesa-sleep-NNNN_preprocessed.pt files")
    if csv_path is None:
        csv_path = folder / INDEX_NAME
    elif not csv_path.is_absolute() and not csv_path.exists() and (folder / csv_path).is_file():
        csv_path = folder / csv_path
    if not csv_path.is_file():
        raise DataError(f"index CSV {csv_path} not found; give the index CSV written with the nights")
    return folder, csv_path


def night_in_store(store: NightStore, mesaid: int) -> Night:
    """A night of the opened store, refusing a file that resolves outside the chosen folder.

    Raises
    ------
    DataError
        If the night is not in the store, or its file is a link to somewhere outside the folder.

    Examples
    --------
    >>> night_in_store(open_store(Path("C:/mesa")), 1)  # doctest: +SKIP
    Night(mesa-sleep-0001, path='C:/mesa/mesa-sleep-0001_preprocessed.pt')
    """
    root = store.root.resolve()
    target = (store.root / night_filename(mesaid)).resolve()
    if not target.is_relative_to(root):
        raise DataError(f"{record_id(mesaid)}: {store.root / night_filename(mesaid)} points to "
                        f"{target}, outside the opened folder {root}; copy the file into the folder")
    return store.night(mesaid)


def file_stamp(path: Path) -> tuple[str, int, int]:
    """What identifies a file's content for caching: resolved path, modification time, size.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "f"; _ = path.write_bytes(b"abc")
    >>> file_stamp(path)[2]
    3
    """
    resolved = Path(path).resolve()
    info = resolved.stat()
    return str(resolved), info.st_mtime_ns, info.st_size


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _cached_model(checkpoint: str, stamp: tuple[str, int, int]) -> LoadedModel:
    return open_checkpoint(checkpoint)


def open_model(checkpoint: Path) -> LoadedModel:
    """The model of a checkpoint (with its path and hash), loaded once per file and shared by every session.

    Raises
    ------
    CheckpointError
        If the file is missing, unsafe, or not a MESA Transformer checkpoint.

    Examples
    --------
    >>> open_model(Path("checkpoints_mesa/best_model.pth")).config.d_model  # doctest: +SKIP
    256
    """
    path = check_checkpoint_path(checkpoint)
    return _cached_model(str(path), file_stamp(path))


@st.cache_resource(show_spinner=False, max_entries=8)
def _cached_store(folder: str, csv_path: str, stamp: tuple[str, int, int]) -> NightStore:
    return NightStore(folder, csv_path)


def open_store(folder: Path, csv_path: Path | None = None) -> NightStore:
    """The nights of a preprocessed folder, opened once per index CSV content.

    Raises
    ------
    DataError
        If the folder or CSV is missing or unreadable, or no listed night has a file.

    Examples
    --------
    >>> open_store(Path("C:/mesa")).mesaids[:3]  # doctest: +SKIP
    [1, 2, 3]
    """
    folder, csv_path = check_store_paths(folder, csv_path)
    store = _cached_store(str(folder), str(csv_path), file_stamp(csv_path))
    if not store.mesaids:
        listed = len(store.missing)
        raise DataError(f"{folder} holds no night listed in {csv_path.name} ({listed} listed, "
                        f"none with its mesa-sleep-NNNN_preprocessed.pt file); pick the folder the "
                        "nights were preprocessed into")
    return store


def user_sources(checkpoint_text: str, folder_text: str, csv_text: str,
                 current: Sources | None) -> Sources:
    """Sources from the sidebar's fields; an empty field keeps what is open now.

    Every path is checked and the model and store are opened before anything is replaced, so
    a wrong path leaves the app showing what it showed.

    Raises
    ------
    CheckpointError, DataError
        With a message naming the path that is wrong.

    Examples
    --------
    >>> user_sources("", "no/such/folder", "", None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mesa_report.core.errors.CheckpointError: no checkpoint is open yet; give the path of a .pth file...
    """
    checkpoint = clean_path(checkpoint_text) or (current.checkpoint if current else None)
    folder, csv_path = clean_path(folder_text), clean_path(csv_text)
    if folder is None and csv_path is not None:
        raise DataError("an index CSV was given without its preprocessed folder; fill in the "
                        "folder too (or clear the CSV field)")
    if checkpoint is None:
        raise CheckpointError("no checkpoint is open yet; give the path of a .pth file written by training")
    if folder is None:
        if current is None:
            raise DataError("no preprocessed folder is open yet; give the folder that holds the "
                            "mesa-sleep-NNNN_preprocessed.pt files")
        folder, csv_path = current.preprocessed_dir, current.csv_path
    open_model(checkpoint)
    store = open_store(folder, csv_path)
    unchanged = current is not None and (
        (checkpoint, store.root, store.csv_path)
        == (current.checkpoint, current.preprocessed_dir, current.csv_path))
    if unchanged:
        return current
    return Sources(checkpoint=checkpoint, preprocessed_dir=store.root, csv_path=store.csv_path,
                   is_demo=False)


def on_open(state: MutableMapping) -> None:
    """The sidebar's Open button: open the typed paths, or keep what is open and say why not.

    Examples
    --------
    >>> state = {"checkpoint_text": "missing.pth", "folder_text": "", "csv_text": ""}
    >>> on_open(state); state["open_error"]
    'no preprocessed folder is open yet; give the folder that holds the mesa-sleep-NNNN_preprocessed.pt files'
    """
    try:
        state[SOURCES_KEY] = user_sources(*(state.get(key, "") for key in PATH_KEYS),
                                          state.get(SOURCES_KEY))
    except MesaReportError as exc:
        state[OPEN_ERROR_KEY] = str(exc)
        return
    navigation.on_sources_changed(state)


def back_to_demo(state: MutableMapping) -> None:
    """Button callback: drop the user's sources; the next run opens the demo again.

    Examples
    --------
    >>> state = {"sources": "yours", "subject": 4, "sample": 3}
    >>> back_to_demo(state); "sources" in state, state["sample"]
    (False, 0)
    """
    state.pop(SOURCES_KEY, None)
    navigation.on_sources_changed(state)
