"""Windows of the seed's loader, from a store written in the seed's format."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.core.vocabulary import EPOCH_SAMPLES
from mesa_report.data.dataset import MesaWindowDataset, create_mesa_dataloader, window_starts
from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import write_night
from mesa_report.data.night_ids import night_filename

E = EPOCH_SAMPLES


# (mesaid, epochs, sleep_stages): longer and shorter strings, separators, unscored digits, a night
# too short for a window, and an index row whose file is missing.
NIGHTS = [
    (11, 30, "0000111122223333444455552222000000000"),
    (4, 26, "0 1 2 2 2 9 2 2 3 3 3 3 3 3 3 3 4 4 4 4 5 5 5"),
    (7, 12, "000000000000"),
    (2, 28, "2222222222222222222222222622222"),
]


MISSING = 99


def write_seed_store(folder):
    """Nights exactly as the seed's project wrote them: bare tensors, a two-column CSV."""
    for mesaid, n_epochs, _ in NIGHTS:
        generator = torch.Generator().manual_seed(mesaid)
        tensor = torch.randn(4, n_epochs * E + 1234, generator=generator)
        torch.save(tensor, folder / night_filename(mesaid))
    rows = [(m, s) for m, _, s in NIGHTS] + [(MISSING, "000")]
    pd.DataFrame(rows, columns=["mesaid", "sleep_stages"]).to_csv(folder / "mesa_final.csv",
                                                                 index=False)
    return folder / "mesa_final.csv"


def seed_windows(folder, csv_path, seq_len, stride, filter_unscored):
    """The seed's loader semantics, written plainly: load the whole night for every window."""
    index = pd.read_csv(csv_path, dtype=str)
    windows = []
    for _, row in index.iterrows():
        path = folder / f"mesa-sleep-{int(row['mesaid']):04d}_preprocessed.pt"
        if not path.exists():
            continue
        n_epochs = torch.load(path, weights_only=True).shape[1] // E
        digits = [int(ch) for ch in row["sleep_stages"] if ch.isdigit()]
        labels = [d if d <= 5 else -1 for d in digits][:n_epochs]
        labels += [-1] * (n_epochs - len(labels))
        for start in range(0, n_epochs - seq_len + 1, stride):
            window_labels = labels[start:start + seq_len]
            if filter_unscored and -1 in window_labels:
                continue
            night = torch.load(path, weights_only=True)
            block = night[:3, start * E:(start + seq_len) * E]
            features = block.reshape(3, seq_len, E).permute(1, 0, 2)
            windows.append((features, torch.tensor(window_labels, dtype=torch.int64)))
    return windows


@pytest.fixture
def seed_store(tmp_path):
    return tmp_path, write_seed_store(tmp_path)


@pytest.mark.filterwarnings("ignore:.*shorter than seq_len")
@pytest.mark.parametrize("seq_len, stride, filter_unscored", [
    (20, 1, True), (5, 3, True), (20, 1, False), (1, 1, True)])
def test_loader_gives_the_seed_windows(seed_store, seq_len, stride, filter_unscored):
    folder, csv_path = seed_store
    expected = seed_windows(folder, csv_path, seq_len, stride, filter_unscored)
    with pytest.warns(UserWarning, match="mesa-sleep-0099"):
        loader = create_mesa_dataloader(folder, csv_path, seq_len=seq_len, batch_size=4,
                                        shuffle=False, stride=stride,
                                        filter_unscored=filter_unscored)
    batches = list(loader)
    features = torch.cat([f for f, _ in batches])
    labels = torch.cat([y for _, y in batches])
    assert len(features) == len(expected)
    assert features.dtype == torch.float32 and labels.dtype == torch.int64
    assert tuple(batches[0][0].shape[1:]) == (seq_len, 3, E)
    assert torch.equal(features, torch.stack([f for f, _ in expected]))
    assert torch.equal(labels, torch.stack([y for _, y in expected]))


