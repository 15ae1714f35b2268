"""The demo cohort's folder (mesa_report.demo): built once, safe to share, outdated builds replaced."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pandas as pd
import pytest
import torch

from mesa_report.core.errors import ConfigError
from mesa_report.data.index_csv import read_index
from mesa_report.data.stage_strings import parse_stage_string
from mesa_report.demo import CACHE_ENV, default_cache_dir, demo_store, generate_night
from mesa_report.demo.generate import GENERATOR_VERSION


def test_demo_store_builds_once_through_preprocess_and_is_safe_to_share(tmp_path):
    stores = []
    workers = [threading.Thread(target=lambda: stores.append(demo_store(tmp_path, n_nights=2,
                                                                         hours=0.5)))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(stores) == 2 and stores[0] == stores[1]
    store = stores[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [store.root.name]  # no leftovers
    assert sorted(p.name for p in store.root.iterdir()) == ["demo.json", "preprocessed"]  # no EDF kept
    marker = json.loads((store.root / "demo.json").read_text())
    assert marker["n_nights"] == 2 and marker["hours"] == 0.5

    index = read_index(store.csv_path)
    assert index["mesaid"].tolist() == [1, 2] and index["split"].tolist() == ["train", "test"]
    for mesaid, stage_text in zip(index["mesaid"], index["sleep_stages"]):
        night = generate_night(mesaid, hours=0.5)
        np.testing.assert_array_equal(parse_stage_string(stage_text, night.n_epochs), night.stages)
        tensor = torch.load(store.preprocessed_dir / f"{night.record_id}_preprocessed.pt",
                            weights_only=True)
        assert tensor.shape == (4, night.n_epochs * 3840) and tensor.dtype == torch.float16
        pd.testing.assert_frame_equal(store.events(mesaid), night.events, check_dtype=False)

    marker_time = (store.root / "demo.json").stat().st_mtime_ns
    assert demo_store(tmp_path, n_nights=2, hours=0.5) == store
    assert (store.root / "demo.json").stat().st_mtime_ns == marker_time  # reused, not rebuilt


def test_demo_store_replaces_an_outdated_folder_and_abandoned_builds(tmp_path):
    outdated = tmp_path / f"demo-v{GENERATOR_VERSION}-1x0.2h"
    (outdated / "edf").mkdir(parents=True)
    (outdated / "demo.json").write_text(json.dumps({"generator_version": 0}))
    abandoned = tmp_path / f".{outdated.name}.killed.building"
    abandoned.mkdir()
    os.utime(abandoned, (0, 0))
    store = demo_store(tmp_path, n_nights=1, hours=0.2)
    assert store.root == outdated and json.loads((outdated / "demo.json").read_text())["n_nights"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [outdated.name]
    assert read_index(store.csv_path)["split"].tolist() == ["train"]


@pytest.mark.parametrize("kwargs", [dict(n_nights=0), dict(n_nights=2.5), dict(hours=0.1),
                                    dict(hours="4")])
def test_demo_store_refuses_bad_sizes(tmp_path, kwargs):
    with pytest.raises(ConfigError):
        demo_store(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    assert default_cache_dir() == tmp_path / "cache"
    monkeypatch.delenv(CACHE_ENV)
    assert default_cache_dir().name == "mesa-report"
