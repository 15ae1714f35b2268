"""Cohort batches (mesa_report.pipeline.batch): resumable after a kill, damaged cache entries recomputed, failures
listed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from mesa_report.cli.main import main
from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import write_night
from mesa_report.explain.selection import choose_samples
from mesa_report.inference.stored import NightResult
from mesa_report.model.checkpoint import save_checkpoint
from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer

from ..batch_common import args, summary, table
from ..helpers import TINY
from ..kill_helpers import run_until_call


def test_batch_all_with_no_night_file_exits_non_zero_with_a_message(tmp_path, capsys):
    torch.manual_seed(0)
    checkpoint = save_checkpoint(tmp_path / "m.pth", MesaTransformer(ModelConfig(**TINY)).eval())
    store = tmp_path / "store"
    write_index(store, [{"mesaid": 1, "sleep_stages": "00"}, {"mesaid": 2, "sleep_stages": "11"}])
    argv = ["batch", "--checkpoint_path", str(checkpoint), "--preprocessed_dir", str(store), "--all",
            "--output_dir", str(tmp_path / "out"), "--cache_dir", str(tmp_path / "cache"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "nothing to do" in err and "none of the 2 night(s)" in err and str(store) in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_killed_batch_reruns_only_what_is_missing(demo, tiny_checkpoint, tmp_path, capsys):
    cache, out = tmp_path / "cache", tmp_path / "out"
    argv = args(demo, tiny_checkpoint, out, cache, "--batch_size", "3")  # one batch per 60-epoch night
    # killed right after the first night's cache entry is written, before any other night is stored
    assert run_until_call("mesa_report.inference.results:ResultCache.put", 1, argv, tmp_path / "stderr.txt"), \
        (tmp_path / "stderr.txt").read_text()
    assert [entry.name.split("_")[0] for entry in cache.glob("*.npz")] == ["mesa-sleep-0001"]
    assert not (out / "cohort.csv").exists()
    assert main(argv) == 0
    assert summary(capsys.readouterr().out) == (3, 2, 1)
    assert table(out)["mesaid"].tolist() == [1, 2, 3]
    for entry in cache.glob("*.npz"):
        NightResult.load(entry).check()


def test_a_damaged_cache_entry_is_recomputed(demo, tiny_checkpoint, tmp_path, capsys):
    cache, out = tmp_path / "cache", tmp_path / "out"
    assert main(args(demo, tiny_checkpoint, out, cache)) == 0
    before = table(out)
    entry = next(cache.glob("mesa-sleep-0002_*.npz"))
    data = bytearray(entry.read_bytes())
    data[len(data) // 2:len(data) // 2 + 256] = bytes(256)  # damage inside the stored arrays
    entry.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(args(demo, tiny_checkpoint, out, cache)) == 0
    text = capsys.readouterr().out
    assert summary(text) == (3, 1, 2) and "1 damaged cache entry recomputed" in text
    pd.testing.assert_frame_equal(table(out), before, rtol=1e-4)
    NightResult.load(entry).check()


def test_reports_come_with_the_table_and_are_kept_when_up_to_date(demo, tiny_checkpoint, tmp_path, capsys):
    cache, out = tmp_path / "cache", tmp_path / "out"
    argv = args(demo, tiny_checkpoint, out, cache, "--reports", "html", "--num_samples", "1")
    argv[argv.index("--all")] = "--subject=2"
    assert main(argv) == 0
    assert "1 report file(s) written" in capsys.readouterr().out
    html = (out / "mesa-sleep-0002_report.html").read_text(encoding="utf-8")
    detailed = "Sample 1: epochs" in html and "mesa-sleep-0002" in html  # no assertion diff of 1 MB
    # the same sections as the report command's: the model measured its own explanations too
    trusted = 'id="explanations"' in html and "how far to trust it" in html
    assert detailed and trusted and (out / "mesa-sleep-0002_report.json").is_file()
    result = NightResult.load(next(cache.glob("mesa-sleep-0002_*.npz")))
    # the cache keeps the temporal maps of exactly the sample the report details
    chosen = [i for i, _ in choose_samples(result.stored, 1)]
    assert result.temporal_samples.tolist() == chosen and len(chosen) == 1
    assert np.isfinite(result.inference().sample(chosen[0]).attention.temporal.numpy()).all()
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert summary(text) == (1, 0, 1) and "0 report file(s) written" in text


def test_failures_are_listed_and_the_other_nights_go_on(tiny_checkpoint, tmp_path, capsys):
    store = tmp_path / "store"
    write_night(store, 1, np.random.default_rng(0).standard_normal((4, 25 * 3840)).astype(np.float32), np.zeros(25))
    write_night(store, 2, np.zeros((4, 10 * 3840), np.float32), np.zeros(10))  # shorter than one window
    write_index(store, [{"mesaid": 1, "sleep_stages": "0" * 25}, {"mesaid": 2, "sleep_stages": "0" * 10}])
    argv = ["batch", "--checkpoint_path", str(tiny_checkpoint), "--preprocessed_dir", str(store), "--all",
            "--output_dir", str(tmp_path / "out"), "--cache_dir", str(tmp_path / "cache"), "--quiet"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "1 failed" in captured.out
    assert "mesa-sleep-0002" in captured.err and "fewer than one sample" in captured.err
    assert table(tmp_path / "out")["mesaid"].tolist() == [1]
