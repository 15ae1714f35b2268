"""Checkpoints: the seed's files as they are, mesa-report's own, bare state dicts, and bad files."""

from __future__ import annotations

import os
import pickle
import warnings

import numpy as np
import pytest
import torch

from mesa_report.core.errors import CheckpointError, ConfigError
from mesa_report.model import checkpoint as ck
from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer

from ..helpers import TINY, randomise_batchnorm, seed_style_checkpoint

SEED_HEADS_TINY = dict(TINY, temporal_heads=8, channel_heads=4, epoch_heads=8)


@pytest.fixture
def seed_model():
    torch.manual_seed(4)
    return randomise_batchnorm(MesaTransformer(ModelConfig(**SEED_HEADS_TINY))).eval()


def _same_predictions(a: MesaTransformer, b: MesaTransformer) -> None:
    x = torch.randn(1, a.config.seq_len, 3, 3840)
    with torch.no_grad():
        torch.testing.assert_close(a(x).logits, b(x).logits)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_seed_checkpoint_with_numpy_metrics_loads_under_weights_only(tmp_path, seed_model):
    path = tmp_path / "best_model.pth"
    seed_style_checkpoint(path, seed_model)
    with pytest.raises(pickle.UnpicklingError):  # what plain weights_only loading says
        torch.load(path, weights_only=True)
    model = ck.load_model(path)
    assert model.config.d_model == 32 and model.config.cnn_channels == (8, 16)
    assert (model.config.temporal_heads, model.config.channel_heads, model.config.epoch_heads) == (8, 4, 8)
    assert model.config.class_names == ("W", "N1", "N2", "N3", "N4", "REM")
    assert not model.training
    _same_predictions(model, seed_model)
    summary = ck.checkpoint_summary(path)
    assert summary["epoch"] == 12 and summary["metrics"]["kappa"] == pytest.approx(0.74)


def test_save_and_load_round_trip_keeps_config_names_and_outputs(tmp_path, tiny_model):
    cfg = ModelConfig.from_dict({**tiny_model.config.to_dict(), "channel_names": ["C3", "C4", "O1"]})
    model = MesaTransformer(cfg)
    model.load_state_dict(tiny_model.state_dict())
    model.eval()
    path = ck.save_checkpoint(tmp_path / "sub" / "m.pth", model, epoch=3,
                              history=[{"epoch": 1, "val_kappa": np.float64(0.5)}],
                              metrics={"kappa": np.float64(0.6), "macro_f1": 0.55})
    loaded = ck.load_model(path)
    assert loaded.config == cfg
    _same_predictions(loaded, model)
    raw = torch.load(path, weights_only=True)  # plain types only
    assert raw["format"] == ck.FORMAT_TAG and raw["history"][0]["val_kappa"] == 0.5
    assert "model_state_dict" in raw  # the seed's loader reads the same key
    assert not list(tmp_path.glob("sub/*.part"))


@pytest.mark.parametrize("layout", ["bare", "state_dict", "module_prefix"])
def test_bare_and_wrapped_state_dicts_load(tmp_path, seed_model, layout):
    state = seed_model.state_dict()
    payload = {
        "bare": state,
        "state_dict": {"state_dict": state},
        "module_prefix": {f"module.{k}": v for k, v in state.items()},
    }[layout]
    torch.save(payload, tmp_path / "w.pth")
    _same_predictions(ck.load_model(tmp_path / "w.pth"), seed_model)


def test_arguments_that_disagree_name_the_parameter_and_both_values(tmp_path, seed_model):
    torch.save(seed_model.state_dict(), tmp_path / "w.pth")
    with pytest.raises(ConfigError, match=r"num_classes=5.*num_classes=6"):
        ck.load_model(tmp_path / "w.pth", num_classes=5)
    with pytest.raises(ConfigError, match=r"seq_len=30.*seq_len=20"):
        ck.load_model(tmp_path / "w.pth", seq_len=30)
    assert ck.load_model(tmp_path / "w.pth", num_classes=None).config.num_classes == 6


def test_head_counts_can_be_overridden_and_wrong_heads_still_load_with_those_heads(tmp_path, tiny_model):
    torch.save(tiny_model.state_dict(), tmp_path / "w.pth")  # trained with 4/2/4 heads
    model = ck.load_model(tmp_path / "w.pth", temporal_heads=4, channel_heads=2, epoch_heads=4)
    _same_predictions(model, tiny_model)


def test_missing_file_and_non_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        ck.load_model(tmp_path / "nope.pth")
    (tmp_path / "notes.pth").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="notes.pth"):
        ck.load_model(tmp_path / "notes.pth")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match="list"):
        ck.load_model(tmp_path / "list.pth")


def test_truncated_checkpoint(tmp_path, tiny_model):
    path = ck.save_checkpoint(tmp_path / "m.pth", tiny_model)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="m.pth"):
        ck.load_model(path)


def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path, tiny_model):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"model_state_dict": tiny_model.state_dict(), "payload": _RunsCode(marker)}, path)
    with pytest.raises(CheckpointError, match=r"refused.*evil\.pth") as info:
        ck.load_model(path)
    assert "system" in str(info.value)
    assert not marker.exists()


def test_missing_and_unexpected_keys_are_listed(tmp_path, seed_model):
    state = dict(seed_model.state_dict())
    state.pop("classifier.3.bias")
    state["extra.weight"] = torch.zeros(2)
    torch.save(state, tmp_path / "w.pth")
    with pytest.raises(CheckpointError, match=r"1 missing \(e\.g\. classifier\.3\.bias\).*1 unexpected"):
        ck.load_model(tmp_path / "w.pth")
    torch.save({"model_state_dict": {"foo": torch.zeros(1)}}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="not a MESA Transformer checkpoint"):
        ck.load_model(tmp_path / "other.pth")


def test_nan_weights_are_refused(tmp_path, seed_model):
    state = dict(seed_model.state_dict())
    state["classifier.0.weight"] = state["classifier.0.weight"].clone()
    state["classifier.0.weight"][0, 0] = float("nan")
    torch.save(state, tmp_path / "w.pth")
    with pytest.raises(CheckpointError, match="NaN"):
        ck.load_model(tmp_path / "w.pth")


def test_cuda_without_cuda_falls_back_to_cpu_with_a_warning(tmp_path, tiny_model):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    path = ck.save_checkpoint(tmp_path / "m.pth", tiny_model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = ck.load_model(path, device="cuda")
    assert next(model.parameters()).device.type == "cpu"
    assert any("CUDA is not available" in str(w.message) for w in caught)
    with pytest.raises(ConfigError, match="unknown device"):
        ck.load_model(path, device="gpu-please")
