"""``mesa-report batch``: inference, summaries and optionally reports for a whole cohort.

The chosen nights (``--all`` or ``--subject``; with the demo, all of its nights) are inferred
with windows of many nights batched together (:func:`mesa_report.inference.cohort.infer_cohort`) and each
night's result is stored in the result cache (:mod:`mesa_report.inference.results`). Every night
then gets a row of the cohort table (``<output_dir>/cohort.csv``: agreement, per-stage F1, mean
uncertainty, channel relevance, how far the model looks back and ahead) and, with
``--reports``, its HTML and/or PDF report, made by the ``report`` command's own functions.

Engines, with the same outputs:

- ``local`` (default): the model runs in this process (on ``--device``); the rows and reports
  are made inline or, with ``--jobs N``, in N worker processes while the model keeps running.
- ``ray``: nights go in chunks to inference actors (one per GPU with ``--device cuda``, each
  holding ``num_gpus=1``), rows and reports are Ray tasks on CPU workers. ``--ray-address``
  joins an existing cluster, whose nodes must see the store, the checkpoint and the cache
  folder at the same paths (a shared file system).

A batch is resumable: nights whose result is in the cache are not inferred again (a damaged
entry is recomputed), and reports that are up to date are kept. A night that fails does not
stop the others; failures are listed and the exit status is 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

DEFAULT_OUTPUT_DIR = Path("cohort")
ENGINES = ("local", "ray")
RAY_INSTALL = 'pip install "ray[default]"'
BATCH_SIZES = {"cpu": 8, "cuda": 256}
"""Default windows per forward pass on each kind of device."""

CHUNKS_PER_ACTOR = 4
"""With Ray, the nights to infer are cut so that each actor gets about this many chunks."""

MAX_CHUNK_NIGHTS = 32

PLAN_THREADS = 8
"""Threads hashing night files and reading cache entries before inference starts."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Nights, data, outputs, reports and engine options."""
    from mesa_report.inference.cohort import KEEP_ATTENTION
    from mesa_report.report.options import DEFAULT_EPOCHS_PER_SAMPLE, DEFAULT_SAMPLES, FORMATS, PAGE_SIZES, PDF_VARIANTS
    from mesa_report.cli.sources import add_data_arguments, add_subject_arguments
    from mesa_report.explain.summaries import SUMMARY_METHODS

    add_subject_arguments(parser, "nights")
    data = add_data_arguments(parser)
    data.add_argument("--batch_size", "--batch-size", type=int, default=None,
                      help="windows per forward pass, from any nights (default: "
                           f"{BATCH_SIZES['cpu']} on the CPU, {BATCH_SIZES['cuda']} on CUDA)")
    data.add_argument("--cache_dir", "--cache-dir", type=Path, default=None,
                      help="result cache folder (default: <cache root>/results, see MESA_REPORT_CACHE_DIR)")
    out = parser.add_argument_group("outputs")
    out.add_argument("--output_dir", "--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR,
                     help=f"folder of the cohort table and reports (default: {DEFAULT_OUTPUT_DIR})")
    out.add_argument("--method", choices=SUMMARY_METHODS, default="rollout",
                     help="relevance method of the table's summaries (default: rollout)")
    out.add_argument("--keep_attention", "--keep-attention", choices=KEEP_ATTENTION, default="summary",
                     help="temporal maps cached per night: those the reports detail (summary, default) "
                          "or all of them (full, what the app reads)")
    out.add_argument("--reports", "--report", dest="reports", nargs="+", choices=FORMATS, default=None,
                     metavar="FORMAT", help="also write each night's report: html, pdf or both")
    out.add_argument("--num_samples", "--num-samples", type=int, default=DEFAULT_SAMPLES,
                     help=f"samples a report shows in detail (default: {DEFAULT_SAMPLES})")
    out.add_argument("--epochs_per_sample", "--epochs-per-sample", type=int, default=DEFAULT_EPOCHS_PER_SAMPLE,
                     help=f"epochs of each detailed sample (default: {DEFAULT_EPOCHS_PER_SAMPLE})")
    out.add_argument("--page_size", "--page-size", choices=PAGE_SIZES, default=PAGE_SIZES[0],
                     help="PDF paper size (default: A4)")
    out.add_argument("--pdf_variant", "--pdf-variant", choices=PDF_VARIANTS, default=None,
                     help="archival (pdf/a-3b) or accessible, tagged (pdf/ua-1) PDF")
    run_group = parser.add_argument_group("running")
    run_group.add_argument("--engine", choices=ENGINES, default="local",
                           help=f"local (default) or ray (needs {RAY_INSTALL})")
    run_group.add_argument("--jobs", type=int, default=1,
                           help="local engine: worker processes making rows and reports (default: 1, inline)")
    run_group.add_argument("--ray_address", "--ray-address", default=None,
                           help="ray engine: cluster address (e.g. auto, ray://head:10001); 'local' or "
                                "nothing starts Ray on this machine")
    run_group.add_argument("--actors", type=int, default=None,
                           help="ray engine: inference actors (default: one per GPU with CUDA, else 1)")
    run_group.add_argument("--force", action="store_true",
                           help="infer every night again and rewrite up-to-date reports")
    run_group.add_argument("--quiet", action="store_true", help="no progress bar")


