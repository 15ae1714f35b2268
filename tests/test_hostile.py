"""Hostile and careless input, round two (issue 18): each family with a fixture made here."""

from __future__ import annotations

import edfio
import numpy as np
import pytest
import torch

from mesa_report.cli import main
from mesa_report.errors import DataError
from mesa_report.ingest import preprocess

from .test_train import _learnable_store

TRAIN_TINY = ["--num_epochs", "1", "--batch_size", "4", "--stride", "10", "--d_model", "32",
              "--dim_feedforward", "64", "--cnn_channels", "8", "16", "--heads", "4", "2", "4",
              "--quiet"]
EEG3 = ("EEG1", "EEG2", "EEG3")


# --- train never overwrites a checkpoint ------------------------------------------------------

def test_train_refuses_to_replace_a_trained_checkpoint_unless_told(tmp_path, capsys):
    store = _learnable_store(tmp_path / "store", n_nights=2)
    folder = tmp_path / "checkpoints_mesa"
    folder.mkdir()
    trained = folder / "best_model.pth"
    trained.write_bytes(b"a model someone trained for days")
    args = ["train", "--preprocessed_dir", str(store), "--checkpoint_dir", str(folder), *TRAIN_TINY]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(trained) in err
    assert "--overwrite" in err and "--resume_from" in err
    assert trained.read_bytes() == b"a model someone trained for days"
    assert not (folder / "last_model.pth").exists()
    assert main(args + ["--overwrite"]) == 0
    assert torch.load(trained, weights_only=True)["epoch"] == 1


def test_train_help_says_what_happens_to_existing_checkpoints(capsys):
    try:
        main(["train", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "--overwrite" in text and "refuses to start when they exist" in text


# --- preprocess never rewrites index rows it did not make ----------------------------------------

def _tiny_edf(folder, mesaid: int):
    folder.mkdir(parents=True, exist_ok=True)
    signals = [edfio.EdfSignal(np.sin(np.arange(128 * 660) / (5.0 + k)), 128, label=name)
               for k, name in enumerate(("EEG1", "EEG2", "EEG3"))]
    edfio.Edf(signals).write(folder / f"mesa-sleep-{mesaid:04d}.edf")
    return folder


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
