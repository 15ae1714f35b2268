"""``mesa-report demo``: build the built-in demo cohort (once) and say where it and the demo model live.

The printed folders are what the other commands take, e.g.
``mesa-report report --preprocessed_dir <store> --checkpoint_path <model> --subject 1``. The cohort
keeps only its store; ``--edf_dir FOLDER`` also writes the recordings it was ingested from (EDF +
NSRR XML, as a MESA download), e.g. to try ``mesa-report preprocess`` on them.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mesa_report.demo import DEFAULT_HOURS, DEFAULT_N_NIGHTS

    parser.add_argument("--cache_dir", "--cache-dir", type=Path, default=None,
                        help="cache folder (default: $MESA_REPORT_CACHE_DIR, else the user's cache folder)")
    parser.add_argument("--nights", type=int, default=DEFAULT_N_NIGHTS,
                        help=f"nights in the cohort (default: {DEFAULT_N_NIGHTS})")
    parser.add_argument("--hours", type=float, default=DEFAULT_HOURS,
                        help=f"length of each night in hours (default: {DEFAULT_HOURS:g})")
    parser.add_argument("--edf_dir", "--edf-dir", dest="edf_dir", type=Path, default=None,
                        help="also write the nights as EDF + NSRR XML files into this folder "
                             "(existing files are never overwritten)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from mesa_report.demo import DEMO_CHECKPOINT, demo_store
    from mesa_report.demo.build import export_recordings

    built = demo_store(args.cache_dir, n_nights=args.nights, hours=args.hours, progress=not args.quiet)
    ids = ", ".join(str(m) for m in built.mesaids)
    model = str(DEMO_CHECKPOINT) if DEMO_CHECKPOINT.is_file() else "not installed (python scripts/train_demo_model.py)"
    print(f"demo cohort: {len(built.mesaids)} nights of {args.hours:g} h (subjects {ids})")
    print(f"  preprocessed:     {built.preprocessed_dir}")
    print(f"  index CSV:        {built.csv_path}")
    print(f"  demo checkpoint:  {model}")
    if args.edf_dir is not None:
        export_recordings(args.edf_dir, built.mesaids, args.hours)
        print(f"  EDF + NSRR XML:   {args.edf_dir} (mesa-report preprocess --edf_dir {args.edf_dir} ...)")
    return 0
