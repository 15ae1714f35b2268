"""The preprocessed store: the seed project's folder format, read lazily and written atomically.

A store is a folder of ``mesa-sleep-{mesaid:04d}_preprocessed.pt`` files (each a ``torch.save``d
float tensor ``(channels, T)`` at 128 Hz, EEG1 EEG2 EEG3 first) and an index CSV
(``mesa_final.csv``) with at least ``mesaid`` and ``sleep_stages`` (one digit per 30 s epoch).
mesa-report adds index columns (``n_epochs``, source files) and a JSON sidecar
``mesa-sleep-{mesaid:04d}_preprocessed.json`` per night; folders written by the seed's project,
which have neither, open as they are.

Nights are memory-mapped (``torch.load(mmap=True, weights_only=True)``): cutting one window reads
only that window's bytes, never the whole night.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.core.fileio import atomic_write, write_text_atomic
from mesa_report.core.vocabulary import (CLASS_NAMES_6, EPOCH_SAMPLES, EPOCH_SECONDS, NUM_EEG_CHANNELS, SFREQ_HZ,
                                         UNSCORED, UNSCORED_NAME)
from mesa_report.core.vocabulary import STORE_CHANNEL_NAMES as DEFAULT_CHANNEL_NAMES

INDEX_NAME = "mesa_final.csv"
"""File name of the index CSV inside a store folder."""

UNSCORED_DIGIT = "9"
"""Character written into ``sleep_stages`` for an unscored epoch (NSRR's ``Unscored|9``)."""

ID_COLUMNS = ("mesaid", "nsrrid", "record_id", "subject_id", "subject", "id")
"""Index columns accepted as the night id, in order of preference (case-insensitive)."""

FIRST_INDEX_COLUMNS = ("mesaid", "sleep_stages", "n_epochs")

_RECORD_PREFIX = "mesa-sleep-"
_ID_PATTERN = re.compile(r"(?:mesa-sleep-)?0*([0-9]{1,9})(?:\.0*)?", re.IGNORECASE)
_MAX_ID_SHOWN = 60


def record_id(mesaid: int) -> str:
    """NSRR record id of a night.

    Examples
    --------
    >>> record_id(1)
    'mesa-sleep-0001'
    """
    return f"{_RECORD_PREFIX}{int(mesaid):04d}"


def night_filename(mesaid: int) -> str:
    """File name of a preprocessed night.

    Examples
    --------
    >>> night_filename(42)
    'mesa-sleep-0042_preprocessed.pt'
    """
    return f"{record_id(mesaid)}_preprocessed.pt"


def sidecar_filename(mesaid: int) -> str:
    """File name of a night's JSON sidecar.

    Examples
    --------
    >>> sidecar_filename(42)
    'mesa-sleep-0042_preprocessed.json'
    """
    return f"{record_id(mesaid)}_preprocessed.json"


def parse_record_id(text: str | int) -> int:
    """Turn ``mesa-sleep-0001``, ``0001`` or ``1`` into the integer id ``1``.

    Anything else (path separators, markup, spaces inside, letters) is refused, so that an id is
    never used raw as part of a file name.

    Parameters
    ----------
    text : str or int
        A record id, a zero-padded number or a plain number.

    Returns
    -------
    int
        The MESA id.

    Raises
    ------
    DataError
        If ``text`` is not one of the accepted spellings.

    Examples
    --------
    >>> parse_record_id("mesa-sleep-0042"), parse_record_id("0042"), parse_record_id(42)
    (42, 42, 42)
    """
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
        if text < 0:
            raise DataError(f"night id {int(text)} is negative; MESA ids are 0 or more")
        return int(text)
    match = _ID_PATTERN.fullmatch(str(text).strip())
    if match is None:
        shown = str(text)
        shown = shown if len(shown) <= _MAX_ID_SHOWN else shown[:_MAX_ID_SHOWN] + "..."
        raise DataError(
            f"{shown!r} is not a night id; write it as mesa-sleep-NNNN, NNNN or a plain number"
        )
    return int(match.group(1))


def parse_stage_string(stages: str, n_epochs: int) -> np.ndarray:
    """Labels of a night from its ``sleep_stages`` string, with the seed's rules.

    Characters that are not digits are skipped; digits ``0``-``5`` are stages, any other digit is
    unscored (``-1``); the result is cut to ``n_epochs`` or padded with ``-1``.

    Examples
    --------
    >>> parse_stage_string("0 1-2,9", 5).tolist()
    [0, 1, 2, -1, -1]
    """
    digits = np.frombuffer("".join(ch for ch in str(stages) if ch.isascii() and ch.isdigit())
                           .encode("ascii"), dtype=np.uint8).astype(np.int64) - ord("0")
    digits[digits > len(CLASS_NAMES_6) - 1] = UNSCORED
    labels = np.full(int(n_epochs), UNSCORED, dtype=np.int64)  # (n_epochs,)
    n = min(len(digits), int(n_epochs))
    labels[:n] = digits[:n]
    return labels


def stage_string(labels: np.ndarray) -> str:
    """The ``sleep_stages`` string of a label array (unscored written as ``9``).

    Examples
    --------
    >>> stage_string(np.array([0, 2, -1, 5]))
    '0295'
    """
    labels = np.asarray(labels, dtype=np.int64)
    valid = (labels >= 0) & (labels < len(CLASS_NAMES_6))
    return "".join(str(int(v)) if ok else UNSCORED_DIGIT for v, ok in zip(labels, valid))


def label_counts(labels: np.ndarray) -> dict[str, int]:
    """Epochs per stage name, unscored counted under ``?``.

    Examples
    --------
    >>> label_counts(np.array([0, 0, 2, -1]))
    {'W': 2, 'N1': 0, 'N2': 1, 'N3': 0, 'N4': 0, 'REM': 0, '?': 1}
    """
    labels = np.asarray(labels, dtype=np.int64)
    counts = {name: int(np.sum(labels == code)) for code, name in enumerate(CLASS_NAMES_6)}
    counts[UNSCORED_NAME] = int(len(labels) - sum(counts.values()))
    return counts


def index_path(target: str | Path, csv_name: str = INDEX_NAME) -> Path:
    """The index CSV meant by ``target``: a ``.csv`` file itself, or ``csv_name`` inside a folder.

    Examples
    --------
    >>> index_path("store").as_posix(), index_path("cohort.csv").as_posix()
    ('store/mesa_final.csv', 'cohort.csv')
    """
    target = Path(target)
    return target if target.suffix.lower() == ".csv" else target / csv_name


def read_index(csv_path: str | Path) -> pd.DataFrame:
    """Read an index CSV; ``mesaid`` becomes an integer column, ``sleep_stages`` a string column.

    Every column is read as text first, so stage strings keep their leading zeros. The id comes
    from ``mesaid`` or, failing that, another id column (see :data:`ID_COLUMNS`); a missing
    ``sleep_stages`` column means every night is unscored.

    Raises
    ------
    DataError
        If the file is missing, empty, has no usable id column, or holds an id that is not one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mesa_final.csv"
    >>> _ = path.write_text("mesaid,sleep_stages\\n1,0012\\n")
    >>> read_index(path).loc[0, "sleep_stages"]
    '0012'
    """
    path = Path(csv_path)
    if not path.is_file():
        raise DataError(f"index CSV {path} not found; pass the CSV written with the store "
                        f"(--csv_path) or put {INDEX_NAME} in the store folder")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"index CSV {path} is empty; it needs a header with mesaid and "
                        "sleep_stages") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"index CSV {path} cannot be read as CSV ({exc})") from exc
    by_lower = {str(col).strip().lower(): col for col in frame.columns}
    id_column = next((by_lower[name] for name in ID_COLUMNS if name in by_lower), None)
    if id_column is None:
        raise DataError(f"index CSV {path} has no id column (columns: {list(frame.columns)}); "
                        f"add a 'mesaid' column")
    ids = []
    for row_number, value in enumerate(frame[id_column], start=2):
        try:
            ids.append(parse_record_id(value))
        except DataError as exc:
            raise DataError(f"index CSV {path}, line {row_number}, column {id_column!r}: "
                            f"{exc}") from exc
    frame = frame.drop(columns=[id_column])
    frame.insert(0, "mesaid", np.asarray(ids, dtype=np.int64))
    stages_column = by_lower.get("sleep_stages")
    if stages_column is None:
        frame["sleep_stages"] = ""
    elif stages_column != "sleep_stages":
        frame = frame.rename(columns={stages_column: "sleep_stages"})
    return frame


