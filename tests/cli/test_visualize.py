"""``mesa-report visualize``: the seed's store and checkpoint, the samples the report details, one-line errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mesa_report.cli.main import build_parser, main

from ..visualize_common import (  # noqa: F401  (pytest fixtures)
    CHANNELS,
    EPOCH_SAMPLES,
    SEED_STAGES,
    TINY,
    model,
    sample_numbers,
    seed_file_names,
    write_seed_checkpoint,
    write_seed_store,
)


def _write_two_night_store(folder: Path) -> Path:
    """Nights 1 and 2 of 60 epochs (3 samples each) with varied stages; the index's path."""
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for mesaid in (1, 2):
        stages = "".join(rng.choice(list("01235"), size=60))
        signal = rng.normal(size=(4, 60 * EPOCH_SAMPLES)).astype(np.float32)  # (4, T)
        torch.save(torch.from_numpy(signal), folder / f"mesa-sleep-{mesaid:04d}_preprocessed.pt")
        rows.append({"mesaid": mesaid, "sleep_stages": stages})
    pd.DataFrame(rows).to_csv(folder / "mesa_final.csv", index=False)
    return folder / "mesa_final.csv"


def _visualize(model, tmp_path, *extra) -> int:
    store = tmp_path / "mesa"
    if not store.is_dir():
        _write_two_night_store(store)
        write_seed_checkpoint(tmp_path / "best_model.pth", model)
    return main(["visualize", "--checkpoint_path", str(tmp_path / "best_model.pth"), "--preprocessed_dir",
                 str(store), "--format", "svg", "--num_epochs_to_plot", "1", "--quiet", *extra])


# --------------------------------------------------------------------------------------------
# Command line and Python API on the seed's files
# --------------------------------------------------------------------------------------------
def test_cli_reads_the_seeds_store_and_checkpoint(model, tmp_path, capsys):
    store, out = tmp_path / "mesa", tmp_path / "viz"
    write_seed_store(store, store / "mesa_final.csv")
    write_seed_checkpoint(tmp_path / "best_model.pth", model)
    rc = main(["visualize", "--checkpoint_path", str(tmp_path / "best_model.pth"),
               "--preprocessed-dir", str(store), "--csv_path", str(store / "mesa_final.csv"),
               "--output_dir", str(out), "--num_samples", "3", "--channel_names", *CHANNELS,
               "--seq_len", "20", "--num_channels", "3", "--time_steps", "3840", "--num_classes", "6",
               "--epochs", "4", "--format", "svg", "--cmap", "magma", "--layer", "0", "--quiet"])
    assert rc == 0
    # one numbering: the night's samples 1 (epochs 0-19) and 2 (epochs 3-22), epochs by night index
    assert {p.name for p in out.iterdir()} == (seed_file_names(1, [0 + 4], 3, "svg")
                                                | seed_file_names(2, [3 + 4], 3, "svg"))
    printed = capsys.readouterr().out
    assert f"mesa-sleep-0001: samples 1, 2 of 2 -> {out}" in printed
    assert "wrote 18 files for 2 samples (fewer samples than the 3 asked for)" in printed
    svg = (out / "epoch_attention_sample_2.svg").read_text()
    assert ">3 W→" in svg and ">22 REM→" in svg  # the window of epochs 3-22: scored W first, REM last
    assert "Sample 2: epochs 3–22" in svg


def test_cli_draws_the_samples_the_report_details(model, tmp_path, capsys):
    from mesa_report.data.store import NightStore
    from mesa_report.explain.selection import choose_samples
    from mesa_report.inference.service import ResultsService
    from mesa_report.model.loaded import open_checkpoint

    assert _visualize(model, tmp_path, "--output_dir", str(tmp_path / "viz"), "--num_samples", "2") == 0
    loaded = open_checkpoint(tmp_path / "best_model.pth")
    result = ResultsService().night(loaded, NightStore(tmp_path / "mesa").night(1))
    report_picks = {index + 1 for index, _ in choose_samples(result, 2)}
    assert sample_numbers(tmp_path / "viz") == report_picks and len(report_picks) == 2
    assert "mesa-sleep-0001: samples" in capsys.readouterr().out
    starts = result.sample_starts[[n - 1 for n in report_picks]]
    assert abs(int(starts[0]) - int(starts[1])) >= result.seq_len  # the samples do not overlap


