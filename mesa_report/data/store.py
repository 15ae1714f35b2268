"""The preprocessed store: the seed project's folder format, opened lazily night by night.

A store is a folder of ``mesa-sleep-{mesaid:04d}_preprocessed.pt`` files (each a ``torch.save``d
float tensor ``(channels, T)`` at 128 Hz, EEG1 EEG2 EEG3 first) and an index CSV
(``mesa_final.csv``) with at least ``mesaid`` and ``sleep_stages`` (one digit per 30 s epoch).
mesa-report adds index columns (``n_epochs``, source files) and a JSON sidecar
``mesa-sleep-{mesaid:04d}_preprocessed.json`` per night; folders written by the seed's project,
which have neither, open as they are.

Nights are memory-mapped (``torch.load(mmap=True, weights_only=True)``): cutting one window reads
only that window's bytes, never the whole night. The pieces: ids and file names
(:mod:`mesa_report.data.night_ids`), the index CSV (:mod:`mesa_report.data.index_csv`), a night's
files (:mod:`mesa_report.data.night_files`), stage strings (:mod:`mesa_report.data.stage_strings`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.core.vocabulary import EPOCH_SECONDS, NUM_EEG_CHANNELS, SFREQ_HZ
from mesa_report.core.vocabulary import STORE_CHANNEL_NAMES as DEFAULT_CHANNEL_NAMES
from mesa_report.data.index_csv import INDEX_NAME, read_index
from mesa_report.data.night_files import load_signal, read_sidecar
from mesa_report.data.night_guard import sidecar_rate_hz, stage_string_warning
from mesa_report.data.night_ids import night_filename, parse_record_id, record_id
from mesa_report.data.stage_strings import parse_stage_string


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
    >>> from mesa_report.data.night_files import write_night
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
        >>> from mesa_report.data.night_files import write_night
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
    >>> from mesa_report.data.index_csv import write_index
    >>> from mesa_report.data.night_files import write_night
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
