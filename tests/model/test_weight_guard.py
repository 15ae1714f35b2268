"""Checkpoint weights checked before the model is built (mesa_report.model.weight_guard)."""

from __future__ import annotations

import re

import pytest
import torch

from mesa_report.model.checkpoint import load_model, save_checkpoint
from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer

from ..helpers import TINY
from ..hostile_common import refusal_under_limit


def _tiny_checkpoint(tmp_path, edit) -> tuple:
    torch.manual_seed(2)
    model = MesaTransformer(ModelConfig(**TINY)).eval()
    path = save_checkpoint(tmp_path / "best_model.pth", model)
    payload = torch.load(path, weights_only=True)
    edit(payload)
    torch.save(payload, path)
    return path, model


def _set_weight(name, value):
    return lambda payload: payload["model_state_dict"].__setitem__(name, value(payload["model_state_dict"][name]))


@pytest.mark.parametrize("edit, message", [
    (_set_weight("classifier.3.weight", lambda w: torch.empty(w.shape, device="meta")),
     r"weight classifier\.3\.weight of shape \(6, 64\) has no data"),
    (_set_weight("classifier.0.weight", lambda w: w[:1, :1].expand(10**6, 10**6)),
     r"weight classifier\.0\.weight declares shape \(1000000, 1000000\)"),
    (_set_weight("classifier.0.weight",
                 lambda w: torch.sparse_coo_tensor(torch.zeros(2, 0, dtype=torch.long),
                                                   torch.zeros(0), (10**6, 10**6), check_invariants=True)),
     "sparse weight classifier.0.weight"),
    (lambda payload: payload["config"].update(d_model=10**6, dim_feedforward=10**6),
     r"its config says d_model=1000000 but its weights have d_model=32"),
    (_set_weight("classifier.0.weight", lambda w: w * 1e38),
     r"weight classifier\.0\.weight holds values up to .*e\+3\d"),
])
def test_checkpoints_declaring_huge_or_odd_weights_are_refused_before_the_model_is_built(
        tmp_path, edit, message):
    path, _ = _tiny_checkpoint(tmp_path, edit)
    said = refusal_under_limit("from mesa_report.model.checkpoint import load_model",
                               "load_model(sys.argv[1], None, None, None, None)", "CheckpointError", path, 512 << 20)
    assert re.search(message, said), said


def test_small_sparse_and_bfloat16_weights_load_exactly(tmp_path):
    def edit(payload):
        state = payload["model_state_dict"]
        state["classifier.3.weight"] = state["classifier.3.weight"].to_sparse()
        state["classifier.0.weight"] = state["classifier.0.weight"].to(torch.bfloat16)
    path, model = _tiny_checkpoint(tmp_path, edit)
    loaded = load_model(path, None, None, None, None)
    torch.testing.assert_close(loaded.state_dict()["classifier.3.weight"],
                               model.state_dict()["classifier.3.weight"], rtol=0, atol=0)
    torch.testing.assert_close(loaded.state_dict()["classifier.0.weight"],
                               model.state_dict()["classifier.0.weight"].to(torch.bfloat16).float())
