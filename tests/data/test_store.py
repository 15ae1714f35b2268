"""The store (mesa_report.data.store): the seed's folder opens as it is, nights memory-mapped, sidecars checked."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import write_night
from mesa_report.data.night_ids import night_filename
from mesa_report.data.store import Night, NightStore

from .store_common import E


def seed_night(folder: Path, mesaid: int, n_epochs: int, channels: int = 4,
               extra_samples: int = 100) -> torch.Tensor:
    """A night as the seed's project wrote it: a bare torch.save of (channels, T), no sidecar."""
    generator = torch.Generator().manual_seed(mesaid)
    tensor = torch.randn(channels, n_epochs * E + extra_samples, generator=generator)
    torch.save(tensor, folder / night_filename(mesaid))
    return tensor


def test_seed_store_opens_as_it_is(tmp_path):
    tensors = {m: seed_night(tmp_path, m, n, channels=c)
               for m, n, c in [(1, 6, 4), (2, 4, 3)]}
    pd.DataFrame({"mesaid": [2, 1, 9], "sleep_stages": ["01", "00112233445566", "0"]}).to_csv(
        tmp_path / "mesa_final.csv", index=False)
    store = NightStore(tmp_path)
    assert store.mesaids == [2, 1] and store.missing == [9] and len(store) == 2
    assert [night.mesaid for night in store] == [2, 1]
    one, two = store.night("mesa-sleep-0001"), store.night(2)
    assert one.n_epochs == 6 and two.n_epochs == 4
    assert one.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert two.labels.tolist() == [0, 1, -1, -1]
    assert one.channel_names == ["EEG1", "EEG2", "EEG3", "Thor"]
    assert two.channel_names == ["EEG1", "EEG2", "EEG3"]
    assert one.meta["sfreq_hz"] == 128.0 and one.meta["start_clock"] is None
    cut = one.epochs(2, 5)
    assert cut.shape == (3, 3, E) and cut.dtype == np.float32
    expected = tensors[1][:3, 2 * E:5 * E].reshape(3, 3, E).permute(1, 0, 2).numpy()
    np.testing.assert_array_equal(cut, expected)
    assert one.epochs(0, 1, channels=4).shape == (1, 4, E)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_nights_are_memory_mapped_not_loaded(tmp_path):
    seed_night(tmp_path, 1, 3)
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "000"}])
    night = NightStore(tmp_path).night(1)
    pointer = night.signal.data_ptr()
    mapped = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        span, *rest = line.split()
        low, high = (int(x, 16) for x in span.split("-"))
        if low <= pointer < high:
            mapped.append(rest[-1])
    assert mapped == [str(night.path.resolve())]


def test_store_finds_a_relative_csv_inside_the_folder(tmp_path, monkeypatch):
    seed_night(tmp_path, 1, 2)
    write_index(tmp_path / "cohort.csv", [{"mesaid": 1, "sleep_stages": "00"}])
    monkeypatch.chdir(tmp_path.parent)
    assert NightStore(tmp_path, "cohort.csv").mesaids == [1]


def test_store_errors_name_the_problem(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        NightStore(tmp_path / "nowhere")
    with pytest.raises(DataError, match="mesa_final.csv"):
        NightStore(tmp_path)
    seed_night(tmp_path, 1, 2)
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "00"}, {"mesaid": 2}])
    store = NightStore(tmp_path)
    with pytest.raises(DataError, match="mesa-sleep-0005 is not in"):
        store.night(5)
    with pytest.raises(DataError, match="does not exist"):
        store.night(2)
    with pytest.raises(DataError, match="outside the night"):
        store.night(1).epochs(1, 3)
    with pytest.raises(DataError, match="5 channels asked"):
        store.night(1).epochs(0, 1, channels=5)


def test_sidecar_overrides_defaults_and_bad_sidecar_is_reported(tmp_path):
    write_night(tmp_path, 1, np.zeros((4, 2 * E), np.float32), np.array([0, 1]),
                {"channel_names": ["Fz-Cz", "Cz-Oz", "C4-M1", "Thor"], "start_clock": "21:30:00"})
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "01"}])
    night = NightStore(tmp_path).night(1)
    assert night.channel_names == ["Fz-Cz", "Cz-Oz", "C4-M1", "Thor"]
    assert night.meta["start_clock"] == "21:30:00" and night.meta["label_counts"]["N1"] == 1
    (tmp_path / "mesa-sleep-0001_preprocessed.json").write_text("{broken")
    with pytest.raises(DataError, match=r"sidecar .*mesa-sleep-0001_preprocessed\.json"):
        NightStore(tmp_path).night(1)


def test_sidecar_rate_must_agree_with_the_asked_rate(tmp_path):
    write_night(tmp_path, 1, np.zeros((4, 2 * E), np.float32), np.array([0, 1]))
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "01"}])
    with pytest.raises(ConfigError, match="128.0 Hz"):
        NightStore(tmp_path, sfreq_hz=100.0).night(1)


def test_pickled_night_does_not_carry_its_signal(tmp_path):
    seed_night(tmp_path, 1, 40)
    night = Night(tmp_path / night_filename(1), 1, "0" * 40)
    assert night.n_epochs == 40
    blob = pickle.dumps(night)
    assert len(blob) < 10_000
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.epochs(3, 4), night.epochs(3, 4))
