"""The Ray engine (mesa_report.pipeline.ray_engine) gives the same table as the local pool."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mesa_report.cli.main import main

from ..batch_common import args, summary, table


@pytest.mark.slow
def test_local_and_ray_engines_give_the_same_table(demo, tiny_checkpoint, tmp_path, capsys):
    ray = pytest.importorskip("ray")
    assert main(args(demo, tiny_checkpoint, tmp_path / "local", tmp_path / "cache-local")) == 0
    assert summary(capsys.readouterr().out) == (3, 3, 0)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert main(args(demo, tiny_checkpoint, tmp_path / "ray", tmp_path / "cache-ray", "--engine", "ray")) == 0
    finally:
        ray.shutdown()
    assert summary(capsys.readouterr().out) == (3, 3, 0)
    local, distributed = table(tmp_path / "local"), table(tmp_path / "ray")
    pd.testing.assert_frame_equal(local, distributed, rtol=1e-4)
    assert local["record_id"].tolist() == ["mesa-sleep-0001", "mesa-sleep-0002", "mesa-sleep-0003"]
    assert (local["n_epochs"] == 60).all() and local["accuracy"].between(0, 1).all()
    relevance = local[["relevance_EEG1", "relevance_EEG2", "relevance_EEG3"]].sum(axis=1)
    np.testing.assert_allclose(relevance, 1.0, atol=1e-3)
    shares = local[["share_past", "share_self", "share_future"]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0, atol=1e-3)