# --------------------------------------------------------------------------------------------
# One night's row and reports (the same function for both engines)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _NightJob:
    """What a worker needs to make one night's row and reports (plain values: it crosses processes)."""

    mesaid: int
    entry: str
    preprocessed_dir: str
    csv_path: str | None
    method: str
    threads: int
    reports: tuple[str, ...] = ()
    output_dir: str = ""
    num_samples: int = 0
    epochs_per_sample: int = 1
    page_size: str = "A4"
    pdf_variant: str | None = None
    checkpoint: dict = field(default_factory=dict)
    checkpoint_path: str = ""
    force: bool = False


@dataclass(frozen=True)
class _Outcome:
    mesaid: int
    row: dict | None = None
    files: tuple[str, ...] = ()
    error: str = ""


@functools.lru_cache(maxsize=2)
def _open_store(preprocessed_dir: str, csv_path: str | None):
    from mesa_report.data.store import NightStore

    return NightStore(preprocessed_dir, csv_path)


def _chosen_sample_indices(result, count: int) -> list[int]:
    """The samples a report of ``count`` detailed samples shows."""
    from mesa_report.report.document import choose_samples

    return [index for index, _ in choose_samples(result, count)]


def _detail_picker(count: int):
    return functools.partial(_chosen_sample_indices, count=count) if count > 0 else None


@functools.lru_cache(maxsize=1)
def _report_model(checkpoint_path: str):
    """The model on the CPU, loaded once per worker: a report measures its own explanations with it,
    as the ``report`` command's and the app's do."""
    return _load_checkpoint(checkpoint_path, "cpu")


def _write_reports(job: _NightJob, result, night) -> tuple[str, ...]:
    from mesa_report.report.document import build_report, reports_up_to_date, write_reports
    from mesa_report.data.store import record_id
    from mesa_report.cli.report import _fingerprint

    options = {"formats": sorted(job.reports), "num_samples": job.num_samples,
               "epochs_per_sample": job.epochs_per_sample, "page_size": job.page_size,
               "pdf_variant": job.pdf_variant}
    stem = record_id(job.mesaid)
    fingerprint = _fingerprint(night, job.checkpoint, options)
    if not job.force and reports_up_to_date(job.output_dir, stem, job.reports, fingerprint):
        return ()
    report = build_report(result.inference(), night=night, checkpoint=job.checkpoint,
                          n_samples=job.num_samples, epochs_per_sample=job.epochs_per_sample,
                          fingerprint=fingerprint, model=_report_model(job.checkpoint_path))
    paths = write_reports(report, job.output_dir, job.reports, stem=stem, page_size=job.page_size,
                          pdf_variant=job.pdf_variant)
    return tuple(str(path) for path in paths.values())


