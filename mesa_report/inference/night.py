"""A night's inference: per-epoch stage probabilities and every attention map of every sample.

A night is cut into *samples*: consecutive, non-overlapping windows of ``seq_len`` epochs from the
first epoch (the last one is aligned to the night's end, so it may overlap the one before). Each
epoch's prediction comes from the first sample that holds it. Attention is kept per sample in
float16 (a 4 h night at the seed's size: about 20 MB), so the app and the reports can show any
layer, head or epoch without running the model again. The model runs in
:mod:`mesa_report.inference.cohort` (:func:`~mesa_report.inference.cohort.infer_night` for one night).

Examples
--------
>>> import tempfile, numpy as np, torch
>>> from mesa_report.model.network import MesaTransformer, ModelConfig
>>> from mesa_report.data.night_files import write_night
>>> from mesa_report.data.store import Night
>>> path = write_night(tempfile.mkdtemp(), 1, np.random.randn(4, 45 * 3840).astype(np.float32),
...                    np.zeros(45, dtype=np.int64))
>>> model = MesaTransformer(ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16),
...     temporal_heads=4, channel_heads=2, epoch_heads=4)).eval()
>>> from mesa_report.inference.cohort import infer_night
>>> result = infer_night(model, Night(path, 1, "0" * 45))
>>> result.probs.shape, result.sample_starts.tolist()
((45, 6), [0, 20, 25])
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.core.fileio import atomic_write
from mesa_report.model.outputs import AttentionMaps
from mesa_report.model.network import MesaTransformer
from mesa_report.model.config import TokenTimes
from mesa_report.data.store import Night

ProgressFn = Callable[[int, int], None]
"""Called as ``progress(done, total)`` with sample counts."""


def sample_starts(n_epochs: int, seq_len: int) -> np.ndarray:
    """First epoch of each sample tiling a night of ``n_epochs``.

    Examples
    --------
    >>> sample_starts(45, 20).tolist(), sample_starts(40, 20).tolist()
    ([0, 20, 25], [0, 20])
    """
    if n_epochs < seq_len:
        raise DataError(f"the night has {n_epochs} epochs, fewer than one sample of seq_len={seq_len}")
    starts = list(range(0, n_epochs - seq_len + 1, seq_len))
    if starts[-1] + seq_len < n_epochs:
        starts.append(n_epochs - seq_len)
    return np.asarray(starts, dtype=np.int64)


def epoch_owner(starts: np.ndarray, seq_len: int, n_epochs: int) -> tuple[np.ndarray, np.ndarray]:
    """First sample holding each epoch and the epoch's position in it.

    Examples
    --------
    >>> owner, pos = epoch_owner(np.array([0, 20, 25]), 20, 45)
    >>> owner[[0, 19, 20, 39, 40, 44]].tolist(), pos[[39, 40, 44]].tolist()
    ([0, 0, 1, 1, 2, 2], [19, 15, 19])
    """
    epochs = np.arange(n_epochs)
    owner = np.searchsorted(starts + seq_len, epochs, side="right")  # (E,)
    return owner, epochs - starts[owner]


@dataclass
class SampleView:
    """One sample of a night: its epochs' labels, predictions and attention (batch of one)."""

    index: int
    first_epoch: int
    labels: np.ndarray  # (S,) int64, -1 unscored
    pred: np.ndarray  # (S,) int64
    probs: np.ndarray  # (S, K) float32
    uncertainty: np.ndarray  # (S,) float32
    attention: AttentionMaps  # batch of one, float32
    features: np.ndarray | None = None  # (S, C, T) float32 when the night was given

    @property
    def epochs(self) -> np.ndarray:
        """Night epoch indices of this sample, ``(S,)``."""
        return self.first_epoch + np.arange(self.labels.shape[0])


