"""``mesa-report visualize``: the seed's attention files for the first samples of a store.

With no data options it runs on the built-in demo cohort and the demo checkpoint; with the
seed's ``--checkpoint_path``, ``--preprocessed_dir`` and ``--csv_path`` it reads the seed's files
as they are. Samples are the loader's windows in order (``shuffle=False``), as the seed's script.
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
    out.add_argument("--num_samples", "--num-samples", type=int, default=5,
                     help="samples to draw (default: 5)")
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
    """Write the seed's files for the first ``--num_samples`` samples."""
    from tqdm import tqdm

    from mesa_report.model.checkpoint import load_model
    from mesa_report.charts.core import colour_scale
    from mesa_report.data.dataset import create_mesa_dataloader
    from mesa_report.core.errors import ConfigError
    from mesa_report.report.seed_pngs import visualize_sample_attention

    if args.num_samples < 1:
        raise ConfigError(f"--num_samples must be at least 1, not {args.num_samples}")
    if args.cmap is not None:
        colour_scale(args.cmap)
    sources = resolve_sources(args, progress=not args.quiet)
    checkpoint, preprocessed_dir, csv_path = sources.checkpoint, sources.preprocessed_dir, sources.csv_path
    model = load_model(checkpoint, num_channels=args.num_channels, time_steps=args.time_steps,
                       seq_len=args.seq_len, num_classes=args.num_classes, device=args.device)
    cfg = model.config
    loader = create_mesa_dataloader(preprocessed_dir, csv_path, seq_len=cfg.seq_len, batch_size=1,
                                    shuffle=False, num_channels=cfg.num_channels,
                                    epoch_seconds=cfg.epoch_seconds, target_fs=cfg.sfreq_hz)
    total = min(args.num_samples, len(loader))
    written = []
    with tqdm(total=total, desc="samples", unit="sample", file=sys.stderr, disable=args.quiet) as bar:
        for sample_idx, (features, labels) in zip(range(total), loader):
            written += visualize_sample_attention(
                model, features, labels, args.channel_names, args.output_dir, sample_idx=sample_idx,
                seq_len=cfg.seq_len, epochs=args.epochs, cmap=args.cmap, layer=args.layer,
                head=args.head, fmt=args.fmt, num_epochs_to_plot=args.num_epochs_to_plot,
                method=args.method, first_epoch=loader.dataset.window_info(sample_idx)[1])
            bar.update()
    short = f" (the store holds only {total})" if total < args.num_samples else ""
    print(f"wrote {len(written)} files for {total} sample{'s' * (total != 1)}{short} to {args.output_dir}")
    return 0
