"""Night inference: samples tile the night, predictions and attention match the model's own."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.data.night_files import write_night
from mesa_report.data.store import Night
from mesa_report.inference.cohort import infer_night
from mesa_report.inference.night import NightInference, sample_starts


@pytest.fixture
def night(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 6, 47)
    labels[5] = -1
    path = write_night(tmp_path, 7, rng.standard_normal((4, 47 * 3840)).astype(np.float32), labels)
    return Night(path, 7, "".join("9" if v < 0 else str(v) for v in labels))


def test_samples_tile_the_night():
    assert sample_starts(20, 20).tolist() == [0]
    assert sample_starts(47, 20).tolist() == [0, 20, 27]
    with pytest.raises(DataError, match="fewer than one sample"):
        sample_starts(19, 20)


def test_predictions_and_attention_equal_the_models_own(tiny_model, night):
    calls = []
    result = infer_night(tiny_model, night, batch_size=2, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (3, 3)
    assert result.probs.shape == (47, 6) and result.labels[5] == -1
    np.testing.assert_allclose(result.probs.sum(1), 1.0, atol=1e-5)
    view = result.sample(2, night)
    assert view.first_epoch == 27 and view.features.shape == (20, 3, 3840)
    with torch.no_grad():
        out = tiny_model(torch.from_numpy(view.features[None]), return_attention=True)
    np.testing.assert_allclose(view.probs, out.probs[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(view.attention.epoch.numpy(), out.attention.epoch.numpy(), atol=2e-3)
    # epochs 20-39 come from sample 1 (the first holding them), 40-46 from sample 2
    np.testing.assert_allclose(result.probs[27:40], result.sample_probs[1][7:], atol=0)
    np.testing.assert_allclose(result.probs[40:], result.sample_probs[2][13:], atol=0)
    assert result.sample_of_epoch(45) == 2 and result.sample_of_epoch(27) == 1


def test_save_and_load_round_trip_without_pickle(tiny_model, night, tmp_path):
    result = infer_night(tiny_model, night)
    loaded = NightInference.load(result.save(tmp_path / "r.npz"))
    np.testing.assert_array_equal(loaded.temporal, result.temporal)
    assert loaded.class_names == result.class_names and loaded.mesaid == 7
    np.testing.assert_array_equal(loaded.token_times.edges_s, result.token_times.edges_s)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="damaged"):
        NightInference.load(tmp_path / "bad.npz")


def test_a_night_that_does_not_fit_the_model(tiny_model, tmp_path):
    path = write_night(tmp_path, 8, np.zeros((4, 10 * 3840), np.float32), np.zeros(10, dtype=np.int64))
    with pytest.raises(DataError, match="fewer than one sample"):
        infer_night(tiny_model, Night(path, 8, "0" * 10))
    path = tmp_path / "mesa-sleep-0009_preprocessed.pt"  # a 2-channel file, as another tool might write
    torch.save(torch.zeros(2, 30 * 3840), path)
    with pytest.raises(ConfigError, match="2 channels"):
        infer_night(tiny_model, Night(path, 9, "0" * 30))