def _ordered_columns(columns: Iterable[str]) -> list[str]:
    seen = list(dict.fromkeys(columns))
    first = [name for name in FIRST_INDEX_COLUMNS if name in seen]
    return first + [name for name in seen if name not in first]


def _records(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> list[dict[str, Any]]:
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else [dict(r) for r in rows]
    for number, record in enumerate(records):
        if "mesaid" not in record:
            raise DataError(f"index row {number} has no 'mesaid': {sorted(record)}")
        record["mesaid"] = parse_record_id(record["mesaid"])
    return records


def _index_text(records: list[dict[str, Any]]) -> str:
    columns = _ordered_columns([key for record in records for key in record])
    # Object columns: a value missing from some rows is written empty, integers stay integers.
    frame = pd.DataFrame({column: [record.get(column, "") for record in records]
                          for column in columns}, columns=columns, dtype=object)
    return frame.to_csv(index=False, lineterminator="\n")


def write_index(target: str | Path, rows: Iterable[Mapping[str, Any]] | pd.DataFrame,
                csv_name: str = INDEX_NAME) -> Path:
    """Write an index CSV atomically (replacing any previous one) and return its path.

    Parameters
    ----------
    target : path-like
        A store folder (the CSV is ``csv_name`` inside it) or a ``.csv`` path.
    rows : iterable of mappings or DataFrame
        One row per night, each with ``mesaid``; ``sleep_stages`` and ``n_epochs`` come next,
        then any other column in first-seen order.

    Examples
    --------
    >>> import tempfile
    >>> path = write_index(tempfile.mkdtemp(), [{"mesaid": 1, "sleep_stages": "0012"}])
    >>> path.read_text().splitlines()
    ['mesaid,sleep_stages', '1,0012']
    """
    path = index_path(target, csv_name)
    write_text_atomic(path, _index_text(_records(rows)))
    return path


def update_index(target: str | Path, rows: Iterable[Mapping[str, Any]] | pd.DataFrame,
                 csv_name: str = INDEX_NAME) -> Path:
    """Merge rows into an index CSV atomically: rows of the same night updated, new ones appended.

    Columns the new rows do not carry keep their old values (e.g. a ``split`` column added by
    hand); rows of other nights are kept exactly as written (id spelling included); rows keep the
    existing order, new nights follow in the order given (see :func:`mesa_report.data.index_merge.merge_index`).

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_index(folder, [{"mesaid": 1, "sleep_stages": "00", "split": "train"}])
    >>> path = update_index(folder, [{"mesaid": 1, "sleep_stages": "01"}, {"mesaid": 2}])
    >>> path.read_text().splitlines()
    ['mesaid,sleep_stages,split', '1,01,train', '2,,']
    """
    from mesa_report.data.index_merge import merge_index  # it builds on this module's readers

    path = index_path(target, csv_name)
    merge_index(path, rows)
    return path


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


def index_row(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The index row of a night from its sidecar fields.

    Examples
    --------
    >>> index_row({"mesaid": 3, "sleep_stages": "02", "n_epochs": 2, "edf_file": "a.edf"})
    {'mesaid': 3, 'sleep_stages': '02', 'n_epochs': 2, 'edf_file': 'a.edf'}
    """
    row = {"mesaid": parse_record_id(meta["mesaid"]), "sleep_stages": str(meta["sleep_stages"]),
           "n_epochs": int(meta["n_epochs"])}
    for key in ("edf_file", "annotation_file", "start_clock"):
        if key in meta:
            row[key] = meta[key]
    return row


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
    from mesa_report.data.night_guard import checked_night_tensor  # it builds on this module's constants

    return checked_night_tensor(value, path)


class Night:
    """One preprocessed night, its labels and metadata; the signal is mapped on first use.

    Parameters
    ----------
    path : path-like
        The night's ``.pt`` file.
    mesaid : int
        Its id.
    stages : str
        Its ``sleep_stages`` string from the index ('' if none).
    epoch_seconds : float
        Epoch length used to cut the signal.
    sfreq_hz : float, optional
        Sampling rate; by default the sidecar's, else 128 Hz.
    index_row : mapping, optional
        The night's index row (extra columns such as ``split``).

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = write_night(folder, 1, np.ones((4, 3 * 3840), np.float32), np.array([0, 1, 2]))
    >>> night = Night(path, 1, "012")
    >>> night.n_epochs, night.labels.tolist(), night.epochs(1, 3).shape
    (3, [0, 1, 2], (2, 3, 3840))
    """

    def __init__(self, path: str | Path, mesaid: int, stages: str = "", *,
                 epoch_seconds: float = EPOCH_SECONDS, sfreq_hz: float | None = None,
                 index_row: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.mesaid = parse_record_id(mesaid)
        self.stages = str(stages)
        self.index_row = dict(index_row or {})
        self._sidecar = read_sidecar(self.path.with_suffix(".json"))
        from mesa_report.data.night_guard import sidecar_rate_hz  # it builds on this module's constants

        stored_hz = sidecar_rate_hz(self._sidecar, self.path.with_suffix(".json"))
        if sfreq_hz is not None and stored_hz is not None and stored_hz != float(sfreq_hz):
            raise ConfigError(f"{self.path.name} is stored at {stored_hz} Hz but {sfreq_hz} Hz "
                              "was asked for (the model's rate); use a model trained on "
                              f"nights at {stored_hz} Hz")
        self.sfreq_hz = float(sfreq_hz if sfreq_hz is not None else stored_hz or SFREQ_HZ)
        self.epoch_seconds = float(epoch_seconds)
        samples = self.epoch_seconds * self.sfreq_hz
        if samples < 1 or not math.isclose(samples, round(samples)):
            raise ConfigError(f"epoch_seconds={epoch_seconds} at {self.sfreq_hz} Hz is not a "
                              "whole number of samples")
        self.epoch_samples = int(round(samples))
        self._signal: torch.Tensor | None = None
        self._labels: np.ndarray | None = None

    def __getstate__(self) -> dict[str, Any]:
        # A pickled night (e.g. sent to a DataLoader worker) maps its file again on first use.
        state = self.__dict__.copy()
        state["_signal"] = None
        return state

    def __repr__(self) -> str:
        return f"Night({record_id(self.mesaid)}, path={str(self.path)!r})"

    @property
    def signal(self) -> torch.Tensor:
        """The memory-mapped float tensor ``(channels, T)``."""
        if self._signal is None:
            self._signal = load_signal(self.path)
        return self._signal

    @property
    def n_channels(self) -> int:
        """Channels stored (the model uses the first three)."""
        return int(self.signal.shape[0])

    @property
    def n_epochs(self) -> int:
        """Whole epochs in the signal (a trailing partial epoch is dropped)."""
        return int(self.signal.shape[1]) // self.epoch_samples

    @property
    def labels(self) -> np.ndarray:
        """Stage codes ``(n_epochs,)`` int64, ``-1`` unscored (the seed's parsing rules)."""
        if self._labels is None:
            from mesa_report.data.night_guard import stage_string_warning  # it builds on this module's constants

            note = stage_string_warning(self.stages, f"{record_id(self.mesaid)} ({self.path.name})")
            if note:
                warnings.warn(note, UserWarning, stacklevel=2)
            self._labels = parse_stage_string(self.stages, self.n_epochs)
        return self._labels

    @property
    def channel_names(self) -> list[str]:
        """Names from the sidecar, else the seed's ``EEG1 EEG2 EEG3 Thor`` cut to the count."""
        names = self._sidecar.get("channel_names")
        if isinstance(names, list) and len(names) == self.n_channels:
            return [str(name) for name in names]
        return [*DEFAULT_CHANNEL_NAMES, *(f"ch{k}" for k in range(4, self.n_channels))][
            : self.n_channels]

    @property
    def meta(self) -> dict[str, Any]:
        """Sidecar fields over defaults (id, channel names, rate, sizes, start clock time)."""
        defaults = {
            "mesaid": self.mesaid,
            "record_id": record_id(self.mesaid),
            "channel_names": self.channel_names,
            "sfreq_hz": self.sfreq_hz,
            "epoch_seconds": self.epoch_seconds,
            "n_samples": int(self.signal.shape[1]),
            "n_epochs": self.n_epochs,
            "start_clock": None,
        }
        return {**defaults, **self._sidecar}

    def epochs(self, start: int, stop: int, channels: int = NUM_EEG_CHANNELS) -> np.ndarray:
        """Epochs ``start`` to ``stop`` (exclusive) of the first ``channels`` channels.

        Only those samples are read from the mapped file.

        Returns
        -------
        numpy.ndarray, shape (stop - start, channels, epoch_samples), float32

        Raises
        ------
        DataError
            If the range is outside the night or more channels are asked than it has.

        Examples
        --------
        >>> import tempfile
        >>> path = write_night(tempfile.mkdtemp(), 2, np.zeros((4, 2 * 3840), np.float32),
        ...                    np.array([0, 0]))
        >>> Night(path, 2, "00").epochs(0, 2, channels=4).shape
        (2, 4, 3840)
        """
        start, stop, channels = int(start), int(stop), int(channels)
        if not 0 <= start <= stop <= self.n_epochs:
            raise DataError(f"{self.path.name}: epochs {start}:{stop} are outside the night's "
                            f"{self.n_epochs} epochs")
        if not 1 <= channels <= self.n_channels:
            raise DataError(f"{self.path.name}: {channels} channels asked, the night has "
                            f"{self.n_channels} ({', '.join(self.channel_names)})")
        first, last = start * self.epoch_samples, stop * self.epoch_samples
        block = self.signal[:channels, first:last].numpy()  # (channels, n * E) view of the map
        block = block.reshape(channels, stop - start, self.epoch_samples)  # (channels, n, E)
        return np.ascontiguousarray(block.transpose(1, 0, 2), dtype=np.float32)  # (n, channels, E)


class NightStore:
    """The nights of a store folder listed in its index CSV, opened lazily.

    Parameters
    ----------
    preprocessed_dir : path-like
        Folder of ``mesa-sleep-NNNN_preprocessed.pt`` files.
    csv_path : path-like, optional
        Index CSV; by default ``mesa_final.csv`` in the folder. A relative path that does not
        exist from the working folder is also looked for inside ``preprocessed_dir``.
    epoch_seconds : float
        Epoch length used to cut nights.
    sfreq_hz : float, optional
        Sampling rate to assume (checked against sidecars); default 128 Hz.

    Attributes
    ----------
    mesaids : list of int
        Nights of the index whose file exists, in index order (a repeated id counts once).
    missing : list of int
        Index rows without a file.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_night(folder, 5, np.zeros((4, 3840), np.float32), np.array([2]))
    >>> _ = write_index(folder, [{"mesaid": 5, "sleep_stages": "2"}, {"mesaid": 6}])
    >>> store = NightStore(folder)
    >>> store.mesaids, store.missing, store.night(5).labels.tolist()
    ([5], [6], [2])
    """

    def __init__(self, preprocessed_dir: str | Path, csv_path: str | Path | None = None, *,
                 epoch_seconds: float = EPOCH_SECONDS, sfreq_hz: float | None = None) -> None:
        self.root = Path(preprocessed_dir)
        if not self.root.is_dir():
            raise DataError(f"preprocessed folder {self.root} does not exist; run "
                            "'mesa-report preprocess' or pass the folder that holds the "
                            "mesa-sleep-NNNN_preprocessed.pt files")
        self.csv_path = self._find_index(csv_path)
        index = read_index(self.csv_path)
        self.index = index.drop_duplicates("mesaid", keep="first").reset_index(drop=True)
        self.epoch_seconds = float(epoch_seconds)
        self.sfreq_hz = sfreq_hz
        exists = [(self.root / night_filename(m)).is_file() for m in self.index["mesaid"]]
        self.mesaids = [int(m) for m, ok in zip(self.index["mesaid"], exists) if ok]
        self.missing = [int(m) for m, ok in zip(self.index["mesaid"], exists) if not ok]
        self._rows = {int(row["mesaid"]): row for row in self.index.to_dict("records")}
        self._nights: dict[int, Night] = {}

    def _find_index(self, csv_path: str | Path | None) -> Path:
        if csv_path is None:
            return self.root / INDEX_NAME
        path = Path(csv_path)
        if not path.is_absolute() and not path.exists() and (self.root / path).is_file():
            return self.root / path
        return path

    def __len__(self) -> int:
        return len(self.mesaids)

    def __iter__(self) -> Iterator[Night]:
        return (self.night(mesaid) for mesaid in self.mesaids)

    def __contains__(self, mesaid: object) -> bool:
        try:
            return parse_record_id(mesaid) in self._rows  # type: ignore[arg-type]
        except DataError:
            return False

    def __repr__(self) -> str:
        return f"NightStore({str(self.root)!r}, {len(self)} nights)"

    def night(self, mesaid: int | str) -> Night:
        """The night with this id (``1``, ``"0001"`` or ``"mesa-sleep-0001"``).

        Raises
        ------
        DataError
            If the id is not in the index or its file is missing.
        """
        key = parse_record_id(mesaid)
        if key not in self._nights:
            if key not in self._rows:
                listed = ", ".join(str(m) for m in self.mesaids[:10])
                more = " ..." if len(self.mesaids) > 10 else ""
                raise DataError(f"{record_id(key)} is not in {self.csv_path} (nights: "
                                f"{listed}{more})")
            row = self._rows[key]
            path = self.root / night_filename(key)
            if key in self.missing:
                raise DataError(f"{record_id(key)} is listed in {self.csv_path} but {path} "
                                "does not exist; preprocess it again")
            self._nights[key] = Night(path, key, row.get("sleep_stages", ""),
                                      epoch_seconds=self.epoch_seconds, sfreq_hz=self.sfreq_hz,
                                      index_row=row)
        return self._nights[key]
