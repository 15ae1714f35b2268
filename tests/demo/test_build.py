"""The demo cohort on disk: what a build keeps fits the size budget and opens every night; the recordings
it was ingested from can be exported on request and preprocess to the same store."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mesa_report.cli.main import main
from mesa_report.core.errors import DataError
from mesa_report.core.settings import DEFAULT_DEMO_HOURS, DEFAULT_DEMO_NIGHTS, DEMO_SIZE_ENV, load_settings
from mesa_report.data.ingest import preprocess
from mesa_report.data.store import NightStore
from mesa_report.demo import DEMO_CHECKPOINT, demo_store, generate_night
from mesa_report.demo.build import export_recordings, recording_names
from mesa_report.inference.cohort import infer_night
from mesa_report.model.checkpoint import load_model

DISK_BUDGET_BYTES = 150e6
"""Issue 19: the default demo cohort (8 nights of 4 h) takes at most 150 MB of the user's disk."""

BYTES_PER_HOUR = DISK_BUDGET_BYTES / (DEFAULT_DEMO_NIGHTS * DEFAULT_DEMO_HOURS)


def _bytes_under(folder) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_a_small_cohort_keeps_less_than_the_budget_per_hour_and_opens_every_night(tmp_path, monkeypatch):
    monkeypatch.setenv(DEMO_SIZE_ENV, "2x0.5")
    settings = load_settings()
    store = demo_store(tmp_path, n_nights=settings.demo_nights, hours=settings.demo_hours)
    recorded_hours = settings.demo_nights * settings.demo_hours
    kept = _bytes_under(store.root)
    assert kept / recorded_hours <= BYTES_PER_HOUR, f"{kept:,} bytes for {recorded_hours} h"
    assert not list(store.root.rglob("*.edf")) and not list(store.root.rglob("*.xml"))

    nights = NightStore(store.preprocessed_dir, store.csv_path)
    assert nights.mesaids == list(store.mesaids) and not nights.missing
    for night in nights:
        generated = generate_night(night.mesaid, hours=settings.demo_hours)
        window = night.epochs(0, night.n_epochs, channels=night.n_channels)
        assert window.dtype == np.float32 and window.shape == (generated.n_epochs, 4, 3840)
        assert np.isfinite(window).all() and 1.0 < np.abs(window).max() <= 20.0
        np.testing.assert_array_equal(night.labels, generated.stages)
        assert night.channel_names == ["EEG1", "EEG2", "EEG3", "Thor"]
        assert len(store.events(night.mesaid)) == len(generated.events)


def test_exported_recordings_preprocess_to_the_demo_store_and_the_same_stages(tmp_path):
    store = demo_store(tmp_path / "cache", n_nights=1, hours=0.5)
    edf_dir = tmp_path / "edf"
    written = export_recordings(edf_dir, store.mesaids, 0.5)
    assert [p.name for p in written] == list(recording_names(1))
    assert not preprocess(edf_dir, tmp_path / "float32", progress=False).failed
    full = NightStore(tmp_path / "float32").night(1)
    kept = NightStore(store.preprocessed_dir).night(1)
    assert full.signal.dtype == torch.float32 and kept.signal.dtype == torch.float16
    assert torch.equal(full.signal.to(torch.float16), kept.signal)  # same night, rounded once
    np.testing.assert_array_equal(full.labels, kept.labels)

    if DEMO_CHECKPOINT.is_file():
        model = load_model(DEMO_CHECKPOINT)
        np.testing.assert_array_equal(infer_night(model, kept).pred, infer_night(model, full).pred)

    before = written[0].stat().st_mtime_ns
    with pytest.raises(DataError, match="already exists"):
        export_recordings(edf_dir, store.mesaids, 0.5)
    assert written[0].stat().st_mtime_ns == before


def test_the_demo_command_exports_the_recordings_on_request(tmp_path, capsys):
    edf_dir = tmp_path / "edf"
    args = ["demo", "--cache_dir", str(tmp_path / "cache"), "--nights", "1", "--hours", "0.2", "--quiet",
            "--edf_dir", str(edf_dir)]
    assert main(args) == 0
    assert f"EDF + NSRR XML:   {edf_dir}" in capsys.readouterr().out
    assert sorted(p.name for p in edf_dir.iterdir()) == sorted(recording_names(1))
    assert main(args) == 2  # the files are there: nothing is overwritten
    assert "already exists" in capsys.readouterr().err