def _finish_night(job: _NightJob) -> _Outcome:
    """Row (and reports) of one night from its cache entry; errors become the outcome."""
    import torch

    from mesa_report.explain.cohort_table import table_row
    from mesa_report.inference.cohort import NightResult
    from mesa_report.core.errors import MesaReportError

    torch.set_num_threads(job.threads)
    row = None
    try:
        night = _open_store(job.preprocessed_dir, job.csv_path).night(job.mesaid)
        result = NightResult.load(job.entry).with_labels(night.labels)
        row = table_row(result, job.method)
        files = _write_reports(job, result, night) if job.reports else ()
    except MesaReportError as exc:
        return _Outcome(job.mesaid, row=row, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one night's bug must not stop the others
        return _Outcome(job.mesaid, row=row, error=f"unexpected {type(exc).__name__}: {exc}")
    return _Outcome(job.mesaid, row=row, files=files)


# --------------------------------------------------------------------------------------------
# Inference into the cache (the same function for both engines)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Inference:
    """How nights are inferred (plain values: Ray actors receive it)."""

    checkpoint: str
    device: str
    batch_size: int
    keep_attention: str
    detail_count: int
    cache_root: str


def _load_checkpoint(checkpoint: str, device: str):
    from mesa_report.model.checkpoint import load_model

    return load_model(checkpoint, num_channels=None, time_steps=None, seq_len=None, num_classes=None,
                      device=device)


def _load(settings: _Inference):
    return _load_checkpoint(settings.checkpoint, settings.device)


def _infer_into_cache(model, settings: _Inference, nights: list, keys: dict[int, str]):
    """Infer ``nights`` and store each result; yield ``(mesaid, entry path, error)`` per night."""
    from mesa_report.inference.cohort import NightFailure, infer_cohort
    from mesa_report.core.errors import MesaReportError
    from mesa_report.inference.results import ResultCache

    cache = ResultCache(settings.cache_root)
    for item in infer_cohort(model, nights, batch_size=settings.batch_size,
                             keep_attention=settings.keep_attention,
                             detail_samples=_detail_picker(settings.detail_count)):
        if isinstance(item, NightFailure):
            yield item.mesaid, "", item.error
            continue
        try:
            yield item.mesaid, str(cache.put(keys[item.mesaid], item)), ""
        except MesaReportError as exc:
            yield item.mesaid, "", str(exc)


class _InferenceActor:
    """Ray actor: one model on one device, inferring chunks of nights into the result cache."""

    def __init__(self, settings: _Inference) -> None:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)  # Ray starts its workers with one thread
        self.settings = settings
        self.model = _load(settings)

    def infer(self, preprocessed_dir: str, csv_path: str | None,
              chunk: list[tuple[int, str]]) -> list[tuple[int, str, str]]:
        from mesa_report.core.errors import MesaReportError

        store = _open_store(preprocessed_dir, csv_path)
        outcomes, nights = [], []
        for mesaid, _ in chunk:
            try:
                nights.append(store.night(mesaid))
            except MesaReportError as exc:
                outcomes.append((mesaid, "", str(exc)))
        return outcomes + list(_infer_into_cache(self.model, self.settings, nights, dict(chunk)))


# --------------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------------
@dataclass
class _Plan:
    """The nights of a batch: those to infer and those the cache already holds."""

    to_infer: list  # (mesaid, Night, key)
    cached: list  # (mesaid, entry path)
    failed: list  # _Outcome


class _Finisher:
    """Night rows and reports: inline, or in a pool of spawned worker processes."""

    def __init__(self, jobs: int, bar) -> None:
        # spawn: the same on every platform, and safe with torch's threads already started
        self.pool = ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) if jobs > 1 else None
        self.futures: set = set()
        self.outcomes: list[_Outcome] = []
        self.bar = bar

    def __enter__(self) -> _Finisher:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, job: _NightJob) -> None:
        if self.pool is None:
            self.add(_finish_night(job))
        else:
            self.futures.add(self.pool.submit(_finish_night, job))
            self.collect(block=False)

    def collect(self, block: bool) -> None:
        while self.futures:
            done, self.futures = wait(self.futures, timeout=None if block else 0,
                                      return_when=FIRST_COMPLETED)
            for future in done:
                self.add(future.result())
            if not block or not done:
                return

    def add(self, outcome: _Outcome) -> None:
        self.outcomes.append(outcome)
        self.bar.update()


def _run_local(plan: _Plan, settings: _Inference, model, make_job, jobs: int, bar) -> tuple[list, int]:
    """Model in this process; rows and reports inline or in ``jobs`` processes."""
    computed = 0
    with _Finisher(jobs, bar) as finisher:
        for mesaid, entry in plan.cached:
            finisher.submit(make_job(mesaid=mesaid, entry=entry))
        keys = {mesaid: key for mesaid, _, key in plan.to_infer}
        nights = [night for _, night, _ in plan.to_infer]
        for mesaid, entry, error in _infer_into_cache(model, settings, nights, keys):
            if error:
                finisher.add(_Outcome(mesaid, error=error))
                continue
            computed += 1
            finisher.submit(make_job(mesaid=mesaid, entry=entry))
        finisher.collect(block=True)
    return finisher.outcomes, computed


def _import_ray():
    """The ``ray`` module, or a clear error naming how to install it."""
    from mesa_report.core.errors import ConfigError

    try:
        import ray
    except ImportError:
        raise ConfigError(f"--engine ray needs Ray, which is not installed: {RAY_INSTALL} "
                          "(or use --engine local)") from None
    return ray


