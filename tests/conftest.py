"""Shared fixtures: a private cache folder, tiny real models, the real-data folder, and a fixed seed."""

from __future__ import annotations

from pathlib import Path

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

from mesa_report.core.settings import CACHE_ENV
from mesa_report.model.network import MesaTransformer
from mesa_report.model.config import ModelConfig

# Property-based tests: 60 examples each in the normal suite, 5,000 with HYPOTHESIS_PROFILE=long.
settings.register_profile("default", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.register_profile("long", max_examples=5000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REPO_ROOT = Path(__file__).resolve().parents[1]
REALDATA = REPO_ROOT.parent / "shared" / "realdata"

TINY = dict(d_model=32, dim_feedforward=64, classifier_hidden=64, cnn_channels=(8, 16),
            temporal_heads=4, channel_heads=2, epoch_heads=4)
"""Sizes of the small real model used in unit tests (the seed's architecture, narrower)."""


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory) -> Path:
    """Every test (and every process a test starts) caches into a temporary folder, never the user's.

    The folder lives for the whole session, so the demo cohort is built once per run.
    """
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(folder))
        yield folder


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


@pytest.fixture
def tiny_config() -> ModelConfig:
    return ModelConfig(**TINY)


@pytest.fixture
def tiny_model(tiny_config) -> MesaTransformer:
    torch.manual_seed(0)
    return randomise_batchnorm(MesaTransformer(tiny_config)).eval()


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"real reference files not found at {REALDATA}")
    return REALDATA
