"""A cohort batch: nights inferred into the result cache, then a table row (and reports) per night.

The ``batch`` command's library. :func:`plan_nights` hashes every chosen night and looks it up in
the results service (:mod:`mesa_report.inference.service`); the nights it lacks go through the
model in shared batches (:meth:`ResultsService.compute`) and every night, cached or computed,
becomes one job of :func:`finish_night`: its row of the cohort table and, when asked, its reports
(:func:`mesa_report.pipeline.reports.write_night_reports`). Two engines run the same jobs with the
same outputs: :func:`run_local` here and :func:`mesa_report.pipeline.ray_engine.run_ray`.

Examples
--------
>>> chunk_size(2056, 8), chunk_size(3, 1)
(32, 1)
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

from mesa_report.core.errors import MesaReportError
from mesa_report.core.jobs import JobRunner, Outcome
from mesa_report.data.store import NightStore
from mesa_report.explain.cohort_table import table_row
from mesa_report.inference.results import ResultCache
from mesa_report.inference.service import ResultsService
from mesa_report.inference.stored import NightResult
from mesa_report.model.loaded import LoadedModel, open_checkpoint
from mesa_report.pipeline.reports import ReportOptions, write_night_reports
from mesa_report.explain.selection import choose_samples

CHUNKS_PER_ACTOR = 4
"""With Ray, the nights to infer are cut so that each actor gets about this many chunks."""

MAX_CHUNK_NIGHTS = 32
"""Most nights in one chunk of a Ray actor."""

PLAN_THREADS = 8
"""Threads hashing night files and reading cache entries before inference starts."""


@dataclass(frozen=True)
class InferenceSettings:
    """How nights are inferred (plain values: Ray actors receive it)."""

    checkpoint: str
    device: str
    batch_size: int
    keep_attention: str
    detail_count: int
    cache_root: str

    def open(self) -> tuple[LoadedModel, ResultsService]:
        """The checkpoint on :attr:`device` and a results service on :attr:`cache_root`."""
        return open_checkpoint(self.checkpoint, device=self.device), ResultsService(ResultCache(self.cache_root))


@dataclass(frozen=True)
class NightJob:
    """What a worker needs to make one night's row and reports (plain values: it crosses processes)."""

    mesaid: int
    entry: str
    preprocessed_dir: str
    csv_path: str | None
    method: str
    threads: int
    reports: ReportOptions | None = None
    checkpoint: dict = field(default_factory=dict)
    checkpoint_path: str = ""


@dataclass(frozen=True)
class NightOutput:
    """One night's row of the cohort table and the report files written."""

    row: dict | None
    files: tuple[str, ...] = ()


@functools.lru_cache(maxsize=2)
def open_store(preprocessed_dir: str, csv_path: str | None) -> NightStore:
    """The store, opened once per process."""
    return NightStore(preprocessed_dir, csv_path)


def _chosen_sample_indices(result, count: int) -> list[int]:
    """The samples a report of ``count`` detailed samples shows."""
    return [index for index, _ in choose_samples(result, count)]


def detail_picker(count: int):
    """The temporal maps a batch keeps per night: those of the samples its reports detail."""
    return functools.partial(_chosen_sample_indices, count=count) if count > 0 else None


@functools.lru_cache(maxsize=1)
def _report_model(checkpoint_path: str):
    """The model on the CPU, loaded once per worker: a report measures its own explanations with it,
    as the ``report`` command's and the app's do."""
    return open_checkpoint(checkpoint_path).model


def finish_night(job: NightJob) -> Outcome:
    """Row (and reports) of one night from its cache entry; a row made before a report failed is kept."""
    import torch

    torch.set_num_threads(job.threads)
    row = None
    try:
        night = open_store(job.preprocessed_dir, job.csv_path).night(job.mesaid)
        result = NightResult.load(job.entry).with_labels(night.labels)
        row = table_row(result, job.method)
        files = ()
        if job.reports is not None:
            files = write_night_reports(result.inference(), night, job.checkpoint, job.reports,
                                        model=_report_model(job.checkpoint_path))
    except MesaReportError as exc:
        return Outcome(job.mesaid, NightOutput(row), error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one night's bug must not stop the others
        return Outcome(job.mesaid, NightOutput(row), error=f"unexpected {type(exc).__name__}: {exc}")
    return Outcome(job.mesaid, NightOutput(row, files))


def infer_chunk(loaded: LoadedModel, service: ResultsService, settings: InferenceSettings, nights: list,
                keys: dict[int, str]):
    """Infer ``nights`` into the cache; yield ``(mesaid, entry path, error)`` per night."""
    yield from service.compute(loaded, nights, keys, batch_size=settings.batch_size,
                               keep_attention=settings.keep_attention,
                               detail_samples=detail_picker(settings.detail_count))


@dataclass
class Plan:
    """The nights of a batch: those to infer and those the cache already holds."""

    to_infer: list  # (mesaid, Night, key)
    cached: list  # (mesaid, entry path)
    failed: list  # Outcome


def plan_nights(subjects: list[int], store: NightStore, service: ResultsService, loaded: LoadedModel, *,
                device: str, full: bool, picker, force: bool) -> Plan:
    """Open each night, hash its file (in threads: a first run reads every file) and look it up.

    ``device`` is where the nights will be inferred (its arithmetic is part of the key).
    """
    from concurrent.futures import ThreadPoolExecutor

    def look(mesaid: int):
        try:
            return service.lookup(loaded, store.night(mesaid), device=device, full=full,
                                  detail_samples=picker, force=force)
        except MesaReportError as exc:
            return exc

    plan = Plan([], [], [])
    with ThreadPoolExecutor(max_workers=min(PLAN_THREADS, os.cpu_count() or 1)) as pool:
        for mesaid, looked in zip(subjects, pool.map(look, subjects)):
            if isinstance(looked, MesaReportError):
                plan.failed.append(Outcome(mesaid, error=str(looked)))
            elif looked.entry is None:
                plan.to_infer.append((mesaid, looked.night, looked.key))
            else:
                plan.cached.append((mesaid, str(looked.entry)))
    return plan


def run_local(plan: Plan, settings: InferenceSettings, loaded: LoadedModel, service: ResultsService,
              make_job, runner: JobRunner) -> int:
    """Model in this process; rows and reports through ``runner``. Returns the nights computed."""
    computed = 0
    for mesaid, entry in plan.cached:
        runner.submit(finish_night, mesaid, make_job(mesaid=mesaid, entry=entry))
    keys = {mesaid: key for mesaid, _, key in plan.to_infer}
    nights = [night for _, night, _ in plan.to_infer]
    for mesaid, entry, error in infer_chunk(loaded, service, settings, nights, keys):
        if error:
            runner.add(Outcome(mesaid, error=error))
            continue
        computed += 1
        runner.submit(finish_night, mesaid, make_job(mesaid=mesaid, entry=entry))
    runner.wait()
    return computed


def chunk_size(n_nights: int, n_workers: int) -> int:
    """Nights per chunk so that each worker gets about :data:`CHUNKS_PER_ACTOR` chunks."""
    per_chunk = -(-n_nights // max(1, n_workers * CHUNKS_PER_ACTOR))
    return min(MAX_CHUNK_NIGHTS, max(1, per_chunk))
