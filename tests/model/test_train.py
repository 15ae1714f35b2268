"""Training (mesa_report.model.train): a short real run lowers the loss and writes a checkpoint load_model reads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mesa_report.cli.main import main
from mesa_report.core.errors import DataError
from mesa_report.model.checkpoint import load_model
from mesa_report.model.train import TrainOptions, class_weights, focal_loss, train

from ..helpers import TINY, learnable_store


def test_a_short_run_lowers_the_loss_and_writes_a_loadable_checkpoint(tmp_path):
    store = learnable_store(tmp_path / "store")
    options = TrainOptions(preprocessed_dir=store, num_epochs=4, batch_size=4, learning_rate=2e-3,
                           stride=5, checkpoint_dir=tmp_path / "ck", model=dict(TINY), progress=False,
                           train_split=0.34, val_split=0.33)
    result = train(options)
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < losses[0]
    assert set(result.splits["train"]).isdisjoint(result.splits["val"])  # split by night
    model = load_model(result.best_checkpoint)
    assert model.config.d_model == TINY["d_model"] and not model.training
    assert (tmp_path / "ck" / "last_model.pth").exists()
    assert result.test_metrics is not None and 0.0 <= result.test_metrics["accuracy"] <= 1.0


def test_a_single_night_store_says_what_a_split_needs(tmp_path, capsys):
    store = learnable_store(tmp_path / "store", n_nights=1)
    with pytest.raises(DataError, match="at least 2"):
        train(TrainOptions(preprocessed_dir=store, model=dict(TINY), progress=False))
    assert main(["train", "--preprocessed_dir", str(store), "--quiet"]) == 2
    assert "at least 2" in capsys.readouterr().err


def test_class_weights_and_focal_loss():
    weights = class_weights(np.array([0] * 9 + [1] + [-1] * 5), 2)
    assert weights[1] / weights[0] == pytest.approx(3.0)  # sqrt(9 / 1)
    with pytest.raises(DataError, match="no scored epoch"):
        class_weights(np.array([-1, -1]), 6)
    logits = torch.tensor([[[4.0, 0.0], [0.0, 4.0]]])
    good = focal_loss(logits, torch.tensor([[0, 1]]), torch.ones(2), 2.0)
    bad = focal_loss(logits, torch.tensor([[1, 0]]), torch.ones(2), 2.0)
    assert 0 <= good < bad
    ignored = focal_loss(logits, torch.tensor([[-1, -1]]), torch.ones(2), 2.0)
    assert float(ignored) == 0.0
