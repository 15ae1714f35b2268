"""What the tests of batch share: fixtures and helpers."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import torch

from mesa_report.demo import demo_store
from mesa_report.model.checkpoint import save_checkpoint
from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer

from .helpers import TINY, randomise_batchnorm

SUMMARY_LINE = re.compile(r"(\d+) night\(s\): (\d+) computed, (\d+) from the cache")


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """Three 30-minute demo nights, built through the real pipeline (about 15 s)."""
    return demo_store(tmp_path_factory.mktemp("demo-cache"), n_nights=3, hours=0.5)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = randomise_batchnorm(MesaTransformer(ModelConfig(**TINY))).eval()
    return save_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth", model)


def args(demo, checkpoint, out, cache, *extra):
    return ["batch", "--checkpoint_path", str(checkpoint), "--preprocessed_dir", str(demo.preprocessed_dir),
            "--all", "--output_dir", str(out), "--cache_dir", str(cache), "--quiet", *extra]


def summary(text: str) -> tuple[int, int, int]:
    match = SUMMARY_LINE.search(text)
    assert match, text
    return tuple(int(v) for v in match.groups())


def table(out) -> pd.DataFrame:
    return pd.read_csv(out / "cohort.csv")
