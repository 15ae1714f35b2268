"""The result cache: one inference per checkpoint, night file and settings; damaged entries recomputed."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from mesa_report.core.errors import ConfigError
from mesa_report.data.night_files import write_night
from mesa_report.data.store import Night
from mesa_report.inference.cohort import infer_cohort
from mesa_report.inference.results import ResultCache, default_results_dir
from mesa_report.inference.service import ResultsService
from mesa_report.inference.stored import NightResult
from mesa_report.model.checkpoint import file_sha256, save_checkpoint
from mesa_report.model.loaded import open_checkpoint
from mesa_report.model.network import MesaTransformer

from ..helpers import noise_night


@pytest.fixture
def night(tmp_path):
    return noise_night(tmp_path / "store", 4, np.random.default_rng(1).integers(0, 6, 45))


@pytest.fixture
def checkpoint(tiny_model, tmp_path):
    return save_checkpoint(tmp_path / "model.pth", tiny_model)


def _entries(cache: ResultCache) -> list:
    return sorted(cache.root.glob("*.npz"))


def serve_night(checkpoint, night, *, cache=None, cache_dir=None, progress=None):
    """The night through the results service with no memory layer: the disk cache alone serves."""
    cache = cache if cache is not None else ResultCache(cache_dir)
    return ResultsService(cache, memory_entries=0).night(open_checkpoint(checkpoint), night, progress=progress)


def test_a_night_is_inferred_once_then_read_back(tiny_model, night, checkpoint, tmp_path):
    cache = ResultCache(tmp_path / "results")
    calls = []
    first = serve_night(checkpoint, night, cache=cache, progress=lambda d, t: calls.append(d))
    second = serve_night(checkpoint, night, cache=cache, progress=lambda d, t: calls.append(d))
    assert calls == [3]  # the model ran once
    assert (cache.stats.hits, cache.stats.misses, cache.stats.stored) == (1, 1, 1)
    np.testing.assert_array_equal(second.probs, first.probs)
    np.testing.assert_array_equal(second.temporal, first.temporal)
    assert [p.name.split(".", 1)[1] for p in _entries(cache)] == ["full.npz"]
    # another checkpoint, or a changed night file, is another entry
    other = MesaTransformer(tiny_model.config).eval()
    other_path = save_checkpoint(tmp_path / "other.pth", other)
    serve_night(other_path, night, cache=cache)
    write_night(night.path.parent, 4, np.ones((4, 45 * 3840), np.float32), night.labels)
    serve_night(checkpoint, Night(night.path, 4, night.stages), cache=cache)
    assert cache.stats.misses == 3 and len(_entries(cache)) == 3


def test_the_scoring_is_read_from_the_night_not_the_entry(tiny_model, night, checkpoint, tmp_path):
    cache = ResultCache(tmp_path / "results")
    serve_night(checkpoint, night, cache=cache)
    rescored = Night(night.path, 4, "9" * 45)  # the index now says: unscored
    result = serve_night(checkpoint, rescored, cache=cache)
    assert cache.stats.hits == 1 and (result.labels == -1).all()


@pytest.mark.parametrize("damage", ["flip bytes", "truncate", "another night's entry"])
def test_a_damaged_entry_is_recomputed_not_trusted(tiny_model, night, checkpoint, tmp_path, damage):
    cache = ResultCache(tmp_path / "results")
    reference = serve_night(checkpoint, night, cache=cache)
    entry = _entries(cache)[0]
    data = bytearray(entry.read_bytes())
    if damage == "flip bytes":
        middle = len(data) // 2
        data[middle:middle + 64] = bytes(64)
    elif damage == "truncate":
        del data[len(data) // 3:]
    else:
        other = Night(write_night(tmp_path / "other", 5, np.zeros((4, 20 * 3840), np.float32), np.zeros(20)), 5)
        foreign = serve_night(checkpoint, other, cache_dir=tmp_path / "y")
        data = bytearray(foreign.save(tmp_path / "o.npz").read_bytes())
    entry.write_bytes(bytes(data))
    again = ResultCache(cache.root)
    result = serve_night(checkpoint, night, cache=again)
    assert (again.stats.damaged, again.stats.hits, again.stats.stored) == (1, 0, 1)
    np.testing.assert_allclose(result.probs, reference.probs, atol=1e-6)
    NightResult.load(entry).check(night)  # the entry was written again, whole


def test_a_summary_entry_serves_only_what_it_holds(tiny_model, night, checkpoint, tmp_path):
    cache = ResultCache(tmp_path / "results")
    key = cache.key(checkpoint, night, "fp32")
    result = next(iter(infer_cohort(tiny_model, [night], detail_samples=lambda r: [1])))
    assert cache.put(key, result).name.endswith(".summary.npz")
    assert cache.get(key, night, full=True) is None  # the app needs every map
    assert cache.get(key, night, detail_samples=lambda r: [1]).temporal_samples.tolist() == [1]
    assert cache.get(key, night, detail_samples=lambda r: [0, 1]) is None  # a report of other samples
    assert cache.get(key, night) is not None  # the table needs no temporal map
    assert cache.stats.damaged == 0 and cache.stats.hits == 2
    assert cache.key(checkpoint, night, "bf16") != key


def test_concurrent_writers_leave_a_whole_entry(tiny_model, night, checkpoint, tmp_path):
    root = tmp_path / "results"
    key = ResultCache(root).key(checkpoint, night, "fp32")
    result = NightResult.from_inference(serve_night(checkpoint, night, cache_dir=tmp_path / "x"))
    reader = ResultCache(root)
    stop = threading.Event()

    def write():
        cache = ResultCache(root)
        for _ in range(4):
            cache.put(key, result)

    def read():
        while not stop.is_set():
            reader.get(key, night, full=True)

    writers = [threading.Thread(target=write) for _ in range(3)]
    watcher = threading.Thread(target=read)
    watcher.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    watcher.join()
    assert reader.stats.damaged == 0  # a reader never sees a half-written entry
    assert len(_entries(reader)) == 1 and not list(root.glob(".*.part"))
    assert reader.get(key, night, full=True) is not None


def test_file_hashes_are_remembered_by_path_size_and_time(checkpoint, tmp_path):
    cache = ResultCache(tmp_path / "results")
    assert cache.file_sha256(checkpoint) == file_sha256(checkpoint)
    memo = next((cache.root / "hashes").iterdir())
    memo.write_text("0" * 64)  # a remembered digest is used without reading the file again
    assert cache.file_sha256(checkpoint) == "0" * 64
    memo.write_text("not a digest")
    assert cache.file_sha256(checkpoint) == file_sha256(checkpoint)
    with pytest.raises(ConfigError, match="missing.pth"):
        cache.file_sha256(tmp_path / "missing.pth")


def test_defaults_and_errors(tiny_model, night, tmp_path, monkeypatch):
    monkeypatch.setenv("MESA_REPORT_CACHE_DIR", str(tmp_path / "root"))
    assert default_results_dir() == tmp_path / "root" / "results"
    assert ResultCache().root == tmp_path / "root" / "results"
    with pytest.raises(ConfigError, match="checkpoint"):
        ResultsService().night(MesaTransformer(tiny_model.config).eval(), night)
    with pytest.raises(ConfigError, match="entry kind"):
        ResultCache().path("abc", 1, "partial")
