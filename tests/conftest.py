"""Shared fixtures: tiny real models, the real-data folder, and the property tests' profiles.

The private cache folder every test gets is the repository's ``conftest.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer

from .helpers import REALDATA, TINY, randomise_batchnorm

# Property-based tests: 60 examples each in the normal suite, 5,000 with HYPOTHESIS_PROFILE=long.
settings.register_profile("default", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.register_profile("long", max_examples=5000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))



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