def _connect_ray(address: str | None):
    """Ray, initialised (joining ``address`` or starting locally); whether this call started it."""
    from mesa_report.core.errors import ConfigError
    from mesa_report.core.settings import load_settings

    ray = _import_ray()
    if ray.is_initialized():
        return ray, False
    configured = load_settings().ray_address
    local = address in (None, "local") and (address == "local" or not configured)
    try:
        if local:
            ray.init(address="local", include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address or configured!r} "
                          f"({exc}); check --ray-address, or leave it out to start Ray here") from None
    return ray, True


def _run_ray(plan: _Plan, settings: _Inference, make_job, address: str | None, actors: int | None,
             bar) -> tuple[list, int]:
    """Nights in chunks to inference actors; rows and reports as CPU tasks."""
    import torch

    from mesa_report.core.errors import ConfigError

    ray, started = _connect_ray(address)
    store = (make_job.keywords["preprocessed_dir"], make_job.keywords["csv_path"])
    cuda = torch.device(settings.device).type == "cuda"
    outcomes, computed, workers = [], 0, []
    try:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        if cuda and gpus < 1:
            raise ConfigError("--device cuda was asked for, but the Ray cluster has no GPU; use "
                              "--device cpu or a cluster with GPU nodes")
        if actors is None:
            actors = gpus if cuda else 1
        finish = ray.remote(_finish_night).options(num_cpus=1)
        actor_class = ray.remote(_InferenceActor).options(num_cpus=1, num_gpus=1 if cuda else 0)
        # each actor sees only its own GPU, as device "cuda"
        actor_settings = dataclasses.replace(settings, device="cuda") if cuda else settings
        if plan.to_infer:
            workers = [actor_class.remote(actor_settings) for _ in range(actors)]
        pending = {finish.remote(make_job(mesaid=m, entry=e)): None for m, e in plan.cached}
        size = _chunk_size(len(plan.to_infer), len(workers))
        chunks = [[(m, key) for m, _, key in plan.to_infer[i:i + size]]
                  for i in range(0, len(plan.to_infer), size)]
        idle = list(workers)
        while pending or chunks:
            while idle and chunks:
                worker = idle.pop()
                pending[worker.infer.remote(*store, chunks.pop(0))] = worker
            ready, _ = ray.wait(list(pending), num_returns=1)
            worker = pending.pop(ready[0])
            value = ray.get(ready[0])
            if worker is None:
                outcomes.append(value)
                bar.update()
                continue
            idle.append(worker)
            for mesaid, entry, error in value:
                if error:
                    outcomes.append(_Outcome(mesaid, error=error))
                    bar.update()
                else:
                    computed += 1
                    pending[finish.remote(make_job(mesaid=mesaid, entry=entry))] = None
    finally:
        for worker in workers:
            ray.kill(worker)
        if started:
            ray.shutdown()
    return outcomes, computed


