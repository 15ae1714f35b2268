"""The app's report worker: a night's reports built in another process and delivered when clicked,
and the once-per-process warm-up it pays first."""

from __future__ import annotations

import io
import os

import pytest
from pypdf import PdfReader

from mesa_report.app import report_builder
from mesa_report.app import sources as app_sources
from mesa_report.app.warmup import WARM_UP_STEPS, warm_up
from mesa_report.core.settings import BACKGROUND_REPORTS_ENV
from mesa_report.inference.cohort import infer_night
from mesa_report.render.vega import vega_javascript

from ..browser_helpers import demo_env


@pytest.fixture(scope="module")
def night_job(tmp_path_factory):
    """The report job of the tests' demo night 1, as the app makes it."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in demo_env(tmp_path_factory).items():
            patch.setenv(name, value)
        sources = app_sources.demo_sources()
        store = app_sources.open_store(sources.preprocessed_dir, sources.csv_path)
        night = app_sources.night_in_store(store, store.mesaids[0])
        result = infer_night(app_sources.open_model(sources.checkpoint).model, night)
        yield report_builder.ReportJob.of(result, night, sources)


def test_the_worker_builds_both_reports_of_a_night_and_keeps_them(night_job):
    builder = report_builder.ReportBuilder()
    builder.request(night_job)
    html = builder.deliver(night_job, "html")
    pdf = builder.deliver(night_job, "pdf")
    assert builder.ready(night_job) == {"html": True, "pdf": True}
    assert html.startswith(b"<!DOCTYPE html>") and b"mesa-sleep-0001" in html
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert pdf[:5] == b"%PDF-" and "mesa-sleep-0001" in text and "inter-epoch attention" in text
    builder.request(night_job)  # the night shown again: nothing is built twice
    assert builder.deliver(night_job, "pdf") is pdf
    assert night_job.file_stem == "mesa-sleep-0001_report"
    if hasattr(os, "nice"):  # the worker yields the processor to the page: the least priority
        assert builder._pool.submit(os.nice, 0).result() == min(os.nice(0) + report_builder.WORKER_NICENESS, 19)


def test_a_report_of_another_night_is_a_different_job(night_job):
    moved = report_builder.ReportJob(night_job.result, night_job.checkpoint, night_job.preprocessed_dir,
                                     night_job.csv_path, 2, night_job.stamps)
    assert moved != night_job
    assert report_builder.ReportJob(None, *[getattr(night_job, f) for f in
                                            ("checkpoint", "preprocessed_dir", "csv_path", "mesaid",
                                             "stamps")]) == night_job  # the result is not part of the key


def test_without_background_reports_a_click_builds_the_report_here_once(night_job, monkeypatch):
    built = []
    monkeypatch.setattr(report_builder, "build_report_bytes", lambda job, fmt: built.append(fmt) or fmt.encode())
    builder = report_builder.ReportBuilder(background=False)
    builder.request(night_job)  # opening the night queues nothing and starts no process
    assert not builder.background and builder.ready(night_job) == {"html": False, "pdf": False} and built == []
    assert builder.deliver(night_job, "pdf") == b"pdf" and built == ["pdf"]
    assert builder.deliver(night_job, "pdf") == b"pdf" and built == ["pdf"]  # kept, not built twice
    assert builder.ready(night_job) == {"html": False, "pdf": True}


def test_the_app_builds_in_the_background_unless_the_setting_says_no(monkeypatch):
    monkeypatch.setenv(BACKGROUND_REPORTS_ENV, "0")
    report_builder.shared_builder.clear()
    try:
        assert report_builder.shared_builder().background is False
    finally:
        report_builder.shared_builder.clear()


def test_the_warm_up_pays_each_first_use_cost_once():
    seconds = warm_up()
    assert list(seconds) == list(WARM_UP_STEPS) and all(s >= 0 for s in seconds.values())
    hits = vega_javascript.cache_info().hits
    assert "vegaEmbed" in vega_javascript() and vega_javascript.cache_info().hits == hits + 1
