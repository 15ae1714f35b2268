"""``mesa-report preprocess``: EDF + NSRR/Profusion annotations -> preprocessed store."""

from __future__ import annotations

import argparse
import sys

from mesa_report.core.vocabulary import STORE_CHANNEL_NAMES as DEFAULT_CHANNEL_NAMES

from mesa_report.data.index_csv import INDEX_NAME

_MAX_WARNINGS_SHOWN = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the command's flags (the seed's underscore spellings plus hyphenated aliases)."""
    parser.add_argument("--edf_dir", "--edf-dir", dest="edf_dir", required=True,
                        help="folder of mesa-sleep-NNNN.edf files")
    parser.add_argument("--output_dir", "--output-dir", dest="output_dir", required=True,
                        help="store folder to write (mesa-sleep-NNNN_preprocessed.pt + index CSV)")
    parser.add_argument("--annotations_dir", "--annotations-dir", dest="annotations_dir",
                        help="folder of mesa-sleep-NNNN-nsrr.xml / -profusion.xml files "
                             "(default: next to each EDF)")
    parser.add_argument("--channels", nargs="+", default=list(DEFAULT_CHANNEL_NAMES),
                        metavar="LABEL",
                        help="EDF channel labels, three EEG channels first "
                             "(default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="nights processed in parallel (default: %(default)s)")
    parser.add_argument("--force", action="store_true",
                        help="make every night again, even when up to date")
    parser.add_argument("--csv_name", "--csv-name", dest="csv_name", default=INDEX_NAME,
                        help="file name of the index CSV (default: %(default)s)")
    parser.add_argument("--no_progress", "--no-progress", dest="progress",
                        action="store_false", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Preprocess the folder, print a summary; 1 if any night failed, else 0."""
    from mesa_report.data.ingest import preprocess

    summary = preprocess(args.edf_dir, args.output_dir, annotations_dir=args.annotations_dir,
                         channels=args.channels, jobs=args.jobs, force=args.force,
                         progress=args.progress, csv_name=args.csv_name)
    for note in summary.warnings[:_MAX_WARNINGS_SHOWN]:
        print(f"warning: {note}", file=sys.stderr)
    hidden = len(summary.warnings) - _MAX_WARNINGS_SHOWN
    if hidden > 0:
        print(f"... and {hidden} more warnings (listed in each night's .json sidecar)",
              file=sys.stderr)
    print(f"preprocess: {len(summary.written)} written, {len(summary.skipped)} up to date, "
          f"{len(summary.failed)} failed")
    if summary.index_path is not None:
        print(f"index: {summary.index_path}")
    if summary.failed:
        print("failed nights (nothing of them was written):", file=sys.stderr)
        for file, message in summary.failed:
            print(f"  {file}: {message}", file=sys.stderr)
        return 1
    return 0
