"""One night's files in a store: the ``.pt`` signal tensor and its JSON sidecar, written atomically.

Nights are memory-mapped (``torch.load(mmap=True, weights_only=True)``): cutting one window reads
only that window's bytes, never the whole night.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mesa_report.core.errors import DataError
from mesa_report.core.fileio import atomic_write, write_text_atomic
from mesa_report.core.vocabulary import EPOCH_SAMPLES, EPOCH_SECONDS, NUM_EEG_CHANNELS, SFREQ_HZ
from mesa_report.core.vocabulary import STORE_CHANNEL_NAMES as DEFAULT_CHANNEL_NAMES
from mesa_report.data.night_guard import checked_night_tensor
from mesa_report.data.night_ids import night_filename, parse_record_id, record_id, sidecar_filename
from mesa_report.data.stage_strings import label_counts, stage_string


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return value.name
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def write_night(output_dir: str | Path, mesaid: int, signal: np.ndarray, labels: np.ndarray,
                meta: Mapping[str, Any] | None = None) -> Path:
    """Write one night (``.pt`` tensor and JSON sidecar) atomically and return the ``.pt`` path.

    Parameters
    ----------
    output_dir : path-like
        The store folder (created if missing).
    mesaid : int
        The night's id.
    signal : numpy.ndarray, shape (channels, T)
        Float signal at 128 Hz, EEG1 EEG2 EEG3 first; stored as float32.
    labels : numpy.ndarray, shape (n_epochs,)
        Stage codes 0-5, ``-1`` unscored; summarised in the sidecar.
    meta : mapping, optional
        Extra sidecar fields (``channel_names``, ``start_clock``, ``sources`` ...). The store's
        own fields (``mesaid``, ``sfreq_hz``, ``n_samples``, ``n_epochs``, ``label_counts``,
        ``sleep_stages``) are filled in here.

    Raises
    ------
    DataError
        If ``signal`` is not a 2-D float array with at least three channels.

    Examples
    --------
    >>> import tempfile
    >>> path = write_night(tempfile.mkdtemp(), 7, np.zeros((4, 2 * 3840), np.float32),
    ...                    np.array([0, 2]))
    >>> path.name, path.with_suffix(".json").exists()
    ('mesa-sleep-0007_preprocessed.pt', True)
    """
    mesaid = parse_record_id(mesaid)
    array = np.asarray(signal)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.floating):
        raise DataError(f"night {record_id(mesaid)}: signal must be a 2-D float array "
                        f"(channels, T), got shape {array.shape} of {array.dtype}")
    if array.shape[0] < NUM_EEG_CHANNELS:
        raise DataError(f"night {record_id(mesaid)}: {array.shape[0]} channel(s); the model "
                        f"needs at least {NUM_EEG_CHANNELS} EEG channels first")
    labels = np.asarray(labels, dtype=np.int64)
    meta = dict(meta or {})
    channel_names = list(meta.get("channel_names") or DEFAULT_CHANNEL_NAMES[: array.shape[0]])
    if len(channel_names) != array.shape[0]:
        raise DataError(f"night {record_id(mesaid)}: {len(channel_names)} channel names for "
                        f"{array.shape[0]} channels")
    meta.update(
        mesaid=mesaid,
        record_id=record_id(mesaid),
        channel_names=channel_names,
        sfreq_hz=SFREQ_HZ,
        epoch_seconds=EPOCH_SECONDS,
        n_samples=int(array.shape[1]),
        n_epochs=int(array.shape[1] // EPOCH_SAMPLES),
        label_counts=label_counts(labels),
        sleep_stages=stage_string(labels),
    )
    sidecar_text = json.dumps(meta, indent=1, default=_json_default, allow_nan=False)
    folder = Path(output_dir)
    path = folder / night_filename(mesaid)
    with atomic_write(path, "wb") as fh:
        torch.save(torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)), fh)
    write_text_atomic(folder / sidecar_filename(mesaid), sidecar_text + "\n")
    return path


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """A night's sidecar as a dict; ``{}`` when the file does not exist.

    Raises
    ------
    DataError
        If the file exists but is not a JSON object.

    Examples
    --------
    >>> read_sidecar("no-such-night.json")
    {}
    """
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"sidecar {path} cannot be read ({exc}); delete it to fall back to "
                        "the defaults, or preprocess the night again") from exc
    if not isinstance(meta, dict):
        raise DataError(f"sidecar {path} holds {type(meta).__name__}, not a JSON object; "
                        "delete it or preprocess the night again")
    return meta


def load_signal(path: str | Path) -> torch.Tensor:
    """Memory-map a night's ``.pt`` file and check that it is a 2-D float tensor.

    Files in ``torch.save``'s legacy (pre-zip) format cannot be mapped and are read whole.

    Raises
    ------
    DataError
        If the file is missing, unreadable, refused by safe loading, or not a 2-D float tensor
        within the bounds of :mod:`mesa_report.data.night_guard` (bfloat16 and sparse nights are
        converted there).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "n.pt"
    >>> torch.save(torch.zeros(4, 3840), path)
    >>> tuple(load_signal(path).shape)
    (4, 3840)
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"preprocessed night {path} not found; preprocess it again or drop it "
                        "from the index")
    try:
        try:
            value = torch.load(path, mmap=True, weights_only=True, map_location="cpu")
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            value = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # torch raises many types for a damaged or unsafe file
        raise DataError(f"preprocessed night {path} cannot be read as a tensor "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); write it "
                        "again with torch.save(tensor, path)") from exc
    if not isinstance(value, torch.Tensor):
        raise DataError(f"preprocessed night {path} holds a {type(value).__name__}, not a "
                        "2-D float tensor (channels, T)")
    return checked_night_tensor(value, path)
