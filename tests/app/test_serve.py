"""``make app``'s launcher: the first page's work begun while the server starts, in the app's own caches."""

from __future__ import annotations

import io

import pytest

from mesa_report.app import serve, support
from mesa_report.app import sources as app_sources

from ..browser_helpers import demo_env


@pytest.fixture
def demo(tmp_path_factory, monkeypatch):
    for name, value in demo_env(tmp_path_factory).items():
        monkeypatch.setenv(name, value)


def test_the_warm_up_leaves_what_the_first_page_reads_in_the_apps_caches(demo):
    seconds = serve.warm_server()
    assert list(seconds) == list(serve.WARM_UP_STEPS) and all(s >= 0 for s in seconds.values())
    # the page's own calls now find them: the same model object, the first night's results in memory
    sources = app_sources.demo_sources()
    model = app_sources.open_model(sources.checkpoint)
    assert model is app_sources.open_model(sources.checkpoint) and model is serve._model()
    store = app_sources.open_store(sources.preprocessed_dir, sources.csv_path)
    night = app_sources.night_in_store(store, store.mesaids[0])
    service = support.results_service()
    hits = service.stats.memory_hits
    service.night(model, night)
    assert service.stats.memory_hits == hits + 1  # in memory already: neither read nor computed again


def test_a_failed_step_is_one_line_and_never_stops_the_server(monkeypatch):
    def broken():
        raise RuntimeError("no demo here")

    calls = []
    monkeypatch.setattr(serve, "WARM_UP_STEPS", {"demo cohort": broken, "model": lambda: calls.append(1)})
    log = io.StringIO()
    assert serve.warm_server(log) == {}
    assert log.getvalue() == "mesa-report: warm-up stopped at demo cohort: no demo here\n"
    assert calls == []  # the page meets the error itself, where the user can act on it


def test_the_launcher_runs_the_apps_script_with_the_given_options():
    command = serve.streamlit_command(args=["--server.port", "8502"])
    assert command[:2] == ["streamlit", "run"] and command[2].endswith("streamlit_app.py")
    assert serve.APP_SCRIPT.is_file() and command[3:] == ["--server.port", "8502"]
