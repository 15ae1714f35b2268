"""A night's reports built in the background when the night opens, so the buttons deliver at once.

One worker process per server (:func:`shared_builder`, held by ``st.cache_resource``) builds
reports one after the other. It is a process, not a thread: building a report is mostly Python
(the report's charts, WeasyPrint's layout) and vl-convert holds the interpreter's lock while it
draws, so a thread would slow every click of every session while it works. The worker pays
the once-per-process costs first (:mod:`mesa_report.app.warmup`), then loads each checkpoint
once.

When a night opens, its HTML and then its PDF report are queued (:meth:`ReportBuilder.request`),
keyed by the checkpoint's and the night's content stamps and the format; reports queued for other
nights and not yet started are dropped. A download button waits for its report
(:meth:`ReportBuilder.deliver`), and :func:`draw_report_buttons` shows what is still being built.
With ``MESA_REPORT_BACKGROUND_REPORTS=0`` (:mod:`mesa_report.core.settings`) no process is started
and a report is built in the server when its button is clicked, then kept like the others.

Examples
--------
>>> builder = ReportBuilder()  # doctest: +SKIP
>>> job = ReportJob.of(result, night, sources)  # doctest: +SKIP
>>> builder.request(job)  # doctest: +SKIP
>>> builder.deliver(job, "pdf")[:5]  # doctest: +SKIP
b'%PDF-'
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from mesa_report.app import downloads
from mesa_report.app import sources as app_sources
from mesa_report.app.warmup import warm_up
from mesa_report.core.jobs import call_niced, freeze_loaded_objects, plain_main
from mesa_report.core.settings import load_settings
from mesa_report.data.store import Night, record_id
from mesa_report.inference.night import NightInference

KEPT_REPORTS = 16
"""Reports (of any night and format) kept by the builder; the oldest go first."""


@dataclass(frozen=True)
class ReportJob:
    """What the worker needs to build a night's reports, and the key they are kept under."""

    result: NightInference = field(compare=False, repr=False)  # sent to the worker as it is
    checkpoint: Path
    preprocessed_dir: Path
    csv_path: Path | None
    mesaid: int
    stamps: tuple  # the checkpoint's and the night file's (path, mtime, size)

    @classmethod
    def of(cls, result: NightInference, night: Night, sources: app_sources.Sources) -> "ReportJob":
        """The job of a night shown in the app.

        Examples
        --------
        >>> ReportJob.of(result, night, sources).mesaid  # doctest: +SKIP
        1
        """
        return cls(result, sources.checkpoint, sources.preprocessed_dir, sources.csv_path, night.mesaid,
                   (app_sources.file_stamp(sources.checkpoint), app_sources.file_stamp(night.path)))

    @property
    def file_stem(self) -> str:
        """Name of a downloaded report, without its suffix."""
        return f"{record_id(self.mesaid)}_report"


@functools.lru_cache(maxsize=1)
def _night_report(job: ReportJob):
    """The job's report document, kept for the job's other format (building it takes 1.5 s)."""
    model = app_sources.open_model(job.checkpoint)
    night = app_sources.night_in_store(app_sources.open_store(job.preprocessed_dir, job.csv_path), job.mesaid)
    return downloads.night_report(job.result, night, model)


def build_report_bytes(job: ReportJob, fmt: str) -> bytes:
    """The night's report in ``fmt``, as the download button delivers it (run by the worker).

    The HTML and the PDF of a night are rendered from one report document.

    Examples
    --------
    >>> build_report_bytes(job, "html")[:15]  # doctest: +SKIP
    b'<!DOCTYPE html>'
    """
    return downloads.report_bytes(fmt, _night_report(job))


WORKER_NICENESS = 19
"""How much the worker yields the processor to the server and the browser (POSIX ``nice``: the
least priority). Set before the worker imports anything heavy (:func:`mesa_report.core.jobs.call_niced`),
so its start-up does not slow the first page drawn beside it."""


def _exit_with_parent(sentinel) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(0)  # the server is gone (even killed): nothing is left to build for


def _start_worker() -> None:
    import torch

    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with_parent, args=(parent.sentinel,), daemon=True).start()
    torch.set_num_threads(1)
    warm_up()
    freeze_loaded_objects()  # the worker's libraries, loaded by the warm-up, stay out of later collections


def _worker_died(future: concurrent.futures.Future) -> bool:
    return future.done() and not future.cancelled() and isinstance(future.exception(), BrokenProcessPool)