def test_default_windows_count_and_provenance(seed_store):
    folder, csv_path = seed_store
    with pytest.warns(UserWarning):
        data = MesaWindowDataset(folder, csv_path)
    # night 11: 30 scored epochs -> 11 windows; night 4: epoch 5 is '9' and 23 labels pad 26
    # epochs -> none; night 7: too short; night 2: epoch 25 is '6' -> starts 0-5.
    per_night = {}
    for i in range(len(data)):
        mesaid, first = data.window_info(i)
        per_night.setdefault(mesaid, []).append(first)
    assert per_night == {11: list(range(11)), 2: list(range(6))}
    assert data.too_short == [7]
    features, labels = data[len(data) - 1]
    assert labels.tolist() == [2] * 20
    assert torch.equal(features, torch.load(folder / night_filename(2), weights_only=True)[
        :3, 5 * E:25 * E].reshape(3, 20, E).permute(1, 0, 2))


def test_shuffled_loader_holds_the_same_windows(seed_store):
    folder, csv_path = seed_store
    with pytest.warns(UserWarning):
        ordered = torch.cat([y for _, y in create_mesa_dataloader(
            folder, csv_path, seq_len=3, batch_size=8, shuffle=False)])
        shuffled = torch.cat([y for _, y in create_mesa_dataloader(
            folder, csv_path, seq_len=3, batch_size=8, shuffle=True)])
    assert sorted(map(tuple, ordered.tolist())) == sorted(map(tuple, shuffled.tolist()))


def test_worker_processes_read_the_same_windows(tmp_path):
    write_night(tmp_path, 1, np.random.default_rng(1).normal(size=(4, 25 * E)).astype(np.float32),
                np.zeros(25))
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "0" * 25}])
    serial = list(create_mesa_dataloader(tmp_path, None, batch_size=3, shuffle=False))
    workers = list(create_mesa_dataloader(tmp_path, None, batch_size=3, shuffle=False,
                                          num_workers=1))
    assert len(serial) == len(workers) == 2
    for (f1, y1), (f2, y2) in zip(serial, workers):
        assert torch.equal(f1, f2) and torch.equal(y1, y2)


def test_window_starts_drops_windows_holding_unscored_epochs():
    labels = np.array([0, 0, 0, -1, 2, 2, 2, 2])
    assert window_starts(labels, 3).tolist() == [0, 4, 5]
    assert window_starts(labels, 3, filter_unscored=False).tolist() == [0, 1, 2, 3, 4, 5]
    assert window_starts(labels, 2, stride=2).tolist() == [0, 4, 6]
    assert window_starts(labels, 9).tolist() == []


def test_no_window_at_all_is_an_error_naming_the_folder(tmp_path):
    write_night(tmp_path, 1, np.zeros((4, 5 * E), np.float32), np.zeros(5))
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "00000"}])
    with pytest.warns(UserWarning, match="shorter than seq_len=20"):
        with pytest.raises(DataError, match=str(tmp_path.name)):
            MesaWindowDataset(tmp_path, None)


@pytest.mark.parametrize("kwargs", [{"seq_len": 0}, {"stride": -1}, {"num_channels": 1.5}])
def test_bad_window_arguments(tmp_path, kwargs):
    write_night(tmp_path, 1, np.zeros((4, 2 * E), np.float32), np.zeros(2))
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "00"}])
    with pytest.raises(ConfigError):
        MesaWindowDataset(tmp_path, None, **kwargs)


def test_more_channels_than_stored_is_an_error(tmp_path):
    write_night(tmp_path, 1, np.zeros((3, 2 * E), np.float32), np.zeros(2))
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "00"}])
    data = MesaWindowDataset(tmp_path, None, seq_len=2, num_channels=4)
    with pytest.raises(DataError, match="4 channels asked"):
        data[0]


def test_index_out_of_range(tmp_path):
    write_night(tmp_path, 1, np.zeros((4, 2 * E), np.float32), np.zeros(2))
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "00"}])
    data = MesaWindowDataset(tmp_path, None, seq_len=2)
    assert data.window_info(-1) == (1, 0)
    with pytest.raises(IndexError):
        data[1]
