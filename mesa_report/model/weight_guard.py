"""Checks on a checkpoint's weight tensors before a model is sized or filled from them.

A checkpoint of a few hundred bytes can declare weights of any shape: tensors without data
(``meta``), stride-0 views of one number, sparse tensors of 10^12 zeros. These are refused, or
converted where that is exact and bounded (sparse -> dense within :data:`MAX_DENSE_WEIGHT_BYTES`),
before anything is built from them; dense weights must be backed by bytes the file really holds.
Finite but absurd values (beyond :data:`MAX_ABS_WEIGHT`, e.g. a model scaled by 1e38) are
refused too: they overflow to infinity in the first layers.
"""

from __future__ import annotations

from pathlib import Path

import torch

from mesa_report.core.errors import CheckpointError

MAX_DENSE_WEIGHT_BYTES = 1 << 30
"""Most bytes sparse weights are expanded to, all together (1 GiB; the seed's model is ~10 MB)."""

MAX_ABS_WEIGHT = 1e8
"""Largest magnitude accepted in a weight or buffer; trained values stay many orders below."""

_FIX = "copy it again, or pick the best_model.pth written by training"


def checked_weights(state: dict[str, torch.Tensor], path: str | Path) -> dict[str, torch.Tensor]:
    """The weights as plain dense tensors, after the checks (a new dict; ``state`` is not changed).

    Raises
    ------
    CheckpointError
        For a weight without data, of another layout, larger than the file or the bounds, or
        with values beyond :data:`MAX_ABS_WEIGHT` (names the file and the weight).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "w.pth"
    >>> torch.save({"w": torch.eye(3).to_sparse()}, path)
    >>> checked_weights(torch.load(path), path)["w"].layout
    torch.strided
    """
    path = Path(path)
    file_bytes = path.stat().st_size
    checked: dict[str, torch.Tensor] = {}
    dense_bytes = 0
    for key, value in state.items():
        shape = tuple(value.shape)
        if value.is_meta:
            raise CheckpointError(f"{path}: weight {key} of shape {shape} has no data (a meta "
                                  f"tensor); {_FIX}")
        if value.layout == torch.sparse_coo:
            dense_bytes += value.numel() * value.element_size()
            if dense_bytes > MAX_DENSE_WEIGHT_BYTES:
                raise CheckpointError(f"{path}: sparse weight {key} of shape {shape} would take "
                                      f"more than {MAX_DENSE_WEIGHT_BYTES:,} bytes once dense; {_FIX}")
            value = value.to_dense()
        elif value.layout != torch.strided:
            raise CheckpointError(f"{path}: weight {key} is a {value.layout} tensor; {_FIX}")
        elif value.numel() * value.element_size() > file_bytes:
            raise CheckpointError(f"{path}: weight {key} declares shape {shape} "
                                  f"({value.numel() * value.element_size():,} bytes) in a file of "
                                  f"{file_bytes:,} bytes; {_FIX}")
        if value.is_floating_point() and value.numel() and torch.isfinite(value).all():
            largest = float(value.abs().max())
            if largest > MAX_ABS_WEIGHT:
                raise CheckpointError(f"{path}: weight {key} holds values up to {largest:.3g}; "
                                      f"trained weights stay far below {MAX_ABS_WEIGHT:g}, and these "
                                      f"overflow to infinity in the model — {_FIX}")
        checked[key] = value
    return checked