class ReportBuilder:
    """Builds reports in one worker process and keeps the latest ones (see the module's docstring).

    With ``background=False`` there is no worker: :meth:`request` queues nothing and
    :meth:`deliver` builds the report in this process, on the click.
    """

    def __init__(self, background: bool = True) -> None:
        self._lock = threading.Lock()
        self._futures: collections.OrderedDict = collections.OrderedDict()
        self._pool = self._start_pool() if background else None

    @property
    def background(self) -> bool:
        """Whether reports are built by the worker process as soon as a night opens."""
        return self._pool is not None

    @staticmethod
    def _start_pool() -> concurrent.futures.ProcessPoolExecutor:
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"),
            initializer=functools.partial(call_niced, WORKER_NICENESS, __name__, _start_worker.__name__))
        with plain_main():
            pool.submit(int)  # starts the worker now, so it warms up before the first request
        return pool

    def request(self, job: ReportJob) -> None:
        """Queue the night's HTML then PDF report unless kept; drop queued reports of other nights."""
        if not self.background:
            return
        with self._lock:
            for key, future in list(self._futures.items()):
                if key[0] != job and future.cancel():
                    del self._futures[key]
            for fmt in downloads.REPORT_FORMATS:
                self._submit(job, fmt)

    def _submit(self, job: ReportJob, fmt: str) -> concurrent.futures.Future:
        key = (job, fmt)
        future = self._futures.get(key)
        if future is None or future.cancelled() or _worker_died(future):
            try:
                future = self._pool.submit(build_report_bytes, job, fmt)
            except (BrokenProcessPool, RuntimeError):  # the worker died (or was shut down): start another
                self._pool = self._start_pool()
                future = self._pool.submit(build_report_bytes, job, fmt)
            self._keep(key, future)
        self._futures.move_to_end(key)
        return future

    def _keep(self, key: tuple, future: concurrent.futures.Future) -> None:
        self._futures[key] = future
        self._futures.move_to_end(key)
        while len(self._futures) > KEPT_REPORTS:
            self._futures.popitem(last=False)

    def ready(self, job: ReportJob) -> dict[str, bool]:
        """For each format, whether the night's report is built (or failed: a click shows why)."""
        with self._lock:
            return {fmt: (job, fmt) in self._futures and self._futures[(job, fmt)].done()
                    for fmt in downloads.REPORT_FORMATS}

    def deliver(self, job: ReportJob, fmt: str) -> bytes:
        """The report's bytes, waiting for the worker if it is still building it.

        Should the worker process have died, or without one, the report is built here instead.
        """
        if not self.background:
            return self._built_here(job, fmt)
        with self._lock:
            future = self._submit(job, fmt)
        try:
            return future.result()
        except BrokenProcessPool:
            return build_report_bytes(job, fmt)

    def _built_here(self, job: ReportJob, fmt: str) -> bytes:
        with self._lock:
            kept = self._futures.get((job, fmt))
        if kept is not None:
            return kept.result()
        data = build_report_bytes(job, fmt)  # outside the lock: other sessions' pages go on meanwhile
        future = concurrent.futures.Future()
        future.set_result(data)
        with self._lock:
            self._keep((job, fmt), future)
        return data


@st.cache_resource(show_spinner=False)
def shared_builder() -> ReportBuilder:
    """The server's one report builder, started on the first page any session opens."""
    return ReportBuilder(background=load_settings().background_reports)


PREPARING_NOTE = ("The night's reports are being built in the background since it opened; "
                  "a click before they are ready waits for them.")
"""Shown under the buttons when the page runs before a report is ready (true even once it is)."""


def draw_report_buttons(where, builder: ReportBuilder, job: ReportJob) -> None:
    """The report buttons of the night, and :data:`PREPARING_NOTE` while a report is being built.

    The note is written when the whole page runs (opening a night, changing a setting), not on a
    timer: a fragment rerun every second (``st.fragment(run_every=...)``) made Streamlit drop clicks
    on the charts made meanwhile (the browser test's click on the inter-epoch heatmap, twice in two
    runs), so it says nothing that turns false once the reports are ready.
    """
    builder.request(job)
    ready = builder.ready(job)
    with where:
        for fmt, (label, mime) in downloads.REPORT_FORMATS.items():
            st.download_button(label, key=f"report_{fmt}", mime=mime, on_click="ignore",
                               file_name=f"{job.file_stem}.{fmt}",
                               data=functools.partial(builder.deliver, job, fmt))
        if builder.background and not all(ready.values()):
            st.caption(PREPARING_NOTE)
