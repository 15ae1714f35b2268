"""Plain names the tests share: where the repository and the real data are, the tiny model's sizes, and small
writers of seed-style files. Fixtures live in ``conftest.py``; this module holds only what tests import."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import write_night
from mesa_report.data.store import Night
from mesa_report.model.network import MesaTransformer

REPO_ROOT = Path(__file__).resolve().parents[1]
REALDATA = REPO_ROOT.parent / "shared" / "realdata"

TINY = dict(d_model=32, dim_feedforward=64, classifier_hidden=64, cnn_channels=(8, 16),
            temporal_heads=4, channel_heads=2, epoch_heads=4)
"""Sizes of the small real model used in unit tests (the seed's architecture, narrower)."""

def randomise_batchnorm(model: MesaTransformer, seed: int = 0) -> MesaTransformer:
    """Give every BatchNorm non-trivial running statistics and affine weights (as after training)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for cnn in model.channel_cnns:
            for bn in (cnn.bn1, cnn.bn2):
                n = bn.num_features
                bn.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                bn.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                bn.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                bn.bias.copy_(torch.rand(n, generator=gen) - 0.5)
    return model


def seed_style_checkpoint(path, model: MesaTransformer, **save_options) -> None:
    """A file laid out like the seed's training script writes it, numpy metrics included.

    ``save_options`` go to ``torch.save`` (e.g. a ``pickle_module`` that names numpy 1.x modules).
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    metrics = {
        "accuracy": np.float64(0.81), "macro_f1": np.float64(0.7), "kappa": np.float64(0.74),
        "n_samples": np.int64(1234),
        "confusion_matrix": np.arange(36, dtype=np.int64).reshape(6, 6),
        "per_class_f1": np.linspace(0.5, 0.9, 6),
    }
    torch.save({
        "epoch": 12, "model_state_dict": model.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(), "scheduler_state_dict": scheduler.state_dict(),
        "best_val_acc": 0.7, "train_acc": 0.85, "val_acc": 0.8,
        "test_metrics": metrics, "val_metrics": dict(metrics),
        "class_names": ["W", "N1", "N2", "N3", "N4", "REM"],
    }, path, **save_options)


def learnable_store(folder, n_nights=3, n_epochs=40, seed=0):
    """Nights whose stage is written in the signal: a sine whose frequency is the stage's."""
    rng = np.random.default_rng(seed)
    t = np.arange(3840) / 128.0
    rows = []
    for mesaid in range(1, n_nights + 1):
        labels = np.repeat(rng.integers(0, 6, n_epochs // 5), 5)
        signal = np.stack([np.sin(2 * np.pi * (1 + 2 * s) * t) for s in labels], axis=0)  # (E, T)
        signal = np.tile(signal.reshape(1, -1), (4, 1)) + 0.1 * rng.standard_normal((4, n_epochs * 3840))
        write_night(folder, mesaid, signal.astype(np.float32), labels)
        rows.append({"mesaid": mesaid, "sleep_stages": "".join(map(str, labels)), "n_epochs": n_epochs})
    write_index(folder, rows)
    return folder


def noise_night(folder, mesaid: int, labels) -> Night:
    """A stored night of white noise (4 rows: 3 EEG + Thor) with the given stages, one per epoch."""
    labels = np.asarray(labels)
    signal = np.random.default_rng(mesaid).standard_normal((4, labels.size * 3840)).astype(np.float32)
    return Night(write_night(folder, mesaid, signal, labels), mesaid, "".join(map(str, labels)))


def drawn_forms(page) -> list:
    """The form XObjects a PDF page's content draws (``Do``): the charts laid onto it (a pikepdf page)."""
    import pikepdf

    xobjects = page.resources.get("/XObject", {})
    return [xobjects[str(operands[0])] for operands, operator in pikepdf.parse_content_stream(page)
            if str(operator) == "Do" and xobjects[str(operands[0])].get("/Subtype") == "/Form"]
