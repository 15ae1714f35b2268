"""Night files (mesa_report.data.night_files): tensor and sidecar written, bad files refused with their name."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mesa_report.core.errors import DataError
from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import write_night
from mesa_report.data.night_ids import night_filename
from mesa_report.data.store import NightStore

from .store_common import E


def test_write_night_writes_tensor_and_sidecar(tmp_path):
    signal = np.random.default_rng(0).normal(size=(4, 3 * E + 7)).astype(np.float64)
    path = write_night(tmp_path, 12, signal, np.array([0, -1, 5]),
                       {"start_clock": "22:00:00", "channel_names": ["A", "B", "C", "D"]})
    assert path == tmp_path / "mesa-sleep-0012_preprocessed.pt"
    tensor = torch.load(path, weights_only=True)
    assert tensor.dtype == torch.float32 and tuple(tensor.shape) == (4, 3 * E + 7)
    np.testing.assert_allclose(tensor.numpy(), signal, rtol=1e-6)
    meta = json.loads((tmp_path / "mesa-sleep-0012_preprocessed.json").read_text())
    assert meta["n_epochs"] == 3 and meta["sfreq_hz"] == 128.0
    assert meta["sleep_stages"] == "095"
    assert meta["label_counts"]["?"] == 1 and meta["label_counts"]["REM"] == 1
    assert meta["channel_names"] == ["A", "B", "C", "D"] and meta["start_clock"] == "22:00:00"


@pytest.mark.parametrize("signal, message", [
    (np.zeros(3 * E, np.float32), "2-D float"),
    (np.zeros((4, E), np.int16), "2-D float"),
    (np.zeros((2, E), np.float32), "at least 3"),
])
def test_write_night_refuses_bad_signals_and_writes_nothing(tmp_path, signal, message):
    with pytest.raises(DataError, match=message):
        write_night(tmp_path, 1, signal, np.zeros(1))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content, message", [
    ({"signal": torch.zeros(4, E)}, "holds a dict"),
    (torch.zeros(4, E, dtype=torch.int64), "dtype torch.int64"),
    (torch.zeros(4 * E), r"shape \(15360,\)"),
    (b"not a tensor file", "cannot be read"),
])
def test_bad_pt_files_are_refused_with_their_name(tmp_path, content, message):
    path = tmp_path / night_filename(1)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "0"}])
    night = NightStore(tmp_path).night(1)
    with pytest.raises(DataError, match=message) as info:
        night.n_epochs
    assert "mesa-sleep-0001_preprocessed.pt" in str(info.value)


def test_pickled_objects_are_refused(tmp_path):
    torch.save(np.zeros((4, E)), tmp_path / night_filename(1))
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "0"}])
    with pytest.raises(DataError, match="cannot be read"):
        NightStore(tmp_path).night(1).signal


def test_legacy_torch_format_still_opens(tmp_path):
    tensor = torch.randn(4, 2 * E)
    torch.save(tensor, tmp_path / night_filename(1), _use_new_zipfile_serialization=False)
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "01"}])
    night = NightStore(tmp_path).night(1)
    np.testing.assert_array_equal(night.epochs(1, 2)[0], tensor[:3, E:].numpy())
