"""The results service: a night goes through the model once, whichever output asks first, and the app,
``report`` and ``visualize`` all read it from there."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from mesa_report.cli.main import main
from mesa_report.core.errors import ConfigError, DataError
from mesa_report.data.night_files import write_night
from mesa_report.data.store import Night
from mesa_report.inference import cohort
from mesa_report.inference.results import ResultCache
from mesa_report.inference.service import ResultsService
from mesa_report.model.checkpoint import save_checkpoint
from mesa_report.model.loaded import open_checkpoint
from mesa_report.pipeline.reports import open_session

from .browser_helpers import demo_env
from .conftest import REPO_ROOT


@pytest.fixture
def loaded(tiny_model, tmp_path):
    return open_checkpoint(save_checkpoint(tmp_path / "tiny.pth", tiny_model))


@pytest.fixture
def night(tmp_path):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 6, 45)
    path = write_night(tmp_path / "store", 5, rng.standard_normal((4, 45 * 3840)).astype(np.float32), labels)
    return Night(path, 5, "".join(map(str, labels)))


@pytest.fixture
def passes(monkeypatch):
    """The nights of every model pass made in this process (every pass goes through infer_cohort)."""
    seen = []
    real = cohort.infer_cohort

    def counted(model, nights, **options):
        nights = list(nights)
        seen.extend(int(n.mesaid) for n in nights)
        return real(model, nights, **options)

    monkeypatch.setattr(cohort, "infer_cohort", counted)
    return seen


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


@pytest.mark.slow
def test_the_app_a_report_and_the_png_files_of_a_night_cost_one_model_pass(tmp_path_factory, tmp_path, passes):
    with pytest.MonkeyPatch.context() as patch:
        for name, value in demo_env(tmp_path_factory).items():
            patch.setenv(name, value)
        for entry in ResultsService().cache.root.glob("*.npz"):
            entry.unlink()  # the session's other tests may have inferred the demo nights
        st.cache_resource.clear()
        open_session.cache_clear()
        at = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=120).run()
        assert not at.exception
        opened, subject = at.session_state["sources"], at.session_state["subject"]
        at.button(key="next").click().run()  # stepping reads the night from memory
        data = ["--checkpoint_path", str(opened.checkpoint), "--preprocessed_dir", str(opened.preprocessed_dir),
                "--csv_path", str(opened.csv_path), "--quiet"]
        assert main(["report", *data, "--subject", str(subject), "--format", "html",
                     "--output_dir", str(tmp_path / "reports")]) == 0
        assert main(["visualize", *data, "--subject", str(subject), "--samples", "1", "2", "--epochs", "3",
                     "--output_dir", str(tmp_path / "pngs")]) == 0
    assert (tmp_path / "reports" / f"mesa-sleep-{subject:04d}_report.html").is_file()
    assert (tmp_path / "pngs" / "attention_dashboard_sample_1.png").is_file()
    assert passes == [subject]  # one model pass for this checkpoint and night
