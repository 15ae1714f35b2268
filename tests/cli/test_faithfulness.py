"""``mesa-report faithfulness``: the command reads its samples' maps from the results service."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import write_night
from mesa_report.data.store import NightStore
from mesa_report.explain.faithfulness import collect_samples, stored_maps


def test_the_command_reads_the_maps_of_its_samples_from_the_results_service(tiny_model, tmp_path, capsys):
    from mesa_report.cli.main import main
    from mesa_report.inference import cohort
    from mesa_report.inference.cohort import infer_night
    from mesa_report.model.checkpoint import save_checkpoint

    rng = np.random.default_rng(1)
    for mesaid in (1, 2):
        write_night(tmp_path, mesaid, rng.standard_normal((4, 40 * 3840)).astype(np.float32),
                    np.zeros(40, dtype=np.int64))
    write_index(tmp_path, [{"mesaid": m, "sleep_stages": "0" * 40} for m in (1, 2)])
    checkpoint = save_checkpoint(tmp_path / "tiny.pth", tiny_model)
    store = NightStore(tmp_path)
    samples = collect_samples(store, [1, 2], seq_len=20, num_channels=3, per_night=2)
    results = {m: infer_night(tiny_model, store.night(m)) for m in (1, 2)}
    with torch.inference_mode():
        own = tiny_model(samples.features, return_attention=True).attention
    stored = stored_maps(samples, results)
    np.testing.assert_allclose(stored.epoch.numpy(), own.epoch.numpy(), atol=2e-3)  # float16 on disk
    np.testing.assert_allclose(stored.temporal.numpy(), own.temporal.numpy(), atol=2e-3)

    passes = []
    real = cohort.infer_night
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MESA_REPORT_CACHE_DIR", str(tmp_path / "cache"))  # nothing inferred there yet
        patch.setattr(cohort, "infer_night", lambda m, night, **k: passes.append(night.mesaid) or real(m, night, **k))
        for _ in range(2):  # the second run reads both nights from the cache
            assert main(["faithfulness", "--checkpoint_path", str(checkpoint), "--preprocessed_dir",
                         str(tmp_path), "--method", "attention", "--samples_per_night", "2"]) == 0
    assert passes == [1, 2] and "| attention |" in capsys.readouterr().out