def test_cli_draws_numbered_samples_of_named_nights_into_a_folder_each(model, tmp_path, capsys):
    out = tmp_path / "viz"
    assert _visualize(model, tmp_path, "--output_dir", str(out), "--subject", "mesa-sleep-0002",
                      "--subject", "1", "--samples", "3", "1") == 0
    assert sorted(p.name for p in out.iterdir()) == ["mesa-sleep-0001", "mesa-sleep-0002"]
    for night in ("mesa-sleep-0001", "mesa-sleep-0002"):
        assert sample_numbers(out / night) == {1, 3}
    printed = capsys.readouterr().out
    assert f"mesa-sleep-0002: samples 1, 3 of 3 -> {out / 'mesa-sleep-0002'}" in printed
    svg = (out / "mesa-sleep-0002" / "epoch_attention_sample_3.svg").read_text()
    assert "Sample 3: epochs 40–59" in svg  # numbered from 1, named by its night epochs


@pytest.mark.parametrize("extra, message", [
    (("--samples", "4"), r"mesa-sleep-0001 has 3 samples \(1-3\); --samples 4 is out of range"),
    (("--subject", "9"), "not in .*'9'"),
    (("--num_samples", "0"), "--num_samples must be at least 1"),
])
def test_cli_refuses_samples_and_nights_the_store_lacks(model, tmp_path, capsys, extra, message):
    assert _visualize(model, tmp_path, "--output_dir", str(tmp_path / "viz"), *extra) == 2
    err = capsys.readouterr().err.strip()
    assert re.search(message, err) and "\n" not in err
    assert not any((tmp_path / "viz").glob("**/*.svg"))


def test_cli_errors_are_one_line(model, tmp_path, capsys):
    store = tmp_path / "mesa"
    write_seed_store(store, store / "mesa_final.csv")
    write_seed_checkpoint(tmp_path / "best_model.pth", model)
    rc = main(["visualize", "--checkpoint_path", str(tmp_path / "best_model.pth"), "--preprocessed_dir",
               str(store), "--output_dir", str(tmp_path / "viz"), "--channel_names", "A", "B", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "2 channel names (A B)" in err and "--channel_names EEG1 EEG2 EEG3" in err
    rc = main(["visualize", "--checkpoint_path", str(tmp_path / "best_model.pth"), "--preprocessed_dir",
               str(store), "--seq_len", "30", "--quiet"])
    assert rc == 2 and "seq_len" in capsys.readouterr().err
    rc = main(["visualize", "--csv_path", str(store / "mesa_final.csv"), "--quiet"])
    assert rc == 2 and "--preprocessed_dir" in capsys.readouterr().err


def test_cli_takes_the_seeds_spelling_and_hyphenated_aliases():
    parser = build_parser({"visualize": "x"})
    seed = parser.parse_args(["visualize", "--output_dir", "a", "--num_samples", "3", "--device", "cuda",
                              "--num_epochs_to_plot", "2", "--channel_names", "EEG1", "EEG2", "EEG3"])
    alias = parser.parse_args(["visualize", "--output-dir", "a", "--num-samples", "3",
                               "--num-epochs-to-plot", "2", "--channel-names", "EEG1", "EEG2", "EEG3"])
    for name in ("output_dir", "num_samples", "num_epochs_to_plot", "channel_names"):
        assert getattr(seed, name) == getattr(alias, name)
    defaults = parser.parse_args(["visualize"])
    assert (defaults.output_dir.name, defaults.num_samples, defaults.num_epochs_to_plot) == (
        "attention_visualizations", 5, 5)
    assert (defaults.subjects, defaults.samples) == (None, None)
    chosen = parser.parse_args(["visualize", "--subject", "1", "--subject", "mesa-sleep-0002", "--samples", "2", "5"])
    assert (chosen.subjects, chosen.samples) == (["1", "mesa-sleep-0002"], [2, 5])
