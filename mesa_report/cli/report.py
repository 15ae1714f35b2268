"""``mesa-report report``: standalone HTML and PDF explainability reports, one per subject.

With no data options it reports on the built-in demo nights with the demo checkpoint; with the
seed's ``--checkpoint_path``, ``--preprocessed_dir`` and ``--csv_path`` it reads the seed's files.
Each subject's reports are skipped when they are up to date: their stamp
(``<record id>_report.json``) records a digest of everything they were made from (software
version, checkpoint hash, the night's file and scoring, the options). A subject that fails does
not stop the others; the summary lists failures and the exit status is 1 when there are any.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import hashlib
import json
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from mesa_report.core.fileio import remove_partial_files

DEFAULT_OUTPUT_DIR = Path("reports")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Subject choice, formats, output and the same data options as ``visualize``."""
    from mesa_report.report.options import DEFAULT_EPOCHS_PER_SAMPLE, DEFAULT_SAMPLES, FORMATS, PAGE_SIZES, PDF_VARIANTS
    from mesa_report.cli.sources import add_data_arguments, add_subject_arguments

    add_subject_arguments(parser, "subjects")
    data = add_data_arguments(parser)
    data.add_argument("--batch_size", "--batch-size", type=int, default=8,
                      help="samples per forward pass (default: 8)")
    out = parser.add_argument_group("output")
    out.add_argument("--format", "--formats", dest="formats", nargs="+", choices=FORMATS,
                     default=list(FORMATS), help="report formats (default: html pdf)")
    out.add_argument("--output_dir", "--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR,
                     help=f"folder of the reports (default: {DEFAULT_OUTPUT_DIR})")
    out.add_argument("--num_samples", "--num-samples", type=int, default=DEFAULT_SAMPLES,
                     help=f"samples shown in detail per night (default: {DEFAULT_SAMPLES})")
    out.add_argument("--epochs_per_sample", "--epochs-per-sample", type=int,
                     default=DEFAULT_EPOCHS_PER_SAMPLE,
                     help="epochs of each sample with channel and temporal attention and traces "
                          f"(default: {DEFAULT_EPOCHS_PER_SAMPLE})")
    out.add_argument("--page_size", "--page-size", choices=PAGE_SIZES, default=PAGE_SIZES[0],
                     help="PDF paper size (default: A4)")
    out.add_argument("--pdf_variant", "--pdf-variant", choices=PDF_VARIANTS, default=None,
                     help="archival (pdf/a-3b) or accessible, tagged (pdf/ua-1) PDF")
    run_group = parser.add_argument_group("running")
    run_group.add_argument("--jobs", type=int, default=1,
                           help="subjects reported at once, each in its own process (default: 1)")
    run_group.add_argument("--force", action="store_true", help="rewrite up-to-date reports too")
    run_group.add_argument("--quiet", action="store_true", help="no progress bar")


@dataclass(frozen=True)
class _Job:
    """Everything a worker needs for one subject (plain values: it crosses processes)."""

    mesaid: int
    fingerprint: str
    checkpoint: str
    preprocessed_dir: str
    csv_path: str | None
    device: str
    batch_size: int
    output_dir: str
    formats: tuple[str, ...]
    num_samples: int
    epochs_per_sample: int
    page_size: str
    pdf_variant: str | None
    threads: int


@dataclass(frozen=True)
class _Outcome:
    mesaid: int
    files: tuple[str, ...] = ()
    error: str = ""


@functools.lru_cache(maxsize=2)
def _session(checkpoint: str, preprocessed_dir: str, csv_path: str | None, device: str):
    """Model, checkpoint summary and store, opened once per process."""
    from mesa_report.model.checkpoint import checkpoint_summary, load_model
    from mesa_report.data.store import NightStore

    model = load_model(checkpoint, device=device)
    return model, checkpoint_summary(checkpoint), NightStore(preprocessed_dir, csv_path)


