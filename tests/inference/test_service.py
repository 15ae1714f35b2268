"""The results service (mesa_report.inference.service): memory, then the disk cache, then the model."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.data.night_files import write_night
from mesa_report.data.store import Night
from mesa_report.inference.results import ResultCache
from mesa_report.inference.service import ResultsService
from mesa_report.model.checkpoint import save_checkpoint
from mesa_report.model.loaded import open_checkpoint

from ..helpers import noise_night


@pytest.fixture
def loaded(tiny_model, tmp_path):
    return open_checkpoint(save_checkpoint(tmp_path / "tiny.pth", tiny_model))


@pytest.fixture
def night(tmp_path):
    return noise_night(tmp_path / "store", 5, np.random.default_rng(2).integers(0, 6, 45))


def test_memory_then_disk_then_the_model(loaded, night, tmp_path, passes):
    service = ResultsService(ResultCache(tmp_path / "results"))
    first = service.night(loaded, night)
    assert service.night(loaded, night) is first  # from memory: no file read
    assert (service.stats.computed, service.stats.memory_hits, service.cache.stats.hits) == (1, 1, 0)
    again = ResultsService(ResultCache(tmp_path / "results")).night(loaded, night)  # another process, say
    np.testing.assert_array_equal(again.probs, first.probs)
    rescored = service.night(loaded, Night(night.path, 5, "9" * 45))  # the index now says: unscored
    assert (rescored.labels == -1).all() and not (first.labels == -1).all()
    assert passes == [5]


def test_the_key_follows_the_checkpoint_and_the_device(loaded, night, tiny_model, tmp_path):
    service = ResultsService(ResultCache(tmp_path / "results"))
    key = service.key(loaded, night)
    assert service.key(loaded, night, "cuda") != key  # bf16 there: another result
    torch.manual_seed(1)
    other = open_checkpoint(save_checkpoint(tmp_path / "other.pth", type(tiny_model)(tiny_model.config)))
    assert service.key(other, night) != key
    with pytest.raises(ConfigError, match="LoadedModel"):
        service.key(tiny_model, night)


def test_threads_asking_for_the_same_night_wait_for_one_pass(loaded, night, tmp_path, passes):
    service = ResultsService(ResultCache(tmp_path / "results"))
    start = threading.Barrier(4)
    results = []

    def ask():
        start.wait()
        results.append(service.night(loaded, night))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert passes == [5] and all(r is results[0] for r in results)


def test_compute_stores_each_night_and_lists_failures(loaded, night, tmp_path, passes):
    service = ResultsService(ResultCache(tmp_path / "results"))
    short = Night(write_night(tmp_path / "store", 6, np.zeros((4, 10 * 3840), np.float32), np.zeros(10)), 6)
    keys = {5: service.key(loaded, night)}
    out = {m: (entry, error) for m, entry, error in service.compute(loaded, [night, short], keys,
                                                                      detail_samples=lambda r: [0])}
    assert out[5][1] == "" and out[5][0].endswith(".summary.npz") and "fewer than one sample" in out[6][1]
    assert service.lookup(loaded, night, detail_samples=lambda r: [0]).entry is not None
    assert service.lookup(loaded, night, full=True).entry is None  # the app needs every map
    assert service.lookup(loaded, night, force=True).entry is None
    with pytest.raises(DataError, match="fewer than one sample"):
        service.night(loaded, short)
    assert passes == [5, 6]
