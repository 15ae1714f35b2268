"""Windows of consecutive epochs for the model, with the seed loader's semantics.

A window is ``seq_len`` consecutive 30 s epochs of one night, starting every ``stride`` epochs from
epoch 0; with ``filter_unscored`` every window holding an unscored epoch (``-1``) is dropped. Nights
come in index order and windows in time order, exactly as the seed's ``create_mesa_dataloader``
produced them; but each window is cut from the memory-mapped night instead of loading the whole
file for every window.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.core.vocabulary import UNSCORED
from mesa_report.core.vocabulary import EPOCH_SECONDS, NUM_EEG_CHANNELS, SEQ_LEN, SFREQ_HZ
from mesa_report.data.night_ids import record_id
from mesa_report.data.store import NightStore

_MAX_LISTED = 5


def window_starts(labels: np.ndarray, seq_len: int = SEQ_LEN, stride: int = 1,
                  filter_unscored: bool = True) -> np.ndarray:
    """First epochs of a night's windows.

    Parameters
    ----------
    labels : numpy.ndarray, shape (n_epochs,)
        Stage codes, ``-1`` unscored.
    seq_len, stride : int
        Window length and step, in epochs.
    filter_unscored : bool
        Drop windows that hold an unscored epoch.

    Returns
    -------
    numpy.ndarray of int64
        Empty when the night is shorter than ``seq_len``.

    Examples
    --------
    >>> window_starts(np.array([0, 0, -1, 2, 2, 2]), seq_len=2).tolist()
    [0, 3, 4]
    """
    labels = np.asarray(labels)
    n_epochs = len(labels)
    if n_epochs < seq_len:
        return np.zeros(0, dtype=np.int64)
    starts = np.arange(0, n_epochs - seq_len + 1, stride, dtype=np.int64)  # (n_windows,)
    if filter_unscored:
        unscored_before = np.concatenate([[0], np.cumsum(labels == UNSCORED)])  # (n_epochs + 1,)
        starts = starts[unscored_before[starts + seq_len] == unscored_before[starts]]
    return starts


def _positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)


def _listed(mesaids: list[int]) -> str:
    more = f" and {len(mesaids) - _MAX_LISTED} more" if len(mesaids) > _MAX_LISTED else ""
    return ", ".join(record_id(m) for m in mesaids[:_MAX_LISTED]) + more


class MesaWindowDataset(Dataset):
    """Windows of ``seq_len`` epochs from a preprocessed store (the seed's dataset, memory-mapped).

    Parameters
    ----------
    preprocessed_dir : path-like
        Store folder.
    csv_path : path-like, optional
        Index CSV (default ``mesa_final.csv`` in the folder).
    seq_len : int
        Epochs per window.
    stride : int
        Epochs between window starts.
    filter_unscored : bool
        Drop windows holding an unscored epoch.
    epoch_seconds, target_fs : float
        Epoch length and sampling rate of the stored nights.
    num_channels : int
        Channels per epoch handed to the model (the first ones of each night).

    Attributes
    ----------
    store : NightStore
        The nights, for per-night access.
    too_short : list of int
        Nights shorter than ``seq_len`` epochs (they give no window).

    Examples
    --------
    >>> import tempfile
    >>> from mesa_report.data.index_csv import write_index
    >>> from mesa_report.data.night_files import write_night
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_night(folder, 1, np.zeros((4, 4 * 3840), np.float32), np.zeros(4))
    >>> _ = write_index(folder, [{"mesaid": 1, "sleep_stages": "0122"}])
    >>> data = MesaWindowDataset(folder, None, seq_len=3)
    >>> len(data), data[1][0].shape, data[1][1].tolist(), data.window_info(1)
    (2, torch.Size([3, 3, 3840]), [1, 2, 2], (1, 1))
    """

    def __init__(self, preprocessed_dir, csv_path=None, seq_len: int = SEQ_LEN, stride: int = 1,
                 filter_unscored: bool = True, epoch_seconds: float = EPOCH_SECONDS,
                 target_fs: float = SFREQ_HZ, num_channels: int = NUM_EEG_CHANNELS) -> None:
        self.seq_len = _positive_int("seq_len", seq_len)
        self.stride = _positive_int("stride", stride)
        self.num_channels = _positive_int("num_channels", num_channels)
        self.filter_unscored = bool(filter_unscored)
        self.store = NightStore(preprocessed_dir, csv_path, epoch_seconds=epoch_seconds,
                                sfreq_hz=target_fs)
        if self.store.missing:
            warnings.warn(f"{len(self.store.missing)} night(s) of {self.store.csv_path} have no "
                          f"file in {self.store.root} and are left out: "
                          f"{_listed(self.store.missing)}", stacklevel=2)
        self.mesaids = list(self.store.mesaids)
        self.too_short = [m for m in self.mesaids if self.store.night(m).n_epochs < self.seq_len]
        if self.too_short:
            warnings.warn(f"{len(self.too_short)} night(s) are shorter than seq_len={self.seq_len}"
                          f" epochs and give no window: {_listed(self.too_short)}", stacklevel=2)
        per_night = [window_starts(self.store.night(m).labels, self.seq_len, self.stride,
                                   self.filter_unscored) for m in self.mesaids]
        self._night_pos = np.concatenate(
            [np.full(len(s), k, dtype=np.int64) for k, s in enumerate(per_night)]
            or [np.zeros(0, dtype=np.int64)])  # (n_windows,)
        self._starts = np.concatenate(per_night or [np.zeros(0, dtype=np.int64)])  # (n_windows,)
        if len(self._starts) == 0:
            raise DataError(f"no window of {self.seq_len} epochs in {self.store.root} "
                            f"({len(self.mesaids)} nights with a file, {len(self.too_short)} too "
                            f"short, filter_unscored={self.filter_unscored}); check the index "
                            f"{self.store.csv_path} and its sleep_stages")

    def __len__(self) -> int:
        return len(self._starts)

    def _locate(self, index: int) -> tuple[int, int]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"window {index} of {len(self)}")
        return self.mesaids[int(self._night_pos[index])], int(self._starts[index])

    def window_info(self, index: int) -> tuple[int, int]:
        """``(mesaid, first_epoch)`` of window ``index``.

        Examples
        --------
        >>> import tempfile
        >>> from mesa_report.data.index_csv import write_index
        >>> from mesa_report.data.night_files import write_night
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_night(folder, 3, np.zeros((4, 2 * 3840), np.float32), np.zeros(2))
        >>> _ = write_index(folder, [{"mesaid": 3, "sleep_stages": "00"}])
        >>> MesaWindowDataset(folder, seq_len=1).window_info(1)
        (3, 1)
        """
        return self._locate(index)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        mesaid, first = self._locate(index)
        night = self.store.night(mesaid)
        features = night.epochs(first, first + self.seq_len, self.num_channels)  # (S, C, E)
        labels = night.labels[first:first + self.seq_len].copy()  # (S,)
        return torch.from_numpy(features), torch.from_numpy(labels)


def create_mesa_dataloader(preprocessed_dir, csv_path, seq_len: int = SEQ_LEN,
                           batch_size: int = 16, shuffle: bool = True, num_workers: int = 0,
                           **dataset_kwargs) -> DataLoader:
    """The seed's loader: batches ``(features (B, S, 3, 3840) float32, labels (B, S) int64)``.

    Parameters
    ----------
    preprocessed_dir, csv_path : path-like
        Store folder and index CSV (``None``: ``mesa_final.csv`` in the folder).
    seq_len, batch_size, shuffle, num_workers
        As in the seed.
    **dataset_kwargs
        ``stride``, ``filter_unscored``, ``epoch_seconds``, ``target_fs``, ``num_channels``
        for :class:`MesaWindowDataset`.

    Examples
    --------
    >>> import tempfile
    >>> from mesa_report.data.index_csv import write_index
    >>> from mesa_report.data.night_files import write_night
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_night(folder, 1, np.zeros((4, 3 * 3840), np.float32), np.zeros(3))
    >>> _ = write_index(folder, [{"mesaid": 1, "sleep_stages": "000"}])
    >>> features, labels = next(iter(create_mesa_dataloader(folder, None, seq_len=2)))
    >>> tuple(features.shape), tuple(labels.shape)
    ((2, 2, 3, 3840), (2, 2))
    """
    dataset = MesaWindowDataset(preprocessed_dir, csv_path, seq_len=seq_len, **dataset_kwargs)
    return DataLoader(dataset, batch_size=_positive_int("batch_size", batch_size),
                      shuffle=shuffle, num_workers=num_workers,
                      persistent_workers=num_workers > 0)