def _report_subject(job: _Job) -> _Outcome:
    """Infer one night and write its reports; errors become the outcome, never an exception."""
    import torch

    from mesa_report.core.errors import MesaReportError
    from mesa_report.inference.results import cached_infer_night
    from mesa_report.report.document import build_report, write_reports
    from mesa_report.data.store import record_id

    torch.set_num_threads(job.threads)
    try:
        model, summary, store = _session(job.checkpoint, job.preprocessed_dir, job.csv_path, job.device)
        night = store.night(job.mesaid)
        result = cached_infer_night(model, night, job.checkpoint, batch_size=job.batch_size)
        report = build_report(result, night=night, checkpoint=summary, n_samples=job.num_samples,
                              epochs_per_sample=job.epochs_per_sample, fingerprint=job.fingerprint,
                              model=model)
        paths = write_reports(report, job.output_dir, job.formats, stem=record_id(job.mesaid),
                              page_size=job.page_size, pdf_variant=job.pdf_variant)
    except MesaReportError as exc:
        return _Outcome(job.mesaid, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one subject's bug must not stop the others
        return _Outcome(job.mesaid, error=f"unexpected {type(exc).__name__}: {exc}")
    return _Outcome(job.mesaid, files=tuple(str(p) for p in paths.values()))


def _check_options(args: argparse.Namespace) -> None:
    from mesa_report.core.errors import ConfigError

    if args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, not {args.jobs}")
    if args.num_samples < 0:
        raise ConfigError(f"--num_samples must be 0 or more, not {args.num_samples}")
    if args.epochs_per_sample < 1:
        raise ConfigError(f"--epochs_per_sample must be at least 1, not {args.epochs_per_sample}")
    if args.batch_size < 1:
        raise ConfigError(f"--batch_size must be at least 1, not {args.batch_size}")


def _check_writable(folder: Path) -> None:
    """Fail before any work when the output folder cannot be written."""
    from mesa_report.core.errors import ReportError

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ReportError(f"cannot write reports to {folder}: {exc.strerror or exc}; choose an "
                          "--output_dir you can write to") from exc


def _chosen_subjects(args: argparse.Namespace, store, is_demo: bool) -> list[int]:
    """The nights asked for, each checked against the index (close matches named)."""
    from mesa_report.core.errors import ConfigError, DataError
    from mesa_report.data.store import parse_record_id, record_id

    if args.all or (args.subjects is None and is_demo):
        if not store.mesaids:
            raise DataError(f"nothing to do: none of the {len(store.missing)} night(s) listed in "
                            f"{store.csv_path} has a file in {store.root}; preprocess them, or "
                            "pass the folder that holds the mesa-sleep-NNNN_preprocessed.pt files")
        return list(store.mesaids)
    if not args.subjects:
        raise ConfigError("choose the nights to report on: --subject ID (repeatable) or --all")
    known = {record_id(m): m for m in store.mesaids}
    chosen, unknown = [], []
    for text in args.subjects:
        try:
            mesaid = parse_record_id(text)
        except DataError:
            mesaid = None
        if mesaid in store.mesaids:
            chosen.append(mesaid)
            continue
        candidates = [*known, *(str(m) for m in store.mesaids)]
        close = difflib.get_close_matches(str(text), candidates, n=3, cutoff=0.5)
        hint = f"close matches: {', '.join(close)}" if close else (
            f"the index has {len(known)} night{'s' * (len(known) != 1)}, e.g. "
            f"{', '.join(list(known)[:5])}")
        unknown.append(f"{text!r} ({hint})")
    if unknown:
        raise ConfigError(f"not in {store.csv_path}: {'; '.join(unknown)}")
    return list(dict.fromkeys(chosen))


def _fingerprint(night, summary: dict, options: dict) -> str:
    """Digest of what a subject's reports are made from."""
    from mesa_report import __version__ as version

    stat = night.path.stat()
    sidecar = night.path.with_suffix(".json")
    payload = {
        "software": version,
        "checkpoint": summary.get("sha256"),
        "night": [night.path.name, stat.st_size, stat.st_mtime_ns],
        "sidecar": sidecar.stat().st_mtime_ns if sidecar.is_file() else None,
        "scoring": night.stages,
        "options": options,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def _run_jobs(jobs: list[_Job], workers: int, quiet: bool) -> list[_Outcome]:
    from tqdm import tqdm

    outcomes = []
    with tqdm(total=len(jobs), desc="reports", unit="subject", file=sys.stderr,
              disable=quiet or not jobs) as bar:
        if workers == 1:
            for job in jobs:
                outcomes.append(_report_subject(job))
                bar.update()
            return outcomes
        # spawn: the same on every platform, and safe with torch's threads already started
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            for future in as_completed([pool.submit(_report_subject, job) for job in jobs]):
                outcomes.append(future.result())
                bar.update()
    return outcomes


def run(args: argparse.Namespace) -> int:
    """Write the reports of the chosen subjects; 1 if any subject failed."""
    from mesa_report.report.document import report_paths, reports_up_to_date
    from mesa_report.cli.sources import resolve_sources
    from mesa_report.data.store import record_id

    _check_options(args)
    formats = tuple(dict.fromkeys(args.formats))
    sources = resolve_sources(args, progress=not args.quiet)
    checkpoint, preprocessed_dir, csv_path = sources.checkpoint, sources.preprocessed_dir, sources.csv_path
    _check_writable(args.output_dir)
    remove_partial_files(args.output_dir)  # left by a run that was killed mid-write
    _, summary, store = _session(str(checkpoint), str(preprocessed_dir),
                                     str(csv_path) if csv_path is not None else None, args.device)
    subjects = _chosen_subjects(args, store, is_demo=args.preprocessed_dir is None)
    options = {"formats": sorted(formats), "num_samples": args.num_samples,
               "epochs_per_sample": args.epochs_per_sample, "page_size": args.page_size,
               "pdf_variant": args.pdf_variant}
    workers = min(args.jobs, max(len(subjects), 1))
    threads = max(1, (os.cpu_count() or 1) // workers)
    jobs, skipped = [], []
    for mesaid in subjects:
        fingerprint = _fingerprint(store.night(mesaid), summary, options)
        if not args.force and reports_up_to_date(args.output_dir, record_id(mesaid), formats, fingerprint):
            skipped.append(mesaid)
            continue
        jobs.append(_Job(mesaid=mesaid, fingerprint=fingerprint, checkpoint=str(checkpoint),
                         preprocessed_dir=str(preprocessed_dir),
                         csv_path=str(csv_path) if csv_path is not None else None,
                         device=args.device, batch_size=args.batch_size,
                         output_dir=str(args.output_dir), formats=formats,
                         num_samples=args.num_samples, epochs_per_sample=args.epochs_per_sample,
                         page_size=args.page_size, pdf_variant=args.pdf_variant, threads=threads))
    outcomes = _run_jobs(jobs, workers, args.quiet)
    failed = sorted((o for o in outcomes if o.error), key=lambda o: o.mesaid)
    done = len(outcomes) - len(failed)
    files = sum(len(o.files) for o in outcomes)
    print(f"{done} subject(s) reported ({files} files), {len(skipped)} up to date, "
          f"{len(failed)} failed; reports in {args.output_dir}")
    if skipped and not args.quiet:
        first = report_paths(args.output_dir, record_id(skipped[0]), formats)
        print(f"up-to-date reports were kept (e.g. {next(iter(first.values())).name}); "
              "--force rewrites them")
    for outcome in failed:
        print(f"  {record_id(outcome.mesaid)}: {outcome.error}", file=sys.stderr)
    return 1 if failed else 0
