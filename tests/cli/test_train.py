"""``mesa-report train``: resuming, and never replacing a trained checkpoint unless told."""

from __future__ import annotations

import torch

from mesa_report.cli.main import main

from ..helpers import learnable_store

TRAIN_TINY = ["--num_epochs", "1", "--batch_size", "4", "--stride", "10", "--d_model", "32",
              "--dim_feedforward", "64", "--cnn_channels", "8", "16", "--heads", "4", "2", "4",
              "--quiet"]


def test_cli_train_and_resume(tmp_path, capsys):
    store = learnable_store(tmp_path / "store", n_nights=2)
    args = ["train", "--preprocessed_dir", str(store), "--num_epochs", "1", "--batch_size", "4",
            "--stride", "10", "--checkpoint_dir", str(tmp_path / "ck"), "--d_model", "32",
            "--dim_feedforward", "64", "--cnn_channels", "8", "16", "--heads", "4", "2", "4", "--quiet"]
    assert main(args) == 0
    assert "best checkpoint" in capsys.readouterr().out
    resume = args + ["--resume_from", str(tmp_path / "ck" / "last_model.pth")]
    resume[resume.index("--num_epochs") + 1] = "2"
    assert main(resume) == 0
    checkpoint = torch.load(tmp_path / "ck" / "last_model.pth", weights_only=True)
    assert checkpoint["epoch"] == 2 and len(checkpoint["history"]) == 2


def test_train_refuses_to_replace_a_trained_checkpoint_unless_told(tmp_path, capsys):
    store = learnable_store(tmp_path / "store", n_nights=2)
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
