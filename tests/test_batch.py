"""``mesa-report batch``: the same table from either engine, resumable after a kill, damaged cache
entries recomputed, reports made by the report command's functions, failures listed."""

from __future__ import annotations

import re
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from mesa_report.model.checkpoint import save_checkpoint
from mesa_report.cli.main import main
from mesa_report.inference.stored import NightResult
from mesa_report.demo import demo_store
from mesa_report.model.network import MesaTransformer
from mesa_report.model.config import ModelConfig
from mesa_report.explain.selection import choose_samples
from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import write_night

from .conftest import TINY, randomise_batchnorm
from .kill_helpers import run_until_call

SUMMARY_LINE = re.compile(r"(\d+) night\(s\): (\d+) computed, (\d+) from the cache")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Three 30-minute demo nights, built through the real pipeline (about 15 s)."""
    return demo_store(tmp_path_factory.mktemp("demo-cache"), n_nights=3, hours=0.5)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = randomise_batchnorm(MesaTransformer(ModelConfig(**TINY))).eval()
    return save_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth", model)


def _args(demo, checkpoint, out, cache, *extra):
    return ["batch", "--checkpoint_path", str(checkpoint), "--preprocessed_dir", str(demo.preprocessed_dir),
            "--all", "--output_dir", str(out), "--cache_dir", str(cache), "--quiet", *extra]


def _summary(text: str) -> tuple[int, int, int]:
    match = SUMMARY_LINE.search(text)
    assert match, text
    return tuple(int(v) for v in match.groups())


def _table(out) -> pd.DataFrame:
    return pd.read_csv(out / "cohort.csv")


@pytest.mark.slow
def test_local_and_ray_engines_give_the_same_table(demo, tiny_checkpoint, tmp_path, capsys):
    ray = pytest.importorskip("ray")
    assert main(_args(demo, tiny_checkpoint, tmp_path / "local", tmp_path / "cache-local")) == 0
    assert _summary(capsys.readouterr().out) == (3, 3, 0)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert main(_args(demo, tiny_checkpoint, tmp_path / "ray", tmp_path / "cache-ray", "--engine", "ray")) == 0
    finally:
        ray.shutdown()
    assert _summary(capsys.readouterr().out) == (3, 3, 0)
    local, distributed = _table(tmp_path / "local"), _table(tmp_path / "ray")
    pd.testing.assert_frame_equal(local, distributed, rtol=1e-4)
    assert local["record_id"].tolist() == ["mesa-sleep-0001", "mesa-sleep-0002", "mesa-sleep-0003"]
    assert (local["n_epochs"] == 60).all() and local["accuracy"].between(0, 1).all()
    relevance = local[["relevance_EEG1", "relevance_EEG2", "relevance_EEG3"]].sum(axis=1)
    np.testing.assert_allclose(relevance, 1.0, atol=1e-3)
    shares = local[["share_past", "share_self", "share_future"]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0, atol=1e-3)


def test_a_killed_batch_reruns_only_what_is_missing(demo, tiny_checkpoint, tmp_path, capsys):
    cache, out = tmp_path / "cache", tmp_path / "out"
    argv = _args(demo, tiny_checkpoint, out, cache, "--batch_size", "3")  # one batch per 60-epoch night
    # killed right after the first night's cache entry is written, before any other night is stored
    assert run_until_call("mesa_report.inference.results:ResultCache.put", 1, argv, tmp_path / "stderr.txt"), \
        (tmp_path / "stderr.txt").read_text()
    assert [entry.name.split("_")[0] for entry in cache.glob("*.npz")] == ["mesa-sleep-0001"]
    assert not (out / "cohort.csv").exists()
    assert main(argv) == 0
    assert _summary(capsys.readouterr().out) == (3, 2, 1)
    assert _table(out)["mesaid"].tolist() == [1, 2, 3]
    for entry in cache.glob("*.npz"):
        NightResult.load(entry).check()


def test_a_damaged_cache_entry_is_recomputed(demo, tiny_checkpoint, tmp_path, capsys):
    cache, out = tmp_path / "cache", tmp_path / "out"
    assert main(_args(demo, tiny_checkpoint, out, cache)) == 0
    before = _table(out)
    entry = next(cache.glob("mesa-sleep-0002_*.npz"))
    data = bytearray(entry.read_bytes())
    data[len(data) // 2:len(data) // 2 + 256] = bytes(256)  # damage inside the stored arrays
    entry.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(_args(demo, tiny_checkpoint, out, cache)) == 0
    text = capsys.readouterr().out
    assert _summary(text) == (3, 1, 2) and "1 damaged cache entry recomputed" in text
    pd.testing.assert_frame_equal(_table(out), before, rtol=1e-4)
    NightResult.load(entry).check()


def test_reports_come_with_the_table_and_are_kept_when_up_to_date(demo, tiny_checkpoint, tmp_path, capsys):
    cache, out = tmp_path / "cache", tmp_path / "out"
    argv = _args(demo, tiny_checkpoint, out, cache, "--reports", "html", "--num_samples", "1")
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
    assert _summary(text) == (1, 0, 1) and "0 report file(s) written" in text


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
    assert _table(tmp_path / "out")["mesaid"].tolist() == [1]


def test_option_errors_name_the_fix(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    base = ["batch", "--checkpoint_path", str(tiny_checkpoint), "--preprocessed_dir", str(tmp_path), "--all"]
    assert main([*base, "--ray_address", "auto"]) == 2
    assert "--engine ray" in capsys.readouterr().err
    assert main([*base, "--jobs", "0"]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    assert main([*base, "--engine", "ray"]) == 2
    assert 'pip install "ray[default]"' in capsys.readouterr().err
