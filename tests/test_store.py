"""The store: ids, stage strings, index CSVs, night files written by the seed and by mesa-report."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.core.vocabulary import EPOCH_SAMPLES
from mesa_report.data.index_csv import index_path, read_index, write_index
from mesa_report.data.index_merge import update_index
from mesa_report.data.night_files import write_night
from mesa_report.data.night_ids import night_filename, parse_record_id, record_id
from mesa_report.data.stage_strings import label_counts, parse_stage_string, stage_string
from mesa_report.data.store import Night, NightStore

E = EPOCH_SAMPLES


def seed_labels(stages: str, n_epochs: int) -> list[int]:
    """The seed's rules, written plainly: skip non-digits, 0-5 stages, other digits -1, cut/pad."""
    digits = [int(ch) for ch in stages if ch in "0123456789"]
    labels = [d if 0 <= d <= 5 else -1 for d in digits][:n_epochs]
    return labels + [-1] * (n_epochs - len(labels))


def seed_night(folder: Path, mesaid: int, n_epochs: int, channels: int = 4,
               extra_samples: int = 100) -> torch.Tensor:
    """A night as the seed's project wrote it: a bare torch.save of (channels, T), no sidecar."""
    generator = torch.Generator().manual_seed(mesaid)
    tensor = torch.randn(channels, n_epochs * E + extra_samples, generator=generator)
    torch.save(tensor, folder / night_filename(mesaid))
    return tensor


def test_record_names():
    assert record_id(1) == "mesa-sleep-0001"
    assert record_id(12345) == "mesa-sleep-12345"
    assert night_filename(7) == "mesa-sleep-0007_preprocessed.pt"


@pytest.mark.parametrize("text, expected", [
    ("mesa-sleep-0001", 1), ("MESA-SLEEP-0042", 42), ("0001", 1), ("1", 1), (" 17 ", 17),
    (5, 5), (np.int64(6), 6), ("0", 0), ("12.0", 12)])
def test_parse_record_id_accepts_the_three_spellings(text, expected):
    assert parse_record_id(text) == expected


@pytest.mark.parametrize("text", [
    "../0001", "mesa-sleep-0001/../../etc", "a\\b", "<script>1</script>", "1;rm", "",
    "mesa-sleep-", "mesa-sleep-00x1", "1 2", "-3", -3, "１２", "x" * 500])
def test_parse_record_id_refuses_anything_else(text):
    with pytest.raises(DataError, match="not a night id|negative"):
        parse_record_id(text)


def test_parse_record_id_message_is_bounded():
    with pytest.raises(DataError) as info:
        parse_record_id("y" * 10_000)
    assert len(str(info.value)) < 200


@pytest.mark.parametrize("stages, n_epochs, expected", [
    ("012345", 6, [0, 1, 2, 3, 4, 5]),
    ("0123456789", 10, [0, 1, 2, 3, 4, 5, -1, -1, -1, -1]),
    ("0,1 2-?x3", 4, [0, 1, 2, 3]),
    ("2222", 2, [2, 2]),
    ("22", 4, [2, 2, -1, -1]),
    ("", 3, [-1, -1, -1]),
])
def test_parse_stage_string_follows_the_seed(stages, n_epochs, expected):
    labels = parse_stage_string(stages, n_epochs)
    assert labels.dtype == np.int64
    assert labels.tolist() == expected


@given(st.text(alphabet="0123456789 ,?xW", max_size=60), st.integers(0, 80))
def test_parse_stage_string_matches_a_plain_reimplementation(stages, n_epochs):
    assert parse_stage_string(stages, n_epochs).tolist() == seed_labels(stages, n_epochs)


@given(st.lists(st.integers(-1, 5), max_size=50))
def test_stage_string_round_trips(labels):
    text = stage_string(np.array(labels, dtype=np.int64))
    assert text.isdigit() or text == ""
    assert parse_stage_string(text, len(labels)).tolist() == labels


def test_label_counts_cover_every_epoch():
    counts = label_counts(np.array([0, 0, 1, 5, -1, -1, 4]))
    assert counts == {"W": 2, "N1": 1, "N2": 0, "N3": 0, "N4": 1, "REM": 1, "?": 2}
    assert sum(counts.values()) == 7


def test_read_index_keeps_leading_zeros_and_extra_columns(tmp_path):
    csv = tmp_path / "mesa_final.csv"
    csv.write_text("mesaid,sleep_stages,split\n1,0000122,train\n0002,9990,test\n")
    frame = read_index(csv)
    assert frame["mesaid"].tolist() == [1, 2]
    assert frame["mesaid"].dtype == np.int64
    assert frame["sleep_stages"].tolist() == ["0000122", "9990"]
    assert frame["split"].tolist() == ["train", "test"]


def test_read_index_uses_another_id_column_and_allows_no_stages(tmp_path):
    csv = tmp_path / "cohort.csv"
    csv.write_text("NSRRID,age\nmesa-sleep-0003,61\n4,70\n")
    frame = read_index(csv)
    assert frame["mesaid"].tolist() == [3, 4]
    assert frame["sleep_stages"].tolist() == ["", ""]


def test_read_index_without_id_column_names_file_and_columns(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("subjectname,sleep_stages\nann,000\n")
    with pytest.raises(DataError, match=r"bad\.csv.*subjectname.*mesaid"):
        read_index(csv)


def test_read_index_refuses_an_id_with_a_path_and_names_the_line(tmp_path):
    csv = tmp_path / "mesa_final.csv"
    csv.write_text("mesaid,sleep_stages\n1,00\n../../etc/passwd,00\n")
    with pytest.raises(DataError, match=r"mesa_final\.csv, line 3"):
        read_index(csv)


def test_read_index_empty_or_missing(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        read_index(empty)
    with pytest.raises(DataError, match="not found"):
        read_index(tmp_path / "none.csv")


def test_index_path_of_folder_or_file(tmp_path):
    assert index_path(tmp_path) == tmp_path / "mesa_final.csv"
    assert index_path(tmp_path / "x.CSV") == tmp_path / "x.CSV"
    assert index_path(tmp_path, "other.csv") == tmp_path / "other.csv"


def test_write_index_orders_columns_and_reads_back(tmp_path):
    path = write_index(tmp_path, [{"split": "a", "n_epochs": 3, "sleep_stages": "012",
                                   "mesaid": "mesa-sleep-0002"}])
    assert path.read_text().splitlines()[0] == "mesaid,sleep_stages,n_epochs,split"
    assert read_index(path).loc[0, "mesaid"] == 2
    assert not list(tmp_path.glob("*.part"))


def test_update_index_replaces_appends_and_keeps_other_columns(tmp_path):
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "00", "split": "train"},
                           {"mesaid": 2, "sleep_stages": "11", "split": "test"}])
    update_index(tmp_path, [{"mesaid": 3, "sleep_stages": "22", "n_epochs": 2},
                            {"mesaid": 1, "sleep_stages": "05", "n_epochs": 2}])
    frame = read_index(tmp_path / "mesa_final.csv")
    assert frame["mesaid"].tolist() == [1, 2, 3]
    assert frame["sleep_stages"].tolist() == ["05", "11", "22"]
    assert frame["split"].tolist() == ["train", "test", ""]
    assert frame["n_epochs"].tolist() == ["2", "", "2"]


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
