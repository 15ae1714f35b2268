"""Shared fixtures: a private cache folder, tiny real models, the real-data folder, and a fixed seed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

from mesa_report.core.settings import CACHE_ENV
from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer

from .helpers import REALDATA, TINY, randomise_batchnorm

# Property-based tests: 60 examples each in the normal suite, 5,000 with HYPOTHESIS_PROFILE=long.
settings.register_profile("default", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.register_profile("long", max_examples=5000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))



@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory) -> Path:
    """Every test (and every process a test starts) caches into a temporary folder, never the user's.

    The folder lives for the whole session, so the demo cohort is built once per run.
    """
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(folder))
        yield folder


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
