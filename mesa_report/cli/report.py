"""``mesa-report report``: standalone HTML and PDF explainability reports, one per subject.

With no data options it reports on the built-in demo nights with the demo checkpoint; with the
seed's ``--checkpoint_path``, ``--preprocessed_dir`` and ``--csv_path`` it reads the seed's files.
Each subject's reports are skipped when they are up to date: their stamp
(``<record id>_report.json``) records a digest of everything they were made from (software
version, checkpoint hash, the night's file and scoring, the options). A subject that fails does
not stop the others; the summary lists failures and the exit status is 1 when there are any.
The work is done by :mod:`mesa_report.pipeline.reports`.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

DEFAULT_OUTPUT_DIR = Path("reports")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Subject choice, formats, output and the same data options as ``visualize``."""
    from mesa_report.cli.sources import add_data_arguments, add_subject_arguments
    from mesa_report.report.options import DEFAULT_EPOCHS_PER_SAMPLE, DEFAULT_SAMPLES, FORMATS, PAGE_SIZES, PDF_VARIANTS

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


def run(args: argparse.Namespace) -> int:
    """Write the reports of the chosen subjects; 1 if any subject failed.

    A plain PDF for one subject at a time starts its helper processes first
    (:mod:`mesa_report.render.pdf_workers`): they load the PDF's libraries while this process
    imports torch and builds the report.
    """
    from mesa_report.core.errors import ConfigError
    from mesa_report.core.jobs import check_workers
    from mesa_report.render.pdf_workers import PdfWorkers, should_start

    check_workers(args.jobs)
    if args.batch_size < 1:
        raise ConfigError(f"--batch_size must be at least 1, not {args.batch_size}")
    helpers = PdfWorkers() if should_start(args.formats, args.pdf_variant, args.jobs) else contextlib.nullcontext()
    with helpers as pdf_workers:
        return _report(args, pdf_workers)


def _report(args: argparse.Namespace, pdf_workers) -> int:
    from mesa_report.cli.sources import resolve_sources
    from mesa_report.core.jobs import failure_lines, freeze_loaded_objects
    from mesa_report.data.night_ids import record_id
    from mesa_report.inference.results import default_results_dir
    from mesa_report.pipeline.reports import (
        ReportOptions,
        ReportSetup,
        check_writable,
        choose_subjects,
        report_subjects,
    )
    from mesa_report.report.files import report_paths

    options = ReportOptions(str(args.output_dir), tuple(args.formats), args.num_samples, args.epochs_per_sample,
                            args.page_size, args.pdf_variant, args.force)
    sources = resolve_sources(args, progress=not args.quiet)
    check_writable(args.output_dir)
    setup = ReportSetup(str(sources.checkpoint), str(sources.preprocessed_dir),
                        str(sources.csv_path) if sources.csv_path is not None else None,
                        str(default_results_dir()), options, args.device, args.batch_size)
    store = setup.session()[2]
    if "pdf" in options.formats and pdf_workers is None:
        import weasyprint  # noqa: F401  (loaded before the freeze below, like everything else the reports use)
    freeze_loaded_objects()
    subjects = choose_subjects(store, args.subjects, every=args.all, is_demo=args.preprocessed_dir is None)
    done = report_subjects(setup, subjects, workers=args.jobs, quiet=args.quiet, pdf_workers=pdf_workers)
    failed = sorted((o for o in done.outcomes if o.failed), key=lambda o: o.key)
    files = sum(len(o.value) for o in done.outcomes if not o.failed)
    print(f"{len(done.outcomes) - len(failed)} subject(s) reported ({files} files), {len(done.skipped)} up to "
          f"date, {len(failed)} failed; reports in {args.output_dir}")
    if done.skipped and not args.quiet:
        first = report_paths(args.output_dir, record_id(done.skipped[0]), options.formats)
        print(f"up-to-date reports were kept (e.g. {next(iter(first.values())).name}); --force rewrites them")
    for line in failure_lines(failed, name=record_id):
        print(line, file=sys.stderr)
    return 1 if failed else 0
