"""What the tests of visualize share: fixtures and helpers."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer

CHANNELS = ["EEG1", "EEG2", "EEG3"]


EPOCH_SAMPLES = 3840


TINY = dict(d_model=32, dim_feedforward=64, cnn_channels=(8, 16), classifier_hidden=32)  # seed heads 8/4/8


def seed_file_names(idx: int, epochs: list[int], n_channels: int, suffix: str = "png") -> set[str]:
    names = {f"attention_dashboard_sample_{idx}", f"epoch_attention_sample_{idx}",
             f"inter_epoch_attention_sample_{idx}",
             f"temporal_attention_first_{len(epochs)}_epochs_sample_{idx}",
             f"channel_attention_first_{len(epochs)}_epochs_sample_{idx}"}
    for e in epochs:
        names.add(f"channel_attention_sample_{idx}_epoch_{e}")
        names |= {f"temporal_attention_sample_{idx}_epoch_{e}_ch_{c}" for c in range(n_channels)}
    return {f"{n}.{suffix}" for n in names}


@pytest.fixture(scope="session")
def model() -> MesaTransformer:
    torch.manual_seed(0)
    return MesaTransformer(ModelConfig(**TINY)).eval()


SEED_STAGES = "23" + "9" + "01223345550122334555"  # 23 epochs; "9" (unscored) at epoch 2


def write_seed_store(folder: Path, csv_path: Path) -> None:
    """A store exactly as the seed's users hold it: a bare torch.save'd (4, T) tensor and a CSV.

    One night of 23 epochs and a partial one the loader drops; epoch 2 is unscored, so with
    seq_len 20 only the window of epochs 3-22 survives the loader's ``filter_unscored``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    signal = rng.normal(size=(4, len(SEED_STAGES) * EPOCH_SAMPLES + 100)).astype(np.float32)  # (4, T)
    torch.save(torch.from_numpy(signal), folder / "mesa-sleep-0001_preprocessed.pt")
    pd.DataFrame({"mesaid": [1], "sleep_stages": [SEED_STAGES]}).to_csv(csv_path, index=False)


def write_seed_checkpoint(path: Path, model: MesaTransformer) -> None:
    """A checkpoint as the seed's training wrote it: no config, only weights and bookkeeping."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": 3, "model_state_dict": model.state_dict(), "best_val_acc": 0.5,
                "class_names": ["W", "N1", "N2", "N3", "N4", "REM"]}, path)


def sample_numbers(folder: Path, suffix: str = "svg") -> set[int]:
    return {int(m) for m in re.findall(rf"epoch_attention_sample_(\d+)\.{suffix}", " ".join(os.listdir(folder)))}