@dataclass
class NightInference:
    """A night's predictions and attention maps (what the app, reports and ``visualize`` read)."""

    mesaid: int
    class_names: tuple[str, ...]
    channel_names: tuple[str, ...]
    sfreq_hz: float
    epoch_seconds: float
    seq_len: int
    labels: np.ndarray  # (E,) int64, -1 unscored
    probs: np.ndarray  # (E, K) float32
    uncertainty: np.ndarray  # (E,) float32, prediction entropy in nats
    sample_starts: np.ndarray  # (W,) int64
    sample_probs: np.ndarray  # (W, S, K) float32, each sample's own predictions
    temporal: np.ndarray  # (W, S, C, L_t, H_t, N, N) float16
    channel: np.ndarray  # (W, S, H_c, C, C) float16
    epoch: np.ndarray  # (W, L_e, H_e, S, S) float16
    token_times: TokenTimes
    settings: dict = field(default_factory=dict)

    @property
    def pred(self) -> np.ndarray:
        """Predicted stage per epoch, ``(E,)`` int64."""
        return self.probs.argmax(axis=1).astype(np.int64)

    @property
    def confidence(self) -> np.ndarray:
        """Probability of the predicted stage per epoch, ``(E,)``."""
        return self.probs.max(axis=1)

    @property
    def n_epochs(self) -> int:
        return int(self.labels.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.sample_starts.shape[0])

    def epoch_owner(self) -> tuple[np.ndarray, np.ndarray]:
        """For every epoch, the sample its prediction comes from and its position there, ``(E,)`` each."""
        return epoch_owner(self.sample_starts, self.seq_len, self.n_epochs)

    def sample_of_epoch(self, epoch: int) -> int:
        """Index of the first sample holding night epoch ``epoch``."""
        if not 0 <= epoch < self.n_epochs:
            raise ConfigError(f"epoch {epoch} is outside the night (0-{self.n_epochs - 1})")
        return int(self.epoch_owner()[0][epoch])

    def sample(self, index: int, night: Night | None = None) -> SampleView:
        """Sample ``index`` with its attention as float32 (and its signal if ``night`` is given)."""
        if not 0 <= index < self.n_samples:
            raise ConfigError(f"sample {index} is out of range: this night has {self.n_samples} "
                              f"samples (0-{self.n_samples - 1})")
        first = int(self.sample_starts[index])
        window = slice(first, first + self.seq_len)
        probs = self.sample_probs[index]
        maps = AttentionMaps(
            temporal=torch.from_numpy(self.temporal[index : index + 1].astype(np.float32)),
            channel=torch.from_numpy(self.channel[index : index + 1].astype(np.float32)),
            epoch=torch.from_numpy(self.epoch[index : index + 1].astype(np.float32)),
            token_times=self.token_times,
        )
        features = None
        if night is not None:
            features = night.epochs(first, first + self.seq_len, channels=len(self.channel_names))
        return SampleView(
            index=index, first_epoch=first, labels=self.labels[window], pred=probs.argmax(1),
            probs=probs, uncertainty=_entropy(probs), attention=maps, features=features,
        )

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write to one ``.npz`` file, atomically (no pickle: read back with :meth:`load`)."""
        meta = {
            "mesaid": self.mesaid, "class_names": list(self.class_names),
            "channel_names": list(self.channel_names), "sfreq_hz": self.sfreq_hz,
            "epoch_seconds": self.epoch_seconds, "seq_len": self.seq_len, "settings": self.settings,
            "token_times_epoch_seconds": self.token_times.epoch_seconds,
        }
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        arrays.update({f"tt_{name}": getattr(self.token_times, name) for name in _TOKEN_FIELDS})
        with atomic_write(path, "wb") as fh:
            np.savez(fh, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> NightInference:
        """Read a file written by :meth:`save`; a damaged file raises :class:`DataError`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                arrays = {name: data[name] for name in _ARRAYS}
                token_times = TokenTimes(**{name: data[f"tt_{name}"] for name in _TOKEN_FIELDS},
                                         epoch_seconds=meta.pop("token_times_epoch_seconds"))
        except (OSError, ValueError, KeyError, EOFError, json.JSONDecodeError, zipfile.BadZipFile) as exc:
            raise DataError(f"inference file {path} is damaged ({type(exc).__name__}); delete it "
                            "and it will be computed again") from None
        meta["class_names"] = tuple(meta["class_names"])
        meta["channel_names"] = tuple(meta["channel_names"])
        return cls(**meta, **arrays, token_times=token_times)


_ARRAYS = ("labels", "probs", "uncertainty", "sample_starts", "sample_probs", "temporal", "channel", "epoch")
_TOKEN_FIELDS = ("start_s", "end_s", "centre_s", "rf_start_s", "rf_end_s")


def _entropy(probs: np.ndarray) -> np.ndarray:
    return -(probs * np.log(probs + 1e-8)).sum(axis=-1).astype(np.float32)


def check_night_fits(model: MesaTransformer, night: Night) -> None:
    """Raise a clear error when the night cannot be fed to the model."""
    cfg = model.config
    if night.epoch_samples != cfg.time_steps:
        raise ConfigError(
            f"{night.path.name} has epochs of {night.epoch_samples} samples ({night.sfreq_hz:g} Hz) but "
            f"the model expects {cfg.time_steps} ({cfg.sfreq_hz:g} Hz); preprocess the night at "
            f"{cfg.sfreq_hz:g} Hz or use a matching checkpoint"
        )
    if night.n_channels < cfg.num_channels:
        raise ConfigError(
            f"{night.path.name} has {night.n_channels} channels but the model reads {cfg.num_channels}; "
            "use a checkpoint trained on as many channels"
        )
    if night.n_epochs < cfg.seq_len:
        raise DataError(
            f"{night.path.name} has {night.n_epochs} epochs ({night.n_epochs * night.epoch_seconds / 60:.1f} "
            f"min), fewer than one sample of {cfg.seq_len} epochs; it cannot be staged by this model"
        )
