"""A checkpoint opened for inference: the model together with the file it came from.

Results are keyed by the checkpoint's content, so a loaded model travels as a
:class:`LoadedModel` (model, path, SHA-256, config) rather than with attributes set on the
``nn.Module``.

Examples
--------
>>> import tempfile, pathlib
>>> from mesa_report.model.checkpoint import save_checkpoint
>>> from mesa_report.model.network import MesaTransformer, ModelConfig
>>> path = save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "m.pth", MesaTransformer(ModelConfig(
...     d_model=32, dim_feedforward=64, cnn_channels=(8, 16), temporal_heads=4, channel_heads=2,
...     epoch_heads=4)))
>>> loaded = open_checkpoint(path)
>>> loaded.path.name, loaded.config.d_model, len(loaded.sha256), loaded.device.type
('m.pth', 32, 64, 'cpu')
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from mesa_report.model.checkpoint import file_sha256, load_model
from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model in eval mode and the checkpoint file it was loaded from.

    Attributes
    ----------
    model : MesaTransformer
        The model, in eval mode, on its device.
    path : Path
        The checkpoint file.
    sha256 : str
        Hex SHA-256 of the file's content when it was loaded (what results are keyed by).
    """

    model: MesaTransformer
    path: Path
    sha256: str

    @property
    def config(self) -> ModelConfig:
        """The model's sizes and names."""
        return self.model.config

    @property
    def device(self) -> torch.device:
        """Where the model's weights are."""
        return next(self.model.parameters()).device


def open_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu", *,
                    num_channels: int | None = None, time_steps: int | None = None,
                    seq_len: int | None = None, num_classes: int | None = None) -> LoadedModel:
    """Load a checkpoint (:func:`~mesa_report.model.checkpoint.load_model`) and hash its file.

    The sizes, when given, are checked against the checkpoint's (``None`` accepts its own).

    Raises
    ------
    CheckpointError
        If the file is missing, unsafe, or not a MESA Transformer checkpoint.
    """
    path = Path(path)
    model = load_model(path, num_channels=num_channels, time_steps=time_steps, seq_len=seq_len,
                       num_classes=num_classes, device=device)
    return LoadedModel(model=model, path=path, sha256=file_sha256(path))
