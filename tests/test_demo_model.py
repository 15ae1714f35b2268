"""The committed demo checkpoint: it loads, and meets the quality bar on nights it never saw."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.checkpoint import checkpoint_summary, load_model
from mesa_report.demo import DEMO_CHECKPOINT
from mesa_report.demo.evaluate import evaluate_on_fresh_nights

pytestmark = pytest.mark.skipif(not DEMO_CHECKPOINT.is_file(), reason="demo checkpoint not built yet")


def test_the_demo_checkpoint_loads_small_with_its_names():
    model = load_model(DEMO_CHECKPOINT)
    assert model.config.class_names == ("W", "N1", "N2", "N3", "N4", "REM")
    assert model.config.channel_names[:3] == ("EEG1", "EEG2", "EEG3")
    assert DEMO_CHECKPOINT.stat().st_size < 5e6
    summary = checkpoint_summary(DEMO_CHECKPOINT)
    assert "reproduce" in summary["training"]


@pytest.mark.slow
def test_the_demo_checkpoint_meets_the_quality_bar_on_fresh_nights():
    metrics = evaluate_on_fresh_nights(DEMO_CHECKPOINT, n_nights=2, hours=2.0, seed=424242)
    assert metrics.accuracy >= 0.85
    assert metrics.kappa >= 0.80
    f1 = dict(zip(metrics.class_names, metrics.per_stage_f1))
    present = [name for name, n in zip(metrics.class_names, metrics.support) if n > 0]
    assert len(present) == 6, f"every stage should occur in two fresh nights: {dict(zip(metrics.class_names, metrics.support))}"
    assert all(f1[name] >= 0.6 for name in present), f1
    assert np.isfinite(metrics.macro_f1)
