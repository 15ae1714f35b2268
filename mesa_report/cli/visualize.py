"""``mesa-report visualize``: the seed's attention files for informative samples of chosen nights.

With no data options it runs on the built-in demo cohort and the demo checkpoint; with the
seed's ``--checkpoint_path``, ``--preprocessed_dir`` and ``--csv_path`` it reads the seed's files
as they are. By default the samples are those the report details (the most uncertain, the most
wrong predictions, the most stage transitions), from the first nights of the index; ``--subject``
names nights and ``--samples`` names samples by their number (from 1, as the app shows them).
Their maps come from the results service, so a night the app or ``report`` already inferred is
not inferred again (:mod:`mesa_report.pipeline.visualize`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mesa_report.cli.sources import add_data_arguments, resolve_sources


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The seed's flags (underscores, with hyphenated aliases) and the view options."""
    add_data_arguments(parser)
    model = parser.add_argument_group("model shape (checked against the checkpoint; default: its own)")
    model.add_argument("--seq_len", "--seq-len", type=int, default=None, help="epochs per sample (seed: 20)")
    model.add_argument("--num_channels", "--num-channels", type=int, default=None,
                       help="EEG channels (seed: 3)")
    model.add_argument("--time_steps", "--time-steps", type=int, default=None,
                       help="samples per epoch (seed: 3840)")
    model.add_argument("--num_classes", "--num-classes", type=int, default=None, help="stages (seed: 6)")
    out = parser.add_argument_group("output")
    out.add_argument("--output_dir", "--output-dir", type=Path, default=Path("attention_visualizations"),
                     help="folder of the files (default: attention_visualizations)")
    who = parser.add_argument_group("samples (default: the report's informative samples of the first night)")
    who.add_argument("--subject", "--subjects", dest="subjects", action="append", default=None, metavar="ID",
                     help="a night's id (1, 0001 or mesa-sleep-0001); repeatable; each night's files go "
                          "into a subfolder named by its id when there are more than one")
    who.add_argument("--samples", type=int, nargs="+", default=None, metavar="N",
                     help="sample numbers from 1, as the app and the reports number them (default: the "
                          "most uncertain, the most wrong predictions, the most stage transitions)")
    out.add_argument("--num_samples", "--num-samples", type=int, default=5,
                     help="samples to draw: in all, or per night with --subject (default: 5)")
    out.add_argument("--channel_names", "--channel-names", nargs="+", default=None, metavar="NAME",
                     help="one name per channel (default: the model's, EEG1 EEG2 EEG3)")
    out.add_argument("--num_epochs_to_plot", "--num-epochs-to-plot", type=int, default=5,
                     help="epochs per sample shown in detail (default: 5)")
    out.add_argument("--epochs", type=int, nargs="+", default=None, metavar="E",
                     help="positions 0..seq_len-1 shown in detail (default: wrong predictions and "
                          "stage transitions first, then the least sure)")
    out.add_argument("--cmap", default=None,
                     help="one colour map for every heatmap, e.g. viridis, plasma, YlOrRd "
                          "(default: the seed's per view)")
    out.add_argument("--format", dest="fmt", choices=("png", "svg"), default="png", help="file format")
    out.add_argument("--layer", type=int, default=-1,
                     help="encoder layer index: 0 the first, -1 the last (default: -1, as the seed)")
    out.add_argument("--head", type=int, default=None,
                     help="attention head index from 0 (default: the mean of the heads)")
    out.add_argument("--method", choices=("attention", "rollout", "gradient"), default="attention",
                     help="explanation: raw attention of --layer/--head (default, the seed's), rollout across "
                          "layers, or gradient-weighted attention for the first detailed epoch")
    out.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Write the seed's files for the chosen samples and say, night by night, which and where."""
    from tqdm import tqdm

    from mesa_report.data.store import NightStore
    from mesa_report.inference.service import ResultsService
    from mesa_report.model.loaded import open_checkpoint
    from mesa_report.pipeline.visualize import (FileOptions, SampleRequest, check_file_choices, describe,
                                                night_folder, plan_samples, write_plan)
    from mesa_report.report.seed_pngs import check_file_options

    check_file_options(args.fmt, args.cmap)
    sources = resolve_sources(args, progress=not args.quiet)
    loaded = open_checkpoint(sources.checkpoint, device=args.device, num_channels=args.num_channels,
                             time_steps=args.time_steps, seq_len=args.seq_len, num_classes=args.num_classes)
    cfg = loaded.config
    store = NightStore(sources.preprocessed_dir, sources.csv_path, epoch_seconds=cfg.epoch_seconds,
                       sfreq_hz=cfg.sfreq_hz)
    options = FileOptions(args.output_dir, args.channel_names, args.epochs, args.num_epochs_to_plot, args.cmap,
                          args.layer, args.head, args.method, args.fmt)
    check_file_choices(loaded, options)
    service = ResultsService()
    request = SampleRequest(args.num_samples, tuple(args.subjects or ()), tuple(args.samples or ()))
    plan = plan_samples(loaded, store, service, request)
    total = sum(len(item.indices) for item in plan)
    with tqdm(total=total, desc="samples", unit="sample", file=sys.stderr, disable=args.quiet) as bar:
        written = write_plan(loaded, store, service, options, plan, progress=bar.update)
    for item in plan:
        print(f"{describe(item)} -> {night_folder(args.output_dir, plan, item)}")
    short = f" (fewer samples than the {args.num_samples} asked for)" if (
        not args.subjects and not args.samples and total < args.num_samples) else ""
    print(f"wrote {len(written)} files for {total} sample{'s' * (total != 1)}{short} to {args.output_dir}")
    return 0