def _chunk_size(n_nights: int, n_workers: int) -> int:
    """Nights per chunk so that each worker gets about :data:`CHUNKS_PER_ACTOR` chunks.

    Examples
    --------
    >>> _chunk_size(2056, 8), _chunk_size(3, 1)
    (32, 1)
    """
    per_chunk = -(-n_nights // max(1, n_workers * CHUNKS_PER_ACTOR))
    return min(MAX_CHUNK_NIGHTS, max(1, per_chunk))


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------
def _check_options(args: argparse.Namespace) -> None:
    from mesa_report.core.errors import ConfigError

    for name, low in (("jobs", 1), ("num_samples", 0), ("epochs_per_sample", 1)):
        if getattr(args, name) < low:
            raise ConfigError(f"--{name} must be at least {low}, not {getattr(args, name)}")
    for name in ("batch_size", "actors"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise ConfigError(f"--{name} must be at least 1, not {getattr(args, name)}")
    if args.engine != "ray" and (args.ray_address is not None or args.actors is not None):
        raise ConfigError("--ray_address and --actors go with --engine ray")


def _plan(subjects: list[int], store, cache, checkpoint: Path, precision: str, *, full: bool,
          picker, force: bool) -> _Plan:
    """Open each night, hash its file (in threads: a first run reads every file) and look it up."""
    from mesa_report.core.errors import MesaReportError

    def look(mesaid: int):
        try:
            night = store.night(mesaid)
            key = cache.key(checkpoint, night, precision)
            return night, key, None if force else cache.lookup(key, night, full=full, detail_samples=picker)
        except MesaReportError as exc:
            return exc

    plan = _Plan([], [], [])
    with ThreadPoolExecutor(max_workers=min(PLAN_THREADS, os.cpu_count() or 1)) as pool:
        for mesaid, looked in zip(subjects, pool.map(look, subjects)):
            if isinstance(looked, MesaReportError):
                plan.failed.append(_Outcome(mesaid, error=str(looked)))
            elif looked[2] is None:
                plan.to_infer.append((mesaid, looked[0], looked[1]))
            else:
                plan.cached.append((mesaid, str(looked[2][0])))
    return plan


def run(args: argparse.Namespace) -> int:
    """Infer, summarise (and report on) the chosen nights; 1 if any night failed."""
    import torch
    from tqdm import tqdm

    from mesa_report.model.checkpoint import checkpoint_summary, resolve_device
    from mesa_report.explain.cohort_table import TABLE_NAME, write_table
    from mesa_report.inference.cohort import precision_of
    from mesa_report.inference.results import ResultCache, default_results_dir
    from mesa_report.cli.sources import resolve_sources
    from mesa_report.data.store import NightStore, record_id
    from mesa_report.cli.report import _check_writable, _chosen_subjects

    _check_options(args)
    if args.engine == "ray":
        _import_ray()  # before any work
    sources = resolve_sources(args, progress=not args.quiet)
    _check_writable(args.output_dir)
    device = resolve_device(args.device)
    settings = _Inference(checkpoint=str(sources.checkpoint), device=str(device),
                          batch_size=args.batch_size or BATCH_SIZES.get(device.type, BATCH_SIZES["cpu"]),
                          keep_attention=args.keep_attention,
                          detail_count=args.num_samples if args.reports else 0,
                          cache_root=str(args.cache_dir or default_results_dir()))
    # the local engine's model; with Ray this only checks the checkpoint (the actors load their own)
    model = _load(settings if args.engine == "local" else dataclasses.replace(settings, device="cpu"))
    store = NightStore(sources.preprocessed_dir, sources.csv_path)
    subjects = _chosen_subjects(args, store, is_demo=args.preprocessed_dir is None)
    cache = ResultCache(settings.cache_root)
    plan = _plan(subjects, store, cache, sources.checkpoint, precision_of(device),
                 full=args.keep_attention == "full", picker=_detail_picker(settings.detail_count),
                 force=args.force)
    make_job = functools.partial(
        _NightJob, preprocessed_dir=str(sources.preprocessed_dir),
        csv_path=str(sources.csv_path) if sources.csv_path is not None else None, method=args.method,
        threads=1 if args.engine == "ray" or args.jobs > 1 else torch.get_num_threads(),
        reports=tuple(dict.fromkeys(args.reports or ())), output_dir=str(args.output_dir),
        num_samples=args.num_samples, epochs_per_sample=args.epochs_per_sample,
        page_size=args.page_size, pdf_variant=args.pdf_variant,
        checkpoint=checkpoint_summary(sources.checkpoint) if args.reports else {},
        checkpoint_path=str(sources.checkpoint), force=args.force)
    with tqdm(total=len(subjects), desc="nights", unit="night", file=sys.stderr, disable=args.quiet) as bar:
        bar.update(len(plan.failed))
        if args.engine == "ray":
            outcomes, computed = _run_ray(plan, settings, make_job, args.ray_address, args.actors, bar)
        else:
            outcomes, computed = _run_local(plan, settings, model, make_job, args.jobs, bar)
    outcomes += plan.failed
    order = {mesaid: k for k, mesaid in enumerate(subjects)}
    rows = sorted((o for o in outcomes if o.row is not None), key=lambda o: order[o.mesaid])
    table = write_table([o.row for o in rows], Path(args.output_dir) / TABLE_NAME)
    failed = sorted((o for o in outcomes if o.error), key=lambda o: order[o.mesaid])
    damaged = (f" ({cache.stats.damaged} damaged cache entr{'y' if cache.stats.damaged == 1 else 'ies'} "
               "recomputed)") if cache.stats.damaged else ""
    written = sum(len(o.files) for o in outcomes)
    print(f"{len(subjects)} night(s): {computed} computed, {len(plan.cached)} from the cache{damaged}, "
          f"{len(failed)} failed; table: {table}" + (f"; {written} report file(s) written" if args.reports else ""))
    for outcome in failed:
        print(f"  {record_id(outcome.mesaid)}: {outcome.error}", file=sys.stderr)
    return 1 if failed else 0
