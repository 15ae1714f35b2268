"""Numpy content of checkpoints (mesa_report.model.safe_numpy): numpy-1 seed checkpoints open, crafted ones are
refused."""

from __future__ import annotations

import pickle
import re
import types
import zipfile

import numpy as np
import pytest
import torch

from mesa_report.core.errors import CheckpointError
from mesa_report.model.checkpoint import load_model, read_checkpoint
from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer

from ..helpers import TINY, seed_style_checkpoint
from ..hostile_common import refusal_under_limit

_NUMPY1_NAMES = {
    id(np._core.multiarray._reconstruct): ("numpy.core.multiarray", "_reconstruct"),
    id(np._core.multiarray.scalar): ("numpy.core.multiarray", "scalar"),
}


class _Numpy1Pickler(pickle._Pickler):
    """Writes numpy's rebuild functions under numpy 1.x's module name, as numpy 1.x itself does."""

    def save_global(self, obj, name=None):
        renamed = _NUMPY1_NAMES.get(id(obj))
        if renamed is None:
            return super().save_global(obj, name)
        self.write(pickle.GLOBAL + f"{renamed[0]}\n{renamed[1]}\n".encode())
        self.memoize(obj)


NUMPY1_PICKLE = types.SimpleNamespace(Pickler=_Numpy1Pickler, __name__="numpy1_pickle")
"""A ``pickle_module`` for ``torch.save`` whose files look like ones written under numpy 1.x."""


class _Reduce:
    """Pickles as ``reduce[0](*reduce[1])`` (with ``reduce[2]`` as its state): crafted content."""

    def __init__(self, *reduce):
        self.reduce = reduce

    def __reduce__(self):
        return self.reduce


def _pickle_bytes(path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl")))


def _replace_pickle(path, payload: bytes) -> None:
    with zipfile.ZipFile(path) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    name = next(n for n in entries if n.endswith("data.pkl"))
    entries[name] = payload
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for entry, content in entries.items():
            archive.writestr(entry, content)


def test_a_seed_checkpoint_pickled_under_numpy_1_opens_with_weights_only(tmp_path):
    torch.manual_seed(4)
    model = MesaTransformer(ModelConfig(**dict(TINY, temporal_heads=8, channel_heads=4,
                                               epoch_heads=8))).eval()
    path = tmp_path / "best_model.pth"
    seed_style_checkpoint(path, model, pickle_module=NUMPY1_PICKLE)
    data = _pickle_bytes(path)
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in data
    assert b"cnumpy.core.multiarray\nscalar\n" in data and b"numpy._core" not in data
    checkpoint = read_checkpoint(path)
    metrics = checkpoint["test_metrics"]
    assert type(metrics["confusion_matrix"]) is np.ndarray
    assert metrics["confusion_matrix"].tolist() == np.arange(36).reshape(6, 6).tolist()
    assert isinstance(metrics["kappa"], np.float64) and metrics["kappa"] == 0.74
    loaded = load_model(path)
    x = torch.randn(1, model.config.seq_len, 3, 3840)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x).logits, model(x).logits)


def test_only_the_numpy_rebuild_functions_are_allowed_under_either_name(tmp_path):
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        path = tmp_path / "sneaky.pth"
        # A pickle naming another function of the same (allowed) module is still refused.
        payload = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\n.").replace(
            b"numpy.core.multiarray\n_reconstruct", f"{module}\ncopyto".encode())
        torch.save({"model_state_dict": {}}, path)
        _replace_pickle(path, payload)
        with pytest.raises(CheckpointError, match=rf"\({module}\.copyto\)"):
            read_checkpoint(path)


@pytest.mark.parametrize("content, message", [
    (_Reduce(np._core.multiarray._reconstruct, (np.ndarray, (10**12,), b"b")),
     r"shape \(1000000000000,\) \(1,000,000,000,000 bytes\) in a file of"),
    (_Reduce(np._core.multiarray._reconstruct, (np.ndarray, (0,), b"b"),
             (1, (150_000_000,), _Reduce(np.dtype, ("O8", False, True)), False, [])),
     "object array"),
    (_Reduce(np._core.multiarray._reconstruct, (np.ndarray, (0,), b"b"),
             (1, (10**9,), np.dtype("f8"), False, b"12345678")),
     r"8,000,000,000 bytes"),
    (_Reduce(np.ndarray, ((10**12,), "b")), "calls numpy.ndarray directly"),
])
def test_crafted_numpy_content_is_refused_before_anything_is_allocated(tmp_path, content, message):
    path = tmp_path / "crafted.pth"
    torch.save({"model_state_dict": {"w": torch.zeros(2)}, "test_metrics": {"m": content}}, path)
    assert path.stat().st_size < 4000
    said = refusal_under_limit("from mesa_report.model.checkpoint import read_checkpoint",
                               "read_checkpoint(sys.argv[1])", "CheckpointError", path, 1 << 30)
    assert re.search(message, said), said


def test_refusal_messages_name_the_global_and_call_a_corrupt_pickle_corrupt(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"x": _Reduce(eval, ("1 + 1",))}, path)
    with pytest.raises(CheckpointError, match=r"\(builtins\.eval\), and loading it could run code"):
        read_checkpoint(path)
    torch.save({"model_state_dict": {"w": torch.zeros(2)}}, path)
    _replace_pickle(path, b"\x80\x02}q\x00X\x01\x00\x00\x00a\x93\x94\x95.")
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    assert "is corrupt" in str(info.value) and "run code" not in str(info.value)
