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
stop the others; failures are listed and the exit status is 1. The work is done by
:mod:`mesa_report.pipeline.batch` and :mod:`mesa_report.pipeline.ray_engine`.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

DEFAULT_OUTPUT_DIR = Path("cohort")
ENGINES = ("local", "ray")
BATCH_SIZES = {"cpu": 8, "cuda": 256}
"""Default windows per forward pass on each kind of device."""


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
                           help='local (default) or ray (needs pip install "ray[default]")')
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


def run(args: argparse.Namespace) -> int:
    """Infer, summarise (and report on) the chosen nights; 1 if any night failed."""
    import dataclasses

    import torch

    from mesa_report.cli.sources import resolve_sources
    from mesa_report.core.jobs import JobRunner
    from mesa_report.data.store import NightStore
    from mesa_report.explain.cohort_table import TABLE_NAME, write_table
    from mesa_report.inference.results import default_results_dir
    from mesa_report.model.checkpoint import checkpoint_summary, resolve_device
    from mesa_report.pipeline import batch
    from mesa_report.pipeline.ray_engine import import_ray, run_ray
    from mesa_report.pipeline.reports import ReportOptions, check_writable, choose_subjects

    _check_options(args)
    if args.engine == "ray":
        import_ray()  # before any work
    reports = ReportOptions(str(args.output_dir), tuple(args.reports), args.num_samples, args.epochs_per_sample,
                            args.page_size, args.pdf_variant, args.force) if args.reports else None
    sources = resolve_sources(args, progress=not args.quiet)
    check_writable(args.output_dir)
    device = resolve_device(args.device)
    settings = batch.InferenceSettings(
        checkpoint=str(sources.checkpoint), device=str(device),
        batch_size=args.batch_size or BATCH_SIZES.get(device.type, BATCH_SIZES["cpu"]),
        keep_attention=args.keep_attention, detail_count=args.num_samples if args.reports else 0,
        cache_root=str(args.cache_dir or default_results_dir()))
    # the local engine's model; with Ray this only checks the checkpoint (the actors load their own)
    loaded, service = (settings if args.engine == "local" else dataclasses.replace(settings, device="cpu")).open()
    store = NightStore(sources.preprocessed_dir, sources.csv_path)
    subjects = choose_subjects(store, args.subjects, every=args.all, is_demo=args.preprocessed_dir is None)
    plan = batch.plan_nights(subjects, store, service, loaded, device=settings.device,
                             full=args.keep_attention == "full", picker=batch.detail_picker(settings.detail_count),
                             force=args.force)
    make_job = functools.partial(
        batch.NightJob, preprocessed_dir=str(sources.preprocessed_dir),
        csv_path=str(sources.csv_path) if sources.csv_path is not None else None, method=args.method,
        threads=1 if args.engine == "ray" or args.jobs > 1 else torch.get_num_threads(), reports=reports,
        checkpoint=checkpoint_summary(sources.checkpoint) if reports else {}, checkpoint_path=str(sources.checkpoint))
    workers = 1 if args.engine == "ray" else args.jobs
    with JobRunner(workers, total=len(subjects), desc="nights", unit="night", quiet=args.quiet) as runner:
        for outcome in plan.failed:
            runner.add(outcome)
        if args.engine == "ray":
            computed = run_ray(plan, settings, make_job, runner, address=args.ray_address, actors=args.actors)
        else:
            computed = batch.run_local(plan, settings, loaded, service, make_job, runner)
    order = {mesaid: k for k, mesaid in enumerate(subjects)}
    outcomes = sorted(runner.outcomes, key=lambda o: order[o.key])
    table = write_table([o.value.row for o in outcomes if o.value is not None and o.value.row is not None],
                        Path(args.output_dir) / TABLE_NAME)
    return _summary(args, outcomes, computed, len(plan.cached), service.cache.stats.damaged, table)


def _summary(args: argparse.Namespace, outcomes: list, computed: int, cached: int, damaged: int,
             table: Path) -> int:
    """Print what the batch did and list its failures; the exit status."""
    from mesa_report.core.jobs import failure_lines
    from mesa_report.data.night_ids import record_id

    failed = [o for o in outcomes if o.failed]
    damaged_text = (f" ({damaged} damaged cache entr{'y' if damaged == 1 else 'ies'} recomputed)"
                    if damaged else "")
    written = sum(len(o.value.files) for o in outcomes if o.value is not None)
    print(f"{len(outcomes)} night(s): {computed} computed, {cached} from the cache{damaged_text}, "
          f"{len(failed)} failed; table: {table}" + (f"; {written} report file(s) written" if args.reports else ""))
    for line in failure_lines(failed, name=record_id):
        print(line, file=sys.stderr)
    return 1 if failed else 0
