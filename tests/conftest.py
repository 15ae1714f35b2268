"""Shared fixtures: tiny real models, the real-data folder, and the property tests' profiles.

The private cache folder every test gets is the repository's ``conftest.py``.
"""

from __future__ import annotations

import functools
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


@pytest.fixture(scope="session", autouse=True)
def installed_components_scanned_once():
    """Each new AppTest scans every installed distribution for Streamlit components (0.3 s here);
    a server does it once at its start. The packages do not change during a run: scan them once."""
    try:
        from streamlit.components.v2 import manifest_scanner
    except ImportError:  # another Streamlit: nothing to spare
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests",
                      functools.cache(manifest_scanner.scan_component_manifests))
        yield


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
