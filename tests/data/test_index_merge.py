"""Updating an index (mesa_report.data.index_merge): other rows, columns and spellings are kept."""

from __future__ import annotations

import edfio
import numpy as np
import pytest

from mesa_report.cli.main import main
from mesa_report.core.errors import DataError
from mesa_report.data.index_csv import read_index, write_index
from mesa_report.data.index_merge import update_index
from mesa_report.data.ingest import preprocess

from ..hostile_common import EEG3


def _tiny_edf(folder, mesaid: int):
    folder.mkdir(parents=True, exist_ok=True)
    signals = [edfio.EdfSignal(np.sin(np.arange(128 * 660) / (5.0 + k)), 128, label=name)
               for k, name in enumerate(("EEG1", "EEG2", "EEG3"))]
    edfio.Edf(signals).write(folder / f"mesa-sleep-{mesaid:04d}.edf")
    return folder


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


def test_preprocess_into_a_store_keeps_other_rows_and_spellings_and_reports_updates(tmp_path):
    edf_dir = _tiny_edf(tmp_path / "edf", 3)
    store = tmp_path / "store"
    store.mkdir()
    user_text = ("mesaid,sleep_stages,n_epochs,site\n0007,0012,4,A\n7,0012,4,B\n"
                 "0003,555,3,C\nmesa-sleep-0012,,,D\n")
    (store / "mesa_final.csv").write_text(user_text)
    summary = preprocess(edf_dir, store, channels=EEG3, progress=False)
    assert summary.written == [3] and not summary.failed
    lines = (store / "mesa_final.csv").read_text().splitlines()
    assert lines[0] == "mesaid,sleep_stages,n_epochs,site,edf_file,annotation_file,start_clock"
    # Other nights: both spellings kept with their values (the new columns empty for them).
    assert lines[1:3] == ["0007,0012,4,A,,,", "7,0012,4,B,,,"]
    assert lines[4] == "mesa-sleep-0012,,,D,,,"
    assert lines[3].startswith("0003,999") and ",22,C,mesa-sleep-0003.edf," in lines[3]
    assert len(lines) == 5
    updated = [w for w in summary.warnings if "updated" in w]
    assert len(updated) == 1 and "'0003'" in updated[0] and "sleep_stages, n_epochs" in updated[0]


def test_preprocess_checks_the_existing_index_before_writing_any_night(tmp_path):
    edf_dir = _tiny_edf(tmp_path / "edf", 3)
    store = tmp_path / "store"
    store.mkdir()
    broken = "mesaid,sleep_stages\n1,00\n../../etc,11\n"
    (store / "mesa_final.csv").write_text(broken)
    with pytest.raises(DataError, match="line 3"):
        preprocess(edf_dir, store, channels=EEG3, progress=False)
    assert sorted(p.name for p in store.iterdir()) == ["mesa_final.csv"]
    assert (store / "mesa_final.csv").read_text() == broken
    assert main(["preprocess", "--edf_dir", str(edf_dir), "--output_dir", str(store),
                 "--channels", *EEG3, "--no_progress"]) == 2
